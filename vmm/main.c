// SPDX-License-Identifier: GPL-2.0
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

int main(int argc, char **argv)
{
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	block_signals();
	/* Load the timezone now: later, seccomp would not let log timestamps open files. */
	tzset();

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

	log_set_level(cfg.level);
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
