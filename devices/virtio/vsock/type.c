// SPDX-License-Identifier: GPL-2.0
/* virtio-vsock as a device type: everything the VMM needs to compose it. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "devices/virtio/vsock/conf.h"
#include "devices/virtio/vsock/vsock.h"

/* The listener and its directory, made before any VM exists (and before any filter). */
struct vsock_prepared {
	int listen_fd;
	int dir_fd;
	char name[108]; /* the socket file's name in that directory */
};

/*
 * The event loop may remove uds_path only through the directory fd opened
 * by prepare; its number is known only then, so prepare writes it into this
 * row (one vsock device per VM, one VM per process).
 */
#define UNLINK_ROW 7
static struct seccomp_rule vsock_seccomp[] = {
	SECCOMP_ALLOW_IF(accept4, SECCOMP_ARG_EQ(3, SOCK_NONBLOCK | SOCK_CLOEXEC),
			 "flags == NONBLOCK|CLOEXEC",
			 "host clients of uds_path (bound before any filter)"),
	{ "socket",
	  2,
	  { SECCOMP_ARG_EQ(0, AF_UNIX),
	    SECCOMP_ARG_EQ(1, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC) },
	  "AF_UNIX, SOCK_STREAM only",
	  "a guest connects to <uds_path>_PORT",
	  0 },
	SECCOMP_ALLOW(connect, "a guest connects to <uds_path>_PORT (seccomp cannot see the path)"),
	SECCOMP_ALLOW_IF(sendmsg, SECCOMP_ARG_EQ(2, MSG_NOSIGNAL | MSG_DONTWAIT),
			 "flags == NOSIGNAL|DONTWAIT",
			 "payload from guest buffers to host sockets"),
	SECCOMP_ALLOW(readv, "payload from host sockets straight into guest buffers"),
	SECCOMP_ALLOW_IF(shutdown, SECCOMP_ARG_EQ(1, SHUT_WR), "how == SHUT_WR",
			 "the guest's half close reaches the host socket"),
	SECCOMP_ALLOW(timerfd_settime, "deadlines of handshakes and closes"),
	[UNLINK_ROW] = SECCOMP_ALLOW_IF(unlinkat, SECCOMP_ARG_EQ(0, ~0ull),
					"dirfd == uds_path's directory", "remove uds_path on exit"),
};

static int vsock_prepare(const void *conf, void **prepared)
{
	const struct vsock_conf *c = conf;
	struct vsock_prepared *p = calloc(1, sizeof(*p));
	char err[512];
	if (!p)
		return -ENOMEM;
	int ret = vsock_listen(c->uds_path, &p->listen_fd, &p->dir_fd, err, sizeof(err));
	if (ret < 0) {
		log_err("vsock: %s", err);
		free(p);
		return ret;
	}
	char *copy = strdup(c->uds_path);
	snprintf(p->name, sizeof(p->name), "%s", copy ? basename(copy) : "");
	free(copy);
	vsock_seccomp[UNLINK_ROW].args[0].datum_a = (uint64_t)p->dir_fd;
	*prepared = p;
	return 0;
}

static void vsock_unprepare(void *prepared)
{
	struct vsock_prepared *p = prepared;
	if (!p)
		return;
	/* This run made the socket file: it goes with it. */
	close(p->listen_fd);
	if (p->name[0])
		unlinkat(p->dir_fd, p->name, 0);
	close(p->dir_fd);
	free(p);
}

static int vsock_create(const struct device_create_args *a, void **out)
{
	const struct vsock_conf *c = a->conf;
	struct vsock_prepared *p = a->prepared;
	struct vsock_params params = {
		.guest_cid = c->guest_cid,
		.uds_path = c->uds_path,
		.listen_fd = p->listen_fd,
		.dir_fd = p->dir_fd,
	};
	free(p); /* the device owns the fds now */
	struct vsock *v = calloc(1, sizeof(*v));
	if (!v) {
		close(params.listen_fd);
		close(params.dir_fd);
		return -ENOMEM;
	}
	*out = v; /* destroyed by the caller, even on failure */
	int ret = vsock_init(v, &params, a->mem, a->loop, a->slot.addr, a->slot.gsi);
	if (ret == 0)
		log_info("vsock: guest CID %u, host socket %s", c->guest_cid, c->uds_path);
	return ret;
}

static void vsock_free(void *dev)
{
	vsock_destroy(dev);
	free(dev);
}

static struct virtio_mmio *vsock_transport(void *dev)
{
	return &((struct vsock *)dev)->transport;
}

static const void *vsock_counters_of(void *dev)
{
	return &((struct vsock *)dev)->counters;
}

static const struct metric_field vsock_metrics[] = {
	METRIC(struct vsock_counters, host_connects),
	METRIC(struct vsock_counters, guest_connects),
	METRIC(struct vsock_counters, refused),
	METRIC(struct vsock_counters, conn_limit_hits),
	METRIC(struct vsock_counters, closed),
	METRIC(struct vsock_counters, rx_packets),
	METRIC(struct vsock_counters, rx_bytes),
	METRIC(struct vsock_counters, tx_packets),
	METRIC(struct vsock_counters, tx_bytes),
	METRIC(struct vsock_counters, bad_packets),
	METRIC(struct vsock_counters, bad_rx_chains),
	METRIC(struct vsock_counters, credit_violations),
	METRIC(struct vsock_counters, rsts_sent),
	METRIC(struct vsock_counters, rsts_dropped),
	METRIC(struct vsock_counters, host_errors),
};

#define VSOCK_STATE_TAG	    STATE_TAG('V', 'S', 'C', 'K')
#define VSOCK_STATE_VERSION 1

struct vsock_record {
	uint32_t version;
	uint16_t rx_head;
	uint8_t rx_held;
	uint8_t pad;
	uint64_t guest_cid;
	struct vsock_counters counters;
};

/*
 * Connections are host sockets and do not survive a restore (as in
 * Firecracker): the restored guest is told to drop them. What is state is
 * the transport, a receive chain taken from the ring, and the counters.
 */
static int vsock_save(void *dev, struct state_stream *s)
{
	const struct vsock *v = dev;
	struct vsock_record r;
	memset(&r, 0, sizeof(r));
	r.version = VSOCK_STATE_VERSION;
	r.rx_held = v->rx_held;
	r.rx_head = v->rx_held ? v->rx_chain.head : 0;
	r.guest_cid = v->guest_cid;
	r.counters = v->counters;
	int ret = virtio_mmio_save(&v->transport, s);
	return ret ? ret : state_put(s, VSOCK_STATE_TAG, &r, sizeof(r));
}

static int vsock_restore(void *dev, struct state_stream *s)
{
	struct vsock *v = dev;
	struct vsock_record r;
	int ret = virtio_mmio_restore(&v->transport, s);
	if (ret == 0)
		ret = state_get(s, VSOCK_STATE_TAG, &r, sizeof(r));
	/* The CID comes from the configuration; the guest's driver cached it. */
	if (ret == 0 && (r.version != VSOCK_STATE_VERSION || r.guest_cid != v->guest_cid))
		ret = -EPROTO;
	if (ret == 0) {
		v->counters = r.counters;
		if (r.rx_held)
			ret = vsock_rx_rehold(v, r.rx_head);
		vsock_restored(v);
	}
	return ret;
}

const struct device_type vsock_device_type = {
	.name = "vsock",
	.noun = "vsock device",
	.section = "vsock",
	.schema = &vsock_conf_schema,
	.conf_size = sizeof(struct vsock_conf),
	.prepare = vsock_prepare,
	.unprepare = vsock_unprepare,
	.create = vsock_create,
	.destroy = vsock_free,
	.transport = vsock_transport,
	.metrics = vsock_metrics,
	.nr_metrics = ARRAY_SIZE(vsock_metrics),
	.counters = vsock_counters_of,
	.seccomp_rules = vsock_seccomp,
	.nr_seccomp_rules = ARRAY_SIZE(vsock_seccomp),
	.save = vsock_save,
	.restore = vsock_restore,
};
