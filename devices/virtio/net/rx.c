// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net receive: frames go from the tap straight into guest buffers.
 * Receive chains are taken from the ring only when a frame waits, and held
 * (as host iovecs, each buffer checked by base/memory) until enough room for
 * the largest frame the guest may be given is there; then one readv fills
 * one chain, or with VIRTIO_NET_F_MRG_RXBUF as many as the frame needs,
 * and num_buffers says how many. When the ring gives no more and the held
 * chains are short of the largest frame, the next frame is read into a
 * pending buffer and copied once there is room for its own size (a frame no
 * ring's worth of chains can hold is dropped). The work of one wakeup is bounded
 * (NET_RX_FRAMES_PER_WAKEUP frames, VIRTIO_QUEUE_BUDGET chains taken, so that
 * a driver refilling with chains the device refuses cannot hold the loop
 * either); the rest comes back through the receive
 * queue's own notifier, behind everything else the loop has to do. With no
 * room, the device waits for the driver's kick; with no token, for the
 * limiter's timer; with no frame, for the tap's next edge.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "devices/virtio/net/net.h"

#define RX_MAX_IOV 1024 /* IOV_MAX */

static struct virtq *rxq(struct net *n)
{
	return virtio_mmio_queue(&n->transport, NET_RXQ);
}

/* More may wait: the receive queue's notifier brings the device back on the loop's next turn. */
static void rx_come_back(struct net *n)
{
	uint64_t one = 1;
	if (write(n->transport.notifiers[NET_RXQ].fd, &one, sizeof(one)) < 0)
		n->counters.tap_errors++;
}

static bool rx_ready(struct net *n)
{
	struct virtq *vq = rxq(n);
	return virtio_mmio_driver_ok(&n->transport) && vq && vq->ready && !vq->broken;
}

void net_rx_drop_held(struct net *n)
{
	/* The chains belonged to a ring the driver took back: nothing is completed. */
	n->held_first = n->held_nr = 0;
	n->held_cap = 0;
	n->rx_pending_len = 0;
}

static void rx_bad(struct net *n, struct virtq *vq, uint16_t head, const char *why)
{
	n->counters.rx_bad_chains++;
	log_debug_limited(&n->log_guest, "net %s: receive chain refused: %s", n->iface_id, why);
	vq_push(vq, head, 0);
	virtio_mmio_used(&n->transport, NET_RXQ);
}

/* Keeps a chain for frames to come: its writable buffers, at most NET_MAX_PACKET of them. */
static void hold(struct net *n, struct virtq *vq, const struct vq_chain *c)
{
	struct net_rx_chain *h = &n->held[(n->held_first + n->held_nr) % NET_QUEUE_SIZE];
	uint64_t cap = 0;
	h->head = c->head;
	h->nr = 0;
	for (unsigned int i = 0; i < c->nr; i++) {
		const struct vq_buf *b = &c->bufs[i];
		if (!b->device_writable) {
			rx_bad(n, vq, c->head, "a device-readable buffer");
			return;
		}
		void *hva = mem_gpa_to_hva(n->mem, b->gpa, b->len);
		if (!hva) {
			rx_bad(n, vq, c->head, "a buffer outside guest RAM");
			return;
		}
		uint64_t len = MIN((uint64_t)b->len, NET_MAX_PACKET - cap);
		if (len && h->nr < NET_RX_MAX_BUFS) {
			h->iov[h->nr++] = (struct iovec){ .iov_base = hva, .iov_len = len };
			cap += len;
		}
	}
	if (cap < NET_HDR_LEN) {
		rx_bad(n, vq, c->head, "no room for the 12-byte header");
		return;
	}
	h->cap = (uint32_t)cap;
	n->held_nr++;
	n->held_cap += cap;
}

int net_rx_rehold(struct net *n, uint16_t head)
{
	struct virtq *vq = rxq(n);
	struct vq_chain chain;
	enum vq_error err;
	if (!vq || n->held_nr >= NET_QUEUE_SIZE)
		return -EPROTO;
	if (vq->broken)
		return 0; /* the reset the ring waits for would drop it */
	int ret = vq_chain_at(vq, head, &chain, &err);
	if (ret == -EINVAL)
		return -EPROTO;
	if (ret < 0)
		rx_bad(n, vq, head, vq_error_name(err));
	else
		hold(n, vq, &chain);
	return 0;
}

static bool rx_room(const struct net *n, uint32_t need)
{
	return n->mergeable ? n->held_cap >= need : n->held_nr > 0;
}

/* Every chain the ring can hold is held: waiting for the driver cannot bring more room. */
static bool rx_ring_held(const struct net *n, const struct virtq *vq)
{
	return n->held_nr >= MIN((unsigned int)vq->size, NET_QUEUE_SIZE);
}

/* Takes chains until need bytes have room; false when the ring ran dry, or the budget, first. */
static bool rx_fill(struct net *n, struct virtq *vq, uint32_t need, unsigned int *budget)
{
	struct vq_chain chain;
	while (!rx_room(n, need) && !rx_ring_held(n, vq) && *budget) {
		enum vq_error err;
		--*budget;
		int ret = vq_pop(vq, &chain, &err);
		if (ret == 0)
			return false;
		if (ret == -EPIPE) {
			virtio_mmio_needs_reset(&n->transport, vq_error_name(err));
			return false;
		}
		if (ret < 0)
			rx_bad(n, vq, chain.head, vq_error_name(err));
		else
			hold(n, vq, &chain);
	}
	return rx_room(n, need);
}

/*
 * Room for need bytes, or false: after asking the driver to kick when it
 * adds buffers, or at once when every chain the ring can hold is held (its
 * avail index can still move, as a driver may write anything there, and
 * waiting on it would spin for ever), or when the wakeup's budget of chains
 * ran out (then the device comes back on the loop's next turn).
 */
static bool rx_fill_or_wait(struct net *n, struct virtq *vq, uint32_t need, unsigned int *budget)
{
	for (;;) {
		if (rx_fill(n, vq, need, budget))
			return true;
		if (!*budget) {
			rx_come_back(n);
			return false;
		}
		if (rx_ring_held(n, vq) || vq->broken || !vq_enable_notify(vq))
			return false;
	}
}

static struct net_rx_chain *held_at(struct net *n, unsigned int i)
{
	return &n->held[(n->held_first + i) % NET_QUEUE_SIZE];
}

/* The held chains' buffers for a frame of up to need bytes, oldest chain first; their room. */
static uint64_t rx_gather(struct net *n, uint32_t need, struct iovec *iov, unsigned int *nr_iov)
{
	unsigned int nr_chains = 0;
	uint64_t room = 0;
	*nr_iov = 0;
	do {
		const struct net_rx_chain *h = held_at(n, nr_chains);
		if (*nr_iov + h->nr > RX_MAX_IOV)
			break;
		memcpy(&iov[*nr_iov], h->iov, h->nr * sizeof(*iov));
		*nr_iov += h->nr;
		room += h->cap;
		nr_chains++;
	} while (n->mergeable && room < need && nr_chains < n->held_nr);
	return room;
}

/* Reads one frame. >0: its length; 0: it did not fit and the tap dropped it; -1: none (EAGAIN). */
static ssize_t tap_read(struct net *n, const struct iovec *iov, unsigned int nr_iov)
{
	ssize_t r = readv(n->tap_fd, iov, (int)nr_iov);
	if (r < 0 && (errno == EFAULT || errno == EINVAL || errno == EMSGSIZE)) {
		n->counters.rx_dropped++;
		log_debug_limited(&n->log_tap, "net %s: a frame did not fit: %s", n->iface_id,
				  strerror(errno));
		return 0;
	}
	if (r < NET_HDR_LEN) {
		if (r >= 0 || errno != EAGAIN) {
			n->counters.tap_errors++;
			log_warn_limited(&n->log_tap, "net %s: reading from the tap: %s",
					 n->iface_id, r < 0 ? strerror(errno) : "a short frame");
		}
		n->tap_readable = false; /* until its next edge */
		return -1;
	}
	return r;
}

/* Completes the held chains a frame of len bytes (its header included) went into, oldest first. */
static void rx_complete(struct net *n, struct virtq *vq, uint64_t len)
{
	uint16_t used = 0;
	for (uint64_t left = len; left; used++) {
		const struct net_rx_chain *h = held_at(n, used);
		left -= MIN(left, (uint64_t)h->cap);
	}
	uint16_t num_buffers = used; /* little-endian, as virtio 1 is */
	vq_iov_write_at(held_at(n, 0)->iov, held_at(n, 0)->nr, NET_HDR_LEN - 2, &num_buffers, 2);
	uint64_t left = len;
	for (uint16_t i = 0; i < used; i++) {
		const struct net_rx_chain *h = held_at(n, 0);
		uint32_t chain_len = (uint32_t)MIN(left, (uint64_t)h->cap);
		/* KVM's dirty log sees only the guest's writes: a diff snapshot needs these too. */
		mem_mark_dirty_iov(n->mem, h->iov, h->nr, chain_len);
		vq_push(vq, h->head, chain_len);
		left -= chain_len;
		n->held_cap -= h->cap;
		n->held_first = (n->held_first + 1) % NET_QUEUE_SIZE;
		n->held_nr--;
	}
	virtio_mmio_used(&n->transport, NET_RXQ);
	n->counters.rx_frames++;
	n->counters.rx_bytes += len - NET_HDR_LEN;
	if (rate_limiter_active(&n->rx_limit))
		rate_limiter_consume(&n->rx_limit, len - NET_HDR_LEN, 1, rate_limit_now_ns());
}

/* Reads one frame straight into the held chains. False when the tap had none. */
static bool rx_frame(struct net *n, struct virtq *vq)
{
	struct iovec iov[RX_MAX_IOV];
	unsigned int nr_iov;
	rx_gather(n, n->rx_need, iov, &nr_iov);
	ssize_t r = tap_read(n, iov, nr_iov);
	if (r > 0)
		rx_complete(n, vq, (uint64_t)r);
	return r >= 0; /* a frame the tap dropped leaves the chains for the next */
}

/*
 * The held chains cannot take the largest frame and the ring gives no more
 * for now (a small queue, or a driver that waits for used buffers before it
 * adds any): the next frame goes to the pending buffer, where its own size
 * decides whether it fits. False when the tap had none.
 */
static bool rx_frame_pending(struct net *n)
{
	struct iovec iov = { .iov_base = n->rx_pending, .iov_len = NET_MAX_PACKET };
	ssize_t r = tap_read(n, &iov, 1);
	if (r > 0)
		n->rx_pending_len = (uint32_t)r;
	return r >= 0;
}

/*
 * Copies the pending frame into the held chains once they have room for
 * it, or drops it when even every chain the ring can hold has none. False:
 * wait for the driver's buffers.
 */
static bool rx_deliver_pending(struct net *n, struct virtq *vq, unsigned int *budget)
{
	uint32_t len = n->rx_pending_len;
	struct iovec iov[RX_MAX_IOV];
	unsigned int nr_iov;
	if (rx_fill_or_wait(n, vq, len, budget) && rx_gather(n, len, iov, &nr_iov) >= len) {
		vq_iov_write_at(iov, nr_iov, 0, n->rx_pending, len);
		rx_complete(n, vq, len);
	} else if (rx_ring_held(n, vq) || rx_room(n, len)) {
		n->counters.rx_dropped++;
		log_debug_limited(
			&n->log_guest,
			"net %s: a %u-byte frame dropped: %u receive chains hold %llu bytes",
			n->iface_id, len, n->held_nr, (unsigned long long)n->held_cap);
	} else {
		return false;
	}
	n->rx_pending_len = 0;
	return true;
}

static bool rx_limited(struct net *n)
{
	if (!rate_limiter_hold(&n->rx_limit, &n->rx_timer))
		return false;
	n->counters.rx_rate_limited++;
	return true;
}

void net_rx_run(struct net *n)
{
	if (!rx_ready(n))
		return;
	struct virtq *vq = rxq(n);
	unsigned int budget = VIRTIO_QUEUE_BUDGET; /* chains taken this wakeup */
	for (unsigned int i = 0; i < NET_RX_FRAMES_PER_WAKEUP; i++) {
		bool more;
		if (n->rx_pending_len)
			more = rx_deliver_pending(n, vq, &budget);
		else if (!n->tap_readable || rx_limited(n))
			more = false;
		else if (rx_fill_or_wait(n, vq, n->rx_need, &budget))
			more = rx_frame(n, vq);
		else /* the ring ran dry, unless the budget did (and the device comes back) */
			more = budget && n->mergeable && n->held_nr && rx_frame_pending(n);
		if (!more)
			return;
	}
	rx_come_back(n); /* behind the loop's other work */
}

void net_tap_event(void *opaque, uint32_t events)
{
	struct net *n = opaque;
	pthread_mutex_lock(&n->transport.lock);
	n->tap_readable = true;
	net_rx_run(n);
	pthread_mutex_unlock(&n->transport.lock);
}

void net_rx_timer_fired(void *opaque, uint32_t events)
{
	struct net *n = opaque;
	pthread_mutex_lock(&n->transport.lock);
	rate_timer_ack(&n->rx_timer);
	net_rx_run(n);
	pthread_mutex_unlock(&n->transport.lock);
}
