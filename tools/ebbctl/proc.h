/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Processes ebbctl starts and watches without being their parent.
 *
 * proc_spawn() detaches twice (fork, setsid, fork) so the VM outlives
 * ebbctl and belongs to no terminal. The process left after the second
 * fork is a small monitor: it forks and execs ebb, records ebb's pid, waits
 * for it and records how it ended, which nobody else could learn because
 * only a parent can collect an exit status.
 */
#ifndef EBBCTL_PROC_H
#define EBBCTL_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct spawn_files {
	const char *console;  /* ebb's stdout (truncated) */
	const char *log;      /* ebb's stderr (appended) */
	const char *pidfile;  /* "PID\n", written by the monitor */
	const char *exitfile; /* "exit N\n" or "signal N\n", written by the monitor */
};

/*
 * Starts argv[0] (a path) with argv as its arguments, stdin /dev/null.
 * Returns 0 with *pid set once it was exec'ed, or a negative errno with err
 * set: -EIO when the monitor reported a failure (exec's included, its cause
 * in err), -ECHILD when it ended without starting ebb.
 */
int proc_spawn(char *const argv[], const struct spawn_files *files, pid_t *pid, char *err,
	       size_t errlen);

/*
 * Parses an exit file's text into *status: exit status >= 0 or -signal.
 * -EINVAL if malformed.
 */
int proc_parse_exit(const char *text, int *status);

/* Whether pid is alive (not a zombie) and is the ebb serving API socket sock. */
bool proc_is_ebb(pid_t pid, const char *sock);

/* A pidfd for pid, or a negative errno (-ENOSYS where the kernel has none). */
int proc_pidfd(pid_t pid);
/* Signals through the pidfd when there is one (no pid reuse race), else kill(). */
int proc_signal(pid_t pid, int pidfd, int sig);
/*
 * True once the process has ended: its pidfd is readable or, without one,
 * the pid is gone or a zombie.
 */
bool proc_gone(pid_t pid, int pidfd);

/* VmRSS of pid in KiB. 0 or negative errno. */
int proc_rss_kib(pid_t pid, uint64_t *kib);

/*
 * Memory only pid maps (smaps_rollup's Private_Clean + Private_Dirty +
 * Private_Hugetlb) in KiB: what one more such process costs the host, with
 * shared libraries and KSM-merged pages left out. 0 or negative errno.
 */
int proc_private_kib(pid_t pid, uint64_t *kib);

/* CLOCK_MONOTONIC in seconds. */
double proc_now(void);
/* Sleeps for s seconds (fractions allowed). */
void proc_sleep(double s);

#endif
