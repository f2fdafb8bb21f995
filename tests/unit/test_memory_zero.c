// SPDX-License-Identifier: GPL-2.0
/* base/memory_zero: zero pages found while the guest runs, given back only if still zero. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/memory.h"
#include "base/util.h"

#define PAGE 4096ull

static void two_regions(struct guest_memory *mem, enum mem_backing backing)
{
	const struct mem_region layout[] = {
		{ .gpa = 0, .size = MiB(8) },
		{ .gpa = MiB(16), .size = MiB(8) },
	};
	assert_int_equal(mem_init(mem, backing, MEM_THP_NEVER, layout, 2), 0);
}

static bool resident(const struct guest_memory *mem, uint64_t page)
{
	unsigned char v = 0;
	assert_int_equal(mincore(mem->base + page * PAGE, PAGE, &v), 0);
	return v & 1;
}

static bool maps_own_page(const struct guest_memory *mem, uint64_t page)
{
	uint64_t e = 0;
	off_t at = (off_t)(((uintptr_t)mem->base / PAGE + page) * sizeof(e));
	assert_int_equal(pread(mem->pagemap_fd, &e, sizeof(e), at), sizeof(e));
	return (e >> 56 & 1) && (e >> 63 & 1);
}

static void fill(struct guest_memory *mem, uint64_t first, uint64_t n, int byte)
{
	memset(mem->base + first * PAGE, byte, n * PAGE);
}

/* Scans all of RAM, a slice per call as the event loop does; returns the calls. */
static unsigned int scan_all(struct mem_zero_sweep *z, const struct guest_memory *mem)
{
	unsigned int calls = 1;
	while (!mem_zero_scan(z, mem, 1000))
		calls++;
	return calls;
}

static void test_zero_pages_found_and_given_back(void **state)
{
	(void)state;
	struct guest_memory mem;
	struct mem_zero_sweep z;
	two_regions(&mem, MEM_BACKING_ANON);
	assert_int_equal(mem_zero_sweep_init(&z, &mem), 0);
	const uint64_t region_end = MiB(8) / PAGE;

	fill(&mem, 3, 1, 0x5a);		  /* data: stays */
	fill(&mem, 10, 10, 0);		  /* written zeros: go */
	fill(&mem, region_end - 2, 4, 0); /* a run across the regions' seam: goes */
	fill(&mem, 30, 1, 0);		  /* zero at the scan, written before the discard */
	fill(&mem, 40, 1, 0);
	mem.base[40 * PAGE + PAGE - 1] = 1; /* zero but for its last byte: stays */

	assert_true(scan_all(&z, &mem) > 1);
	assert_int_equal(z.marked, 10 + 4 + 1);

	mem.base[30 * PAGE + 100] = 7;
	int64_t freed = 0;
	unsigned int calls = 0;
	while (z.marked) {
		int64_t d = mem_zero_discard(&z, &mem, 4);
		assert_true(d >= 0);
		freed += d;
		calls++;
	}
	assert_true(calls >= 4);
	assert_int_equal(freed, (10 + 4) * PAGE);
	assert_int_equal(mem.discard_stats.bytes_discarded, (10 + 4) * PAGE);
	for (uint64_t p = 10; p < 20; p++)
		assert_false(resident(&mem, p));
	for (uint64_t p = region_end - 2; p < region_end + 2; p++)
		assert_false(resident(&mem, p));
	assert_true(resident(&mem, 3));
	assert_int_equal(mem.base[3 * PAGE + 17], 0x5a);
	assert_true(resident(&mem, 30));
	assert_int_equal(mem.base[30 * PAGE + 100], 7);
	assert_true(resident(&mem, 40));
	assert_int_equal(mem.base[40 * PAGE + PAGE - 1], 1);

	scan_all(&z, &mem);
	assert_int_equal(z.marked, 0);
	/*
	 * Read back, a page is the host's shared zero page, which a sweep
	 * leaves alone; a host that maps none gives a private page, which counts.
	 */
	assert_int_equal(mem.base[12 * PAGE], 0);
	scan_all(&z, &mem);
	assert_int_equal(z.marked, maps_own_page(&mem, 12) ? 1 : 0);
	mem_zero_discard(&z, &mem, 100);

	mem_zero_sweep_destroy(&z);
	mem_destroy(&mem);
}

/* A sweep given up half-way (the guest's RAM grew) leaves nothing behind. */
static void test_zero_sweep_forgotten(void **state)
{
	(void)state;
	struct guest_memory mem;
	struct mem_zero_sweep z;
	two_regions(&mem, MEM_BACKING_ANON);
	assert_int_equal(mem_zero_sweep_init(&z, &mem), 0);
	fill(&mem, 5, 3, 0);
	fill(&mem, MiB(12) / PAGE, 2, 0);
	assert_false(mem_zero_scan(&z, &mem, 1000));
	assert_int_equal(z.marked, 3);
	uint64_t resident_before = mem_resident_bytes(&mem);
	assert_true(resident_before >= 5 * PAGE);

	mem_zero_forget(&z);
	assert_int_equal(z.marked, 0);
	assert_int_equal(mem_zero_discard(&z, &mem, 100), 0);
	assert_true(resident(&mem, 5));
	assert_int_equal(mem_resident_bytes(&mem), resident_before);
	/* The next sweep starts from the beginning and finds all of them. */
	scan_all(&z, &mem);
	assert_int_equal(z.marked, 5);
	assert_int_equal(mem_zero_discard(&z, &mem, 100), 5 * PAGE);
	assert_int_equal(mem_resident_bytes(&mem), resident_before - 5 * PAGE);

	mem_zero_sweep_destroy(&z);
	mem_destroy(&mem);
}

static void test_zero_sweep_needs_private_ram(void **state)
{
	(void)state;
	struct guest_memory mem;
	struct mem_zero_sweep z;
	two_regions(&mem, MEM_BACKING_MEMFD);
	/* A hole punched in shared memory is filled again by the next read. */
	assert_int_equal(mem_zero_sweep_init(&z, &mem), -ENOTSUP);
	mem_zero_sweep_destroy(&z);
	mem_destroy(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_pages_found_and_given_back),
		cmocka_unit_test(test_zero_sweep_forgotten),
		cmocka_unit_test(test_zero_sweep_needs_private_ram),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
