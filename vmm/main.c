// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "seccomp/seccomp.h"
#include "vmm/cli.h"
#include "vmm/config.h"
#include "vmm/log.h"
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

/*
 * The file describes the VM; the command line may only add process settings
 * (cli_parse refused the rest), and those win: they are applied again on
 * top of what the file says.
 */
static int load_config_file(int argc, char **argv, struct vm_config *cfg)
{
	struct vm_config from_file;
	struct config_error err;
	config_init(&from_file);
	if (config_load_file(cfg->config_file, &from_file, &err) < 0) {
		char line[1024];
		config_error_format(&err, cfg->config_file, line, sizeof(line));
		fprintf(stderr, "ebb: %s\n", line);
		config_free(&from_file);
		return -EINVAL;
	}
	if (cli_parse(argc, argv, &from_file) != CLI_RUN) {
		config_free(&from_file);
		return -EINVAL;
	}
	config_free(cfg);
	*cfg = from_file;
	return 0;
}

int main(int argc, char **argv)
{
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	block_signals();
	/* Load the timezone now: later, seccomp would not let log timestamps open files. */
	tzset();
	/*
	 * One malloc arena: a thread arena that shrinks makes glibc open
	 * /proc/sys/vm/overcommit_memory, which seccomp kills; the main arena
	 * only needs brk.
	 */
	mallopt(M_ARENA_MAX, 1);

	struct vm_config cfg;
	config_init(&cfg);
	int status;
	switch (cli_parse(argc, argv, &cfg)) {
	case CLI_DONE:
		status = EBB_EXIT_OK;
		goto out;
	case CLI_ERROR:
		status = EBB_EXIT_USAGE;
		goto out;
	case CLI_PRINT_SECCOMP:
		seccomp_print(stdout);
		status = EBB_EXIT_OK;
		goto out;
	case CLI_RUN:
		break;
	}

	if (cfg.config_file && load_config_file(argc, argv, &cfg) < 0) {
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
	status = vmm_run(&cfg, &start);
out:
	config_free(&cfg);
	return status;
}
