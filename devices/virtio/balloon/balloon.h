/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_VIRTIO_BALLOON_H
#define EBB_VIRTIO_BALLOON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "devices/virtio/balloon/policy.h"
#include "devices/virtio/mmio.h"

/*
 * virtio-balloon: inflate/deflate, statistics, deflate-on-oom, page poison
 * and free page reporting. Queue processing runs on the event loop thread;
 * every function here except balloon_init() expects the transport lock.
 */

#define BALLOON_MAX_STATS	   64
#define BALLOON_QUEUE_SIZE	   256
#define BALLOON_PAGES_PER_MIB	   256 /* 4 KiB balloon pages */
/* What Linux sends at most: VIRTIO_BALLOON_ARRAY_PFNS_MAX, PAGE_REPORTING_CAPACITY. */
#define BALLOON_MAX_CHAIN_PFNS	   256
#define BALLOON_MAX_REPORT_RANGES  32
#define BALLOON_OOM_BACKOFF_MIN_S  30
#define BALLOON_OOM_BACKOFF_MAX_S  600
/* 2 MiB blocks kept from huge pages around small reports (holes.c): RAM's / 8, 64..4096. */
#define BALLOON_GUARD_FRACTION 8
#define BALLOON_GUARD_MIN      64
#define BALLOON_GUARD_MAX      4096

struct balloon_params {
	uint32_t target_mib;
	bool deflate_on_oom;
	uint32_t stats_interval_s; /* 0: no stats queue */
	bool reporting;
	bool hinting; /* offer FREE_PAGE_HINT (it moves the reporting queue's index) */
	uint16_t reporting_queue_size;
	/* After an OOM deflate, ask for the target again after min, doubling to max (0: defaults). */
	uint32_t oom_backoff_min_s;
	uint32_t oom_backoff_max_s;
	struct balloon_policy_conf policy;
	/* Blocks this big and up are the fast tier's, smaller the settled tier's (0: 2 MiB). */
	uint64_t fast_block_bytes;
};

/* Where each queue is, from the acked features; -1 when absent. */
struct balloon_queue_roles {
	int inflate;
	int deflate;
	int stats;
	int free_page_hint;
	int reporting;
	unsigned int count;
};

/*
 * Free page hinting (hinting.c): the host asks with a new command id in
 * config space, the guest answers with that id, its free 4 MiB blocks and a
 * STOP, and keeps the blocks until the host says DONE. Hints only shape a
 * snapshot (a hinted page nobody wrote since the run began is left out of
 * the memory file); they are never discarded, since the guest may take the
 * pages back at any time.
 */
struct balloon_hinting {
	uint32_t host_cmd;  /* in config space: a run's id, STOP (0) or DONE (1) */
	uint32_t next_id;   /* the next run's id, 2 and up */
	uint32_t guest_cmd; /* the last command id the guest sent */
	bool guest_cmd_seen;
	bool ack_on_stop;   /* DONE as soon as the guest's STOP arrives */
	uint64_t runs;
	uint64_t hinted_bytes; /* in the current run */
	uint64_t hints;
	struct log_limit log_runs; /* a guest may end runs at will */
};

struct balloon_stat {
	uint16_t tag;
	uint64_t value;
};

struct balloon_counters {
	uint64_t reports;	  /* reporting chains completed */
	uint64_t report_ranges;	  /* descriptors in them */
	uint64_t bytes_reported;
	uint64_t bytes_discarded; /* by reporting */
	uint64_t bytes_skipped;	  /* reported but not discarded: poison or invalid */
	uint64_t inflated_pages;
	uint64_t deflated_pages;
	uint64_t inflate_ranges;  /* madvise/fallocate calls after coalescing */
	uint64_t bad_descriptors;
	uint64_t discard_ns;
	uint64_t oom_deflates;
	uint64_t oom_reasks;	  /* the target asked for again after OOM deflates */
	uint64_t oversized_chains; /* over BALLOON_MAX_CHAIN_PFNS or _REPORT_RANGES */
	uint64_t stats_updates;
	uint64_t config_interrupts;
	/* Reported blocks by tier: the fast tier's size and up, and smaller (the settled tier). */
	uint64_t fast_blocks;
	uint64_t fast_bytes;
	uint64_t settled_blocks;
	uint64_t settled_bytes;
	uint64_t thp_guards; /* 2 MiB blocks advised MADV_NOHUGEPAGE around a small report */
	uint64_t
		thp_guards_lifted; /* ... advised MADV_HUGEPAGE again once reported whole (--thp) */
	uint64_t thp_unguarded;	   /* small reports left unguarded: past the limit, or refused */
	uint64_t hinted_blocks; /* free page hinting: blocks the guest hinted */
};

/* 2 MiB blocks of guest RAM kept from huge pages around small reports (holes.c). */
struct balloon_holes {
	uint64_t *guarded; /* bitmap by block of the host mapping; NULL: no reporting */
	uint64_t nr_blocks;
	uint32_t nr_guarded;
	uint32_t limit;
	bool limit_logged;
};

typedef int64_t (*balloon_discard_fn)(struct guest_memory *mem, uint64_t gpa, uint64_t len);

struct balloon {
	struct virtio_mmio transport;
	struct balloon_params params;
	struct guest_memory *mem;
	struct event_loop *loop;
	balloon_discard_fn discard; /* mem_discard; tests put a probe here */

	struct balloon_queue_roles roles;
	bool poison_acked;
	bool deflate_on_oom_acked;

	uint32_t num_pages;	  /* the target the guest sees */
	uint32_t requested_pages; /* what the operator asked for */
	uint32_t actual;	  /* written by the guest */
	uint32_t poison_val;	  /* written by the guest */

	int oom_timer_fd;
	struct event_source *oom_src;
	/* The guest's config writes come on a vCPU thread; the loop arms the timer. */
	int oom_kick_fd;
	struct event_source *oom_kick_src;
	uint32_t oom_arm_s; /* what the next kick arms the timer with (0: disarm) */
	uint32_t oom_backoff_s; /* 0: no OOM deflate since the operator last set a target */

	int stats_timer_fd;
	struct event_source *stats_src;
	uint32_t stats_interval_s;
	bool stats_held;
	uint16_t stats_head;
	unsigned int nr_stats;
	struct balloon_stat stats[BALLOON_MAX_STATS];
	struct timespec stats_time; /* CLOCK_REALTIME of the last update */

	struct balloon_hinting hinting;
	struct balloon_counters counters;
	struct balloon_holes holes;
	struct log_limit log_oom, log_target, log_stats, log_acked, log_policy, log_pressure;

	/* The automatic policy (policy.c): its live settings, what it saw, where it looks. */
	struct balloon_policy_conf policy_conf;
	struct balloon_policy_state policy;
	struct balloon_pressure pressure;
};

void balloon_queue_roles(uint64_t acked, struct balloon_queue_roles *roles);
/* Queue roles, poison and deflate-on-oom from what the driver acked. */
void balloon_features_acked(struct balloon *b, uint64_t acked);

int balloon_init(struct balloon *b, const struct balloon_params *params, struct guest_memory *mem,
		 struct event_loop *loop, uint64_t base, unsigned int gsi);
void balloon_destroy(struct balloon *b);

/* Runtime control, on the event loop thread. Return negative errno. */
int balloon_set_target(struct balloon *b, uint32_t mib);
int balloon_set_stats_interval(struct balloon *b, uint32_t seconds);

/* Firecracker's name for a statistics tag, or NULL for a tag ebb does not know. */
const char *balloon_stat_name(uint16_t tag);

/* The stats queue exists (offered and acked). */
bool balloon_stats_enabled(const struct balloon *b);

/* stats.c */
void balloon_store_stats(struct balloon *b, const struct vq_chain *chain);
void balloon_release_stats(struct balloon *b);
void balloon_drop_stats(struct balloon *b);
void balloon_stats_timer_fired(void *opaque, uint32_t events);
int balloon_arm_stats_timer(struct balloon *b, uint32_t seconds);

/* holes.c: huge page advice around given-back blocks smaller than 2 MiB. */
int balloon_holes_init(struct balloon *b);
void balloon_holes_destroy(struct balloon *b);
uint32_t balloon_holes_default_limit(uint64_t nr_blocks);
/* A valid reported or inflated range, before its discard. */
void balloon_holes_given_back(struct balloon *b, uint64_t gpa, uint64_t len);

/* hinting.c */
bool balloon_hinting_acked(const struct balloon *b);
/* Starts a run: -ENOTSUP when not offered, -EAGAIN when the guest has not acked it. */
int balloon_hinting_start(struct balloon *b, bool ack_on_stop);
int balloon_hinting_stop(struct balloon *b);
unsigned int balloon_process_hinting(void *dev, struct virtq *vq, unsigned int idx,
				     const struct vq_chain *chain, enum vq_error err);

/* oom.c: deflate-on-oom, without giving up the operator's target. */
void balloon_oom_actual_changed(struct balloon *b, uint32_t old_actual);
void balloon_oom_timer_fired(void *opaque, uint32_t events);
void balloon_oom_kicked(void *opaque, uint32_t events);
void balloon_oom_forget(struct balloon *b);

#endif
