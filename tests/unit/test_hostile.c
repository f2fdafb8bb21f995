// SPDX-License-Identifier: GPL-2.0
/*
 * A guest that works against ebb: each test is one of the findings of the
 * hostile-guest review (issue 18) and fails on the code before its fix.
 *  1. one balloon chain of overlapping whole-RAM buffers stalls the loop;
 *  2. a guest writes log lines without limit;
 *  3. a stats buffer held across QueueReady 0/1 is completed on the new ring;
 *  4. a guest that lowers actual cancels the operator's target;
 *  5. block requests are unbounded work on the event loop;
 *  6. a guest hangs: what its rings hold tells whether ebb left it waiting.
 * The fake driver aborts when a chain is completed twice or on a queue it
 * did not come from.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <linux/virtio_balloon.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "devices/virtio/balloon/balloon.h"
#include "devices/virtio/block/block.h"
#include "tests/unit/support/fake_driver.h"

#define F(bit) (1ull << (bit))
#define V1     F(VIRTIO_F_VERSION_1)

struct balloon_fixture {
	struct fake_driver fd;
	struct balloon b;
};

static struct balloon_fixture *balloon_up(struct balloon_params p, uint64_t features)
{
	struct balloon_fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fake_init(&fx->fd);
	assert_int_equal(balloon_init(&fx->b, &p, &fx->fd.mem, &fx->fd.loop, 0xd0001000, 5), 0);
	fake_attach(&fx->fd, &fx->b.transport);
	assert_true(fake_negotiate(&fx->fd, features) & VIRTIO_CONFIG_S_FEATURES_OK);
	struct balloon_queue_roles roles;
	balloon_queue_roles(features, &roles);
	for (unsigned int i = 0; i < roles.count; i++) {
		fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_SEL, i);
		uint16_t max = fake_read_reg(&fx->fd, VIRTIO_MMIO_QUEUE_NUM_MAX);
		assert_int_equal(fake_setup_queue(&fx->fd, i, max), 1);
	}
	fake_driver_ok(&fx->fd);
	return fx;
}

static void balloon_down(struct balloon_fixture *fx)
{
	balloon_destroy(&fx->b);
	fake_destroy(&fx->fd);
	free(fx);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Finding 1: 256 buffers that each span the whole of guest RAM, all in one chain. */
static void test_overlapping_whole_ram_inflate_chain(void **state)
{
	struct balloon_fixture *fx = balloon_up((struct balloon_params){ .target_mib = 8 }, V1);
	struct fake_buf bufs[VQ_MAX_CHAIN];
	uint64_t ram = fx->fd.ram_size - (16ull << 20); /* below the fake's rings */
	for (unsigned int i = 0; i < VQ_MAX_CHAIN; i++)
		bufs[i] = (struct fake_buf){ .gpa = 0, .len = (uint32_t)ram };
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint16_t head = fake_add_chain(&fx->fd, 0, bufs, VQ_MAX_CHAIN);
	fake_kick(&fx->fd, 0);
	uint32_t id, len;
	assert_true(fake_get_used(&fx->fd, 0, &id, &len));
	assert_int_equal(id, head);
	/* Refused unread: at most 256 PFNs in a chain, as Linux sends. */
	assert_true(seconds_since(&t0) < 1.0);
	assert_int_equal(fx->b.counters.oversized_chains, 1);
	assert_int_equal(fx->b.counters.inflated_pages, 0);

	/* Many legal chains: one pass stops at its budget and the loop comes back for the rest. */
	uint64_t pfns = fake_alloc(&fx->fd, 256 * 4, 8);
	for (uint32_t i = 0; i < 256; i++)
		((uint32_t *)fake_ptr(&fx->fd, pfns, 1024))[i] = 1000 + i;
	struct fake_buf one = { .gpa = pfns, .len = 1024 };
	unsigned int chains = 200;
	for (unsigned int i = 0; i < chains; i++)
		fake_add_chain(&fx->fd, 0, &one, 1);
	fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	fake_run_loop(&fx->fd, 100);
	unsigned int first_pass = 0;
	while (fake_get_used(&fx->fd, 0, &id, &len))
		first_pass++;
	assert_true(first_pass > 0 && first_pass < chains);
	assert_true(fx->b.transport.budget_deferrals >= 1);
	unsigned int done = first_pass;
	for (int turn = 0; turn < 100 && done < chains; turn++) {
		fake_run_loop(&fx->fd, 100);
		while (fake_get_used(&fx->fd, 0, &id, &len))
			done++;
	}
	assert_int_equal(done, chains);
	assert_int_equal(fake_outstanding(&fx->fd, 0), 0);
	balloon_down(fx);
}

/* The log lines written to path since it was opened. */
static unsigned int lines_in(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	unsigned int n = 0;
	for (int c; (c = fgetc(f)) != EOF;)
		n += c == '\n';
	fclose(f);
	return n;
}

static void write_actual(struct balloon_fixture *fx, uint32_t pages)
{
	virtio_mmio_bus_ops.write(&fx->b.transport, VIRTIO_MMIO_CONFIG + 4, &pages, 4);
}

/* Finding 2: every trigger a guest has, 10,000 times over, at the info and debug levels. */
static void test_guest_triggered_logs_are_limited(void **state)
{
	char path[] = "/tmp/ebb-hostile-log-XXXXXX";
	int tmp = mkstemp(path);
	assert_true(tmp >= 0);
	close(tmp);
	struct balloon_fixture *fx = balloon_up(
		(struct balloon_params){ .target_mib = 4, .deflate_on_oom = true },
		V1 | F(VIRTIO_BALLOON_F_DEFLATE_ON_OOM));
	assert_int_equal(log_set_path(path), 0);
	log_set_level(LOG_DEBUG);
	for (int i = 0; i < 10000; i++) {
		/* actual around the target: "holds the target", then an OOM deflate */
		write_actual(fx, 4 * BALLOON_PAGES_PER_MIB);
		write_actual(fx, 0);
		/* FEATURES_OK with a feature never offered, then a reset */
		fake_write_reg(&fx->fd, VIRTIO_MMIO_STATUS, 0);
		fake_write_reg(&fx->fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
		fake_write_reg(&fx->fd, VIRTIO_MMIO_DRIVER_FEATURES, 0x80000001);
		fake_write_reg(&fx->fd, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_FEATURES_OK);
		/* DRIVER_OK without FEATURES_OK after a reset */
		fake_write_reg(&fx->fd, VIRTIO_MMIO_STATUS, 0);
		fake_write_reg(&fx->fd, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_DRIVER_OK);
	}
	log_set_level(LOG_ERROR);
	unsigned int n = lines_in(path);
	print_message("%u log lines for 40000 guest triggers\n", n);
	/* Four kinds of message, LOG_LIMIT_BURST each in this one window. */
	assert_true(n <= 4 * LOG_LIMIT_BURST);
	assert_true(n >= 2);
	assert_true(fx->b.transport.needs_reset_events >= 10000);
	balloon_down(fx);
	unlink(path);
}

/* Finding 3: the stats buffer is held; the driver disables the queue and sets up a new one. */
static void test_stats_buffer_dropped_on_queue_reenable(void **state)
{
	struct balloon_fixture *fx =
		balloon_up((struct balloon_params){ .stats_interval_s = 1 },
			   V1 | F(VIRTIO_BALLOON_F_STATS_VQ));
	struct virtio_balloon_stat stat = { .tag = VIRTIO_BALLOON_S_MEMFREE, .val = 1 << 20 };
	uint64_t gpa = fake_alloc(&fx->fd, sizeof(stat), 8);
	memcpy(fake_ptr(&fx->fd, gpa, sizeof(stat)), &stat, sizeof(stat));
	struct fake_buf buf = { .gpa = gpa, .len = sizeof(stat) };
	fake_add_chain(&fx->fd, 2, &buf, 1);
	fake_kick(&fx->fd, 2);
	assert_true(fx->b.stats_held);

	fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_SEL, 2);
	fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_false(fx->b.stats_held);
	/* A fresh ring: the old head must never appear on it (the fake would abort). */
	assert_int_equal(fake_setup_queue(&fx->fd, 2, 64), 1);
	for (int i = 0; i < 25; i++)
		fake_run_loop(&fx->fd, 100);
	uint32_t id, len;
	assert_false(fake_get_used(&fx->fd, 2, &id, &len));
	balloon_down(fx);
}

static uint32_t read_target(struct balloon_fixture *fx)
{
	uint32_t v = 0;
	virtio_mmio_bus_ops.read(&fx->b.transport, VIRTIO_MMIO_CONFIG, &v, 4);
	return v;
}

/* Finding 4: a guest that writes actual = 0 does not end the operator's balloon. */
static void test_deflate_on_oom_keeps_the_target(void **state)
{
	const uint32_t target = 8 * BALLOON_PAGES_PER_MIB;
	struct balloon_fixture *fx = balloon_up(
		(struct balloon_params){ .target_mib = 8, .deflate_on_oom = true,
					 .oom_backoff_min_s = 1 },
		V1 | F(VIRTIO_BALLOON_F_DEFLATE_ON_OOM));
	write_actual(fx, target);
	fake_take_interrupts(&fx->fd);
	write_actual(fx, 0);
	assert_int_equal(fx->b.counters.oom_deflates, 1);
	assert_int_equal(fx->b.requested_pages, target);
	/* For now the guest sees its own size, so its worker does not fight the OOM... */
	assert_int_equal(read_target(fx), 0);
	/* ...and after the backoff ebb asks for the operator's target again. */
	for (int i = 0; i < 30 && read_target(fx) != target; i++)
		fake_run_loop(&fx->fd, 100);
	assert_int_equal(read_target(fx), target);
	assert_int_equal(fx->b.counters.oom_reasks, 1);
	assert_true(fake_take_interrupts(&fx->fd) >= 1);
	/* The guest inflates again and deflates again: the wait doubles. */
	write_actual(fx, target);
	write_actual(fx, 0);
	assert_int_equal(fx->b.oom_backoff_s, 2);
	assert_int_equal(fx->b.requested_pages, target);
	balloon_down(fx);

	/* Without DEFLATE_ON_OOM, a lower actual changes nothing at all. */
	fx = balloon_up((struct balloon_params){ .target_mib = 8 }, V1);
	write_actual(fx, target);
	write_actual(fx, 0);
	assert_int_equal(read_target(fx), target);
	assert_int_equal(fx->b.counters.oom_deflates, 0);
	balloon_down(fx);
}

/* Finding 6: the ring state ebb logs at exit names chains it never took. */
static void test_ring_state_names_untaken_chains(void **state)
{
	struct balloon_fixture *fx = balloon_up((struct balloon_params){ 0 }, V1);
	uint32_t pfn = 1;
	uint64_t gpa = fake_alloc(&fx->fd, sizeof(pfn), 4);
	memcpy(fake_ptr(&fx->fd, gpa, sizeof(pfn)), &pfn, sizeof(pfn));
	struct fake_buf buf = { .gpa = gpa, .len = sizeof(pfn) };
	char s[160];
	/* The deflate queue: posted, not kicked. */
	fake_add_chain(&fx->fd, 1, &buf, 1);
	vq_describe(&fx->b.transport.queues[1], s, sizeof(s));
	print_message("before the kick: %s\n", s);
	assert_non_null(strstr(s, "avail 1, taken 0, used 0,"));
	fake_kick(&fx->fd, 1);
	vq_describe(&fx->b.transport.queues[1], s, sizeof(s));
	assert_non_null(strstr(s, "avail 1, taken 1, used 1,"));
	/* Without STATS_VQ the balloon has two queues: a third is never set up. */
	vq_describe(&fx->b.transport.queues[2], s, sizeof(s));
	assert_string_equal(s, "not ready");
	balloon_down(fx);
}

/* Finding 5: a request over seg_max x size_max is refused; many requests wait their turn. */
static void test_block_work_is_bounded(void **state)
{
	struct fake_driver fd;
	struct block b;
	char path[] = "/tmp/ebb-hostile-disk-XXXXXX";
	int tmp = mkstemp(path);
	assert_true(tmp >= 0);
	assert_int_equal(ftruncate(tmp, 64 << 20), 0);
	close(tmp);
	fake_init_ram(&fd, 128ull << 20);
	struct block_params p = { .drive_id = "d" };
	char err[128];
	assert_int_equal(block_open_image(path, false, &p.fd, &p.sectors, err, sizeof(err)), 0);
	assert_int_equal(block_init(&b, &p, &fd.mem, &fd.loop, 0xd0002000, 6), 0);
	fake_attach(&fd, &b.transport);
	assert_true(fake_device_features(&fd) & F(VIRTIO_BLK_F_SIZE_MAX));
	assert_true(fake_negotiate(&fd, V1 | F(VIRTIO_BLK_F_SEG_MAX) | F(VIRTIO_BLK_F_SIZE_MAX)) &
		    VIRTIO_CONFIG_S_FEATURES_OK);
	assert_int_equal(fake_setup_queue(&fd, 0, BLOCK_QUEUE_SIZE), 1);
	fake_driver_ok(&fd);

	/* One request of 33 MiB, past 128 x 256 KiB: IOERR, nothing read. */
	struct virtio_blk_outhdr h = { .type = VIRTIO_BLK_T_IN };
	uint64_t hdr = fake_alloc(&fd, sizeof(h), 16), st = fake_alloc(&fd, 1, 1);
	memcpy(fake_ptr(&fd, hdr, sizeof(h)), &h, sizeof(h));
	struct fake_buf big[3] = { { hdr, sizeof(h), false }, { 0, 33u << 20, true }, { st, 1, true } };
	fake_add_chain(&fd, 0, big, 3);
	fake_kick(&fd, 0);
	uint32_t id, len;
	assert_true(fake_get_used(&fd, 0, &id, &len));
	assert_int_equal(*(uint8_t *)fake_ptr(&fd, st, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(b.counters.read_bytes, 0);

	/* 80 reads of 1 MiB (240 descriptors) in one notification: not all in one pass. */
	struct fake_buf req[3] = { { hdr, sizeof(h), false }, { 0, 1u << 20, true }, { st, 1, true } };
	unsigned int n = 80;
	for (unsigned int i = 0; i < n; i++)
		fake_add_chain(&fd, 0, req, 3);
	fake_write_reg(&fd, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	fake_run_loop(&fd, 100);
	unsigned int done = 0;
	while (fake_get_used(&fd, 0, &id, &len))
		done++;
	assert_true(done > 0 && done < n);
	assert_true(b.transport.budget_deferrals >= 1);
	for (int turn = 0; turn < 100 && done < n; turn++) {
		fake_run_loop(&fd, 100);
		while (fake_get_used(&fd, 0, &id, &len))
			done++;
	}
	assert_int_equal(done, n);
	assert_int_equal(b.counters.read_bytes, (uint64_t)n << 20);
	block_destroy(&b);
	fake_destroy(&fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_overlapping_whole_ram_inflate_chain),
		cmocka_unit_test(test_guest_triggered_logs_are_limited),
		cmocka_unit_test(test_stats_buffer_dropped_on_queue_reenable),
		cmocka_unit_test(test_deflate_on_oom_keeps_the_target),
		cmocka_unit_test(test_block_work_is_bounded),
		cmocka_unit_test(test_ring_state_names_untaken_chains),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
