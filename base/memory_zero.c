// SPDX-License-Identifier: GPL-2.0
/*
 * Zero pages of guest RAM (memory.h). A page counts when pagemap says it is
 * present and mapped only here: that leaves out the host's shared zero page,
 * which a read of a discarded page maps, and pages KSM merged, so a sweep
 * never discards what costs nothing.
 */
#include "base/memory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

#define PAGE		  4096ull
#define PM_PRESENT	  (1ull << 63)
#define PM_FILE_OR_SHARED (1ull << 61)
#define PM_EXCLUSIVE	  (1ull << 56)
#define PM_BATCH	  ARRAY_SIZE(((struct mem_zero_sweep *)0)->pm)
#define BITS		  64

static size_t marks_bytes(const struct mem_zero_sweep *z)
{
	return (z->nr_pages + BITS - 1) / BITS * sizeof(uint64_t);
}

int mem_zero_sweep_init(struct mem_zero_sweep *z, const struct guest_memory *mem)
{
	memset(z, 0, sizeof(*z));
	if (mem->backing != MEM_BACKING_ANON || mem->thp_may_back || mem->pagemap_fd < 0)
		return -ENOTSUP;
	z->nr_pages = mem->mapping_size / PAGE;
	z->marks = calloc(1, marks_bytes(z));
	return z->marks ? 0 : -ENOMEM;
}

void mem_zero_sweep_destroy(struct mem_zero_sweep *z)
{
	free(z->marks);
	z->marks = NULL;
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	for (size_t i = 0; i < PAGE / sizeof(*w); i += 8) {
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] |
		    w[i + 7])
			return false;
	}
	return true;
}

/* Reads the pagemap entries of n pages from page first into z->pm. */
static int read_pagemap(struct mem_zero_sweep *z, const struct guest_memory *mem, uint64_t first,
			uint64_t n)
{
	uint64_t vpage = (uintptr_t)mem->base / PAGE + first;
	ssize_t got = pread(mem->pagemap_fd, z->pm, n * sizeof(uint64_t),
			    (off_t)(vpage * sizeof(uint64_t)));
	if (got < 0)
		return -errno;
	return got == (ssize_t)(n * sizeof(uint64_t)) ? 0 : -EIO;
}

static bool own_resident(uint64_t pm)
{
	return (pm & (PM_PRESENT | PM_FILE_OR_SHARED | PM_EXCLUSIVE)) ==
	       (PM_PRESENT | PM_EXCLUSIVE);
}

static bool marked(const struct mem_zero_sweep *z, uint64_t page)
{
	return z->marks[page / BITS] & (1ull << (page % BITS));
}

bool mem_zero_scan(struct mem_zero_sweep *z, const struct guest_memory *mem, uint64_t max_pages)
{
	uint64_t end = MIN(z->nr_pages, z->cursor + max_pages);
	while (z->cursor < end) {
		uint64_t first = z->cursor, n = MIN((uint64_t)PM_BATCH, end - first);
		z->cursor += n;
		if (read_pagemap(z, mem, first, n) < 0)
			continue;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t page = first + i;
			if (!own_resident(z->pm[i]) || marked(z, page) ||
			    !page_is_zero(mem->base + page * PAGE))
				continue;
			z->marks[page / BITS] |= 1ull << (page % BITS);
			z->marked++;
		}
	}
	if (z->cursor < z->nr_pages)
		return false;
	z->cursor = 0;
	return true;
}

/*
 * Discards n pages from first, which are all still zero and own, a region
 * at a time: adjacent in the mapping, regions may be apart in guest RAM.
 */
static int64_t discard_run(struct guest_memory *mem, uint64_t first, uint64_t n)
{
	int64_t freed = 0;
	while (n) {
		uint64_t off = first * PAGE, len = 0, gpa = 0;
		for (unsigned int i = 0; i < mem->nr_regions; i++) {
			const struct mem_region *r = &mem->regions[i];
			if (off >= r->offset && off < r->offset + r->size) {
				gpa = r->gpa + (off - r->offset);
				len = MIN(n * PAGE, r->offset + r->size - off);
			}
		}
		if (!len)
			return freed;
		/* A range mapped from a file reads back as the file's, not as zeros. */
		if (mem_discard_zeroes(mem, gpa, len)) {
			int64_t d = mem_discard(mem, gpa, len);
			if (d < 0)
				return d;
			freed += d;
		}
		first += len / PAGE;
		n -= len / PAGE;
	}
	return freed;
}

int64_t mem_zero_discard(struct mem_zero_sweep *z, struct guest_memory *mem, uint64_t max_pages)
{
	int64_t freed = 0;
	uint64_t looked = 0;
	while (z->marked && looked < max_pages && z->cursor < z->nr_pages) {
		uint64_t rest = z->marks[z->cursor / BITS] >> (z->cursor % BITS);
		if (!(rest & 1)) {
			z->cursor = rest ? z->cursor + (uint64_t)__builtin_ctzll(rest)
					 : ALIGN_DOWN(z->cursor, BITS) + BITS;
			continue;
		}
		/* A run of marks, at most a pagemap batch. */
		uint64_t first = z->cursor, n = 0;
		uint64_t limit =
			MIN(MIN((uint64_t)PM_BATCH, max_pages - looked), z->nr_pages - first);
		while (n < limit && marked(z, first + n))
			n++;
		int err = read_pagemap(z, mem, first, n);
		uint64_t run = 0;
		for (uint64_t i = 0; i <= n; i++) {
			if (i < n && !err && own_resident(z->pm[i]) &&
			    page_is_zero(mem->base + (first + i) * PAGE)) {
				run++;
				continue;
			}
			int64_t d = run ? discard_run(mem, first + i - run, run) : 0;
			if (d < 0)
				return d;
			freed += d;
			run = 0;
		}
		for (uint64_t i = 0; i < n; i++)
			z->marks[(first + i) / BITS] &= ~(1ull << ((first + i) % BITS));
		z->marked -= n;
		z->cursor = first + n;
		looked += n;
	}
	if (z->cursor >= z->nr_pages || !z->marked) {
		/* Every mark is behind the cursor by now, and cleared. */
		z->cursor = 0;
		z->marked = 0;
	}
	return freed;
}

void mem_zero_forget(struct mem_zero_sweep *z)
{
	if (z->marks)
		memset(z->marks, 0, marks_bytes(z));
	z->marked = 0;
	z->cursor = 0;
}
