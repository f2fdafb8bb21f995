// SPDX-License-Identifier: GPL-2.0
/*
 * Free page hinting (devices/virtio/balloon/hinting.c) through the fake
 * driver, speaking as Linux's driver does: the run's id, 4 MiB blocks as
 * device-writable buffers, then STOP. The feature is offered only when
 * configured and moves the reporting queue; hinted pages are noted (clean
 * until written), never discarded; stale hints and a poisoning guest's are
 * ignored; DONE follows the guest's STOP when asked; every chain comes back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/virtio_balloon.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/balloon/balloon.h"
#include "tests/unit/support/fake_driver.h"

#define F(bit) (1ull << (bit))
#define V1     F(VIRTIO_F_VERSION_1)
#define HINT   F(VIRTIO_BALLOON_F_FREE_PAGE_HINT)
#define BLOCK  (4ull << 20)

struct fixture {
	struct fake_driver fd;
	struct balloon b;
	int hint_q;
	uint64_t discards;
};

static struct fixture *current;

static int64_t count_discard(struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	current->discards += len;
	return mem_discard(mem, gpa, len);
}

static struct fixture *make(bool hinting, uint64_t features)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct balloon_params p = { .stats_interval_s = 1,
				    .reporting = true,
				    .reporting_queue_size = 64,
				    .hinting = hinting };
	fake_init(&fx->fd);
	fake_dirty_source(&fx->fd);
	assert_int_equal(balloon_init(&fx->b, &p, &fx->fd.mem, &fx->fd.loop, 0xd0001000, 5), 0);
	fake_attach(&fx->fd, &fx->b.transport);
	current = fx;
	fx->b.discard = count_discard;
	if (!features)
		return fx;
	assert_true(fake_negotiate(&fx->fd, features) & VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int i = 0; i < fx->b.roles.count; i++) {
		fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_SEL, i);
		assert_int_equal(
			fake_setup_queue(&fx->fd, i,
					 fake_read_reg(&fx->fd, VIRTIO_MMIO_QUEUE_NUM_MAX)),
			1);
	}
	fake_driver_ok(&fx->fd);
	fx->hint_q = fx->b.roles.free_page_hint;
	return fx;
}

static void destroy(struct fixture *fx)
{
	balloon_destroy(&fx->b);
	fake_destroy(&fx->fd);
	free(fx);
}

static uint32_t host_cmd(struct fixture *fx)
{
	return fake_read_reg(&fx->fd, VIRTIO_MMIO_CONFIG + offsetof(struct virtio_balloon_config,
								    free_page_hint_cmd_id));
}

/* The guest sends a command id (an out buffer of 4 bytes). */
static void send_cmd(struct fixture *fx, uint32_t cmd)
{
	uint64_t gpa = fake_alloc(&fx->fd, 4, 4);
	memcpy(fake_ptr(&fx->fd, gpa, 4), &cmd, 4);
	struct fake_buf b = { gpa, 4, false };
	fake_add_chain(&fx->fd, fx->hint_q, &b, 1);
	fake_kick(&fx->fd, fx->hint_q);
}

static void send_block(struct fixture *fx, uint64_t gpa)
{
	struct fake_buf b = { gpa, BLOCK, true };
	fake_add_chain(&fx->fd, fx->hint_q, &b, 1);
	fake_kick(&fx->fd, fx->hint_q);
}

static void drain(struct fixture *fx)
{
	uint32_t id, len;
	while (fake_get_used(&fx->fd, fx->hint_q, &id, &len))
		;
	assert_int_equal(fake_outstanding(&fx->fd, fx->hint_q), 0);
}

static bool block_clean(struct fixture *fx, uint64_t gpa)
{
	for (uint64_t p = gpa / 4096; p < (gpa + BLOCK) / 4096; p++)
		if (!mem_page_hinted_clean(&fx->fd.mem, p))
			return false;
	return true;
}

static void test_offered_only_when_configured(void **state)
{
	struct fixture *fx = make(false, 0);
	assert_false(fake_device_features(&fx->fd) & HINT);
	assert_int_equal(balloon_hinting_start(&fx->b, true), -ENOTSUP);
	destroy(fx);
	fx = make(true, 0);
	assert_true(fake_device_features(&fx->fd) & HINT);
	/* Offered, not negotiated yet. */
	assert_int_equal(balloon_hinting_start(&fx->b, true), -EAGAIN);
	destroy(fx);
}

static void test_queue_moves_reporting(void **state)
{
	uint64_t all = V1 | HINT | F(VIRTIO_BALLOON_F_STATS_VQ) | F(VIRTIO_BALLOON_F_REPORTING);
	struct fixture *fx = make(true, all);
	assert_int_equal(fx->b.roles.stats, 2);
	assert_int_equal(fx->b.roles.free_page_hint, 3);
	assert_int_equal(fx->b.roles.reporting, 4);
	destroy(fx);
	/* A guest that declines hinting keeps reporting at 3. */
	fx = make(true, V1 | F(VIRTIO_BALLOON_F_STATS_VQ) | F(VIRTIO_BALLOON_F_REPORTING));
	assert_int_equal(fx->b.roles.free_page_hint, -1);
	assert_int_equal(fx->b.roles.reporting, 3);
	assert_int_equal(balloon_hinting_start(&fx->b, true), -EAGAIN);
	destroy(fx);
}

static void test_a_run(void **state)
{
	struct fixture *fx = make(true, V1 | HINT | F(VIRTIO_BALLOON_F_REPORTING));
	uint64_t stale = 8ull << 20, hinted = 16ull << 20, late = 24ull << 20;
	assert_int_equal(host_cmd(fx), VIRTIO_BALLOON_CMD_ID_STOP);
	uint32_t gen = fake_read_reg(&fx->fd, VIRTIO_MMIO_CONFIG_GENERATION);
	fake_take_interrupts(&fx->fd);
	assert_int_equal(balloon_hinting_start(&fx->b, true), 0);
	uint32_t id = host_cmd(fx);
	assert_true(id >= 2);
	assert_true(fake_read_reg(&fx->fd, VIRTIO_MMIO_CONFIG_GENERATION) != gen);
	assert_true(fake_take_interrupts(&fx->fd) > 0);

	send_block(fx, stale); /* before the guest said which run: ignored */
	send_cmd(fx, id);
	send_block(fx, hinted);
	send_cmd(fx, VIRTIO_BALLOON_CMD_ID_STOP);
	send_block(fx, late); /* after STOP: ignored */
	drain(fx);
	assert_false(block_clean(fx, stale));
	assert_true(block_clean(fx, hinted));
	assert_false(block_clean(fx, late));
	assert_int_equal(fx->b.counters.hinted_blocks, 1);
	/* Never discarded: the guest may take the pages back at any time. */
	assert_int_equal(fx->discards, 0);
	/* acknowledge_on_stop: DONE as soon as the guest stopped. */
	assert_int_equal(host_cmd(fx), VIRTIO_BALLOON_CMD_ID_DONE);
	assert_int_equal(fx->b.hinting.guest_cmd, VIRTIO_BALLOON_CMD_ID_STOP);

	/* A write since the run began makes the page count again. */
	mem_mark_dirty(&fx->fd.mem, hinted + 4096, 1);
	assert_false(mem_page_hinted_clean(&fx->fd.mem, hinted / 4096 + 1));
	assert_true(mem_page_hinted_clean(&fx->fd.mem, hinted / 4096 + 2));

	/* The next run has a new id and forgets the last one's hints. */
	assert_int_equal(balloon_hinting_start(&fx->b, false), 0);
	assert_true(host_cmd(fx) > id);
	assert_false(block_clean(fx, hinted));
	send_cmd(fx, host_cmd(fx));
	send_cmd(fx, VIRTIO_BALLOON_CMD_ID_STOP);
	drain(fx);
	assert_true(host_cmd(fx) > VIRTIO_BALLOON_CMD_ID_DONE); /* no acknowledge: the host says */
	assert_int_equal(balloon_hinting_stop(&fx->b), 0);
	assert_int_equal(host_cmd(fx), VIRTIO_BALLOON_CMD_ID_DONE);
	destroy(fx);
}

static void test_poisoning_guest_not_hinted(void **state)
{
	struct fixture *fx = make(true, V1 | HINT | F(VIRTIO_BALLOON_F_PAGE_POISON));
	uint32_t poison = 0xaaaaaaaa;
	fake_write_reg(&fx->fd,
		       VIRTIO_MMIO_CONFIG + offsetof(struct virtio_balloon_config, poison_val),
		       poison);
	assert_int_equal(balloon_hinting_start(&fx->b, true), 0);
	send_cmd(fx, host_cmd(fx));
	send_block(fx, 16ull << 20);
	send_cmd(fx, VIRTIO_BALLOON_CMD_ID_STOP);
	drain(fx);
	assert_false(block_clean(fx, 16ull << 20));
	destroy(fx);
}

/*
 * A hint chain costs one more per 4 MiB it hints: 100 chains of Linux's
 * 4 MiB blocks go in one pass over the queue, 100 of 32 MiB (10 units each)
 * in two, the first stopping at VIRTIO_QUEUE_BUDGET.
 */
static void test_large_hints_cost_their_size(void **state)
{
	for (uint64_t size = BLOCK; size <= 8 * BLOCK; size *= 8) {
		struct fixture *fx = make(true, V1 | HINT);
		assert_int_equal(balloon_hinting_start(&fx->b, true), 0);
		send_cmd(fx, host_cmd(fx));
		for (unsigned int i = 0; i < 100; i++) {
			struct fake_buf b = { 0, size, true };
			fake_add_chain(&fx->fd, fx->hint_q, &b, 1);
		}
		fake_kick(&fx->fd, fx->hint_q);
		unsigned int per_pass = VIRTIO_QUEUE_BUDGET / 10 + 1; /* the pass stops past it */
		assert_int_equal(fx->b.counters.hinted_blocks, size == BLOCK ? 100 : per_pass);
		fake_run_loop(&fx->fd, 100);
		assert_int_equal(fx->b.counters.hinted_blocks, 100);
		drain(fx);
		destroy(fx);
	}
}

static void test_hostile_hints(void **state)
{
	struct fixture *fx = make(true, V1 | HINT);
	assert_int_equal(balloon_hinting_start(&fx->b, true), 0);
	send_cmd(fx, host_cmd(fx));
	/* Past RAM, wrapping, a read-only buffer, an odd command size: all completed. */
	struct fake_buf past = { fx->fd.ram_size - 4096, BLOCK, true };
	struct fake_buf wrap = { UINT64_MAX - 4095, BLOCK, true };
	struct fake_buf ro = { 16ull << 20, BLOCK, false };
	uint64_t gpa = fake_alloc(&fx->fd, 8, 8);
	struct fake_buf odd = { gpa, 8, false };
	fake_add_chain(&fx->fd, fx->hint_q, &past, 1);
	fake_add_chain(&fx->fd, fx->hint_q, &wrap, 1);
	fake_add_chain(&fx->fd, fx->hint_q, &ro, 1);
	fake_add_chain(&fx->fd, fx->hint_q, &odd, 1);
	fake_kick(&fx->fd, fx->hint_q);
	drain(fx);
	assert_false(block_clean(fx, 16ull << 20));
	assert_int_equal(fx->discards, 0);
	destroy(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offered_only_when_configured),
		cmocka_unit_test(test_queue_moves_reporting),
		cmocka_unit_test(test_a_run),
		cmocka_unit_test(test_poisoning_guest_not_hinted),
		cmocka_unit_test(test_hostile_hints),
		cmocka_unit_test(test_large_hints_cost_their_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
