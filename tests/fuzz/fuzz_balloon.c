// SPDX-License-Identifier: GPL-2.0
/*
 * The balloon behind the split virtqueue: inflate, deflate, statistics and
 * free page reporting, with the device's options and the acked features
 * drawn from the input. The input is one byte of options, the bring-up
 * (features, queue sizes) and up to FZ_MAX_OPS operations: the shared ones
 * of support/fuzz_driver.h and the balloon's below. Besides ASan and UBSan,
 * the driver checks that every chain comes back once; only the stats queue
 * may keep one buffer.
 */
#include <linux/virtio_mmio.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/timerfd.h>

#include "devices/conf.h"
#include "devices/virtio/balloon/balloon.h"
#include "tests/fuzz/support/fuzz_driver.h"
#include "tests/fuzz/support/fuzz_env.h"

#define STAT_ENTRY_SIZE 10
#define STATS_PERIOD_S	3600 /* never fires by itself: the input ticks it */

enum {
	OP_PFNS = FZ_NR_OPS, /* a PFN array on inflate or deflate */
	OP_STATS,	     /* a statistics buffer */
	OP_REPORT,	     /* a reporting chain of page ranges */
	OP_CONFIG_WRITE,
	OP_CONFIG_READ,
	OP_TICK,     /* the statistics timer fires */
	OP_TARGET,   /* the operator sets a target (PATCH /balloon) */
	OP_INTERVAL, /* the operator changes the statistics interval */
	OP_SNAPSHOT, /* saved, restored into a new device, which carries on */
	NR_OPS,
};

static struct fuzz_driver drv;
static const struct device_type *balloon_type;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_env_init();
	fzd_init(&drv);
	balloon_type = device_type_by_section(device_registry(), "balloon");
	return 0;
}

/* Inflate and reporting discard through here: a discard of the rings voids the checks. */
static int64_t discard_probe(struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	fzd_device_writes(&drv, gpa, len);
	return mem_discard(mem, gpa, len);
}

static struct balloon *create(const struct balloon_params *p)
{
	struct balloon *b = calloc(1, sizeof(*b));
	if (!b || balloon_init(b, p, &drv.fake.mem, &drv.fake.loop, 0xd0000000, 5) < 0)
		fuzz_fail("balloon_init failed");
	b->discard = discard_probe;
	return b;
}

static void destroy(struct balloon *b)
{
	balloon_destroy(b);
	free(b);
}

static void op_pfns(struct balloon *b, struct fuzz_input *in)
{
	static uint32_t pfns[1024];
	uint8_t shape = fz_u8(in);
	unsigned int n = 1 + fz_u16(in) % 1024;
	uint32_t pfn = fz_u16(in) % 512; /* RAM has 256 pages: some are past it */
	int32_t stride = (int8_t)fz_u8(in);
	for (unsigned int i = 0; i < n; i++, pfn += stride)
		pfns[i] = pfn;
	uint64_t gpa = fzd_data_gpa(in, 4ull * n, 4);
	fzd_write(&drv, gpa, pfns, 4ull * n);
	/* One to three buffers over the array, the last one maybe ragged. */
	struct fake_buf bufs[3];
	unsigned int nr = 1 + shape % 3, per = 4 * n / nr;
	for (unsigned int i = 0; i < nr; i++)
		bufs[i] = (struct fake_buf){ .gpa = gpa + i * per, .len = per };
	bufs[nr - 1].len += 4 * n % nr + (shape >> 4) % 4;
	unsigned int q = shape & 8 ? b->roles.deflate : b->roles.inflate;
	if (fzd_chain(&drv, q, bufs, nr))
		fzd_kick(&drv, q);
}

static void op_stats(struct balloon *b, struct fuzz_input *in)
{
	uint8_t raw[BALLOON_MAX_STATS * STAT_ENTRY_SIZE + 16];
	unsigned int n = fz_u8(in) % (BALLOON_MAX_STATS + 4);
	if (n > BALLOON_MAX_STATS)
		n = BALLOON_MAX_STATS;
	for (unsigned int i = 0; i < n; i++) {
		uint16_t tag = fz_u8(in) % 20;
		uint64_t value = fz_u64(in);
		memcpy(raw + i * STAT_ENTRY_SIZE, &tag, 2);
		memcpy(raw + i * STAT_ENTRY_SIZE + 2, &value, 8);
	}
	/* Sometimes a ragged tail, or more than the device keeps. */
	uint32_t len = n * STAT_ENTRY_SIZE + fz_u8(in) % 16;
	uint64_t gpa = fzd_data_gpa(in, len, 2);
	fzd_write(&drv, gpa, raw, len);
	struct fake_buf buf = { .gpa = gpa, .len = len };
	if (b->roles.stats >= 0 && fzd_chain(&drv, b->roles.stats, &buf, 1))
		fzd_kick(&drv, b->roles.stats);
}

static void op_report(struct balloon *b, struct fuzz_input *in)
{
	struct fake_buf bufs[8];
	uint8_t shape = fz_u8(in);
	unsigned int n = 1 + shape % 8;
	for (unsigned int i = 0; i < n; i++) {
		bufs[i].len = (1 + fz_u8(in) % 64) * 4096;
		bufs[i].gpa = fzd_data_gpa(in, bufs[i].len, 4096);
		bufs[i].writable = !(shape & 0x80);
		/* Some ranges start or end inside a page. */
		if (shape & 0x40)
			bufs[i].len -= fz_u8(in);
	}
	if (b->roles.reporting >= 0 && fzd_chain(&drv, b->roles.reporting, bufs, n))
		fzd_kick(&drv, b->roles.reporting);
}

static void op_config(struct fuzz_input *in, bool write)
{
	uint8_t data[8] = { 0 };
	uint32_t offset = fz_u8(in) % 16;
	unsigned int len = 1u << (fz_u8(in) % 4);
	fz_bytes(in, data, len);
	if (write)
		virtio_mmio_bus_ops.write(drv.fake.t, VIRTIO_MMIO_CONFIG + offset, data, len);
	else
		virtio_mmio_bus_ops.read(drv.fake.t, VIRTIO_MMIO_CONFIG + offset, data, len);
}

/* A one-shot expiry now, waited for, then the loop runs the device's handler. */
static void op_tick(struct balloon *b)
{
	struct itimerspec now = { .it_value = { 0, 1 } };
	if (b->stats_timer_fd < 0 || timerfd_settime(b->stats_timer_fd, 0, &now, NULL) < 0)
		return;
	struct pollfd p = { .fd = b->stats_timer_fd, .events = POLLIN };
	if (poll(&p, 1, 1000) != 1)
		fuzz_fail("the statistics timer did not fire");
	fzd_run(&drv);
}

static struct balloon *op_snapshot(struct balloon *b, const struct balloon_params *p)
{
	struct state_stream s, rd;
	state_writer_init(&s);
	if (balloon_type->save(b, &s) < 0)
		fuzz_fail("saving the balloon failed");
	struct balloon *copy = create(p);
	state_reader_init(&rd, s.data, s.len);
	int ret = balloon_type->restore(copy, &rd);
	if (ret < 0 || !state_at_end(&rd))
		fuzz_fail("restoring a state just saved failed: %d", ret);
	state_free(&s);
	destroy(b);
	fzd_attach(&drv, &copy->transport);
	return copy;
}

static struct balloon *op(struct balloon *b, const struct balloon_params *p, struct fuzz_input *in,
			  unsigned int op)
{
	switch (op) {
	case OP_PFNS:
		op_pfns(b, in);
		break;
	case OP_STATS:
		op_stats(b, in);
		break;
	case OP_REPORT:
		op_report(b, in);
		break;
	case OP_CONFIG_WRITE:
	case OP_CONFIG_READ:
		op_config(in, op == OP_CONFIG_WRITE);
		break;
	case OP_TICK:
		op_tick(b);
		break;
	case OP_TARGET:
		pthread_mutex_lock(&b->transport.lock);
		balloon_set_target(b, fz_u8(in) % 3);
		pthread_mutex_unlock(&b->transport.lock);
		break;
	case OP_INTERVAL:
		pthread_mutex_lock(&b->transport.lock);
		balloon_set_stats_interval(b, STATS_PERIOD_S + fz_u8(in));
		pthread_mutex_unlock(&b->transport.lock);
		break;
	case OP_SNAPSHOT:
		return op_snapshot(b, p);
	default:
		fzd_op(&drv, in, op);
		break;
	}
	return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in;
	fz_init(&in, data, size);
	uint8_t opts = fz_u8(&in);
	fuzz_env_begin(opts & 1);
	struct balloon_params p = {
		.target_mib = fz_u8(&in) % 3,
		.deflate_on_oom = opts & 2,
		.stats_interval_s = opts & 4 ? STATS_PERIOD_S : 0,
		.reporting = opts & 8,
		.reporting_queue_size = 32u << ((opts >> 4) % 6),
	};
	fzd_begin(&drv, false);
	struct balloon *b = create(&p);
	fzd_attach(&drv, &b->transport);
	fzd_bring_up(&drv, &in);
	for (int i = 0; i < FZ_MAX_OPS && !fz_empty(&in); i++)
		b = op(b, &p, &in, fz_u8(&in) % NR_OPS);

	unsigned int may_hold[FAKE_MAX_QUEUES] = { 0 };
	if (b->roles.stats >= 0)
		may_hold[b->roles.stats] = 1; /* the device keeps the latest until the next poll */
	fzd_finish(&drv, may_hold);
	const struct balloon_counters *c = &b->counters;
	fuzz_trace("status 0x%x%s: %llu inflated, %llu deflated, %llu reports, %llu stats updates, "
		   "%llu bad descriptors, actual %u, target %u",
		   b->transport.status, drv.hostile ? " (hostile)" : "",
		   (unsigned long long)c->inflated_pages, (unsigned long long)c->deflated_pages,
		   (unsigned long long)c->reports, (unsigned long long)c->stats_updates,
		   (unsigned long long)c->bad_descriptors, b->actual, b->num_pages);
	destroy(b);
	fzd_end(&drv);
	fuzz_env_end();
	return 0;
}
