// SPDX-License-Identifier: GPL-2.0
/*
 * Token buckets as Firecracker defines them (devices/ratelimit.h): a bucket
 * starts full, refills at size per refill_time, spends one_time_burst
 * first, and may go into debt by one operation; the long-run rate is exact.
 * Time is passed in by the tests, so every figure here is exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "devices/ratelimit.h"

#define MS 1000000ull
#define S  1000000000ull

static struct rate_limiter_conf bw(int64_t size, int64_t refill_ms, int64_t burst)
{
	struct rate_limiter_conf c;
	memset(&c, 0, sizeof(c));
	c.bandwidth = (struct token_bucket_conf){
		.set = true, .size = size, .refill_time_ms = refill_ms, .one_time_burst = burst
	};
	return c;
}

static void test_full_then_refill(void **state)
{
	struct rate_limiter rl;
	struct rate_limiter_conf c = bw(1000, 100, 0);
	uint64_t t = 5 * S;
	rate_limiter_init(&rl, &c, t);
	assert_true(rate_limiter_active(&rl));
	assert_int_equal(rate_limiter_wait_ns(&rl, t), 0);
	rate_limiter_consume(&rl, 1000, 1, t);
	/* Empty: one token takes refill_time / size = 100 µs. */
	assert_int_equal(rate_limiter_wait_ns(&rl, t), 100000);
	/* Half the refill time brings half the bucket back. */
	assert_int_equal(rate_limiter_wait_ns(&rl, t + 50 * MS), 0);
	assert_int_equal(rl.bandwidth.budget, 500);
	/* A long idle fills it, never past its size. */
	assert_int_equal(rate_limiter_wait_ns(&rl, t + 100 * S), 0);
	assert_int_equal(rl.bandwidth.budget, 1000);
}

static void test_debt(void **state)
{
	struct rate_limiter rl;
	struct rate_limiter_conf c = bw(1000, 100, 0);
	rate_limiter_init(&rl, &c, 0);
	/* One operation larger than the bucket goes, and the next waits for the debt. */
	rate_limiter_consume(&rl, 3000, 1, 0);
	assert_int_equal(rl.bandwidth.budget, -2000);
	assert_int_equal(rate_limiter_wait_ns(&rl, 0), 2001 * 100 * MS / 1000);
	assert_true(rate_limiter_wait_ns(&rl, 200 * MS) > 0);
	assert_int_equal(rate_limiter_wait_ns(&rl, 200 * MS + 100000), 0);
}

static void test_one_time_burst(void **state)
{
	struct rate_limiter rl;
	struct rate_limiter_conf c = bw(100, 1000, 1000);
	rate_limiter_init(&rl, &c, 0);
	rate_limiter_consume(&rl, 1000, 1, 0);
	assert_int_equal(rl.bandwidth.burst, 0);
	assert_int_equal(rl.bandwidth.budget, 100); /* the burst went first */
	assert_int_equal(rate_limiter_wait_ns(&rl, 0), 0);
	rate_limiter_consume(&rl, 100, 1, 0);
	assert_int_equal(rate_limiter_wait_ns(&rl, 0), 10 * MS);
}

/* Operations back to back, each as soon as allowed: the rate is the bucket's. */
static void test_long_run_rate(void **state)
{
	struct rate_limiter rl;
	/* 10 MiB/s as the e2e test sets it: 1 MiB every 100 ms. */
	struct rate_limiter_conf c = bw(1 << 20, 100, 0);
	uint64_t t = 0, bytes = 0;
	rate_limiter_init(&rl, &c, t);
	while (t < 60 * S) {
		uint64_t wait = rate_limiter_wait_ns(&rl, t);
		if (wait) {
			t += wait;
			continue;
		}
		rate_limiter_consume(&rl, 65550, 1, t);
		bytes += 65550;
	}
	double rate = (double)bytes / 60.0 / (1 << 20);
	/* The first second's full bucket and one frame of debt are all it may exceed by. */
	assert_true(rate > 9.99 && rate < 10.0 + 1.1 / 60.0);
}

/* Small frames under a dry limiter: batched wakeups, the same long-run rate. */
static void test_batched_wakeups(void **state)
{
	struct rate_limiter rl;
	struct rate_limiter_conf c = bw(5 << 20, 500, 0);
	uint64_t t = 0, bytes = 0, wakeups = 0;
	assert_int_equal(rate_limit_batched_ns(0), 0);
	assert_int_equal(rate_limit_batched_ns(1), RATE_LIMIT_BATCH_NS);
	assert_int_equal(rate_limit_batched_ns(RATE_LIMIT_BATCH_NS + 1), RATE_LIMIT_BATCH_NS + 1);
	rate_limiter_init(&rl, &c, t);
	while (t < 60 * S) {
		uint64_t wait = rate_limiter_wait_ns(&rl, t);
		if (wait) {
			t += rate_limit_batched_ns(wait);
			wakeups++;
			continue;
		}
		rate_limiter_consume(&rl, 1514, 1, t);
		bytes += 1514;
	}
	double rate = (double)bytes / 60.0 / (1 << 20);
	assert_true(rate > 9.99 && rate < 10.0 + 5.1 / 60.0);
	/* Unbatched, each wait would be one frame's worth: about 7000 a second. */
	assert_true(wakeups <= 60 * S / RATE_LIMIT_BATCH_NS);
	assert_true(wakeups > 60 * S / RATE_LIMIT_BATCH_NS - 1000);
	(void)state;
}

static void test_ops_and_bandwidth(void **state)
{
	struct rate_limiter rl;
	struct rate_limiter_conf c = bw(1 << 30, 1000, 0);
	c.ops = (struct token_bucket_conf){ .set = true, .size = 10, .refill_time_ms = 1000 };
	rate_limiter_init(&rl, &c, 0);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(rate_limiter_wait_ns(&rl, 0), 0);
		rate_limiter_consume(&rl, 1, 1, 0);
	}
	/* Bandwidth has plenty; ops must wait 100 ms for the next one. */
	assert_int_equal(rate_limiter_wait_ns(&rl, 0), 100 * MS);
}

static void test_no_limit(void **state)
{
	struct rate_limiter rl;
	struct rate_limiter_conf none;
	memset(&none, 0, sizeof(none));
	rate_limiter_init(&rl, &none, 0);
	assert_false(rate_limiter_active(&rl));
	rate_limiter_consume(&rl, 1ull << 31, 1, 0);
	assert_int_equal(rate_limiter_wait_ns(&rl, 0), 0);
	/* As in Firecracker, size 0 or refill_time 0 limits nothing. */
	struct rate_limiter_conf zero = bw(0, 100, 0);
	rate_limiter_init(&rl, &zero, 0);
	assert_false(rate_limiter_active(&rl));
	zero = bw(100, 0, 0);
	rate_limiter_init(&rl, &zero, 0);
	assert_false(rate_limiter_active(&rl));
	assert_false(rate_limiter_conf_limits(&zero));
}

static void test_extremes(void **state)
{
	struct rate_limiter rl;
	struct rate_limiter_conf c = bw(RATE_LIMIT_MAX_TOKENS, RATE_LIMIT_MAX_REFILL_MS, 0);
	rate_limiter_init(&rl, &c, 0);
	rate_limiter_consume(&rl, UINT32_MAX, 1, 0);
	assert_int_equal(rate_limiter_wait_ns(&rl, UINT64_MAX / 2), 0);
	/* A tiny bucket refilling over 2^40 ms: the wait is huge, not wrapped. */
	c = bw(1, RATE_LIMIT_MAX_REFILL_MS, 0);
	rate_limiter_init(&rl, &c, 0);
	rate_limiter_consume(&rl, UINT32_MAX, 1, 0);
	assert_true(rate_limiter_wait_ns(&rl, 0) >= UINT64_MAX / 4);
}

static int parse(const char *text, struct rate_limiter_conf *out, struct schema_error *err)
{
	struct schema_ctx c;
	schema_ctx_init(&c, err, NULL, 0);
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
	assert_non_null(v);
	int ret = rate_limiter_parse(&c, v, out);
	json_decref(v);
	schema_ctx_release(&c);
	return ret;
}

static void test_parse(void **state)
{
	struct rate_limiter_conf c;
	struct schema_error err;
	assert_int_equal(parse("null", &c, &err), 0);
	assert_false(c.bandwidth.set || c.ops.set);
	assert_int_equal(parse("{}", &c, &err), 0);
	assert_false(rate_limiter_conf_limits(&c));
	assert_int_equal(parse("{\"bandwidth\": {\"size\": 10485760, \"refill_time\": 1000, "
			       "\"one_time_burst\": 5}, \"ops\": null}",
			       &c, &err),
			 0);
	assert_true(c.bandwidth.set);
	assert_false(c.ops.set);
	assert_int_equal(c.bandwidth.size, 10485760);
	assert_int_equal(c.bandwidth.one_time_burst, 5);
	assert_true(rate_limiter_conf_limits(&c));

	assert_int_equal(parse("{\"ops\": {\"size\": 10}}", &c, &err), -EINVAL);
	assert_string_equal(err.path, "ops.refill_time");
	assert_int_equal(parse("{\"ops\": {\"size\": 1, \"refill_time\": -5}}", &c, &err), -EINVAL);
	assert_string_equal(err.message, "must not be negative, got -5");
	assert_int_equal(parse("[]", &c, &err), -EINVAL);
	assert_int_equal(parse("{\"bandwidth\": 5}", &c, &err), -EINVAL);
}

/* A PATCH changes the buckets it gives and keeps the others. */
static void test_update(void **state)
{
	struct rate_limiter_conf cur = bw(100, 10, 0), upd;
	cur.ops = (struct token_bucket_conf){ .set = true, .size = 7, .refill_time_ms = 70 };
	memset(&upd, 0, sizeof(upd));
	upd.bandwidth = (struct token_bucket_conf){ .set = true, .size = 0, .refill_time_ms = 0 };
	rate_limiter_conf_update(&cur, &upd);
	assert_int_equal(cur.bandwidth.size, 0); /* disabled */
	assert_int_equal(cur.ops.size, 7);	 /* kept */
	assert_true(rate_limiter_conf_limits(&cur));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_then_refill),
		cmocka_unit_test(test_debt),
		cmocka_unit_test(test_one_time_burst),
		cmocka_unit_test(test_long_run_rate),
		cmocka_unit_test(test_batched_wakeups),
		cmocka_unit_test(test_ops_and_bandwidth),
		cmocka_unit_test(test_no_limit),
		cmocka_unit_test(test_extremes),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_update),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
