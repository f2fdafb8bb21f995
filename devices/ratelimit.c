// SPDX-License-Identifier: GPL-2.0
/* Token-bucket rate limiters, their configuration and the timer that resumes a device. */
#include "devices/ratelimit.h"

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

/* ---- configuration ---- */

static const struct schema_field bucket_fields[] = {
	{ .name = "size",
	  .type = SCHEMA_I64,
	  .flags = SCHEMA_REQUIRED,
	  .offset = offsetof(struct token_bucket_conf, size),
	  .min = 0,
	  .max = RATE_LIMIT_MAX_TOKENS },
	{ .name = "one_time_burst",
	  .type = SCHEMA_I64,
	  .offset = offsetof(struct token_bucket_conf, one_time_burst),
	  .min = 0,
	  .max = RATE_LIMIT_MAX_TOKENS },
	{ .name = "refill_time",
	  .type = SCHEMA_I64,
	  .flags = SCHEMA_REQUIRED,
	  .offset = offsetof(struct token_bucket_conf, refill_time_ms),
	  .min = 0,
	  .max = RATE_LIMIT_MAX_REFILL_MS },
};

static const struct schema bucket_schema = SCHEMA_OF(bucket_fields);

static int parse_bucket(struct schema_ctx *c, json_t *v, struct token_bucket_conf *b)
{
	/* A bucket is whole even inside a PATCH: size and refill_time are required. */
	bool partial = c->partial;
	c->partial = false;
	memset(b, 0, sizeof(*b));
	int ret = schema_parse(c, v, &bucket_schema, b, NULL);
	c->partial = partial;
	b->set = ret == 0;
	return ret;
}

static int parse_bandwidth(struct schema_ctx *c, json_t *v, void *stage)
{
	return parse_bucket(c, v, &((struct rate_limiter_conf *)stage)->bandwidth);
}

static int parse_ops(struct schema_ctx *c, json_t *v, void *stage)
{
	return parse_bucket(c, v, &((struct rate_limiter_conf *)stage)->ops);
}

static const struct schema_field limiter_fields[] = {
	{ .name = "bandwidth", .type = SCHEMA_CUSTOM, .parse = parse_bandwidth },
	{ .name = "ops", .type = SCHEMA_CUSTOM, .parse = parse_ops },
};

static const struct schema limiter_schema = SCHEMA_OF(limiter_fields);

int rate_limiter_parse(struct schema_ctx *c, json_t *v, struct rate_limiter_conf *out)
{
	struct rate_limiter_conf stage;
	memset(&stage, 0, sizeof(stage));
	memset(out, 0, sizeof(*out));
	if (json_is_null(v))
		return 0;
	int ret = schema_parse(c, v, &limiter_schema, &stage, NULL);
	if (ret == 0)
		*out = stage;
	return ret;
}

static json_t *bucket_dump(const struct token_bucket_conf *b)
{
	return json_pack("{s:I, s:I, s:I}", "size", (json_int_t)b->size, "one_time_burst",
			 (json_int_t)b->one_time_burst, "refill_time",
			 (json_int_t)b->refill_time_ms);
}

json_t *rate_limiter_dump(const struct rate_limiter_conf *c)
{
	if (!c->bandwidth.set && !c->ops.set)
		return NULL;
	json_t *o = json_object();
	if (o && c->bandwidth.set)
		json_object_set_new(o, "bandwidth", bucket_dump(&c->bandwidth));
	if (o && c->ops.set)
		json_object_set_new(o, "ops", bucket_dump(&c->ops));
	return o;
}

void rate_limiter_conf_update(struct rate_limiter_conf *dst, const struct rate_limiter_conf *upd)
{
	if (upd->bandwidth.set)
		dst->bandwidth = upd->bandwidth;
	if (upd->ops.set)
		dst->ops = upd->ops;
}

static bool bucket_limits(const struct token_bucket_conf *b)
{
	return b->set && b->size > 0 && b->refill_time_ms > 0;
}

bool rate_limiter_conf_limits(const struct rate_limiter_conf *c)
{
	return bucket_limits(&c->bandwidth) || bucket_limits(&c->ops);
}

/* ---- buckets ---- */

uint64_t rate_limit_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void bucket_init(struct token_bucket *b, const struct token_bucket_conf *c, uint64_t now)
{
	memset(b, 0, sizeof(*b));
	if (!bucket_limits(c))
		return;
	b->size = (uint64_t)c->size;
	b->refill_ns = (uint64_t)c->refill_time_ms * 1000000ull;
	b->budget = c->size; /* a new bucket is full */
	b->burst = (uint64_t)c->one_time_burst;
	b->last_ns = now;
}

/* Adds what refilled since the last update; a full bucket carries nothing over. */
static void bucket_refill(struct token_bucket *b, uint64_t now)
{
	if (!b->size || now <= b->last_ns)
		return;
	unsigned __int128 x = (unsigned __int128)(now - b->last_ns) * b->size + b->remainder;
	unsigned __int128 add = x / b->refill_ns;
	b->last_ns = now;
	b->remainder = (uint64_t)(x % b->refill_ns);
	if (add >= (unsigned __int128)((int64_t)b->size - b->budget)) {
		b->budget = (int64_t)b->size;
		b->remainder = 0;
	} else {
		b->budget += (int64_t)add;
	}
}

static uint64_t bucket_wait_ns(struct token_bucket *b, uint64_t now)
{
	if (!b->size)
		return 0;
	bucket_refill(b, now);
	if (b->burst > 0 || b->budget > 0)
		return 0;
	/* Until the budget reaches one token: (1 - budget) * refill_ns / size, rounded up. */
	unsigned __int128 need = (unsigned __int128)(uint64_t)(1 - b->budget) * b->refill_ns;
	need = need > b->remainder ? need - b->remainder : 0;
	unsigned __int128 ns = (need + b->size - 1) / b->size;
	return ns > UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)ns;
}

static void bucket_consume(struct token_bucket *b, uint64_t tokens, uint64_t now)
{
	if (!b->size)
		return;
	bucket_refill(b, now);
	uint64_t from_burst = tokens < b->burst ? tokens : b->burst;
	b->burst -= from_burst;
	tokens -= from_burst;
	/* tokens fits: the caller's operations are at most 4 GiB, the budget at least -2^62. */
	b->budget -= (int64_t)tokens;
}

void rate_limiter_init(struct rate_limiter *rl, const struct rate_limiter_conf *c, uint64_t now_ns)
{
	bucket_init(&rl->bandwidth, &c->bandwidth, now_ns);
	bucket_init(&rl->ops, &c->ops, now_ns);
}

bool rate_limiter_active(const struct rate_limiter *rl)
{
	return rl->bandwidth.size || rl->ops.size;
}

uint64_t rate_limiter_wait_ns(struct rate_limiter *rl, uint64_t now_ns)
{
	uint64_t a = bucket_wait_ns(&rl->bandwidth, now_ns);
	uint64_t b = bucket_wait_ns(&rl->ops, now_ns);
	return a > b ? a : b;
}

void rate_limiter_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t ops, uint64_t now_ns)
{
	if (bytes > UINT32_MAX)
		bytes = UINT32_MAX;
	bucket_consume(&rl->bandwidth, bytes, now_ns);
	bucket_consume(&rl->ops, ops, now_ns);
}

/* ---- the timer ---- */

int rate_timer_init(struct rate_timer *t, struct event_loop *loop, event_fn fn, void *opaque)
{
	memset(t, 0, sizeof(*t));
	t->loop = loop;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->fd < 0)
		return -errno;
	return event_loop_add(loop, t->fd, EPOLLIN, fn, opaque, &t->src);
}

void rate_timer_destroy(struct rate_timer *t)
{
	if (!t->loop)
		return; /* never set up */
	if (t->src)
		event_loop_remove(t->loop, t->src);
	t->src = NULL;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->loop = NULL;
}

void rate_timer_arm(struct rate_timer *t, uint64_t ns)
{
	if (ns < 1000)
		ns = 1000;
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(ns / 1000000000ull),
						.tv_nsec = (long)(ns % 1000000000ull) } };
	if (t->loop && t->fd >= 0 && timerfd_settime(t->fd, 0, &its, NULL) == 0)
		t->armed = true;
}

void rate_timer_disarm(struct rate_timer *t)
{
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	if (t->armed && t->loop && t->fd >= 0)
		timerfd_settime(t->fd, 0, &its, NULL);
	t->armed = false;
}

void rate_timer_ack(struct rate_timer *t)
{
	uint64_t n;
	if (read(t->fd, &n, sizeof(n)) < 0)
		return;
	t->armed = false;
}

uint64_t rate_limit_batched_ns(uint64_t wait_ns)
{
	return wait_ns && wait_ns < RATE_LIMIT_BATCH_NS ? RATE_LIMIT_BATCH_NS : wait_ns;
}

bool rate_limiter_hold(struct rate_limiter *rl, struct rate_timer *t)
{
	if (!rate_limiter_active(rl))
		return false;
	uint64_t wait = rate_limiter_wait_ns(rl, rate_limit_now_ns());
	if (!wait)
		return false;
	/*
	 * Armed already: nothing was spent since, so it still fires in time. Arming
	 * again would push a batch's wait back on every new frame, and a device
	 * that frames keep arriving at would never resume.
	 */
	if (!t->armed)
		rate_timer_arm(t, rate_limit_batched_ns(wait));
	return true;
}
