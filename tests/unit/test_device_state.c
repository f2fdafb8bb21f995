// SPDX-License-Identifier: GPL-2.0
/*
 * Device state through the descriptors' save and restore hooks: a balloon
 * and a drive in use are saved, restored into new instances on the same
 * guest memory, and carry on where they were (queue indices, targets,
 * counters). A state of another layout or a truncated one is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_balloon.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/conf.h"
#include "devices/virtio/balloon/balloon.h"
#include "devices/virtio/balloon/conf.h"
#include "devices/virtio/block/block.h"
#include "devices/virtio/block/conf.h"
#include "tests/unit/support/fake_driver.h"

#define F(bit) (1ull << (bit))

static const struct device_type *type_named(const char *section)
{
	const struct device_type *t = device_type_by_section(device_registry(), section);
	assert_non_null(t);
	return t;
}

static void bring_up(struct fake_driver *fd, uint64_t features, unsigned int nr_queues)
{
	assert_true(fake_negotiate(fd, features) & VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int i = 0; i < nr_queues; i++) {
		fake_write_reg(fd, VIRTIO_MMIO_QUEUE_SEL, i);
		uint16_t max = fake_read_reg(fd, VIRTIO_MMIO_QUEUE_NUM_MAX);
		assert_int_equal(fake_setup_queue(fd, i, max), 1);
	}
	fake_driver_ok(fd);
}

/* Saves dev and restores it into a new instance made with args. */
static void *round_trip(const struct device_type *t, void *dev, struct device_create_args *args,
			struct state_stream *saved)
{
	void *copy = NULL;
	state_writer_init(saved);
	assert_int_equal(t->save(dev, saved), 0);
	assert_int_equal(t->create(args, &copy), 0);
	struct state_stream rd;
	state_reader_init(&rd, saved->data, saved->len);
	assert_int_equal(t->restore(copy, &rd), 0);
	assert_true(state_at_end(&rd));
	return copy;
}

static void test_balloon_round_trip(void **state)
{
	const struct device_type *t = type_named("balloon");
	struct balloon_conf conf = { .amount_mib = 8,
				     .deflate_on_oom = true,
				     .stats_polling_interval_s = 1,
				     .free_page_reporting = true };
	struct balloon_settings settings;
	balloon_settings_init(&settings);
	struct fake_driver fd;
	fake_init(&fd);
	struct device_create_args args = { .conf = &conf,
					   .settings = &settings,
					   .mem = &fd.mem,
					   .loop = &fd.loop,
					   .slot = { 0xd0001000, 0x1000, 5 } };
	void *dev;
	assert_int_equal(t->create(&args, &dev), 0);
	struct balloon *b = dev;
	fake_attach(&fd, &b->transport);
	/* Without STATS_VQ the reporting queue is 2: indices come from what was acked. */
	uint64_t features = F(VIRTIO_F_VERSION_1) | F(VIRTIO_BALLOON_F_DEFLATE_ON_OOM) |
			    F(VIRTIO_BALLOON_F_REPORTING);
	bring_up(&fd, features, 3);

	/* Inflate two pages, and report 2 MiB, so both queues have moved on. */
	uint64_t pfns = fake_alloc(&fd, 8, 8);
	uint32_t list[2] = { 100, 101 };
	memcpy(fake_ptr(&fd, pfns, 8), list, 8);
	struct fake_buf inflate = { pfns, 8, false };
	fake_add_chain(&fd, 0, &inflate, 1);
	fake_kick(&fd, 0);
	struct fake_buf report = { 4ull << 20, 2u << 20, true };
	fake_add_chain(&fd, 2, &report, 1);
	fake_kick(&fd, 2);
	uint32_t id, len;
	assert_true(fake_get_used(&fd, 0, &id, &len));
	assert_true(fake_get_used(&fd, 2, &id, &len));
	balloon_set_target(b, 4);
	uint32_t actual = 512;
	virtio_mmio_bus_ops.write(&b->transport, VIRTIO_MMIO_CONFIG + 4, &actual, 4);

	/* The policy turned on after boot (as PATCH /balloon/policy does): not in the config. */
	b->policy_conf.enabled = true;
	b->policy_conf.margin_mib = 96;

	struct state_stream saved;
	struct balloon *r = round_trip(t, dev, &args, &saved);
	assert_true(r->policy_conf.enabled);
	assert_int_equal(r->policy_conf.margin_mib, 96);
	assert_int_equal(r->num_pages, b->num_pages);
	assert_int_equal(r->requested_pages, 4 * BALLOON_PAGES_PER_MIB);
	assert_int_equal(r->actual, 512);
	assert_int_equal(r->roles.reporting, 2);
	assert_int_equal(r->roles.stats, -1);
	assert_true(r->deflate_on_oom_acked);
	assert_int_equal(r->transport.status, b->transport.status);
	assert_int_equal(r->transport.acked_features, features);
	for (unsigned int q = 0; q < 3; q++) {
		assert_int_equal(r->transport.queues[q].used_idx, b->transport.queues[q].used_idx);
		assert_int_equal(r->transport.queues[q].last_avail,
				 b->transport.queues[q].last_avail);
		assert_true(r->transport.queues[q].ready);
	}
	assert_int_equal(r->counters.inflated_pages, 2);
	assert_int_equal(r->counters.reports, 1);

	/* The restored balloon carries on: the next report is its second. */
	fake_attach(&fd, &r->transport);
	fake_add_chain(&fd, 2, &report, 1);
	fake_kick(&fd, 2);
	assert_true(fake_get_used(&fd, 2, &id, &len));
	assert_int_equal(r->counters.reports, 2);
	assert_int_equal(r->transport.queues[2].used_idx, 2);

	/* A truncated state is refused. */
	struct state_stream rd;
	state_reader_init(&rd, saved.data, saved.len / 2);
	void *other;
	assert_int_equal(t->create(&args, &other), 0);
	assert_true(t->restore(other, &rd) < 0);
	t->destroy(other);

	state_free(&saved);
	t->destroy(r);
	t->destroy(dev);
	fake_destroy(&fd);
}

static int make_image(char *path, uint64_t bytes)
{
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)bytes), 0);
	close(fd);
	return 0;
}

static void *prepare_drive(const struct device_type *t, const char *path)
{
	struct block_conf conf = { .drive_id = "data", .path_on_host = (char *)path };
	void *prepared = NULL;
	assert_int_equal(t->prepare(&conf, &prepared), 0);
	return prepared;
}

static uint8_t write_sector(struct fake_driver *fd, uint64_t sector, uint8_t fill)
{
	struct virtio_blk_outhdr h = { .type = VIRTIO_BLK_T_OUT, .sector = sector };
	uint64_t hdr = fake_alloc(fd, sizeof(h), 16), data = fake_alloc(fd, 512, 8);
	uint64_t st = fake_alloc(fd, 1, 1);
	memcpy(fake_ptr(fd, hdr, sizeof(h)), &h, sizeof(h));
	memset(fake_ptr(fd, data, 512), fill, 512);
	struct fake_buf bufs[] = { { hdr, sizeof(h), false },
				   { data, 512, false },
				   { st, 1, true } };
	fake_add_chain(fd, 0, bufs, 3);
	fake_kick(fd, 0);
	uint32_t id, len;
	assert_true(fake_get_used(fd, 0, &id, &len));
	return *(uint8_t *)fake_ptr(fd, st, 1);
}

/* A drive on path, driven by a fake driver, that has written sector 3. */
struct drive_in_use {
	struct block_conf conf;
	struct fake_driver fd;
	struct device_create_args args;
	void *dev;
};

static void drive_in_use_start(struct drive_in_use *d, const struct device_type *t, char *path)
{
	d->conf = (struct block_conf){ .drive_id = "data", .path_on_host = path };
	fake_init(&d->fd);
	d->args = (struct device_create_args){ .conf = &d->conf,
					       .prepared = prepare_drive(t, path),
					       .mem = &d->fd.mem,
					       .loop = &d->fd.loop,
					       .slot = { 0xd0002000, 0x1000, 6 } };
	assert_int_equal(t->create(&d->args, &d->dev), 0);
	fake_attach(&d->fd, &((struct block *)d->dev)->transport);
	bring_up(&d->fd, F(VIRTIO_F_VERSION_1), 1);
	assert_int_equal(write_sector(&d->fd, 3, 0xab), VIRTIO_BLK_S_OK);
}

static void test_block_round_trip(void **state)
{
	const struct device_type *t = type_named("drives");
	char path[] = "/tmp/ebb-state-XXXXXX", small[] = "/tmp/ebb-state-small-XXXXXX";
	make_image(path, 1 << 20);
	make_image(small, 1 << 19);
	struct drive_in_use d;
	drive_in_use_start(&d, t, path);
	void *dev = d.dev;

	struct state_stream saved;
	d.args.prepared = prepare_drive(t, path);
	struct block *r = round_trip(t, dev, &d.args, &saved);
	assert_int_equal(r->counters.writes, 1);
	assert_int_equal(r->transport.queues[0].used_idx, 1);
	fake_attach(&d.fd, &r->transport);
	assert_int_equal(write_sector(&d.fd, 4, 0xcd), VIRTIO_BLK_S_OK);
	assert_int_equal(r->counters.writes, 2);
	assert_int_equal(r->transport.queues[0].used_idx, 2);

	/* The same state on a drive whose image has another size is refused. */
	d.args.prepared = prepare_drive(t, small);
	void *other;
	assert_int_equal(t->create(&d.args, &other), 0);
	struct state_stream rd;
	state_reader_init(&rd, saved.data, saved.len);
	assert_int_equal(t->restore(other, &rd), -EPROTO);
	t->destroy(other);

	state_free(&saved);
	t->destroy(r);
	t->destroy(dev);
	fake_destroy(&d.fd);
	unlink(path);
	unlink(small);
}

/*
 * A drive saved with an interrupt decided (not yet raised) and the guest's
 * interrupt status as given; the interrupts its restored copy raises.
 */
static uint64_t interrupts_after_round_trip(bool decided, uint32_t status)
{
	const struct device_type *t = type_named("drives");
	char path[] = "/tmp/ebb-state-XXXXXX";
	make_image(path, 1 << 20);
	struct drive_in_use d;
	drive_in_use_start(&d, t, path);
	void *dev = d.dev;
	struct block *b = dev;
	fake_take_interrupts(&d.fd);
	/* The save runs between a push that decided to interrupt and the loop's raise. */
	b->transport.vring_irq_pending = decided;
	__atomic_store_n(&b->transport.interrupt_status, status, __ATOMIC_RELEASE);

	struct state_stream saved;
	d.args.prepared = prepare_drive(t, path);
	struct block *r = round_trip(t, dev, &d.args, &saved);
	fake_attach(&d.fd, &r->transport);
	virtio_mmio_flush_interrupts(&r->transport);
	uint64_t raised = fake_take_interrupts(&d.fd);
	if (raised)
		assert_true(fake_read_reg(&d.fd, VIRTIO_MMIO_INTERRUPT_STATUS) &
			    VIRTIO_MMIO_INT_VRING);
	state_free(&saved);
	t->destroy(r);
	t->destroy(dev);
	fake_destroy(&d.fd);
	unlink(path);
	return raised;
}

static void test_interrupt_survives_the_save(void **state)
{
	/* Decided and not raised, or raised and not acknowledged: raised again. */
	assert_int_equal(interrupts_after_round_trip(true, 0), 1);
	assert_int_equal(interrupts_after_round_trip(false, VIRTIO_MMIO_INT_VRING), 1);
	/* Control: nothing owed, nothing raised. */
	assert_int_equal(interrupts_after_round_trip(false, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_balloon_round_trip),
		cmocka_unit_test(test_block_round_trip),
		cmocka_unit_test(test_interrupt_survives_the_save),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
