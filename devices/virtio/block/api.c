// SPDX-License-Identifier: GPL-2.0
/*
 * A drive's API route: PATCH /drives/{id} swaps the backing file of a
 * running drive and changes its rate limiter (only the buckets given), as
 * Firecracker does. PUT /drives/{id} is the generic configuration route.
 */
#include <stdlib.h>
#include <unistd.h>

#include "base/log.h"
#include "devices/conf.h"
#include "devices/virtio/block/block.h"
#include "devices/virtio/block/conf.h"

static void patch_drive(const struct device_route_ctx *ctx, struct api_request *req)
{
	struct block_conf update;
	struct schema_error err;
	char id[80];
	if (!device_route_parse(req, &block_update_schema, &update, sizeof(update)))
		return;
	int index = -1;
	if (device_check_url_id(ctx->type, update.drive_id, ctx->id, &err) < 0) {
		device_route_fail(req, &err);
		goto out;
	}
	index = device_confs_find(ctx->confs, ctx->type, update.drive_id);
	if (index < 0) {
		api_fail(req, HTTP_BAD_REQUEST, "drive_id: no drive %s is configured",
			 schema_quote(id, sizeof(id), update.drive_id));
		goto out;
	}
	const struct block_conf *cur = ctx->confs->list[index].conf;
	struct device *d = device_route_instance(ctx, index);
	if (!d) {
		api_fail(req, HTTP_BAD_REQUEST,
			 "drive %s can only be updated once the microVM runs (before, use PUT)",
			 cur->drive_id);
		goto out;
	}
	bool new_limit = update.rate_limiter.bandwidth.set || update.rate_limiter.ops.set;
	if (!update.path_on_host && !new_limit) {
		api_ok(req, NULL); /* nothing to change */
		goto out;
	}
	char msg[600];
	int fd = -1;
	uint64_t sectors = 0;
	if (update.path_on_host && block_open_image(update.path_on_host, cur->is_read_only, &fd,
						    &sectors, msg, sizeof(msg)) < 0) {
		api_fail(req, HTTP_BAD_REQUEST, "drive %s: %s", cur->drive_id, msg);
		goto out;
	}
	struct block_conf *conf = device_conf_dup(ctx->type, cur);
	if (!conf) {
		if (fd >= 0)
			close(fd);
		api_fail(req, HTTP_BAD_REQUEST, "out of memory");
		goto out;
	}
	if (update.path_on_host) {
		free(conf->path_on_host);
		conf->path_on_host = update.path_on_host;
		update.path_on_host = NULL;
	}
	rate_limiter_conf_update(&conf->rate_limiter, &update.rate_limiter);
	struct rate_limiter_conf limit = conf->rate_limiter;
	if (ctx->set_conf(ctx, index, conf, &err) < 0) {
		if (fd >= 0)
			close(fd);
		device_route_fail(req, &err);
		goto out;
	}
	struct block *b = d->dev;
	pthread_mutex_lock(&b->transport.lock);
	if (fd >= 0)
		block_swap_image(b, fd, sectors);
	if (new_limit)
		block_set_limit(b, &limit);
	pthread_mutex_unlock(&b->transport.lock);
	if (fd >= 0)
		log_info("drive %s: now %s, %llu MiB", b->drive_id,
			 ((const struct block_conf *)ctx->confs->list[index].conf)->path_on_host,
			 (unsigned long long)(sectors * BLOCK_SECTOR_SIZE >> 20));
	if (new_limit)
		log_info("drive %s: rate limiter %s", b->drive_id,
			 rate_limiter_conf_limits(&limit) ? "changed" : "off");
	api_ok(req, NULL);
out:
	schema_free_strings(&block_update_schema, &update);
}

const struct device_route block_routes[] = {
	{ "PATCH", "{id}", patch_drive },
	{ NULL },
};
