// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-mmio register file: reads and writes of any register, any
 * width, any value, in any order, with a balloon or a drive behind it,
 * starting from a device no driver has touched. Status transitions, queue
 * setup, notifications and the config space are all reachable from here;
 * the shared operations of support/fuzz_driver.h are mixed in, so rings
 * the input set up by hand also get chains. Every input is hostile to the
 * driver's bookkeeping: only ASan and UBSan judge.
 */
#include <linux/virtio_mmio.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/util.h"
#include "devices/virtio/balloon/balloon.h"
#include "devices/virtio/block/block.h"
#include "tests/fuzz/support/fuzz_driver.h"
#include "tests/fuzz/support/fuzz_env.h"

enum {
	OP_WRITE = FZ_NR_OPS, /* a register */
	OP_READ,
	OP_NEGOTIATE, /* the usual sequence, with features from the input */
	OP_QUEUE,     /* a queue at its ring slot, any size */
	OP_OPERATOR,  /* balloon: a new target; drive: the image resized */
	OP_TICK,      /* balloon: the statistics timer fires */
	NR_OPS,
};

static const uint16_t registers[] = {
	VIRTIO_MMIO_MAGIC_VALUE,     VIRTIO_MMIO_VERSION,
	VIRTIO_MMIO_DEVICE_ID,	     VIRTIO_MMIO_VENDOR_ID,
	VIRTIO_MMIO_DEVICE_FEATURES, VIRTIO_MMIO_DEVICE_FEATURES_SEL,
	VIRTIO_MMIO_DRIVER_FEATURES, VIRTIO_MMIO_DRIVER_FEATURES_SEL,
	VIRTIO_MMIO_QUEUE_SEL,	     VIRTIO_MMIO_QUEUE_NUM_MAX,
	VIRTIO_MMIO_QUEUE_NUM,	     VIRTIO_MMIO_QUEUE_READY,
	VIRTIO_MMIO_QUEUE_NOTIFY,    VIRTIO_MMIO_INTERRUPT_STATUS,
	VIRTIO_MMIO_INTERRUPT_ACK,   VIRTIO_MMIO_STATUS,
	VIRTIO_MMIO_QUEUE_DESC_LOW,  VIRTIO_MMIO_QUEUE_DESC_HIGH,
	VIRTIO_MMIO_QUEUE_AVAIL_LOW, VIRTIO_MMIO_QUEUE_AVAIL_HIGH,
	VIRTIO_MMIO_QUEUE_USED_LOW,  VIRTIO_MMIO_QUEUE_USED_HIGH,
	VIRTIO_MMIO_SHM_SEL,	     VIRTIO_MMIO_SHM_LEN_LOW,
	VIRTIO_MMIO_SHM_LEN_HIGH,    VIRTIO_MMIO_SHM_BASE_LOW,
	VIRTIO_MMIO_SHM_BASE_HIGH,   VIRTIO_MMIO_CONFIG_GENERATION,
	VIRTIO_MMIO_CONFIG,	     VIRTIO_MMIO_CONFIG + 4,
	VIRTIO_MMIO_CONFIG + 8,	     VIRTIO_MMIO_CONFIG + 0x14,
};

static struct fuzz_driver drv;
static int image = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_env_init();
	fzd_init(&drv);
	image = memfd_create("fuzz-mmio-image", MFD_CLOEXEC);
	if (image < 0 || ftruncate(image, 64 * BLOCK_SECTOR_SIZE) < 0)
		fuzz_fail("cannot make the image");
	return 0;
}

/* Either device, behind the same transport. */
struct dev {
	struct balloon *balloon;
	struct block *block;
	struct virtio_mmio *t;
};

static void create(struct dev *d, uint8_t opts)
{
	memset(d, 0, sizeof(*d));
	if (opts & 2) {
		struct block_params p = { .drive_id = "mmio",
					  .fd = dup(image),
					  .sectors = 64,
					  .read_only = opts & 4,
					  .writeback = opts & 8 };
		d->block = calloc(1, sizeof(*d->block));
		if (!d->block || p.fd < 0 ||
		    block_init(d->block, &p, &drv.fake.mem, &drv.fake.loop, 0xd0001000, 6) < 0)
			fuzz_fail("block_init failed");
		d->t = &d->block->transport;
	} else {
		struct balloon_params p = { .target_mib = 1,
					    .deflate_on_oom = opts & 4,
					    .stats_interval_s = opts & 8 ? 3600 : 0,
					    .reporting = opts & 16,
					    .reporting_queue_size = 32u << ((opts >> 5) % 6) };
		d->balloon = calloc(1, sizeof(*d->balloon));
		if (!d->balloon ||
		    balloon_init(d->balloon, &p, &drv.fake.mem, &drv.fake.loop, 0xd0000000, 5) < 0)
			fuzz_fail("balloon_init failed");
		d->t = &d->balloon->transport;
	}
}

static void destroy(struct dev *d)
{
	if (d->block) {
		block_destroy(d->block);
		free(d->block);
		/* Zeros again, and its first size. */
		if (ftruncate(image, 0) < 0 || ftruncate(image, 64 * BLOCK_SECTOR_SIZE) < 0)
			fuzz_fail("cannot reset the image");
	} else {
		balloon_destroy(d->balloon);
		free(d->balloon);
	}
}

/* A register offset: mostly a real one, sometimes any offset in the window. */
static uint32_t pick_offset(struct fuzz_input *in)
{
	uint8_t sel = fz_u8(in);
	if (sel < 0xe0)
		return registers[sel % ARRAY_SIZE(registers)];
	return fz_u16(in) & 0x1ff;
}

static unsigned int pick_len(struct fuzz_input *in)
{
	static const unsigned int lens[] = { 4, 4, 4, 4, 1, 2, 8, 3 };
	return lens[fz_u8(in) % ARRAY_SIZE(lens)];
}

/* Values a driver would write (status bits, ring addresses in RAM), or anything. */
static uint32_t pick_value(struct fuzz_input *in)
{
	uint8_t sel = fz_u8(in);
	switch (sel % 4) {
	case 0:
		return fz_u8(in); /* status bits, small indices and sizes */
	case 1:
		return (uint32_t)((fz_u16(in) * 16ull) % FZ_RAM_SIZE);
	case 2:
		return 1u << (fz_u8(in) % 32); /* one feature bit */
	default:
		return fz_u32(in);
	}
}

static void op_write(struct fuzz_input *in)
{
	uint32_t offset = pick_offset(in);
	unsigned int len = pick_len(in);
	uint64_t v = pick_value(in) | (uint64_t)pick_value(in) << 32;
	virtio_mmio_bus_ops.write(drv.fake.t, offset, &v, len);
}

static void op_read(struct fuzz_input *in)
{
	uint64_t v;
	uint32_t offset = pick_offset(in);
	virtio_mmio_bus_ops.read(drv.fake.t, offset, &v, pick_len(in));
}

static void op_tick(struct dev *d)
{
	struct itimerspec now = { .it_value = { 0, 1 } };
	if (!d->balloon || d->balloon->stats_timer_fd < 0 ||
	    timerfd_settime(d->balloon->stats_timer_fd, 0, &now, NULL) < 0)
		return;
	struct pollfd p = { .fd = d->balloon->stats_timer_fd, .events = POLLIN };
	if (poll(&p, 1, 1000) != 1)
		fuzz_fail("the statistics timer did not fire");
}

static void op_operator(struct dev *d, struct fuzz_input *in)
{
	uint8_t v = fz_u8(in);
	pthread_mutex_lock(&d->t->lock);
	if (d->balloon)
		balloon_set_target(d->balloon, v % 3);
	else if (ftruncate(image, v * 256ull) < 0)
		fuzz_fail("cannot resize the image");
	pthread_mutex_unlock(&d->t->lock);
}

static void op(struct dev *d, struct fuzz_input *in, unsigned int op)
{
	switch (op) {
	case OP_WRITE:
		op_write(in);
		break;
	case OP_READ:
		op_read(in);
		break;
	case OP_NEGOTIATE: {
		/* Mostly features the device offered; sometimes ones it never did. */
		bool raw = fz_bool(in);
		uint64_t f = fz_u64(in);
		fake_negotiate(&drv.fake, raw ? f : f & fake_device_features(&drv.fake));
		break;
	}
	case OP_QUEUE: {
		unsigned int idx = fz_u8(in) % FAKE_MAX_QUEUES;
		fzd_setup_queue(&drv, idx, fz_u16(in) % (FZ_MAX_QUEUE + 1));
		break;
	}
	case OP_OPERATOR:
		op_operator(d, in);
		break;
	case OP_TICK:
		op_tick(d);
		break;
	default:
		fzd_op(&drv, in, op);
		break;
	}
	/* Notifications and DRIVER_OK's look at every queue arrive through the loop. */
	fzd_run(&drv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in;
	struct dev d;
	fz_init(&in, data, size);
	uint8_t opts = fz_u8(&in);
	fuzz_env_begin(opts & 1);
	fzd_begin(&drv, true);
	create(&d, opts);
	fzd_attach(&drv, d.t);
	for (int i = 0; i < FZ_MAX_OPS && !fz_empty(&in); i++)
		op(&d, &in, fz_u8(&in) % NR_OPS);
	fuzz_trace("%s: status 0x%x, %u queues, %llu interrupts, %llu bad register accesses, "
		   "%llu needs-reset events",
		   d.block ? "drive" : "balloon", d.t->status, d.t->nr_queues,
		   (unsigned long long)d.t->interrupts_raised,
		   (unsigned long long)d.t->bad_register_accesses,
		   (unsigned long long)d.t->needs_reset_events);
	destroy(&d);
	fzd_end(&drv);
	fuzz_env_end();
	return 0;
}
