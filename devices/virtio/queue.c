// SPDX-License-Identifier: GPL-2.0
#include "devices/virtio/queue.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "base/util.h"

static const char *const error_names[VQ_NR_ERRORS] = {
	[VQ_ERR_NONE] = "none",
	[VQ_ERR_HEAD_RANGE] = "head index out of range",
	[VQ_ERR_NEXT_RANGE] = "next index out of range",
	[VQ_ERR_LOOP] = "descriptor loop",
	[VQ_ERR_TOO_LONG] = "chain too long",
	[VQ_ERR_INDIRECT] = "bad indirect table",
	[VQ_ERR_NESTED_INDIRECT] = "nested indirect table",
	[VQ_ERR_BUFFER_RANGE] = "buffer address overflows",
	[VQ_ERR_AVAIL_IDX] = "avail index jumped past the queue size",
};

const char *vq_error_name(enum vq_error err)
{
	return err < VQ_NR_ERRORS ? error_names[err] : "unknown";
}

void vq_reset(struct virtq *vq, uint16_t max_size)
{
	uint64_t errors[VQ_NR_ERRORS];
	uint64_t chains = vq->chains;
	memcpy(errors, vq->errors, sizeof(errors));
	memset(vq, 0, sizeof(*vq));
	vq->max_size = max_size;
	vq->size = max_size;
	/* Counters survive a reset: they describe the device's life, not the driver's. */
	vq->chains = chains;
	memcpy(vq->errors, errors, sizeof(errors));
}

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

int vq_enable(struct virtq *vq, struct guest_memory *mem, bool event_idx, bool indirect)
{
	uint32_t n = vq->size;
	if (!is_pow2(n) || n > vq->max_size || n > VQ_MAX_SIZE)
		return -EINVAL;

	uint64_t desc_len = 16ull * n;
	uint64_t avail_len = 4 + 2ull * n + 2; /* flags, idx, ring, used_event */
	uint64_t used_len = 4 + 8ull * n + 2;  /* flags, idx, ring, avail_event */
	if (vq->desc_gpa % 16 || vq->avail_gpa % 2 || vq->used_gpa % 4)
		return -EFAULT;
	struct vring_desc *desc = mem_gpa_to_hva(mem, vq->desc_gpa, desc_len);
	struct vring_avail *avail = mem_gpa_to_hva(mem, vq->avail_gpa, avail_len);
	struct vring_used *used = mem_gpa_to_hva(mem, vq->used_gpa, used_len);
	if (!desc || !avail || !used)
		return -EFAULT;

	vq->mem = mem;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used_valid = false;
	vq->broken = false;
	vq->ready = true;
	return 0;
}

static uint16_t load_acquire16(uint16_t *p)
{
	return atomic_load_explicit((_Atomic uint16_t *)p, memory_order_acquire);
}

static uint16_t load_once16(const uint16_t *p)
{
	return *(const volatile uint16_t *)p;
}

/* One read of each field: the guest may rewrite the descriptor while we look. */
static struct vring_desc read_desc(const struct vring_desc *table, uint32_t idx)
{
	const volatile struct vring_desc *d = &table[idx];
	return (struct vring_desc){ .addr = d->addr, .len = d->len, .flags = d->flags,
				    .next = d->next };
}

static int fail_chain(struct virtq *vq, enum vq_error *err, enum vq_error why)
{
	vq->errors[why]++;
	*err = why;
	return -EIO;
}

static int walk_chain(struct virtq *vq, struct vq_chain *chain, enum vq_error *err)
{
	const struct vring_desc *table = vq->desc;
	uint32_t table_size = vq->size;
	uint32_t idx = chain->head;
	uint32_t hops = 0;
	bool in_indirect = false;

	for (;;) {
		if (++hops > table_size)
			return fail_chain(vq, err, VQ_ERR_LOOP);
		struct vring_desc d = read_desc(table, idx);

		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (in_indirect)
				return fail_chain(vq, err, VQ_ERR_NESTED_INDIRECT);
			if (!vq->indirect || (d.flags & VRING_DESC_F_NEXT) || d.len == 0 ||
			    d.len % sizeof(struct vring_desc) || d.addr % 8 ||
			    d.len / sizeof(struct vring_desc) > VQ_MAX_SIZE)
				return fail_chain(vq, err, VQ_ERR_INDIRECT);
			table = mem_gpa_to_hva(vq->mem, d.addr, d.len);
			if (!table)
				return fail_chain(vq, err, VQ_ERR_INDIRECT);
			table_size = d.len / sizeof(struct vring_desc);
			idx = 0;
			hops = 0;
			in_indirect = true;
			continue;
		}

		uint64_t end;
		if (__builtin_add_overflow(d.addr, (uint64_t)d.len, &end))
			return fail_chain(vq, err, VQ_ERR_BUFFER_RANGE);
		if (chain->nr == VQ_MAX_CHAIN)
			return fail_chain(vq, err, VQ_ERR_TOO_LONG);
		chain->bufs[chain->nr++] = (struct vq_buf){
			.gpa = d.addr,
			.len = d.len,
			.device_writable = d.flags & VRING_DESC_F_WRITE,
		};
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		idx = d.next;
		if (idx >= table_size)
			return fail_chain(vq, err, VQ_ERR_NEXT_RANGE);
	}
}

int vq_pop(struct virtq *vq, struct vq_chain *chain, enum vq_error *err)
{
	*err = VQ_ERR_NONE;
	chain->nr = 0;
	if (!vq->ready || vq->broken)
		return 0;

	uint16_t avail_idx = load_acquire16(&vq->avail->idx);
	uint16_t pending = avail_idx - vq->last_avail;
	if (pending == 0)
		return 0;
	if (pending > vq->size) {
		vq->broken = true;
		vq->errors[VQ_ERR_AVAIL_IDX]++;
		*err = VQ_ERR_AVAIL_IDX;
		return -EPIPE;
	}

	uint16_t head = load_once16(&vq->avail->ring[vq->last_avail % vq->size]);
	if (head >= vq->size) {
		/* No valid id to complete: the ring is corrupt. */
		vq->broken = true;
		vq->errors[VQ_ERR_HEAD_RANGE]++;
		*err = VQ_ERR_HEAD_RANGE;
		return -EPIPE;
	}
	vq->last_avail++;
	vq->chains++;
	chain->head = head;
	int ret = walk_chain(vq, chain, err);
	return ret < 0 ? ret : 1;
}

int vq_chain_at(struct virtq *vq, uint16_t head, struct vq_chain *chain, enum vq_error *err)
{
	*err = VQ_ERR_NONE;
	chain->nr = 0;
	chain->head = head;
	if (!vq->ready || vq->broken || head >= vq->size)
		return -EINVAL;
	return walk_chain(vq, chain, err);
}

void vq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e = &vq->used->ring[vq->used_idx % vq->size];
	e->id = head;
	e->len = len;
	vq->used_idx++;
	/* The element must be visible before the index that publishes it. */
	atomic_store_explicit((_Atomic uint16_t *)&vq->used->idx, vq->used_idx,
			      memory_order_release);
}

bool vq_should_signal(struct virtq *vq)
{
	/* Our used->idx store must be ordered before reading the driver's suppression state. */
	atomic_thread_fence(memory_order_seq_cst);
	if (!vq->event_idx)
		return !(load_once16(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);

	uint16_t old = vq->signalled_used;
	bool valid = vq->signalled_used_valid;
	vq->signalled_used = vq->used_idx;
	vq->signalled_used_valid = true;
	if (!valid)
		return true;
	uint16_t used_event = load_once16(&vq->avail->ring[vq->size]);
	return vring_need_event(used_event, vq->used_idx, old);
}

bool vq_enable_notify(struct virtq *vq)
{
	if (!vq->ready || vq->broken || !vq->event_idx)
		return false;
	uint16_t *avail_event = (uint16_t *)&vq->used->ring[vq->size];
	atomic_store_explicit((_Atomic uint16_t *)avail_event, vq->last_avail,
			      memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
	return load_acquire16(&vq->avail->idx) != vq->last_avail;
}

void vq_describe(struct virtq *vq, char *buf, size_t len)
{
	if (!vq->ready || !vq->avail) {
		snprintf(buf, len, "not ready");
		return;
	}
	uint16_t avail_idx = load_acquire16(&vq->avail->idx);
	snprintf(buf, len,
		 "avail %u, taken %u, used %u, signalled %u%s, used_event %u, avail flags 0x%x%s",
		 avail_idx, vq->last_avail, vq->used_idx, vq->signalled_used,
		 vq->signalled_used_valid ? "" : " (none)",
		 vq->event_idx ? load_once16(&vq->avail->ring[vq->size]) : 0,
		 load_once16(&vq->avail->flags), vq->broken ? ", broken" : "");
}

uint64_t vq_chain_readable_len(const struct vq_chain *chain)
{
	uint64_t total = 0;
	for (unsigned int i = 0; i < chain->nr; i++)
		if (!chain->bufs[i].device_writable)
			total += chain->bufs[i].len;
	return total;
}

int vq_chain_read(struct guest_memory *mem, const struct vq_chain *chain, uint64_t offset,
		  void *dst, uint64_t len)
{
	uint8_t *out = dst;
	for (unsigned int i = 0; i < chain->nr && len; i++) {
		const struct vq_buf *b = &chain->bufs[i];
		if (b->device_writable)
			continue;
		if (offset >= b->len) {
			offset -= b->len;
			continue;
		}
		uint64_t n = MIN(len, b->len - offset);
		int ret = mem_read(mem, b->gpa + offset, out, n);
		if (ret < 0)
			return ret;
		out += n;
		len -= n;
		offset = 0;
	}
	return len ? -EFAULT : 0;
}

void vq_iov_write_at(const struct iovec *iov, unsigned int nr, size_t off, const void *data,
		     size_t len)
{
	const uint8_t *src = data;
	for (unsigned int i = 0; i < nr && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t n = MIN(len, iov[i].iov_len - off);
		memcpy((uint8_t *)iov[i].iov_base + off, src, n);
		src += n;
		len -= n;
		off = 0;
	}
}
