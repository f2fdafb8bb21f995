// SPDX-License-Identifier: GPL-2.0
#include "tests/fuzz/support/fuzz_driver.h"

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <string.h>
#include <sys/mman.h>

#include "base/util.h"
#include "tests/fuzz/support/fuzz_env.h"

#define PAGE	     4096ull
#define MAX_REPEAT   300 /* past VQ_MAX_CHAIN */
#define MAX_INDIRECT 64
#define MAX_LOOP     4096 /* event-loop turns before a device counts as idle */

void fzd_init(struct fuzz_driver *d)
{
	fake_init_ram(&d->fake, FZ_RAM_SIZE);
	event_loop_destroy(&d->fake.loop); /* each input makes its own */
	d->fake.unchecked_completions = true; /* take_used() checks, knowing hostile inputs */
}

static void forget_queue(struct fuzz_driver *d, unsigned int idx)
{
	memset(&d->track[idx], 0, sizeof(d->track[idx]));
}

static void forget_all(struct fuzz_driver *d)
{
	memset(d->track, 0, sizeof(d->track));
	for (unsigned int i = 0; i < ARRAY_SIZE(d->fake.q); i++)
		free(d->fake.q[i].outstanding);
	memset(d->fake.q, 0, sizeof(d->fake.q));
}

/*
 * Zeroes what the last input may have written. A page the device discarded
 * is not resident and reads as zeros already: touching it would only fault
 * it back in, so mincore() says which pages to skip.
 */
static void zero_dirty_pages(struct fuzz_driver *d)
{
	static unsigned char resident[FZ_RAM_SIZE / PAGE];
	uint8_t *ram = fake_ptr(&d->fake, 0, FZ_RAM_SIZE);
	if (mincore(ram, FZ_RAM_SIZE, resident) < 0)
		memset(resident, 1, sizeof(resident));
	for (unsigned int i = 0; i < ARRAY_SIZE(d->dirty); i++)
		if ((d->dirty_all || d->dirty[i]) && (resident[i] & 1))
			memset(ram + i * PAGE, 0, PAGE);
	memset(d->dirty, 0, sizeof(d->dirty));
	d->dirty_all = false;
}

void fzd_begin(struct fuzz_driver *d, bool hostile)
{
	zero_dirty_pages(d);
	if (event_loop_init(&d->fake.loop) < 0)
		fuzz_fail("event_loop_init failed");
	forget_all(d);
	d->hostile = hostile;
	d->dirty_all = hostile;
	d->fake.t = NULL;
}

void fzd_attach(struct fuzz_driver *d, struct virtio_mmio *t)
{
	fake_attach(&d->fake, t);
}

void fzd_end(struct fuzz_driver *d)
{
	event_loop_destroy(&d->fake.loop);
}

static bool overlaps_rings(uint64_t gpa, uint64_t len)
{
	uint64_t end;
	if (len == 0)
		return false;
	if (__builtin_add_overflow(gpa, len, &end))
		end = UINT64_MAX;
	return gpa < FZ_RAM_SIZE && end > FZ_RING_BASE;
}

static void mark_dirty(struct fuzz_driver *d, uint64_t gpa, uint64_t len)
{
	if (len == 0 || gpa >= FZ_RAM_SIZE)
		return;
	uint64_t end = len > FZ_RAM_SIZE - gpa ? FZ_RAM_SIZE : gpa + len;
	for (uint64_t p = gpa / PAGE; p < (end + PAGE - 1) / PAGE; p++)
		d->dirty[p] = 1;
}

void fzd_device_writes(struct fuzz_driver *d, uint64_t gpa, uint64_t len)
{
	mark_dirty(d, gpa, len);
	if (overlaps_rings(gpa, len))
		d->hostile = true;
}

void fzd_write(struct fuzz_driver *d, uint64_t gpa, const void *src, uint64_t len)
{
	if (mem_write(&d->fake.mem, gpa, src, len) == 0)
		mark_dirty(d, gpa, len);
}

void fzd_dirty_all(struct fuzz_driver *d)
{
	d->dirty_all = true;
}

void fzd_setup_queue(struct fuzz_driver *d, unsigned int idx, uint16_t size)
{
	if (idx >= FAKE_MAX_QUEUES || size > FZ_MAX_QUEUE)
		return;
	/* fake_alloc is a bump allocator: pointed at the slot, it lays the rings out there. */
	d->fake.heap = FZ_RING_BASE + idx * FZ_RING_SLOT;
	fake_setup_queue(&d->fake, idx, size);
	mark_dirty(d, FZ_RING_BASE + idx * FZ_RING_SLOT, FZ_RING_SLOT);
	forget_queue(d, idx);
	/* After DRIVER_OK the device refuses new addresses: its view must still be ours. */
	const struct fake_queue *q = &d->fake.q[idx];
	const struct virtq *vq = virtio_mmio_queue(d->fake.t, idx);
	if (vq && vq->ready &&
	    (vq->size != q->size || vq->desc_gpa != q->desc || vq->avail_gpa != q->avail ||
	     vq->used_gpa != q->used))
		d->hostile = true;
}

/* Most sizes the device allows, sometimes one it must refuse. */
static uint16_t pick_size(struct fuzz_input *in, uint16_t max)
{
	uint8_t sel = fz_u8(in);
	if (max > FZ_MAX_QUEUE)
		max = FZ_MAX_QUEUE;
	if (sel >= 224)
		return sel & 0x3f;
	uint16_t size = max >> (sel % 4);
	return size ? size : 1;
}

void fzd_bring_up(struct fuzz_driver *d, struct fuzz_input *in)
{
	forget_all(d);
	uint64_t offered = fake_device_features(&d->fake);
	uint64_t acked = offered & (fz_u64(in) | (1ull << VIRTIO_F_VERSION_1));
	if (!(fake_negotiate(&d->fake, acked) & VIRTIO_CONFIG_S_FEATURES_OK))
		return;
	for (unsigned int i = 0; i < d->fake.t->nr_queues && i < FAKE_MAX_QUEUES; i++) {
		fake_write_reg(&d->fake, VIRTIO_MMIO_QUEUE_SEL, i);
		uint16_t max = fake_read_reg(&d->fake, VIRTIO_MMIO_QUEUE_NUM_MAX);
		fzd_setup_queue(d, i, pick_size(in, max));
	}
	fake_driver_ok(&d->fake);
}

uint64_t fzd_data_gpa(struct fuzz_input *in, uint64_t len, uint64_t align)
{
	uint64_t gpa = ((uint64_t)fz_u16(in) * 32) % FZ_DATA_SIZE;
	if (len > FZ_DATA_SIZE)
		len = FZ_DATA_SIZE;
	if (gpa + len > FZ_DATA_SIZE)
		gpa = FZ_DATA_SIZE - len;
	return gpa & ~(align - 1);
}

void fzd_buf(struct fuzz_driver *d, struct fuzz_input *in, struct fake_buf *b)
{
	uint8_t mode = fz_u8(in);
	b->writable = mode & 4;
	switch (mode & 3) {
	case 0: /* small, in the data area */
		b->len = fz_u8(in) * 16;
		b->gpa = fzd_data_gpa(in, b->len, 1);
		break;
	case 1: /* whole pages (what free page reporting sends) */
		b->len = (1 + fz_u8(in) % 64) * PAGE;
		b->gpa = fzd_data_gpa(in, b->len, PAGE);
		break;
	case 2: /* any length from a data address */
		b->gpa = fzd_data_gpa(in, 0, 1);
		b->len = fz_u32(in);
		break;
	default: /* anywhere, rings and past RAM included */
		b->gpa = fz_u64(in);
		b->len = fz_u32(in);
		break;
	}
	if (b->writable)
		fzd_device_writes(d, b->gpa, b->len);
}

static bool has_rings(struct fuzz_driver *d, unsigned int idx)
{
	return idx < FAKE_MAX_QUEUES && d->fake.q[idx].size;
}

static void track_head(struct fuzz_driver *d, unsigned int idx, uint16_t head)
{
	/*
	 * More chains out than the ring has entries, which a driver may not do:
	 * the device's used entries would wrap over ones not read yet.
	 */
	if (d->track[idx].nr_pending >= d->fake.q[idx].size)
		d->hostile = true;
	/* A head past the table never comes back: the device must call the ring corrupt. */
	if (head < d->fake.q[idx].size) {
		d->track[idx].pending[head]++;
		d->track[idx].nr_pending++;
	}
}

bool fzd_chain(struct fuzz_driver *d, unsigned int idx, const struct fake_buf *bufs, unsigned int n)
{
	if (!has_rings(d, idx) || n == 0)
		return false;
	track_head(d, idx, fake_add_chain(&d->fake, idx, bufs, n));
	return true;
}

static void op_chain(struct fuzz_driver *d, struct fuzz_input *in, unsigned int idx)
{
	struct fake_buf bufs[8];
	unsigned int n = 1 + fz_u8(in) % 8;
	for (unsigned int i = 0; i < n; i++)
		fzd_buf(d, in, &bufs[i]);
	fzd_chain(d, idx, bufs, n);
}

static void op_repeat(struct fuzz_driver *d, struct fuzz_input *in, unsigned int idx)
{
	static struct fake_buf bufs[MAX_REPEAT];
	unsigned int n = 1 + fz_u16(in) % MAX_REPEAT;
	fzd_buf(d, in, &bufs[0]);
	for (unsigned int i = 1; i < n; i++)
		bufs[i] = bufs[0];
	fzd_chain(d, idx, bufs, n);
}

static void op_indirect(struct fuzz_driver *d, struct fuzz_input *in, unsigned int idx)
{
	struct vring_desc table[MAX_INDIRECT];
	uint8_t shape = fz_u8(in);
	unsigned int n = 1 + shape % MAX_INDIRECT;
	for (unsigned int i = 0; i < n; i++) {
		struct fake_buf b;
		fzd_buf(d, in, &b);
		table[i] = (struct vring_desc){
			.addr = b.gpa,
			.len = b.len,
			.flags = (b.writable ? VRING_DESC_F_WRITE : 0) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0),
			.next = i + 1,
		};
	}
	uint64_t gpa = fzd_data_gpa(in, sizeof(table[0]) * n, 16);
	fzd_write(d, gpa, table, sizeof(table[0]) * n);
	if (!has_rings(d, idx))
		return;
	/* The table itself is one descriptor; some inputs make it a malformed one. */
	struct fake_buf top = { .gpa = gpa, .len = sizeof(table[0]) * n };
	uint16_t head = fake_add_chain(&d->fake, idx, &top, 1);
	struct vring_desc *desc = &fake_desc(&d->fake, idx)[head];
	desc->flags = VRING_DESC_F_INDIRECT;
	if (shape & 0x80)
		desc->flags |= fz_u16(in);
	if (shape & 0x40) {
		/* Entries past ours are whatever the data area holds. */
		desc->len = fz_u32(in);
		d->hostile = true;
		fzd_dirty_all(d);
	}
	track_head(d, idx, head);
}

static void op_desc(struct fuzz_driver *d, struct fuzz_input *in, unsigned int idx)
{
	struct fake_buf b;
	uint16_t i = fz_u16(in);
	fzd_buf(d, in, &b);
	uint16_t flags = fz_u16(in), next = fz_u16(in);
	if (!has_rings(d, idx))
		return;
	/* Any flags: an INDIRECT or WRITE bit here is the device's problem, not the driver's. */
	if (flags & VRING_DESC_F_WRITE)
		fzd_device_writes(d, b.gpa, b.len);
	if (flags & VRING_DESC_F_INDIRECT) {
		/* The table it names is whatever memory holds. */
		d->hostile = true;
		fzd_dirty_all(d);
	}
	fake_desc(&d->fake, idx)[i % d->fake.q[idx].size] =
		(struct vring_desc){ .addr = b.gpa, .len = b.len, .flags = flags, .next = next };
}

static void op_poke(struct fuzz_driver *d, struct fuzz_input *in)
{
	uint8_t bytes[32];
	size_t n = fz_bytes(in, bytes, 1 + fz_u8(in) % sizeof(bytes));
	fzd_write(d, fzd_data_gpa(in, n, 1), bytes, n);
}

static void op_u32s(struct fuzz_driver *d, struct fuzz_input *in)
{
	static uint32_t v[1024];
	unsigned int n = 1 + fz_u16(in) % 1024;
	uint32_t x = fz_u32(in);
	int32_t stride = (int8_t)fz_u8(in);
	for (unsigned int i = 0; i < n; i++, x += stride)
		v[i] = x;
	fzd_write(d, fzd_data_gpa(in, 4ull * n, 4), v, 4ull * n);
}

static void op_requeue(struct fuzz_driver *d, struct fuzz_input *in, unsigned int idx)
{
	bool again = fz_bool(in);
	fake_write_reg(&d->fake, VIRTIO_MMIO_QUEUE_SEL, idx);
	fake_write_reg(&d->fake, VIRTIO_MMIO_QUEUE_READY, 0);
	if (again && has_rings(d, idx))
		fzd_setup_queue(d, idx, d->fake.q[idx].size);
}

static void op_suppress(struct fuzz_driver *d, struct fuzz_input *in, unsigned int idx)
{
	uint16_t flags = fz_u16(in), used_event = fz_u16(in);
	if (!has_rings(d, idx))
		return;
	struct vring_avail *avail = fake_avail(&d->fake, idx);
	avail->flags = flags;
	avail->ring[d->fake.q[idx].size] = used_event;
}

static void op_avail_idx(struct fuzz_driver *d, struct fuzz_input *in, unsigned int idx)
{
	uint16_t v = fz_u16(in);
	if (!has_rings(d, idx))
		return;
	d->hostile = true;
	__atomic_store_n(&fake_avail(&d->fake, idx)->idx, v, __ATOMIC_RELEASE);
}

static void op_register(struct fuzz_driver *d, struct fuzz_input *in)
{
	uint32_t offset = (fz_u8(in) * 4) & 0xfc;
	/* Rings may move anywhere, and the device writes its used ring there. */
	d->hostile = true;
	fzd_dirty_all(d);
	fake_write_reg(&d->fake, offset, fz_u32(in));
}

bool fzd_op(struct fuzz_driver *d, struct fuzz_input *in, unsigned int op)
{
	unsigned int idx;
	switch (op) {
	case FZ_OP_CHAIN:
		op_chain(d, in, fz_u8(in) % FAKE_MAX_QUEUES);
		break;
	case FZ_OP_INDIRECT:
		op_indirect(d, in, fz_u8(in) % FAKE_MAX_QUEUES);
		break;
	case FZ_OP_REPEAT:
		op_repeat(d, in, fz_u8(in) % FAKE_MAX_QUEUES);
		break;
	case FZ_OP_DESC:
		op_desc(d, in, fz_u8(in) % FAKE_MAX_QUEUES);
		break;
	case FZ_OP_HEAD:
		idx = fz_u8(in) % FAKE_MAX_QUEUES;
		if (has_rings(d, idx)) {
			uint16_t head = fz_u16(in);
			fake_add_head(&d->fake, idx, head);
			track_head(d, idx, head);
		}
		break;
	case FZ_OP_KICK:
		fzd_kick(d, fz_u8(in) % FAKE_MAX_QUEUES);
		break;
	case FZ_OP_POKE:
		op_poke(d, in);
		break;
	case FZ_OP_U32S:
		op_u32s(d, in);
		break;
	case FZ_OP_REQUEUE:
		op_requeue(d, in, fz_u8(in) % FAKE_MAX_QUEUES);
		break;
	case FZ_OP_RESET:
		fake_write_reg(&d->fake, VIRTIO_MMIO_STATUS, 0);
		forget_all(d);
		break;
	case FZ_OP_BRING_UP:
		fzd_bring_up(d, in);
		break;
	case FZ_OP_SUPPRESS:
		op_suppress(d, in, fz_u8(in) % FAKE_MAX_QUEUES);
		break;
	case FZ_OP_AVAIL_IDX:
		op_avail_idx(d, in, fz_u8(in) % FAKE_MAX_QUEUES);
		break;
	case FZ_OP_REGISTER:
		op_register(d, in);
		break;
	case FZ_OP_RUN:
		fzd_run(d);
		break;
	default:
		return false;
	}
	return true;
}

static void take_used(struct fuzz_driver *d, unsigned int idx)
{
	uint32_t id, len;
	while (fake_get_used(&d->fake, idx, &id, &len)) {
		if (d->hostile)
			continue;
		struct fz_track *t = &d->track[idx];
		if (id >= d->fake.q[idx].size || !t->pending[id])
			fuzz_fail("queue %u: the device used head %u, which is not available "
				  "(never made available, completed already, or from before the "
				  "queue was set up again)",
				  idx, id);
		t->pending[id]--;
		t->nr_pending--;
	}
}

void fzd_run(struct fuzz_driver *d)
{
	for (int i = 0; i < MAX_LOOP; i++)
		if (event_loop_run_once(&d->fake.loop, 0) <= 0)
			break;
	for (unsigned int i = 0; i < FAKE_MAX_QUEUES; i++)
		if (has_rings(d, i))
			take_used(d, i);
}

void fzd_kick(struct fuzz_driver *d, unsigned int idx)
{
	fake_write_reg(&d->fake, VIRTIO_MMIO_QUEUE_NOTIFY, idx);
	fzd_run(d);
}

void fzd_finish(struct fuzz_driver *d, const unsigned int may_hold[FAKE_MAX_QUEUES])
{
	for (unsigned int i = 0; i < FAKE_MAX_QUEUES; i++)
		if (has_rings(d, i))
			fake_write_reg(&d->fake, VIRTIO_MMIO_QUEUE_NOTIFY, i);
	fzd_run(d);
	if (d->hostile || !virtio_mmio_driver_ok(d->fake.t))
		return;
	for (unsigned int i = 0; i < FAKE_MAX_QUEUES; i++) {
		const struct virtq *vq = virtio_mmio_queue(d->fake.t, i);
		if (!has_rings(d, i) || !vq || !vq->ready || vq->broken)
			continue;
		if (d->track[i].nr_pending > may_hold[i])
			fuzz_fail("queue %u: %u chain(s) never completed (the device may hold %u)",
				  i, d->track[i].nr_pending, may_hold[i]);
	}
}
