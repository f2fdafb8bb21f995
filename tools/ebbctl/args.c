// SPDX-License-Identifier: GPL-2.0
/*
 * ebbctl's command line. Options go after the command (--run-dir, --help
 * and --version may also come before it); "--opt VALUE" and "--opt=VALUE"
 * both work; every mistake gets one line that names the option and what was
 * wrong with it.
 */
#include "tools/ebbctl/args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ebbctl/rundir.h"

enum opt_id {
	OPT_HELP,
	OPT_JSON,
	OPT_ALL,
	OPT_RUN_DIR,
	OPT_CONFIG,
	OPT_COUNT,
	OPT_NAME,
	OPT_EBB,
	OPT_TARGET_MIB,
	OPT_TIMEOUT,
	OPT_VERSION,
	OPT_MARGIN_MIB,
	OPT_OFF,
	OPT_SHOW,
	OPT_SNAPSHOT,
	OPT_MEM,
	OPT_DIFF,
	OPT_PAUSED,
};

#define C(cmd) (1u << (cmd))
#define VM_CMDS                                                                       \
	(C(CMD_LAUNCH) | C(CMD_PS) | C(CMD_BALLOON) | C(CMD_STATS) | C(CMD_METRICS) | \
	 C(CMD_STOP) | C(CMD_SNAPSHOT) | C(CMD_RESTORE))
#define STARTS (C(CMD_LAUNCH) | C(CMD_RESTORE)) /* commands that start VMs */
#define SNAP   (C(CMD_SNAPSHOT) | C(CMD_RESTORE))
#define NO_CMD C(CMD_NONE)

struct opt_spec {
	const char *name;
	enum opt_id id;
	bool takes_value;
	unsigned int cmds; /* where it is accepted; NO_CMD: before the command */
};

static const struct opt_spec opt_specs[] = {
	{ "help", OPT_HELP, false, NO_CMD | VM_CMDS | C(CMD_HELP) },
	{ "version", OPT_VERSION, false, NO_CMD },
	{ "json", OPT_JSON, false, VM_CMDS },
	{ "all", OPT_ALL, false, C(CMD_STOP) },
	{ "run-dir", OPT_RUN_DIR, true, NO_CMD | VM_CMDS },
	{ "config", OPT_CONFIG, true, C(CMD_LAUNCH) },
	{ "count", OPT_COUNT, true, STARTS },
	{ "name", OPT_NAME, true, STARTS },
	{ "ebb", OPT_EBB, true, STARTS },
	{ "target-mib", OPT_TARGET_MIB, true, C(CMD_BALLOON) },
	{ "margin-mib", OPT_MARGIN_MIB, true, C(CMD_BALLOON) },
	{ "off", OPT_OFF, false, C(CMD_BALLOON) },
	{ "show", OPT_SHOW, false, C(CMD_BALLOON) },
	{ "timeout", OPT_TIMEOUT, true, STARTS | C(CMD_STOP) },
	{ "snapshot", OPT_SNAPSHOT, true, SNAP },
	{ "mem", OPT_MEM, true, SNAP },
	{ "diff", OPT_DIFF, false, C(CMD_SNAPSHOT) },
	{ "paused", OPT_PAUSED, false, SNAP },
};

static const char *const cmd_names[CMD_NR] = {
	[CMD_HELP] = "help",	   [CMD_LAUNCH] = "launch",	[CMD_PS] = "ps",
	[CMD_BALLOON] = "balloon", [CMD_STATS] = "stats",	[CMD_METRICS] = "metrics",
	[CMD_STOP] = "stop",	   [CMD_SNAPSHOT] = "snapshot", [CMD_RESTORE] = "restore",
};

static const char help_overview[] =
	"Usage: ebbctl COMMAND [OPTIONS]\n"
	"\n"
	"Starts ebb microVMs in the background and talks to their API sockets.\n"
	"\n"
	"Commands:\n"
	"  launch   start VMs from a config file      ebbctl launch --config vm.json [--count N]\n"
	"  ps       list VMs, their memory and state  ebbctl ps [--json]\n"
	"  balloon  set a VM's balloon target         ebbctl balloon NAME --target-mib M\n"
	"           or let ebb set it                 ebbctl balloon auto NAME [--margin-mib M]\n"
	"  stats    show a VM's balloon statistics    ebbctl stats NAME [--json]\n"
	"  metrics  show a VM's metrics               ebbctl metrics NAME [--json]\n"
	"  stop     stop VMs and clean up after them  ebbctl stop NAME...|--all [--timeout S]\n"
	"  snapshot pause a VM and snapshot it        ebbctl snapshot NAME --snapshot F --mem M\n"
	"  restore  start VMs from a snapshot         ebbctl restore --snapshot F [--count N]\n"
	"  help     help on a command                 ebbctl help COMMAND (or COMMAND --help)\n"
	"\n"
	"Options of every command:\n"
	"  --run-dir DIR   where VMs keep their sockets, logs and pid files; default\n"
	"                  $EBBCTL_RUN_DIR, else /run/ebb as root, else $XDG_RUNTIME_DIR/ebb\n"
	"  --json          machine-readable output: JSON on stdout, nothing else there\n"
	"  -h, --help      help on the command\n"
	"  --version       print the version\n"
	"\n"
	"Each VM NAME has a directory DIR/NAME with api.sock, pid, ebb.log (ebb's log),\n"
	"console.log (the guest console), metrics.json and, once ebb has ended, exit.\n"
	"\n"
	"Exit status: 0 success, 1 an operation failed, 2 bad command line.\n";

static const char help_launch[] =
	"Usage: ebbctl launch --config FILE [--count N] [--name PREFIX] [--run-dir DIR]\n"
	"                     [--ebb PATH] [--timeout S] [--json]\n"
	"\n"
	"Starts N ebb processes in the background, each booting the VM that FILE (a\n"
	"Firecracker-style JSON config) describes, with its own API socket, log, console\n"
	"and metrics file under DIR/NAME. Waits until every API socket answers, then\n"
	"prints what it started.\n"
	"\n"
	"  --config FILE   the VM's configuration (relative paths in it are relative to\n"
	"                  the current directory, as for ebb itself)\n"
	"  --count N       how many VMs (default 1, at most 1000)\n"
	"  --name PREFIX   names: PREFIX with --count 1, else PREFIX-1 ... PREFIX-N\n"
	"                  (default: FILE's base name without .json)\n"
	"  --ebb PATH      the ebb binary; default $EBB, else the ebb next to ebbctl,\n"
	"                  else ebb from $PATH\n"
	"  --timeout S     how long to wait for each API socket (default 30 s)\n"
	"\n"
	"A name whose VM is still running is refused; the entry of an exited one is\n"
	"replaced. When a VM dies while starting, the end of its log is printed.\n";

static const char help_ps[] = "Usage: ebbctl ps [--run-dir DIR] [--json]\n"
			      "\n"
			      "Lists the VMs of the run directory: name, pid, state (running, or\n"
			      "exited until `ebbctl stop` cleans it up), guest memory, the ebb\n"
			      "process's resident memory (VmRSS) and the balloon's actual size\n"
			      "(\"-\" when the VM has no balloon statistics).\n";

static const char help_balloon[] =
	"Usage: ebbctl balloon NAME --target-mib M [--run-dir DIR] [--json]\n"
	"       ebbctl balloon auto NAME [--margin-mib M | --off | --show] [--run-dir DIR] [--json]\n"
	"\n"
	"Sets the balloon target of VM NAME to M MiB (PATCH /balloon): the\n"
	"guest gives that much memory to the balloon, and so to the host.\n"
	"Watch it with `ebbctl stats NAME`. This turns the automatic policy off.\n"
	"\n"
	"`balloon auto` turns on ebb's automatic policy instead (PATCH\n"
	"/balloon/policy): ebb moves the target itself so that the guest keeps about\n"
	"M MiB available (--margin-mib; the VM's setting otherwise), taking back its\n"
	"page cache and free memory and deflating ahead of its need. The balloon\n"
	"needs statistics (stats_polling_interval_s > 0). Prints the policy's state:\n"
	"its target and why. --off turns it off (the target stays where it is);\n"
	"--show only prints the state.\n";

static const char help_stats[] =
	"Usage: ebbctl stats NAME [--run-dir DIR] [--json]\n"
	"\n"
	"Shows VM NAME's balloon statistics (GET /balloon/statistics): target\n"
	"and actual balloon size, and the guest's memory statistics, with byte\n"
	"values in MiB. --json prints the API's answer unchanged.\n";

static const char help_metrics[] =
	"Usage: ebbctl metrics NAME [--run-dir DIR] [--json]\n"
	"\n"
	"Shows VM NAME's counters (GET /metrics), one per line, nested keys\n"
	"joined with dots. --json prints the API's answer unchanged.\n";

static const char help_stop[] =
	"Usage: ebbctl stop NAME... | --all [--timeout S] [--run-dir DIR] [--json]\n"
	"\n"
	"Stops VMs and removes their run-directory entries. Each guest is asked to\n"
	"reboot (PUT /actions SendCtrlAltDel), which ends ebb with status 0. A VM\n"
	"still running after S seconds (default 10) gets SIGTERM (ebb then exits\n"
	"with 143), and SIGKILL 5 seconds later. VMs stop in parallel. Prints how\n"
	"each one ended; \"clean\" means exit status 0 (guest reset) or 143 (ebb's\n"
	"orderly shutdown on SIGTERM). VMs that had already exited are just cleaned up.\n";

static const char help_snapshot[] =
	"Usage: ebbctl snapshot NAME --snapshot FILE --mem FILE [--diff] [--paused]\n"
	"                        [--run-dir DIR] [--json]\n"
	"\n"
	"Pauses VM NAME (PATCH /vm), writes its snapshot (PUT /snapshot/create): the\n"
	"state to --snapshot, guest RAM to --mem (only the memory the guest holds; see\n"
	"docs/snapshot.md), then resumes it unless --paused. --diff writes only the\n"
	"pages changed since the last snapshot into --mem, which should be a copy of\n"
	"the last snapshot's memory file (the VM needs track_dirty_pages). Relative\n"
	"paths are made absolute here.\n";

static const char help_restore[] =
	"Usage: ebbctl restore --snapshot FILE [--mem FILE] [--count N] [--name PREFIX]\n"
	"                      [--paused] [--run-dir DIR] [--ebb PATH] [--timeout S] [--json]\n"
	"\n"
	"Starts N VMs from a snapshot (ebb --restore), each in the background like\n"
	"`launch`, with its own API socket, log and console under DIR/NAME. They map\n"
	"the memory file (--mem, default: the one the snapshot names) MAP_PRIVATE and\n"
	"share every page none of them writes. --paused leaves them paused (PATCH /vm\n"
	"resumes). The names default to FILE's base name. Drives are the snapshot's:\n"
	"clones that write to one drive corrupt it.\n";

static const char help_help[] = "Usage: ebbctl help [COMMAND]\n"
				"\n"
				"Prints the overview, or the help of COMMAND.\n";

const char *args_cmd_name(enum ctl_cmd cmd)
{
	if (cmd <= CMD_NONE || cmd >= CMD_NR)
		return NULL;
	return cmd_names[cmd];
}

const char *args_help(enum ctl_cmd cmd)
{
	switch (cmd) {
	case CMD_LAUNCH:
		return help_launch;
	case CMD_PS:
		return help_ps;
	case CMD_BALLOON:
		return help_balloon;
	case CMD_STATS:
		return help_stats;
	case CMD_METRICS:
		return help_metrics;
	case CMD_STOP:
		return help_stop;
	case CMD_SNAPSHOT:
		return help_snapshot;
	case CMD_RESTORE:
		return help_restore;
	case CMD_HELP:
		return help_help;
	default:
		return help_overview;
	}
}

static enum ctl_cmd find_cmd(const char *name)
{
	for (int c = CMD_NONE + 1; c < CMD_NR; c++) {
		if (cmd_names[c] && strcmp(cmd_names[c], name) == 0)
			return c;
	}
	return CMD_NONE;
}

static const struct opt_spec *find_opt(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(opt_specs) / sizeof(opt_specs[0]); i++) {
		if (strlen(opt_specs[i].name) == len && strncmp(opt_specs[i].name, name, len) == 0)
			return &opt_specs[i];
	}
	return NULL;
}

static int arg_error(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int arg_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int args_parse_uint(const char *opt, const char *s, unsigned int min, unsigned int max,
		    unsigned int *out, char *err, size_t errlen)
{
	const char *p = s;
	if (*p == '\0')
		return arg_error(err, errlen, "%s: needs a whole number, got an empty value", opt);
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return arg_error(err, errlen, "%s: '%s' is not a whole number", opt, s);
	}
	errno = 0;
	unsigned long long v = strtoull(s, NULL, 10);
	if (errno == ERANGE || v < min || v > max)
		return arg_error(err, errlen, "%s: %s is out of range (%u to %u)", opt, s, min,
				 max);
	*out = (unsigned int)v;
	return 0;
}

int args_parse_seconds(const char *opt, const char *s, double *out, char *err, size_t errlen)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno == ERANGE || !isfinite(v) || *s == ' ')
		return arg_error(err, errlen, "%s: '%s' is not a number of seconds", opt, s);
	if (v <= 0 || v > CTL_MAX_TIMEOUT_S)
		return arg_error(err, errlen,
				 "%s: must be more than 0 and at most %.0f seconds, got %s", opt,
				 CTL_MAX_TIMEOUT_S, s);
	*out = v;
	return 0;
}

/* "launch: " or "" before the command is known, for error messages. */
static const char *where(const struct ctl_args *a, char *buf, size_t len)
{
	const char *name = args_cmd_name(a->cmd);
	if (!name || a->cmd == CMD_HELP)
		return "";
	snprintf(buf, len, "%s: ", name);
	return buf;
}

static const char *see_help(const struct ctl_args *a, char *buf, size_t len)
{
	const char *name = args_cmd_name(a->cmd);
	if (!name || a->cmd == CMD_HELP)
		return "see ebbctl --help";
	snprintf(buf, len, "see ebbctl %s --help", name);
	return buf;
}

static int apply_opt(struct ctl_args *a, const struct opt_spec *o, const char *flag,
		     const char *value, char *err, size_t errlen)
{
	char wbuf[32];
	const char *w = where(a, wbuf, sizeof(wbuf));
	char ebuf[256];

	switch (o->id) {
	case OPT_HELP:
		a->help = true;
		return 0;
	case OPT_VERSION:
		a->cmd = CMD_VERSION;
		return 0;
	case OPT_JSON:
		a->json = true;
		return 0;
	case OPT_ALL:
		a->all = true;
		return 0;
	case OPT_RUN_DIR:
		if (value[0] == '\0')
			return arg_error(err, errlen, "%s%s: needs a directory, got an empty value",
					 w, flag);
		a->run_dir = value;
		return 0;
	case OPT_CONFIG:
		if (value[0] == '\0')
			return arg_error(err, errlen, "%s%s: needs a file, got an empty value", w,
					 flag);
		a->config = value;
		return 0;
	case OPT_EBB:
		if (value[0] == '\0')
			return arg_error(err, errlen, "%s%s: needs a path, got an empty value", w,
					 flag);
		a->ebb = value;
		return 0;
	case OPT_NAME:
		if (rundir_check_prefix(value, ebuf, sizeof(ebuf)) < 0)
			return arg_error(err, errlen, "%s%s: %s", w, flag, ebuf);
		a->prefix = value;
		return 0;
	case OPT_COUNT:
		if (args_parse_uint(flag, value, 1, CTL_MAX_COUNT, &a->count, ebuf, sizeof(ebuf)) <
		    0)
			return arg_error(err, errlen, "%s%s", w, ebuf);
		return 0;
	case OPT_TARGET_MIB:
		if (args_parse_uint(flag, value, 0, CTL_MAX_TARGET_MIB, &a->target_mib, ebuf,
				    sizeof(ebuf)) < 0)
			return arg_error(err, errlen, "%s%s", w, ebuf);
		a->has_target = true;
		return 0;
	case OPT_MARGIN_MIB:
		if (args_parse_uint(flag, value, 0, CTL_MAX_TARGET_MIB, &a->margin_mib, ebuf,
				    sizeof(ebuf)) < 0)
			return arg_error(err, errlen, "%s%s", w, ebuf);
		a->has_margin = true;
		return 0;
	case OPT_OFF:
		a->off = true;
		return 0;
	case OPT_SHOW:
		a->show = true;
		return 0;
	case OPT_SNAPSHOT:
	case OPT_MEM:
		if (value[0] == '\0')
			return arg_error(err, errlen, "%s%s: needs a file, got an empty value", w,
					 flag);
		*(o->id == OPT_SNAPSHOT ? &a->snapshot : &a->mem) = value;
		return 0;
	case OPT_DIFF:
		a->diff = true;
		return 0;
	case OPT_PAUSED:
		a->paused = true;
		return 0;
	case OPT_TIMEOUT:
		if (args_parse_seconds(flag, value, &a->timeout_s, ebuf, sizeof(ebuf)) < 0)
			return arg_error(err, errlen, "%s%s", w, ebuf);
		a->has_timeout = true;
		return 0;
	}
	return arg_error(err, errlen, "%sinternal error: option %s", w, flag);
}

/* Handles argv[*i], an option; may consume argv[*i + 1] as its value. */
static int parse_opt(struct ctl_args *a, int argc, char *const argv[], int *i, unsigned int *seen,
		     char *err, size_t errlen)
{
	const char *arg = argv[*i];
	char wbuf[32], hbuf[64];
	const char *w = where(a, wbuf, sizeof(wbuf));
	const char *name, *value = NULL;
	size_t len;

	if (strcmp(arg, "-h") == 0) {
		name = "help";
		len = 4;
	} else if (arg[1] == '-') {
		name = arg + 2;
		const char *eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		if (eq)
			value = eq + 1;
	} else {
		return arg_error(err, errlen, "%sunknown option '%s' (%s)", w, arg,
				 see_help(a, hbuf, sizeof(hbuf)));
	}

	const struct opt_spec *o = find_opt(name, len);
	if (!o)
		return arg_error(err, errlen, "%sunknown option '--%.*s' (%s)", w, (int)len, name,
				 see_help(a, hbuf, sizeof(hbuf)));
	if (!(o->cmds & C(a->cmd))) {
		if (a->cmd == CMD_NONE)
			return arg_error(err, errlen,
					 "--%s goes after the command (see ebbctl --help)",
					 o->name);
		return arg_error(err, errlen, "%s--%s is not an option of %s (%s)", w, o->name,
				 args_cmd_name(a->cmd), see_help(a, hbuf, sizeof(hbuf)));
	}
	if (o->takes_value && !value) {
		if (*i + 1 >= argc)
			return arg_error(err, errlen, "%s--%s needs a value", w, o->name);
		value = argv[++*i];
	} else if (!o->takes_value && value) {
		return arg_error(err, errlen, "%s--%s takes no value", w, o->name);
	}
	if (*seen & (1u << o->id))
		return arg_error(err, errlen, "%s--%s given twice", w, o->name);
	*seen |= 1u << o->id;

	char flag[32];
	snprintf(flag, sizeof(flag), "--%s", o->name);
	return apply_opt(a, o, flag, value, err, errlen);
}

static int add_name(struct ctl_args *a, const char *name, char *err, size_t errlen)
{
	char wbuf[32], hbuf[64], ebuf[256];
	const char *w = where(a, wbuf, sizeof(wbuf));

	switch (a->cmd) {
	case CMD_HELP:
		if (a->nr_names == 0 && find_cmd(name) == CMD_NONE)
			return arg_error(err, errlen,
					 "help: unknown command '%s' (see ebbctl --help)", name);
		if (a->nr_names >= 1)
			return arg_error(err, errlen, "help: unexpected argument '%s'", name);
		a->help_for = find_cmd(name);
		break;
	case CMD_LAUNCH:
	case CMD_PS:
	case CMD_RESTORE:
		return arg_error(err, errlen, "%sunexpected argument '%s' (%s)", w, name,
				 see_help(a, hbuf, sizeof(hbuf)));
	case CMD_BALLOON:
		/* "auto" first is the sub-command; a VM named auto is "balloon auto auto". */
		if (a->nr_names == 0 && !a->balloon_auto && strcmp(name, "auto") == 0) {
			a->balloon_auto = true;
			return 0;
		}
		if (a->nr_names >= 1)
			return arg_error(err, errlen, "%sone VM name only, got '%s' and '%s'", w,
					 a->names[0], name);
		break;
	case CMD_STATS:
	case CMD_METRICS:
	case CMD_SNAPSHOT:
		if (a->nr_names >= 1)
			return arg_error(err, errlen, "%sone VM name only, got '%s' and '%s'", w,
					 a->names[0], name);
		break;
	default:
		break;
	}
	if (a->cmd != CMD_HELP && rundir_check_name(name, ebuf, sizeof(ebuf)) < 0)
		return arg_error(err, errlen, "%s%s", w, ebuf);
	a->names[a->nr_names++] = name;
	return 0;
}

static int check_cmd(struct ctl_args *a, char *err, size_t errlen)
{
	char wbuf[32], hbuf[64];
	const char *w = where(a, wbuf, sizeof(wbuf));

	switch (a->cmd) {
	case CMD_LAUNCH:
		if (!a->config)
			return arg_error(err, errlen, "launch: --config FILE is required (%s)",
					 see_help(a, hbuf, sizeof(hbuf)));
		if (a->prefix && a->count > 1) {
			char name[RUNDIR_NAME_MAX + 1], ebuf[256];
			if (rundir_vm_name(name, sizeof(name), a->prefix, a->count, a->count) < 0 ||
			    rundir_check_name(name, ebuf, sizeof(ebuf)) < 0)
				return arg_error(err, errlen,
						 "launch: --name %s is too long for --count %u",
						 a->prefix, a->count);
		}
		break;
	case CMD_BALLOON:
		if (a->balloon_auto && a->nr_names == 0 && a->has_target) {
			/* "balloon auto --target-mib M": the VM named auto */
			a->balloon_auto = false;
			a->names[a->nr_names++] = "auto";
		}
		if (a->balloon_auto) {
			if (a->nr_names == 0)
				return arg_error(err, errlen,
						 "balloon auto: which VM? (ebbctl balloon auto NAME)");
			if (a->has_target)
				return arg_error(err, errlen,
						 "balloon auto: --target-mib sets a target by hand, "
						 "which turns the policy off; give one or the other");
			if (a->off + a->show + a->has_margin > 1)
				return arg_error(err, errlen,
						 "balloon auto: --margin-mib, --off and --show go "
						 "one at a time");
			break;
		}
		if (a->nr_names == 0)
			return arg_error(err, errlen,
					 "balloon: which VM? (ebbctl balloon NAME --target-mib M)");
		if (a->has_margin || a->off || a->show)
			return arg_error(err, errlen,
					 "balloon: --%s belongs to the policy (ebbctl balloon auto "
					 "NAME ...)",
					 a->has_margin ? "margin-mib" : a->off ? "off" : "show");
		if (!a->has_target)
			return arg_error(err, errlen, "balloon: --target-mib M is required");
		break;
	case CMD_STATS:
	case CMD_METRICS:
		if (a->nr_names == 0)
			return arg_error(err, errlen, "%swhich VM? (ebbctl %s NAME)", w,
					 args_cmd_name(a->cmd));
		break;
	case CMD_SNAPSHOT:
		if (a->nr_names == 0 || !a->snapshot || !a->mem)
			return arg_error(err, errlen,
					 "snapshot: %s (ebbctl snapshot NAME "
					 "--snapshot FILE --mem FILE)",
					 a->nr_names ? "--snapshot and --mem are required"
						     : "which VM?");
		break;
	case CMD_RESTORE:
		if (!a->snapshot)
			return arg_error(err, errlen, "restore: --snapshot FILE is required (%s)",
					 see_help(a, hbuf, sizeof(hbuf)));
		break;
	case CMD_STOP:
		if (a->all && a->nr_names)
			return arg_error(err, errlen, "stop: give VM names or --all, not both");
		if (!a->all && a->nr_names == 0)
			return arg_error(err, errlen,
					 "stop: which VMs? (ebbctl stop NAME... or --all)");
		break;
	default:
		break;
	}
	if (!a->has_timeout)
		a->timeout_s = a->cmd == CMD_STOP ? CTL_DEFAULT_STOP_S : CTL_DEFAULT_WAIT_S;
	return 0;
}

int args_parse(int argc, char *const argv[], struct ctl_args *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	a->count = 1;
	err[0] = '\0';
	a->names = calloc(argc > 0 ? (size_t)argc : 1, sizeof(*a->names));
	if (!a->names)
		return arg_error(err, errlen, "out of memory");

	unsigned int seen = 0;
	bool only_names = false;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (!only_names && strcmp(arg, "--") == 0 && a->cmd != CMD_NONE) {
			only_names = true;
			continue;
		}
		if (!only_names && arg[0] == '-' && arg[1] != '\0') {
			int ret = parse_opt(a, argc, argv, &i, &seen, err, errlen);
			if (ret < 0)
				return ret;
			if (a->cmd == CMD_VERSION)
				return 0;
			continue;
		}
		if (a->cmd == CMD_NONE) {
			a->cmd = find_cmd(arg);
			if (a->cmd == CMD_NONE)
				return arg_error(err, errlen,
						 "unknown command '%s' (see ebbctl --help)", arg);
			/* Options given before the command stay; only --run-dir can be one. */
			continue;
		}
		int ret = add_name(a, arg, err, errlen);
		if (ret < 0)
			return ret;
	}
	if (a->help || a->cmd == CMD_NONE || a->cmd == CMD_HELP)
		return 0;
	return check_cmd(a, err, errlen);
}

void args_free(struct ctl_args *a)
{
	free(a->names);
	a->names = NULL;
	a->nr_names = 0;
}
