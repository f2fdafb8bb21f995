// SPDX-License-Identifier: GPL-2.0
#include "devices/virtio/mmio.h"

#include <errno.h>
#include <linux/kvm.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"

#define MMIO_MAGIC   0x74726976 /* "virt" */
#define MMIO_VERSION 2

#define FEATURE(bit) (1ull << (bit))

static void notifier_ready(void *opaque, uint32_t events);

int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_device_ops *ops, void *dev,
		     struct guest_memory *mem, struct event_loop *loop, uint64_t base,
		     unsigned int gsi)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->ops = ops;
	t->dev = dev;
	t->mem = mem;
	t->base = base;
	t->gsi = gsi;
	t->loop = loop;
	t->irq_fd = -1;
	for (unsigned int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		t->notifiers[i].fd = -1;
	if (ops->max_queues > VIRTIO_MMIO_MAX_QUEUES)
		return -EINVAL;
	/* Every device speaks virtio 1.x; rings may use indirect tables and event indices. */
	t->device_features = ops->features(dev) | FEATURE(VIRTIO_F_VERSION_1) |
			     FEATURE(VIRTIO_RING_F_INDIRECT_DESC) |
			     FEATURE(VIRTIO_RING_F_EVENT_IDX);

	t->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irq_fd < 0)
		return -errno;
	for (unsigned int i = 0; i < ops->max_queues; i++) {
		struct virtio_mmio_notifier *n = &t->notifiers[i];
		n->transport = t;
		n->queue = i;
		n->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (n->fd < 0)
			return -errno;
		int ret = event_loop_add(loop, n->fd, EPOLLIN, notifier_ready, n, &n->src);
		if (ret < 0)
			return ret;
	}
	return event_loop_add_batch_hook(loop, virtio_mmio_flush_interrupts, t);
}

int virtio_mmio_attach_kvm(struct virtio_mmio *t, int vm_fd)
{
	for (unsigned int i = 0; i < t->ops->max_queues; i++) {
		struct kvm_ioeventfd io = {
			.datamatch = i,
			.addr = t->base + VIRTIO_MMIO_QUEUE_NOTIFY,
			.len = 4,
			.fd = t->notifiers[i].fd,
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};
		if (ioctl(vm_fd, KVM_IOEVENTFD, &io) < 0) {
			int err = -errno;
			log_err("%s: KVM_IOEVENTFD for queue %u: %s", t->ops->name, i,
				strerror(errno));
			return err;
		}
	}
	struct kvm_irqfd irqfd = { .fd = t->irq_fd, .gsi = t->gsi };
	if (ioctl(vm_fd, KVM_IRQFD, &irqfd) < 0) {
		int err = -errno;
		log_err("%s: KVM_IRQFD gsi %u: %s", t->ops->name, t->gsi, strerror(errno));
		return err;
	}
	return 0;
}

/*
 * A guest that hung waiting on a device is told apart from one that hung on
 * its own by what the rings hold when ebb exits (at --level debug): chains
 * never taken, or used entries the driver was never signalled for.
 */
static void log_rings(struct virtio_mmio *t)
{
	for (unsigned int i = 0; i < t->nr_queues; i++) {
		char state[160];
		vq_describe(&t->queues[i], state, sizeof(state));
		log_debug("%s: queue %u at exit: %s", t->ops->name, i, state);
	}
	log_debug("%s: interrupt status 0x%x, %llu interrupts raised", t->ops->name,
		  __atomic_load_n(&t->interrupt_status, __ATOMIC_ACQUIRE),
		  (unsigned long long)t->interrupts_raised);
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	log_limit_flush(&t->log_driver_errors, t->ops->name);
	log_rings(t);
	/* KVM may hold the eventfds longer than we do: stop listening to them first. */
	for (unsigned int i = 0; t->loop && i < VIRTIO_MMIO_MAX_QUEUES; i++)
		event_loop_remove(t->loop, t->notifiers[i].src);
	if (t->loop)
		event_loop_remove_batch_hook(t->loop, virtio_mmio_flush_interrupts, t);
	for (unsigned int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		if (t->notifiers[i].fd >= 0)
			close(t->notifiers[i].fd);
	if (t->irq_fd >= 0)
		close(t->irq_fd);
	pthread_mutex_destroy(&t->lock);
}

bool virtio_mmio_driver_ok(const struct virtio_mmio *t)
{
	return (t->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(t->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void raise_interrupt(struct virtio_mmio *t, uint32_t bits)
{
	__atomic_or_fetch(&t->interrupt_status, bits, __ATOMIC_ACQ_REL);
	uint64_t one = 1;
	if (write(t->irq_fd, &one, sizeof(one)) == sizeof(one))
		t->interrupts_raised++;
}

struct virtq *virtio_mmio_queue(struct virtio_mmio *t, unsigned int idx)
{
	return idx < t->nr_queues ? &t->queues[idx] : NULL;
}

void virtio_mmio_used(struct virtio_mmio *t, unsigned int idx)
{
	struct virtq *vq = virtio_mmio_queue(t, idx);
	if (vq && vq_should_signal(vq))
		__atomic_store_n(&t->vring_irq_pending, true, __ATOMIC_RELAXED);
}

void virtio_mmio_flush_interrupts(void *transport)
{
	struct virtio_mmio *t = transport;
	/* Atomic: a driver reset on a vCPU clears it too. */
	if (__atomic_exchange_n(&t->vring_irq_pending, false, __ATOMIC_ACQ_REL))
		raise_interrupt(t, VIRTIO_MMIO_INT_VRING);
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
	t->config_generation++;
	if (t->status & VIRTIO_CONFIG_S_DRIVER_OK)
		raise_interrupt(t, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_mmio_needs_reset(struct virtio_mmio *t, const char *why)
{
	if (t->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	t->needs_reset_events++;
	log_warn_limited(&t->log_driver_errors, "%s: driver error (%s): device needs reset",
			 t->ops->name, why);
	t->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	if (t->status & VIRTIO_CONFIG_S_DRIVER_OK)
		raise_interrupt(t, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_mmio_process_queue(struct virtio_mmio *t, unsigned int idx, virtio_chain_fn handle)
{
	struct virtq *vq = virtio_mmio_queue(t, idx);
	struct vq_chain chain;
	unsigned int spent = 0;
	if (!vq)
		return;
	do {
		enum vq_error err;
		int ret;
		while (spent < VIRTIO_QUEUE_BUDGET && (ret = vq_pop(vq, &chain, &err)) != 0) {
			if (ret == -EPIPE) {
				virtio_mmio_needs_reset(t, vq_error_name(err));
				return;
			}
			if (ret < 0)
				log_debug_limited(&t->log_chain_errors, "%s: queue %u: %s",
						  t->ops->name, idx, vq_error_name(err));
			unsigned int cost = handle(t->dev, vq, idx, &chain, ret < 0 ? err : VQ_ERR_NONE);
			if (cost == VIRTIO_QUEUE_STOP)
				return;
			spent += cost ? cost : 1;
		}
		if (spent >= VIRTIO_QUEUE_BUDGET) {
			uint64_t one = 1;
			t->budget_deferrals++;
			if (write(t->notifiers[idx].fd, &one, sizeof(one)) < 0)
				t->bad_register_accesses++;
			return;
		}
	} while (vq_enable_notify(vq));
}

static void notifier_ready(void *opaque, uint32_t events)
{
	struct virtio_mmio_notifier *n = opaque;
	struct virtio_mmio *t = n->transport;
	uint64_t v;
	if (read(n->fd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&t->lock);
	struct virtq *vq = virtio_mmio_queue(t, n->queue);
	if (virtio_mmio_driver_ok(t) && vq && vq->ready)
		t->ops->queue_notify(t->dev, n->queue);
	pthread_mutex_unlock(&t->lock);
}

static void device_reset(struct virtio_mmio *t)
{
	if (t->ops->reset)
		t->ops->reset(t->dev);
	for (unsigned int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		vq_reset(&t->queues[i], 0);
	t->nr_queues = 0;
	t->driver_features = 0;
	t->acked_features = 0;
	t->device_features_sel = t->driver_features_sel = t->queue_sel = 0;
	t->status = 0;
	__atomic_store_n(&t->vring_irq_pending, false, __ATOMIC_RELEASE);
	__atomic_store_n(&t->interrupt_status, 0, __ATOMIC_RELEASE);
}

static void features_ok(struct virtio_mmio *t)
{
	uint64_t wanted = t->driver_features;
	if (wanted & ~t->device_features) {
		log_warn_limited(&t->log_driver_errors,
				 "%s: driver asked for features 0x%llx we never offered", t->ops->name,
				 (unsigned long long)(wanted & ~t->device_features));
		return;
	}
	if (!(wanted & FEATURE(VIRTIO_F_VERSION_1))) {
		log_warn_limited(&t->log_driver_errors,
				 "%s: driver did not accept VIRTIO_F_VERSION_1", t->ops->name);
		return;
	}
	if (t->ops->features_ok && t->ops->features_ok(t->dev, wanted) < 0)
		return;

	t->acked_features = wanted;
	t->nr_queues = 0;
	/* Queue indices are packed from what was acked, not from what was offered. */
	for (unsigned int i = 0; i < t->ops->max_queues; i++) {
		uint16_t max = t->ops->queue_max_size(t->dev, i, wanted);
		if (!max)
			break;
		vq_reset(&t->queues[i], max);
		t->nr_queues = i + 1;
	}
	t->status |= VIRTIO_CONFIG_S_FEATURES_OK;
}

static void write_status(struct virtio_mmio *t, uint32_t value)
{
	if (value == 0) {
		device_reset(t);
		return;
	}
	/* The driver only ever adds status bits; anything else but a reset is ignored. */
	uint32_t added = value & ~t->status & 0xff;
	t->status |= added & ~(VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_NEEDS_RESET);
	if ((added & VIRTIO_CONFIG_S_FEATURES_OK) && !(t->status & VIRTIO_CONFIG_S_DRIVER_OK))
		features_ok(t);
	if ((added & VIRTIO_CONFIG_S_DRIVER_OK) && !(t->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		t->status &= ~VIRTIO_CONFIG_S_DRIVER_OK;
		virtio_mmio_needs_reset(t, "DRIVER_OK without FEATURES_OK");
		return;
	}
	if (!(added & VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	if (t->ops->activate)
		t->ops->activate(t->dev);
	/*
	 * Drivers may queue buffers and notify before DRIVER_OK (Linux primes
	 * the balloon's stats queue that way); those notifications were
	 * ignored, so look at every queue once now.
	 */
	for (unsigned int i = 0; i < t->nr_queues; i++) {
		uint64_t one = 1;
		if (t->queues[i].ready && write(t->notifiers[i].fd, &one, sizeof(one)) < 0)
			t->bad_register_accesses++;
	}
}

static void enable_queue(struct virtio_mmio *t, struct virtq *vq, bool enable)
{
	if (!enable) {
		/* What the device holds from this queue belongs to its old rings. */
		if (vq->ready && t->ops->queue_disable)
			t->ops->queue_disable(t->dev, (unsigned int)(vq - t->queues));
		vq->ready = false;
		return;
	}
	if (vq->ready)
		return;
	int ret = vq_enable(vq, t->mem,
			    t->acked_features & FEATURE(VIRTIO_RING_F_EVENT_IDX),
			    t->acked_features & FEATURE(VIRTIO_RING_F_INDIRECT_DESC));
	if (ret == -EINVAL)
		virtio_mmio_needs_reset(t, "queue size is zero, too big or not a power of two");
	else if (ret < 0)
		virtio_mmio_needs_reset(t, "queue rings outside guest RAM or misaligned");
}

static void set_low(uint64_t *v, uint32_t lo)
{
	*v = (*v & ~0xffffffffull) | lo;
}

static void set_high(uint64_t *v, uint32_t hi)
{
	*v = (*v & 0xffffffffull) | ((uint64_t)hi << 32);
}

static uint32_t read_register(struct virtio_mmio *t, uint64_t offset)
{
	struct virtq *vq = virtio_mmio_queue(t, t->queue_sel);
	switch (offset) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (t->device_features_sel > 1)
			return 0;
		return t->device_features >> (32 * t->device_features_sel);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return vq ? vq->max_size : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return vq ? vq->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return __atomic_load_n(&t->interrupt_status, __ATOMIC_ACQUIRE);
	case VIRTIO_MMIO_STATUS:
		return t->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		return 0xffffffff; /* no shared memory regions */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return t->config_generation;
	default:
		t->bad_register_accesses++;
		return 0;
	}
}

static void write_register(struct virtio_mmio *t, uint64_t offset, uint32_t value)
{
	struct virtq *vq = virtio_mmio_queue(t, t->queue_sel);
	bool can_set_queue = vq && !vq->ready && !(t->status & VIRTIO_CONFIG_S_DRIVER_OK);
	switch (offset) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->device_features_sel = value;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (t->driver_features_sel <= 1 && !(t->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
			if (t->driver_features_sel == 0)
				set_low(&t->driver_features, value);
			else
				set_high(&t->driver_features, value);
		}
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->driver_features_sel = value;
		return;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = value;
		return;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (vq && !vq->ready)
			vq->size = value > 0xffff ? 0 : value;
		return;
	case VIRTIO_MMIO_QUEUE_READY:
		if (vq)
			enable_queue(t, vq, value == 1);
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* No ioeventfd matched (or none exists): hand it to the event loop anyway. */
		if (value < t->ops->max_queues) {
			uint64_t one = 1;
			if (write(t->notifiers[value].fd, &one, sizeof(one)) < 0)
				t->bad_register_accesses++;
		}
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		__atomic_and_fetch(&t->interrupt_status, ~value, __ATOMIC_ACQ_REL);
		return;
	case VIRTIO_MMIO_STATUS:
		write_status(t, value);
		return;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		if (!can_set_queue) {
			t->bad_register_accesses++;
			return;
		}
		uint64_t *addr = offset < VIRTIO_MMIO_QUEUE_AVAIL_LOW  ? &vq->desc_gpa :
				 offset < VIRTIO_MMIO_QUEUE_USED_LOW   ? &vq->avail_gpa :
									 &vq->used_gpa;
		if (offset & 4)
			set_high(addr, value);
		else
			set_low(addr, value);
		return;
	case VIRTIO_MMIO_SHM_SEL:
		return;
	default:
		t->bad_register_accesses++;
		return;
	}
}

static void virtio_mmio_read(void *dev, uint64_t offset, void *data, unsigned int len)
{
	struct virtio_mmio *t = dev;
	memset(data, 0, len);
	pthread_mutex_lock(&t->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		uint32_t off = offset - VIRTIO_MMIO_CONFIG;
		if (off + len <= t->ops->config_size && t->ops->config_read)
			t->ops->config_read(t->dev, off, data, len);
		else
			t->bad_register_accesses++;
	} else if (len == 4 && offset % 4 == 0) {
		uint32_t v = read_register(t, offset);
		memcpy(data, &v, 4);
	} else {
		t->bad_register_accesses++;
	}
	pthread_mutex_unlock(&t->lock);
}

static void virtio_mmio_write(void *dev, uint64_t offset, const void *data, unsigned int len)
{
	struct virtio_mmio *t = dev;
	pthread_mutex_lock(&t->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		uint32_t off = offset - VIRTIO_MMIO_CONFIG;
		if (off + len <= t->ops->config_size && t->ops->config_write)
			t->ops->config_write(t->dev, off, data, len);
		else
			t->bad_register_accesses++;
	} else if (len == 4 && offset % 4 == 0) {
		uint32_t v;
		memcpy(&v, data, 4);
		write_register(t, offset, v);
	} else {
		t->bad_register_accesses++;
	}
	pthread_mutex_unlock(&t->lock);
}

const struct bus_ops virtio_mmio_bus_ops = {
	.read = virtio_mmio_read,
	.write = virtio_mmio_write,
};
