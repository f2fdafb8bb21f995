// SPDX-License-Identifier: GPL-2.0
/* The balloon's configuration: its schema, its rules and what it asks of the guest. */
#include "devices/virtio/balloon/conf.h"

#include <stddef.h>

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
	  .flags = SCHEMA_FALSE_ONLY,
	  .offset = offsetof(struct balloon_conf, free_page_hinting),
	  .unsupported = "free_page_hinting is not supported by ebb yet; use free_page_reporting" },
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

int balloon_conf_check(struct schema_ctx *c, const void *conf, const struct machine_facts *m)
{
	const struct balloon_conf *b = conf;
	if (b->amount_mib <= m->mem_mib)
		return 0;
	schema_push_key(c, "amount_mib");
	return schema_fail(c, SCHEMA_AT_VALUE,
			   "%u MiB is more than the guest's %u MiB (machine-config.mem_size_mib)",
			   b->amount_mib, m->mem_mib);
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

static const struct schema_field settings_fields[] = {
	{ .name = "reporting_queue_size", .type = SCHEMA_CUSTOM, .parse = parse_queue_size },
	{ .name = "page_reporting", .type = SCHEMA_CUSTOM, .parse = parse_page_reporting },
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
			       .order = -1 },
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
					.order = -1 };
	if (!conf || !conf->free_page_reporting)
		return e;
	const struct reporting_tunables *r = &s->reporting;
	bool fast = r->profile == REPORTING_FAST;
	e.delay_ms = tunable(r->delay_ms, fast, REPORTING_FAST_DELAY_MS);
	e.budget = tunable(r->budget, fast, REPORTING_FAST_BUDGET);
	e.watermark_mib = tunable(r->watermark_mib, fast, REPORTING_FAST_WATERMARK_MIB);
	e.order = r->order;
	return e;
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
}

uint64_t balloon_discard_granule(const void *settings, const void *const *confs, unsigned int nr)
{
	struct reporting_tunables r = balloon_reporting_effective(settings, nr ? confs[0] : NULL);
	return r.order >= 0 ? 4096ull << r.order : 0;
}
