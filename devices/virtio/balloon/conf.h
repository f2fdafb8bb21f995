/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_BALLOON_CONF_H
#define EBB_BALLOON_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "devices/virtio/balloon/policy.h"

/* The balloon's configuration: Firecracker's "balloon" object. */
struct balloon_conf {
	uint32_t amount_mib;
	bool deflate_on_oom;
	uint32_t stats_polling_interval_s;
	bool free_page_hinting; /* offer FREE_PAGE_HINT (hinting.c) */
	bool free_page_reporting;
};

#define BALLOON_MAX_STATS_INTERVAL_S	86400
#define BALLOON_DEFAULT_REPORTING_QUEUE 64
#define BALLOON_MIN_REPORTING_QUEUE	32 /* the Linux driver refuses fewer */
#define BALLOON_MAX_REPORTING_QUEUE	32768

/*
 * The guest's page_reporting tunables (guest-kernel-patches/). The fast
 * profile gives memory back within a fraction of a second; the stock one
 * adds nothing to the guest command line and keeps Linux's defaults. A
 * value other than -1 overrides the profile's.
 */
enum reporting_profile {
	REPORTING_FAST,
	REPORTING_STOCK,
};

#define REPORTING_FAST_DELAY_MS	     200
#define REPORTING_FAST_BUDGET	     0 /* a whole free list per pass */
#define REPORTING_FAST_WATERMARK_MIB 0

struct reporting_tunables {
	int profile; /* enum reporting_profile */
	int64_t delay_ms;
	int64_t budget;
	int64_t watermark_mib;
	/*
	 * page_reporting.page_reporting_order; no profile sets it. Below 9 an
	 * idle guest keeps less resident, but its RAM loses THP, which a guest
	 * that frees and re-touches memory pays for dearly.
	 */
	int64_t order;
};

/* The balloon's ebb-only settings: keys of the config's "ebb" object. */
struct balloon_settings {
	uint32_t reporting_queue_size;
	struct reporting_tunables reporting;
	struct balloon_policy_conf policy; /* "balloon": {"policy": {...}} */
};

/* PATCH /balloon/policy: its fields, all optional. */
extern const struct schema balloon_policy_schema;
/* The policy's own rules, for the config and for PATCH /balloon/policy. */
int balloon_policy_check(struct schema_ctx *c, const struct balloon_policy_conf *p,
			 const struct balloon_conf *conf, uint32_t mem_mib);

extern const struct schema balloon_conf_schema;
extern const struct schema balloon_settings_schema;

void balloon_settings_init(void *settings);
int balloon_conf_check(struct schema_ctx *c, const void *conf, const void *settings,
		const struct machine_facts *m);
int balloon_conf_check_all(struct schema_ctx *c, const void *const *confs, unsigned int nr,
			   unsigned int changed, const void *settings);
/* PATCH /balloon and /balloon/statistics bodies. */
extern const struct schema balloon_update_schema;
extern const struct schema balloon_stats_update_schema;

/*
 * The tunables the guest is given: each one set explicitly, else the
 * profile's, else -1 (the guest keeps its own). All -1 without reporting.
 */
struct reporting_tunables balloon_reporting_effective(const struct balloon_settings *s,
						      const struct balloon_conf *conf);
void balloon_cmdline(FILE *f, const void *settings, const void *const *confs, unsigned int nr);
uint64_t balloon_discard_granule(const void *settings, const void *const *confs, unsigned int nr);

#endif
