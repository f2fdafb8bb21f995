/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_RATELIMIT_H
#define EBB_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/event_loop.h"
#include "base/schema.h"

/*
 * Firecracker's rate limiters (docs/net.md): two token buckets, one of bytes
 * ("bandwidth") and one of operations ("ops": requests or frames). A bucket
 * holds at most size tokens, refills at size per refill_time ms, starts full
 * and has one_time_burst extra tokens to spend first. A bucket with size 0
 * or refill_time 0 limits nothing, as in Firecracker.
 *
 * An operation may start while both buckets hold a token; it then takes all
 * it costs, and a bucket may go below zero (a frame or request larger than
 * what was left). The debt is repaid by the refill before the next one may
 * start, so the long-run rate is exact and a burst passes the bucket's
 * content by at most one operation.
 */

struct token_bucket_conf {
	bool set; /* given in the configuration (a PATCH changes only the buckets it gives) */
	int64_t size;
	int64_t one_time_burst;
	int64_t refill_time_ms;
};

struct rate_limiter_conf {
	struct token_bucket_conf bandwidth;
	struct token_bucket_conf ops;
};

#define RATE_LIMIT_MAX_TOKENS	 (1ll << 62)
#define RATE_LIMIT_MAX_REFILL_MS (1ll << 40)

/*
 * A "rate_limiter" object of the config file or the API body into *out
 * (null means none: *out is zeroed). For a field's custom parser.
 */
int rate_limiter_parse(struct schema_ctx *c, struct json_t *v, struct rate_limiter_conf *out);
/* The "rate_limiter" object back (a new reference), or NULL when no bucket is set. */
struct json_t *rate_limiter_dump(const struct rate_limiter_conf *c);
/* Each bucket update gives replaces that bucket of dst; the others stay. */
void rate_limiter_conf_update(struct rate_limiter_conf *dst, const struct rate_limiter_conf *upd);
bool rate_limiter_conf_limits(const struct rate_limiter_conf *c);

struct token_bucket {
	uint64_t size; /* 0: this bucket limits nothing */
	uint64_t refill_ns;
	int64_t budget;	    /* below zero: the debt of the last operation */
	uint64_t burst;	    /* one_time_burst not spent yet */
	uint64_t remainder; /* refill not yet a whole token, in token*ns */
	uint64_t last_ns;
};

struct rate_limiter {
	struct token_bucket bandwidth;
	struct token_bucket ops;
};

uint64_t rate_limit_now_ns(void);

void rate_limiter_init(struct rate_limiter *rl, const struct rate_limiter_conf *c, uint64_t now_ns);
bool rate_limiter_active(const struct rate_limiter *rl);
/* 0 when an operation may start now, else the nanoseconds until one may. */
uint64_t rate_limiter_wait_ns(struct rate_limiter *rl, uint64_t now_ns);
/* An operation of bytes started (ops: how many operations it counts for). */
void rate_limiter_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t ops, uint64_t now_ns);

/* ---- the timer that resumes a device once tokens refilled ---- */

struct rate_timer {
	int fd;
	struct event_source *src;
	struct event_loop *loop;
	bool armed;
};

/*
 * A dry limiter resumes its device no sooner than this: waking for every
 * frame would cost the guest an interrupt per frame, which a slow host cannot
 * keep up with, and the rate falls below the limit. The refill is continuous,
 * so waiting longer loses no tokens.
 */
#define RATE_LIMIT_BATCH_NS 5000000ull

/* How long a dry limiter waits before resuming: wait_ns, at least one batch. */
uint64_t rate_limit_batched_ns(uint64_t wait_ns);

/* A timerfd on loop, calling fn(opaque) when it fires; -errno. */
int rate_timer_init(struct rate_timer *t, struct event_loop *loop, event_fn fn, void *opaque);
void rate_timer_destroy(struct rate_timer *t);
/* Fires once, ns from now (at least 1 µs). */
void rate_timer_arm(struct rate_timer *t, uint64_t ns);
void rate_timer_disarm(struct rate_timer *t);
/* In fn: consume the expiry. */
void rate_timer_ack(struct rate_timer *t);
/* True when rl is dry; then t is armed for when the device may go on. */
bool rate_limiter_hold(struct rate_limiter *rl, struct rate_timer *t);

#endif
