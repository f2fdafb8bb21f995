// SPDX-License-Identifier: GPL-2.0
/*
 * Guest RAM from a snapshot's memory file (base/memory.c, mem_init_file) and
 * dirty-page tracking (base/memory_dirty.c). The file is a memfd, which is
 * tmpfs: there a hole mapped from the file would get a page of zeros
 * allocated in the file on first touch; ebb maps holes as anonymous memory,
 * so touching them leaves the file as it was. A discard gives a page of the
 * file back its file content, a page of a hole back zeros. Tracking: KVM's
 * bits (a fake source here) and the VMM's own writes land in the dirty
 * bitmap; hinted pages count as clean until written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/memory.h"

#define PAGE 4096ull
#define SIZE (8ull << 20)

static uint64_t blocks(int fd)
{
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

/* An 8 MiB file: pages 0-3 hold 'A', pages 1024-1027 hold 'B', the rest is holes. */
static int make_file(void)
{
	int fd = memfd_create("snapshot-test", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, SIZE), 0);
	uint8_t buf[4 * PAGE];
	memset(buf, 'A', sizeof(buf));
	assert_int_equal(pwrite(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	memset(buf, 'B', sizeof(buf));
	assert_int_equal(pwrite(fd, buf, sizeof(buf), 1024 * PAGE), (ssize_t)sizeof(buf));
	return fd;
}

static void test_holes_stay_holes(void **state)
{
	int fd = make_file(), probe = dup(fd);
	struct guest_memory mem;
	struct mem_region layout[] = { { .gpa = 0, .size = SIZE } };
	uint64_t before = blocks(probe);
	assert_int_equal(mem_init_file(&mem, fd, layout, 1), 0);
	assert_int_equal(mem.backing, MEM_BACKING_FILE);
	assert_false(mem_discard_zeroes(&mem, 0, PAGE));

	uint8_t *p = mem_gpa_to_hva(&mem, 0, SIZE);
	assert_non_null(p);
	assert_int_equal(p[0], 'A');
	assert_int_equal(p[4 * PAGE - 1], 'A');
	assert_int_equal(p[1024 * PAGE + 5], 'B');
	/* Read and write holes: zeros, and nothing allocated in the file. */
	assert_int_equal(p[100 * PAGE], 0);
	memset(p + 200 * PAGE, 0x5a, 64 * PAGE);
	/* Write over data: private, the file keeps its own. */
	p[1] = 'x';
	assert_int_equal(blocks(probe), before);
	uint8_t c;
	assert_int_equal(pread(probe, &c, 1, 1), 1);
	assert_int_equal(c, 'A');

	/* A discard: data pages come back as the file's, hole pages as zeros. */
	assert_true(mem_discard(&mem, 0, PAGE) == (int64_t)PAGE);
	assert_int_equal(p[1], 'A');
	assert_true(mem_discard(&mem, 200 * PAGE, 64 * PAGE) == (int64_t)(64 * PAGE));
	assert_int_equal(p[200 * PAGE], 0);
	assert_int_equal(p[263 * PAGE + 17], 0);
	assert_int_equal(blocks(probe), before);
	mem_destroy(&mem);
	close(probe);
}

static void test_wrong_size_refused(void **state)
{
	struct guest_memory mem;
	struct mem_region layout[] = { { .gpa = 0, .size = SIZE / 2 } };
	assert_int_equal(mem_init_file(&mem, make_file(), layout, 1), -ERANGE);
	mem_destroy(&mem);
}

/* ---- tracking ---- */

struct fake_kvm {
	bool enabled;
	uint64_t pending[SIZE / PAGE / 64]; /* pages KVM saw written, for region 0 */
};

static int fake_enable(void *opaque)
{
	((struct fake_kvm *)opaque)->enabled = true;
	return 0;
}

static int fake_collect(void *opaque, unsigned int region, uint64_t *bits)
{
	struct fake_kvm *k = opaque;
	for (size_t i = 0; i < sizeof(k->pending) / sizeof(k->pending[0]); i++)
		bits[i] |= k->pending[i];
	memset(k->pending, 0, sizeof(k->pending));
	return 0;
}

static void guest_writes(struct fake_kvm *k, uint64_t page)
{
	k->pending[page / 64] |= 1ull << (page % 64);
}

static void test_tracking(void **state)
{
	struct guest_memory mem;
	struct mem_region layout[] = { { .gpa = 0, .size = SIZE } };
	struct fake_kvm kvm = { 0 };
	struct mem_dirty_source src = { fake_enable, fake_collect, &kvm };
	assert_int_equal(mem_init(&mem, MEM_BACKING_ANON, MEM_THP_NEVER, layout, 1), 0);
	assert_int_equal(mem_track_start(&mem), -ENOTSUP); /* no source yet */
	mem_mark_dirty(&mem, 0, PAGE);			   /* not tracking: nothing */
	mem_set_dirty_source(&mem, &src);
	assert_int_equal(mem_track_start(&mem), 0);
	assert_true(kvm.enabled);
	assert_true(mem_tracking(&mem));

	guest_writes(&kvm, 7);
	mem_mark_dirty(&mem, 10 * PAGE + 100, 2 * PAGE); /* pages 10, 11, 12 */
	mem_mark_dirty(&mem, SIZE - 1, 2);		 /* not RAM: ignored */
	assert_false(mem_page_dirty(&mem, 7));		 /* not synced yet */
	assert_int_equal(mem_dirty_sync(&mem), 0);
	for (uint64_t p = 0; p < SIZE / PAGE; p++)
		assert_int_equal(mem_page_dirty(&mem, p), p == 7 || (p >= 10 && p <= 12));
	mem_dirty_reset(&mem);
	assert_false(mem_page_dirty(&mem, 7));

	/* Host buffers: only the first len bytes count, and only inside the mapping. */
	uint8_t outside[64];
	struct iovec iov[] = { { mem.base + 20 * PAGE + 10, 100 },
			       { outside, sizeof(outside) },
			       { mem.base + 22 * PAGE, PAGE + 1 },
			       { mem.base + 25 * PAGE, PAGE } };
	mem_mark_dirty_iov(&mem, iov, 4, 100 + sizeof(outside) + PAGE + 1);
	assert_int_equal(mem_dirty_sync(&mem), 0);
	for (uint64_t p = 0; p < SIZE / PAGE; p++)
		assert_int_equal(mem_page_dirty(&mem, p), p == 20 || p == 22 || p == 23);
	mem_dirty_reset(&mem);

	/* A range over whole bitmap words and into parts of two more: pages 60-257. */
	mem_mark_dirty(&mem, 60 * PAGE + 8, 198 * PAGE - 16);
	assert_int_equal(mem_dirty_sync(&mem), 0);
	for (uint64_t p = 0; p < SIZE / PAGE; p++)
		assert_int_equal(mem_page_dirty(&mem, p), p >= 60 && p <= 257);
	mem_dirty_reset(&mem);

	/* Hinting: whole pages only, clean until written. */
	guest_writes(&kvm, 40);
	assert_int_equal(mem_hint_begin(&mem), 0);
	assert_true(mem_page_dirty(&mem, 40));	      /* written before the run: dirty for a Diff */
	mem_hint_add(&mem, 32 * PAGE + 1, 16 * PAGE); /* pages 33-47 whole, 32 and 48 partial */
	assert_false(mem_page_hinted_clean(&mem, 32));
	assert_true(mem_page_hinted_clean(&mem, 33));
	assert_true(mem_page_hinted_clean(&mem, 40)); /* its write came before the run */
	assert_true(mem_page_hinted_clean(&mem, 47));
	assert_false(mem_page_hinted_clean(&mem, 48));
	guest_writes(&kvm, 35);
	mem_mark_dirty(&mem, 36 * PAGE, 1);
	assert_int_equal(mem_dirty_sync(&mem), 0);
	assert_false(mem_page_hinted_clean(&mem, 35));
	assert_false(mem_page_hinted_clean(&mem, 36));
	assert_true(mem_page_hinted_clean(&mem, 34));
	/* A new run forgets the last one's hints. */
	assert_int_equal(mem_hint_begin(&mem), 0);
	assert_false(mem_page_hinted_clean(&mem, 34));
	mem_hint_add(&mem, 64 * PAGE, 136 * PAGE); /* pages 64-199: whole words and part of one */
	for (uint64_t p = 0; p < SIZE / PAGE; p++)
		assert_int_equal(mem_page_hinted_clean(&mem, p), p >= 64 && p <= 199);
	mem_destroy(&mem);
}

/* mem_map_file_range's refusals, and its limit on ranges. */
static void test_file_range_refusals(void **state)
{
	int fd = make_file();
	struct guest_memory mem;
	struct mem_region layout[] = { { .gpa = 0, .size = SIZE } };
	assert_int_equal(mem_init(&mem, MEM_BACKING_ANON, MEM_THP_SYSTEM, layout, 1), 0);
	assert_int_equal(mem_map_file_range(&mem, 100, PAGE, fd, 0), -EINVAL);
	assert_int_equal(mem_map_file_range(&mem, 0, 100, fd, 0), -EINVAL);
	assert_int_equal(mem_map_file_range(&mem, 0, PAGE, fd, 100), -EINVAL);
	assert_int_equal(mem_map_file_range(&mem, 0, 0, fd, 0), -EINVAL);
	assert_int_equal(mem_map_file_range(&mem, SIZE - PAGE, 2 * PAGE, fd, 0), -EFAULT);
	assert_int_equal(mem_map_file_range(&mem, 0, PAGE, -1, 0), -EBADF);
	assert_int_equal(mem.nr_file_ranges, 0);
	/* After a refused mmap the range is still RAM that reads zero. */
	assert_int_equal(*(const uint8_t *)mem_gpa_to_hva(&mem, 0, 1), 0);
	for (unsigned int i = 0; i < MEM_MAX_FILE_RANGES; i++)
		assert_int_equal(mem_map_file_range(&mem, 2 * i * PAGE, PAGE, fd, 0), 0);
	assert_int_equal(mem_map_file_range(&mem, SIZE - PAGE, PAGE, fd, 0), -ENOSPC);
	assert_int_equal(*(const uint8_t *)mem_gpa_to_hva(&mem, 2 * PAGE, 1), 'A');
	assert_int_equal(*(const uint8_t *)mem_gpa_to_hva(&mem, PAGE, 1), 0);
	mem_destroy(&mem);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_holes_stay_holes),
		cmocka_unit_test(test_file_range_refusals),
		cmocka_unit_test(test_wrong_size_refused),
		cmocka_unit_test(test_tracking),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
