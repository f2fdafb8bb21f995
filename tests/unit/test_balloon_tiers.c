// SPDX-License-Identifier: GPL-2.0
/*
 * Free page reporting's two tiers as the device sees them: counters by
 * block size, and the huge page advice around reported blocks smaller than
 * 2 MiB (holes.c), checked in this process's own VmFlags.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/virtio_balloon.h>
#include <linux/virtio_config.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/util.h"
#include "devices/virtio/balloon/balloon.h"
#include "tests/unit/support/fake_driver.h"

#define F(bit)	(1ull << (bit))
#define REPORTQ 2
#define KiB(x)	((uint64_t)(x) << 10)

struct fixture {
	struct fake_driver fd;
	struct balloon b;
};

static struct fixture *make(uint64_t fast_block_bytes)
{
	struct balloon_params p = {
		.reporting = true,
		.reporting_queue_size = 64,
		.fast_block_bytes = fast_block_bytes,
	};
	struct fixture *fx = calloc(1, sizeof(*fx));
	fake_init(&fx->fd);
	assert_int_equal(balloon_init(&fx->b, &p, &fx->fd.mem, &fx->fd.loop, 0xd0001000, 5), 0);
	fake_attach(&fx->fd, &fx->b.transport);
	assert_true(fake_negotiate(&fx->fd, F(VIRTIO_F_VERSION_1) | F(VIRTIO_BALLOON_F_REPORTING)) &
		    VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int i = 0; i <= REPORTQ; i++)
		assert_int_equal(fake_setup_queue(&fx->fd, i, i == REPORTQ ? 64 : 256), 1);
	fake_driver_ok(&fx->fd);
	/* As on a host with THP "always" and khugepaged's default max_ptes_none. */
	fx->fd.mem.thp_may_back = true;
	fx->fd.mem.khugepaged_max_ptes_none = 511;
	return fx;
}

static void destroy(struct fixture *fx)
{
	balloon_destroy(&fx->b);
	fake_destroy(&fx->fd);
	free(fx);
}

/* One report chain of (gpa, len) pairs, processed and completed. */
static void report(struct fixture *fx, const uint64_t (*blocks)[2], unsigned int n)
{
	struct fake_buf bufs[32];
	assert_true(n <= 32);
	for (unsigned int i = 0; i < n; i++)
		bufs[i] = (struct fake_buf){ .gpa = blocks[i][0],
					     .len = blocks[i][1],
					     .writable = true };
	uint16_t head = fake_add_chain(&fx->fd, REPORTQ, bufs, n);
	fake_kick(&fx->fd, REPORTQ);
	uint32_t id, len;
	assert_true(fake_get_used(&fx->fd, REPORTQ, &id, &len));
	assert_int_equal(id, head);
}

static void report1(struct fixture *fx, uint64_t gpa, uint64_t len)
{
	const uint64_t one[1][2] = { { gpa, len } };
	report(fx, one, 1);
}

/* An inflate of the pages [gpa, gpa + len), one chain on the inflate queue. */
static void inflate(struct fixture *fx, uint64_t gpa, uint64_t len)
{
	unsigned int n = len / 4096;
	assert_true(n > 0 && n <= 256);
	uint64_t list = fake_alloc(&fx->fd, n * sizeof(uint32_t), 4);
	uint32_t *pfns = fake_ptr(&fx->fd, list, n * sizeof(uint32_t));
	for (unsigned int i = 0; i < n; i++)
		pfns[i] = gpa / 4096 + i;
	struct fake_buf buf = { .gpa = list, .len = n * sizeof(uint32_t) };
	uint16_t head = fake_add_chain(&fx->fd, 0, &buf, 1);
	fake_kick(&fx->fd, 0);
	uint32_t id, used_len;
	assert_true(fake_get_used(&fx->fd, 0, &id, &used_len));
	assert_int_equal(id, head);
}

static uint64_t resident(struct fixture *fx, uint64_t gpa, uint64_t len)
{
	static unsigned char vec[MiB(16) / 4096];
	assert_true(len <= MiB(16));
	assert_int_equal(mincore(fake_ptr(&fx->fd, gpa, len), len, vec), 0);
	uint64_t n = 0;
	for (uint64_t i = 0; i < len / 4096; i++)
		n += vec[i] & 1;
	return n * 4096;
}

static void touch(struct fixture *fx, uint64_t gpa, uint64_t len)
{
	memset(fake_ptr(&fx->fd, gpa, len), 0x5a, len);
}

/* Whether the VMA holding guest address gpa has VmFlags flag ("nh", "hg"). */
static bool has_flag(struct fixture *fx, uint64_t gpa, const char *flag)
{
	uintptr_t addr = (uintptr_t)fake_ptr(&fx->fd, gpa, 1);
	FILE *f = fopen("/proc/self/smaps", "r");
	assert_non_null(f);
	char line[512];
	bool inside = false, found = false, seen = false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			inside = addr >= lo && addr < hi;
			continue;
		}
		if (inside && strncmp(line, "VmFlags:", 8) == 0) {
			char want[8];
			snprintf(want, sizeof(want), " %s", flag);
			for (char *p = strstr(line, want); p; p = strstr(p + 1, want))
				if (p[strlen(want)] == ' ' || p[strlen(want)] == '\n')
					found = true;
			seen = true;
		}
	}
	fclose(f);
	assert_true(seen);
	return found;
}

static void test_tiers_counted_by_block_size(void **state)
{
	struct fixture *fx = make(0);
	const uint64_t chain[][2] = {
		{ MiB(4), MiB(2) },
		{ MiB(8), MiB(4) },
		{ MiB(13), KiB(128) },
		{ MiB(14), MiB(1) },
	};
	report(fx, chain, ARRAY_SIZE(chain));
	const struct balloon_counters *c = &fx->b.counters;
	assert_int_equal(c->fast_blocks, 2);
	assert_int_equal(c->fast_bytes, MiB(6));
	assert_int_equal(c->settled_blocks, 2);
	assert_int_equal(c->settled_bytes, MiB(1) + KiB(128));
	assert_int_equal(c->fast_bytes + c->settled_bytes, c->bytes_reported);
	destroy(fx);

	/* A guest with reporting order 5: its fast tier reports 128 KiB blocks. */
	fx = make(KiB(128));
	report(fx, chain, ARRAY_SIZE(chain));
	assert_int_equal(fx->b.counters.fast_blocks, 4);
	assert_int_equal(fx->b.counters.settled_blocks, 0);
	destroy(fx);
}

/*
 * The hole [gpa, gpa + len) went back to the host, the rest of its 2 MiB
 * block stayed, and that block alone is advised MADV_NOHUGEPAGE.
 */
static void expect_guarded_hole(struct fixture *fx, uint64_t gpa, uint64_t len)
{
	uint64_t block = ALIGN_DOWN(gpa, MiB(2));
	assert_int_equal(resident(fx, gpa, len), 0);
	assert_int_equal(resident(fx, block, MiB(2)), MiB(2) - len);
	assert_true(has_flag(fx, block, "nh"));
	assert_true(has_flag(fx, block + MiB(2) - 4096, "nh"));
	assert_false(has_flag(fx, block - 4096, "nh"));
	assert_false(has_flag(fx, block + MiB(2), "nh"));
}

/*
 * The first hole in a block guards it, another one in the same block adds
 * nothing, and one in the next block guards that block. An inflate chain
 * holds 256 pages (1 MiB) at most, so its holes are all of that kind.
 */
static void check_holes_guard_blocks(void (*give_back)(struct fixture *, uint64_t, uint64_t))
{
	struct fixture *fx = make(0);
	touch(fx, MiB(14), MiB(8));
	give_back(fx, MiB(16) + KiB(512), KiB(128));
	expect_guarded_hole(fx, MiB(16) + KiB(512), KiB(128));
	assert_int_equal(fx->b.counters.thp_guards, 1);
	give_back(fx, MiB(17), KiB(256));
	assert_int_equal(fx->b.counters.thp_guards, 1);
	give_back(fx, MiB(18), MiB(1));
	assert_true(has_flag(fx, MiB(18), "nh"));
	assert_int_equal(resident(fx, MiB(18), MiB(1)), 0);
	assert_int_equal(fx->b.counters.thp_guards, 2);
	destroy(fx);
}

static void test_small_report_guards_its_block(void **state)
{
	check_holes_guard_blocks(report1);
}

static void test_small_inflate_guards_its_block(void **state)
{
	check_holes_guard_blocks(inflate);
}

static void test_whole_and_straddling_reports(void **state)
{
	struct fixture *fx = make(0);
	touch(fx, MiB(14), MiB(12));
	/* A whole block needs no advice. */
	report1(fx, MiB(20), MiB(2));
	assert_false(has_flag(fx, MiB(20), "nh"));
	assert_int_equal(fx->b.counters.thp_guards, 0);
	assert_int_equal(resident(fx, MiB(20), MiB(2)), 0);
	/* A small block across a 2 MiB line (no buddy block does that) guards both sides. */
	report1(fx, MiB(22) + MiB(1) + KiB(512), MiB(1));
	assert_true(has_flag(fx, MiB(22), "nh"));
	assert_true(has_flag(fx, MiB(24), "nh"));
	assert_int_equal(fx->b.counters.thp_guards, 2);
	assert_int_equal(fx->b.counters.thp_unguarded, 0);
	destroy(fx);
}

static void test_no_guard_without_huge_pages_or_khugepaged(void **state)
{
	struct fixture *fx = make(0);
	fx->fd.mem.thp_may_back = false;
	touch(fx, MiB(16), MiB(2));
	report1(fx, MiB(16), KiB(128));
	assert_int_equal(resident(fx, MiB(16), KiB(128)), 0);
	assert_false(has_flag(fx, MiB(16), "nh"));

	/* khugepaged skips a block with more empty entries than max_ptes_none. */
	fx->fd.mem.thp_may_back = true;
	fx->fd.mem.khugepaged_max_ptes_none = 16;
	report1(fx, MiB(16) + KiB(128), KiB(128)); /* 32 pages */
	assert_false(has_flag(fx, MiB(16), "nh"));
	report1(fx, MiB(16) + KiB(256), KiB(64)); /* 16 pages: it would fill this one */
	assert_true(has_flag(fx, MiB(16), "nh"));
	assert_int_equal(fx->b.counters.thp_guards, 1);
	assert_int_equal(fx->b.counters.settled_blocks, 3);
	destroy(fx);
}

static void test_guard_limit(void **state)
{
	struct fixture *fx = make(0);
	assert_int_equal(fx->b.holes.limit, BALLOON_GUARD_MIN); /* 32 blocks: the minimum */
	fx->b.holes.limit = 2;
	touch(fx, MiB(8), MiB(6));
	for (int i = 0; i < 3; i++)
		report1(fx, MiB(8) + MiB(2) * i, KiB(128));
	assert_true(has_flag(fx, MiB(8), "nh"));
	assert_true(has_flag(fx, MiB(10), "nh"));
	assert_false(has_flag(fx, MiB(12), "nh"));
	/* Past the limit the hole is still given back. */
	assert_int_equal(resident(fx, MiB(12), KiB(128)), 0);
	assert_int_equal(fx->b.counters.thp_guards, 2);
	assert_int_equal(fx->b.counters.thp_unguarded, 1);
	destroy(fx);

	/* The memory module refuses blocks past RAM. */
	fx = make(0);
	assert_int_equal(mem_advise_huge_block(&fx->fd.mem, FAKE_RAM_SIZE / MEM_HUGE_BLOCK, false),
			 -EFAULT);
	uint64_t off;
	assert_int_equal(mem_host_offset(&fx->fd.mem, FAKE_RAM_SIZE - 4096, 8192, &off), -EFAULT);
	assert_int_equal(mem_host_offset(&fx->fd.mem, MiB(6), 4096, &off), 0);
	assert_int_equal(off, MiB(6));
	destroy(fx);

	assert_int_equal(balloon_holes_default_limit(256), 64);	      /* 512 MiB */
	assert_int_equal(balloon_holes_default_limit(8192), 1024);    /* 16 GiB */
	assert_int_equal(balloon_holes_default_limit(1 << 20), 4096); /* 2 TiB */
}

static void test_guard_lifted_only_under_thp_advice(void **state)
{
	/* THP "always" without advice: a guarded block reported whole stays guarded. */
	struct fixture *fx = make(0);
	report1(fx, MiB(16), KiB(128));
	report1(fx, MiB(16), MiB(2));
	assert_true(has_flag(fx, MiB(16), "nh"));
	assert_int_equal(fx->b.counters.thp_guards_lifted, 0);
	destroy(fx);

	/* --thp: RAM is MADV_HUGEPAGE, and a block reported whole gets it back. */
	fx = make(0);
	fx->fd.mem.thp = MEM_THP_ADVISE;
	assert_int_equal(madvise(fake_ptr(&fx->fd, 0, MiB(48)), MiB(48), MADV_HUGEPAGE), 0);
	report1(fx, MiB(16), KiB(128));
	assert_true(has_flag(fx, MiB(16), "nh"));
	assert_false(has_flag(fx, MiB(16), "hg"));
	report1(fx, MiB(16), MiB(4)); /* a 4 MiB block over it and its neighbour */
	assert_true(has_flag(fx, MiB(16), "hg"));
	assert_false(has_flag(fx, MiB(16), "nh"));
	assert_int_equal(fx->b.counters.thp_guards_lifted, 1);
	assert_int_equal(fx->b.holes.nr_guarded, 0);
	/* And it can be guarded again. */
	report1(fx, MiB(16) + KiB(128), KiB(128));
	assert_true(has_flag(fx, MiB(16), "nh"));
	assert_int_equal(fx->b.counters.thp_guards, 2);
	destroy(fx);
}

/* hugetlbfs: a settled block is finer than the backing page; skipped, not a bad descriptor. */
static void test_small_block_finer_than_backing_page(void **state)
{
	struct fixture *fx = make(0);
	fx->fd.mem.page_size = MEM_HUGE_BLOCK; /* as mem_init sets it for hugetlbfs */
	touch(fx, MiB(16), MiB(2));
	report1(fx, MiB(16) + KiB(128), KiB(128));
	assert_int_equal(fx->b.counters.bad_descriptors, 0);
	assert_int_equal(fx->b.counters.bytes_skipped, KiB(128));
	assert_int_equal(fx->b.counters.bytes_discarded, 0);
	assert_int_equal(resident(fx, MiB(16), MiB(2)), MiB(2));
	/* A block that is not even whole guest pages is still bad. */
	report1(fx, MiB(16) + 512, KiB(128));
	assert_int_equal(fx->b.counters.bad_descriptors, 1);
	destroy(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tiers_counted_by_block_size),
		cmocka_unit_test(test_small_report_guards_its_block),
		cmocka_unit_test(test_small_inflate_guards_its_block),
		cmocka_unit_test(test_whole_and_straddling_reports),
		cmocka_unit_test(test_no_guard_without_huge_pages_or_khugepaged),
		cmocka_unit_test(test_guard_limit),
		cmocka_unit_test(test_guard_lifted_only_under_thp_advice),
		cmocka_unit_test(test_small_block_finer_than_backing_page),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
