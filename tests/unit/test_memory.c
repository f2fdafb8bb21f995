// SPDX-License-Identifier: GPL-2.0
/* vmm/memory: bounds checks, and discards that really give pages back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/memory.h"
#include "base/util.h"

static void two_regions(struct guest_memory *mem, enum mem_backing backing)
{
	const struct mem_region layout[] = {
		{ .gpa = 0, .size = MiB(8) },
		{ .gpa = MiB(16), .size = MiB(8) },
	};
	assert_int_equal(mem_init(mem, backing, MEM_THP_SYSTEM, layout, 2), 0);
}

static void test_translation_bounds(void **state)
{
	struct guest_memory mem;
	two_regions(&mem, MEM_BACKING_ANON);

	assert_non_null(mem_gpa_to_hva(&mem, 0, MiB(8)));
	assert_non_null(mem_gpa_to_hva(&mem, MiB(16), MiB(8)));
	assert_ptr_equal(mem_gpa_to_hva(&mem, MiB(16), 1), mem.base + MiB(8));
	/* The gap, ranges that straddle a region end, and past the end. */
	assert_null(mem_gpa_to_hva(&mem, MiB(8), 1));
	assert_null(mem_gpa_to_hva(&mem, MiB(8) - 1, 2));
	assert_null(mem_gpa_to_hva(&mem, MiB(12), 1));
	assert_null(mem_gpa_to_hva(&mem, MiB(24), 1));
	assert_null(mem_gpa_to_hva(&mem, MiB(16), MiB(8) + 1));
	/* Overflow of gpa + len must not wrap into RAM. */
	assert_null(mem_gpa_to_hva(&mem, UINT64_MAX - 10, 20));
	assert_null(mem_gpa_to_hva(&mem, 4096, UINT64_MAX));

	uint32_t v = 0x12345678, r = 0;
	assert_int_equal(mem_write(&mem, 4096, &v, sizeof(v)), 0);
	assert_int_equal(mem_read(&mem, 4096, &r, sizeof(r)), 0);
	assert_int_equal(r, v);
	assert_int_equal(mem_read(&mem, MiB(8) - 2, &r, sizeof(r)), -EFAULT);
	mem_destroy(&mem);
}

static void test_rejects_bad_layout(void **state)
{
	struct guest_memory mem;
	const struct mem_region unaligned[] = { { .gpa = 0, .size = 4097 } };
	assert_int_equal(mem_init(&mem, MEM_BACKING_ANON, MEM_THP_SYSTEM, unaligned, 1), -EINVAL);
	const struct mem_region overlap[] = { { .gpa = 0, .size = MiB(4) },
					      { .gpa = MiB(2), .size = MiB(4) } };
	assert_int_equal(mem_init(&mem, MEM_BACKING_ANON, MEM_THP_SYSTEM, overlap, 2), -EINVAL);
	const struct mem_region hugetlb_unaligned[] = { { .gpa = 0, .size = MiB(3) } };
	assert_int_equal(mem_init(&mem, MEM_BACKING_HUGETLBFS, MEM_THP_SYSTEM, hugetlb_unaligned, 1),
			 -EINVAL);
}

/* The VmFlags line of the mapping that starts at p, from /proc/self/smaps. */
static void vm_flags_of(const void *p, char *flags, size_t size)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	assert_non_null(f);
	char line[512];
	bool in_mapping = false;
	flags[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in_mapping = start == (unsigned long)p;
		} else if (in_mapping && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(flags, size, "%.200s", line + 8);
			break;
		}
	}
	fclose(f);
	assert_true(flags[0] != '\0');
}

/* The advice really reaches the kernel: VmFlags "hg" (MADV_HUGEPAGE) or "nh". */
static void test_thp_advice(void **state)
{
	static const struct {
		enum mem_thp thp;
		const char *want, *not_want;
	} cases[] = {
		{ MEM_THP_ADVISE, " hg", " nh" },
		{ MEM_THP_NEVER, " nh", " hg" },
		{ MEM_THP_SYSTEM, NULL, NULL },
	};
	const struct mem_region layout[] = { { .gpa = 0, .size = MiB(4) } };
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct guest_memory mem;
		char flags[256];
		assert_int_equal(mem_init(&mem, MEM_BACKING_ANON, cases[i].thp, layout, 1), 0);
		vm_flags_of(mem.base, flags, sizeof(flags));
		if (cases[i].want) {
			assert_non_null(strstr(flags, cases[i].want));
			assert_null(strstr(flags, cases[i].not_want));
		} else {
			assert_null(strstr(flags, " hg"));
			assert_null(strstr(flags, " nh"));
		}
		mem_destroy(&mem);
	}
}

static uint64_t resident_pages(uint8_t *p, uint64_t len)
{
	static unsigned char vec[MiB(64) / 4096];
	assert_true(len <= MiB(64));
	assert_int_equal(mincore(p, len, vec), 0);
	uint64_t n = 0;
	for (uint64_t i = 0; i < len / 4096; i++)
		n += vec[i] & 1;
	return n;
}

static void test_discard_anon_drops_rss(void **state)
{
	struct guest_memory mem;
	two_regions(&mem, MEM_BACKING_ANON);
	uint8_t *p = mem_gpa_to_hva(&mem, MiB(16), MiB(8));
	memset(p, 0xab, MiB(8));
	assert_int_equal(resident_pages(p, MiB(8)), MiB(8) / 4096);

	assert_int_equal(mem_discard(&mem, MiB(16), MiB(4)), (int64_t)MiB(4));
	assert_int_equal(resident_pages(p, MiB(8)), MiB(4) / 4096);
	/* Discarded private memory reads back as zeroes. */
	assert_int_equal(p[0], 0);
	assert_int_equal(p[MiB(4)], 0xab);
	assert_int_equal(mem.discard_stats.bytes_discarded, MiB(4));
	mem_destroy(&mem);
}

/*
 * Whether the 4 KiB page at p is part of a transparent huge page, from its
 * frame's flags (needs root); -1 when that cannot be read.
 */
static int page_is_thp(const void *p)
{
	uint64_t entry, flags;
	int pagemap = open("/proc/self/pagemap", O_RDONLY);
	int kpageflags = open("/proc/kpageflags", O_RDONLY);
	int ret = -1;
	if (pagemap >= 0 && kpageflags >= 0 &&
	    pread(pagemap, &entry, sizeof(entry), (uintptr_t)p / 4096 * sizeof(entry)) ==
		    sizeof(entry) &&
	    (entry & (1ull << 63)) && (entry & ((1ull << 55) - 1)) &&
	    pread(kpageflags, &flags, sizeof(flags),
		  (entry & ((1ull << 55) - 1)) * sizeof(flags)) == sizeof(flags))
		ret = !!(flags & (1ull << 22)); /* KPF_THP */
	if (pagemap >= 0)
		close(pagemap);
	if (kpageflags >= 0)
		close(kpageflags);
	return ret;
}

/*
 * A discard of part of a huge page frees its hole: the huge page is split
 * (its untouched neighbour is no longer part of one). A bare MADV_DONTNEED
 * of the same part, the negative control, leaves the huge page whole and
 * allocated until the host's deferred split.
 */
static void test_discard_splits_partial_huge_page(void **state)
{
	struct guest_memory mem;
	const struct mem_region layout[] = { { .gpa = 0, .size = MiB(8) } };
	assert_int_equal(mem_init(&mem, MEM_BACKING_ANON, MEM_THP_ADVISE, layout, 1), 0);
	memset(mem.base, 0x5a, MiB(8));
	uint8_t *ours = mem.base + MiB(2), *control = mem.base + MiB(4);
	if (!mem.thp_may_back || page_is_thp(ours) != 1 || page_is_thp(control) != 1) {
		mem_destroy(&mem);
		skip(); /* THP off on this host, none free, or not root */
	}
	assert_int_equal(mem_discard(&mem, MiB(2) + 512 * 1024, 64 * 1024), 64 * 1024);
	assert_int_equal(mem.discard_stats.thp_split_requests, 1);
	assert_int_equal(page_is_thp(ours), 0);
	assert_int_equal(ours[512 * 1024], 0);
	assert_int_equal(ours[0], 0x5a);

	assert_int_equal(madvise(control + 512 * 1024, 64 * 1024, MADV_DONTNEED), 0);
	assert_int_equal(page_is_thp(control), 1);

	/* Whole blocks need no split. */
	assert_int_equal(mem_discard(&mem, MiB(6), MiB(2)), (int64_t)MiB(2));
	assert_int_equal(mem.discard_stats.thp_split_requests, 1);
	mem_destroy(&mem);
}

/* This process's page tables, KiB (VmPTE). */
static long page_table_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	assert_non_null(f);
	char line[256];
	long kib = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPTE: %ld kB", &kib) == 1)
			break;
	fclose(f);
	assert_true(kib >= 0);
	return kib;
}

/* The size of the mapping that starts at p, from /proc/self/maps; 0 if none. */
static uint64_t mapping_size_at(const void *p)
{
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	char line[512];
	uint64_t size = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && start == (unsigned long)p)
			size = end - start;
	}
	fclose(f);
	return size;
}

/*
 * A discard frees the page tables of the whole 2 MiB blocks it covers, and
 * guest RAM stays one mapping with its advice; its partly covered edges are
 * advised. Under Linux 6.1 (the lab's) a bare MADV_DONTNEED, the negative
 * control, frees none, so mem_init has discards map blocks afresh; a kernel
 * whose MADV_DONTNEED frees them (CONFIG_PT_RECLAIM) needs no fresh mapping,
 * and mem_init turns it off. It is turned on here to test it on any kernel.
 */
static void test_discard_frees_page_tables(void **state)
{
	struct guest_memory mem;
	const struct mem_region layout[] = { { .gpa = 0, .size = MiB(128) } };
	assert_int_equal(mem_init(&mem, MEM_BACKING_ANON, MEM_THP_NEVER, layout, 1), 0);
	uint8_t *p = mem.base;
	memset(p, 0x3c, MiB(128));
	long touched = page_table_kib();

	assert_int_equal(madvise(p + MiB(64), MiB(64), MADV_DONTNEED), 0);
	long control = page_table_kib();
	if (mem.remap_discards)
		assert_true(touched - control < 16);
	else
		assert_true(touched - control >= 32 * 4 - 8);

	/* 4 KiB in from each end: blocks 1 to 30 are whole, 30 page tables of 4 KiB. */
	mem.remap_discards = true;
	assert_int_equal(mem_discard(&mem, 4096, MiB(64) - 8192), (int64_t)(MiB(64) - 8192));
	assert_true(control - page_table_kib() >= 30 * 4 - 8);
	assert_int_equal(mem.discard_stats.blocks_remapped, 30);
	assert_true(mem.remap_discards);
	assert_int_equal(resident_pages(p, MiB(64)), 2);
	assert_int_equal(p[0], 0x3c);
	assert_int_equal(p[4096], 0);
	assert_int_equal(p[MiB(32)], 0);
	assert_int_equal(p[MiB(64) - 4096], 0x3c);
	p[MiB(32)] = 1;

	char flags[256];
	assert_int_equal(mapping_size_at(p), MiB(128));
	vm_flags_of(p, flags, sizeof(flags));
	assert_non_null(strstr(flags, " nh"));
	assert_non_null(strstr(flags, " dd"));
	mem_destroy(&mem);
}

static void test_discard_memfd_frees_blocks(void **state)
{
	struct guest_memory mem;
	two_regions(&mem, MEM_BACKING_MEMFD);
	uint8_t *p = mem_gpa_to_hva(&mem, 0, MiB(8));
	memset(p, 0xcd, MiB(8));
	uint64_t before = mem_resident_bytes(&mem);
	assert_true(before >= MiB(8));

	assert_int_equal(mem_discard(&mem, 0, MiB(8)), (int64_t)MiB(8));
	uint64_t after = mem_resident_bytes(&mem);
	assert_true(after <= before - MiB(8));
	/* The mapping is shared: a discarded page reads back zero from the file. */
	assert_int_equal(p[4096], 0);
	mem_destroy(&mem);
}

static void test_discard_clips_inward(void **state)
{
	struct guest_memory mem;
	two_regions(&mem, MEM_BACKING_ANON);
	uint8_t *p = mem_gpa_to_hva(&mem, 0, MiB(1));
	memset(p, 0x11, MiB(1));

	/* [100, 3*4096 + 100) covers only pages 1 and 2 completely. */
	assert_int_equal(mem_discard(&mem, 100, 3 * 4096), 2 * 4096);
	assert_int_equal(p[0], 0x11);
	assert_int_equal(p[4096], 0);
	assert_int_equal(p[2 * 4096], 0);
	assert_int_equal(p[3 * 4096], 0x11);
	/* Less than a page: nothing is discarded, nothing widened. */
	assert_int_equal(mem_discard(&mem, 5 * 4096 + 1, 4096), 0);
	assert_int_equal(p[5 * 4096], 0x11);
	assert_int_equal(p[6 * 4096], 0x11);
	/* Outside RAM is refused. */
	assert_int_equal(mem_discard(&mem, MiB(9), 4096), -EFAULT);
	assert_int_equal(mem_discard(&mem, MiB(8) - 4096, 8192), -EFAULT);
	mem_destroy(&mem);
}

static void test_discardable_checks(void **state)
{
	struct guest_memory mem;
	two_regions(&mem, MEM_BACKING_ANON);
	assert_true(mem_range_is_discardable(&mem, MiB(2), MiB(2)));
	assert_false(mem_range_is_discardable(&mem, MiB(2) + 1, MiB(2)));
	assert_false(mem_range_is_discardable(&mem, MiB(2), 100));
	assert_false(mem_range_is_discardable(&mem, MiB(8), 4096));
	assert_false(mem_range_is_discardable(&mem, 0, 0));
	mem_destroy(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_translation_bounds),
		cmocka_unit_test(test_rejects_bad_layout),
		cmocka_unit_test(test_thp_advice),
		cmocka_unit_test(test_discard_anon_drops_rss),
		cmocka_unit_test(test_discard_splits_partial_huge_page),
		cmocka_unit_test(test_discard_frees_page_tables),
		cmocka_unit_test(test_discard_memfd_frees_blocks),
		cmocka_unit_test(test_discard_clips_inward),
		cmocka_unit_test(test_discardable_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
