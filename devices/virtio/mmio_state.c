// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-mmio transport's state for snapshots: the register file and
 * each queue's addresses and indices. Restore re-checks every ring against
 * guest memory, as a driver's QueueReady would.
 */
#include <errno.h>
#include <linux/virtio_mmio.h>
#include <string.h>

#include "devices/virtio/mmio.h"

#define MMIO_STATE_TAG	   STATE_TAG('V', 'M', 'I', 'O')
#define QUEUE_STATE_TAG	   STATE_TAG('V', 'Q', 'U', 'E')
#define MMIO_STATE_VERSION 1

struct mmio_record {
	uint32_t version;
	uint32_t nr_queues;
	uint64_t device_features;
	uint64_t driver_features;
	uint64_t acked_features;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	uint32_t status;
	uint32_t interrupt_status;
	uint32_t config_generation;
};

struct queue_record {
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t size, max_size;
	uint16_t last_avail, used_idx, signalled_used;
	uint8_t ready, signalled_used_valid, broken, pad;
};

int virtio_mmio_save(const struct virtio_mmio *t, struct state_stream *s)
{
	struct mmio_record r;
	memset(&r, 0, sizeof(r));
	r.version = MMIO_STATE_VERSION;
	r.nr_queues = t->nr_queues;
	r.device_features = t->device_features;
	r.driver_features = t->driver_features;
	r.acked_features = t->acked_features;
	r.device_features_sel = t->device_features_sel;
	r.driver_features_sel = t->driver_features_sel;
	r.queue_sel = t->queue_sel;
	r.status = t->status;
	r.interrupt_status = __atomic_load_n(&t->interrupt_status, __ATOMIC_ACQUIRE);
	/*
	 * An interrupt decided for used buffers but not yet raised (the loop's
	 * batch hook raises it) goes into the state as raised: the queues'
	 * signalled_used already counts it, so a lost one would never come again.
	 */
	if (__atomic_load_n(&t->vring_irq_pending, __ATOMIC_ACQUIRE))
		r.interrupt_status |= VIRTIO_MMIO_INT_VRING;
	r.config_generation = t->config_generation;
	state_put(s, MMIO_STATE_TAG, &r, sizeof(r));
	for (unsigned int i = 0; i < t->nr_queues; i++) {
		const struct virtq *vq = &t->queues[i];
		struct queue_record q;
		memset(&q, 0, sizeof(q));
		q.desc_gpa = vq->desc_gpa;
		q.avail_gpa = vq->avail_gpa;
		q.used_gpa = vq->used_gpa;
		q.size = vq->size;
		q.max_size = vq->max_size;
		q.last_avail = vq->last_avail;
		q.used_idx = vq->used_idx;
		q.signalled_used = vq->signalled_used;
		q.ready = vq->ready;
		q.signalled_used_valid = vq->signalled_used_valid;
		q.broken = vq->broken;
		state_put(s, QUEUE_STATE_TAG, &q, sizeof(q));
	}
	return s->error;
}

static int restore_queue(struct virtio_mmio *t, struct virtq *vq, const struct queue_record *q)
{
	vq_reset(vq, q->max_size);
	vq->size = q->size;
	vq->desc_gpa = q->desc_gpa;
	vq->avail_gpa = q->avail_gpa;
	vq->used_gpa = q->used_gpa;
	if (!q->ready)
		return 0;
	int ret = vq_enable(vq, t->mem, t->acked_features & (1ull << VIRTIO_RING_F_EVENT_IDX),
			    t->acked_features & (1ull << VIRTIO_RING_F_INDIRECT_DESC));
	if (ret < 0)
		return ret;
	vq->last_avail = q->last_avail;
	vq->used_idx = q->used_idx;
	vq->signalled_used = q->signalled_used;
	vq->signalled_used_valid = q->signalled_used_valid;
	vq->broken = q->broken;
	return 0;
}

int virtio_mmio_restore(struct virtio_mmio *t, struct state_stream *s)
{
	struct mmio_record r;
	int ret = state_get(s, MMIO_STATE_TAG, &r, sizeof(r));
	if (ret < 0)
		return ret;
	if (r.version != MMIO_STATE_VERSION || r.nr_queues > t->ops->max_queues ||
	    r.device_features != t->device_features)
		return -EPROTO;
	t->driver_features = r.driver_features;
	t->acked_features = r.acked_features;
	t->device_features_sel = r.device_features_sel;
	t->driver_features_sel = r.driver_features_sel;
	t->queue_sel = r.queue_sel;
	t->status = r.status;
	__atomic_store_n(&t->interrupt_status, r.interrupt_status, __ATOMIC_RELEASE);
	/*
	 * Raised again on the loop's first wakeup, after the irqchip's own state:
	 * the guest may not have taken it before the save, and a second one only
	 * finds nothing new.
	 */
	__atomic_store_n(&t->vring_irq_pending, r.interrupt_status != 0, __ATOMIC_RELEASE);
	t->config_generation = r.config_generation;
	t->nr_queues = r.nr_queues;
	for (unsigned int i = 0; i < r.nr_queues; i++) {
		struct queue_record q;
		ret = state_get(s, QUEUE_STATE_TAG, &q, sizeof(q));
		if (ret == 0)
			ret = restore_queue(t, &t->queues[i], &q);
		if (ret < 0)
			return ret;
	}
	return 0;
}
