// SPDX-License-Identifier: GPL-2.0
#include "tests/fuzz/support/fuzz_env.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

static int null_fd = -1;
static int fd_baseline = -1;
static bool tracing;

void fuzz_trace(const char *fmt, ...)
{
	if (!tracing)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void fuzz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fuzz: invariant broken: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

/* The number the next open() would get: fds are always the lowest free one. */
static int lowest_free_fd(void)
{
	int fd = fcntl(null_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		fuzz_fail("F_DUPFD failed: out of file descriptors?");
	close(fd);
	return fd;
}

void fuzz_env_init(void)
{
	const char *trace = getenv("FUZZ_TRACE");
	tracing = trace && *trace && strcmp(trace, "0") != 0;
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	/* Tracing, ebb's own log goes to stderr too. */
	if (null_fd < 0 || (!tracing && log_set_path("/dev/null") < 0)) {
		perror("fuzz: /dev/null");
		exit(1);
	}
}

void fuzz_env_begin(bool debug_log)
{
	/* Per input: sanitizer runtimes may keep an fd of their own between inputs. */
	fd_baseline = lowest_free_fd();
	log_set_level(debug_log || tracing ? LOG_DEBUG : LOG_ERROR);
	log_set_show_level(false, debug_log);
	log_clear_last_error();
}

void fuzz_env_end(void)
{
	int fd = lowest_free_fd();
	if (fd > fd_baseline) {
		char link[64], target[256] = "?";
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd_baseline);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		target[n > 0 ? n : 1] = '\0';
		fuzz_fail("a file descriptor leaked: fd %d (%s)", fd_baseline, target);
	}
	if (fd < fd_baseline)
		fuzz_fail("a file descriptor the harness owns was closed (fd %d)", fd);
}
