/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_BALLOON_POLICY_H
#define EBB_BALLOON_POLICY_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The automatic balloon policy (docs/balloon.md): on each statistics update
 * it moves the target so that the guest's available memory stays near a
 * margin, inflating over what the guest does not need (its page cache, its
 * free memory at any order) and deflating ahead of its need; a smaller
 * margin while the host is under memory pressure. Rate limits both ways,
 * hysteresis, and no inflate for a while after an OOM deflate.
 */

struct balloon_policy_conf {
	bool enabled;
	uint32_t margin_mib;	      /* the guest's available memory is kept near this */
	uint32_t pressure_margin_mib; /* ... and this under host pressure (0: half the margin) */
	uint32_t hysteresis_mib;      /* no change while within this of the margin */
	uint32_t inflate_mib_per_s;   /* at most this much more in the balloon per second */
	uint32_t deflate_mib_per_s;   /* at most this much less per second */
	uint32_t psi_some_percent;    /* host pressure: PSI some avg10 at or above this */
	uint32_t oom_cooldown_s;      /* no inflate this long after the guest deflated on OOM */
	uint32_t startup_grace_s;     /* no inflate this long after the first statistics */
	uint32_t burst_hold_s; /* shortfalls this close are one burst; no inflate meanwhile */
};

#define BALLOON_POLICY_DEFAULTS                                                            \
	{                                                                                  \
		.margin_mib = 64, .pressure_margin_mib = 0, .hysteresis_mib = 16,          \
		.inflate_mib_per_s = 64, .deflate_mib_per_s = 512, .psi_some_percent = 10, \
		.oom_cooldown_s = 60, .startup_grace_s = 10, .burst_hold_s = 30            \
	}

/* What the policy saw and did last. */
struct balloon_policy_state {
	uint64_t updates;	/* statistics updates it looked at */
	uint64_t changes;	/* targets it set */
	uint32_t target_mib;	/* the target it chose last */
	char reason[128];	/* why */
	uint64_t available_mib; /* the guest's */
	uint64_t free_mib;
	uint64_t disk_caches_mib;
	int32_t psi_some_avg10_x100; /* the host's, -1 unknown */
	int64_t headroom_mib;	     /* below the cgroup's memory.high/max; -1 unknown */
	bool host_pressure;
	uint64_t oom_deflates_seen;
	uint64_t last_oom_ns;	 /* CLOCK_MONOTONIC of the last OOM deflate seen */
	uint32_t deflate_streak; /* shortfalls in the current burst, less one */
	uint64_t last_short_ns;	 /* CLOCK_MONOTONIC of the last shortfall */
	uint64_t started_ns;	 /* of the first statistics since the driver came up */
};

/* Where the host's memory pressure is read: opened before seccomp, read with pread. */
struct balloon_pressure {
	int psi_fd;	/* the cgroup's memory.pressure, else /proc/pressure/memory */
	int current_fd; /* memory.current, memory.high, memory.max of ebb's cgroup */
	int high_fd;
	int max_fd;
};

struct balloon;

void balloon_pressure_open(struct balloon_pressure *p);
void balloon_pressure_close(struct balloon_pressure *p);
/* PSI some avg10 x 100 (-1 unknown), and the cgroup's headroom in MiB (-1 unknown). */
void balloon_pressure_read(const struct balloon_pressure *p, int32_t *psi_x100, int64_t *headroom);

/* Fresh statistics arrived: the policy may move the target. With the device lock. */
void balloon_policy_update(struct balloon *b);
/* The guest's driver reset: the next statistics start the policy afresh. */
void balloon_policy_reset(struct balloon *b);
/* The operator set a target: the policy stands aside until enabled again. */
void balloon_policy_operator_target(struct balloon *b);

#endif
