// SPDX-License-Identifier: GPL-2.0
#include "tools/ebbctl/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* ---- the detached monitor ---- */

/* Closes every fd from lo to hi inclusive. */
static void close_fds(unsigned int lo, unsigned int hi)
{
	if (lo > hi)
		return;
	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return;
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (long fd = lo; fd <= (long)hi && fd < max; fd++)
		close((int)fd);
}

/* Makes fds 0-2 the given ones (opened on whatever numbers). */
static int install_stdio(int in, int out, int err)
{
	int fds[3] = { in, out, err };
	/* Lift each above 2 first, so dup2 below never overwrites a source. */
	for (int i = 0; i < 3; i++) {
		int high = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
		if (high < 0)
			return -errno;
		fds[i] = high;
	}
	for (int i = 0; i < 3; i++) {
		if (dup2(fds[i], i) < 0)
			return -errno;
	}
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	return 0;
}

static void report(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(int fd, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	if (n > 0 && write(fd, buf, (size_t)n) < 0) {
		/* Nobody left to tell. */
	}
}

static int write_file_atomic(const char *path, const char *text)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	int ret = w == (ssize_t)len ? 0 : -EIO;
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

/* The VM process: stdio in place, then exec. Never returns. */
static void __attribute__((noreturn))
exec_vm(char *const argv[], const struct spawn_files *f, int report_fd)
{
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out = open(f->console, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int err = open(f->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (in < 0 || out < 0 || err < 0) {
		report(report_fd, "error cannot open %s: %s\n",
		       in < 0	 ? "/dev/null"
		       : out < 0 ? f->console
				 : f->log,
		       strerror(errno));
		_exit(127);
	}
	if (install_stdio(in, out, err) < 0) {
		report(report_fd, "error setting up stdin/stdout/stderr: %s\n", strerror(errno));
		_exit(127);
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	execv(argv[0], argv);
	report(report_fd, "error cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* The monitor: starts the VM, tells ebbctl its pid, records how it ends. */
static void __attribute__((noreturn))
monitor(char *const argv[], const struct spawn_files *f, int report_fd)
{
	prctl(PR_SET_NAME, "ebbctl-monitor", 0, 0, 0);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || install_stdio(null, null, null) < 0) {
		report(report_fd, "error monitor: /dev/null: %s\n", strerror(errno));
		_exit(1);
	}
	close(null);
	/* Nothing of ebbctl's stays open here: not its terminal, pipes or sockets. */
	close_fds(3, (unsigned int)report_fd - 1);
	close_fds((unsigned int)report_fd + 1, ~0u);

	pid_t vm = fork();
	if (vm < 0) {
		report(report_fd, "error fork: %s\n", strerror(errno));
		_exit(1);
	}
	if (vm == 0)
		exec_vm(argv, f, report_fd);

	char text[32];
	snprintf(text, sizeof(text), "%d\n", (int)vm);
	int ret = write_file_atomic(f->pidfile, text);
	if (ret < 0) {
		report(report_fd, "error cannot write %s: %s\n", f->pidfile, strerror(-ret));
		kill(vm, SIGKILL);
	} else {
		report(report_fd, "pid %d\n", (int)vm);
	}
	close(report_fd);

	int status;
	while (waitpid(vm, &status, 0) < 0) {
		if (errno != EINTR)
			_exit(1);
	}
	if (WIFEXITED(status))
		snprintf(text, sizeof(text), "exit %d\n", WEXITSTATUS(status));
	else
		snprintf(text, sizeof(text), "signal %d\n", WTERMSIG(status));
	if (ret == 0)
		write_file_atomic(f->exitfile, text);
	_exit(0);
}

/* Reads the monitor's report: "pid N" and/or "error MESSAGE" lines, until EOF. */
static int read_report(int fd, pid_t *pid, char *err, size_t errlen)
{
	char buf[2048];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf) - 1)
			break;
	}
	buf[len] = '\0';

	*pid = 0;
	err[0] = '\0';
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, "pid ", 4) == 0)
			*pid = (pid_t)strtol(line + 4, NULL, 10);
		else if (strncmp(line, "error ", 6) == 0 && !err[0])
			snprintf(err, errlen, "%s", line + 6);
	}
	if (err[0])
		return -EIO;
	if (*pid <= 0) {
		snprintf(err, errlen, "the monitor process ended without starting ebb");
		return -ECHILD;
	}
	return 0;
}

int proc_spawn(char *const argv[], const struct spawn_files *files, pid_t *pid, char *err,
	       size_t errlen)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		int ret = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(-ret));
		return ret;
	}
	fflush(NULL);
	pid_t first = fork();
	if (first < 0) {
		int ret = -errno;
		snprintf(err, errlen, "fork: %s", strerror(-ret));
		close(p[0]);
		close(p[1]);
		return ret;
	}
	if (first == 0) {
		close(p[0]);
		int report_fd = fcntl(p[1], F_DUPFD_CLOEXEC, 3);
		if (report_fd < 0)
			_exit(1);
		close(p[1]);
		if (setsid() < 0) {
			report(report_fd, "error setsid: %s\n", strerror(errno));
			_exit(1);
		}
		/* Not a session leader, so it can never get a controlling terminal. */
		pid_t second = fork();
		if (second < 0) {
			report(report_fd, "error fork: %s\n", strerror(errno));
			_exit(1);
		}
		if (second == 0)
			monitor(argv, files, report_fd);
		_exit(0);
	}
	close(p[1]);
	int ret = read_report(p[0], pid, err, errlen);
	close(p[0]);
	while (waitpid(first, NULL, 0) < 0 && errno == EINTR)
		;
	return ret;
}

int proc_parse_exit(const char *text, int *status)
{
	int v;
	char nl;
	if (sscanf(text, "exit %d%c", &v, &nl) == 2 && nl == '\n' && v >= 0 && v <= 255) {
		*status = v;
		return 0;
	}
	if (sscanf(text, "signal %d%c", &v, &nl) == 2 && nl == '\n' && v > 0 && v < 128) {
		*status = -v;
		return 0;
	}
	return -EINVAL;
}

/* ---- watching ---- */

static ssize_t read_small_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t got = 0;
	while (got < len - 1) {
		ssize_t n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

bool proc_is_ebb(pid_t pid, const char *sock)
{
	if (pid <= 0)
		return false;
	char path[64], buf[8192];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small_file(path, buf, sizeof(buf)) <= 0)
		return false;
	const char *paren = strrchr(buf, ')');
	if (!paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X')
		return false;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	ssize_t n = read_small_file(path, buf, sizeof(buf));
	if (n <= 0)
		return false;
	/* NUL-separated arguments: look for "--api-sock" followed by sock. */
	const char *prev = NULL;
	for (const char *arg = buf; arg < buf + n; arg += strlen(arg) + 1) {
		if (prev && strcmp(prev, "--api-sock") == 0 && strcmp(arg, sock) == 0)
			return true;
		prev = arg;
	}
	return false;
}

int proc_pidfd(pid_t pid)
{
	long fd = syscall(SYS_pidfd_open, pid, 0);
	return fd < 0 ? -errno : (int)fd;
}

int proc_signal(pid_t pid, int pidfd, int sig)
{
	if (pidfd >= 0)
		return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
	return kill(pid, sig) < 0 ? -errno : 0;
}

bool proc_gone(pid_t pid, int pidfd)
{
	if (pidfd >= 0) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
		return poll(&pfd, 1, 0) > 0;
	}
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small_file(path, buf, sizeof(buf)) <= 0)
		return true;
	const char *paren = strrchr(buf, ')');
	return !paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X';
}

int proc_rss_kib(pid_t pid, uint64_t *kib)
{
	char path[64], buf[8192];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	ssize_t n = read_small_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	const char *line = strstr(buf, "\nVmRSS:");
	if (!line)
		return -ENODATA;
	*kib = strtoull(line + 7, NULL, 10);
	return 0;
}

/* A "Name:   N kB" field of a /proc text, in KiB; -ENODATA when absent. */
static int64_t kib_field(const char *text, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, name, len) == 0 && p[len] == ':')
			return (int64_t)strtoull(p + len + 1, NULL, 10);
	}
	return -ENODATA;
}

int proc_private_kib(pid_t pid, uint64_t *kib)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	ssize_t n = read_small_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	int64_t clean = kib_field(buf, "Private_Clean"), dirty = kib_field(buf, "Private_Dirty");
	int64_t huge = kib_field(buf, "Private_Hugetlb");
	if (clean < 0 || dirty < 0)
		return -ENODATA;
	*kib = (uint64_t)(clean + dirty + (huge > 0 ? huge : 0));
	return 0;
}

double proc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void proc_sleep(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = { .tv_sec = (time_t)s,
			       .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
