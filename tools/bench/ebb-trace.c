// SPDX-License-Identifier: GPL-2.0
/*
 * ebb-trace: runs a VMM (ebb or QEMU) with its console piped through us,
 * and writes a timeline: every console line with the time it arrived, and
 * the VMM's memory every few milliseconds. Benchmarks and e2e tests read
 * the timeline instead of polling files from a shell, which is too slow to
 * see sub-second reclaim under nested emulation.
 *
 * Output (CSV, seconds since the VMM started):
 *   T,start,PID
 *   T,console,<the line>
 *   T,mem,<VmRSS KiB>,<RssAnon KiB>,<RssShmem KiB>,<huge pages in use KiB>
 *   T,exit,<status>          (the wait status decoded: N, or signal:N)
 * The console is also copied to --console FILE (or our stdout).
 * Exit status: the VMM's, 128+N if it died of signal N.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct mem_sample {
	long rss, anon, shmem, huge_used;
};

static double now_s(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Reads "Key: value" lines from a /proc file into the fields that match. */
static void read_kv(const char *path, const char *const keys[], long *vals[], int n)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		for (int i = 0; i < n; i++) {
			size_t kl = strlen(keys[i]);
			if (strncmp(line, keys[i], kl) == 0 && line[kl] == ':')
				*vals[i] = strtol(line + kl + 1, NULL, 10);
		}
	}
	fclose(f);
}

static struct mem_sample sample(pid_t pid)
{
	struct mem_sample m = { 0 };
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	const char *const status_keys[] = { "VmRSS", "RssAnon", "RssShmem" };
	long *status_vals[] = { &m.rss, &m.anon, &m.shmem };
	read_kv(path, status_keys, status_vals, 3);
	long total = 0, free_pages = 0, size_kib = 0;
	const char *const mi_keys[] = { "HugePages_Total", "HugePages_Free", "Hugepagesize" };
	long *mi_vals[] = { &total, &free_pages, &size_kib };
	read_kv("/proc/meminfo", mi_keys, mi_vals, 3);
	m.huge_used = (total - free_pages) * size_kib;
	return m;
}

static void usage(FILE *f)
{
	fputs("usage: ebb-trace [--interval-ms N] [--out FILE] [--console FILE] [--flush] -- VMM "
	      "[ARGS...]\n"
	      "Runs VMM with its console piped through, and writes a timeline of console\n"
	      "lines and memory samples (see the top of tools/bench/ebb-trace.c).\n"
	      "--flush writes each timeline line at once, for a reader following the file.\n",
	      f);
}

int main(int argc, char **argv)
{
	int interval_ms = 10;
	bool flush = false;
	const char *out_path = NULL, *console_path = NULL;
	static const struct option opts[] = {
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "console", required_argument, NULL, 'c' },
		{ "flush", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			interval_ms = atoi(optarg);
			if (interval_ms < 1 || interval_ms > 10000) {
				fprintf(stderr, "ebb-trace: --interval-ms must be 1..10000\n");
				return 2;
			}
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'c':
			console_path = optarg;
			break;
		case 'f':
			flush = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	FILE *out = out_path ? fopen(out_path, "w") : stdout;
	FILE *console = console_path ? fopen(console_path, "w") : stdout;
	if (!out || !console) {
		fprintf(stderr, "ebb-trace: %s: %s\n", !out ? out_path : console_path,
			strerror(errno));
		return 2;
	}

	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		perror("ebb-trace: pipe");
		return 2;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid < 0) {
		perror("ebb-trace: fork");
		return 2;
	}
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "ebb-trace: %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	/* Forward SIGTERM/SIGINT to the VMM, which decides how to end. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	if (flush)
		setvbuf(out, NULL, _IOLBF, 0);
	fprintf(out, "%.6f,start,%d\n", 0.0, pid);

	char buf[65536];
	size_t have = 0;
	bool eof = false;
	double next_sample = 0;
	while (!eof) {
		double now = now_s(&t0);
		if (now >= next_sample) {
			struct mem_sample m = sample(pid);
			fprintf(out, "%.6f,mem,%ld,%ld,%ld,%ld\n", now, m.rss, m.anon, m.shmem,
				m.huge_used);
			next_sample = now + interval_ms / 1000.0;
		}
		int wait_ms = (int)((next_sample - now_s(&t0)) * 1000) + 1;
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		if (poll(&p, 1, wait_ms < 0 ? 0 : wait_ms) <= 0)
			continue;
		ssize_t n = read(pipefd[0], buf + have, sizeof(buf) - have - 1);
		if (n <= 0) {
			eof = n == 0 || errno != EINTR;
			continue;
		}
		double t = now_s(&t0);
		fwrite(buf + have, 1, n, console);
		fflush(console);
		have += n;
		/* One event per complete line; a line longer than the buffer is cut. */
		char *start = buf, *nl;
		while ((nl = memchr(start, '\n', buf + have - start))) {
			*nl = '\0';
			if (nl > start && nl[-1] == '\r')
				nl[-1] = '\0';
			for (char *c = start; *c; c++)
				if (*c == ',' || (unsigned char)*c < ' ')
					*c = ' ';
			fprintf(out, "%.6f,console,%s\n", t, start);
			start = nl + 1;
		}
		have -= start - buf;
		memmove(buf, start, have);
		if (have == sizeof(buf) - 1)
			have = 0;
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status))
		fprintf(out, "%.6f,exit,signal:%d\n", now_s(&t0), WTERMSIG(status));
	else
		fprintf(out, "%.6f,exit,%d\n", now_s(&t0), WEXITSTATUS(status));
	fclose(out);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
