// SPDX-License-Identifier: GPL-2.0
/*
 * zero-pages PID START END: of [START, END) (hex or decimal addresses) in
 * PID's address space, how many KiB are resident and PID's own (pagemap:
 * present, mapped only there, not a file's), and how many of those hold
 * only zeros. Prints "own_kib zero_kib". Needs root (or ptrace rights) for
 * /proc/PID/mem. For e2e 20 and tools/repro/idle-footprint.sh: what ebb's
 * zero-page sweep leaves, and what it would find.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE  4096ull
#define BATCH 512

static int open_proc(const char *pid, const char *what)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%s/%s", pid, what);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "zero-pages: %s: %s\n", path, strerror(errno));
	return fd;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: zero-pages PID START END\n");
		return 2;
	}
	uint64_t start = strtoull(argv[2], NULL, 0) / PAGE, end = strtoull(argv[3], NULL, 0) / PAGE;
	int pm = open_proc(argv[1], "pagemap"), mem = open_proc(argv[1], "mem");
	if (pm < 0 || mem < 0)
		return 1;
	uint64_t own = 0, zero = 0, entries[BATCH];
	static uint8_t page[PAGE], zeros[PAGE];
	for (uint64_t first = start; first < end; first += BATCH) {
		uint64_t n = end - first < BATCH ? end - first : BATCH;
		if (pread(pm, entries, n * 8, (off_t)(first * 8)) != (ssize_t)(n * 8)) {
			fprintf(stderr, "zero-pages: pagemap at page 0x%llx: short read\n",
				(unsigned long long)first);
			return 1;
		}
		for (uint64_t i = 0; i < n; i++) {
			/* present (63), not a file's or shared (61), exclusively mapped (56) */
			if ((entries[i] >> 56 & 0xa1) != 0x81)
				continue;
			own++;
			if (pread(mem, page, PAGE, (off_t)((first + i) * PAGE)) != (ssize_t)PAGE)
				continue;
			zero += memcmp(page, zeros, PAGE) == 0;
		}
	}
	printf("%llu %llu\n", (unsigned long long)(own * 4), (unsigned long long)(zero * 4));
	return 0;
}
