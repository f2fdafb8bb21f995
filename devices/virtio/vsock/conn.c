// SPDX-License-Identifier: GPL-2.0
/*
 * vsock connections and their host sockets: the listener's CONNECT lines,
 * guest connects to "<uds_path>_<port>", the guest's payload to the host
 * (straight from guest memory; what the host socket does not take waits in
 * a ring of at most VSOCK_CONN_BUF, the credit the guest was given), half
 * and full closes both ways, and the deadlines of the handshakes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "devices/virtio/vsock/vsock.h"

/* A client that never finishes its CONNECT line is dropped after this. */
#define LINE_TIMEOUT_NS (10000ull * 1000000ull)
/* A guest that closed while the host reads slowly: its data may wait this long. */
#define DRAIN_TIMEOUT_NS (10000ull * 1000000ull)
/* Host clients accepted per wakeup, at most. */
#define ACCEPTS_PER_WAKEUP 16

static void host_event(void *opaque, uint32_t events);

void vsock_arm_deadline(struct vsock *v, struct vsock_conn *c, uint64_t in_ns)
{
	uint64_t now = rate_limit_now_ns();
	c->deadline_ns = now + in_ns;
	/* The timer fires for the earliest deadline; the others are looked at then. */
	if (!v->timer.armed || c->deadline_ns < v->timer_deadline_ns) {
		rate_timer_arm(&v->timer, in_ns);
		v->timer_deadline_ns = c->deadline_ns;
	}
}

struct vsock_conn *vsock_conn_find(struct vsock *v, uint32_t local_port, uint32_t peer_port)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conns[i];
		if (c->state != CONN_FREE && c->state != CONN_AWAIT_LINE &&
		    c->local_port == local_port && c->peer_port == peer_port)
			return c;
	}
	return NULL;
}

struct vsock_conn *vsock_conn_new(struct vsock *v, int fd)
{
	if (v->nr_conns >= VSOCK_MAX_CONNS) {
		v->counters.conn_limit_hits++;
		log_warn_limited(&v->log_host, "vsock: %u connections are open: refusing another",
				 VSOCK_MAX_CONNS);
		return NULL;
	}
	struct vsock_conn *c = v->conns;
	while (c->state != CONN_FREE)
		c++;
	memset(c, 0, sizeof(*c));
	c->v = v;
	c->fd = fd;
	/* Edge-triggered: the flags below remember what an edge said until a call says EAGAIN. */
	if (event_loop_add(v->loop, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, host_event, c,
			   &c->src) < 0) {
		v->counters.host_errors++;
		return NULL;
	}
	c->state = CONN_ESTABLISHED;
	c->readable = c->writable = true; /* until a call says EAGAIN */
	v->nr_conns++;
	return c;
}

void vsock_queue_rst(struct vsock *v, uint32_t src_port, uint32_t dst_port)
{
	if (v->nr_rsts == VSOCK_MAX_RSTS) {
		v->counters.rsts_dropped++;
		return;
	}
	v->rsts[v->nr_rsts++] = (struct vsock_rst){ .src_port = src_port, .dst_port = dst_port };
}

void vsock_conn_close(struct vsock_conn *c, bool rst)
{
	struct vsock *v = c->v;
	/* The guest knows the connection unless its REQUEST was never sent. */
	if (rst && c->state != CONN_AWAIT_LINE && !(c->owe & OWE_REQUEST))
		vsock_queue_rst(v, c->local_port, c->peer_port);
	if (c->src)
		event_loop_remove(v->loop, c->src);
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->state = CONN_FREE;
	c->fd = -1;
	v->nr_conns--;
	v->counters.closed++;
}

uint32_t vsock_peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
	/* A guest that shrank its buffer, or claims to have taken more than it got: no room. */
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* ---- host-initiated: the listener and the CONNECT line ---- */

void vsock_listener_event(void *opaque, uint32_t events)
{
	struct vsock *v = opaque;
	pthread_mutex_lock(&v->transport.lock);
	for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
				v->counters.host_errors++;
				log_warn_limited(&v->log_host, "vsock: accept: %s",
						 strerror(errno));
			}
			break;
		}
		struct vsock_conn *c = vsock_conn_new(v, fd);
		if (!c) {
			v->counters.refused++;
			close(fd);
			continue;
		}
		c->state = CONN_AWAIT_LINE;
		vsock_arm_deadline(v, c, LINE_TIMEOUT_NS);
	}
	pthread_mutex_unlock(&v->transport.lock);
}

static uint32_t alloc_host_port(struct vsock *v)
{
	for (;;) {
		uint32_t p = v->next_host_port++;
		if (v->next_host_port < VSOCK_FIRST_HOST_PORT)
			v->next_host_port = VSOCK_FIRST_HOST_PORT;
		bool used = false;
		for (unsigned int i = 0; i < VSOCK_MAX_CONNS && !used; i++)
			used = v->conns[i].state != CONN_FREE && v->conns[i].local_port == p;
		if (!used)
			return p;
	}
}

/* "CONNECT <port>": the port, or -1. */
static int64_t parse_line(const char *line, size_t len)
{
	static const char prefix[] = "CONNECT ";
	size_t n = sizeof(prefix) - 1;
	if (len <= n || len > n + 10 || memcmp(line, prefix, n) != 0)
		return -1;
	int64_t port = 0;
	for (size_t i = n; i < len; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -1;
		port = port * 10 + (line[i] - '0');
	}
	return port <= UINT32_MAX ? port : -1;
}

/* One byte at a time: what follows the line belongs to the guest, and must stay in the socket. */
static void read_line(struct vsock_conn *c)
{
	struct vsock *v = c->v;
	while (c->line_len < VSOCK_LINE_MAX) {
		char ch;
		ssize_t r = read(c->fd, &ch, 1);
		if (r < 0 && errno == EAGAIN) {
			c->readable = false;
			return;
		}
		if (r <= 0)
			break;
		if (ch != '\n') {
			c->line[c->line_len++] = ch;
			continue;
		}
		int64_t port = parse_line(c->line, c->line_len);
		if (port < 0)
			break;
		c->peer_port = (uint32_t)port;
		c->local_port = alloc_host_port(v);
		c->host_initiated = true;
		c->state = CONN_CONNECTING;
		c->owe = OWE_REQUEST;
		v->counters.host_connects++;
		vsock_arm_deadline(v, c, VSOCK_TIMEOUT_NS);
		return;
	}
	log_debug_limited(&v->log_host, "vsock: a host client sent no CONNECT <port> line");
	v->counters.refused++;
	vsock_conn_close(c, false);
}

void vsock_guest_response(struct vsock_conn *c)
{
	char ok[32];
	int len = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
	/* A new socket's buffer is empty: the line goes whole, before any payload. */
	struct iovec iov = { ok, (size_t)len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT) != len) {
		c->v->counters.host_errors++;
		vsock_conn_close(c, true);
		return;
	}
	c->state = CONN_ESTABLISHED;
	c->deadline_ns = 0;
}

/* ---- guest-initiated ---- */

void vsock_guest_connect(struct vsock *v, const struct virtio_vsock_hdr *h)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int n = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s_%u", v->uds_path, h->dst_port);
	int fd = -1;
	if (n > 0 && (size_t)n < sizeof(addr.sun_path))
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		log_debug_limited(&v->log_host, "vsock: guest port %u to %s: %s", h->src_port,
				  addr.sun_path, strerror(errno));
		close(fd);
		fd = -1;
	}
	struct vsock_conn *c = fd >= 0 ? vsock_conn_new(v, fd) : NULL;
	if (!c) {
		if (fd >= 0)
			close(fd);
		v->counters.refused++;
		vsock_queue_rst(v, h->dst_port, h->src_port);
		return;
	}
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->owe = OWE_RESPONSE;
	v->counters.guest_connects++;
}

/* ---- guest -> host payload ---- */

static int ring_alloc(struct vsock_conn *c)
{
	if (!c->buf && !(c->buf = malloc(VSOCK_CONN_BUF)))
		return -ENOMEM;
	return 0;
}

/* Copies len bytes of iov (from offset skip) to the ring's tail; there is room (credit). */
static void ring_put(struct vsock_conn *c, const struct iovec *iov, unsigned int nr, size_t skip)
{
	for (unsigned int i = 0; i < nr; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t len = iov[i].iov_len;
		if (skip >= len) {
			skip -= len;
			continue;
		}
		p += skip;
		len -= skip;
		skip = 0;
		while (len) {
			uint32_t tail = (c->buf_head + c->buf_len) % VSOCK_CONN_BUF;
			size_t n = MIN(len, (size_t)(VSOCK_CONN_BUF - tail));
			memcpy(c->buf + tail, p, n);
			c->buf_len += (uint32_t)n;
			p += n;
			len -= n;
		}
	}
}

/* A send the host could not take at all: its reader is gone. */
static bool host_gone(int err)
{
	return err != EAGAIN && err != EINTR;
}

static void credit_check(struct vsock_conn *c)
{
	/*
	 * The guest hears of room in steps: a guest out of credit has
	 * VSOCK_CONN_BUF in flight, so once the host took a step of it, it
	 * is told (and every packet to it says so too).
	 */
	if (c->fwd_cnt - c->fwd_sent >= VSOCK_CREDIT_STEP)
		c->owe |= OWE_CREDIT_UPDATE;
}

enum vsock_data_result vsock_guest_data(struct vsock_conn *c, const struct iovec *iov,
					unsigned int nr, uint32_t len)
{
	if (c->recv_cnt + len - c->fwd_cnt > VSOCK_CONN_BUF)
		return VSOCK_DATA_CREDIT; /* more than the credit it was given */
	c->recv_cnt += len;
	size_t sent = 0;
	if (c->buf_len == 0 && c->writable) {
		struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = nr };
		ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && host_gone(errno))
			return VSOCK_DATA_HOST_GONE;
		if (w < 0 || (size_t)w < len)
			c->writable = false;
		sent = w > 0 ? (size_t)w : 0;
		c->fwd_cnt += (uint32_t)sent;
	}
	if (sent < len) {
		if (ring_alloc(c) < 0)
			return VSOCK_DATA_HOST_GONE;
		ring_put(c, iov, nr, sent);
	}
	credit_check(c);
	return VSOCK_DATA_OK;
}

void vsock_conn_flush(struct vsock_conn *c)
{
	while (c->buf_len && c->writable) {
		struct iovec iov[2];
		uint32_t first = MIN(c->buf_len, VSOCK_CONN_BUF - c->buf_head);
		iov[0] = (struct iovec){ c->buf + c->buf_head, first };
		iov[1] = (struct iovec){ c->buf, c->buf_len - first };
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = iov[1].iov_len ? 2 : 1 };
		ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && host_gone(errno)) {
			vsock_conn_close(c, true);
			return;
		}
		if (w <= 0) {
			c->writable = false;
			break;
		}
		c->buf_head = (c->buf_head + (uint32_t)w) % VSOCK_CONN_BUF;
		c->buf_len -= (uint32_t)w;
		c->fwd_cnt += (uint32_t)w;
	}
	credit_check(c);
	if (c->buf_len || !c->guest_shut_send)
		return;
	/* Everything the guest sent was taken: pass its half close on, or its close. */
	if (c->guest_shut_rcv) {
		vsock_conn_close(c, true);
		return;
	}
	if (!c->host_shut_wr) {
		shutdown(c->fd, SHUT_WR);
		c->host_shut_wr = true;
	}
}

void vsock_guest_shutdown(struct vsock_conn *c, uint32_t flags)
{
	if (flags & VIRTIO_VSOCK_SHUTDOWN_SEND)
		c->guest_shut_send = true;
	if (flags & VIRTIO_VSOCK_SHUTDOWN_RCV)
		c->guest_shut_rcv = true;
	bool closed = c->guest_shut_send && c->guest_shut_rcv;
	bool draining = closed && c->buf_len;
	vsock_conn_flush(c);
	if (draining && c->state != CONN_FREE)
		vsock_arm_deadline(c->v, c, DRAIN_TIMEOUT_NS);
}

/* ---- host socket events ---- */

static void host_event(void *opaque, uint32_t events)
{
	struct vsock_conn *c = opaque;
	struct vsock *v = c->v;
	pthread_mutex_lock(&v->transport.lock);
	if (c->state == CONN_FREE) {
		pthread_mutex_unlock(&v->transport.lock);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->readable = true;
	if (events & (EPOLLHUP | EPOLLERR))
		c->host_hup = true;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		c->writable = true;
	if (c->state == CONN_AWAIT_LINE)
		read_line(c);
	else if (c->writable && c->buf_len)
		vsock_conn_flush(c);
	vsock_rx_run(v);
	pthread_mutex_unlock(&v->transport.lock);
}

/* ---- deadlines ---- */

void vsock_timer_fired(void *opaque, uint32_t events)
{
	struct vsock *v = opaque;
	pthread_mutex_lock(&v->transport.lock);
	rate_timer_ack(&v->timer);
	uint64_t now = rate_limit_now_ns(), next = 0;
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conns[i];
		if (c->state == CONN_FREE || !c->deadline_ns)
			continue;
		if (c->deadline_ns > now) {
			next = next && next < c->deadline_ns ? next : c->deadline_ns;
			continue;
		}
		if (c->state == CONN_AWAIT_LINE || c->state == CONN_CONNECTING)
			v->counters.refused++;
		/* A closing connection already told the guest; the others are reset. */
		vsock_conn_close(c, c->state != CONN_CLOSING);
	}
	if (next) {
		rate_timer_arm(&v->timer, next - now);
		v->timer_deadline_ns = next;
	}
	vsock_rx_run(v);
	pthread_mutex_unlock(&v->transport.lock);
}
