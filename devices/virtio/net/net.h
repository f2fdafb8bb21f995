/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_VIRTIO_NET_H
#define EBB_VIRTIO_NET_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/ratelimit.h"
#include "devices/virtio/mmio.h"

/*
 * virtio-net over a host tap device (docs/net.md). Queue 0 receives (tap ->
 * guest), queue 1 transmits (guest -> tap); both are served on the event
 * loop, with the tap's fd registered there edge-triggered. The guest's
 * offloads are honoured in both directions and the tap is told which ones
 * the guest acked. Every function here except net_init() and the tap
 * helpers expects the transport lock.
 */

#define NET_QUEUE_SIZE 256
#define NET_RXQ	       0
#define NET_TXQ	       1
/* struct virtio_net_hdr_v1: with VIRTIO_F_VERSION_1 it always has num_buffers. */
#define NET_HDR_LEN 12
/* The largest frame after the header: a 64 KiB GSO packet with its Ethernet and VLAN headers. */
#define NET_MAX_FRAME  65550
#define NET_MAX_PACKET (NET_HDR_LEN + NET_MAX_FRAME)
/* Frames read from the tap in one turn of the event loop, at most. */
#define NET_RX_FRAMES_PER_WAKEUP 64
/* Buffers of one receive chain that are used (Linux's big packets take MAX_SKB_FRAGS + 2). */
#define NET_RX_MAX_BUFS 20

struct net_counters {
	uint64_t rx_frames;
	uint64_t rx_bytes;
	uint64_t tx_frames;
	uint64_t tx_bytes;
	uint64_t rx_dropped;	  /* frames that fit in no receive buffers the driver gave */
	uint64_t rx_bad_chains;	  /* receive chains no frame can go in: completed empty */
	uint64_t tx_malformed;	  /* transmit chains refused: short, oversize, bad header */
	uint64_t tx_dropped;	  /* the tap refused a frame */
	uint64_t rx_rate_limited; /* times the receive limiter made the device wait */
	uint64_t tx_rate_limited;
	uint64_t tap_errors;
	uint64_t offload_changes;
};

/* A receive chain taken from the ring and not used yet: its buffers as host memory. */
struct net_rx_chain {
	uint16_t head;
	uint16_t nr;
	uint32_t cap;
	struct iovec iov[NET_RX_MAX_BUFS];
};

struct net_tap_info {
	int fd;	  /* the tap, opened by net_tap_open(); net_init() owns it from then on */
	bool ufo; /* the tap takes TUN_F_UFO: UFO may be offered */
};

struct net_params {
	const char *iface_id;
	struct net_tap_info tap;
	bool has_mac;
	uint8_t mac[6];
	uint16_t mtu; /* 0: none advertised */
	struct rate_limiter_conf rx_limit, tx_limit;
};

struct net {
	struct virtio_mmio transport;
	struct guest_memory *mem;
	struct event_loop *loop;
	char iface_id[65];
	int tap_fd;
	bool tap_ufo;
	bool has_mac;
	uint8_t mac[6];
	uint16_t mtu;
	struct event_source *tap_src;

	/* What the guest acked, once it did. */
	bool mergeable;
	uint32_t rx_need;      /* buffer space a frame may need */
	bool offloads_pending; /* the tap's offloads must follow the acked features */
	uint32_t tap_offloads; /* TUN_F_* in force */
	bool tap_readable;     /* an edge said so and no read said EAGAIN since */

	/* Receive chains taken from the ring, oldest first. */
	struct net_rx_chain *held;
	unsigned int held_first, held_nr;
	uint64_t held_cap;
	/* A frame read before the held chains had room for it (not saved in snapshots). */
	uint8_t *rx_pending;
	uint32_t rx_pending_len;

	struct rate_limiter rx_limit, tx_limit;
	struct rate_timer rx_timer, tx_timer;
	struct net_counters counters;
	struct log_limit log_guest, log_tap;
};

/*
 * Opens the existing tap name with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and
 * learns which offloads it takes; on failure returns negative errno and one
 * line saying why in err.
 */
int net_tap_open(const char *name, struct net_tap_info *info, char *err, size_t err_len);
/* TUNSETOFFLOAD; negative errno. */
int net_tap_set_offloads(int fd, unsigned int offloads);

int net_init(struct net *n, const struct net_params *p, struct guest_memory *mem,
	     struct event_loop *loop, uint64_t base, unsigned int gsi);
void net_destroy(struct net *n);
/* PATCH /network-interfaces: new limiters (full buckets), with the transport lock. */
void net_set_limits(struct net *n, const struct rate_limiter_conf *rx,
		    const struct rate_limiter_conf *tx);

/* rx.c */
void net_rx_run(struct net *n);
void net_rx_drop_held(struct net *n);
/*
 * Restore: holds again a chain a snapshot held, walked from its head in the
 * restored ring (a bad one is completed empty). -EPROTO: no such head.
 */
int net_rx_rehold(struct net *n, uint16_t head);
/* Restore: what DRIVER_OK derived from the acked features, derived again. */
void net_restored(struct net *n);
void net_tap_event(void *opaque, uint32_t events);
void net_rx_timer_fired(void *opaque, uint32_t events);

#endif
