// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vsock with the fake driver and real unix sockets in a temporary
 * directory: the hybrid handshakes both ways, payload and credit both
 * ways, closes, and a hostile guest's packets (short, unknown operations,
 * wrong CIDs, lengths past the chain, payload for no connection, more than
 * its credit, more connections than the cap): each counted, answered with
 * RST where the guest expects an answer, completed once, and survived.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/virtio/vsock/vsock.h"
#include "tests/unit/support/fake_driver.h"

#define CID	   3
#define RX_PAYLOAD 4096

struct fixture {
	struct fake_driver fd;
	struct vsock v;
	char dir[64];
	char path[96];
	uint64_t rx_gpa[256]; /* per receive head: where its buffer is */
};

static struct fixture *up(void)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/ebb-test-vsock.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/v.sock", fx->dir);
	fake_init(&fx->fd);
	struct vsock_params p = { .guest_cid = CID, .uds_path = fx->path };
	char err[256];
	assert_int_equal(vsock_listen(fx->path, &p.listen_fd, &p.dir_fd, err, sizeof(err)), 0);
	assert_int_equal(vsock_init(&fx->v, &p, &fx->fd.mem, &fx->fd.loop, 0, 5), 0);
	fake_attach(&fx->fd, &fx->v.transport);
	assert_true(fake_negotiate(&fx->fd, 1ull << VIRTIO_F_VERSION_1) &
		    VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int q = 0; q < 3; q++)
		assert_int_equal(fake_setup_queue(&fx->fd, q, 256), 1);
	fake_driver_ok(&fx->fd);
	fake_run_loop(&fx->fd, 10);
	return fx;
}

static void destroy(struct fixture *fx)
{
	struct stat st;
	vsock_destroy(&fx->v);
	assert_true(stat(fx->path, &st) < 0); /* the socket file went with the device */
	fake_destroy(&fx->fd);
	rmdir(fx->dir);
	free(fx);
}

static void run(struct fixture *fx, int times)
{
	for (int i = 0; i < times; i++)
		fake_run_loop(&fx->fd, 20);
}

static void rx_bufs(struct fixture *fx, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uint64_t gpa = fake_alloc(&fx->fd, VSOCK_HDR_LEN + RX_PAYLOAD, 8);
		struct fake_buf b = { gpa, VSOCK_HDR_LEN + RX_PAYLOAD, true };
		uint16_t head = fake_add_chain(&fx->fd, VSOCK_RXQ, &b, 1);
		fx->rx_gpa[head] = gpa;
	}
	fake_kick(&fx->fd, VSOCK_RXQ);
}

/* The next packet the device gave the guest: false if none. */
static bool next_rx(struct fixture *fx, struct virtio_vsock_hdr *h, void *payload)
{
	uint32_t id, len;
	if (!fake_get_used(&fx->fd, VSOCK_RXQ, &id, &len))
		return false;
	assert_true(len >= VSOCK_HDR_LEN);
	uint8_t *p = fake_ptr(&fx->fd, fx->rx_gpa[id], len);
	memcpy(h, p, sizeof(*h));
	assert_int_equal(len, VSOCK_HDR_LEN + h->len);
	assert_int_equal(h->src_cid, VSOCK_HOST_CID);
	assert_int_equal(h->dst_cid, CID);
	if (payload)
		memcpy(payload, p + VSOCK_HDR_LEN, h->len);
	return true;
}

static struct virtio_vsock_hdr pkt(uint16_t op, uint32_t src_port, uint32_t dst_port)
{
	return (struct virtio_vsock_hdr){ .src_cid = CID,
					  .dst_cid = VSOCK_HOST_CID,
					  .src_port = src_port,
					  .dst_port = dst_port,
					  .type = VIRTIO_VSOCK_TYPE_STREAM,
					  .op = op,
					  .buf_alloc = 256 << 10 };
}

/* A packet from the guest: header and payload in two buffers, as Linux sends them. */
static void send_raw(struct fixture *fx, const struct virtio_vsock_hdr *h, const void *payload,
		     uint32_t len, uint32_t hdr_len)
{
	uint64_t gpa = fake_alloc(&fx->fd, sizeof(*h) + len + 8, 8);
	memcpy(fake_ptr(&fx->fd, gpa, sizeof(*h)), h, sizeof(*h));
	if (len)
		memcpy(fake_ptr(&fx->fd, gpa + sizeof(*h), len), payload, len);
	struct fake_buf b[2] = { { gpa, hdr_len, false }, { gpa + sizeof(*h), len, false } };
	fake_add_chain(&fx->fd, VSOCK_TXQ, b, len ? 2 : 1);
	fake_kick(&fx->fd, VSOCK_TXQ);
	/* Every packet is completed at once, whatever it was. */
	uint32_t id, used;
	assert_true(fake_get_used(&fx->fd, VSOCK_TXQ, &id, &used));
	assert_false(fake_get_used(&fx->fd, VSOCK_TXQ, &id, &used));
}

static void send_pkt(struct fixture *fx, struct virtio_vsock_hdr h, const void *payload,
		     uint32_t len)
{
	h.len = len;
	send_raw(fx, &h, payload, len, sizeof(h));
}

static int host_listen(struct fixture *fx, uint32_t port)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", fx->path, port);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 256), 0);
	return fd;
}

static int host_connect(struct fixture *fx)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", fx->path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static ssize_t host_read(int fd, void *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 1000) != 1)
		return -EAGAIN;
	return read(fd, buf, len);
}

/* A guest-initiated connection from guest port 1000 to host port 52, accepted. */
static int guest_connects(struct fixture *fx, int *ls)
{
	struct virtio_vsock_hdr h;
	*ls = host_listen(fx, 52);
	send_pkt(fx, pkt(VIRTIO_VSOCK_OP_REQUEST, 1000, 52), NULL, 0);
	assert_true(next_rx(fx, &h, NULL));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RESPONSE);
	assert_int_equal(h.src_port, 52);
	assert_int_equal(h.dst_port, 1000);
	assert_int_equal(h.buf_alloc, VSOCK_CONN_BUF);
	int fd = accept(*ls, NULL, NULL);
	assert_true(fd >= 0);
	return fd;
}

static void test_guest_connect_and_data(void **state)
{
	struct fixture *fx = up();
	struct virtio_vsock_hdr h;
	char buf[RX_PAYLOAD];
	int ls, fd;
	rx_bufs(fx, 32);
	fd = guest_connects(fx, &ls);
	send_pkt(fx, pkt(VIRTIO_VSOCK_OP_RW, 1000, 52), "hello", 5);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(write(fd, "world!", 6), 6);
	run(fx, 2);
	assert_true(next_rx(fx, &h, buf));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(h.len, 6);
	assert_memory_equal(buf, "world!", 6);
	assert_int_equal(h.fwd_cnt, 5); /* every packet tells: the host took the 5 bytes */
	assert_int_equal(fx->v.counters.guest_connects, 1);
	/* The guest closes its sending side: the host reads EOF after the data. */
	struct virtio_vsock_hdr s = pkt(VIRTIO_VSOCK_OP_SHUTDOWN, 1000, 52);
	s.flags = VIRTIO_VSOCK_SHUTDOWN_SEND;
	send_pkt(fx, s, NULL, 0);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 0);
	/* The host closes: the guest hears SHUTDOWN both ways, answers RST, all is gone. */
	close(fd);
	run(fx, 2);
	assert_true(next_rx(fx, &h, NULL));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VIRTIO_VSOCK_SHUTDOWN_SEND | VIRTIO_VSOCK_SHUTDOWN_RCV);
	send_pkt(fx, pkt(VIRTIO_VSOCK_OP_RST, 1000, 52), NULL, 0);
	assert_int_equal(fx->v.nr_conns, 0);
	assert_int_equal(fake_outstanding(&fx->fd, VSOCK_TXQ), 0);
	close(ls);
	destroy(fx);
}

static void test_guest_connect_refused(void **state)
{
	struct fixture *fx = up();
	struct virtio_vsock_hdr h;
	rx_bufs(fx, 4);
	send_pkt(fx, pkt(VIRTIO_VSOCK_OP_REQUEST, 1000, 4242), NULL, 0);
	assert_true(next_rx(fx, &h, NULL));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(h.src_port, 4242);
	assert_int_equal(h.dst_port, 1000);
	assert_int_equal(fx->v.counters.refused, 1);
	assert_int_equal(fx->v.nr_conns, 0);
	destroy(fx);
}

static void test_host_connect(void **state)
{
	struct fixture *fx = up();
	struct virtio_vsock_hdr h;
	char buf[64];
	rx_bufs(fx, 8);
	int fd = host_connect(fx);
	/* Payload right behind the line stays for the guest. */
	const char line[] = "CONNECT 5000\nearly";
	assert_int_equal(write(fd, line, sizeof(line) - 1), (ssize_t)sizeof(line) - 1);
	run(fx, 3);
	assert_true(next_rx(fx, &h, NULL));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_REQUEST);
	assert_int_equal(h.dst_port, 5000);
	assert_int_equal(h.src_port, VSOCK_FIRST_HOST_PORT);
	send_pkt(fx, pkt(VIRTIO_VSOCK_OP_RESPONSE, 5000, VSOCK_FIRST_HOST_PORT), NULL, 0);
	ssize_t n = host_read(fd, buf, sizeof(buf));
	assert_int_equal(n, 14);
	assert_memory_equal(buf, "OK 1073741824\n", 14);
	run(fx, 2);
	assert_true(next_rx(fx, &h, buf));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
	assert_memory_equal(buf, "early", 5);

	/* A second client gets the next host port; the guest refuses it, the client sees EOF. */
	int fd2 = host_connect(fx);
	assert_int_equal(write(fd2, "CONNECT 5001\n", 13), 13);
	run(fx, 3);
	assert_true(next_rx(fx, &h, NULL));
	assert_int_equal(h.src_port, VSOCK_FIRST_HOST_PORT + 1);
	send_pkt(fx, pkt(VIRTIO_VSOCK_OP_RST, 5001, VSOCK_FIRST_HOST_PORT + 1), NULL, 0);
	assert_int_equal(host_read(fd2, buf, sizeof(buf)), 0);
	assert_int_equal(fx->v.counters.refused, 1);

	/* A bad line is refused without bothering the guest. */
	int fd3 = host_connect(fx);
	assert_int_equal(write(fd3, "CONNECT x\n", 10), 10);
	run(fx, 3);
	assert_int_equal(host_read(fd3, buf, sizeof(buf)), 0);
	assert_false(next_rx(fx, &h, NULL));
	close(fd);
	close(fd2);
	close(fd3);
	destroy(fx);
}

static void test_bad_packets(void **state)
{
	struct fixture *fx = up();
	struct virtio_vsock_hdr h, g;
	rx_bufs(fx, 16);
	/* Too short for the header. */
	g = pkt(VIRTIO_VSOCK_OP_REQUEST, 1, 2);
	send_raw(fx, &g, NULL, 0, 20);
	/* Not from the guest's CID: dropped, no answer. */
	g = pkt(VIRTIO_VSOCK_OP_REQUEST, 1, 2);
	g.src_cid = 7;
	send_pkt(fx, g, NULL, 0);
	assert_false(next_rx(fx, &h, NULL));
	/* To another CID, of another type, an unknown operation: RST. */
	g = pkt(VIRTIO_VSOCK_OP_REQUEST, 1, 2);
	g.dst_cid = 5;
	send_pkt(fx, g, NULL, 0);
	g = pkt(VIRTIO_VSOCK_OP_REQUEST, 1, 2);
	g.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	send_pkt(fx, g, NULL, 0);
	send_pkt(fx, pkt(99, 1, 2), NULL, 0);
	/* Payload for a connection that never existed; a RESPONSE nobody asked for. */
	send_pkt(fx, pkt(VIRTIO_VSOCK_OP_RW, 1, 2), "xyz", 3);
	send_pkt(fx, pkt(VIRTIO_VSOCK_OP_RESPONSE, 1, 2), NULL, 0);
	/* A length past the chain's end. */
	g = pkt(VIRTIO_VSOCK_OP_RW, 1, 2);
	g.len = 100;
	send_raw(fx, &g, "abc", 3, sizeof(g));
	/* A RST for nothing: no answer to it. */
	send_pkt(fx, pkt(VIRTIO_VSOCK_OP_RST, 1, 2), NULL, 0);
	unsigned int rsts = 0;
	while (next_rx(fx, &h, NULL)) {
		assert_int_equal(h.op, VIRTIO_VSOCK_OP_RST);
		rsts++;
	}
	assert_int_equal(rsts, 6);
	assert_int_equal(fx->v.counters.bad_packets, 8);
	assert_int_equal(fake_outstanding(&fx->fd, VSOCK_TXQ), 0);
	assert_int_equal(fx->v.nr_conns, 0);
	/* And the device still works. */
	int ls, fd = guest_connects(fx, &ls);
	close(fd);
	close(ls);
	destroy(fx);
}

/* The host never reads: ebb holds at most the credit, and more than that is a reset. */
static void test_credit_violation(void **state)
{
	struct fixture *fx = up();
	struct virtio_vsock_hdr h;
	static char chunk[VSOCK_MAX_PAYLOAD];
	memset(chunk, 'x', sizeof(chunk));
	rx_bufs(fx, 16);
	int ls, fd = guest_connects(fx, &ls);
	unsigned int sent = 0;
	while (fx->v.counters.credit_violations == 0 && sent < 32) {
		send_pkt(fx, pkt(VIRTIO_VSOCK_OP_RW, 1000, 52), chunk, sizeof(chunk));
		sent++;
		struct vsock_conn *c = vsock_conn_find(&fx->v, 52, 1000);
		if (c)
			assert_true(c->buf_len <= VSOCK_CONN_BUF);
	}
	assert_int_equal(fx->v.counters.credit_violations, 1);
	assert_null(vsock_conn_find(&fx->v, 52, 1000));
	bool rst = false;
	while (next_rx(fx, &h, NULL))
		rst |= h.op == VIRTIO_VSOCK_OP_RST && h.dst_port == 1000;
	assert_true(rst);
	close(fd);
	close(ls);
	destroy(fx);
}

/* A slow host reader within the credit: everything arrives, in order, and credit comes back. */
static void test_slow_host_reader(void **state)
{
	struct fixture *fx = up();
	struct virtio_vsock_hdr h;
	static char chunk[VSOCK_MAX_PAYLOAD], got[VSOCK_CONN_BUF];
	rx_bufs(fx, 16);
	int ls, fd = guest_connects(fx, &ls);
	for (unsigned int i = 0; i < VSOCK_CONN_BUF / sizeof(chunk); i++) {
		memset(chunk, 'a' + i, sizeof(chunk));
		send_pkt(fx, pkt(VIRTIO_VSOCK_OP_RW, 1000, 52), chunk, sizeof(chunk));
	}
	assert_int_equal(fx->v.counters.credit_violations, 0);
	size_t total = 0;
	while (total < sizeof(got)) {
		ssize_t n = host_read(fd, got + total, sizeof(got) - total);
		assert_true(n > 0);
		total += (size_t)n;
		run(fx, 1);
	}
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(got[i * sizeof(chunk) + 7], 'a' + i);
	uint32_t fwd = 0;
	while (next_rx(fx, &h, NULL))
		if (h.op == VIRTIO_VSOCK_OP_CREDIT_UPDATE)
			fwd = h.fwd_cnt;
	/* The guest hears of the room as it comes, in steps. */
	assert_true(fwd > VSOCK_CONN_BUF - VSOCK_CREDIT_STEP);
	close(fd);
	close(ls);
	destroy(fx);
}

/* The host writes more than the guest's buffer: it gets only its credit until it grants more. */
static void test_guest_credit_respected(void **state)
{
	struct fixture *fx = up();
	struct virtio_vsock_hdr h, r;
	static char big[16384], buf[RX_PAYLOAD];
	memset(big, 'z', sizeof(big));
	rx_bufs(fx, 32);
	int ls = host_listen(fx, 52);
	struct virtio_vsock_hdr req = pkt(VIRTIO_VSOCK_OP_REQUEST, 1000, 52);
	req.buf_alloc = 4096;
	send_pkt(fx, req, NULL, 0);
	assert_true(next_rx(fx, &h, NULL));
	int fd = accept(ls, NULL, NULL);
	assert_int_equal(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
	run(fx, 3);
	uint32_t got = 0;
	while (next_rx(fx, &h, buf))
		got += h.len;
	assert_int_equal(got, 4096);
	/* The guest took it all: 4096 more. */
	r = pkt(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 1000, 52);
	r.buf_alloc = 4096;
	r.fwd_cnt = 4096;
	send_pkt(fx, r, NULL, 0);
	run(fx, 2);
	while (next_rx(fx, &h, buf))
		got += h.len;
	assert_int_equal(got, 8192);
	/* A guest claiming to have taken more than it got gains nothing. */
	r.fwd_cnt = 1u << 31;
	send_pkt(fx, r, NULL, 0);
	run(fx, 2);
	assert_false(next_rx(fx, &h, buf));
	close(fd);
	close(ls);
	destroy(fx);
}

static void test_connection_cap(void **state)
{
	struct fixture *fx = up();
	struct virtio_vsock_hdr h;
	int ls = host_listen(fx, 52);
	rx_bufs(fx, 200);
	for (uint32_t i = 0; i <= VSOCK_MAX_CONNS; i++)
		send_pkt(fx, pkt(VIRTIO_VSOCK_OP_REQUEST, 2000 + i, 52), NULL, 0);
	unsigned int responses = 0, rsts = 0;
	while (next_rx(fx, &h, NULL)) {
		responses += h.op == VIRTIO_VSOCK_OP_RESPONSE;
		rsts += h.op == VIRTIO_VSOCK_OP_RST;
	}
	assert_int_equal(responses, VSOCK_MAX_CONNS);
	assert_int_equal(rsts, 1);
	assert_int_equal(fx->v.counters.conn_limit_hits, 1);
	close(ls);
	destroy(fx);
}

/* A driver reset forgets every connection: their host ends close on the event loop. */
static void test_reset_closes(void **state)
{
	struct fixture *fx = up();
	char buf[8];
	rx_bufs(fx, 8);
	int ls, fd = guest_connects(fx, &ls);
	fake_write_reg(&fx->fd, VIRTIO_MMIO_STATUS, 0);
	run(fx, 2);
	assert_int_equal(fx->v.nr_conns, 0);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 0);
	close(fd);
	close(ls);
	destroy(fx);
}

/* A guest that never answers a host's CONNECT: the client is closed after the deadline. */
static void test_connect_timeout(void **state)
{
	struct fixture *fx = up();
	struct virtio_vsock_hdr h;
	char buf[8];
	rx_bufs(fx, 8);
	int fd = host_connect(fx);
	assert_int_equal(write(fd, "CONNECT 7\n", 10), 10);
	run(fx, 3);
	assert_true(next_rx(fx, &h, NULL));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_REQUEST);
	for (int i = 0; i < 40 && fx->v.nr_conns; i++)
		fake_run_loop(&fx->fd, 100);
	assert_int_equal(fx->v.nr_conns, 0);
	assert_int_equal(fx->v.counters.refused, 1);
	assert_int_equal(host_read(fd, buf, sizeof(buf)), 0);
	run(fx, 1);
	assert_true(next_rx(fx, &h, NULL));
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RST); /* the guest is told too */
	close(fd);
	destroy(fx);
}

static void test_listen_refusals(void **state)
{
	char dir[] = "/tmp/ebb-test-vsock.XXXXXX", path[128], err[256];
	int lfd, dfd;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/file", dir);
	FILE *f = fopen(path, "w");
	fclose(f);
	assert_true(vsock_listen(path, &lfd, &dfd, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "exists"));
	unlink(path);
	/* A stale socket nobody listens on is replaced; a live one is not. */
	assert_int_equal(vsock_listen(path, &lfd, &dfd, err, sizeof(err)), 0);
	int lfd2, dfd2;
	assert_true(vsock_listen(path, &lfd2, &dfd2, err, sizeof(err)) < 0);
	close(lfd);
	close(dfd);
	assert_int_equal(vsock_listen(path, &lfd, &dfd, err, sizeof(err)), 0);
	close(lfd);
	close(dfd);
	unlink(path);
	rmdir(dir);
}

/* A diff snapshot must see what the device wrote: KVM's dirty log sees only the guest's writes. */
static void test_rx_marks_pages_dirty(void **state)
{
	struct fixture *fx = up();
	struct virtio_vsock_hdr h;
	char buf[16];
	int ls;
	fake_dirty_source(&fx->fd);
	assert_int_equal(mem_track_start(&fx->fd.mem), 0);
	uint64_t page[2];
	for (unsigned int i = 0; i < 2; i++) {
		page[i] = fake_alloc(&fx->fd, 2 * 4096, 4096);
		struct fake_buf b = { page[i], 2 * 4096, true };
		fx->rx_gpa[fake_add_chain(&fx->fd, VSOCK_RXQ, &b, 1)] = page[i];
	}
	fake_kick(&fx->fd, VSOCK_RXQ);
	int fd = guest_connects(fx, &ls); /* its RESPONSE went into the first buffer */
	assert_int_equal(mem_dirty_sync(&fx->fd.mem), 0);
	assert_true(mem_page_dirty(&fx->fd.mem, page[0] / 4096));
	assert_false(mem_page_dirty(&fx->fd.mem, page[1] / 4096));
	assert_int_equal(write(fd, "world!", 6), 6);
	run(fx, 2);
	assert_true(next_rx(fx, &h, buf));
	assert_int_equal(h.len, 6);
	assert_int_equal(mem_dirty_sync(&fx->fd.mem), 0);
	assert_true(mem_page_dirty(&fx->fd.mem, page[1] / 4096));
	assert_false(mem_page_dirty(&fx->fd.mem, page[1] / 4096 + 1)); /* past the packet */
	close(fd);
	close(ls);
	destroy(fx);
}

/* After a restore the guest gets one TRANSPORT_RESET on the event queue; a reset cancels it. */
static void test_restore_sends_transport_reset(void **state)
{
	struct fixture *fx = up();
	fake_dirty_source(&fx->fd);
	assert_int_equal(mem_track_start(&fx->fd.mem), 0);
	uint64_t ev[2];
	for (unsigned int i = 0; i < 2; i++) {
		ev[i] = fake_alloc(&fx->fd, 8, 8);
		*(uint32_t *)fake_ptr(&fx->fd, ev[i], 4) = 0xffffffff;
		struct fake_buf b = { ev[i], 8, true };
		fake_add_chain(&fx->fd, VSOCK_EVQ, &b, 1);
	}
	fake_kick(&fx->fd, VSOCK_EVQ);
	uint32_t id, len;
	assert_false(fake_get_used(&fx->fd, VSOCK_EVQ, &id, &len)); /* nothing to tell yet */
	vsock_restored(&fx->v);
	fake_kick(&fx->fd, VSOCK_EVQ);
	assert_true(fake_get_used(&fx->fd, VSOCK_EVQ, &id, &len));
	assert_int_equal(len, sizeof(struct virtio_vsock_event));
	assert_int_equal(*(uint32_t *)fake_ptr(&fx->fd, ev[id], 4),
			 VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	assert_int_equal(mem_dirty_sync(&fx->fd.mem), 0);
	assert_true(mem_page_dirty(&fx->fd.mem, ev[id] / 4096));
	fake_kick(&fx->fd, VSOCK_EVQ);
	assert_false(fake_get_used(&fx->fd, VSOCK_EVQ, &id, &len)); /* once */
	destroy(fx);
}

/*
 * A receive chain the snapshot held on a ring that had broken is dropped,
 * as the reset that ring waits for would; the restore goes on (it used to
 * fail, and the snapshot with it). A head past the ring is still refused.
 */
static void test_rehold_on_a_broken_ring(void **state)
{
	struct fixture *fx = up();
	uint64_t gpa = fake_alloc(&fx->fd, 4096, 8);
	struct fake_buf b = { gpa, 4096, true };
	uint16_t head = fake_add_chain(&fx->fd, VSOCK_RXQ, &b, 1);
	assert_int_equal(vsock_rx_rehold(&fx->v, 999), -EPROTO);
	fx->v.transport.queues[VSOCK_RXQ].broken = true;
	assert_int_equal(vsock_rx_rehold(&fx->v, head), 0);
	assert_false(fx->v.rx_held);
	destroy(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_connect_and_data),
		cmocka_unit_test(test_guest_connect_refused),
		cmocka_unit_test(test_host_connect),
		cmocka_unit_test(test_bad_packets),
		cmocka_unit_test(test_credit_violation),
		cmocka_unit_test(test_slow_host_reader),
		cmocka_unit_test(test_guest_credit_respected),
		cmocka_unit_test(test_connection_cap),
		cmocka_unit_test(test_reset_closes),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_listen_refusals),
		cmocka_unit_test(test_rx_marks_pages_dirty),
		cmocka_unit_test(test_restore_sends_transport_reset),
		cmocka_unit_test(test_rehold_on_a_broken_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
