/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_VIRTIO_MMIO_H
#define EBB_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/log.h"
#include "base/state.h"
#include "devices/virtio/queue.h"
#include "base/bus.h"
#include "base/event_loop.h"
#include "base/memory.h"

/*
 * virtio-mmio version 2 transport. Register accesses arrive on vCPU threads;
 * queue notifications arrive as eventfds (KVM ioeventfds with a datamatch
 * per queue) on the event loop, which is the only thread that processes
 * queues. Used-buffer interrupts are collected during one event-loop wakeup
 * and raised once at its end, through an irqfd.
 */

#define VIRTIO_MMIO_MAX_QUEUES 8
#define VIRTIO_MMIO_VENDOR     0x00626265 /* "ebb" */

struct virtio_mmio;

struct virtio_device_ops {
	const char *name;
	uint32_t device_id;
	uint32_t config_size;
	unsigned int max_queues; /* queue indices that may ever exist */
	uint64_t (*features)(void *dev);
	/* Size limit of queue idx under the acked features; 0: no such queue. */
	uint16_t (*queue_max_size)(void *dev, unsigned int idx, uint64_t acked);
	/* FEATURES_OK was set with these acked features; < 0 refuses them. */
	int (*features_ok)(void *dev, uint64_t acked);
	void (*config_read)(void *dev, uint32_t offset, void *data, unsigned int len);
	void (*config_write)(void *dev, uint32_t offset, const void *data, unsigned int len);
	/* DRIVER_OK: the queues are live. */
	void (*activate)(void *dev);
	/* On the event loop thread, with the transport lock held. */
	void (*queue_notify)(void *dev, unsigned int idx);
	/* The driver disabled queue idx (QueueReady 0): drop what is held from it. */
	void (*queue_disable)(void *dev, unsigned int idx);
	void (*reset)(void *dev);
};

struct virtio_mmio_notifier {
	struct virtio_mmio *transport;
	unsigned int queue;
	int fd;
	struct event_source *src;
};

struct virtio_mmio {
	pthread_mutex_t lock;
	const struct virtio_device_ops *ops;
	void *dev;
	struct guest_memory *mem;
	struct event_loop *loop;
	uint64_t base;
	unsigned int gsi;

	uint64_t device_features;
	uint64_t driver_features;
	uint64_t acked_features; /* valid once FEATURES_OK is set */
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	uint32_t status;
	uint32_t interrupt_status; /* atomic */
	uint32_t config_generation;
	unsigned int nr_queues;
	struct virtq queues[VIRTIO_MMIO_MAX_QUEUES];

	int irq_fd;
	bool vring_irq_pending; /* atomic: the loop sets it, a reset on a vCPU clears it */
	struct virtio_mmio_notifier notifiers[VIRTIO_MMIO_MAX_QUEUES];

	uint64_t interrupts_raised;
	uint64_t needs_reset_events;
	uint64_t bad_register_accesses;
	uint64_t budget_deferrals; /* a queue pass stopped at its budget and came back later */

	/* Messages a driver can trigger at will. */
	struct log_limit log_driver_errors;
	struct log_limit log_chain_errors;
};

extern const struct bus_ops virtio_mmio_bus_ops;

/*
 * Creates eventfds for the interrupt and every queue and registers them with
 * the event loop; no KVM needed, so unit tests use it directly.
 */
int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_device_ops *ops, void *dev,
		     struct guest_memory *mem, struct event_loop *loop, uint64_t base,
		     unsigned int gsi);
/* Wires the eventfds into KVM: ioeventfds for queue notify, an irqfd for the GSI. */
int virtio_mmio_attach_kvm(struct virtio_mmio *t, int vm_fd);
void virtio_mmio_destroy(struct virtio_mmio *t);

/* Event-loop thread helpers for devices. */
struct virtq *virtio_mmio_queue(struct virtio_mmio *t, unsigned int idx);
/* The device pushed used buffers on idx; an interrupt is raised at the end of this wakeup. */
void virtio_mmio_used(struct virtio_mmio *t, unsigned int idx);
/* Raises what virtio_mmio_used() collected. Called once per event-loop wakeup. */
void virtio_mmio_flush_interrupts(void *transport);
/* The device changed its config space: new generation, config interrupt. */
void virtio_mmio_config_changed(struct virtio_mmio *t);
/*
 * Hands available chains of queue idx to handle(), re-arms the driver's
 * notifications (EVENT_IDX) and looks again until the ring is empty, or
 * until the chains' cost reaches VIRTIO_QUEUE_BUDGET: then the queue's own
 * notifier is kicked, so the rest waits for the next turn of the event
 * loop, after signals, API calls and other devices. handle() returns the
 * work a chain cost, in VIRTIO_COST units (one chain is at least 1). A
 * malformed chain arrives with err set; the device still owns it and must
 * complete it. A corrupt ring (no chain to complete) asks for a reset. On
 * the event loop thread, with the transport lock held.
 */
#define VIRTIO_QUEUE_BUDGET 512
/*
 * What handle() returns, having completed its chain, to end the pass at
 * once without a kick (a rate limiter ran dry): the device resumes the
 * queue itself, from a timer.
 */
#define VIRTIO_QUEUE_STOP 0xffffffffu
typedef unsigned int (*virtio_chain_fn)(void *dev, struct virtq *vq, unsigned int idx,
					const struct vq_chain *chain, enum vq_error err);
void virtio_mmio_process_queue(struct virtio_mmio *t, unsigned int idx, virtio_chain_fn handle);

/* The register file and every queue's rings and indices (mmio_state.c). */
int virtio_mmio_save(const struct virtio_mmio *t, struct state_stream *s);
/* Onto a transport made for the same device; -EPROTO for another layout. */
int virtio_mmio_restore(struct virtio_mmio *t, struct state_stream *s);

/* The driver broke the protocol: DEVICE_NEEDS_RESET and a config interrupt. */
void virtio_mmio_needs_reset(struct virtio_mmio *t, const char *why);
bool virtio_mmio_driver_ok(const struct virtio_mmio *t);

#endif
