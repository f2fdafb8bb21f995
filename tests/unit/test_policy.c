// SPDX-License-Identifier: GPL-2.0
/*
 * The automatic balloon policy (devices/virtio/balloon/policy.c), driven
 * with statistics written straight into the device and host pressure read
 * from files the test fills: inflate over the margin at its rate, wait for
 * the guest, deflate ahead of need, squeeze harder under host pressure, give
 * all the rate allows after an OOM deflate and then hold, no inflate while
 * the guest starts, stand aside for the operator. Its config rules and
 * its API route.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <linux/virtio_balloon.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/virtio/balloon/balloon.h"
#include "devices/virtio/balloon/conf.h"
#include "tests/unit/support/fake_driver.h"
#include "vmm/config/config.h"

#define F(bit)	  (1ull << (bit))
#define MIB_PAGES BALLOON_PAGES_PER_MIB

struct fixture {
	struct fake_driver fd;
	struct balloon b;
};

static int text_fd(const char *text)
{
	int fd = memfd_create("pressure", 0);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	return fd;
}

/* A running balloon with statistics and the policy on, and a calm host. */
static struct fixture *up(struct balloon_policy_conf pc)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	fake_init(&fx->fd); /* 64 MiB of guest RAM */
	pc.enabled = true;
	struct balloon_params p = { .stats_interval_s = 1, .deflate_on_oom = true, .policy = pc };
	assert_int_equal(balloon_init(&fx->b, &p, &fx->fd.mem, &fx->fd.loop, 0xd0001000, 5), 0);
	fake_attach(&fx->fd, &fx->b.transport);
	uint64_t f = F(VIRTIO_F_VERSION_1) | F(VIRTIO_BALLOON_F_STATS_VQ) |
		     F(VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
	assert_true(fake_negotiate(&fx->fd, f) & VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(fake_setup_queue(&fx->fd, i, 64), 1);
	fake_driver_ok(&fx->fd);
	balloon_pressure_close(&fx->b.pressure);
	fx->b.pressure.psi_fd = text_fd("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
	return fx;
}

static void down(struct fixture *fx)
{
	balloon_destroy(&fx->b);
	fake_destroy(&fx->fd);
	free(fx);
}

/* The guest's statistics arrive: available and free memory in MiB. */
static void stats(struct fixture *fx, uint64_t avail_mib)
{
	fx->b.stats[0] = (struct balloon_stat){ VIRTIO_BALLOON_S_AVAIL, avail_mib << 20 };
	fx->b.stats[1] = (struct balloon_stat){ VIRTIO_BALLOON_S_MEMFREE, avail_mib << 20 };
	fx->b.nr_stats = 2;
	balloon_policy_update(&fx->b);
}

static uint32_t target_mib(struct fixture *fx)
{
	uint32_t v = 0;
	virtio_mmio_bus_ops.read(&fx->b.transport, VIRTIO_MMIO_CONFIG, &v, 4);
	return v / MIB_PAGES;
}

static void guest_holds(struct fixture *fx, uint32_t mib)
{
	uint32_t pages = mib * MIB_PAGES;
	virtio_mmio_bus_ops.write(&fx->b.transport, VIRTIO_MMIO_CONFIG + 4, &pages, 4);
}

static struct balloon_policy_conf conf(void)
{
	struct balloon_policy_conf pc = BALLOON_POLICY_DEFAULTS;
	pc.margin_mib = 16;
	pc.pressure_margin_mib = 8;
	pc.hysteresis_mib = 2;
	pc.inflate_mib_per_s = 10;
	pc.deflate_mib_per_s = 30;
	pc.startup_grace_s = 0;
	return pc;
}

/* Moves the policy's clocks back by SECONDS, as if that much time had passed. */
static void time_passes(struct fixture *fx, uint64_t seconds)
{
	struct balloon_policy_state *st = &fx->b.policy;
	uint64_t *clocks[] = { &st->last_short_ns, &st->started_ns, &st->last_oom_ns };
	for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		if (*clocks[i])
			*clocks[i] -= seconds * 1000000000ull;
	}
}

static void test_inflates_at_its_rate_and_waits_for_the_guest(void **state)
{
	struct fixture *fx = up(conf());
	stats(fx, 50); /* 34 MiB over the margin: 10 MiB a second at most */
	assert_int_equal(target_mib(fx), 10);
	assert_non_null(strstr(fx->b.policy.reason, "inflating"));
	stats(fx, 50); /* the guest has not got there yet */
	assert_int_equal(target_mib(fx), 10);
	assert_non_null(strstr(fx->b.policy.reason, "not reached"));
	guest_holds(fx, 10);
	stats(fx, 40);
	assert_int_equal(target_mib(fx), 20);
	guest_holds(fx, 20);
	stats(fx, 17); /* within the hysteresis of the margin */
	assert_int_equal(target_mib(fx), 20);
	/* Never past RAM minus the margin. */
	guest_holds(fx, 20);
	for (int i = 0; i < 10; i++) {
		stats(fx, 60);
		guest_holds(fx, target_mib(fx));
	}
	assert_int_equal(target_mib(fx), 64 - 16);
	assert_true(fx->b.policy.changes >= 5);
	down(fx);
}

static void test_deflates_ahead_of_need(void **state)
{
	struct fixture *fx = up(conf());
	fx->b.requested_pages = fx->b.num_pages = 60 * MIB_PAGES;
	guest_holds(fx, 60);
	stats(fx, 4); /* 12 MiB short of the margin */
	assert_int_equal(target_mib(fx), 48);
	assert_non_null(strstr(fx->b.policy.reason, "deflating"));
	/* Short again: a burst, so the step doubles per update in a row. */
	guest_holds(fx, 48);
	stats(fx, 8); /* 8 short: 16 */
	assert_int_equal(target_mib(fx), 32);
	guest_holds(fx, 32);
	stats(fx, 13); /* 3 short: 12 */
	assert_int_equal(target_mib(fx), 20);
	/* Plenty between shortfalls: no inflate while the burst may go on. */
	guest_holds(fx, 20);
	stats(fx, 40);
	assert_int_equal(target_mib(fx), 20);
	assert_non_null(strstr(fx->b.policy.reason, "short of memory lately"));
	stats(fx, 13); /* 3 short: 24, at most deflate_mib_per_s, from what the guest holds */
	assert_int_equal(target_mib(fx), 0);
	/* A shortfall long after the last is a new burst, taken as it is. */
	fx->b.requested_pages = fx->b.num_pages = 30 * MIB_PAGES;
	guest_holds(fx, 30);
	time_passes(fx, 30);
	stats(fx, 10); /* 6 short */
	assert_int_equal(target_mib(fx), 24);
	/* And once the burst is over, inflating resumes. */
	guest_holds(fx, 24);
	time_passes(fx, 29);
	stats(fx, 40); /* the burst may still go on */
	assert_int_equal(target_mib(fx), 24);
	time_passes(fx, 1);
	stats(fx, 40);
	assert_int_equal(target_mib(fx), 34);
	down(fx);
}

static void test_host_pressure_squeezes_harder(void **state)
{
	struct fixture *fx = up(conf());
	fx->b.requested_pages = fx->b.num_pages = 20 * MIB_PAGES;
	guest_holds(fx, 20);
	stats(fx, 14); /* near the margin: hold */
	assert_int_equal(target_mib(fx), 20);
	close(fx->b.pressure.psi_fd);
	fx->b.pressure.psi_fd = text_fd("some avg10=42.50 avg60=10.00 avg300=1.00 total=9\n");
	log_set_level(LOG_INFO); /* the start and end of pressure are logged, once each */
	stats(fx, 14); /* the margin is now 8 MiB: 6 over it */
	assert_true(fx->b.policy.host_pressure);
	assert_int_equal(fx->b.policy.psi_some_avg10_x100, 4250);
	assert_int_equal(target_mib(fx), 26);
	assert_int_equal(fx->b.log_pressure.in_window, 1);
	guest_holds(fx, 26);
	stats(fx, 8);
	assert_int_equal(fx->b.log_pressure.in_window, 1);
	close(fx->b.pressure.psi_fd);
	fx->b.pressure.psi_fd = text_fd("some avg10=0.00 avg60=9.00 avg300=1.00 total=9\n");
	stats(fx, 8); /* calm again: 8 short of the 16 MiB margin */
	assert_false(fx->b.policy.host_pressure);
	assert_int_equal(fx->b.log_pressure.in_window, 2);
	assert_int_equal(target_mib(fx), 18);
	log_set_level(LOG_ERROR);
	down(fx);
}

static void test_oom_deflate_gives_all_at_once_then_holds(void **state)
{
	struct fixture *fx = up(conf());
	fx->b.requested_pages = fx->b.num_pages = 40 * MIB_PAGES;
	guest_holds(fx, 40);
	guest_holds(fx, 39); /* deflate-on-oom */
	assert_int_equal(fx->b.counters.oom_deflates, 1);
	stats(fx, 50); /* plenty available now, but the guest was out of memory */
	assert_int_equal(target_mib(fx), 39 - 30);
	assert_non_null(strstr(fx->b.policy.reason, "deflated on OOM"));
	guest_holds(fx, 9);
	stats(fx, 50);
	assert_int_equal(target_mib(fx), 9);
	assert_non_null(strstr(fx->b.policy.reason, "short of memory lately"));
	time_passes(fx, 30);
	stats(fx, 50); /* the burst is over, the OOM cooldown is not */
	assert_int_equal(target_mib(fx), 9);
	assert_non_null(strstr(fx->b.policy.reason, "OOM lately"));
	time_passes(fx, 30);
	stats(fx, 50);
	assert_int_equal(target_mib(fx), 19);
	down(fx);
}

/* An OOM deflate from before the policy was on is not news to it, but it holds. */
static void test_oom_deflate_while_off_is_not_new(void **state)
{
	struct fixture *fx = up(conf());
	fx->b.policy_conf.enabled = false;
	fx->b.requested_pages = fx->b.num_pages = 40 * MIB_PAGES;
	guest_holds(fx, 40);
	guest_holds(fx, 39); /* deflate-on-oom */
	stats(fx, 50);
	fx->b.policy_conf.enabled = true;
	stats(fx, 50);
	assert_int_equal(target_mib(fx), 39);
	assert_non_null(strstr(fx->b.policy.reason, "OOM lately"));
	time_passes(fx, 60);
	stats(fx, 50);
	assert_null(strstr(fx->b.policy.reason, "OOM lately"));
	down(fx);
}

static void test_no_inflate_while_the_guest_starts(void **state)
{
	struct balloon_policy_conf pc = conf();
	pc.startup_grace_s = 10;
	struct fixture *fx = up(pc);
	stats(fx, 50);
	assert_int_equal(target_mib(fx), 0);
	assert_non_null(strstr(fx->b.policy.reason, "started lately"));
	time_passes(fx, 9);
	stats(fx, 50);
	assert_int_equal(target_mib(fx), 0);
	time_passes(fx, 1);
	stats(fx, 50);
	assert_int_equal(target_mib(fx), 10);
	/* A deflate is never held back. */
	guest_holds(fx, 10);
	balloon_policy_reset(&fx->b);
	stats(fx, 4);
	assert_int_equal(target_mib(fx), 0);
	/* After a reset of the driver, a new grace. */
	balloon_policy_reset(&fx->b);
	guest_holds(fx, 0);
	stats(fx, 50);
	assert_int_equal(target_mib(fx), 0);
	assert_non_null(strstr(fx->b.policy.reason, "started lately"));
	/* The grace counts from the guest's start, not from the policy's. */
	fx->b.policy_conf.enabled = false;
	time_passes(fx, 10);
	stats(fx, 50);
	fx->b.policy_conf.enabled = true;
	stats(fx, 50);
	assert_int_equal(target_mib(fx), 10);
	down(fx);
}

static void test_operator_target_turns_it_off(void **state)
{
	struct fixture *fx = up(conf());
	balloon_set_target(&fx->b, 5);
	assert_false(fx->b.policy_conf.enabled);
	stats(fx, 60);
	assert_int_equal(target_mib(fx), 5);
	down(fx);
}

static int load(struct vm_config *cfg, const char *json, struct schema_error *err)
{
	char *t = strdup(json);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	int ret = config_load_buffer(t, strlen(t), cfg, err);
	free(t);
	return ret;
}

static void test_config_rules(void **state)
{
	struct vm_config cfg;
	struct schema_error err;
	config_init(&cfg);
	assert_int_equal(load(&cfg, "{'ebb': {'balloon': {'policy': {'enabled': true}}}}", &err),
			 -EINVAL);
	assert_string_equal(err.path, "ebb.balloon.policy.enabled");
	assert_non_null(strstr(err.message, "needs a balloon"));
	assert_int_equal(load(&cfg,
			      "{'balloon': {'amount_mib': 0, 'deflate_on_oom': true},\n"
			      " 'ebb': {'balloon': {'policy': {'enabled': true}}}}",
			      &err),
			 -EINVAL);
	assert_non_null(strstr(err.message, "needs balloon statistics"));
	assert_int_equal(err.line, 2);
	assert_int_equal(
		load(&cfg,
		     "{'machine-config': {'vcpu_count': 1, 'mem_size_mib': 100},"
		     " 'balloon': {'amount_mib': 0, 'deflate_on_oom': true,"
		     " 'stats_polling_interval_s': 1},"
		     " 'ebb': {'balloon': {'policy': {'enabled': true, 'margin_mib': 100}}}}",
		     &err),
		-EINVAL);
	assert_string_equal(err.path, "ebb.balloon.policy.margin_mib");
	assert_int_equal(
		load(&cfg, "{'ebb': {'balloon': {'policy': {'inflate_mib_per_s': 0}}}}", &err),
		-EINVAL);
	assert_string_equal(err.path, "ebb.balloon.policy.inflate_mib_per_s");
	assert_int_equal(load(&cfg, "{'ebb': {'balloon': {'policy': {'burst_hold_s': 0}}}}", &err),
			 -EINVAL);
	assert_string_equal(err.path, "ebb.balloon.policy.burst_hold_s");
	assert_int_equal(
		load(&cfg, "{'ebb': {'balloon': {'policy': {'startup_grace_s': 3601}}}}", &err),
		-EINVAL);
	assert_string_equal(err.path, "ebb.balloon.policy.startup_grace_s");
	assert_int_equal(load(&cfg,
			      "{'balloon': {'amount_mib': 0, 'deflate_on_oom': true,"
			      " 'stats_polling_interval_s': 1},"
			      " 'ebb': {'balloon': {'policy': {'enabled': true, 'margin_mib': 64}},"
			      " 'memory': {'merge': true}}}",
			      &err),
			 0);
	const struct balloon_settings *s = device_settings(
		&cfg.devices, device_type_by_section(cfg.devices.registry, "balloon"));
	assert_true(s->policy.enabled);
	assert_int_equal(s->policy.margin_mib, 64);
	assert_int_equal(s->policy.deflate_mib_per_s, 512); /* the default stays */
	assert_true(cfg.mem_merge);
	assert_int_equal(load(&cfg, "{'ebb': {'memory_backing': 'memfd'}}", &err), -EINVAL);
	assert_string_equal(err.path, "ebb.memory.merge");
	config_free(&cfg);

	/* share_kernel sits beside merge and needs anonymous RAM too. */
	config_init(&cfg);
	assert_int_equal(load(&cfg, "{'ebb': {'memory': {'share_kernel': true}}}", &err), 0);
	assert_true(cfg.share_kernel);
	assert_false(cfg.mem_merge);
	assert_int_equal(load(&cfg, "{'ebb': {'memory_backing': 'hugetlbfs'}}", &err), -EINVAL);
	assert_string_equal(err.path, "ebb.memory.share_kernel");
	assert_int_equal(load(&cfg, "{'ebb': {'memory': {'share_kernel': 1}}}", &err), -EINVAL);
	assert_string_equal(err.path, "ebb.memory.share_kernel");
	config_free(&cfg);

	/* free_page_tables is on unless asked off, with any backing. */
	config_init(&cfg);
	assert_true(cfg.free_page_tables);
	assert_int_equal(load(&cfg,
			      "{'ebb': {'memory_backing': 'memfd', 'memory': {'free_page_tables': "
			      "false}}}",
			      &err),
			 0);
	assert_false(cfg.free_page_tables);
	assert_false(cfg.share_kernel);
	assert_int_equal(load(&cfg, "{'ebb': {'memory': {'free_page_tables': 'no'}}}", &err),
			 -EINVAL);
	assert_string_equal(err.path, "ebb.memory.free_page_tables");
	config_free(&cfg);

	/* free_zero_pages likewise, and apart from free_page_tables. */
	config_init(&cfg);
	assert_true(cfg.free_zero_pages);
	assert_int_equal(load(&cfg, "{'ebb': {'memory': {'free_zero_pages': false}}}", &err), 0);
	assert_false(cfg.free_zero_pages);
	assert_true(cfg.free_page_tables);
	assert_int_equal(load(&cfg, "{'ebb': {'memory': {'free_zero_pages': 0}}}", &err), -EINVAL);
	assert_string_equal(err.path, "ebb.memory.free_zero_pages");
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inflates_at_its_rate_and_waits_for_the_guest),
		cmocka_unit_test(test_deflates_ahead_of_need),
		cmocka_unit_test(test_host_pressure_squeezes_harder),
		cmocka_unit_test(test_oom_deflate_gives_all_at_once_then_holds),
		cmocka_unit_test(test_oom_deflate_while_off_is_not_new),
		cmocka_unit_test(test_no_inflate_while_the_guest_starts),
		cmocka_unit_test(test_operator_target_turns_it_off),
		cmocka_unit_test(test_config_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
