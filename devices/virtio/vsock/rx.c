// SPDX-License-Identifier: GPL-2.0
/*
 * vsock packets to the guest. One receive chain is taken at a time and kept
 * until a packet is written into it: a host socket that turns out to have
 * nothing to read costs no chain. Replies to packets for no connection go
 * first; then the connections take turns, one packet each, starting one
 * further every pass. Payload is read from the host socket straight into
 * the chain, never more than the guest's credit allows, so nothing a host
 * program sends is ever held by ebb. A pass stops at VIRTIO_QUEUE_BUDGET
 * and comes back through the receive queue's notifier; with no chain, it
 * waits for the driver's kick.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "devices/virtio/vsock/vsock.h"

static struct virtq *rxq(struct vsock *v)
{
	return virtio_mmio_queue(&v->transport, VSOCK_RXQ);
}

void vsock_rx_drop_held(struct vsock *v)
{
	v->rx_held = false; /* its ring is gone; nothing is completed */
}

static void rx_bad(struct vsock *v, struct virtq *vq, uint16_t head, const char *why)
{
	v->counters.bad_rx_chains++;
	log_debug_limited(&v->log_guest, "vsock: receive chain refused: %s", why);
	vq_push(vq, head, 0);
	virtio_mmio_used(&v->transport, VSOCK_RXQ);
}

/* A chain of writable buffers in guest RAM with room for a header and a byte. */
static bool hold(struct vsock *v, struct virtq *vq, const struct vq_chain *c)
{
	struct vsock_rx_chain *h = &v->rx_chain;
	uint64_t cap = 0;
	h->head = c->head;
	h->nr = 0;
	for (unsigned int i = 0; i < c->nr; i++) {
		const struct vq_buf *b = &c->bufs[i];
		void *hva = b->device_writable ? mem_gpa_to_hva(v->mem, b->gpa, b->len) : NULL;
		if (!hva) {
			rx_bad(v, vq, c->head,
			       b->device_writable ? "a buffer outside guest RAM"
						  : "a device-readable buffer");
			return false;
		}
		uint64_t len = MIN((uint64_t)b->len, VSOCK_HDR_LEN + VSOCK_MAX_PAYLOAD - cap);
		if (len && h->nr < VSOCK_RX_MAX_BUFS) {
			h->iov[h->nr++] = (struct iovec){ .iov_base = hva, .iov_len = len };
			cap += len;
		}
	}
	if (cap <= VSOCK_HDR_LEN) {
		rx_bad(v, vq, c->head, "no room for a header and a byte");
		return false;
	}
	h->cap = (uint32_t)cap;
	v->rx_held = true;
	return true;
}

int vsock_rx_rehold(struct vsock *v, uint16_t head)
{
	struct virtq *vq = rxq(v);
	struct vq_chain chain;
	enum vq_error err;
	if (vq && vq->broken)
		return 0; /* the reset the ring waits for would drop it */
	int ret = vq ? vq_chain_at(vq, head, &chain, &err) : -EINVAL;
	if (ret == -EINVAL)
		return -EPROTO;
	if (ret < 0)
		rx_bad(v, vq, head, vq_error_name(err));
	else
		hold(v, vq, &chain);
	return 0;
}

/* The held chain, or the next good one; NULL when the ring has none. */
static struct vsock_rx_chain *rx_take(struct vsock *v, struct virtq *vq)
{
	struct vq_chain chain;
	/* A driver adding bad chains as fast as they go cannot keep the loop here. */
	for (unsigned int i = 0; !v->rx_held && i < VSOCK_QUEUE_SIZE; i++) {
		enum vq_error err;
		int ret = vq_pop(vq, &chain, &err);
		if (ret == 0)
			return NULL;
		if (ret == -EPIPE) {
			virtio_mmio_needs_reset(&v->transport, vq_error_name(err));
			return NULL;
		}
		if (ret < 0)
			rx_bad(v, vq, chain.head, vq_error_name(err));
		else
			hold(v, vq, &chain);
	}
	return v->rx_held ? &v->rx_chain : NULL;
}

/* Writes a header into the held chain and gives it to the driver. */
static void send_packet(struct vsock *v, struct vsock_conn *c, uint32_t src_port, uint32_t dst_port,
			uint16_t op, uint32_t flags, uint32_t len)
{
	struct vsock_rx_chain *h = &v->rx_chain;
	struct virtio_vsock_hdr hdr = {
		.src_cid = VSOCK_HOST_CID,
		.dst_cid = v->guest_cid,
		.src_port = src_port,
		.dst_port = dst_port,
		.len = len,
		.type = VIRTIO_VSOCK_TYPE_STREAM,
		.op = op,
		.flags = flags,
	};
	if (c) {
		/* Every packet tells the guest its credit. */
		hdr.buf_alloc = VSOCK_CONN_BUF;
		hdr.fwd_cnt = c->fwd_cnt;
		c->fwd_sent = c->fwd_cnt;
		c->owe &= (uint8_t)~OWE_CREDIT_UPDATE;
	}
	vq_iov_write_at(h->iov, h->nr, 0, &hdr, sizeof(hdr));
	/* KVM's dirty log sees only the guest's writes: a diff snapshot needs these too. */
	mem_mark_dirty_iov(v->mem, h->iov, h->nr, VSOCK_HDR_LEN + len);
	vq_push(rxq(v), h->head, VSOCK_HDR_LEN + len);
	virtio_mmio_used(&v->transport, VSOCK_RXQ);
	v->rx_held = false;
	v->counters.rx_packets++;
	if (op == VIRTIO_VSOCK_OP_RST)
		v->counters.rsts_sent++;
}

/* The host closed its end (read said 0, or an error): tell the guest, keep what it sends. */
static void host_closed(struct vsock_conn *c)
{
	c->host_eof = true;
	c->owe |= OWE_SHUTDOWN;
	c->shutdown_flags = VIRTIO_VSOCK_SHUTDOWN_SEND;
	if (c->host_hup)
		c->shutdown_flags |= VIRTIO_VSOCK_SHUTDOWN_RCV;
}

/* Payload from the host socket into the held chain; its cost, or 0 when none was sent. */
static unsigned int send_data(struct vsock *v, struct vsock_conn *c)
{
	struct vsock_rx_chain *h = &v->rx_chain;
	uint32_t want = MIN(MIN(vsock_peer_credit(c), h->cap - VSOCK_HDR_LEN), VSOCK_MAX_PAYLOAD);
	struct iovec iov[VSOCK_RX_MAX_BUFS];
	unsigned int nr = 0;
	size_t skip = VSOCK_HDR_LEN, left = want;
	for (unsigned int i = 0; i < h->nr && left; i++) {
		if (skip >= h->iov[i].iov_len) {
			skip -= h->iov[i].iov_len;
			continue;
		}
		size_t n = MIN(left, h->iov[i].iov_len - skip);
		iov[nr++] = (struct iovec){ (uint8_t *)h->iov[i].iov_base + skip, n };
		left -= n;
		skip = 0;
	}
	ssize_t r = readv(c->fd, iov, (int)nr);
	if (r > 0) {
		c->tx_cnt += (uint32_t)r;
		v->counters.rx_bytes += (uint64_t)r;
		send_packet(v, c, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_RW, 0, (uint32_t)r);
		return 1 + (unsigned int)(r >> 16);
	}
	if (r < 0 && errno == EAGAIN) {
		c->readable = false;
		return 0;
	}
	if (r < 0) {
		v->counters.host_errors++;
		c->host_hup = true;
	}
	host_closed(c);
	return 0;
}

/* One packet c owes, or payload; its cost, 0 when nothing went. */
static unsigned int send_one(struct vsock *v, struct vsock_conn *c)
{
	if (c->owe & OWE_REQUEST) {
		c->owe &= (uint8_t)~OWE_REQUEST;
		send_packet(v, c, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_REQUEST, 0, 0);
		return 1;
	}
	if (c->owe & OWE_RESPONSE) {
		c->owe &= (uint8_t)~OWE_RESPONSE;
		send_packet(v, c, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_RESPONSE, 0, 0);
		return 1;
	}
	if (c->owe & OWE_SHUTDOWN) {
		c->owe &= (uint8_t)~OWE_SHUTDOWN;
		send_packet(v, c, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_SHUTDOWN,
			    c->shutdown_flags, 0);
		if (c->shutdown_flags & VIRTIO_VSOCK_SHUTDOWN_RCV) {
			/* Both ways closed: the guest answers with RST, or is forgotten. */
			c->state = CONN_CLOSING;
			vsock_arm_deadline(v, c, VSOCK_TIMEOUT_NS);
		}
		return 1;
	}
	if (c->owe & OWE_CREDIT_UPDATE) {
		send_packet(v, c, c->local_port, c->peer_port, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0);
		return 1;
	}
	return send_data(v, c);
}

static bool has_work(const struct vsock_conn *c)
{
	if (c->state == CONN_FREE || c->state == CONN_AWAIT_LINE || c->stale)
		return false;
	if (c->owe)
		return true;
	return c->state == CONN_ESTABLISHED && c->readable && !c->host_eof && !c->guest_shut_rcv &&
	       vsock_peer_credit(c) > 0;
}

static void kick_self(struct vsock *v)
{
	uint64_t one = 1;
	if (write(v->transport.notifiers[VSOCK_RXQ].fd, &one, sizeof(one)) < 0)
		v->counters.host_errors++;
}

void vsock_rx_run(struct vsock *v)
{
	struct virtq *vq = rxq(v);
	if (!virtio_mmio_driver_ok(&v->transport) || !vq || !vq->ready || vq->broken)
		return;
	unsigned int spent = 0;
	bool progress = true;
	while (progress && spent < VIRTIO_QUEUE_BUDGET) {
		progress = false;
		while (v->nr_rsts && spent < VIRTIO_QUEUE_BUDGET) {
			if (!rx_take(v, vq))
				goto wait;
			struct vsock_rst r = v->rsts[0];
			memmove(v->rsts, v->rsts + 1, --v->nr_rsts * sizeof(v->rsts[0]));
			send_packet(v, NULL, r.src_port, r.dst_port, VIRTIO_VSOCK_OP_RST, 0, 0);
			spent++;
		}
		for (unsigned int i = 0; i < VSOCK_MAX_CONNS && spent < VIRTIO_QUEUE_BUDGET; i++) {
			struct vsock_conn *c = &v->conns[(v->rr + i) % VSOCK_MAX_CONNS];
			if (!has_work(c))
				continue;
			if (!rx_take(v, vq))
				goto wait;
			unsigned int cost = send_one(v, c);
			spent += cost;
			/* Nothing sent, but the host end closed: the SHUTDOWN goes next pass. */
			if (cost || has_work(c))
				progress = true;
			/* A closed host end with nothing more owed, after the guest closed too. */
			if (c->host_eof && c->guest_shut_send && !c->owe && !c->buf_len &&
			    c->state == CONN_ESTABLISHED)
				vsock_conn_close(c, true);
		}
		v->rr = (v->rr + 1) % VSOCK_MAX_CONNS;
	}
	if (spent >= VIRTIO_QUEUE_BUDGET)
		kick_self(v); /* the rest on the next turn of the loop */
	return;
wait:
	/* No chain: the driver's kick brings the device back, unless chains came meanwhile. */
	if (vq_enable_notify(vq))
		kick_self(v);
}
