// SPDX-License-Identifier: GPL-2.0
/* virtio-balloon over virtio-mmio, driven by the in-process fake driver. */
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
#include <sys/mman.h>

#include "devices/virtio/balloon/balloon.h"
#include "tests/unit/support/fake_driver.h"
#include "base/util.h"

#define F(bit) (1ull << (bit))
#define V1     F(VIRTIO_F_VERSION_1)

struct fixture {
	struct fake_driver fd;
	struct balloon b;
};

static struct balloon_params default_params(void)
{
	return (struct balloon_params){
		.target_mib = 0,
		.deflate_on_oom = true,
		.stats_interval_s = 1,
		.reporting = true,
		.reporting_queue_size = 64,
	};
}

static struct fixture *make(const struct balloon_params *p)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	fake_init(&fx->fd);
	assert_int_equal(balloon_init(&fx->b, p, &fx->fd.mem, &fx->fd.loop, 0xd0001000, 5), 0);
	fake_attach(&fx->fd, &fx->b.transport);
	return fx;
}

static void destroy(struct fixture *fx)
{
	balloon_destroy(&fx->b);
	fake_destroy(&fx->fd);
	free(fx);
}

/* Negotiates, sets up every queue the acked features imply, and sets DRIVER_OK. */
static void bring_up(struct fixture *fx, uint64_t features)
{
	uint32_t status = fake_negotiate(&fx->fd, features);
	assert_true(status & VIRTIO_CONFIG_S_FEATURES_OK);
	struct balloon_queue_roles roles;
	balloon_queue_roles(features, &roles);
	for (unsigned int i = 0; i < roles.count; i++) {
		fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_SEL, i);
		uint16_t max = fake_read_reg(&fx->fd, VIRTIO_MMIO_QUEUE_NUM_MAX);
		assert_true(max > 0);
		assert_int_equal(fake_setup_queue(&fx->fd, i, max), 1);
	}
	fake_driver_ok(&fx->fd);
}

static uint64_t resident(struct fixture *fx, uint64_t gpa, uint64_t len)
{
	static unsigned char vec[(16 << 20) / 4096];
	assert_true(len <= sizeof(vec) * 4096);
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

/* ---- a discard probe that checks ordering ---- */

static struct {
	struct fixture *fx;
	unsigned int queue;
	uint16_t used_before;
	bool order_violated;
	unsigned int calls;
	uint64_t gpa[64], len[64];
} probe;

static int64_t probe_discard(struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	/* The chain holding this range must not be on the used ring yet. */
	struct vring_used *used = fake_used(&probe.fx->fd, probe.queue);
	if (__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) != probe.used_before)
		probe.order_violated = true;
	if (probe.calls < 64) {
		probe.gpa[probe.calls] = gpa;
		probe.len[probe.calls] = len;
	}
	probe.calls++;
	return mem_discard(mem, gpa, len);
}

static void install_probe(struct fixture *fx, unsigned int queue)
{
	memset(&probe, 0, sizeof(probe));
	probe.fx = fx;
	probe.queue = queue;
	probe.used_before = fake_used(&fx->fd, queue)->idx;
	fx->b.discard = probe_discard;
}

/* ---- negotiation and queue roles ---- */

static void test_offered_features(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	uint64_t f = fake_device_features(&fx->fd);
	assert_true(f & V1);
	assert_true(f & F(VIRTIO_BALLOON_F_PAGE_POISON));
	assert_true(f & F(VIRTIO_BALLOON_F_STATS_VQ));
	assert_true(f & F(VIRTIO_BALLOON_F_DEFLATE_ON_OOM));
	assert_true(f & F(VIRTIO_BALLOON_F_REPORTING));
	assert_false(f & F(VIRTIO_BALLOON_F_FREE_PAGE_HINT));
	assert_int_equal(fake_read_reg(&fx->fd, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(fake_read_reg(&fx->fd, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(fake_read_reg(&fx->fd, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BALLOON);
	destroy(fx);

	p.reporting = false;
	p.stats_interval_s = 0;
	p.deflate_on_oom = false;
	fx = make(&p);
	f = fake_device_features(&fx->fd);
	assert_false(f & F(VIRTIO_BALLOON_F_REPORTING));
	assert_false(f & F(VIRTIO_BALLOON_F_STATS_VQ));
	assert_false(f & F(VIRTIO_BALLOON_F_DEFLATE_ON_OOM));
	destroy(fx);
}

static void test_features_ok_refusals(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	/* FREE_PAGE_HINT was never offered. */
	uint32_t s = fake_negotiate(&fx->fd, V1 | F(VIRTIO_BALLOON_F_FREE_PAGE_HINT));
	assert_false(s & VIRTIO_CONFIG_S_FEATURES_OK);
	/* A legacy driver (no VERSION_1) is refused. */
	s = fake_negotiate(&fx->fd, F(VIRTIO_BALLOON_F_REPORTING));
	assert_false(s & VIRTIO_CONFIG_S_FEATURES_OK);
	/* DRIVER_OK before FEATURES_OK asks for a reset. */
	fake_write_reg(&fx->fd, VIRTIO_MMIO_STATUS, 0);
	fake_write_reg(&fx->fd, VIRTIO_MMIO_STATUS,
		       VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			       VIRTIO_CONFIG_S_DRIVER_OK);
	s = fake_read_reg(&fx->fd, VIRTIO_MMIO_STATUS);
	assert_true(s & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_false(s & VIRTIO_CONFIG_S_DRIVER_OK);
	/* A good negotiation afterwards works. */
	s = fake_negotiate(&fx->fd, V1 | F(VIRTIO_BALLOON_F_REPORTING));
	assert_true(s & VIRTIO_CONFIG_S_FEATURES_OK);
	assert_false(s & VIRTIO_CONFIG_S_NEEDS_RESET);
	destroy(fx);
}

static void test_queue_roles_all_combinations(void **state)
{
	for (unsigned int combo = 0; combo < 8; combo++) {
		bool stats = combo & 1, hint = combo & 2, reporting = combo & 4;
		uint64_t acked = V1 | (stats ? F(VIRTIO_BALLOON_F_STATS_VQ) : 0) |
				 (hint ? F(VIRTIO_BALLOON_F_FREE_PAGE_HINT) : 0) |
				 (reporting ? F(VIRTIO_BALLOON_F_REPORTING) : 0);
		struct balloon_queue_roles r;
		balloon_queue_roles(acked, &r);
		assert_int_equal(r.inflate, 0);
		assert_int_equal(r.deflate, 1);
		assert_int_equal(r.stats, stats ? 2 : -1);
		assert_int_equal(r.free_page_hint, hint ? 2 + stats : -1);
		assert_int_equal(r.reporting, reporting ? 2 + stats + hint : -1);
		assert_int_equal(r.count, 2 + stats + hint + reporting);
	}
}

static void test_reporting_index_follows_acked_not_offered(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	/* STATS is offered but declined: reporting packs down to index 2. */
	uint32_t s = fake_negotiate(&fx->fd, V1 | F(VIRTIO_BALLOON_F_REPORTING));
	assert_true(s & VIRTIO_CONFIG_S_FEATURES_OK);
	fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(fake_read_reg(&fx->fd, VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
	fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_SEL, 3);
	assert_int_equal(fake_read_reg(&fx->fd, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);

	s = fake_negotiate(&fx->fd, V1 | F(VIRTIO_BALLOON_F_REPORTING) | F(VIRTIO_BALLOON_F_STATS_VQ));
	assert_true(s & VIRTIO_CONFIG_S_FEATURES_OK);
	fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(fake_read_reg(&fx->fd, VIRTIO_MMIO_QUEUE_NUM_MAX), BALLOON_QUEUE_SIZE);
	fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_SEL, 3);
	assert_int_equal(fake_read_reg(&fx->fd, VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
	destroy(fx);
}

static void test_reporting_queue_needs_32(void **state)
{
	struct balloon_params p = default_params();
	p.reporting_queue_size = 16;
	struct fake_driver fd;
	struct balloon b;
	fake_init(&fd);
	assert_int_equal(balloon_init(&b, &p, &fd.mem, &fd.loop, 0xd0001000, 5), -EINVAL);
	fake_destroy(&fd);
}

/* ---- reporting ---- */

static const uint64_t REPORT_FEATURES = V1 | F(VIRTIO_BALLOON_F_REPORTING);
#define REPORTQ 2

static void test_report_discards_before_completing(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	bring_up(fx, REPORT_FEATURES);
	fake_take_interrupts(&fx->fd);

	uint64_t base = MiB(16);
	touch(fx, base, MiB(8));
	assert_int_equal(resident(fx, base, MiB(8)), MiB(8));
	struct fake_buf bufs[4];
	for (int i = 0; i < 4; i++)
		bufs[i] = (struct fake_buf){ .gpa = base + MiB(2) * i, .len = MiB(2), .writable = true };
	uint16_t head = fake_add_chain(&fx->fd, REPORTQ, bufs, 4);

	install_probe(fx, REPORTQ);
	fake_kick(&fx->fd, REPORTQ);

	assert_int_equal(probe.calls, 4);
	assert_false(probe.order_violated);
	uint32_t id, len;
	assert_true(fake_get_used(&fx->fd, REPORTQ, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(resident(fx, base, MiB(8)), 0);
	assert_int_equal(fx->b.counters.reports, 1);
	assert_int_equal(fx->b.counters.bytes_discarded, MiB(8));
	assert_int_equal(fake_take_interrupts(&fx->fd), 1);
	destroy(fx);
}

static void test_report_interrupts_batched(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	bring_up(fx, REPORT_FEATURES);
	fake_take_interrupts(&fx->fd);
	for (int i = 0; i < 3; i++) {
		struct fake_buf b = { .gpa = MiB(2) * (i + 1), .len = MiB(2), .writable = true };
		fake_add_chain(&fx->fd, REPORTQ, &b, 1);
	}
	fake_kick(&fx->fd, REPORTQ);
	uint32_t id, len;
	for (int i = 0; i < 3; i++)
		assert_true(fake_get_used(&fx->fd, REPORTQ, &id, &len));
	assert_false(fake_get_used(&fx->fd, REPORTQ, &id, &len));
	assert_int_equal(fake_take_interrupts(&fx->fd), 1);
	uint32_t isr = fake_read_reg(&fx->fd, VIRTIO_MMIO_INTERRUPT_STATUS);
	assert_true(isr & VIRTIO_MMIO_INT_VRING);
	fake_write_reg(&fx->fd, VIRTIO_MMIO_INTERRUPT_ACK, isr);
	assert_int_equal(fake_read_reg(&fx->fd, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	destroy(fx);
}

static void write_poison(struct fixture *fx, uint32_t value)
{
	virtio_mmio_bus_ops.write(&fx->b.transport, VIRTIO_MMIO_CONFIG + 12, &value, 4);
}

static void test_poison_skips_discard_but_completes(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	bring_up(fx, REPORT_FEATURES | F(VIRTIO_BALLOON_F_PAGE_POISON));
	write_poison(fx, 0xaaaaaaaa);

	touch(fx, MiB(4), MiB(2));
	struct fake_buf b = { .gpa = MiB(4), .len = MiB(2), .writable = true };
	uint16_t head = fake_add_chain(&fx->fd, REPORTQ, &b, 1);
	fake_kick(&fx->fd, REPORTQ);
	uint32_t id, len;
	assert_true(fake_get_used(&fx->fd, REPORTQ, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(resident(fx, MiB(4), MiB(2)), MiB(2));
	assert_int_equal(fx->b.counters.bytes_skipped, MiB(2));
	assert_int_equal(fx->b.counters.bytes_discarded, 0);

	/* init_on_free reports poison 0: zero-filled pages are what it expects. */
	write_poison(fx, 0);
	fake_add_chain(&fx->fd, REPORTQ, &b, 1);
	fake_kick(&fx->fd, REPORTQ);
	assert_true(fake_get_used(&fx->fd, REPORTQ, &id, &len));
	assert_int_equal(resident(fx, MiB(4), MiB(2)), 0);
	destroy(fx);
}

static void test_bad_report_descriptors_counted_chain_completed(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	bring_up(fx, REPORT_FEATURES);
	touch(fx, MiB(8), MiB(2));
	const struct fake_buf bufs[] = {
		{ .gpa = FAKE_RAM_SIZE + MiB(2), .len = MiB(2), .writable = true }, /* outside RAM */
		{ .gpa = FAKE_RAM_SIZE - MiB(2), .len = MiB(4), .writable = true }, /* runs past RAM */
		{ .gpa = 4097, .len = 4096, .writable = true },			    /* misaligned */
		{ .gpa = MiB(10), .len = MiB(2), .writable = false },		    /* read-only */
		{ .gpa = MiB(8), .len = MiB(2), .writable = true },		    /* good */
	};
	uint16_t head = fake_add_chain(&fx->fd, REPORTQ, bufs, ARRAY_SIZE(bufs));
	fake_kick(&fx->fd, REPORTQ);
	uint32_t id, len;
	assert_true(fake_get_used(&fx->fd, REPORTQ, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(fx->b.counters.bad_descriptors, 4);
	assert_int_equal(fx->b.counters.bytes_discarded, MiB(2));
	assert_int_equal(resident(fx, MiB(8), MiB(2)), 0);

	/* gpa + len overflows: the whole chain is refused, counted and completed. */
	const struct fake_buf overflow = { .gpa = UINT64_MAX - 4095, .len = 8192, .writable = true };
	head = fake_add_chain(&fx->fd, REPORTQ, &overflow, 1);
	fake_kick(&fx->fd, REPORTQ);
	assert_true(fake_get_used(&fx->fd, REPORTQ, &id, &len));
	assert_int_equal(id, head);
	struct virtq *vq = virtio_mmio_queue(&fx->b.transport, REPORTQ);
	assert_int_equal(vq->errors[VQ_ERR_BUFFER_RANGE], 1);
	destroy(fx);
}

/* ---- inflate and deflate ---- */

static void add_pfns(struct fixture *fx, unsigned int queue, const uint32_t *pfns, unsigned int n)
{
	uint64_t gpa = fake_alloc(&fx->fd, n * 4, 4);
	memcpy(fake_ptr(&fx->fd, gpa, n * 4), pfns, n * 4);
	struct fake_buf b = { .gpa = gpa, .len = n * 4 };
	fake_add_chain(&fx->fd, queue, &b, 1);
}

static void test_inflate_sorts_and_coalesces(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	bring_up(fx, V1);
	const uint32_t pfns[] = { 0x1005, 0x1003, 0x1004, 0x1010, 0x1011, 0x2000, 0x1004 };
	for (unsigned int i = 0; i < ARRAY_SIZE(pfns); i++)
		touch(fx, (uint64_t)pfns[i] << 12, 4096);
	add_pfns(fx, 0, pfns, ARRAY_SIZE(pfns));
	install_probe(fx, 0);
	fake_kick(&fx->fd, 0);

	assert_int_equal(probe.calls, 3);
	assert_int_equal(probe.gpa[0], 0x1003ull << 12);
	assert_int_equal(probe.len[0], 3 * 4096);
	assert_int_equal(probe.gpa[1], 0x1010ull << 12);
	assert_int_equal(probe.len[1], 2 * 4096);
	assert_int_equal(probe.gpa[2], 0x2000ull << 12);
	assert_int_equal(probe.len[2], 4096);
	assert_false(probe.order_violated);
	assert_int_equal(resident(fx, 0x1003ull << 12, 3 * 4096), 0);
	assert_int_equal(fx->b.counters.inflated_pages, ARRAY_SIZE(pfns));
	assert_int_equal(fx->b.counters.inflate_ranges, 3);
	uint32_t id, len;
	assert_true(fake_get_used(&fx->fd, 0, &id, &len));
	destroy(fx);
}

static void test_inflate_outside_ram_counted(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	bring_up(fx, V1);
	const uint32_t pfns[] = { 0x100, 0xfffff, 0xffffffff };
	add_pfns(fx, 0, pfns, ARRAY_SIZE(pfns));
	fake_kick(&fx->fd, 0);
	assert_int_equal(fx->b.counters.bad_descriptors, 2);
	uint32_t id, len;
	assert_true(fake_get_used(&fx->fd, 0, &id, &len));
	destroy(fx);
}

static void test_deflate_only_acknowledges(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	bring_up(fx, V1);
	touch(fx, 0x1000ull << 12, 4096);
	const uint32_t pfns[] = { 0x1000, 0x1001 };
	add_pfns(fx, 1, pfns, 2);
	install_probe(fx, 1);
	fake_kick(&fx->fd, 1);
	assert_int_equal(probe.calls, 0);
	assert_int_equal(fx->b.counters.deflated_pages, 2);
	assert_int_equal(resident(fx, 0x1000ull << 12, 4096), 4096);
	uint32_t id, len;
	assert_true(fake_get_used(&fx->fd, 1, &id, &len));
	destroy(fx);
}

/* ---- config: target, actual, deflate-on-oom ---- */

static uint32_t read_config32(struct fixture *fx, uint32_t off)
{
	uint32_t v = 0;
	virtio_mmio_bus_ops.read(&fx->b.transport, VIRTIO_MMIO_CONFIG + off, &v, 4);
	return v;
}

static void write_actual(struct fixture *fx, uint32_t pages)
{
	virtio_mmio_bus_ops.write(&fx->b.transport, VIRTIO_MMIO_CONFIG + 4, &pages, 4);
}

static void test_target_change_raises_config_interrupt(void **state)
{
	struct balloon_params p = default_params();
	p.target_mib = 8;
	struct fixture *fx = make(&p);
	assert_int_equal(read_config32(fx, 0), 8 * 256);
	bring_up(fx, V1);
	fake_take_interrupts(&fx->fd);
	uint32_t gen = fake_read_reg(&fx->fd, VIRTIO_MMIO_CONFIG_GENERATION);

	pthread_mutex_lock(&fx->b.transport.lock);
	assert_int_equal(balloon_set_target(&fx->b, 32), 0);
	pthread_mutex_unlock(&fx->b.transport.lock);

	assert_int_equal(read_config32(fx, 0), 32 * 256);
	assert_true(fake_read_reg(&fx->fd, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(fake_take_interrupts(&fx->fd), 1);
	assert_int_not_equal(fake_read_reg(&fx->fd, VIRTIO_MMIO_CONFIG_GENERATION), gen);

	write_actual(fx, 100);
	assert_int_equal(fx->b.actual, 100);
	assert_int_equal(read_config32(fx, 4), 100);
	/* The guest cannot move the target. */
	uint32_t bogus = 7;
	virtio_mmio_bus_ops.write(&fx->b.transport, VIRTIO_MMIO_CONFIG, &bogus, 4);
	assert_int_equal(read_config32(fx, 0), 32 * 256);
	destroy(fx);
}

static void test_deflate_on_oom_adopts_guest_size(void **state)
{
	struct balloon_params p = default_params();
	p.target_mib = 32;
	struct fixture *fx = make(&p);
	bring_up(fx, V1 | F(VIRTIO_BALLOON_F_DEFLATE_ON_OOM));
	fake_take_interrupts(&fx->fd);

	write_actual(fx, 16 * 256); /* inflating */
	write_actual(fx, 32 * 256); /* reached the target */
	assert_int_equal(fx->b.counters.oom_deflates, 0);
	write_actual(fx, 31 * 256); /* gave 1 MiB back under OOM */
	assert_int_equal(fx->b.counters.oom_deflates, 1);
	assert_int_equal(read_config32(fx, 0), 31 * 256);
	/* No interrupt: nothing must push the guest to inflate again. */
	assert_int_equal(fake_take_interrupts(&fx->fd), 0);

	/* A host-requested deflate is not an OOM event. */
	pthread_mutex_lock(&fx->b.transport.lock);
	balloon_set_target(&fx->b, 8);
	pthread_mutex_unlock(&fx->b.transport.lock);
	write_actual(fx, 8 * 256);
	assert_int_equal(fx->b.counters.oom_deflates, 1);
	assert_int_equal(read_config32(fx, 0), 8 * 256);
	destroy(fx);
}

static void test_without_deflate_on_oom_target_kept(void **state)
{
	struct balloon_params p = default_params();
	p.target_mib = 32;
	struct fixture *fx = make(&p);
	bring_up(fx, V1);
	write_actual(fx, 32 * 256);
	write_actual(fx, 31 * 256);
	assert_int_equal(read_config32(fx, 0), 32 * 256);
	assert_int_equal(fx->b.counters.oom_deflates, 0);
	destroy(fx);
}

/* ---- statistics ---- */

static void test_stats_held_until_poll_and_unknown_tags_kept(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	uint64_t features = V1 | F(VIRTIO_BALLOON_F_STATS_VQ);
	bring_up(fx, features);
	fake_take_interrupts(&fx->fd);

	struct virtio_balloon_stat stats[] = {
		{ .tag = VIRTIO_BALLOON_S_MEMFREE, .val = 100 << 20 },
		{ .tag = VIRTIO_BALLOON_S_MEMTOT, .val = 200 << 20 },
		{ .tag = 42, .val = 7 }, /* a tag from a newer guest */
	};
	uint64_t gpa = fake_alloc(&fx->fd, sizeof(stats), 8);
	memcpy(fake_ptr(&fx->fd, gpa, sizeof(stats)), stats, sizeof(stats));
	struct fake_buf b = { .gpa = gpa, .len = sizeof(stats) };
	uint16_t head = fake_add_chain(&fx->fd, 2, &b, 1);
	fake_kick(&fx->fd, 2);

	uint32_t id, len;
	assert_false(fake_get_used(&fx->fd, 2, &id, &len));
	assert_int_equal(fx->b.nr_stats, 3);
	assert_int_equal(fx->b.stats[0].tag, VIRTIO_BALLOON_S_MEMFREE);
	assert_int_equal(fx->b.stats[0].value, 100 << 20);
	assert_int_equal(fx->b.stats[2].tag, 42);
	assert_int_equal(fx->b.stats[2].value, 7);

	/* The 1 s poll returns the buffer, which asks the guest for fresh numbers. */
	bool returned = false;
	for (int i = 0; i < 30 && !(returned = fake_get_used(&fx->fd, 2, &id, &len)); i++)
		fake_run_loop(&fx->fd, 100);
	assert_true(returned);
	assert_int_equal(id, head);
	assert_true(fake_take_interrupts(&fx->fd) >= 1);

	pthread_mutex_lock(&fx->b.transport.lock);
	assert_int_equal(balloon_set_stats_interval(&fx->b, 5), 0);
	pthread_mutex_unlock(&fx->b.transport.lock);
	assert_int_equal(fx->b.stats_interval_s, 5);
	destroy(fx);
}

/* Linux primes the stats queue and kicks before it sets DRIVER_OK. */
static void test_buffers_queued_before_driver_ok_are_processed(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	uint64_t features = V1 | F(VIRTIO_BALLOON_F_STATS_VQ);
	uint32_t s = fake_negotiate(&fx->fd, features);
	assert_true(s & VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(fake_setup_queue(&fx->fd, i, BALLOON_QUEUE_SIZE), 1);

	struct virtio_balloon_stat stat = { .tag = VIRTIO_BALLOON_S_MEMFREE, .val = 42 };
	uint64_t gpa = fake_alloc(&fx->fd, sizeof(stat), 8);
	memcpy(fake_ptr(&fx->fd, gpa, sizeof(stat)), &stat, sizeof(stat));
	struct fake_buf b = { .gpa = gpa, .len = sizeof(stat) };
	fake_add_chain(&fx->fd, 2, &b, 1);
	fake_kick(&fx->fd, 2);
	assert_int_equal(fx->b.nr_stats, 0); /* not yet: the driver is not ready */

	fake_driver_ok(&fx->fd);
	fake_run_loop(&fx->fd, 100);
	assert_int_equal(fx->b.nr_stats, 1);
	assert_int_equal(fx->b.stats[0].value, 42);
	destroy(fx);
}

static void test_stats_interval_needs_stats_queue(void **state)
{
	struct balloon_params p = default_params();
	p.stats_interval_s = 0;
	struct fixture *fx = make(&p);
	assert_int_equal(balloon_set_stats_interval(&fx->b, 5), -ENOTSUP);
	destroy(fx);
}

/* ---- hostile rings: refused, counted, survived ---- */

static void test_descriptor_loop_refused(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	bring_up(fx, REPORT_FEATURES);
	struct vring_desc *d = fake_desc(&fx->fd, REPORTQ);
	d[0] = (struct vring_desc){ .addr = MiB(2), .len = MiB(2), .flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, .next = 1 };
	d[1] = (struct vring_desc){ .addr = MiB(4), .len = MiB(2), .flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, .next = 0 };
	fake_add_head(&fx->fd, REPORTQ, 0);
	install_probe(fx, REPORTQ);
	fake_kick(&fx->fd, REPORTQ);
	struct virtq *vq = virtio_mmio_queue(&fx->b.transport, REPORTQ);
	assert_int_equal(vq->errors[VQ_ERR_LOOP], 1);
	assert_int_equal(probe.calls, 0);
	uint32_t id, len;
	assert_true(fake_get_used(&fx->fd, REPORTQ, &id, &len));
	assert_int_equal(id, 0);
	destroy(fx);
}

static void test_chain_longer_than_queue_refused(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	bring_up(fx, REPORT_FEATURES | F(VIRTIO_RING_F_INDIRECT_DESC));
	/* Every descriptor chains to the next and the last wraps: 64 + 1 hops. */
	struct vring_desc *d = fake_desc(&fx->fd, REPORTQ);
	for (unsigned int i = 0; i < 64; i++)
		d[i] = (struct vring_desc){ .addr = MiB(2), .len = 4096,
					    .flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
					    .next = (i + 1) % 64 };
	fake_add_head(&fx->fd, REPORTQ, 5);
	fake_kick(&fx->fd, REPORTQ);
	struct virtq *vq = virtio_mmio_queue(&fx->b.transport, REPORTQ);
	assert_int_equal(vq->errors[VQ_ERR_LOOP], 1);

	/* An indirect table longer than a chain may be. */
	uint32_t n = VQ_MAX_CHAIN + 10;
	uint64_t table = fake_alloc(&fx->fd, n * 16ull, 16);
	struct vring_desc *t = fake_ptr(&fx->fd, table, n * 16ull);
	for (uint32_t i = 0; i < n; i++)
		t[i] = (struct vring_desc){ .addr = MiB(2), .len = 4096,
					    .flags = VRING_DESC_F_WRITE |
						     (i + 1 < n ? VRING_DESC_F_NEXT : 0),
					    .next = i + 1 };
	d[7] = (struct vring_desc){ .addr = table, .len = n * 16, .flags = VRING_DESC_F_INDIRECT };
	fake_add_head(&fx->fd, REPORTQ, 7);
	fake_kick(&fx->fd, REPORTQ);
	assert_int_equal(vq->errors[VQ_ERR_TOO_LONG], 1);
	uint32_t id, len;
	assert_true(fake_get_used(&fx->fd, REPORTQ, &id, &len));
	assert_true(fake_get_used(&fx->fd, REPORTQ, &id, &len));
	assert_int_equal(id, 7);
	destroy(fx);
}

static void test_bad_indirect_tables_refused(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	bring_up(fx, REPORT_FEATURES | F(VIRTIO_RING_F_INDIRECT_DESC));
	struct vring_desc *d = fake_desc(&fx->fd, REPORTQ);
	uint64_t table = fake_alloc(&fx->fd, 64, 16);
	struct vring_desc *t = fake_ptr(&fx->fd, table, 64);
	t[0] = (struct vring_desc){ .addr = table, .len = 32, .flags = VRING_DESC_F_INDIRECT };

	/* Length not a multiple of 16, outside RAM, nested, and INDIRECT|NEXT. */
	d[0] = (struct vring_desc){ .addr = table, .len = 24, .flags = VRING_DESC_F_INDIRECT };
	d[1] = (struct vring_desc){ .addr = FAKE_RAM_SIZE, .len = 32, .flags = VRING_DESC_F_INDIRECT };
	d[2] = (struct vring_desc){ .addr = table, .len = 32, .flags = VRING_DESC_F_INDIRECT };
	d[3] = (struct vring_desc){ .addr = table + 16, .len = 16,
				    .flags = VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, .next = 4 };
	for (uint16_t h = 0; h < 4; h++)
		fake_add_head(&fx->fd, REPORTQ, h);
	fake_kick(&fx->fd, REPORTQ);

	struct virtq *vq = virtio_mmio_queue(&fx->b.transport, REPORTQ);
	assert_int_equal(vq->errors[VQ_ERR_INDIRECT], 3);
	assert_int_equal(vq->errors[VQ_ERR_NESTED_INDIRECT], 1);
	uint32_t id, len;
	for (int i = 0; i < 4; i++)
		assert_true(fake_get_used(&fx->fd, REPORTQ, &id, &len));

	/* A good indirect chain still works afterwards. */
	touch(fx, MiB(6), MiB(2));
	t[2] = (struct vring_desc){ .addr = MiB(6), .len = MiB(2), .flags = VRING_DESC_F_WRITE };
	d[5] = (struct vring_desc){ .addr = table + 32, .len = 16, .flags = VRING_DESC_F_INDIRECT };
	fake_add_head(&fx->fd, REPORTQ, 5);
	fake_kick(&fx->fd, REPORTQ);
	assert_true(fake_get_used(&fx->fd, REPORTQ, &id, &len));
	assert_int_equal(id, 5);
	assert_int_equal(resident(fx, MiB(6), MiB(2)), 0);
	destroy(fx);
}

static void test_indirect_refused_unless_negotiated(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	bring_up(fx, REPORT_FEATURES);
	uint64_t table = fake_alloc(&fx->fd, 16, 16);
	struct vring_desc *t = fake_ptr(&fx->fd, table, 16);
	t[0] = (struct vring_desc){ .addr = MiB(2), .len = MiB(2), .flags = VRING_DESC_F_WRITE };
	fake_desc(&fx->fd, REPORTQ)[0] =
		(struct vring_desc){ .addr = table, .len = 16, .flags = VRING_DESC_F_INDIRECT };
	fake_add_head(&fx->fd, REPORTQ, 0);
	fake_kick(&fx->fd, REPORTQ);
	struct virtq *vq = virtio_mmio_queue(&fx->b.transport, REPORTQ);
	assert_int_equal(vq->errors[VQ_ERR_INDIRECT], 1);
	destroy(fx);
}

static void test_next_out_of_range_refused(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	bring_up(fx, REPORT_FEATURES);
	fake_desc(&fx->fd, REPORTQ)[0] = (struct vring_desc){
		.addr = MiB(2), .len = MiB(2), .flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
		.next = 999 };
	fake_add_head(&fx->fd, REPORTQ, 0);
	fake_kick(&fx->fd, REPORTQ);
	struct virtq *vq = virtio_mmio_queue(&fx->b.transport, REPORTQ);
	assert_int_equal(vq->errors[VQ_ERR_NEXT_RANGE], 1);
	uint32_t id, len;
	assert_true(fake_get_used(&fx->fd, REPORTQ, &id, &len));
	destroy(fx);
}

static void test_corrupt_ring_needs_reset_then_recovers(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	bring_up(fx, REPORT_FEATURES);
	fake_take_interrupts(&fx->fd);

	/* A head past the table has no id to complete: the device asks for a reset. */
	fake_add_head(&fx->fd, REPORTQ, 1000);
	fake_kick(&fx->fd, REPORTQ);
	uint32_t s = fake_read_reg(&fx->fd, VIRTIO_MMIO_STATUS);
	assert_true(s & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_true(fake_read_reg(&fx->fd, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	assert_true(fx->b.transport.needs_reset_events >= 1);

	/* The driver resets and starts over; the device works again. */
	bring_up(fx, REPORT_FEATURES);
	touch(fx, MiB(2), MiB(2));
	struct fake_buf b = { .gpa = MiB(2), .len = MiB(2), .writable = true };
	fake_add_chain(&fx->fd, REPORTQ, &b, 1);
	fake_kick(&fx->fd, REPORTQ);
	uint32_t id, len;
	assert_true(fake_get_used(&fx->fd, REPORTQ, &id, &len));
	assert_int_equal(resident(fx, MiB(2), MiB(2)), 0);

	/* The avail index jumping by more than the queue size is corruption too. */
	struct vring_avail *avail = fake_avail(&fx->fd, REPORTQ);
	__atomic_store_n(&avail->idx, avail->idx + 1000, __ATOMIC_RELEASE);
	fake_kick(&fx->fd, REPORTQ);
	struct virtq *vq = virtio_mmio_queue(&fx->b.transport, REPORTQ);
	assert_int_equal(vq->errors[VQ_ERR_AVAIL_IDX], 1);
	assert_true(fake_read_reg(&fx->fd, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	destroy(fx);
}

static void test_bad_queue_setup_refused(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	uint32_t s = fake_negotiate(&fx->fd, REPORT_FEATURES);
	assert_true(s & VIRTIO_CONFIG_S_FEATURES_OK);

	/* Not a power of two. */
	fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(fake_setup_queue(&fx->fd, 0, 33), 0);
	assert_true(fake_read_reg(&fx->fd, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);

	/* Larger than the device allows. */
	fake_negotiate(&fx->fd, REPORT_FEATURES);
	assert_int_equal(fake_setup_queue(&fx->fd, 0, 1024), 0);

	/* Rings outside guest RAM. */
	fake_negotiate(&fx->fd, REPORT_FEATURES);
	fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_SEL, 1);
	fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_NUM, 64);
	fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_DESC_HIGH, 1);
	fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(fake_read_reg(&fx->fd, VIRTIO_MMIO_QUEUE_READY), 0);

	/* A queue index that does not exist reports size 0 and ignores setup. */
	fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_SEL, 7);
	assert_int_equal(fake_read_reg(&fx->fd, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	fake_write_reg(&fx->fd, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(fake_read_reg(&fx->fd, VIRTIO_MMIO_QUEUE_READY), 0);

	/* Odd register widths and offsets are ignored. */
	uint16_t half = 0;
	virtio_mmio_bus_ops.read(&fx->b.transport, VIRTIO_MMIO_STATUS, &half, 2);
	assert_int_equal(half, 0);
	uint32_t v = 1;
	virtio_mmio_bus_ops.write(&fx->b.transport, VIRTIO_MMIO_CONFIG + 14, &v, 4);
	assert_true(fx->b.transport.bad_register_accesses > 0);
	destroy(fx);
}

static void test_event_idx_suppresses_interrupts(void **state)
{
	struct balloon_params p = default_params();
	struct fixture *fx = make(&p);
	bring_up(fx, REPORT_FEATURES | F(VIRTIO_RING_F_EVENT_IDX));
	fake_take_interrupts(&fx->fd);
	struct vring_avail *avail = fake_avail(&fx->fd, REPORTQ);
	uint16_t size = fx->fd.q[REPORTQ].size;

	/* The driver wants an interrupt only once used->idx passes 3. */
	avail->ring[size] = 3;
	struct fake_buf b = { .gpa = MiB(2), .len = MiB(2), .writable = true };
	uint64_t irqs = 0;
	for (int i = 0; i < 6; i++) {
		fake_add_chain(&fx->fd, REPORTQ, &b, 1);
		fake_kick(&fx->fd, REPORTQ);
		irqs += fake_take_interrupts(&fx->fd);
	}
	/* The first completion always signals; then only crossing used_event does. */
	assert_int_equal(irqs, 2);
	/* The device asks to be notified after what it consumed. */
	struct vring_used *used = fake_used(&fx->fd, REPORTQ);
	assert_int_equal(*(uint16_t *)&used->ring[size], 6);
	destroy(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offered_features),
		cmocka_unit_test(test_features_ok_refusals),
		cmocka_unit_test(test_queue_roles_all_combinations),
		cmocka_unit_test(test_reporting_index_follows_acked_not_offered),
		cmocka_unit_test(test_reporting_queue_needs_32),
		cmocka_unit_test(test_report_discards_before_completing),
		cmocka_unit_test(test_report_interrupts_batched),
		cmocka_unit_test(test_poison_skips_discard_but_completes),
		cmocka_unit_test(test_bad_report_descriptors_counted_chain_completed),
		cmocka_unit_test(test_inflate_sorts_and_coalesces),
		cmocka_unit_test(test_inflate_outside_ram_counted),
		cmocka_unit_test(test_deflate_only_acknowledges),
		cmocka_unit_test(test_target_change_raises_config_interrupt),
		cmocka_unit_test(test_deflate_on_oom_adopts_guest_size),
		cmocka_unit_test(test_without_deflate_on_oom_target_kept),
		cmocka_unit_test(test_stats_held_until_poll_and_unknown_tags_kept),
		cmocka_unit_test(test_buffers_queued_before_driver_ok_are_processed),
		cmocka_unit_test(test_stats_interval_needs_stats_queue),
		cmocka_unit_test(test_descriptor_loop_refused),
		cmocka_unit_test(test_chain_longer_than_queue_refused),
		cmocka_unit_test(test_bad_indirect_tables_refused),
		cmocka_unit_test(test_indirect_refused_unless_negotiated),
		cmocka_unit_test(test_next_out_of_range_refused),
		cmocka_unit_test(test_corrupt_ring_needs_reset_then_recovers),
		cmocka_unit_test(test_bad_queue_setup_refused),
		cmocka_unit_test(test_event_idx_suppresses_interrupts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
