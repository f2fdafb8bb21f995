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
/*
 * The fast profile runs the settled tier (guest patch 0005): blocks of
 * 128 KiB and up that stayed free for 10 s. The guest's own default is
 * MAX_ORDER, 11: off.
 */
#define REPORTING_FAST_SETTLED_ORDER 5
#define REPORTING_FAST_SETTLE_MS     10000
#define REPORTING_SETTLED_OFF	     11 /* MAX_ORDER on x86-64 and arm64 (4 KiB pages) */
#define REPORTING_DEFAULT_ORDER	     9	/* the guest's own: pageblock_order, 2 MiB */
#define REPORTING_MAX_SETTLE_MS	     3600000

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
	/* page_reporting.settled_order and .settle_ms (patch 0005). */
	int64_t settled_order;
	int64_t settle_ms;
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
 * The fast profile's settled tier is left out when an explicit order
 * leaves it no room (settled_order must be below order).
 */
struct reporting_tunables balloon_reporting_effective(const struct balloon_settings *s,
						      const struct balloon_conf *conf);
/* The guest's fast-tier order: the one given, else its own default (9). */
int balloon_reporting_order(const struct reporting_tunables *effective);
/* The settled tier's order when the guest runs one, else -1. */
int balloon_settled_order(const struct reporting_tunables *effective);
void balloon_cmdline(FILE *f, const void *settings, const void *const *confs, unsigned int nr);
/*
 * The fast tier's block, for whole-RAM huge page advice (vmm/vm.c): the
 * settled tier's smaller blocks are guarded per 2 MiB block instead
 * (holes.c), so that the rest of RAM keeps its huge pages.
 */
uint64_t balloon_discard_granule(const void *settings, const void *const *confs, unsigned int nr);

#endif
