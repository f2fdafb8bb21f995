// SPDX-License-Identifier: GPL-2.0
/*
 * The balloon's API routes (Firecracker's): its configuration, a new target
 * and the statistics. PUT /balloon is the generic configuration route.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "devices/conf.h"
#include "devices/virtio/balloon/balloon.h"
#include "devices/virtio/balloon/conf.h"

static const struct balloon_conf *configured(const struct device_route_ctx *ctx,
					     struct api_request *req, int *index)
{
	*index = device_confs_find(ctx->confs, ctx->type, NULL);
	if (*index >= 0)
		return ctx->confs->list[*index].conf;
	api_fail(req, HTTP_BAD_REQUEST, "no balloon device is configured");
	return NULL;
}

static void get_balloon(const struct device_route_ctx *ctx, struct api_request *req)
{
	int index;
	const struct balloon_conf *b = configured(ctx, req, &index);
	if (b)
		api_ok(req, json_pack("{s:I, s:b, s:I, s:b, s:b}", "amount_mib",
				      (json_int_t)b->amount_mib, "deflate_on_oom",
				      b->deflate_on_oom, "stats_polling_interval_s",
				      (json_int_t)b->stats_polling_interval_s,
				      "free_page_reporting", b->free_page_reporting,
				      "free_page_hinting", b->free_page_hinting));
}

/*
 * A PATCH: the body parsed alone, then the configuration changed through
 * every rule; returns the configuration index, or -1 after answering.
 */
static int patch_conf(const struct device_route_ctx *ctx, struct api_request *req,
		      const struct schema *s, struct balloon_conf *update,
		      int (*merge)(struct balloon_conf *conf, const struct balloon_conf *update,
				   struct schema_error *err))
{
	struct schema_error err;
	int index;
	if (!device_route_parse(req, s, update, sizeof(*update)))
		return -1;
	const struct balloon_conf *cur = configured(ctx, req, &index);
	if (!cur)
		return -1;
	struct balloon_conf *conf = device_conf_dup(ctx->type, cur);
	if (!conf) {
		api_fail(req, HTTP_BAD_REQUEST, "out of memory");
		return -1;
	}
	memset(&err, 0, sizeof(err));
	if (merge(conf, update, &err) < 0) {
		device_conf_free(ctx->type, conf);
		device_route_fail(req, &err);
		return -1;
	}
	if (ctx->set_conf(ctx, index, conf, &err) < 0) {
		device_route_fail(req, &err);
		return -1;
	}
	return index;
}

static int merge_target(struct balloon_conf *conf, const struct balloon_conf *update,
			struct schema_error *err)
{
	conf->amount_mib = update->amount_mib;
	return 0;
}

typedef int (*merge_fn)(struct balloon_conf *conf, const struct balloon_conf *update,
			struct schema_error *err);

/* A PATCH of one value: the configuration first, then the running device if there is one. */
static void patch_value(const struct device_route_ctx *ctx, struct api_request *req,
			const struct schema *s, merge_fn merge,
			int (*apply)(struct balloon *b, const struct balloon_conf *update),
			const char *key)
{
	struct balloon_conf update;
	int index = patch_conf(ctx, req, s, &update, merge);
	if (index < 0)
		return;
	struct device *d = device_route_instance(ctx, index);
	int ret = 0;
	if (d) {
		struct balloon *b = d->dev;
		pthread_mutex_lock(&b->transport.lock);
		ret = apply(b, &update);
		pthread_mutex_unlock(&b->transport.lock);
	}
	if (ret < 0)
		api_fail(req, HTTP_BAD_REQUEST, "%s: %s", key, strerror(-ret));
	else
		api_ok(req, NULL);
}

static int apply_target(struct balloon *b, const struct balloon_conf *update)
{
	return balloon_set_target(b, update->amount_mib);
}

static void patch_balloon(const struct device_route_ctx *ctx, struct api_request *req)
{
	patch_value(ctx, req, &balloon_update_schema, merge_target, apply_target, "amount_mib");
}

static int merge_interval(struct balloon_conf *conf, const struct balloon_conf *update,
			  struct schema_error *err)
{
	uint32_t want = update->stats_polling_interval_s, cur = conf->stats_polling_interval_s;
	if ((want == 0) != (cur == 0)) {
		snprintf(err->path, sizeof(err->path), "stats_polling_interval_s");
		snprintf(err->message, sizeof(err->message),
			 "statistics cannot be turned %s after boot (the interval is %u)",
			 want ? "on" : "off", cur);
		return -1;
	}
	conf->stats_polling_interval_s = want;
	return 0;
}

static int apply_interval(struct balloon *b, const struct balloon_conf *update)
{
	return balloon_set_stats_interval(b, update->stats_polling_interval_s);
}

static void patch_statistics(const struct device_route_ctx *ctx, struct api_request *req)
{
	patch_value(ctx, req, &balloon_stats_update_schema, merge_interval, apply_interval,
		    "stats_polling_interval_s");
}

static json_t *statistics_json(const struct balloon *b)
{
	json_t *out = json_pack("{s:I, s:I, s:I, s:I}", "target_pages", (json_int_t)b->num_pages,
				"actual_pages", (json_int_t)b->actual, "target_mib",
				(json_int_t)(b->num_pages / BALLOON_PAGES_PER_MIB), "actual_mib",
				(json_int_t)(b->actual / BALLOON_PAGES_PER_MIB));
	for (unsigned int i = 0; out && i < b->nr_stats; i++) {
		const char *name = balloon_stat_name(b->stats[i].tag);
		/* Unknown tags are kept, under their number. */
		char unknown[24];
		if (!name) {
			snprintf(unknown, sizeof(unknown), "tag_%u", b->stats[i].tag);
			name = unknown;
		}
		json_object_set_new(out, name, json_integer((json_int_t)b->stats[i].value));
	}
	/* ebb's own: free page reporting by tier (docs/balloon.md). */
	const struct balloon_counters *c = &b->counters;
	if (out && b->params.reporting)
		json_object_set_new(out, "ebb_reporting",
				    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "fast_blocks",
					      (json_int_t)c->fast_blocks, "fast_bytes",
					      (json_int_t)c->fast_bytes, "settled_blocks",
					      (json_int_t)c->settled_blocks, "settled_bytes",
					      (json_int_t)c->settled_bytes, "thp_guards",
					      (json_int_t)c->thp_guards, "thp_guards_lifted",
					      (json_int_t)c->thp_guards_lifted, "thp_unguarded",
					      (json_int_t)c->thp_unguarded));
	return out;
}

static void get_statistics(const struct device_route_ctx *ctx, struct api_request *req)
{
	int index;
	const struct balloon_conf *conf = configured(ctx, req, &index);
	if (!conf)
		return;
	if (!conf->stats_polling_interval_s) {
		api_fail(req, HTTP_BAD_REQUEST,
			 "balloon statistics are not enabled (stats_polling_interval_s is 0)");
		return;
	}
	struct device *d = device_route_instance(ctx, index);
	if (!d) {
		api_fail(req, HTTP_BAD_REQUEST, "balloon statistics need a running microVM");
		return;
	}
	struct balloon *b = d->dev;
	pthread_mutex_lock(&b->transport.lock);
	json_t *out = statistics_json(b);
	pthread_mutex_unlock(&b->transport.lock);
	api_ok(req, out);
}

static json_t *policy_json(const struct balloon_policy_conf *pc,
			   const struct balloon_policy_state *st)
{
	json_t *o = schema_dump(&balloon_policy_schema, pc);
	if (o && st)
		json_object_set_new(
			o, "state",
			json_pack("{s:I, s:s, s:I, s:I, s:{s:I, s:I, s:I, s:f, s:I, s:b, s:I}}",
				  "target_mib", (json_int_t)st->target_mib, "reason", st->reason,
				  "updates", (json_int_t)st->updates, "changes",
				  (json_int_t)st->changes, "inputs", "available_mib",
				  (json_int_t)st->available_mib, "free_mib",
				  (json_int_t)st->free_mib, "disk_caches_mib",
				  (json_int_t)st->disk_caches_mib, "psi_some_avg10",
				  st->psi_some_avg10_x100 / 100.0, "headroom_mib",
				  (json_int_t)st->headroom_mib, "host_pressure", st->host_pressure,
				  "oom_deflates", (json_int_t)st->oom_deflates_seen));
	return o;
}

/* GET /balloon/policy (ebb's own): the settings, and while running what the policy saw and did. */
static void get_policy(const struct device_route_ctx *ctx, struct api_request *req)
{
	int index;
	if (!configured(ctx, req, &index))
		return;
	struct device *d = device_route_instance(ctx, index);
	if (!d) {
		const struct balloon_settings *s = device_settings(ctx->confs, ctx->type);
		api_ok(req, policy_json(&s->policy, NULL));
		return;
	}
	struct balloon *b = d->dev;
	pthread_mutex_lock(&b->transport.lock);
	json_t *out = policy_json(&b->policy_conf, &b->policy);
	pthread_mutex_unlock(&b->transport.lock);
	api_ok(req, out);
}

/* PATCH /balloon/policy (ebb's own): the running policy's settings, any of them. */
static void patch_policy(const struct device_route_ctx *ctx, struct api_request *req)
{
	struct schema_error err;
	struct schema_ctx c;
	int index;
	const struct balloon_conf *conf = configured(ctx, req, &index);
	if (!conf)
		return;
	struct device *d = device_route_instance(ctx, index);
	if (!d) {
		api_fail(req, HTTP_BAD_REQUEST,
			 "the policy can be changed once the microVM runs; before, set "
			 "ebb.balloon.policy in the config");
		return;
	}
	struct balloon *b = d->dev;
	pthread_mutex_lock(&b->transport.lock);
	struct balloon_policy_conf next = b->policy_conf;
	schema_ctx_init(&c, &err, NULL, 0);
	int ret = schema_parse(&c, req->body, &balloon_policy_schema, &next, NULL);
	if (ret == 0)
		ret = balloon_policy_check(&c, &next, conf, (uint32_t)(b->mem->ram_size >> 20));
	if (ret == 0) {
		if (next.enabled && !b->policy_conf.enabled)
			snprintf(b->policy.reason, sizeof(b->policy.reason),
				 "on: waiting for statistics");
		b->policy_conf = next;
	}
	pthread_mutex_unlock(&b->transport.lock);
	schema_ctx_release(&c);
	if (ret < 0)
		device_route_fail(req, &err);
	else
		api_ok(req, NULL);
}

/* hinting.c */
void balloon_route_hinting_start(const struct device_route_ctx *ctx, struct api_request *req);
void balloon_route_hinting_stop(const struct device_route_ctx *ctx, struct api_request *req);
void balloon_route_hinting_status(const struct device_route_ctx *ctx, struct api_request *req);

const struct device_route balloon_routes[] = {
	{ "GET", "/policy", get_policy },
	{ "PATCH", "/policy", patch_policy },
	{ "GET", "", get_balloon },
	{ "PATCH", "", patch_balloon },
	{ "GET", "/statistics", get_statistics },
	{ "PATCH", "/statistics", patch_statistics },
	{ "PATCH", "/hinting/start", balloon_route_hinting_start },
	{ "PATCH", "/hinting/stop", balloon_route_hinting_stop },
	{ "GET", "/hinting/status", balloon_route_hinting_status },
	{ NULL },
};
