// SPDX-License-Identifier: GPL-2.0
/*
 * A network interface's API route: PATCH /network-interfaces/{id} changes
 * the rate limiters of a running interface, as Firecracker does; only the
 * buckets given change. PUT /network-interfaces/{id} is the generic
 * configuration route.
 */
#include "base/log.h"
#include "devices/conf.h"
#include "devices/virtio/net/conf.h"
#include "devices/virtio/net/net.h"

static void patch_iface(const struct device_route_ctx *ctx, struct api_request *req)
{
	struct net_conf update;
	struct schema_error err;
	char id[80];
	if (!device_route_parse(req, &net_update_schema, &update, sizeof(update)))
		return;
	if (device_check_url_id(ctx->type, update.iface_id, ctx->id, &err) < 0) {
		device_route_fail(req, &err);
		goto out;
	}
	int index = device_confs_find(ctx->confs, ctx->type, update.iface_id);
	if (index < 0) {
		api_fail(req, HTTP_BAD_REQUEST, "iface_id: no network interface %s is configured",
			 schema_quote(id, sizeof(id), update.iface_id));
		goto out;
	}
	struct device *d = device_route_instance(ctx, index);
	if (!d) {
		api_fail(req, HTTP_BAD_REQUEST,
			 "network interface %s can only be updated once the microVM runs (before, "
			 "use PUT)",
			 schema_quote(id, sizeof(id), update.iface_id));
		goto out;
	}
	struct net_conf *conf = device_conf_dup(ctx->type, ctx->confs->list[index].conf);
	if (!conf) {
		api_fail(req, HTTP_BAD_REQUEST, "out of memory");
		goto out;
	}
	rate_limiter_conf_update(&conf->rx_rate_limiter, &update.rx_rate_limiter);
	rate_limiter_conf_update(&conf->tx_rate_limiter, &update.tx_rate_limiter);
	struct rate_limiter_conf rx = conf->rx_rate_limiter, tx = conf->tx_rate_limiter;
	if (ctx->set_conf(ctx, index, conf, &err) < 0) {
		device_route_fail(req, &err);
		goto out;
	}
	struct net *n = d->dev;
	pthread_mutex_lock(&n->transport.lock);
	net_set_limits(n, &rx, &tx);
	pthread_mutex_unlock(&n->transport.lock);
	log_info("net %s: rate limiters changed (rx %s, tx %s)", n->iface_id,
		 rate_limiter_conf_limits(&rx) ? "limited" : "unlimited",
		 rate_limiter_conf_limits(&tx) ? "limited" : "unlimited");
	api_ok(req, NULL);
out:
	schema_free_strings(&net_update_schema, &update);
}

const struct device_route net_routes[] = {
	{ "PATCH", "{id}", patch_iface },
	{ NULL },
};
