// SPDX-License-Identifier: GPL-2.0
/* virtio-net as a device type: everything the VMM needs to compose a network interface. */
#include <errno.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "devices/virtio/net/conf.h"
#include "devices/virtio/net/net.h"

extern const struct device_route net_routes[];

/* The tap, opened before any VM exists: a tap ebb cannot have is a configuration error. */
static int net_prepare(const void *conf, void **prepared)
{
	const struct net_conf *c = conf;
	struct net_tap_info *tap = calloc(1, sizeof(*tap));
	char err[512];
	if (!tap)
		return -ENOMEM;
	int ret = net_tap_open(c->host_dev_name, tap, err, sizeof(err));
	if (ret < 0) {
		log_err("network interface %s: %s", c->iface_id, err);
		free(tap);
		return ret;
	}
	*prepared = tap;
	return 0;
}

static void net_unprepare(void *prepared)
{
	struct net_tap_info *tap = prepared;
	if (tap && tap->fd >= 0)
		close(tap->fd);
	free(tap);
}

static int net_create(const struct device_create_args *a, void **out)
{
	const struct net_conf *c = a->conf;
	struct net_tap_info *tap = a->prepared;
	struct net_params p = {
		.iface_id = c->iface_id,
		.tap = *tap,
		.mtu = (uint16_t)c->mtu,
		.rx_limit = c->rx_rate_limiter,
		.tx_limit = c->tx_rate_limiter,
	};
	free(tap); /* the device owns the fd now */
	p.has_mac = c->guest_mac && net_parse_mac(c->guest_mac, p.mac);
	struct net *n = calloc(1, sizeof(*n));
	if (!n) {
		close(p.tap.fd);
		return -ENOMEM;
	}
	*out = n; /* destroyed by the caller, even on failure */
	int ret = net_init(n, &p, a->mem, a->loop, a->slot.addr, a->slot.gsi);
	if (ret == 0)
		log_info("network interface %s: tap %s%s%s%s%s", c->iface_id, c->host_dev_name,
			 c->guest_mac ? ", mac " : "", c->guest_mac ? c->guest_mac : "",
			 rate_limiter_conf_limits(&c->rx_rate_limiter) ? ", rx limited" : "",
			 rate_limiter_conf_limits(&c->tx_rate_limiter) ? ", tx limited" : "");
	return ret;
}

static void net_free(void *dev)
{
	net_destroy(dev);
	free(dev);
}

static struct virtio_mmio *net_transport(void *dev)
{
	return &((struct net *)dev)->transport;
}

static const void *net_counters_of(void *dev)
{
	return &((struct net *)dev)->counters;
}

static const struct metric_field net_metrics[] = {
	METRIC(struct net_counters, rx_frames),	      METRIC(struct net_counters, rx_bytes),
	METRIC(struct net_counters, tx_frames),	      METRIC(struct net_counters, tx_bytes),
	METRIC(struct net_counters, rx_dropped),      METRIC(struct net_counters, rx_bad_chains),
	METRIC(struct net_counters, tx_malformed),    METRIC(struct net_counters, tx_dropped),
	METRIC(struct net_counters, rx_rate_limited), METRIC(struct net_counters, tx_rate_limited),
	METRIC(struct net_counters, tap_errors),      METRIC(struct net_counters, offload_changes),
};

static const struct seccomp_rule net_seccomp[] = {
	SECCOMP_ALLOW(readv, "frames from the tap straight into guest buffers"),
	SECCOMP_ALLOW(writev, "frames from guest buffers to the tap"),
	SECCOMP_IOCTL(TUNSETOFFLOAD, "the tap's offloads follow what the guest acked"),
	SECCOMP_ALLOW(timerfd_settime, "rate limiters resume when tokens refill"),
};

#define NET_STATE_TAG	  STATE_TAG('N', 'E', 'T', 'S')
#define NET_STATE_VERSION 1

struct net_record {
	uint32_t version;
	uint16_t nr_held;
	uint8_t has_mac;
	uint8_t pad;
	uint8_t mac[8];
	uint16_t held[NET_QUEUE_SIZE]; /* heads of the receive chains held, oldest first */
	struct net_counters counters;
};

/*
 * The tap is the host's, reopened from the configuration (or the load's
 * network_overrides); frames in flight are not state. Receive chains taken
 * from the ring and not used yet are, by their heads.
 */
static int net_save(void *dev, struct state_stream *s)
{
	const struct net *n = dev;
	struct net_record *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->version = NET_STATE_VERSION;
	r->nr_held = (uint16_t)n->held_nr;
	r->has_mac = n->has_mac;
	memcpy(r->mac, n->mac, sizeof(n->mac));
	for (unsigned int i = 0; i < n->held_nr; i++)
		r->held[i] = n->held[(n->held_first + i) % NET_QUEUE_SIZE].head;
	r->counters = n->counters;
	int ret = virtio_mmio_save(&n->transport, s);
	if (ret == 0)
		ret = state_put(s, NET_STATE_TAG, r, sizeof(*r));
	free(r);
	return ret;
}

static int net_restore(void *dev, struct state_stream *s)
{
	struct net *n = dev;
	struct net_record *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	int ret = virtio_mmio_restore(&n->transport, s);
	if (ret == 0)
		ret = state_get(s, NET_STATE_TAG, r, sizeof(*r));
	/* The MAC comes from the configuration: a snapshot that disagrees is not this VM's. */
	if (ret == 0 && (r->version != NET_STATE_VERSION || r->nr_held > NET_QUEUE_SIZE ||
			 r->has_mac != n->has_mac || memcmp(r->mac, n->mac, sizeof(n->mac))))
		ret = -EPROTO;
	if (ret == 0) {
		net_restored(n);
		n->counters = r->counters;
		for (unsigned int i = 0; ret == 0 && i < r->nr_held; i++)
			ret = net_rx_rehold(n, r->held[i]);
	}
	free(r);
	return ret;
}

const struct device_type net_device_type = {
	.name = "net",
	.noun = "network interface",
	.section = "network-interfaces",
	.many = true,
	.id_field = "iface_id",
	.max_confs = NET_MAX_IFACES,
	.schema = &net_conf_schema,
	.conf_size = sizeof(struct net_conf),
	.check_all = net_conf_check_all,
	.conf_id = net_conf_id,
	.prepare = net_prepare,
	.unprepare = net_unprepare,
	.create = net_create,
	.destroy = net_free,
	.transport = net_transport,
	.routes = net_routes,
	.metrics = net_metrics,
	.nr_metrics = ARRAY_SIZE(net_metrics),
	.counters = net_counters_of,
	.seccomp_rules = net_seccomp,
	.nr_seccomp_rules = ARRAY_SIZE(net_seccomp),
	.save = net_save,
	.restore = net_restore,
};
