// SPDX-License-Identifier: GPL-2.0
/* The guest command line ebb builds: boot args, device slots, reporting tunables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "vmm/cmdline.h"

static char *build(struct vm_config *cfg, unsigned int nr_slots)
{
	struct device_slot slots[2] = {
		{ .addr = 0xd0001000, .size = 0x1000, .gsi = 5 },
		{ .addr = 0xd0002000, .size = 0x1000, .gsi = 6 },
	};
	char *s = cmdline_build(cfg, slots, nr_slots);
	assert_non_null(s);
	return s;
}

static void test_default_args_and_slots(void **state)
{
	struct vm_config cfg;
	config_init(&cfg);
	char *s = build(&cfg, 2);
	assert_string_equal(s, CONFIG_DEFAULT_BOOT_ARGS
			    " virtio_mmio.device=4K@0xd0001000:5 virtio_mmio.device=4K@0xd0002000:6");
	free(s);
	config_set_str(&cfg.boot_args, "console=ttyS0 quiet");
	s = build(&cfg, 0);
	assert_string_equal(s, "console=ttyS0 quiet");
	free(s);
	config_free(&cfg);
}

static void test_reporting_profiles(void **state)
{
	struct vm_config cfg;
	config_init(&cfg);
	config_set_str(&cfg.boot_args, "x");
	cfg.balloon.present = true;

	/* Without reporting, nothing about it goes to the guest. */
	char *s = build(&cfg, 0);
	assert_string_equal(s, "x");
	free(s);

	cfg.balloon.free_page_reporting = true;
	s = build(&cfg, 0);
	assert_string_equal(s, "x page_reporting.delay_ms=200 page_reporting.budget=0"
			       " page_reporting.watermark_mib=0");
	free(s);

	/* No profile sets the reporting order; an explicit one is passed. */
	cfg.reporting.order = 5;
	s = build(&cfg, 0);
	assert_string_equal(s, "x page_reporting.delay_ms=200 page_reporting.budget=0"
			       " page_reporting.watermark_mib=0 page_reporting.page_reporting_order=5");
	free(s);
	cfg.reporting.profile = REPORTING_STOCK;
	s = build(&cfg, 0);
	assert_string_equal(s, "x page_reporting.page_reporting_order=5");
	free(s);
	cfg.reporting.profile = REPORTING_FAST;
	cfg.reporting.order = -1;

	cfg.reporting.profile = REPORTING_STOCK;
	s = build(&cfg, 0);
	assert_string_equal(s, "x");
	free(s);

	/* An explicit value is passed whatever the profile. */
	cfg.reporting.delay_ms = 250;
	s = build(&cfg, 0);
	assert_string_equal(s, "x page_reporting.delay_ms=250");
	free(s);
	cfg.reporting.profile = REPORTING_FAST;
	cfg.reporting.budget = 4;
	s = build(&cfg, 0);
	assert_string_equal(s, "x page_reporting.delay_ms=250 page_reporting.budget=4"
			       " page_reporting.watermark_mib=0");
	free(s);
	config_free(&cfg);
}

static void add_drive(struct vm_config *cfg, const char *id, bool root, bool ro, const char *uuid)
{
	struct drive_config *d = &cfg->drives[cfg->nr_drives++];
	config_set_str(&d->drive_id, id);
	config_set_str(&d->path_on_host, "x.img");
	config_set_str(&d->partuuid, uuid);
	d->is_root_device = root;
	d->is_read_only = ro;
}

static void test_root_drive(void **state)
{
	struct vm_config cfg;
	config_init(&cfg);
	config_set_str(&cfg.boot_args, "x");

	/* A drive that is not the root adds nothing. */
	add_drive(&cfg, "data", false, false, NULL);
	char *s = build(&cfg, 0);
	assert_string_equal(s, "x");
	free(s);

	add_drive(&cfg, "root", true, false, NULL);
	s = build(&cfg, 1);
	assert_string_equal(s, "x virtio_mmio.device=4K@0xd0001000:5 root=/dev/vda rw");
	free(s);

	cfg.drives[1].is_read_only = true;
	s = build(&cfg, 0);
	assert_string_equal(s, "x root=/dev/vda ro");
	free(s);

	config_set_str(&cfg.drives[1].partuuid, "0eaa91a0-01");
	cfg.drives[1].is_read_only = false;
	s = build(&cfg, 0);
	assert_string_equal(s, "x root=PARTUUID=0eaa91a0-01 rw");
	free(s);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_args_and_slots),
		cmocka_unit_test(test_reporting_profiles),
		cmocka_unit_test(test_root_drive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
