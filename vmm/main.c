// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "seccomp/seccomp.h"
#include "base/log.h"
#include "vmm/cli.h"
#include "vmm/config/config.h"
#include "vmm/routes.h"
#include "vmm/vm.h"
#include "vmm/vmm.h"

/* Signals go to the event loop's signalfd and the vCPU kick, so every thread blocks them. */
static void block_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* --print-seccomp: every role, with the rows of every device type ebb has. */
static void print_seccomp(void)
{
	const struct device_registry *r = device_registry();
	struct seccomp_extra extra[DEVICE_MAX_TYPES + SNAPSHOT_SECCOMP_EXTRAS];
	unsigned int n = 0;
	for (unsigned int i = 0; i < r->nr_types && n < DEVICE_MAX_TYPES; i++) {
		const struct device_type *t = r->types[i];
		if (t->nr_seccomp_rules)
			extra[n++] = (struct seccomp_extra){ .origin = t->name,
							     .rules = t->seccomp_rules,
							     .nr_rules = t->nr_seccomp_rules };
	}
	n += snapshot_seccomp_extras(&extra[n]);
	seccomp_print(stdout, extra, n);
}

/* The file describes the VM; the command line adds process settings on top. */
static int load_config_file(struct vm_config *cfg)
{
	struct schema_error err;
	if (config_load_file(cfg->config_file, cfg, &err) == 0)
		return 0;
	char line[1024];
	schema_error_format(&err, cfg->config_file, line, sizeof(line));
	fprintf(stderr, "ebb: %s\n", line);
	return -EINVAL;
}

int main(int argc, char **argv)
{
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	block_signals();
	/* Load the timezone now: later, seccomp would not let log timestamps open files. */
	tzset();
	seccomp_prepare_malloc();

	struct vm_config cfg;
	json_t *flags = NULL;
	config_init(&cfg);
	int status;
	switch (cli_parse(argc, argv, &cfg, &flags)) {
	case CLI_DONE:
		status = EBB_EXIT_OK;
		goto out;
	case CLI_ERROR:
		status = EBB_EXIT_USAGE;
		goto out;
	case CLI_PRINT_SECCOMP:
		print_seccomp();
		status = EBB_EXIT_OK;
		goto out;
	case CLI_RUN:
		break;
	}

	if ((cfg.config_file && load_config_file(&cfg) < 0) || cli_apply(flags, &cfg) < 0) {
		status = EBB_EXIT_USAGE;
		goto out;
	}

	log_set_level(cfg.level);
	log_set_show_level(cfg.show_level, cfg.show_origin);
	if (cfg.log_path) {
		int ret = log_set_path(cfg.log_path);
		if (ret < 0) {
			fprintf(stderr, "ebb: --log-path %s: %s\n", cfg.log_path, strerror(-ret));
			status = EBB_EXIT_USAGE;
			goto out;
		}
	}
	status = vmm_run(&cfg, &start, routes_handle);
out:
	json_decref(flags);
	config_free(&cfg);
	return status;
}
