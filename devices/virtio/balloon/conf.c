// SPDX-License-Identifier: GPL-2.0
/* The balloon's configuration: its schema, its rules and what it asks of the guest. */
#include "devices/virtio/balloon/conf.h"

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "base/util.h"

static const struct schema_field conf_fields[] = {
	{ .name = "amount_mib",
	  .type = SCHEMA_U32,
	  .flags = SCHEMA_REQUIRED,
	  .offset = offsetof(struct balloon_conf, amount_mib),
	  .max = UINT32_MAX },
	{ .name = "deflate_on_oom",
	  .type = SCHEMA_BOOL,
	  .flags = SCHEMA_REQUIRED,
	  .offset = offsetof(struct balloon_conf, deflate_on_oom) },
	{ .name = "stats_polling_interval_s",
	  .type = SCHEMA_U32,
	  .offset = offsetof(struct balloon_conf, stats_polling_interval_s),
	  .max = BALLOON_MAX_STATS_INTERVAL_S },
	{ .name = "free_page_hinting",
	  .type = SCHEMA_BOOL,
	  .offset = offsetof(struct balloon_conf, free_page_hinting) },
	{ .name = "free_page_reporting",
	  .type = SCHEMA_BOOL,
	  .offset = offsetof(struct balloon_conf, free_page_reporting) },
};

const struct schema balloon_conf_schema = SCHEMA_OF(conf_fields);

static const struct schema_field update_fields[] = {
	{ .name = "amount_mib",
	  .type = SCHEMA_U32,
	  .flags = SCHEMA_REQUIRED,
	  .offset = offsetof(struct balloon_conf, amount_mib),
	  .max = UINT32_MAX },
};

const struct schema balloon_update_schema = SCHEMA_OF(update_fields);

static const struct schema_field stats_update_fields[] = {
	{ .name = "stats_polling_interval_s",
	  .type = SCHEMA_U32,
	  .flags = SCHEMA_REQUIRED,
	  .offset = offsetof(struct balloon_conf, stats_polling_interval_s),
	  .max = BALLOON_MAX_STATS_INTERVAL_S },
};

const struct schema balloon_stats_update_schema = SCHEMA_OF(stats_update_fields);

static int reporting_check(struct schema_ctx *c, const struct reporting_tunables *r);

int balloon_conf_check(struct schema_ctx *c, const void *conf, const void *settings,
		       const struct machine_facts *m)
{
	const struct balloon_conf *b = conf;
	const struct balloon_settings *s = settings;
	if (b->amount_mib > m->mem_mib) {
		schema_push_key(c, "amount_mib");
		return schema_fail(c, SCHEMA_AT_VALUE,
				   "%u MiB is more than the guest's %u MiB (machine-config.mem_size_mib)",
				   b->amount_mib, m->mem_mib);
	}
	int ret = reporting_check(c, &s->reporting);
	if (ret < 0)
		return ret;
	return balloon_policy_check(c, &s->policy, b, m->mem_mib);
}

/* An explicit settled_order leaves its tier room below the fast tier's order, or is 11 (off). */
static int reporting_check(struct schema_ctx *c, const struct reporting_tunables *r)
{
	int order = r->order >= 0 ? (int)r->order : REPORTING_DEFAULT_ORDER;
	if (r->settled_order < 0 || r->settled_order == REPORTING_SETTLED_OFF ||
	    r->settled_order < order)
		return 0;
	c->depth = 0;
	schema_push_key(c, "ebb");
	schema_push_key(c, "page_reporting");
	schema_push_key(c, "settled_order");
	return schema_fail(c, SCHEMA_AT_VALUE,
			   "%lld is not below the reporting order (%d%s): the settled tier reports "
			   "blocks from settled_order up to order - 1; %d turns it off",
			   (long long)r->settled_order, order,
			   r->order >= 0 ? "" : ", the guest's default", REPORTING_SETTLED_OFF);
}

/* A rule that blames the policy's keys, wherever the check was asked from. */
static int fail_policy(struct schema_ctx *c, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_policy(struct schema_ctx *c, const char *key, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->depth = 0;
	schema_push_key(c, "ebb");
	schema_push_key(c, "balloon");
	schema_push_key(c, "policy");
	schema_push_key(c, key);
	return schema_fail(c, SCHEMA_AT_VALUE, "%s", msg);
}

int balloon_policy_check(struct schema_ctx *c, const struct balloon_policy_conf *p,
			 const struct balloon_conf *conf, uint32_t mem_mib)
{
	if (!p->enabled)
		return 0;
	if (!conf)
		return fail_policy(c, "enabled", "the automatic policy needs a balloon (the \"balloon\" section)");
	if (!conf->stats_polling_interval_s)
		return fail_policy(c, "enabled",
				   "the automatic policy needs balloon statistics: set "
				   "balloon.stats_polling_interval_s");
	if (p->margin_mib >= mem_mib)
		return fail_policy(c, "margin_mib", "%u MiB is not below the guest's %u MiB",
				   p->margin_mib, mem_mib);
	if (p->pressure_margin_mib && p->pressure_margin_mib > p->margin_mib)
		return fail_policy(c, "pressure_margin_mib",
				   "%u MiB is more than margin_mib (%u MiB): under pressure the "
				   "margin may only shrink",
				   p->pressure_margin_mib, p->margin_mib);
	return 0;
}

/* A policy with no balloon at all. */
int balloon_conf_check_all(struct schema_ctx *c, const void *const *confs, unsigned int nr,
			   unsigned int changed, const void *settings)
{
	const struct balloon_settings *s = settings;
	return nr ? 0 : balloon_policy_check(c, &s->policy, NULL, 0);
}

/* ---- ebb-only settings ---- */

/* In enum reporting_profile order. */
static const char *const reporting_profiles[] = { "fast", "stock", NULL };

static const struct schema_field reporting_fields[] = {
	{ .name = "delay_ms",
	  .type = SCHEMA_I64,
	  .offset = offsetof(struct reporting_tunables, delay_ms),
	  .max = 60000 },
	{ .name = "budget",
	  .type = SCHEMA_I64,
	  .offset = offsetof(struct reporting_tunables, budget),
	  .max = 1024 },
	{ .name = "watermark_mib",
	  .type = SCHEMA_I64,
	  .offset = offsetof(struct reporting_tunables, watermark_mib),
	  .max = 65536 },
	{ .name = "order",
	  .type = SCHEMA_I64,
	  .offset = offsetof(struct reporting_tunables, order),
	  .max = 10 /* MAX_ORDER - 1 on x86-64 */ },
	{ .name = "settled_order",
	  .type = SCHEMA_I64,
	  .offset = offsetof(struct reporting_tunables, settled_order),
	  .max = REPORTING_SETTLED_OFF },
	{ .name = "settle_ms",
	  .type = SCHEMA_I64,
	  .offset = offsetof(struct reporting_tunables, settle_ms),
	  .max = REPORTING_MAX_SETTLE_MS },
	{ .name = "profile",
	  .type = SCHEMA_CHOICE,
	  .offset = offsetof(struct reporting_tunables, profile),
	  .choices = reporting_profiles },
};

static const struct schema reporting_schema = SCHEMA_OF(reporting_fields);

static int parse_page_reporting(struct schema_ctx *c, struct json_t *v, void *stage)
{
	struct balloon_settings *s = stage;
	return schema_parse(c, v, &reporting_schema, &s->reporting, NULL);
}

static int parse_queue_size(struct schema_ctx *c, struct json_t *v, void *stage)
{
	struct balloon_settings *s = stage;
	int64_t x;
	int ret =
		schema_get_int(c, v, BALLOON_MIN_REPORTING_QUEUE, BALLOON_MAX_REPORTING_QUEUE, &x);
	if (ret < 0)
		return ret;
	if (x & (x - 1))
		return schema_fail(c, SCHEMA_AT_VALUE, "must be a power of two, got %lld",
				   (long long)x);
	s->reporting_queue_size = (uint32_t)x;
	return 0;
}

#define POLICY_U32(field, lo, hi)                                                      \
	{ .name = #field,                                                              \
	  .type = SCHEMA_U32,                                                          \
	  .offset = offsetof(struct balloon_policy_conf, field),                       \
	  .min = (lo),                                                                 \
	  .max = (hi) }

static const struct schema_field policy_fields[] = {
	{ .name = "enabled", .type = SCHEMA_BOOL, .offset = offsetof(struct balloon_policy_conf, enabled) },
	POLICY_U32(margin_mib, 16, 1 << 20),
	POLICY_U32(pressure_margin_mib, 0, 1 << 20),
	POLICY_U32(hysteresis_mib, 0, 4096),
	POLICY_U32(inflate_mib_per_s, 1, 65536),
	POLICY_U32(deflate_mib_per_s, 1, 65536),
	POLICY_U32(psi_some_percent, 1, 100),
	POLICY_U32(oom_cooldown_s, 0, 3600),
	POLICY_U32(startup_grace_s, 0, 3600),
	POLICY_U32(burst_hold_s, 1, 3600),
};

const struct schema balloon_policy_schema = SCHEMA_OF(policy_fields);

static int parse_policy(struct schema_ctx *c, struct json_t *v, void *stage)
{
	return schema_parse(c, v, &balloon_policy_schema, stage, NULL);
}

/* "ebb": {"balloon": {"policy": {...}}}: the keys given change, the rest stay. */
static const struct schema_field ebb_balloon_fields[] = {
	{ .name = "policy",
	  .type = SCHEMA_CUSTOM,
	  .parse = parse_policy },
};

static const struct schema ebb_balloon_schema = SCHEMA_OF(ebb_balloon_fields);

static int parse_ebb_balloon(struct schema_ctx *c, struct json_t *v, void *stage)
{
	struct balloon_settings *s = stage;
	return schema_parse(c, v, &ebb_balloon_schema, &s->policy, NULL);
}

/* The settings back as config keys (a snapshot carries them): -1 means unset. */
static json_t *dump_queue_size(const void *stage)
{
	return json_integer(((const struct balloon_settings *)stage)->reporting_queue_size);
}

static json_t *dump_page_reporting(const void *stage)
{
	const struct reporting_tunables *r = &((const struct balloon_settings *)stage)->reporting;
	json_t *o = json_pack("{s:s}", "profile", reporting_profiles[r->profile]);
	const struct {
		const char *key;
		int64_t v;
	} set[] = {
		{ "delay_ms", r->delay_ms },	       { "budget", r->budget },
		{ "watermark_mib", r->watermark_mib }, { "order", r->order },
		{ "settled_order", r->settled_order }, { "settle_ms", r->settle_ms },
	};
	for (size_t i = 0; o && i < sizeof(set) / sizeof(set[0]); i++)
		if (set[i].v >= 0)
			json_object_set_new(o, set[i].key, json_integer(set[i].v));
	return o;
}

static json_t *dump_ebb_balloon(const void *stage)
{
	const struct balloon_settings *s = stage;
	return json_pack("{s:o}", "policy", schema_dump(&balloon_policy_schema, &s->policy));
}

static const struct schema_field settings_fields[] = {
	{ .name = "reporting_queue_size",
	  .type = SCHEMA_CUSTOM,
	  .parse = parse_queue_size,
	  .dump = dump_queue_size },
	{ .name = "page_reporting",
	  .type = SCHEMA_CUSTOM,
	  .parse = parse_page_reporting,
	  .dump = dump_page_reporting },
	{ .name = "balloon", .type = SCHEMA_CUSTOM, .parse = parse_ebb_balloon, .dump = dump_ebb_balloon },
};

const struct schema balloon_settings_schema = SCHEMA_OF(settings_fields);

void balloon_settings_init(void *settings)
{
	*(struct balloon_settings *)settings = (struct balloon_settings){
		.reporting_queue_size = BALLOON_DEFAULT_REPORTING_QUEUE,
		.reporting = { .profile = REPORTING_FAST,
			       .delay_ms = -1,
			       .budget = -1,
			       .watermark_mib = -1,
			       .order = -1,
			       .settled_order = -1,
			       .settle_ms = -1 },
		.policy = BALLOON_POLICY_DEFAULTS,
	};
}

/* A tunable's value: the one set explicitly, else the profile's (-1: leave the guest's). */
static int64_t tunable(int64_t set, bool fast, int64_t fast_value)
{
	if (set >= 0)
		return set;
	return fast ? fast_value : -1;
}

struct reporting_tunables balloon_reporting_effective(const struct balloon_settings *s,
						      const struct balloon_conf *conf)
{
	struct reporting_tunables e = { .profile = s->reporting.profile,
					.delay_ms = -1,
					.budget = -1,
					.watermark_mib = -1,
					.order = -1,
					.settled_order = -1,
					.settle_ms = -1 };
	if (!conf || !conf->free_page_reporting)
		return e;
	const struct reporting_tunables *r = &s->reporting;
	bool fast = r->profile == REPORTING_FAST;
	e.delay_ms = tunable(r->delay_ms, fast, REPORTING_FAST_DELAY_MS);
	e.budget = tunable(r->budget, fast, REPORTING_FAST_BUDGET);
	e.watermark_mib = tunable(r->watermark_mib, fast, REPORTING_FAST_WATERMARK_MIB);
	e.order = r->order;
	/* A reporting order at or below the profile's settled order leaves it no room. */
	e.settled_order =
		tunable(r->settled_order,
			fast && REPORTING_FAST_SETTLED_ORDER < balloon_reporting_order(&e),
			REPORTING_FAST_SETTLED_ORDER);
	e.settle_ms = tunable(r->settle_ms, fast && balloon_settled_order(&e) >= 0,
			      REPORTING_FAST_SETTLE_MS);
	return e;
}

int balloon_reporting_order(const struct reporting_tunables *effective)
{
	return effective->order >= 0 ? (int)effective->order : REPORTING_DEFAULT_ORDER;
}

int balloon_settled_order(const struct reporting_tunables *effective)
{
	int64_t o = effective->settled_order;
	return o >= 0 && o < balloon_reporting_order(effective) ? (int)o : -1;
}

/* The guest's page_reporting parameters (see guest-kernel-patches/README.md). */
void balloon_cmdline(FILE *f, const void *settings, const void *const *confs, unsigned int nr)
{
	struct reporting_tunables r = balloon_reporting_effective(settings, nr ? confs[0] : NULL);
	if (r.delay_ms >= 0)
		fprintf(f, " page_reporting.delay_ms=%lld", (long long)r.delay_ms);
	if (r.budget >= 0)
		fprintf(f, " page_reporting.budget=%lld", (long long)r.budget);
	if (r.watermark_mib >= 0)
		fprintf(f, " page_reporting.watermark_mib=%lld", (long long)r.watermark_mib);
	if (r.order >= 0)
		fprintf(f, " page_reporting.page_reporting_order=%lld", (long long)r.order);
	if (r.settled_order >= 0)
		fprintf(f, " page_reporting.settled_order=%lld", (long long)r.settled_order);
	if (r.settle_ms >= 0)
		fprintf(f, " page_reporting.settle_ms=%lld", (long long)r.settle_ms);
}

/*
 * Inflate gives back single 4 KiB pages whatever the reporting order. Under a
 * huge page they would come back with the first touch of a neighbour in the
 * same 2 MiB, and the guest would get more host memory than its target allows.
 */
uint64_t balloon_discard_granule(const void *settings, const void *const *confs, unsigned int nr)
{
	(void)settings;
	(void)confs;
	return nr ? 4096 : 0;
}
