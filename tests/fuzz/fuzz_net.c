// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net behind the split virtqueue, on a "tap" that is one end of a
 * SOCK_SEQPACKET socketpair (one frame per read and per write, as a tap);
 * the harness holds the other end, sends frames of any size into it and
 * drains what the device transmits. The input is one byte of options, the
 * bring-up (features, queue sizes) and up to FZ_MAX_OPS operations: the
 * shared ones of support/fuzz_driver.h and the device's below. Besides ASan
 * and UBSan, the driver checks that every transmit chain comes back exactly
 * once (receive chains may stay held for frames to come, and transmit ones
 * behind a limiter), and libFuzzer's timeout catches a receive or transmit
 * loop that never ends.
 */
#include <errno.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/conf.h"
#include "devices/virtio/net/net.h"
#include "tests/fuzz/support/fuzz_driver.h"
#include "tests/fuzz/support/fuzz_env.h"

#define MAX_BUFS 8

enum {
	OP_RX_BUFS = FZ_NR_OPS, /* receive chains, each of one or two writable buffers */
	OP_TX,			/* a frame to send: header, payload buffers */
	OP_FRAME,		/* the host sends a frame of any size into the tap */
	OP_DRAIN,  /* the host reads what the device sent (a full tap drops the rest) */
	OP_LIMITS, /* PATCH /network-interfaces: new rate limiters */
	OP_CONFIG_READ,
	OP_SNAPSHOT, /* saved, restored into a new device on the same tap, which carries on */
	NR_OPS,
};

static struct fuzz_driver drv;
static const struct device_type *net_type;
static int peer = -1;	     /* the host's end of the tap */
static bool limited;	     /* a limiter was set: transmit chains may wait for tokens */
static uint8_t frame[70000]; /* past NET_MAX_PACKET: the tap may hold what no guest can take */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_env_init();
	fzd_init(&drv);
	net_type = device_type_by_section(device_registry(), "network-interfaces");
	return 0;
}

static struct net *create(const struct net_params *p, int tap)
{
	struct net *n = calloc(1, sizeof(*n));
	struct net_params q = *p;
	q.tap.fd = tap;
	if (!n || tap < 0 || net_init(n, &q, &drv.fake.mem, &drv.fake.loop, 0xd0002000, 7) < 0)
		fuzz_fail("net_init failed");
	return n;
}

static void destroy(struct net *n)
{
	net_destroy(n);
	free(n);
}

/* Lengths a driver gives, and sometimes any. */
static uint32_t rx_len(struct fuzz_input *in)
{
	static const uint32_t lens[] = { 1526, 4096, 65562, 64, 12, 2048, 11 };
	uint8_t sel = fz_u8(in);
	return sel & 0x80 ? fz_u16(in) : lens[sel % 7];
}

static void op_rx_bufs(struct fuzz_input *in)
{
	unsigned int chains = 1 + fz_u8(in) % 16;
	for (unsigned int c = 0; c < chains && !fz_empty(in); c++) {
		uint8_t shape = fz_u8(in);
		struct fake_buf b[2];
		unsigned int nr = shape & 1 ? 2 : 1;
		for (unsigned int i = 0; i < nr; i++) {
			b[i].len = rx_len(in);
			b[i].gpa = fzd_data_gpa(in, b[i].len, shape & 2 ? 1 : 8);
			b[i].writable = !(shape & 4 && i == nr - 1);
			if (b[i].writable)
				fzd_device_writes(&drv, b[i].gpa, b[i].len);
		}
		fzd_chain(&drv, NET_RXQ, b, nr);
	}
	if (fz_bool(in))
		fzd_kick(&drv, NET_RXQ);
}

/* Mostly a header a driver writes; shape bits make its fields anything. */
static void op_tx(struct fuzz_input *in)
{
	uint8_t shape = fz_u8(in);
	struct virtio_net_hdr_v1 hdr = { 0 };
	if (shape & 1) {
		hdr.flags = fz_u8(in);
		hdr.gso_type = fz_u8(in);
		hdr.hdr_len = fz_u16(in);
		hdr.gso_size = fz_u16(in);
		hdr.csum_start = fz_u16(in);
		hdr.csum_offset = fz_u16(in);
	}
	struct fake_buf bufs[MAX_BUFS];
	unsigned int n = 0;
	bufs[n].len = shape & 2 ? fz_u8(in) % 16 : NET_HDR_LEN;
	bufs[n].gpa = fzd_data_gpa(in, sizeof(hdr), 2);
	bufs[n].writable = false;
	fzd_write(&drv, bufs[n].gpa, &hdr, sizeof(hdr));
	n++;
	unsigned int nr_data = fz_u8(in) % (MAX_BUFS - 1);
	for (unsigned int i = 0; i < nr_data; i++, n++) {
		uint8_t how = fz_u8(in);
		bufs[n].len = how & 0x80 ? fz_u16(in) : 60 + (how % 32) * 48;
		bufs[n].gpa = fzd_data_gpa(in, bufs[n].len, 1);
		bufs[n].writable = how & 0x40;
		if (bufs[n].writable)
			fzd_device_writes(&drv, bufs[n].gpa, bufs[n].len);
	}
	if (fzd_chain(&drv, NET_TXQ, bufs, n))
		fzd_kick(&drv, NET_TXQ);
}

/* A frame from the host: a header (any bytes, the tap's) and up to 64 KiB and more. */
static void op_frame(struct fuzz_input *in)
{
	uint8_t sel = fz_u8(in);
	size_t len = sel & 0x80 ? fz_u16(in) + (sel & 0x40 ? 4500u : 0u) : NET_HDR_LEN + 60 + sel;
	if (len > sizeof(frame))
		len = sizeof(frame);
	memset(frame, sel, len);
	fz_bytes(in, frame, len < 16 ? len : 16);
	if (send(peer, frame, len, MSG_DONTWAIT) < 0 && errno != EAGAIN && errno != EMSGSIZE &&
	    errno != ENOBUFS)
		fuzz_fail("sending into the tap: %s", strerror(errno));
	fzd_run(&drv);
}

static void op_drain(void)
{
	while (recv(peer, frame, sizeof(frame), MSG_DONTWAIT) > 0)
		;
}

static void bucket(struct fuzz_input *in, struct token_bucket_conf *b)
{
	uint8_t sel = fz_u8(in);
	b->set = sel & 1;
	b->size = sel & 2 ? fz_u32(in) : 1 + (sel >> 2) * 1024;
	b->one_time_burst = sel & 0x80 ? fz_u16(in) : 0;
	b->refill_time_ms = 1 + fz_u8(in);
}

static void op_limits(struct net *n, struct fuzz_input *in)
{
	struct rate_limiter_conf rx = { 0 }, tx = { 0 };
	bucket(in, &rx.bandwidth);
	bucket(in, &rx.ops);
	bucket(in, &tx.bandwidth);
	bucket(in, &tx.ops);
	limited = true;
	pthread_mutex_lock(&n->transport.lock);
	net_set_limits(n, &rx, &tx);
	pthread_mutex_unlock(&n->transport.lock);
	fzd_run(&drv);
}

static void op_config_read(struct fuzz_input *in)
{
	uint8_t data[8];
	uint32_t offset = fz_u8(in) % (sizeof(struct virtio_net_config) + 8);
	unsigned int len = 1u << (fz_u8(in) % 4);
	virtio_mmio_bus_ops.read(drv.fake.t, VIRTIO_MMIO_CONFIG + offset, data, len);
}

static struct net *op_snapshot(struct net *n, const struct net_params *p)
{
	struct state_stream s, rd;
	state_writer_init(&s);
	if (net_type->save(n, &s) < 0)
		fuzz_fail("saving the interface failed");
	struct net *copy = create(p, dup(n->tap_fd));
	state_reader_init(&rd, s.data, s.len);
	int ret = net_type->restore(copy, &rd);
	if (ret < 0 || !state_at_end(&rd))
		fuzz_fail("restoring a state just saved failed: %d", ret);
	state_free(&s);
	destroy(n);
	fzd_attach(&drv, &copy->transport);
	return copy;
}

static struct net *op(struct net *n, const struct net_params *p, struct fuzz_input *in,
		      unsigned int op)
{
	switch (op) {
	case OP_RX_BUFS:
		op_rx_bufs(in);
		break;
	case OP_TX:
		op_tx(in);
		break;
	case OP_FRAME:
		op_frame(in);
		break;
	case OP_DRAIN:
		op_drain();
		break;
	case OP_LIMITS:
		op_limits(n, in);
		break;
	case OP_CONFIG_READ:
		op_config_read(in);
		break;
	case OP_SNAPSHOT:
		return op_snapshot(n, p);
	default:
		fzd_op(&drv, in, op);
		break;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in;
	fz_init(&in, data, size);
	uint8_t opts = fz_u8(&in);
	fuzz_env_begin(opts & 1);
	struct net_params p = {
		.iface_id = "eth0",
		.tap.ufo = opts & 2,
		.has_mac = opts & 4,
		.mac = { 6, 0, 0xac, 0x10, 0, 2 },
		.mtu = opts & 8 ? 576 + (opts >> 4) * 512 : 0,
	};
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		fuzz_fail("socketpair: %s", strerror(errno));
	peer = sv[1];
	limited = false;
	fzd_begin(&drv, false);
	struct net *n = create(&p, sv[0]);
	fzd_attach(&drv, &n->transport);
	fzd_bring_up(&drv, &in);
	for (int i = 0; i < FZ_MAX_OPS && !fz_empty(&in); i++)
		n = op(n, &p, &in, fz_u8(&in) % NR_OPS);

	unsigned int may_hold[FAKE_MAX_QUEUES] = { 0 };
	may_hold[NET_RXQ] = FZ_MAX_QUEUE; /* chains wait for frames */
	if (limited)
		may_hold[NET_TXQ] = FZ_MAX_QUEUE;
	fzd_finish(&drv, may_hold);
	const struct net_counters *c = &n->counters;
	fuzz_trace("status 0x%x%s: rx %llu frames, %llu dropped, %llu bad chains; tx %llu frames, "
		   "%llu malformed, %llu dropped; %u chains held",
		   n->transport.status, drv.hostile ? " (hostile)" : "",
		   (unsigned long long)c->rx_frames, (unsigned long long)c->rx_dropped,
		   (unsigned long long)c->rx_bad_chains, (unsigned long long)c->tx_frames,
		   (unsigned long long)c->tx_malformed, (unsigned long long)c->tx_dropped,
		   n->held_nr);
	destroy(n);
	close(peer);
	peer = -1;
	fzd_end(&drv);
	fuzz_env_end();
	return 0;
}
