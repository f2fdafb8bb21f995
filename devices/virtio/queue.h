/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_VIRTIO_QUEUE_H
#define EBB_VIRTIO_QUEUE_H

#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/memory.h"

/*
 * A split virtqueue as the device sees it. Everything the guest wrote is
 * untrusted: ring indices, descriptor chains, indirect tables and buffer
 * addresses. Ring and table addresses become pointers only through
 * vmm/memory; buffer addresses are handed to the device, which translates
 * them the same way.
 */

#define VQ_MAX_SIZE  32768
#define VQ_MAX_CHAIN 256 /* buffers one chain may hold */

enum vq_error {
	VQ_ERR_NONE,
	VQ_ERR_HEAD_RANGE,     /* avail ring names a descriptor past the table */
	VQ_ERR_NEXT_RANGE,     /* a next index past the table */
	VQ_ERR_LOOP,	       /* more hops than the table has entries */
	VQ_ERR_TOO_LONG,       /* more buffers than VQ_MAX_CHAIN */
	VQ_ERR_INDIRECT,       /* malformed indirect table */
	VQ_ERR_NESTED_INDIRECT,
	VQ_ERR_BUFFER_RANGE,   /* a buffer whose gpa + len overflows */
	VQ_ERR_AVAIL_IDX,      /* the driver claims more new entries than the queue holds */
	VQ_NR_ERRORS,
};

struct vq_buf {
	uint64_t gpa;
	uint32_t len;
	bool device_writable;
};

struct vq_chain {
	uint16_t head;
	unsigned int nr;
	struct vq_buf bufs[VQ_MAX_CHAIN];
};

struct virtq {
	/* Set by the driver through the transport. */
	uint16_t size;
	uint16_t max_size;
	bool ready;
	uint64_t desc_gpa, avail_gpa, used_gpa;

	/* Resolved when the queue is enabled. */
	struct guest_memory *mem;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	bool event_idx;
	bool indirect;

	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled_used;
	bool signalled_used_valid;
	bool broken; /* the driver corrupted the ring; stop until reset */

	uint64_t chains;
	uint64_t errors[VQ_NR_ERRORS];
};

const char *vq_error_name(enum vq_error err);

/* Forget everything the driver set; the queue is disabled. */
void vq_reset(struct virtq *vq, uint16_t max_size);

/*
 * Checks size and ring addresses and resolves the rings. Returns 0, or
 * -EINVAL for a bad size (zero, above max, not a power of two), or -EFAULT
 * for a ring outside guest RAM or misaligned.
 */
int vq_enable(struct virtq *vq, struct guest_memory *mem, bool event_idx, bool indirect);

/*
 * Takes the next available chain.
 * Returns 1 with *chain filled, 0 when the ring is empty, or -EIO when the
 * chain is malformed: *err says why, chain->head is valid and the chain must
 * still be completed with vq_push(). -EPIPE means the ring itself is corrupt
 * (the queue is now broken and the transport should ask for a reset).
 */
int vq_pop(struct virtq *vq, struct vq_chain *chain, enum vq_error *err);

/*
 * The chain starting at head, taken from the ring before (a snapshot's held
 * chain): 0, -EIO with err set for a bad chain, -EINVAL for no such head.
 */
int vq_chain_at(struct virtq *vq, uint16_t head, struct vq_chain *chain, enum vq_error *err);

/* Returns a chain to the driver. Release store on used->idx. */
void vq_push(struct virtq *vq, uint16_t head, uint32_t len);

/* True if the driver wants an interrupt for what was pushed since the last call. */
bool vq_should_signal(struct virtq *vq);

/*
 * With EVENT_IDX, tells the driver to notify for anything after what was
 * consumed; returns true if more entries arrived meanwhile (process again).
 */
bool vq_enable_notify(struct virtq *vq);

/* The ring's state as both sides last left it, for a log line. */
void vq_describe(struct virtq *vq, char *buf, size_t len);

/* Copies from a chain's device-readable buffers, through vmm/memory. */
int vq_chain_read(struct guest_memory *mem, const struct vq_chain *chain, uint64_t offset,
		  void *dst, uint64_t len);
uint64_t vq_chain_readable_len(const struct vq_chain *chain);

/* Writes len bytes at offset off of host buffers (a chain's mapped iovecs); the rest is dropped. */
struct iovec;
void vq_iov_write_at(const struct iovec *iov, unsigned int nr, size_t off, const void *data,
		     size_t len);

#endif
