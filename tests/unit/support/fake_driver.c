// SPDX-License-Identifier: GPL-2.0
#include "tests/unit/support/fake_driver.h"

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

#define HEAP_SIZE (16ull << 20)

static void die(const char *what)
{
	fprintf(stderr, "fake driver: %s\n", what);
	abort();
}

void fake_init_ram(struct fake_driver *fd, uint64_t ram_size)
{
	memset(fd, 0, sizeof(*fd));
	/* Devices log every event at info; tests and benchmarks want only errors. */
	log_set_level(LOG_ERROR);
	const struct mem_region layout[] = { { .gpa = 0, .size = ram_size } };
	if (mem_init(&fd->mem, MEM_BACKING_ANON, false, layout, 1) < 0)
		die("mem_init");
	if (event_loop_init(&fd->loop) < 0)
		die("event_loop_init");
	fd->ram_size = ram_size;
	fd->heap = ram_size - HEAP_SIZE;
}

void fake_init(struct fake_driver *fd)
{
	fake_init_ram(fd, FAKE_RAM_SIZE);
}

static int no_dirty_log_enable(void *opaque)
{
	return 0;
}

static int no_dirty_log_collect(void *opaque, unsigned int region, uint64_t *bits)
{
	return 0;
}

void fake_dirty_source(struct fake_driver *fd)
{
	static const struct mem_dirty_source src = { no_dirty_log_enable, no_dirty_log_collect,
						     NULL };
	mem_set_dirty_source(&fd->mem, &src);
}

void fake_attach(struct fake_driver *fd, struct virtio_mmio *t)
{
	fd->t = t;
}

void fake_destroy(struct fake_driver *fd)
{
	for (unsigned int i = 0; i < FAKE_MAX_QUEUES; i++)
		free(fd->q[i].outstanding);
	event_loop_destroy(&fd->loop);
	mem_destroy(&fd->mem);
}

uint64_t fake_alloc(struct fake_driver *fd, uint64_t size, uint64_t align)
{
	uint64_t gpa = ALIGN_UP(fd->heap, align);
	if (gpa + size > fd->ram_size)
		die("out of fake guest memory");
	fd->heap = gpa + size;
	memset(fake_ptr(fd, gpa, size), 0, size);
	return gpa;
}

void *fake_ptr(struct fake_driver *fd, uint64_t gpa, uint64_t len)
{
	void *p = mem_gpa_to_hva(&fd->mem, gpa, len);
	if (!p)
		die("fake_ptr outside RAM");
	return p;
}

uint32_t fake_read_reg(struct fake_driver *fd, uint32_t offset)
{
	uint32_t v = 0;
	virtio_mmio_bus_ops.read(fd->t, offset, &v, 4);
	return v;
}

void fake_write_reg(struct fake_driver *fd, uint32_t offset, uint32_t value)
{
	virtio_mmio_bus_ops.write(fd->t, offset, &value, 4);
}

uint64_t fake_device_features(struct fake_driver *fd)
{
	fake_write_reg(fd, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t lo = fake_read_reg(fd, VIRTIO_MMIO_DEVICE_FEATURES);
	fake_write_reg(fd, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	uint64_t hi = fake_read_reg(fd, VIRTIO_MMIO_DEVICE_FEATURES);
	return lo | (hi << 32);
}

uint32_t fake_negotiate(struct fake_driver *fd, uint64_t features)
{
	fake_write_reg(fd, VIRTIO_MMIO_STATUS, 0);
	fake_write_reg(fd, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	fake_write_reg(fd, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	fake_write_reg(fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	fake_write_reg(fd, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	fake_write_reg(fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fake_write_reg(fd, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	fake_write_reg(fd, VIRTIO_MMIO_STATUS,
		       VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			       VIRTIO_CONFIG_S_FEATURES_OK);
	return fake_read_reg(fd, VIRTIO_MMIO_STATUS);
}

uint32_t fake_setup_queue(struct fake_driver *fd, unsigned int idx, uint16_t size)
{
	struct fake_queue *q = &fd->q[idx];
	free(q->outstanding);
	memset(q, 0, sizeof(*q));
	q->size = size;
	q->outstanding = calloc(size ? size : 1, sizeof(*q->outstanding));
	if (!q->outstanding)
		die("out of memory");
	q->desc = fake_alloc(fd, 16ull * size, 16);
	q->avail = fake_alloc(fd, 6 + 2ull * size, 2);
	q->used = fake_alloc(fd, 6 + 8ull * size, 4);
	fake_write_reg(fd, VIRTIO_MMIO_QUEUE_SEL, idx);
	fake_write_reg(fd, VIRTIO_MMIO_QUEUE_NUM, size);
	fake_write_reg(fd, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)q->desc);
	fake_write_reg(fd, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(q->desc >> 32));
	fake_write_reg(fd, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)q->avail);
	fake_write_reg(fd, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(q->avail >> 32));
	fake_write_reg(fd, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)q->used);
	fake_write_reg(fd, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(q->used >> 32));
	fake_write_reg(fd, VIRTIO_MMIO_QUEUE_READY, 1);
	return fake_read_reg(fd, VIRTIO_MMIO_QUEUE_READY);
}

void fake_driver_ok(struct fake_driver *fd)
{
	uint32_t s = fake_read_reg(fd, VIRTIO_MMIO_STATUS);
	fake_write_reg(fd, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_DRIVER_OK);
}

struct vring_desc *fake_desc(struct fake_driver *fd, unsigned int idx)
{
	return fake_ptr(fd, fd->q[idx].desc, 16ull * fd->q[idx].size);
}

struct vring_avail *fake_avail(struct fake_driver *fd, unsigned int idx)
{
	return fake_ptr(fd, fd->q[idx].avail, 6 + 2ull * fd->q[idx].size);
}

struct vring_used *fake_used(struct fake_driver *fd, unsigned int idx)
{
	return fake_ptr(fd, fd->q[idx].used, 6 + 8ull * fd->q[idx].size);
}

void fake_add_head(struct fake_driver *fd, unsigned int idx, uint16_t head)
{
	struct fake_queue *q = &fd->q[idx];
	struct vring_avail *avail = fake_avail(fd, idx);
	avail->ring[q->avail_idx % q->size] = head;
	q->avail_idx++;
	if (head < q->size)
		q->outstanding[head]++;
	__atomic_store_n(&avail->idx, q->avail_idx, __ATOMIC_RELEASE);
}

uint16_t fake_add_chain(struct fake_driver *fd, unsigned int idx, const struct fake_buf *bufs,
			unsigned int n)
{
	struct fake_queue *q = &fd->q[idx];
	struct vring_desc *desc = fake_desc(fd, idx);
	uint16_t head = q->next_desc % q->size;
	for (unsigned int i = 0; i < n; i++) {
		uint16_t d = (head + i) % q->size;
		desc[d].addr = bufs[i].gpa;
		desc[d].len = bufs[i].len;
		desc[d].flags = (bufs[i].writable ? VRING_DESC_F_WRITE : 0) |
				(i + 1 < n ? VRING_DESC_F_NEXT : 0);
		desc[d].next = (d + 1) % q->size;
	}
	q->next_desc = (head + n) % q->size;
	fake_add_head(fd, idx, head);
	return head;
}

void fake_run_loop(struct fake_driver *fd, int timeout_ms)
{
	event_loop_run_once(&fd->loop, timeout_ms);
}

void fake_kick(struct fake_driver *fd, unsigned int idx)
{
	fake_write_reg(fd, VIRTIO_MMIO_QUEUE_NOTIFY, idx);
	fake_run_loop(fd, 100);
}

bool fake_get_used(struct fake_driver *fd, unsigned int idx, uint32_t *id, uint32_t *len)
{
	struct fake_queue *q = &fd->q[idx];
	struct vring_used *used = fake_used(fd, idx);
	uint16_t used_idx = __atomic_load_n(&used->idx, __ATOMIC_ACQUIRE);
	if (used_idx == q->last_used)
		return false;
	struct vring_used_elem *e = &used->ring[q->last_used % q->size];
	*id = e->id;
	*len = e->len;
	q->last_used++;
	if (e->id >= q->size || q->outstanding[e->id] == 0) {
		if (fd->unchecked_completions)
			return true;
		fprintf(stderr, "fake driver: queue %u completed head %u, which it does not hold\n",
			idx, e->id);
		abort();
	}
	q->outstanding[e->id]--;
	return true;
}

unsigned int fake_outstanding(struct fake_driver *fd, unsigned int idx)
{
	const struct fake_queue *q = &fd->q[idx];
	unsigned int n = 0;
	for (unsigned int i = 0; q->outstanding && i < q->size; i++)
		n += q->outstanding[i];
	return n;
}

uint64_t fake_take_interrupts(struct fake_driver *fd)
{
	uint64_t n = 0;
	if (read(fd->t->irq_fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}
