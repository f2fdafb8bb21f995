// SPDX-License-Identifier: GPL-2.0
/* The balloon as a device type: everything the VMM needs to compose it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "base/util.h"
#include "devices/virtio/balloon/balloon.h"
#include "devices/virtio/balloon/conf.h"

extern const struct device_route balloon_routes[];

static int balloon_create(const struct device_create_args *a, void **out)
{
	const struct balloon_conf *conf = a->conf;
	const struct balloon_settings *settings = a->settings;
	struct balloon_params params = {
		.target_mib = conf->amount_mib,
		.deflate_on_oom = conf->deflate_on_oom,
		.stats_interval_s = conf->stats_polling_interval_s,
		.reporting = conf->free_page_reporting,
		.hinting = conf->free_page_hinting,
		.reporting_queue_size = settings->reporting_queue_size,
		.policy = settings->policy,
	};
	struct reporting_tunables r = balloon_reporting_effective(settings, conf);
	params.fast_block_bytes = 4096ull << balloon_reporting_order(&r);
	struct balloon *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	int ret = balloon_init(b, &params, a->mem, a->loop, a->slot.addr, a->slot.gsi);
	*out = b; /* destroyed by the caller, even on failure */
	return ret;
}

static void balloon_free(void *dev)
{
	balloon_destroy(dev);
	free(dev);
}

static struct virtio_mmio *balloon_transport(void *dev)
{
	return &((struct balloon *)dev)->transport;
}

static const void *balloon_counters_of(void *dev)
{
	return &((struct balloon *)dev)->counters;
}

static const struct metric_field balloon_metrics[] = {
	METRIC(struct balloon_counters, reports),
	METRIC(struct balloon_counters, report_ranges),
	METRIC(struct balloon_counters, bytes_reported),
	METRIC(struct balloon_counters, bytes_discarded),
	METRIC(struct balloon_counters, bytes_skipped),
	METRIC(struct balloon_counters, inflated_pages),
	METRIC(struct balloon_counters, deflated_pages),
	METRIC(struct balloon_counters, inflate_ranges),
	METRIC(struct balloon_counters, bad_descriptors),
	METRIC(struct balloon_counters, discard_ns),
	METRIC(struct balloon_counters, oom_deflates),
	METRIC(struct balloon_counters, oom_reasks),
	METRIC(struct balloon_counters, oversized_chains),
	METRIC(struct balloon_counters, stats_updates),
	METRIC(struct balloon_counters, fast_blocks),
	METRIC(struct balloon_counters, fast_bytes),
	METRIC(struct balloon_counters, settled_blocks),
	METRIC(struct balloon_counters, settled_bytes),
	METRIC(struct balloon_counters, thp_guards),
	METRIC(struct balloon_counters, thp_guards_lifted),
	METRIC(struct balloon_counters, thp_unguarded),
	METRIC(struct balloon_counters, hinted_blocks),
};

static const struct seccomp_rule balloon_seccomp[] = {
	SECCOMP_ALLOW_IF(madvise, SECCOMP_ARG_EQ(2, MADV_DONTNEED), "advice == MADV_DONTNEED",
			 "give reported and inflated anonymous guest memory back"),
	SECCOMP_ALLOW_IF(madvise, SECCOMP_ARG_EQ(2, MADV_COLD), "advice == MADV_COLD",
			 "split a huge page only partly given back, so its hole is freed"),
	SECCOMP_ALLOW_IF(madvise, SECCOMP_ARG_EQ(2, MADV_NOHUGEPAGE), "advice == MADV_NOHUGEPAGE",
			 "keep khugepaged from filling a reported hole under 2 MiB back in"),
	SECCOMP_ALLOW_IF(madvise, SECCOMP_ARG_EQ(2, MADV_HUGEPAGE), "advice == MADV_HUGEPAGE",
			 "--thp: huge pages again for a 2 MiB block the guest reported whole"),
	SECCOMP_ALLOW_IF(madvise, SECCOMP_ARG_EQ(2, MADV_DONTDUMP), "advice == MADV_DONTDUMP",
			 "a 2 MiB block a discard mapped afresh stays out of core dumps"),
	SECCOMP_ALLOW_IF(prctl, SECCOMP_ARG_EQ(0, PR_SET_VMA), "option == PR_SET_VMA",
			 "a block a discard mapped afresh gets guest RAM's name, to merge back"),
	SECCOMP_ALLOW_IF(fallocate, SECCOMP_ARG_EQ(1, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE),
			 "mode == PUNCH_HOLE|KEEP_SIZE",
			 "give back memfd and hugetlbfs guest memory"),
	SECCOMP_ALLOW(timerfd_settime,
		      "statistics interval changes; the deflate-on-oom backoff timer"),
	SECCOMP_ALLOW(sysinfo, "glibc's qsort sizes its buffer (inflate PFN sorting)"),
	SECCOMP_ALLOW(pread64, "the policy reads memory pressure from files opened at start"),
};

#define BALLOON_STATE_TAG     STATE_TAG('B', 'L', 'N', 'S')
#define HINTING_STATE_TAG     STATE_TAG('B', 'L', 'N', 'H')
#define POLICY_STATE_TAG      STATE_TAG('B', 'L', 'N', 'P')
#define BALLOON_STATE_VERSION 1

struct balloon_record {
	uint32_t version;
	uint32_t num_pages;
	uint32_t requested_pages;
	uint32_t actual;
	uint32_t poison_val;
	uint32_t stats_interval_s;
	uint32_t nr_stats;
	uint16_t stats_head;
	uint8_t stats_held;
	uint8_t pad;
	struct balloon_stat stats[BALLOON_MAX_STATS];
	struct balloon_counters counters;
};

static int balloon_save(void *dev, struct state_stream *s)
{
	const struct balloon *b = dev;
	struct balloon_record *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->version = BALLOON_STATE_VERSION;
	r->num_pages = b->num_pages;
	r->requested_pages = b->requested_pages;
	r->actual = b->actual;
	r->poison_val = b->poison_val;
	r->stats_interval_s = b->stats_interval_s;
	r->nr_stats = b->nr_stats;
	r->stats_head = b->stats_head;
	r->stats_held = b->stats_held;
	memcpy(r->stats, b->stats, sizeof(r->stats));
	r->counters = b->counters;
	int ret = virtio_mmio_save(&b->transport, s);
	if (ret == 0)
		ret = state_put(s, BALLOON_STATE_TAG, r, sizeof(*r));
	if (ret == 0)
		ret = state_put(s, HINTING_STATE_TAG, &b->hinting, sizeof(b->hinting));
	/* The policy's live settings: a PATCH /balloon/policy after boot is not in the config. */
	if (ret == 0)
		ret = state_put(s, POLICY_STATE_TAG, &b->policy_conf, sizeof(b->policy_conf));
	free(r);
	return ret;
}

static int balloon_restore(void *dev, struct state_stream *s)
{
	struct balloon *b = dev;
	struct balloon_policy_conf policy;
	struct balloon_record *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	int ret = virtio_mmio_restore(&b->transport, s);
	if (ret == 0)
		ret = state_get(s, BALLOON_STATE_TAG, r, sizeof(*r));
	if (ret == 0)
		ret = state_get(s, HINTING_STATE_TAG, &b->hinting, sizeof(b->hinting));
	if (ret == 0)
		ret = state_get(s, POLICY_STATE_TAG, &policy, sizeof(policy));
	if (ret == 0 && (r->version != BALLOON_STATE_VERSION || r->nr_stats > BALLOON_MAX_STATS))
		ret = -EPROTO;
	if (ret == 0) {
		balloon_features_acked(b, b->transport.acked_features);
		b->num_pages = r->num_pages;
		b->requested_pages = r->requested_pages;
		b->actual = r->actual;
		b->poison_val = r->poison_val;
		b->nr_stats = r->nr_stats;
		b->stats_head = r->stats_head;
		b->stats_held = r->stats_held;
		memcpy(b->stats, r->stats, sizeof(b->stats));
		b->counters = r->counters;
		if (policy.enabled && !b->policy_conf.enabled)
			snprintf(b->policy.reason, sizeof(b->policy.reason),
				 "on: waiting for statistics");
		b->policy_conf = policy;
		if (balloon_stats_enabled(b) && r->stats_interval_s)
			ret = balloon_set_stats_interval(b, r->stats_interval_s);
	}
	free(r);
	return ret;
}

const struct device_type balloon_device_type = {
	.name = "balloon",
	.noun = "balloon",
	.section = "balloon",
	.schema = &balloon_conf_schema,
	.conf_size = sizeof(struct balloon_conf),
	.check = balloon_conf_check,
	.check_all = balloon_conf_check_all,
	.settings_schema = &balloon_settings_schema,
	.settings_size = sizeof(struct balloon_settings),
	.settings_init = balloon_settings_init,
	.cmdline = balloon_cmdline,
	.discard_granule = balloon_discard_granule,
	.create = balloon_create,
	.destroy = balloon_free,
	.transport = balloon_transport,
	.routes = balloon_routes,
	.metrics = balloon_metrics,
	.nr_metrics = ARRAY_SIZE(balloon_metrics),
	.counters = balloon_counters_of,
	.seccomp_rules = balloon_seccomp,
	.nr_seccomp_rules = ARRAY_SIZE(balloon_seccomp),
	.save = balloon_save,
	.restore = balloon_restore,
};
