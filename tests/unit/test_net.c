// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net with the fake driver. The tap is one end of a SOCK_SEQPACKET
 * socketpair: like a tap, each read gives one frame and each write takes
 * one; the test holds the other end. Frames go both ways byte for byte;
 * every malformed chain is counted and completed, once; receive stops at
 * its bound per wakeup and waits (without spinning) for buffers; the rate
 * limiters hold.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"
#include "devices/virtio/net/conf.h"
#include "devices/virtio/net/net.h"
#include "tests/unit/support/fake_driver.h"

#define F(bit) (1ull << (bit))
#define BASIC  (F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM))
#define GSO                                                                \
	(BASIC | F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) | \
	 F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6))

struct fixture {
	struct fake_driver fd;
	struct net n;
	int peer; /* the host's end of the "tap" */
};

static struct fixture *make(const struct net_params *extra)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	fake_init(&fx->fd);
	struct net_params p = { .iface_id = "eth0" };
	if (extra)
		p = *extra;
	p.tap.fd = sv[0];
	fx->peer = sv[1];
	assert_int_equal(net_init(&fx->n, &p, &fx->fd.mem, &fx->fd.loop, 0, 5), 0);
	fake_attach(&fx->fd, &fx->n.transport);
	return fx;
}

static void bring_up_rings(struct fixture *fx, uint64_t features, uint16_t size)
{
	assert_true(fake_negotiate(&fx->fd, features) & VIRTIO_CONFIG_S_FEATURES_OK);
	assert_int_equal(fake_setup_queue(&fx->fd, NET_RXQ, size), 1);
	assert_int_equal(fake_setup_queue(&fx->fd, NET_TXQ, size), 1);
	fake_driver_ok(&fx->fd);
	fake_run_loop(&fx->fd, 10); /* the kicks DRIVER_OK makes */
}

static void bring_up(struct fixture *fx, uint64_t features)
{
	bring_up_rings(fx, features, 256);
}

static struct fixture *up(uint64_t features)
{
	struct fixture *fx = make(NULL);
	bring_up(fx, features);
	return fx;
}

static void destroy(struct fixture *fx)
{
	net_destroy(&fx->n);
	close(fx->peer);
	fake_destroy(&fx->fd);
	free(fx);
}

static uint8_t byte_at(uint64_t i)
{
	return (uint8_t)(i * 131 + 7);
}

/* A transmit chain: header (12 zero bytes, gso as given) and len payload bytes in one buffer. */
static uint16_t tx(struct fixture *fx, uint32_t len, uint8_t gso)
{
	uint64_t gpa = fake_alloc(&fx->fd, NET_HDR_LEN + len, 8);
	uint8_t *p = fake_ptr(&fx->fd, gpa, NET_HDR_LEN + len);
	memset(p, 0, NET_HDR_LEN);
	p[1] = gso;
	for (uint32_t i = 0; i < len; i++)
		p[NET_HDR_LEN + i] = byte_at(i);
	struct fake_buf b = { gpa, NET_HDR_LEN + len, false };
	return fake_add_chain(&fx->fd, NET_TXQ, &b, 1);
}

static ssize_t peer_read(struct fixture *fx, uint8_t *buf, size_t len)
{
	return recv(fx->peer, buf, len, MSG_DONTWAIT);
}

/* Writes one frame (header + len bytes) into the tap. */
static void peer_frame(struct fixture *fx, uint32_t len, uint8_t seed)
{
	uint8_t *f = calloc(1, NET_HDR_LEN + len);
	for (uint32_t i = 0; i < len; i++)
		f[NET_HDR_LEN + i] = byte_at(i + seed);
	assert_int_equal(send(fx->peer, f, NET_HDR_LEN + len, 0), NET_HDR_LEN + len);
	free(f);
}

static uint64_t rx_bufs(struct fixture *fx, unsigned int n, uint32_t len)
{
	uint64_t first = 0;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t gpa = fake_alloc(&fx->fd, len, 8);
		if (!i)
			first = gpa;
		struct fake_buf b = { gpa, len, true };
		fake_add_chain(&fx->fd, NET_RXQ, &b, 1);
	}
	return first;
}

static unsigned int drain_used(struct fixture *fx, unsigned int q, uint32_t *lens, unsigned int max)
{
	uint32_t id, len;
	unsigned int n = 0;
	while (fake_get_used(&fx->fd, q, &id, &len)) {
		if (lens && n < max)
			lens[n] = len;
		n++;
	}
	return n;
}

static void test_features_and_config(void **state)
{
	struct net_params p = { .iface_id = "a", .has_mac = true, .mac = { 6, 0, 0, 0, 0, 2 } };
	struct fixture *fx = make(&p);
	uint64_t f = fake_device_features(&fx->fd);
	assert_true(f & F(VIRTIO_NET_F_MAC));
	assert_false(f & F(VIRTIO_NET_F_MTU)); /* only when an mtu is set */
	assert_true(f & F(VIRTIO_NET_F_MRG_RXBUF));
	assert_true(f & F(VIRTIO_NET_F_GUEST_TSO4));
	assert_false(f & F(VIRTIO_NET_F_GUEST_UFO)); /* the "tap" took no TUN_F_UFO */
	uint8_t mac[6];
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)fake_read_reg(&fx->fd, VIRTIO_MMIO_CONFIG + i);
	assert_memory_equal(mac, p.mac, 6);
	destroy(fx);

	p = (struct net_params){ .iface_id = "b", .mtu = 9000 };
	fx = make(&p);
	assert_true(fake_device_features(&fx->fd) & F(VIRTIO_NET_F_MTU));
	assert_false(fake_device_features(&fx->fd) & F(VIRTIO_NET_F_MAC));
	uint16_t mtu;
	uint32_t word = fake_read_reg(&fx->fd, VIRTIO_MMIO_CONFIG + 8);
	memcpy(&mtu, (uint8_t *)&word + 2, 2); /* mac[6], status, max_virtqueue_pairs, mtu */
	assert_int_equal(mtu, 9000);
	/* Segmentation without checksum offload is refused at FEATURES_OK. */
	assert_false(fake_negotiate(&fx->fd, F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_GUEST_TSO4)) &
		     VIRTIO_CONFIG_S_FEATURES_OK);
	destroy(fx);
}

static void test_tx_round_trip(void **state)
{
	struct fixture *fx = up(GSO);
	uint8_t buf[NET_MAX_PACKET];
	tx(fx, 1500, VIRTIO_NET_HDR_GSO_NONE);
	tx(fx, 60000, VIRTIO_NET_HDR_GSO_TCPV4);
	fake_kick(&fx->fd, NET_TXQ);
	assert_int_equal(peer_read(fx, buf, sizeof(buf)), NET_HDR_LEN + 1500);
	for (int i = 0; i < 1500; i++)
		assert_int_equal(buf[NET_HDR_LEN + i], byte_at((uint64_t)i));
	assert_int_equal(peer_read(fx, buf, sizeof(buf)), NET_HDR_LEN + 60000);
	assert_int_equal(buf[1], VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(drain_used(fx, NET_TXQ, NULL, 0), 2);
	assert_int_equal(fx->n.counters.tx_frames, 2);
	assert_int_equal(fx->n.counters.tx_bytes, 61500);
	assert_int_equal(fake_outstanding(&fx->fd, NET_TXQ), 0);
	destroy(fx);
}

static void test_tx_malformed(void **state)
{
	struct fixture *fx = up(BASIC); /* no HOST_TSO */
	uint8_t buf[16];
	uint64_t gpa = fake_alloc(&fx->fd, 8, 8);
	struct fake_buf shorter = { gpa, 8, false };
	fake_add_chain(&fx->fd, NET_TXQ, &shorter, 1);
	uint64_t big = fake_alloc(&fx->fd, NET_MAX_PACKET + 1, 8);
	struct fake_buf oversize = { big, NET_MAX_PACKET + 1, false };
	fake_add_chain(&fx->fd, NET_TXQ, &oversize, 1);
	struct fake_buf writable[2] = { { gpa, 8, false }, { big, 100, true } };
	fake_add_chain(&fx->fd, NET_TXQ, writable, 2);
	struct fake_buf outside = { FAKE_RAM_SIZE - 4, 64, false };
	fake_add_chain(&fx->fd, NET_TXQ, &outside, 1);
	tx(fx, 100, VIRTIO_NET_HDR_GSO_TCPV4); /* TSO the driver did not ack */
	uint16_t loop = tx(fx, 100, 0);
	struct vring_desc *d = fake_desc(&fx->fd, NET_TXQ);
	d[loop].flags |= VRING_DESC_F_NEXT;
	d[loop].next = loop; /* a chain that loops */
	fake_kick(&fx->fd, NET_TXQ);
	assert_int_equal(drain_used(fx, NET_TXQ, NULL, 0), 6);
	assert_int_equal(fx->n.counters.tx_malformed, 6);
	assert_int_equal(fx->n.counters.tx_frames, 0);
	assert_true(peer_read(fx, buf, sizeof(buf)) < 0); /* nothing reached the tap */
	/* The device goes on. */
	tx(fx, 64, 0);
	fake_kick(&fx->fd, NET_TXQ);
	assert_int_equal(fx->n.counters.tx_frames, 1);
	destroy(fx);
}

/*
 * A frame of len bytes, from seed on, into receive buffers of buf_len bytes
 * laid out one after another from first: it must fill exactly two of them,
 * byte for byte, and say so in num_buffers.
 */
static void rx_frame_in_two(struct fixture *fx, uint64_t first, uint32_t buf_len, uint32_t len,
			    uint8_t seed)
{
	peer_frame(fx, len, seed);
	fake_run_loop(&fx->fd, 100);
	uint32_t lens[4];
	assert_int_equal(drain_used(fx, NET_RXQ, lens, 4), 2);
	assert_int_equal(lens[0], buf_len);
	assert_int_equal(lens[1], NET_HDR_LEN + len - buf_len);
	uint8_t *b0 = fake_ptr(&fx->fd, first, buf_len);
	uint16_t num_buffers;
	memcpy(&num_buffers, b0 + 10, 2);
	assert_int_equal(num_buffers, 2);
	assert_int_equal(b0[NET_HDR_LEN], byte_at(seed));
	uint8_t *b1 = fake_ptr(&fx->fd, first + buf_len, buf_len);
	assert_int_equal(b1[0], byte_at(buf_len - NET_HDR_LEN + seed));
}

static void test_rx_mergeable(void **state)
{
	struct fixture *fx = up(GSO | F(VIRTIO_NET_F_MRG_RXBUF));
	uint64_t first = rx_bufs(fx, 64, 1536);
	fake_kick(&fx->fd, NET_RXQ);
	rx_frame_in_two(fx, first, 1536, 3000, 1);
	assert_int_equal(fx->n.counters.rx_frames, 1);
	assert_int_equal(fx->n.counters.rx_bytes, 3000);
	destroy(fx);
}

static void test_rx_single_chain(void **state)
{
	struct fixture *fx = up(BASIC);
	uint64_t gpa = rx_bufs(fx, 4, NET_HDR_LEN + 1518);
	fake_kick(&fx->fd, NET_RXQ);
	peer_frame(fx, 1000, 3);
	fake_run_loop(&fx->fd, 100);
	uint32_t len;
	assert_int_equal(drain_used(fx, NET_RXQ, &len, 1), 1);
	assert_int_equal(len, NET_HDR_LEN + 1000);
	uint8_t *b = fake_ptr(&fx->fd, gpa, 100);
	assert_int_equal(b[10], 1); /* num_buffers is 1 without MRG_RXBUF */
	assert_int_equal(b[NET_HDR_LEN + 5], byte_at(8));
	destroy(fx);
}

/* Frames wait in the tap until the driver gives buffers; nothing spins meanwhile. */
static void test_rx_waits_for_buffers(void **state)
{
	struct fixture *fx = up(BASIC | F(VIRTIO_NET_F_MRG_RXBUF));
	peer_frame(fx, 500, 0);
	int events = 0;
	for (int i = 0; i < 5; i++)
		events += event_loop_run_once(&fx->fd.loop, 20);
	/* One event for the tap's edge, then nothing until a kick. */
	assert_int_equal(events, 1);
	assert_int_equal(fx->n.counters.rx_frames, 0);
	rx_bufs(fx, 8, 2048);
	fake_kick(&fx->fd, NET_RXQ);
	assert_int_equal(fx->n.counters.rx_frames, 1);
	assert_int_equal(drain_used(fx, NET_RXQ, NULL, 0), 1);
	destroy(fx);
}

/*
 * A driver whose 256 receive chains together cannot hold the largest frame,
 * and which then moves its avail index past them: receive does not spin on
 * that index (the alarm ends a spin). A frame larger than all 256 is
 * dropped and counted; a small one still gets through.
 */
static void test_rx_chains_too_small_do_not_spin(void **state)
{
	struct fixture *fx = up(GSO | F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_RING_F_EVENT_IDX));
	uint64_t first = rx_bufs(fx, NET_QUEUE_SIZE, 64);
	fake_kick(&fx->fd, NET_RXQ);
	fake_add_head(&fx->fd, NET_RXQ, 0);
	alarm(10);
	peer_frame(fx, NET_QUEUE_SIZE * 64, 0);
	fake_run_loop(&fx->fd, 100);
	fake_kick(&fx->fd, NET_RXQ);
	alarm(0);
	assert_int_equal(fx->n.counters.rx_frames, 0);
	assert_int_equal(fx->n.counters.rx_dropped, 1);
	assert_int_equal(fx->n.held_nr, NET_QUEUE_SIZE);

	rx_frame_in_two(fx, first, 64, 100, 5);
	assert_int_equal(fx->n.counters.rx_frames, 1);
	destroy(fx);
}

/*
 * A ring of 32 chains of 1536 bytes, 48 KiB, is short of a 64 KiB GSO
 * frame: frames still arrive, each sized on its own. One too large for what
 * is held waits for the driver's next buffers, and is dropped once the
 * whole ring is held and still too small.
 */
static void test_rx_small_ring(void **state)
{
	struct fixture *fx = make(NULL);
	bring_up_rings(fx, GSO | F(VIRTIO_NET_F_MRG_RXBUF), 32);
	uint64_t first = rx_bufs(fx, 32, 1536);
	fake_kick(&fx->fd, NET_RXQ);
	rx_frame_in_two(fx, first, 1536, 3000, 1);

	/* 30 chains, 45 KiB, are held: a 47 KiB frame waits for the two the driver gives back. */
	peer_frame(fx, 47 * 1024, 2);
	fake_run_loop(&fx->fd, 100);
	assert_int_equal(drain_used(fx, NET_RXQ, NULL, 0), 0);
	assert_int_equal(fx->n.counters.rx_dropped, 0);
	rx_bufs(fx, 2, 1536);
	fake_kick(&fx->fd, NET_RXQ);
	assert_int_equal(drain_used(fx, NET_RXQ, NULL, 0), 32);
	assert_int_equal(fx->n.counters.rx_frames, 2);
	assert_int_equal(fx->n.counters.rx_bytes, 3000 + 47 * 1024);

	/* A frame larger than the whole ring: dropped once all 32 chains are held. */
	rx_bufs(fx, 32, 1536);
	fake_kick(&fx->fd, NET_RXQ);
	peer_frame(fx, 60000, 3);
	fake_run_loop(&fx->fd, 100);
	assert_int_equal(fx->n.counters.rx_dropped, 1);
	assert_int_equal(drain_used(fx, NET_RXQ, NULL, 0), 0);
	peer_frame(fx, 1000, 4);
	fake_run_loop(&fx->fd, 100);
	uint32_t lens[1];
	assert_int_equal(drain_used(fx, NET_RXQ, lens, 1), 1);
	assert_int_equal(lens[0], NET_HDR_LEN + 1000);
	assert_int_equal(fx->n.counters.rx_frames, 3);
	destroy(fx);
}

/*
 * A hostile driver on another vCPU: it makes a refused chain available again
 * and again, with a good one every good_every chains (never, at 0).
 */
struct refiller {
	struct fake_driver *fd;
	uint16_t refused, good;
	unsigned int good_every;
	bool stop;
};

static void *refill_refused(void *arg)
{
	struct refiller *r = arg;
	struct vring_avail *avail = fake_avail(r->fd, NET_RXQ);
	struct vring_used *used = fake_used(r->fd, NET_RXQ);
	uint16_t next = avail->idx;
	unsigned int added = 0;
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		if ((uint16_t)(next - __atomic_load_n(&used->idx, __ATOMIC_ACQUIRE)) >= 128)
			continue; /* the ring holds 256: stay well ahead, never past it */
		for (int i = 0; i < 64; i++, added++)
			avail->ring[next++ % 256] =
				r->good_every && added % r->good_every == 0 ? r->good : r->refused;
		__atomic_store_n(&avail->idx, next, __ATOMIC_RELEASE);
	}
	return NULL;
}

/*
 * Chains refused as fast as the driver refills: one wakeup takes at most
 * VIRTIO_QUEUE_BUDGET of them, then comes back on the loop's next turn by
 * itself (the alarm ends a spin). With a good chain among every 100 and 64
 * frames waiting, the budget is the wakeup's, not each frame's.
 */
static void test_rx_refused_chains_bounded(void **state)
{
	for (int mixed = 0; mixed <= 1; mixed++) {
		struct fixture *fx =
			up(BASIC | F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_RING_F_EVENT_IDX));
		fx->fd.unchecked_completions = true;
		/* A receive buffer the device may not write, and one it may. */
		struct fake_buf readable = { fake_alloc(&fx->fd, 2048, 8), 2048, false };
		struct fake_buf writable = { fake_alloc(&fx->fd, 2048, 8), 2048, true };
		struct refiller r = { .fd = &fx->fd, .good_every = mixed ? 100 : 0 };
		r.refused = fake_add_chain(&fx->fd, NET_RXQ, &readable, 1);
		r.good = fake_add_chain(&fx->fd, NET_RXQ, &writable, 1);
		for (int i = 0; i < (mixed ? 64 : 1); i++)
			peer_frame(fx, 100, (uint8_t)i);
		pthread_t t;
		assert_int_equal(pthread_create(&t, NULL, refill_refused, &r), 0);
		alarm(10);
		while ((uint16_t)(__atomic_load_n(&fake_avail(&fx->fd, NET_RXQ)->idx,
						  __ATOMIC_ACQUIRE) -
				  fake_used(&fx->fd, NET_RXQ)->idx) < 128)
			;
		fake_kick(&fx->fd, NET_RXQ); /* the kick's own run, then one wakeup */
		uint64_t kicked = fx->n.counters.rx_bad_chains, before = kicked, most = 0;
		for (int i = 0; i < 4; i++) {
			fake_run_loop(&fx->fd, 100);
			most = MAX(most, fx->n.counters.rx_bad_chains - before);
			before = fx->n.counters.rx_bad_chains;
		}
		alarm(0);
		__atomic_store_n(&r.stop, true, __ATOMIC_RELEASE);
		pthread_join(t, NULL);
		assert_true(kicked > 0 && kicked <= 2 * VIRTIO_QUEUE_BUDGET);
		assert_true(most <= VIRTIO_QUEUE_BUDGET);
		destroy(fx);
	}
}

static void test_rx_bad_chains(void **state)
{
	struct fixture *fx = up(BASIC | F(VIRTIO_NET_F_MRG_RXBUF));
	uint64_t gpa = fake_alloc(&fx->fd, 4096, 8);
	struct fake_buf readable = { gpa, 2048, false };
	fake_add_chain(&fx->fd, NET_RXQ, &readable, 1);
	struct fake_buf tiny = { gpa, 4, true };
	fake_add_chain(&fx->fd, NET_RXQ, &tiny, 1);
	struct fake_buf outside = { FAKE_RAM_SIZE - 100, 2048, true };
	fake_add_chain(&fx->fd, NET_RXQ, &outside, 1);
	rx_bufs(fx, 4, 2048);
	fake_kick(&fx->fd, NET_RXQ);
	peer_frame(fx, 100, 0);
	fake_run_loop(&fx->fd, 100);
	assert_int_equal(fx->n.counters.rx_bad_chains, 3);
	assert_int_equal(fx->n.counters.rx_frames, 1);
	/* Three completed empty, one with the frame; three still held, none twice. */
	assert_int_equal(drain_used(fx, NET_RXQ, NULL, 0), 4);
	assert_int_equal(fake_outstanding(&fx->fd, NET_RXQ), 3);
	destroy(fx);
}

/* One wakeup reads at most NET_RX_FRAMES_PER_WAKEUP frames; the rest come on later turns. */
static void test_rx_bounded_per_wakeup(void **state)
{
	struct fixture *fx = up(BASIC | F(VIRTIO_NET_F_MRG_RXBUF));
	rx_bufs(fx, 200, 2048);
	fake_kick(&fx->fd, NET_RXQ);
	for (int i = 0; i < 150; i++)
		peer_frame(fx, 60, (uint8_t)i);
	fake_run_loop(&fx->fd, 100);
	assert_int_equal(fx->n.counters.rx_frames, NET_RX_FRAMES_PER_WAKEUP);
	for (int i = 0; i < 5; i++)
		fake_run_loop(&fx->fd, 100);
	assert_int_equal(fx->n.counters.rx_frames, 150);
	assert_int_equal(drain_used(fx, NET_RXQ, NULL, 0), 150);
	destroy(fx);
}

static void test_tx_rate_limited(void **state)
{
	/* 10 KB/s with a 1000-byte bucket: one 1000-byte frame now, the next after ~100 ms. */
	struct net_params p = { .iface_id = "eth0" };
	p.tx_limit.bandwidth =
		(struct token_bucket_conf){ .set = true, .size = 1000, .refill_time_ms = 100 };
	struct fixture *fx = make(&p);
	bring_up(fx, BASIC);
	uint64_t t0 = rate_limit_now_ns();
	for (int i = 0; i < 4; i++)
		tx(fx, 1000, 0);
	fake_kick(&fx->fd, NET_TXQ);
	assert_int_equal(fx->n.counters.tx_frames, 1);
	assert_true(fx->n.counters.tx_rate_limited >= 1);
	assert_int_equal(drain_used(fx, NET_TXQ, NULL, 0), 1);
	assert_int_equal(fake_outstanding(&fx->fd, NET_TXQ), 3);
	/* The timer brings the rest, never faster than the bucket refills. */
	while (fx->n.counters.tx_frames < 4 && rate_limit_now_ns() - t0 < 5000000000ull)
		fake_run_loop(&fx->fd, 200);
	uint64_t elapsed = rate_limit_now_ns() - t0;
	assert_int_equal(fx->n.counters.tx_frames, 4);
	/* 4000 bytes: the full bucket and the last frame's debt are free, 2000 at 10 bytes/ms. */
	assert_true(elapsed >= 195000000ull);
	assert_int_equal(drain_used(fx, NET_TXQ, NULL, 0), 3);
	destroy(fx);
}

static void test_rx_rate_limited(void **state)
{
	struct net_params p = { .iface_id = "eth0" };
	p.rx_limit.ops =
		(struct token_bucket_conf){ .set = true, .size = 2, .refill_time_ms = 100 };
	struct fixture *fx = make(&p);
	bring_up(fx, BASIC | F(VIRTIO_NET_F_MRG_RXBUF));
	rx_bufs(fx, 16, 2048);
	fake_kick(&fx->fd, NET_RXQ);
	for (int i = 0; i < 6; i++)
		peer_frame(fx, 100, 0);
	fake_run_loop(&fx->fd, 100);
	assert_int_equal(fx->n.counters.rx_frames, 2); /* the bucket's two ops */
	assert_true(fx->n.counters.rx_rate_limited >= 1);
	uint64_t t0 = rate_limit_now_ns();
	while (fx->n.counters.rx_frames < 6 && rate_limit_now_ns() - t0 < 5000000000ull)
		fake_run_loop(&fx->fd, 200);
	assert_int_equal(fx->n.counters.rx_frames, 6);
	assert_true(rate_limit_now_ns() - t0 >= 150000000ull); /* 4 more ops at 20/s */
	/* PATCH: limits off, and the device carries on at once. */
	struct rate_limiter_conf none;
	memset(&none, 0, sizeof(none));
	net_set_limits(&fx->n, &none, &none);
	for (int i = 0; i < 5; i++)
		peer_frame(fx, 100, 0);
	fake_run_loop(&fx->fd, 100);
	assert_int_equal(fx->n.counters.rx_frames, 11);
	destroy(fx);
}

static void test_reset_drops_held(void **state)
{
	struct fixture *fx = up(BASIC | F(VIRTIO_NET_F_MRG_RXBUF));
	rx_bufs(fx, 8, 2048);
	peer_frame(fx, 100, 0);
	fake_kick(&fx->fd, NET_RXQ);
	assert_true(fx->n.held_nr > 0);
	fake_write_reg(&fx->fd, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(fx->n.held_nr, 0);
	/* A new driver, new rings: frames flow again and nothing of the old ring is completed. */
	bring_up(fx, BASIC | F(VIRTIO_NET_F_MRG_RXBUF));
	rx_bufs(fx, 8, 2048);
	fake_kick(&fx->fd, NET_RXQ);
	peer_frame(fx, 100, 0);
	fake_run_loop(&fx->fd, 100);
	assert_int_equal(drain_used(fx, NET_RXQ, NULL, 0), 1);
	destroy(fx);
}

static void test_parse_mac(void **state)
{
	uint8_t m[6];
	assert_true(net_parse_mac("06:00:AC:10:00:02", m));
	assert_int_equal(m[2], 0xac);
	assert_false(net_parse_mac("06:00:ac:10:00", m));
	assert_false(net_parse_mac("06-00-ac-10-00-02", m));
	assert_false(net_parse_mac("06:00:ac:10:00:0g", m));
	assert_false(net_parse_mac("06:00:ac:10:00:022", m));
}

/* A chain a snapshot held is held again from its head, and the next frame goes into it. */
static void test_rehold_after_restore(void **state)
{
	struct fixture *fx = up(BASIC);
	uint64_t gpa = fake_alloc(&fx->fd, 2048, 8);
	struct fake_buf b = { gpa, 2048, true };
	uint16_t head = fake_add_chain(&fx->fd, NET_RXQ, &b, 1);
	fx->n.transport.queues[NET_RXQ].last_avail++; /* taken from the ring before the snapshot */
	assert_int_equal(net_rx_rehold(&fx->n, 999), -EPROTO);
	assert_int_equal(net_rx_rehold(&fx->n, head), 0);
	assert_int_equal(fx->n.held_nr, 1);
	peer_frame(fx, 100, 1);
	fake_run_loop(&fx->fd, 20);
	uint32_t id, len;
	assert_true(fake_get_used(&fx->fd, NET_RXQ, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, NET_HDR_LEN + 100);
	assert_int_equal(*(uint8_t *)fake_ptr(&fx->fd, gpa + NET_HDR_LEN, 1), byte_at(1));
	/* On a ring that broke, a held chain is dropped, as the reset it waits for would. */
	fx->n.transport.queues[NET_RXQ].broken = true;
	assert_int_equal(net_rx_rehold(&fx->n, head), 0);
	assert_int_equal(fx->n.held_nr, 0);
	destroy(fx);
}

/* A diff snapshot must see what the device wrote: KVM's dirty log sees only the guest's writes. */
static void test_rx_marks_pages_dirty(void **state)
{
	struct fixture *fx = up(GSO | F(VIRTIO_NET_F_MRG_RXBUF));
	fake_dirty_source(&fx->fd);
	assert_int_equal(mem_track_start(&fx->fd.mem), 0);
	uint64_t page[3];
	for (unsigned int i = 0; i < 3; i++) {
		page[i] = fake_alloc(&fx->fd, 4096, 4096);
		struct fake_buf b = { page[i], 4096, true };
		fake_add_chain(&fx->fd, NET_RXQ, &b, 1);
	}
	fake_kick(&fx->fd, NET_RXQ);
	assert_int_equal(mem_dirty_sync(&fx->fd.mem), 0);
	for (unsigned int i = 0; i < 3; i++)
		assert_false(mem_page_dirty(&fx->fd.mem, page[i] / 4096));
	peer_frame(fx, 6000, 1); /* fills the first buffer and part of the second */
	fake_run_loop(&fx->fd, 100);
	assert_int_equal(drain_used(fx, NET_RXQ, NULL, 0), 2);
	assert_int_equal(mem_dirty_sync(&fx->fd.mem), 0);
	assert_true(mem_page_dirty(&fx->fd.mem, page[0] / 4096));
	assert_true(mem_page_dirty(&fx->fd.mem, page[1] / 4096));
	assert_false(mem_page_dirty(&fx->fd.mem, page[2] / 4096)); /* held, not written */
	destroy(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_features_and_config),
		cmocka_unit_test(test_tx_round_trip),
		cmocka_unit_test(test_tx_malformed),
		cmocka_unit_test(test_rx_mergeable),
		cmocka_unit_test(test_rx_single_chain),
		cmocka_unit_test(test_rx_waits_for_buffers),
		cmocka_unit_test(test_rx_chains_too_small_do_not_spin),
		cmocka_unit_test(test_rx_small_ring),
		cmocka_unit_test(test_rx_bad_chains),
		cmocka_unit_test(test_rx_refused_chains_bounded),
		cmocka_unit_test(test_rx_bounded_per_wakeup),
		cmocka_unit_test(test_tx_rate_limited),
		cmocka_unit_test(test_rx_rate_limited),
		cmocka_unit_test(test_reset_drops_held),
		cmocka_unit_test(test_rehold_after_restore),
		cmocka_unit_test(test_rx_marks_pages_dirty),
		cmocka_unit_test(test_parse_mac),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
