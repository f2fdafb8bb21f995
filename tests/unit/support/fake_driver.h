/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_TEST_FAKE_DRIVER_H
#define EBB_TEST_FAKE_DRIVER_H

/*
 * An in-process virtio driver for unit tests: it talks to a device through
 * the virtio-mmio register file, lays out split rings in a test guest
 * memory, and runs the device's event loop by hand. It can also write rings
 * no real driver would, to test how the device survives them.
 */

#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/mmio.h"
#include "base/event_loop.h"
#include "base/memory.h"

#define FAKE_RAM_SIZE (64ull << 20)
#define FAKE_MAX_QUEUES 8

struct fake_queue {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t avail_idx;
	uint16_t next_desc;
	uint16_t last_used;
	/* Per head: made available minus completed. A completion below zero aborts. */
	uint32_t *outstanding;
};

struct fake_buf {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

struct fake_driver {
	struct guest_memory mem;
	uint64_t ram_size;
	struct event_loop loop;
	struct virtio_mmio *t;
	uint64_t heap; /* bump allocator for rings and buffers, above the data area */
	struct fake_queue q[FAKE_MAX_QUEUES];
	/* Set by a driver that keeps its own books (the fuzzer's hostile mode). */
	bool unchecked_completions;
};

/* Guest memory and an event loop; the device is created by the test. */
void fake_init(struct fake_driver *fd);
/* The same with ram_size bytes of RAM; rings and buffers go in the top 16 MiB. */
void fake_init_ram(struct fake_driver *fd, uint64_t ram_size);
/*
 * A dirty-log source for tracking without KVM: the guest writes nothing, so
 * only what the device marks is dirty.
 */
void fake_dirty_source(struct fake_driver *fd);
void fake_attach(struct fake_driver *fd, struct virtio_mmio *t);
void fake_destroy(struct fake_driver *fd);

uint64_t fake_alloc(struct fake_driver *fd, uint64_t size, uint64_t align);
void *fake_ptr(struct fake_driver *fd, uint64_t gpa, uint64_t len);

uint32_t fake_read_reg(struct fake_driver *fd, uint32_t offset);
void fake_write_reg(struct fake_driver *fd, uint32_t offset, uint32_t value);
uint64_t fake_device_features(struct fake_driver *fd);
/* ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns the status read back. */
uint32_t fake_negotiate(struct fake_driver *fd, uint64_t features);
/* Allocates rings and enables queue idx with size entries; returns QueueReady. */
uint32_t fake_setup_queue(struct fake_driver *fd, unsigned int idx, uint16_t size);
void fake_driver_ok(struct fake_driver *fd);

/* Writes a chain into free descriptors and makes it available; returns its head. */
uint16_t fake_add_chain(struct fake_driver *fd, unsigned int idx, const struct fake_buf *bufs,
			unsigned int n);
/* Makes an arbitrary head available, for hostile tests. */
void fake_add_head(struct fake_driver *fd, unsigned int idx, uint16_t head);
struct vring_desc *fake_desc(struct fake_driver *fd, unsigned int idx);
struct vring_avail *fake_avail(struct fake_driver *fd, unsigned int idx);
struct vring_used *fake_used(struct fake_driver *fd, unsigned int idx);

/* QueueNotify, then one event-loop wakeup. */
void fake_kick(struct fake_driver *fd, unsigned int idx);
void fake_run_loop(struct fake_driver *fd, int timeout_ms);
/*
 * Takes one used element; false if none. Every element is checked: a chain
 * completed more often than it was made available on this queue (twice, on
 * the wrong queue, or from a disabled ring) aborts the test.
 */
bool fake_get_used(struct fake_driver *fd, unsigned int idx, uint32_t *id, uint32_t *len);
/* Heads made available on queue idx and not completed yet. */
unsigned int fake_outstanding(struct fake_driver *fd, unsigned int idx);
/* Drains the interrupt eventfd; returns how many interrupts were raised. */
uint64_t fake_take_interrupts(struct fake_driver *fd);

#endif
