// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vsock: the device, the guest's packets and the listener's life.
 * Packets the guest sends are checked before anything is done for them:
 * a header of 44 bytes, its own CID as the source, the host (CID 2) as the
 * destination, a stream, a payload no longer than the chain and 64 KiB, and
 * an operation that fits the connection's state. Anything else is counted,
 * answered with RST where the guest expects an answer, and completed.
 */
#include "devices/virtio/vsock/vsock.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

static struct vsock *to_vsock(void *dev)
{
	return dev;
}

static uint64_t vsock_features(void *dev)
{
	return 0; /* streams only: no VIRTIO_VSOCK_F_SEQPACKET */
}

static uint16_t vsock_queue_max_size(void *dev, unsigned int idx, uint64_t acked)
{
	return idx <= VSOCK_EVQ ? VSOCK_QUEUE_SIZE : 0;
}

static void vsock_config_read(void *dev, uint32_t offset, void *data, unsigned int len)
{
	struct virtio_vsock_config c = { .guest_cid = to_vsock(dev)->guest_cid };
	memcpy(data, (const uint8_t *)&c + offset, len);
}

/* ---- the guest's packets ---- */

static void bad(struct vsock *v, const char *why)
{
	v->counters.bad_packets++;
	log_debug_limited(&v->log_guest, "vsock: bad packet from the guest: %s", why);
}

/* Answers a packet for no connection with RST (never a RST with a RST). */
static void reply_rst(struct vsock *v, const struct virtio_vsock_hdr *h)
{
	if (h->op != VIRTIO_VSOCK_OP_RST)
		vsock_queue_rst(v, h->dst_port, h->src_port);
}

/* A packet that breaks the protocol of connection c (or of none): reset it. */
static void reset(struct vsock *v, struct vsock_conn *c, const struct virtio_vsock_hdr *h,
		  const char *why)
{
	bad(v, why);
	if (c)
		vsock_conn_close(c, true);
	else
		reply_rst(v, h);
}

/* The payload's buffers, after the header, as host memory; -1 if any is not guest RAM. */
static int payload_iov(struct vsock *v, const struct vq_chain *chain, uint32_t len,
		       struct iovec *iov)
{
	uint64_t skip = VSOCK_HDR_LEN;
	int nr = 0;
	for (unsigned int i = 0; i < chain->nr && len; i++) {
		const struct vq_buf *b = &chain->bufs[i];
		if (b->device_writable)
			continue;
		if (skip >= b->len) {
			skip -= b->len;
			continue;
		}
		uint32_t n = (uint32_t)MIN((uint64_t)len, b->len - skip);
		void *hva = mem_gpa_to_hva(v->mem, b->gpa + skip, n);
		if (!hva)
			return -1;
		iov[nr++] = (struct iovec){ hva, n };
		len -= n;
		skip = 0;
	}
	return len ? -1 : nr;
}

static void guest_data(struct vsock *v, struct vsock_conn *c, const struct virtio_vsock_hdr *h,
		       const struct vq_chain *chain)
{
	struct iovec iov[VQ_MAX_CHAIN];
	if (!c || c->state != CONN_ESTABLISHED || c->guest_shut_send) {
		reset(v, c, h, "payload for no open connection");
		return;
	}
	int nr = payload_iov(v, chain, h->len, iov);
	if (nr < 0) {
		reset(v, c, h, "payload outside guest RAM");
		return;
	}
	switch (vsock_guest_data(c, iov, (unsigned int)nr, h->len)) {
	case VSOCK_DATA_OK:
		v->counters.tx_bytes += h->len;
		return;
	case VSOCK_DATA_CREDIT:
		v->counters.credit_violations++;
		log_warn_limited(&v->log_guest,
				 "vsock: guest port %u sent more than its credit: connection reset",
				 c->peer_port);
		vsock_conn_close(c, true);
		return;
	case VSOCK_DATA_HOST_GONE:
		vsock_conn_close(c, true);
		return;
	}
}

static void packet(struct vsock *v, const struct virtio_vsock_hdr *h, const struct vq_chain *chain,
		   uint64_t payload_room)
{
	if (h->src_cid != v->guest_cid) {
		bad(v, "a source CID that is not the guest's");
		return;
	}
	if (h->dst_cid != VSOCK_HOST_CID || h->type != VIRTIO_VSOCK_TYPE_STREAM) {
		bad(v, "not a stream to the host (CID 2)");
		reply_rst(v, h);
		return;
	}
	struct vsock_conn *c = vsock_conn_find(v, h->dst_port, h->src_port);
	if (h->len > payload_room || h->len > VSOCK_MAX_PAYLOAD ||
	    (h->len && h->op != VIRTIO_VSOCK_OP_RW)) {
		reset(v, c, h, "a length longer than the chain, 64 KiB or its operation allows");
		return;
	}
	if (c) {
		c->peer_buf_alloc = h->buf_alloc;
		c->peer_fwd_cnt = h->fwd_cnt;
	}
	switch (h->op) {
	case VIRTIO_VSOCK_OP_REQUEST:
		if (c)
			reset(v, c, h, "a second REQUEST for an open connection");
		else
			vsock_guest_connect(v, h);
		return;
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (!c || c->state != CONN_CONNECTING || (c->owe & OWE_REQUEST))
			reset(v, c, h, "a RESPONSE to no REQUEST");
		else
			vsock_guest_response(c);
		return;
	case VIRTIO_VSOCK_OP_RST:
		if (c && c->state == CONN_CONNECTING)
			v->counters.refused++; /* nobody listens on that guest port */
		if (c)
			vsock_conn_close(c, false);
		return;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (!c || c->state == CONN_CONNECTING)
			reset(v, c, h, "a SHUTDOWN for no open connection");
		else
			vsock_guest_shutdown(c, h->flags);
		return;
	case VIRTIO_VSOCK_OP_RW:
		guest_data(v, c, h, chain);
		return;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		if (!c)
			reply_rst(v, h);
		return; /* the credit was read above; the receive pass uses it */
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		if (!c)
			reply_rst(v, h);
		else
			c->owe |= OWE_CREDIT_UPDATE;
		return;
	default:
		reset(v, c, h, "an unknown operation");
		return;
	}
}

static unsigned int vsock_tx_chain(void *dev, struct virtq *vq, unsigned int idx,
				   const struct vq_chain *chain, enum vq_error err)
{
	struct vsock *v = to_vsock(dev);
	struct virtio_vsock_hdr h;
	unsigned int cost = 1;
	v->counters.tx_packets++;
	uint64_t readable = err == VQ_ERR_NONE ? vq_chain_readable_len(chain) : 0;
	if (err != VQ_ERR_NONE)
		bad(v, vq_error_name(err));
	else if (readable < VSOCK_HDR_LEN || vq_chain_read(v->mem, chain, 0, &h, sizeof(h)) < 0)
		bad(v, "too short for the 44-byte header");
	else {
		packet(v, &h, chain, readable - VSOCK_HDR_LEN);
		cost += MIN(h.len, VSOCK_MAX_PAYLOAD) >> 16;
	}
	vq_push(vq, chain->head, 0);
	virtio_mmio_used(&v->transport, VSOCK_TXQ);
	return cost;
}

/* The event queue carries one event: TRANSPORT_RESET, owed after a restore. */
static void send_reset_event(struct vsock *v)
{
	struct virtq *vq = virtio_mmio_queue(&v->transport, VSOCK_EVQ);
	struct vq_chain chain;
	enum vq_error err;
	if (!v->reset_event_owed || !virtio_mmio_driver_ok(&v->transport) || !vq || !vq->ready)
		return;
	int ret = vq_pop(vq, &chain, &err);
	if (ret == 0)
		return; /* no buffer yet: the driver's next kick */
	if (ret == -EPIPE) {
		virtio_mmio_needs_reset(&v->transport, vq_error_name(err));
		return;
	}
	struct virtio_vsock_event ev = { .id = VIRTIO_VSOCK_EVENT_TRANSPORT_RESET };
	void *hva = NULL;
	if (ret > 0 && chain.nr && chain.bufs[0].device_writable && chain.bufs[0].len >= sizeof(ev))
		hva = mem_gpa_to_hva(v->mem, chain.bufs[0].gpa, sizeof(ev));
	if (hva) {
		memcpy(hva, &ev, sizeof(ev));
		mem_mark_dirty(v->mem, chain.bufs[0].gpa, sizeof(ev));
		v->reset_event_owed = false;
	} else {
		bad(v, "an event buffer with no room for an event");
	}
	vq_push(vq, chain.head, hva ? sizeof(ev) : 0);
	virtio_mmio_used(&v->transport, VSOCK_EVQ);
}

void vsock_restored(struct vsock *v)
{
	v->reset_event_owed = true;
}

static void vsock_queue_notify(void *dev, unsigned int idx)
{
	struct vsock *v = to_vsock(dev);
	send_reset_event(v);
	if (idx == VSOCK_TXQ)
		virtio_mmio_process_queue(&v->transport, VSOCK_TXQ, vsock_tx_chain);
	/* Replies, payload the guest now has room or credit for, and the rest of a pass. */
	vsock_rx_run(v);
}

/* ---- reset, on a vCPU: the closing itself waits for the event loop ---- */

static void vsock_reset(void *dev)
{
	struct vsock *v = to_vsock(dev);
	vsock_rx_drop_held(v);
	v->reset_event_owed = false;
	v->nr_rsts = 0;
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		v->conns[i].stale = v->conns[i].state != CONN_FREE;
	uint64_t one = 1;
	if (write(v->work_fd, &one, sizeof(one)) < 0)
		v->counters.host_errors++;
}

static void vsock_queue_disable(void *dev, unsigned int idx)
{
	if (idx == VSOCK_RXQ)
		vsock_rx_drop_held(to_vsock(dev));
}

/* The guest forgot its connections: close their host ends. */
static void work_event(void *opaque, uint32_t events)
{
	struct vsock *v = opaque;
	uint64_t n;
	if (read(v->work_fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&v->transport.lock);
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		if (v->conns[i].state != CONN_FREE && v->conns[i].stale)
			vsock_conn_close(&v->conns[i], false);
	}
	pthread_mutex_unlock(&v->transport.lock);
}

static const struct virtio_device_ops vsock_ops = {
	.name = "vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.config_size = sizeof(struct virtio_vsock_config),
	.max_queues = 3,
	.features = vsock_features,
	.queue_max_size = vsock_queue_max_size,
	.config_read = vsock_config_read,
	.queue_notify = vsock_queue_notify,
	.queue_disable = vsock_queue_disable,
	.reset = vsock_reset,
};

/* ---- the listener, before KVM exists ---- */

/* A socket file nobody listens on is left over from an earlier run. */
static bool stale_socket(const char *path, const struct sockaddr_un *addr)
{
	struct stat st;
	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool stale = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 &&
		     errno == ECONNREFUSED;
	close(fd);
	return stale;
}

int vsock_listen(const char *path, int *listen_fd, int *dir_fd, char *err, size_t err_len)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	*listen_fd = *dir_fd = -1;
	if (strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(err, err_len, "uds_path %s is too long for a unix socket", path);
		return -ENAMETOOLONG;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, err_len, "uds_path %s: socket: %s", path, strerror(errno));
		return -errno;
	}
	int ret = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	if (ret < 0 && errno == EADDRINUSE && stale_socket(path, &addr) && unlink(path) == 0)
		ret = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	if (ret < 0 || listen(fd, 64) < 0) {
		int e = errno;
		if (e == EADDRINUSE)
			snprintf(err, err_len,
				 "uds_path %s exists: another process listens on it, or it is not "
				 "a socket (ebb replaces only a socket nobody listens on)",
				 path);
		else
			snprintf(err, err_len, "uds_path %s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	char *copy = strdup(path);
	int dfd = copy ? open(dirname(copy), O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	free(copy);
	if (dfd < 0) {
		snprintf(err, err_len, "uds_path %s: its directory: %s", path, strerror(errno));
		unlink(path);
		close(fd);
		return -EINVAL;
	}
	*listen_fd = fd;
	*dir_fd = dfd;
	return 0;
}

/* ---- life ---- */

int vsock_init(struct vsock *v, const struct vsock_params *p, struct guest_memory *mem,
	       struct event_loop *loop, uint64_t base, unsigned int gsi)
{
	memset(v, 0, sizeof(*v));
	v->listen_fd = p->listen_fd;
	v->dir_fd = p->dir_fd;
	v->work_fd = -1;
	v->mem = mem;
	v->loop = loop;
	v->guest_cid = p->guest_cid;
	v->next_host_port = VSOCK_FIRST_HOST_PORT;
	int ret = virtio_mmio_init(&v->transport, &vsock_ops, v, mem, loop, base, gsi);
	if (ret < 0)
		return ret;
	v->uds_path = strdup(p->uds_path);
	v->conns = calloc(VSOCK_MAX_CONNS, sizeof(*v->conns));
	if (!v->uds_path || !v->conns)
		return -ENOMEM;
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		v->conns[i].fd = -1;
	v->work_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->work_fd < 0)
		return -errno;
	ret = event_loop_add(loop, v->work_fd, EPOLLIN, work_event, v, &v->work_src);
	if (ret == 0)
		ret = rate_timer_init(&v->timer, loop, vsock_timer_fired, v);
	if (ret == 0)
		ret = event_loop_add(loop, v->listen_fd, EPOLLIN, vsock_listener_event, v,
				     &v->listen_src);
	return ret;
}

void vsock_destroy(struct vsock *v)
{
	const struct vsock_counters *k = &v->counters;
	log_info("vsock: %llu host and %llu guest connections, %llu refused, to the guest %llu "
		 "packets (%llu MiB), from it %llu (%llu MiB), %llu bad, %llu credit violations",
		 (unsigned long long)k->host_connects, (unsigned long long)k->guest_connects,
		 (unsigned long long)k->refused, (unsigned long long)k->rx_packets,
		 (unsigned long long)(k->rx_bytes >> 20), (unsigned long long)k->tx_packets,
		 (unsigned long long)(k->tx_bytes >> 20), (unsigned long long)k->bad_packets,
		 (unsigned long long)k->credit_violations);
	for (unsigned int i = 0; v->conns && i < VSOCK_MAX_CONNS; i++) {
		if (v->conns[i].state != CONN_FREE)
			vsock_conn_close(&v->conns[i], false);
	}
	if (v->listen_src)
		event_loop_remove(v->loop, v->listen_src);
	if (v->work_src)
		event_loop_remove(v->loop, v->work_src);
	rate_timer_destroy(&v->timer);
	if (v->listen_fd >= 0)
		close(v->listen_fd);
	if (v->dir_fd >= 0 && v->uds_path) {
		/* Through the directory opened at start, the only unlinkat the filter allows. */
		char *copy = strdup(v->uds_path);
		if (copy && unlinkat(v->dir_fd, basename(copy), 0) < 0 && errno != ENOENT)
			log_warn("vsock: removing %s: %s", v->uds_path, strerror(errno));
		free(copy);
	}
	if (v->dir_fd >= 0)
		close(v->dir_fd);
	if (v->work_fd >= 0)
		close(v->work_fd);
	v->listen_fd = v->dir_fd = v->work_fd = -1;
	free(v->conns);
	free(v->uds_path);
	v->conns = NULL;
	v->uds_path = NULL;
	virtio_mmio_destroy(&v->transport);
}
