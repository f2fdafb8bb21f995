// SPDX-License-Identifier: GPL-2.0
/*
 * ebbctl: launches ebb microVMs in the background and talks to their API
 * sockets. See docs/ebbctl.md.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tools/ebbctl/ebbctl.h"
#include "tools/ebbctl/http.h"
#include "tools/ebbctl/rundir.h"

void ctl_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ebbctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void ctl_print_json(json_t *j)
{
	if (!j) {
		ctl_err("out of memory");
		return;
	}
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	fputc('\n', stdout);
	json_decref(j);
}

json_t *ctl_json_int_or_null(long long v)
{
	return v < 0 ? json_null() : json_integer(v);
}

typedef int (*cmd_fn)(const struct ctl *ctl);

static const cmd_fn commands[CMD_NR] = {
	[CMD_LAUNCH] = cmd_launch,     [CMD_PS] = cmd_ps,	    [CMD_BALLOON] = cmd_balloon,
	[CMD_STATS] = cmd_stats,       [CMD_METRICS] = cmd_metrics, [CMD_STOP] = cmd_stop,
	[CMD_SNAPSHOT] = cmd_snapshot, [CMD_RESTORE] = cmd_launch,
};

int main(int argc, char **argv)
{
	struct ctl_args args;
	char err[512];
	int status;

	if (args_parse(argc, argv, &args, err, sizeof(err)) < 0) {
		ctl_err("%s", err);
		args_free(&args);
		return CTL_EXIT_USAGE;
	}
	if (args.cmd == CMD_VERSION) {
		printf("ebbctl %s\n", EBB_VERSION);
		args_free(&args);
		return CTL_EXIT_OK;
	}
	if (args.cmd == CMD_NONE || args.cmd == CMD_HELP || args.help) {
		enum ctl_cmd which = args.cmd == CMD_HELP && !args.help ? args.help_for : args.cmd;
		/* Bare "ebbctl" is a usage error: the overview goes to stderr. */
		bool asked = args.help || args.cmd == CMD_HELP;
		fputs(args_help(which), asked ? stdout : stderr);
		args_free(&args);
		return asked ? CTL_EXIT_OK : CTL_EXIT_USAGE;
	}

	struct ctl ctl = { .args = &args };
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0';
	if (rundir_resolve(args.run_dir, getenv("EBBCTL_RUN_DIR"), getenv("XDG_RUNTIME_DIR"),
			   geteuid(), cwd, ctl.run_dir, sizeof(ctl.run_dir), err,
			   sizeof(err)) < 0) {
		ctl_err("%s", err);
		args_free(&args);
		return CTL_EXIT_USAGE;
	}
	/* A reader of our output that goes away must not kill us halfway through a stop. */
	signal(SIGPIPE, SIG_IGN);
	if (http_init() < 0) {
		ctl_err("cannot initialise libcurl");
		args_free(&args);
		return CTL_EXIT_FAIL;
	}
	status = commands[args.cmd](&ctl);
	http_cleanup();
	args_free(&args);
	if (fflush(stdout) != 0 && status == CTL_EXIT_OK)
		status = CTL_EXIT_FAIL;
	return status;
}
