// SPDX-License-Identifier: MIT
// ebb-hog: memory workloads for ebb's guest. Runs a list of steps in order
// and prints one marker line per step, e.g.
//
//   ebb-hog touch:300 hold:1 free meminfo
//
// Marker lines start with "EBB-HOG " and end with "t=SECONDS", the guest's
// CLOCK_MONOTONIC (= uptime) with 6 decimals. Each line goes out in a single
// write(2) so the host sees it at once and lines never interleave.
// Exit status: 0 ok, 1 runtime failure (mmap), 2 bad arguments.
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024UL * 1024UL)
#define MAX_MIB (1UL << 30) // 1 PiB: far beyond any guest, keeps sizes in range

enum op { OP_TOUCH, OP_HOLD, OP_FREE, OP_CHURN, OP_MEMINFO, OP_WATCH };

struct step {
	enum op op;
	unsigned long mib;
	double sec;
	double interval;
};

struct region {
	void *addr;
	size_t len;
};

static struct region *regions;
static size_t nregions, cap_regions;
static unsigned long touched_mib;
static long page_size;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

// Prints "EBB-HOG <fmt> t=<now>\n" to fd as a single write.
static void __attribute__((format(printf, 2, 3))) marker_fd(int fd, const char *fmt, ...)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "EBB-HOG ");
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 32)
		n = (int)sizeof(line) - 32;
	n += snprintf(line + n, sizeof(line) - (size_t)n, " t=%.6f\n", now());
	fflush(stdout);
	write_all(fd, line, (size_t)n);
}

#define marker(...) marker_fd(STDOUT_FILENO, __VA_ARGS__)

static void usage(FILE *f)
{
	fputs("usage: ebb-hog STEP...\n"
	      "Runs the steps in order; each prints an 'EBB-HOG ... t=UPTIME' line.\n"
	      "  touch:MIB        mmap MIB MiB of anonymous memory and write every page\n"
	      "  hold:SEC         sleep SEC seconds (fractions allowed); alias idle:SEC\n"
	      "  free             munmap everything touched so far\n"
	      "  free:MIB         munmap the last MIB MiB touched\n"
	      "  churn:MIB:SEC    for SEC seconds: touch MIB MiB, munmap, repeat\n"
	      "  meminfo          print MemTotal/MemFree/MemAvailable and the page cache in KiB\n"
	      "  watch:SEC:INT    print the meminfo line every INT seconds for SEC seconds\n"
	      "Markers:\n"
	      "  EBB-HOG start t=T\n"
	      "  EBB-HOG touched mib=N t=T\n"
	      "  EBB-HOG held sec=S t=T\n"
	      "  EBB-HOG freed mib=N t=T\n"
	      "  EBB-HOG churn mib=N sec=S rounds=R mib_per_s=X t=T\n"
	      "  EBB-HOG meminfo total_kib=A free_kib=B available_kib=C cached_kib=D t=T\n"
	      "  EBB-HOG done t=T\n"
	      "Exit status: 0 ok, 1 runtime error (mmap failed), 2 bad arguments.\n",
	      f);
}

static void __attribute__((noreturn, format(printf, 1, 2))) bad_args(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	marker_fd(STDERR_FILENO, "error: %s (try ebb-hog --help)", msg);
	exit(2);
}

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	marker_fd(STDERR_FILENO, "error: %s", msg);
	exit(1);
}

// Parses a positive whole number of MiB.
static unsigned long parse_mib(const char *s, const char *step)
{
	char *end;
	if (*s < '0' || *s > '9')
		bad_args("%s: '%s' is not a number of MiB", step, s);
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > MAX_MIB)
		bad_args("%s: '%s' is not a number of MiB in 1..%lu", step, s, MAX_MIB);
	return v;
}

// Parses seconds: a finite non-negative decimal, fractions allowed.
static double parse_sec(const char *s, const char *step, int allow_zero)
{
	char *end;
	if ((*s < '0' || *s > '9') && *s != '.')
		bad_args("%s: '%s' is not a number of seconds", step, s);
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0 || v > 1e9 || (!allow_zero && v == 0))
		bad_args("%s: '%s' is not a number of seconds%s", step, s,
			 allow_zero ? "" : " greater than 0");
	return v;
}

// Splits "name:a:b" into at most 3 fields; returns the number of fields.
static int split(char *arg, char *field[3])
{
	int n = 0;
	field[n++] = arg;
	for (char *p = arg; *p; p++) {
		if (*p == ':') {
			if (n == 3)
				return 4;
			*p = '\0';
			field[n++] = p + 1;
		}
	}
	return n;
}

static void parse_step(const char *orig, struct step *st)
{
	char buf[256];
	char *f[3];
	if (strlen(orig) >= sizeof(buf))
		bad_args("step too long: '%.40s...'", orig);
	strcpy(buf, orig);
	int n = split(buf, f);
	const char *name = f[0];
	memset(st, 0, sizeof(*st));

#define WANT(k)                                                                  \
	do {                                                                     \
		if (n != (k))                                                    \
			bad_args("'%s': %s takes %d argument%s", orig, name, (k) - 1, \
				 (k) == 2 ? "" : "s");                            \
	} while (0)

	if (!strcmp(name, "touch")) {
		WANT(2);
		st->op = OP_TOUCH;
		st->mib = parse_mib(f[1], orig);
	} else if (!strcmp(name, "hold") || !strcmp(name, "idle")) {
		WANT(2);
		st->op = OP_HOLD;
		st->sec = parse_sec(f[1], orig, 1);
	} else if (!strcmp(name, "free")) {
		if (n != 1 && n != 2)
			bad_args("'%s': free takes no argument or a size in MiB", orig);
		st->op = OP_FREE;
		st->mib = n == 2 ? parse_mib(f[1], orig) : 0;
	} else if (!strcmp(name, "churn")) {
		WANT(3);
		st->op = OP_CHURN;
		st->mib = parse_mib(f[1], orig);
		st->sec = parse_sec(f[2], orig, 0);
	} else if (!strcmp(name, "meminfo")) {
		WANT(1);
		st->op = OP_MEMINFO;
	} else if (!strcmp(name, "watch")) {
		WANT(3);
		st->op = OP_WATCH;
		st->sec = parse_sec(f[1], orig, 1);
		st->interval = parse_sec(f[2], orig, 0);
	} else {
		bad_args("unknown step '%s'", orig);
	}
#undef WANT
}

// mmaps mib MiB and writes a non-zero word into every page.
static void *touch_region(unsigned long mib, unsigned long round)
{
	size_t len = mib * MIB;
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fail("mmap of %lu MiB failed: %s", mib, strerror(errno));
	uint64_t tag = 0x6562622d686f6700ULL ^ (round << 32); // "ebb-hog"
	for (size_t off = 0, i = 1; off < len; off += (size_t)page_size, i++)
		*(volatile uint64_t *)(p + off) = tag | (i & 0xff) | 1;
	return p;
}

static void remember(void *addr, size_t len)
{
	if (nregions == cap_regions) {
		size_t ncap = cap_regions ? 2 * cap_regions : 16;
		struct region *r = realloc(regions, ncap * sizeof(*r));
		if (!r)
			fail("out of memory for the region list");
		regions = r;
		cap_regions = ncap;
	}
	regions[nregions].addr = addr;
	regions[nregions].len = len;
	nregions++;
}

static void sleep_until(double deadline)
{
	for (;;) {
		double left = deadline - now();
		if (left <= 0)
			return;
		struct timespec ts = {
			.tv_sec = (time_t)left,
			.tv_nsec = (long)((left - floor(left)) * 1e9),
		};
		if (ts.tv_nsec >= 1000000000L)
			ts.tv_nsec = 999999999L;
		nanosleep(&ts, NULL); // EINTR: loop and recompute
	}
}

static void print_meminfo(void)
{
	long total = -1, freek = -1, avail = -1, cached = 0;
	FILE *f = fopen("/proc/meminfo", "r");
	if (!f)
		fail("cannot open /proc/meminfo: %s", strerror(errno));
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		long v;
		if (sscanf(line, "MemTotal: %ld kB", &v) == 1)
			total = v;
		else if (sscanf(line, "MemFree: %ld kB", &v) == 1)
			freek = v;
		else if (sscanf(line, "MemAvailable: %ld kB", &v) == 1)
			avail = v;
		else if (sscanf(line, "Cached: %ld kB", &v) == 1 ||
			 sscanf(line, "Buffers: %ld kB", &v) == 1)
			cached += v;
	}
	fclose(f);
	if (total < 0 || freek < 0 || avail < 0)
		fail("/proc/meminfo lacks MemTotal/MemFree/MemAvailable");
	marker("meminfo total_kib=%ld free_kib=%ld available_kib=%ld cached_kib=%ld", total, freek,
	       avail, cached);
}

static void run_step(const struct step *st)
{
	switch (st->op) {
	case OP_TOUCH: {
		void *p = touch_region(st->mib, 0);
		remember(p, st->mib * MIB);
		touched_mib += st->mib;
		marker("touched mib=%lu", st->mib);
		break;
	}
	case OP_HOLD:
		sleep_until(now() + st->sec);
		marker("held sec=%g", st->sec);
		break;
	case OP_FREE: {
		/* Everything, or the last MIB MiB touched (the tail of the newest regions). */
		size_t want = st->mib ? st->mib * MIB : touched_mib * MIB, done = 0;
		while (done < want && nregions) {
			struct region *r = &regions[nregions - 1];
			size_t cut = want - done < r->len ? want - done : r->len;
			if (munmap((char *)r->addr + r->len - cut, cut))
				fail("munmap failed: %s", strerror(errno));
			r->len -= cut;
			done += cut;
			if (!r->len)
				nregions--;
		}
		touched_mib -= done / MIB;
		marker("freed mib=%lu", (unsigned long)(done / MIB));
		break;
	}
	case OP_CHURN: {
		double t0 = now(), t;
		unsigned long rounds = 0;
		do {
			void *p = touch_region(st->mib, rounds + 1);
			if (munmap(p, st->mib * MIB))
				fail("munmap failed: %s", strerror(errno));
			rounds++;
			t = now();
		} while (t - t0 < st->sec);
		double el = t - t0;
		marker("churn mib=%lu sec=%.3f rounds=%lu mib_per_s=%.1f", st->mib, el, rounds,
		       (double)rounds * (double)st->mib / el);
		break;
	}
	case OP_MEMINFO:
		print_meminfo();
		break;
	case OP_WATCH: {
		double t0 = now();
		for (unsigned long k = 0;; k++) {
			double due = t0 + (double)k * st->interval;
			if (due - t0 > st->sec + 1e-9)
				break;
			sleep_until(due);
			print_meminfo();
		}
		break;
	}
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	page_size = sysconf(_SC_PAGESIZE);
	if (page_size <= 0)
		page_size = 4096;

	// Validate every step before running any.
	struct step *steps = calloc((size_t)argc, sizeof(*steps));
	if (!steps)
		fail("out of memory");
	for (int i = 1; i < argc; i++)
		parse_step(argv[i], &steps[i - 1]);

	marker("start");
	for (int i = 1; i < argc; i++)
		run_step(&steps[i - 1]);
	marker("done");
	free(steps);
	return 0;
}
