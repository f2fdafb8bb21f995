/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_VIRTIO_VSOCK_H
#define EBB_VIRTIO_VSOCK_H

#include <linux/virtio_vsock.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/ratelimit.h"
#include "devices/virtio/mmio.h"

/*
 * virtio-vsock with Firecracker's hybrid host side (docs/net.md): the guest
 * sees a vsock device with its CID; the host sees AF_UNIX stream sockets.
 *  - A host program connects to uds_path and writes "CONNECT <port>\n"; ebb
 *    asks the guest's port and answers "OK <host port>\n", or closes.
 *  - A guest connect to CID 2, port P is a connect to "<uds_path>_P"; RST
 *    when nobody listens there.
 * Every connection has credit (virtio 1.2, 5.10.6.3) both ways: ebb holds
 * at most VSOCK_CONN_BUF bytes the guest sent and the host socket did not
 * take yet, and reads from the host socket only what the guest has room
 * for, straight into its buffers. Everything runs on the event loop; every
 * function here except vsock_init() and vsock_listen() expects the
 * transport lock.
 */

#define VSOCK_QUEUE_SIZE 256
#define VSOCK_RXQ	 0
#define VSOCK_TXQ	 1
#define VSOCK_EVQ	 2
#define VSOCK_HOST_CID	 2
#define VSOCK_HDR_LEN	 44 /* sizeof(struct virtio_vsock_hdr) */
/* A packet's payload, at most: what Linux sends (VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
#define VSOCK_MAX_PAYLOAD (64u << 10)
/* What ebb may hold per connection, and so the credit it gives the guest. */
#define VSOCK_CONN_BUF (256u << 10)
/* Tell the guest its credit grew once the host took this much more. */
#define VSOCK_CREDIT_STEP (64u << 10)
/* Connections of one VM, both ways together. */
#define VSOCK_MAX_CONNS 128
/* Replies to packets for no connection, waiting for a receive buffer. */
#define VSOCK_MAX_RSTS 64
/* Host-side ports of host-initiated connections, as Firecracker numbers them. */
#define VSOCK_FIRST_HOST_PORT 1073741824u
/* How long the guest may take to answer a connection, or its RST to a close. */
#define VSOCK_TIMEOUT_NS (2000ull * 1000000ull)
/* Buffers of one receive chain that are used. */
#define VSOCK_RX_MAX_BUFS 16
/* "CONNECT 4294967295\n" and a little slack. */
#define VSOCK_LINE_MAX 32

enum vsock_conn_state {
	CONN_FREE,
	CONN_AWAIT_LINE, /* a host client connected; its CONNECT line is being read */
	CONN_CONNECTING, /* REQUEST sent (or owed) to the guest, no answer yet */
	CONN_ESTABLISHED,
	CONN_CLOSING, /* RST owed or SHUTDOWN sent; waiting to be forgotten */
};

/* Packets a connection owes the guest. */
#define OWE_REQUEST	  0x01
#define OWE_RESPONSE	  0x02
#define OWE_CREDIT_UPDATE 0x04
#define OWE_SHUTDOWN	  0x08
#define OWE_RST		  0x10

struct vsock;

struct vsock_conn {
	struct vsock *v;
	enum vsock_conn_state state;
	int fd;
	struct event_source *src;
	uint32_t local_port; /* the host's end, as the guest sees it */
	uint32_t peer_port;  /* the guest's end */
	bool host_initiated;
	/* The host socket's state, from its edge-triggered events. */
	bool readable, writable, host_eof, host_hup;
	bool stale; /* the driver reset: closed on the event loop */
	/* The guest said it will send (receive) no more. */
	bool guest_shut_send, guest_shut_rcv;
	bool host_shut_wr; /* shutdown(SHUT_WR) done */
	/* guest -> host: what the host socket did not take yet, a ring of VSOCK_CONN_BUF. */
	uint8_t *buf;
	uint32_t buf_head, buf_len;
	uint32_t recv_cnt; /* payload bytes the guest sent */
	uint32_t fwd_cnt;  /* of those, taken by the host socket */
	uint32_t fwd_sent; /* the fwd_cnt the guest last heard */
	/* host -> guest */
	uint32_t tx_cnt; /* payload bytes sent to the guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint8_t owe;
	uint32_t shutdown_flags; /* of the SHUTDOWN owed */
	uint64_t deadline_ns;	 /* 0: none */
	char line[VSOCK_LINE_MAX];
	uint8_t line_len;
};

struct vsock_counters {
	uint64_t host_connects;	  /* CONNECT lines forwarded to the guest */
	uint64_t guest_connects;  /* guest connects to a host socket that succeeded */
	uint64_t refused;	  /* either way: nobody listened, bad line, timeout */
	uint64_t conn_limit_hits; /* refused because VSOCK_MAX_CONNS were open */
	uint64_t closed;
	uint64_t rx_packets; /* to the guest */
	uint64_t rx_bytes;
	uint64_t tx_packets; /* from the guest */
	uint64_t tx_bytes;
	uint64_t bad_packets;	    /* malformed or unexpected packets from the guest */
	uint64_t bad_rx_chains;	    /* receive chains no packet fits in: completed empty */
	uint64_t credit_violations; /* the guest sent more than its credit: reset */
	uint64_t rsts_sent;
	uint64_t rsts_dropped; /* no room to queue a reply RST */
	uint64_t host_errors;
};

struct vsock_rx_chain {
	uint16_t head;
	uint16_t nr;
	uint32_t cap;
	struct iovec iov[VSOCK_RX_MAX_BUFS];
};

struct vsock_rst {
	uint32_t src_port, dst_port; /* as sent to the guest */
};

struct vsock {
	struct virtio_mmio transport;
	struct guest_memory *mem;
	struct event_loop *loop;
	uint64_t guest_cid;
	char *uds_path;
	int listen_fd;
	int dir_fd; /* uds_path's directory: the socket file is removed through it */
	struct event_source *listen_src;
	struct vsock_conn *conns; /* VSOCK_MAX_CONNS */
	unsigned int nr_conns;
	unsigned int rr; /* where the next receive pass starts */
	uint32_t next_host_port;
	struct vsock_rst rsts[VSOCK_MAX_RSTS];
	unsigned int nr_rsts;
	int work_fd; /* an eventfd: work a vCPU asked for (closing after a reset) */
	struct event_source *work_src;
	bool rx_held;
	struct vsock_rx_chain rx_chain;
	bool reset_event_owed; /* restored: the guest must drop its connections */
	struct rate_timer timer; /* deadlines of connections */
	uint64_t timer_deadline_ns;
	struct vsock_counters counters;
	struct log_limit log_guest, log_host;
};

struct vsock_params {
	uint64_t guest_cid;
	const char *uds_path;
	int listen_fd; /* vsock_init() owns them from then on */
	int dir_fd;
};

/*
 * Binds and listens on path (a stale socket nobody listens on is replaced;
 * anything else there is an error) and opens its directory. Negative errno
 * and one line saying why in err.
 */
int vsock_listen(const char *path, int *listen_fd, int *dir_fd, char *err, size_t err_len);

int vsock_init(struct vsock *v, const struct vsock_params *p, struct guest_memory *mem,
	       struct event_loop *loop, uint64_t base, unsigned int gsi);
/* Closes every connection and the listener, and removes the socket file. */
void vsock_destroy(struct vsock *v);

/* conn.c: connections and their host sockets */
struct vsock_conn *vsock_conn_find(struct vsock *v, uint32_t local_port, uint32_t peer_port);
struct vsock_conn *vsock_conn_new(struct vsock *v, int fd);
void vsock_conn_close(struct vsock_conn *c, bool rst);
void vsock_listener_event(void *opaque, uint32_t events);
void vsock_guest_connect(struct vsock *v, const struct virtio_vsock_hdr *h);
void vsock_guest_response(struct vsock_conn *c);
enum vsock_data_result {
	VSOCK_DATA_OK,
	VSOCK_DATA_CREDIT,    /* the guest sent more than its credit */
	VSOCK_DATA_HOST_GONE, /* the host socket is closed */
};
/* The guest's payload for c (len bytes in iov, guest memory): to the host socket, or held. */
enum vsock_data_result vsock_guest_data(struct vsock_conn *c, const struct iovec *iov,
					unsigned int nr, uint32_t len);
void vsock_guest_shutdown(struct vsock_conn *c, uint32_t flags);
void vsock_conn_flush(struct vsock_conn *c);
void vsock_timer_fired(void *opaque, uint32_t events);
/* c must be done with in in_ns: vsock_timer_fired() closes it then. */
void vsock_arm_deadline(struct vsock *v, struct vsock_conn *c, uint64_t in_ns);
void vsock_queue_rst(struct vsock *v, uint32_t src_port, uint32_t dst_port);
uint32_t vsock_peer_credit(const struct vsock_conn *c);

/* rx.c: packets to the guest */
void vsock_rx_run(struct vsock *v);
void vsock_rx_drop_held(struct vsock *v);
/*
 * Restore: holds again the receive chain a snapshot held (a bad one is
 * completed empty); -EPROTO: no such head.
 */
int vsock_rx_rehold(struct vsock *v, uint16_t head);
/*
 * Restore: the host ends of the guest's connections did not survive, so
 * the guest gets a TRANSPORT_RESET event (as Firecracker sends) and drops
 * them all.
 */
void vsock_restored(struct vsock *v);

#endif
