// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net: features, configuration space, transmit, life. Receive is in
 * rx.c. The rules that matter (docs/net.md has the rest):
 *  - a transmit chain is a 12-byte header and at most NET_MAX_FRAME bytes,
 *    all device-readable; it goes to the tap with one writev straight from
 *    guest memory, each buffer checked by base/memory first;
 *  - a frame whose header asks for an offload the guest did not ack is
 *    dropped, and so is every malformed chain: counted, completed, survived;
 *  - the tap's offloads follow what the guest acked (TUNSETOFFLOAD), set on
 *    the event loop since acks arrive on a vCPU.
 */
#include "devices/virtio/net/net.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

#define FEATURE(bit) (1ull << (bit))

static struct net *to_net(void *dev)
{
	return dev;
}

static bool acked(const struct net *n, unsigned int bit)
{
	return n->transport.acked_features & FEATURE(bit);
}

static uint64_t net_features(void *dev)
{
	struct net *n = to_net(dev);
	uint64_t f = FEATURE(VIRTIO_NET_F_CSUM) | FEATURE(VIRTIO_NET_F_GUEST_CSUM) |
		     FEATURE(VIRTIO_NET_F_GUEST_TSO4) | FEATURE(VIRTIO_NET_F_GUEST_TSO6) |
		     FEATURE(VIRTIO_NET_F_HOST_TSO4) | FEATURE(VIRTIO_NET_F_HOST_TSO6) |
		     FEATURE(VIRTIO_NET_F_MRG_RXBUF);
	if (n->tap_ufo)
		f |= FEATURE(VIRTIO_NET_F_GUEST_UFO) | FEATURE(VIRTIO_NET_F_HOST_UFO);
	if (n->has_mac)
		f |= FEATURE(VIRTIO_NET_F_MAC);
	if (n->mtu)
		f |= FEATURE(VIRTIO_NET_F_MTU);
	return f;
}

static uint16_t net_queue_max_size(void *dev, unsigned int idx, uint64_t acked)
{
	return idx <= NET_TXQ ? NET_QUEUE_SIZE : 0;
}

/* The dependencies virtio 1.2 5.1.3.1 sets between the offloads. */
static int net_features_ok(void *dev, uint64_t f)
{
	struct net *n = to_net(dev);
	uint64_t guest_gso = FEATURE(VIRTIO_NET_F_GUEST_TSO4) | FEATURE(VIRTIO_NET_F_GUEST_TSO6) |
			     FEATURE(VIRTIO_NET_F_GUEST_UFO);
	uint64_t host_gso = FEATURE(VIRTIO_NET_F_HOST_TSO4) | FEATURE(VIRTIO_NET_F_HOST_TSO6) |
			    FEATURE(VIRTIO_NET_F_HOST_UFO);
	if (((f & guest_gso) && !(f & FEATURE(VIRTIO_NET_F_GUEST_CSUM))) ||
	    ((f & host_gso) && !(f & FEATURE(VIRTIO_NET_F_CSUM)))) {
		log_warn_limited(&n->log_guest,
				 "net %s: the driver acked segmentation without checksum offload",
				 n->iface_id);
		return -EINVAL;
	}
	return 0;
}

static void net_config_read(void *dev, uint32_t offset, void *data, unsigned int len)
{
	struct net *n = to_net(dev);
	struct virtio_net_config c;
	memset(&c, 0, sizeof(c));
	memcpy(c.mac, n->mac, sizeof(c.mac));
	c.mtu = n->mtu;
	memcpy(data, (const uint8_t *)&c + offset, len);
}

/* DRIVER_OK, on a vCPU: what the guest acked decides how frames are received. */
static void net_activate(void *dev)
{
	struct net *n = to_net(dev);
	n->mergeable = acked(n, VIRTIO_NET_F_MRG_RXBUF);
	bool gso = acked(n, VIRTIO_NET_F_GUEST_TSO4) || acked(n, VIRTIO_NET_F_GUEST_TSO6) ||
		   acked(n, VIRTIO_NET_F_GUEST_UFO);
	n->rx_need = gso ? NET_MAX_PACKET : NET_HDR_LEN + 18 + MAX(n->mtu, 1500);
	n->offloads_pending = true; /* applied on the event loop (the first queue notify) */
}

void net_restored(struct net *n)
{
	if (virtio_mmio_driver_ok(&n->transport))
		net_activate(n);
}

static void net_reset(void *dev)
{
	struct net *n = to_net(dev);
	net_rx_drop_held(n);
	n->mergeable = false;
	n->offloads_pending = true; /* back to none */
}

static void net_queue_disable(void *dev, unsigned int idx)
{
	if (idx == NET_RXQ)
		net_rx_drop_held(to_net(dev));
}

static void apply_offloads(struct net *n)
{
	unsigned int want = 0;
	if (virtio_mmio_driver_ok(&n->transport) && acked(n, VIRTIO_NET_F_GUEST_CSUM)) {
		want |= TUN_F_CSUM;
		if (acked(n, VIRTIO_NET_F_GUEST_TSO4))
			want |= TUN_F_TSO4;
		if (acked(n, VIRTIO_NET_F_GUEST_TSO6))
			want |= TUN_F_TSO6;
		if (acked(n, VIRTIO_NET_F_GUEST_UFO))
			want |= TUN_F_UFO;
	}
	n->offloads_pending = false;
	if (want == n->tap_offloads)
		return;
	int ret = net_tap_set_offloads(n->tap_fd, want);
	if (ret < 0) {
		n->counters.tap_errors++;
		log_warn_limited(&n->log_tap, "net %s: TUNSETOFFLOAD 0x%x: %s", n->iface_id, want,
				 strerror(-ret));
		return;
	}
	n->tap_offloads = want;
	n->counters.offload_changes++;
}

/* ---- transmit ---- */

static unsigned int tx_refuse(struct net *n, struct virtq *vq, const struct vq_chain *c,
			      const char *why)
{
	n->counters.tx_malformed++;
	log_debug_limited(&n->log_guest, "net %s: transmit chain refused: %s", n->iface_id, why);
	vq_push(vq, c->head, 0);
	virtio_mmio_used(&n->transport, NET_TXQ);
	return 1;
}

/* The header asks only for what the guest acked. */
static const char *check_header(const struct net *n, const struct virtio_net_hdr_v1 *h)
{
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !acked(n, VIRTIO_NET_F_CSUM))
		return "a checksum offload the driver did not ack";
	switch (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return NULL;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return acked(n, VIRTIO_NET_F_HOST_TSO4) ? NULL : "TSO4 without HOST_TSO4";
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return acked(n, VIRTIO_NET_F_HOST_TSO6) ? NULL : "TSO6 without HOST_TSO6";
	case VIRTIO_NET_HDR_GSO_UDP:
		return acked(n, VIRTIO_NET_F_HOST_UFO) ? NULL : "UFO without HOST_UFO";
	default:
		return "an unknown segmentation type";
	}
}

static bool tx_limited(struct net *n)
{
	if (!rate_limiter_hold(&n->tx_limit, &n->tx_timer))
		return false;
	n->counters.tx_rate_limited++;
	return true;
}

static unsigned int net_tx_chain(void *dev, struct virtq *vq, unsigned int idx,
				 const struct vq_chain *c, enum vq_error err)
{
	struct net *n = to_net(dev);
	struct iovec iov[VQ_MAX_CHAIN];
	struct virtio_net_hdr_v1 hdr;
	uint64_t len = 0;
	if (err != VQ_ERR_NONE)
		return tx_refuse(n, vq, c, vq_error_name(err));
	for (unsigned int i = 0; i < c->nr; i++) {
		const struct vq_buf *b = &c->bufs[i];
		if (b->device_writable)
			return tx_refuse(n, vq, c, "a device-writable buffer");
		iov[i].iov_base = mem_gpa_to_hva(n->mem, b->gpa, b->len);
		iov[i].iov_len = b->len;
		if (!iov[i].iov_base)
			return tx_refuse(n, vq, c, "a buffer outside guest RAM");
		len += b->len;
	}
	if (len < NET_HDR_LEN)
		return tx_refuse(n, vq, c, "shorter than the 12-byte header");
	if (len > NET_MAX_PACKET)
		return tx_refuse(n, vq, c, "a frame larger than 65550 bytes");
	if (vq_chain_read(n->mem, c, 0, &hdr, sizeof(hdr)) < 0)
		return tx_refuse(n, vq, c, "an unreadable header");
	const char *why = check_header(n, &hdr);
	if (why)
		return tx_refuse(n, vq, c, why);

	ssize_t w = writev(n->tap_fd, iov, (int)c->nr);
	if (w < 0) {
		/* A tap that is down, or a frame its stack refused: the guest's frame is lost. */
		n->counters.tx_dropped++;
		if (errno != EAGAIN && errno != EIO)
			n->counters.tap_errors++;
		log_debug_limited(&n->log_tap, "net %s: writing a frame to the tap: %s",
				  n->iface_id, strerror(errno));
	} else {
		n->counters.tx_frames++;
		n->counters.tx_bytes += len - NET_HDR_LEN;
	}
	vq_push(vq, c->head, 0);
	virtio_mmio_used(&n->transport, NET_TXQ);
	if (rate_limiter_active(&n->tx_limit)) {
		rate_limiter_consume(&n->tx_limit, len - NET_HDR_LEN, 1, rate_limit_now_ns());
		if (tx_limited(n))
			return VIRTIO_QUEUE_STOP;
	}
	return 1 + (unsigned int)(len >> 16);
}

static void net_queue_notify(void *dev, unsigned int idx)
{
	struct net *n = to_net(dev);
	if (n->offloads_pending)
		apply_offloads(n);
	if (idx == NET_RXQ) {
		net_rx_run(n);
		return;
	}
	if (!tx_limited(n))
		virtio_mmio_process_queue(&n->transport, NET_TXQ, net_tx_chain);
}

static void tx_timer_fired(void *opaque, uint32_t events)
{
	struct net *n = opaque;
	pthread_mutex_lock(&n->transport.lock);
	rate_timer_ack(&n->tx_timer);
	struct virtq *vq = virtio_mmio_queue(&n->transport, NET_TXQ);
	if (virtio_mmio_driver_ok(&n->transport) && vq && vq->ready)
		net_queue_notify(n, NET_TXQ);
	pthread_mutex_unlock(&n->transport.lock);
}

static const struct virtio_device_ops net_ops = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.config_size = sizeof(struct virtio_net_config),
	.max_queues = 2,
	.features = net_features,
	.queue_max_size = net_queue_max_size,
	.features_ok = net_features_ok,
	.config_read = net_config_read,
	.activate = net_activate,
	.queue_notify = net_queue_notify,
	.queue_disable = net_queue_disable,
	.reset = net_reset,
};

/* ---- life ---- */

int net_init(struct net *n, const struct net_params *p, struct guest_memory *mem,
	     struct event_loop *loop, uint64_t base, unsigned int gsi)
{
	memset(n, 0, sizeof(*n));
	n->tap_fd = p->tap.fd;
	n->tap_ufo = p->tap.ufo;
	n->mem = mem;
	n->loop = loop;
	n->has_mac = p->has_mac;
	memcpy(n->mac, p->mac, sizeof(n->mac));
	n->mtu = p->mtu;
	n->tap_readable = true;
	snprintf(n->iface_id, sizeof(n->iface_id), "%s", p->iface_id ? p->iface_id : "");
	uint64_t now = rate_limit_now_ns();
	rate_limiter_init(&n->rx_limit, &p->rx_limit, now);
	rate_limiter_init(&n->tx_limit, &p->tx_limit, now);
	int ret = virtio_mmio_init(&n->transport, &net_ops, n, mem, loop, base, gsi);
	if (ret == 0) {
		n->held = calloc(NET_QUEUE_SIZE, sizeof(*n->held));
		n->rx_pending = malloc(NET_MAX_PACKET);
		ret = n->held && n->rx_pending ? 0 : -ENOMEM;
	}
	if (ret == 0)
		ret = rate_timer_init(&n->rx_timer, loop, net_rx_timer_fired, n);
	if (ret == 0)
		ret = rate_timer_init(&n->tx_timer, loop, tx_timer_fired, n);
	/* Edge-triggered: read until EAGAIN, or come back by a kick; never a busy loop. */
	if (ret == 0)
		ret = event_loop_add(loop, n->tap_fd, EPOLLIN | EPOLLET, net_tap_event, n,
				     &n->tap_src);
	return ret;
}

void net_destroy(struct net *n)
{
	const struct net_counters *c = &n->counters;
	log_info("net %s: rx %llu frames (%llu MiB), tx %llu frames (%llu MiB), %llu rx dropped, "
		 "%llu tx dropped, %llu malformed",
		 n->iface_id, (unsigned long long)c->rx_frames,
		 (unsigned long long)(c->rx_bytes >> 20), (unsigned long long)c->tx_frames,
		 (unsigned long long)(c->tx_bytes >> 20), (unsigned long long)c->rx_dropped,
		 (unsigned long long)c->tx_dropped,
		 (unsigned long long)(c->tx_malformed + c->rx_bad_chains));
	/* What receive waited for, if a guest hung on it: buffers, a frame or a token. */
	log_debug("net %s: receive at exit: %u chains held (%llu bytes), a %u-byte frame pending, "
		  "tap %s, limiter timer %s",
		  n->iface_id, n->held_nr, (unsigned long long)n->held_cap, n->rx_pending_len,
		  n->tap_readable ? "readable" : "drained", n->rx_timer.armed ? "armed" : "idle");
	if (n->loop && n->tap_src)
		event_loop_remove(n->loop, n->tap_src);
	rate_timer_destroy(&n->rx_timer);
	rate_timer_destroy(&n->tx_timer);
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	n->tap_fd = -1;
	free(n->held);
	n->held = NULL;
	free(n->rx_pending);
	n->rx_pending = NULL;
	virtio_mmio_destroy(&n->transport);
}

void net_set_limits(struct net *n, const struct rate_limiter_conf *rx,
		    const struct rate_limiter_conf *tx)
{
	uint64_t now = rate_limit_now_ns();
	rate_limiter_init(&n->rx_limit, rx, now);
	rate_limiter_init(&n->tx_limit, tx, now);
	/* Whatever waited for the old limits tries again now. */
	rate_timer_arm(&n->rx_timer, 1000);
	rate_timer_arm(&n->tx_timer, 1000);
}
