// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-vsock behind the split virtqueue, with its hybrid host side on
 * real unix sockets in a directory of the harness's: a guest's packets of
 * every operation and any header, host clients that connect and send a
 * CONNECT line (or another), a host service the guest connects to, data
 * and closes from both ends, save and restore. The input is one byte of
 * options, the bring-up (features, queue sizes) and up to FZ_MAX_OPS
 * operations: the shared ones of support/fuzz_driver.h and the device's
 * below. Besides ASan and UBSan, the driver checks that every transmit
 * chain comes back exactly once (receive and event chains wait for packets
 * to send), and libFuzzer's timeout catches a loop that never ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_vsock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/conf.h"
#include "devices/virtio/vsock/vsock.h"
#include "tests/fuzz/support/fuzz_driver.h"
#include "tests/fuzz/support/fuzz_env.h"

#define CID	     3
#define SERVICE_PORT 52 /* the host service the guest may connect to */
#define MAX_HOST_FDS 8

enum {
	OP_PACKET = FZ_NR_OPS, /* a packet from the guest: header and payload */
	OP_RX_BUFS,	       /* receive chains */
	OP_EVENT_BUFS,	       /* event queue chains */
	OP_HOST_CONNECT,       /* a host client connects to uds_path and sends a line */
	OP_HOST_ACCEPT,	       /* the host service accepts what the guest connected */
	OP_HOST_WRITE,	       /* a host end writes */
	OP_HOST_READ,	       /* every host end reads what waits */
	OP_HOST_CLOSE,	       /* a host end shuts down its writes, or closes */
	OP_SNAPSHOT,	       /* saved, restored into a new device, which carries on */
	NR_OPS,
};

static struct fuzz_driver drv;
static const struct device_type *vsock_type;
static char dir[64], path[96], service_path[128];
static int service = -1;	   /* the host service's listener */
static int host_fds[MAX_HOST_FDS]; /* host ends: clients of uds_path, accepted service ones */
static uint8_t payload[VSOCK_MAX_PAYLOAD + 64];

static void remove_dir(void)
{
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_env_init();
	fzd_init(&drv);
	vsock_type = device_type_by_section(device_registry(), "vsock");
	snprintf(dir, sizeof(dir), "/tmp/ebb-fuzz-vsock.XXXXXX");
	if (!mkdtemp(dir))
		fuzz_fail("mkdtemp: %s", strerror(errno));
	atexit(remove_dir);
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	snprintf(service_path, sizeof(service_path), "%s_%u", path, SERVICE_PORT);
	for (unsigned int i = 0; i < MAX_HOST_FDS; i++)
		host_fds[i] = -1;
	return 0;
}

static struct vsock *create(void)
{
	struct vsock *v = calloc(1, sizeof(*v));
	struct vsock_params p = { .guest_cid = CID, .uds_path = path };
	char err[256];
	if (!v || vsock_listen(path, &p.listen_fd, &p.dir_fd, err, sizeof(err)) < 0)
		fuzz_fail("vsock_listen: %s", err);
	if (vsock_init(v, &p, &drv.fake.mem, &drv.fake.loop, 0xd0003000, 8) < 0)
		fuzz_fail("vsock_init failed");
	return v;
}

static void destroy(struct vsock *v)
{
	vsock_destroy(v);
	free(v);
}

static int unix_socket(const char *name, bool listen_there)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", name);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fuzz_fail("socket: %s", strerror(errno));
	int ret = listen_there ? bind(fd, (struct sockaddr *)&a, sizeof(a))
			       : connect(fd, (struct sockaddr *)&a, sizeof(a));
	if (ret == 0 && listen_there)
		ret = listen(fd, 16);
	if (ret < 0 && errno != EAGAIN && errno != EINPROGRESS) {
		if (listen_there)
			fuzz_fail("the host service's socket: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int *free_host_slot(void)
{
	for (unsigned int i = 0; i < MAX_HOST_FDS; i++)
		if (host_fds[i] < 0)
			return &host_fds[i];
	return NULL;
}

/* Ports the guest and the host use, so that packets meet connections; sometimes any. */
static uint32_t port(struct fuzz_input *in, uint32_t base)
{
	uint8_t sel = fz_u8(in);
	return sel & 0x80 ? fz_u32(in) : base + sel % 4;
}

/* Mostly what a driver sends; shape bits make each part wrong in its own way. */
static void op_packet(struct fuzz_input *in)
{
	uint8_t shape = fz_u8(in);
	uint8_t op = fz_u8(in);
	/* One field at a time: the input is read in this order (an initializer's is unspecified).
	 */
	struct virtio_vsock_hdr h = { .op = op & 0x40 ? op : op % 8 };
	h.src_cid = shape & 1 ? fz_u64(in) : CID;
	h.dst_cid = shape & 2 ? fz_u64(in) : VSOCK_HOST_CID;
	h.src_port = port(in, 1000);
	h.dst_port = op & 0x80 ? port(in, VSOCK_FIRST_HOST_PORT) : port(in, SERVICE_PORT);
	h.type = shape & 4 ? fz_u16(in) : VIRTIO_VSOCK_TYPE_STREAM;
	h.flags = fz_u8(in) % 4;
	h.buf_alloc = shape & 8 ? fz_u32(in) : VSOCK_CONN_BUF;
	h.fwd_cnt = shape & 0x10 ? fz_u32(in) : 0;
	uint32_t len = h.op == VIRTIO_VSOCK_OP_RW ? fz_u16(in) % 4097 : 0;
	h.len = shape & 0x20 ? fz_u32(in) : len;
	struct fake_buf b[2];
	b[0].len = shape & 0x40 ? fz_u8(in) : VSOCK_HDR_LEN;
	b[0].gpa = fzd_data_gpa(in, sizeof(h), 8);
	b[0].writable = false;
	fzd_write(&drv, b[0].gpa, &h, sizeof(h));
	b[1].len = len;
	b[1].gpa = fzd_data_gpa(in, len, 1);
	b[1].writable = shape & 0x80;
	if (b[1].writable)
		fzd_device_writes(&drv, b[1].gpa, b[1].len);
	if (fzd_chain(&drv, VSOCK_TXQ, b, len ? 2 : 1))
		fzd_kick(&drv, VSOCK_TXQ);
}

static void op_bufs(struct fuzz_input *in, unsigned int idx, uint32_t usual_len)
{
	unsigned int chains = 1 + fz_u8(in) % 8;
	for (unsigned int c = 0; c < chains && !fz_empty(in); c++) {
		uint8_t shape = fz_u8(in);
		struct fake_buf b = { .len = shape & 1 ? fz_u16(in) : usual_len };
		b.gpa = fzd_data_gpa(in, b.len, 8);
		b.writable = !(shape & 2);
		if (b.writable)
			fzd_device_writes(&drv, b.gpa, b.len);
		fzd_chain(&drv, idx, &b, 1);
	}
	fzd_kick(&drv, idx);
}

static void op_host_connect(struct fuzz_input *in)
{
	int *slot = free_host_slot();
	if (!slot)
		return;
	*slot = unix_socket(path, false);
	if (*slot < 0)
		return;
	char line[40];
	uint8_t sel = fz_u8(in);
	int n = sel & 0x80 ? (int)fz_bytes(in, line, sel % sizeof(line))
			   : snprintf(line, sizeof(line), "CONNECT %u\n", port(in, 1000));
	if (n > 0 && send(*slot, line, (size_t)n, MSG_NOSIGNAL) < 0 && errno != EAGAIN &&
	    errno != EPIPE && errno != ENOTCONN && errno != ECONNRESET)
		fuzz_fail("writing the CONNECT line: %s", strerror(errno));
	fzd_run(&drv);
}

static void op_host_accept(void)
{
	int *slot = free_host_slot();
	if (!slot || service < 0)
		return;
	*slot = accept4(service, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (*slot < 0)
		*slot = -1;
	fzd_run(&drv);
}

static void op_host_write(struct fuzz_input *in)
{
	int fd = host_fds[fz_u8(in) % MAX_HOST_FDS];
	size_t len = fz_u16(in) % (sizeof(payload) + 1);
	memset(payload, 0x5a, len);
	/* MSG_NOSIGNAL: a SIGPIPE here would be the harness's, and would hide the device's. */
	if (fd >= 0 && send(fd, payload, len, MSG_NOSIGNAL) < 0 && errno != EAGAIN &&
	    errno != EPIPE && errno != ENOTCONN && errno != ECONNRESET)
		fuzz_fail("a host end's write: %s", strerror(errno));
	fzd_run(&drv);
}

static void op_host_read(void)
{
	for (unsigned int i = 0; i < MAX_HOST_FDS; i++)
		while (host_fds[i] >= 0 && read(host_fds[i], payload, sizeof(payload)) > 0)
			;
	fzd_run(&drv);
}

static void op_host_close(struct fuzz_input *in)
{
	uint8_t sel = fz_u8(in);
	int *fd = &host_fds[sel % MAX_HOST_FDS];
	if (*fd < 0)
		return;
	if (sel & 0x80) {
		shutdown(*fd, SHUT_WR);
	} else {
		close(*fd);
		*fd = -1;
	}
	fzd_run(&drv);
}

static struct vsock *op_snapshot(struct vsock *v)
{
	struct state_stream s, rd;
	state_writer_init(&s);
	if (vsock_type->save(v, &s) < 0)
		fuzz_fail("saving the device failed");
	destroy(v); /* its socket file goes: the restored device listens there again */
	struct vsock *copy = create();
	state_reader_init(&rd, s.data, s.len);
	int ret = vsock_type->restore(copy, &rd);
	if (ret < 0 || !state_at_end(&rd))
		fuzz_fail("restoring a state just saved failed: %d", ret);
	state_free(&s);
	fzd_attach(&drv, &copy->transport);
	return copy;
}

static struct vsock *op(struct vsock *v, struct fuzz_input *in, unsigned int op)
{
	switch (op) {
	case OP_PACKET:
		op_packet(in);
		break;
	case OP_RX_BUFS:
		op_bufs(in, VSOCK_RXQ, VSOCK_HDR_LEN + 4096);
		break;
	case OP_EVENT_BUFS:
		op_bufs(in, VSOCK_EVQ, sizeof(struct virtio_vsock_event));
		break;
	case OP_HOST_CONNECT:
		op_host_connect(in);
		break;
	case OP_HOST_ACCEPT:
		op_host_accept();
		break;
	case OP_HOST_WRITE:
		op_host_write(in);
		break;
	case OP_HOST_READ:
		op_host_read();
		break;
	case OP_HOST_CLOSE:
		op_host_close(in);
		break;
	case OP_SNAPSHOT:
		return op_snapshot(v);
	default:
		fzd_op(&drv, in, op);
		break;
	}
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in;
	fz_init(&in, data, size);
	uint8_t opts = fz_u8(&in);
	fuzz_env_begin(opts & 1);
	unlink(service_path);
	if (opts & 2)
		service = unix_socket(service_path, true);
	fzd_begin(&drv, false);
	struct vsock *v = create();
	fzd_attach(&drv, &v->transport);
	fzd_bring_up(&drv, &in);
	for (int i = 0; i < FZ_MAX_OPS && !fz_empty(&in); i++)
		v = op(v, &in, fz_u8(&in) % NR_OPS);

	unsigned int may_hold[FAKE_MAX_QUEUES] = { 0 };
	may_hold[VSOCK_RXQ] = may_hold[VSOCK_EVQ] = FZ_MAX_QUEUE; /* they wait for packets */
	fzd_finish(&drv, may_hold);
	const struct vsock_counters *c = &v->counters;
	fuzz_trace("status 0x%x%s: %u connections; %llu host connects, %llu guest connects, "
		   "%llu refused; rx %llu packets, tx %llu; %llu bad packets, %llu bad rx chains, "
		   "%llu credit violations, %llu rsts",
		   v->transport.status, drv.hostile ? " (hostile)" : "", v->nr_conns,
		   (unsigned long long)c->host_connects, (unsigned long long)c->guest_connects,
		   (unsigned long long)c->refused, (unsigned long long)c->rx_packets,
		   (unsigned long long)c->tx_packets, (unsigned long long)c->bad_packets,
		   (unsigned long long)c->bad_rx_chains, (unsigned long long)c->credit_violations,
		   (unsigned long long)c->rsts_sent);
	destroy(v);
	for (unsigned int i = 0; i < MAX_HOST_FDS; i++) {
		if (host_fds[i] >= 0)
			close(host_fds[i]);
		host_fds[i] = -1;
	}
	if (service >= 0)
		close(service);
	service = -1;
	unlink(service_path);
	fzd_end(&drv);
	fuzz_env_end();
	return 0;
}
