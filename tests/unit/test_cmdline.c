// SPDX-License-Identifier: GPL-2.0
/*
 * The guest command line ebb builds: boot args, the device slots the arch
 * announces, and what each device type adds (reporting tunables, root=).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/vm.h"

/* Loads json (with ' for ") onto cfg; the test fails if it does not load. */
static void load(struct vm_config *cfg, const char *json)
{
	struct schema_error err;
	char *text = strdup(json);
	for (char *p = text; *p; p++)
		if (*p == '\'')
			*p = '"';
	int ret = config_load_buffer(text, strlen(text), cfg, &err);
	if (ret)
		fail_msg("%s: %s: %s", json, err.path, err.message);
	free(text);
}

/* With ACPI (the default) the tables announce devices; these tests want the words. */
static char *build(struct vm_config *cfg)
{
	cfg->acpi = false;
	struct vm vm = { .arch = &host_arch, .cfg = cfg };
	assert_int_equal(vm_plan_devices(&vm), 0);
	char *s = vm_build_cmdline(&vm);
	assert_non_null(s);
	return s;
}

static void test_default_args_and_slots(void **state)
{
	struct vm_config cfg;
	config_init(&cfg);
	assert_true(cfg.acpi);
	load(&cfg, "{'balloon': {'amount_mib': 0, 'deflate_on_oom': false},"
		   " 'drives': [{'drive_id': 'd', 'path_on_host': 'x', 'is_root_device': false}],"
		   " 'ebb': {'page_reporting': {'profile': 'stock'}}}");
	char *s = build(&cfg);
	assert_string_equal(
		s, CONFIG_DEFAULT_BOOT_ARGS
		" virtio_mmio.device=4K@0xd0001000:5 virtio_mmio.device=4K@0xd0002000:6");
	free(s);
	config_free(&cfg);

	config_init(&cfg);
	load(&cfg,
	     "{'boot-source': {'kernel_image_path': 'k', 'boot_args': 'console=ttyS0 quiet'}}");
	s = build(&cfg);
	assert_string_equal(s, "console=ttyS0 quiet");
	free(s);
	config_free(&cfg);
}

static void test_reporting_profiles(void **state)
{
	struct vm_config cfg;
	config_init(&cfg);
	load(&cfg, "{'boot-source': {'kernel_image_path': 'k', 'boot_args': 'x'},"
		   " 'balloon': {'amount_mib': 0, 'deflate_on_oom': false}}");

	/* Without reporting, nothing about it goes to the guest. */
	char *s = build(&cfg);
	assert_string_equal(s, "x virtio_mmio.device=4K@0xd0001000:5");
	free(s);

	load(&cfg, "{'balloon': {'amount_mib': 0, 'deflate_on_oom': false,"
		   " 'free_page_reporting': true}}");
	s = build(&cfg);
	assert_string_equal(s, "x virtio_mmio.device=4K@0xd0001000:5 page_reporting.delay_ms=200"
			       " page_reporting.budget=0 page_reporting.watermark_mib=0"
			       " page_reporting.settled_order=5 page_reporting.settle_ms=10000");
	free(s);

	/*
	 * No profile sets the reporting order; an explicit one is passed, and at 5
	 * or below it leaves the fast profile's settled tier no room.
	 */
	load(&cfg, "{'ebb': {'page_reporting': {'order': 5}}}");
	s = build(&cfg);
	assert_non_null(
		strstr(s, " page_reporting.watermark_mib=0 page_reporting.page_reporting_order=5"));
	assert_null(strstr(s, "settle"));
	free(s);
	load(&cfg, "{'ebb': {'page_reporting': {'profile': 'stock'}}}");
	s = build(&cfg);
	assert_string_equal(s, "x virtio_mmio.device=4K@0xd0001000:5"
			       " page_reporting.page_reporting_order=5");
	free(s);
	load(&cfg, "{'ebb': {'page_reporting': {'order': null}}}");
	s = build(&cfg);
	assert_non_null(strstr(s, "page_reporting_order=5")); /* null leaves it as it was */
	free(s);
	config_free(&cfg);

	config_init(&cfg);
	load(&cfg,
	     "{'boot-source': {'kernel_image_path': 'k', 'boot_args': 'x'},"
	     " 'balloon': {'amount_mib': 0, 'deflate_on_oom': false, 'free_page_reporting': true},"
	     " 'ebb': {'page_reporting': {'profile': 'stock'}}}");
	s = build(&cfg);
	assert_string_equal(s, "x virtio_mmio.device=4K@0xd0001000:5");
	free(s);

	/* An explicit value is passed whatever the profile. */
	load(&cfg, "{'ebb': {'page_reporting': {'delay_ms': 250}}}");
	s = build(&cfg);
	assert_string_equal(s, "x virtio_mmio.device=4K@0xd0001000:5 page_reporting.delay_ms=250");
	free(s);
	load(&cfg, "{'ebb': {'page_reporting': {'profile': 'fast', 'budget': 4}}}");
	s = build(&cfg);
	assert_string_equal(s, "x virtio_mmio.device=4K@0xd0001000:5 page_reporting.delay_ms=250"
			       " page_reporting.budget=4 page_reporting.watermark_mib=0"
			       " page_reporting.settled_order=5 page_reporting.settle_ms=10000");
	free(s);
	config_free(&cfg);
}

/*
 * The settled tier: the fast profile's (order 5, 10 s), each value
 * settable, 11 turning it off; the stock profile's only when asked for.
 */
static void test_settled_tier(void **state)
{
	struct vm_config cfg;
	config_init(&cfg);
	load(&cfg,
	     "{'boot-source': {'kernel_image_path': 'k', 'boot_args': 'x'},"
	     " 'balloon': {'amount_mib': 0, 'deflate_on_oom': false, 'free_page_reporting': true},"
	     " 'ebb': {'page_reporting': {'order': 6}}}");
	char *s = build(&cfg);
	assert_non_null(strstr(s,
			       " page_reporting.page_reporting_order=6"
			       " page_reporting.settled_order=5 page_reporting.settle_ms=10000"));
	free(s);

	load(&cfg, "{'ebb': {'page_reporting': {'settle_ms': 30000}}}");
	s = build(&cfg);
	assert_non_null(
		strstr(s, " page_reporting.settled_order=5 page_reporting.settle_ms=30000"));
	free(s);

	load(&cfg, "{'ebb': {'page_reporting': {'settled_order': 3}}}");
	s = build(&cfg);
	assert_non_null(
		strstr(s, " page_reporting.settled_order=3 page_reporting.settle_ms=30000"));
	free(s);

	/* 11 turns the tier off: passed as given, and no settle time from the profile. */
	config_free(&cfg);
	config_init(&cfg);
	load(&cfg,
	     "{'boot-source': {'kernel_image_path': 'k', 'boot_args': 'x'},"
	     " 'balloon': {'amount_mib': 0, 'deflate_on_oom': false, 'free_page_reporting': true},"
	     " 'ebb': {'page_reporting': {'settled_order': 11}}}");
	s = build(&cfg);
	assert_non_null(strstr(s, " page_reporting.settled_order=11"));
	assert_null(strstr(s, "settle_ms"));
	free(s);

	/* The stock profile runs no settled tier, unless it is asked for. */
	config_free(&cfg);
	config_init(&cfg);
	load(&cfg,
	     "{'boot-source': {'kernel_image_path': 'k', 'boot_args': 'x'},"
	     " 'balloon': {'amount_mib': 0, 'deflate_on_oom': false, 'free_page_reporting': true},"
	     " 'ebb': {'page_reporting': {'profile': 'stock'}}}");
	s = build(&cfg);
	assert_string_equal(s, "x virtio_mmio.device=4K@0xd0001000:5");
	free(s);
	load(&cfg, "{'ebb': {'page_reporting': {'settled_order': 4}}}");
	s = build(&cfg);
	assert_string_equal(s,
			    "x virtio_mmio.device=4K@0xd0001000:5 page_reporting.settled_order=4");
	free(s);
	config_free(&cfg);
}

static void test_root_drive(void **state)
{
	struct vm_config cfg;
	config_init(&cfg);

	/* A drive that is not the root adds nothing but its slot. */
	load(&cfg,
	     "{'boot-source': {'kernel_image_path': 'k', 'boot_args': 'x'},"
	     " 'drives': [{'drive_id': 'data', 'path_on_host': 'x', 'is_root_device': false}]}");
	char *s = build(&cfg);
	assert_string_equal(s, "x virtio_mmio.device=4K@0xd0001000:5");
	free(s);

	/* The root drive takes the first slot, whatever its place in the config. */
	load(&cfg, "{'drives': [{'drive_id': 'data', 'path_on_host': 'x', 'is_root_device': false},"
		   " {'drive_id': 'root', 'path_on_host': 'r', 'is_root_device': true}]}");
	struct vm vm = { .arch = &host_arch, .cfg = &cfg };
	assert_int_equal(vm_plan_devices(&vm), 0);
	assert_int_equal(vm.nr_devices, 2);
	assert_string_equal(vm.devices[0].name, "block_root");
	assert_int_equal(vm.devices[0].slot.addr, 0xd0001000);
	assert_string_equal(vm.devices[1].name, "block_data");
	s = build(&cfg);
	assert_string_equal(
		s, "x virtio_mmio.device=4K@0xd0001000:5 virtio_mmio.device=4K@0xd0002000:6"
		   " root=/dev/vda rw");
	free(s);

	load(&cfg, "{'drives': [{'drive_id': 'root', 'path_on_host': 'r', 'is_root_device': true,"
		   " 'is_read_only': true}]}");
	s = build(&cfg);
	assert_string_equal(s, "x virtio_mmio.device=4K@0xd0001000:5 root=/dev/vda ro");
	free(s);

	load(&cfg, "{'drives': [{'drive_id': 'root', 'path_on_host': 'r', 'is_root_device': true,"
		   " 'partuuid': '0eaa91a0-01'}]}");
	s = build(&cfg);
	assert_string_equal(s, "x virtio_mmio.device=4K@0xd0001000:5 root=PARTUUID=0eaa91a0-01 rw");
	free(s);
	config_free(&cfg);
}

/* Every device gets a slot of its own, in registry order: balloon, then drives. */
static void test_slots(void **state)
{
	struct vm_config cfg;
	config_init(&cfg);
	const struct device_type *drives = device_type_by_section(cfg.devices.registry, "drives");
	load(&cfg, "{'balloon': {'amount_mib': 0, 'deflate_on_oom': false}}");
	for (unsigned int i = 0; i < 8; i++) {
		char json[128];
		snprintf(json, sizeof(json),
			 "{\"drive_id\": \"d%u\", \"path_on_host\": \"x\", \"is_root_device\": "
			 "false}",
			 i);
		struct schema_error err;
		json_t *v = json_loads(json, 0, NULL);
		assert_int_equal(config_put_device(drives, NULL, v, &cfg, &err), 0);
		json_decref(v);
	}
	struct vm vm = { .arch = &host_arch, .cfg = &cfg };
	assert_int_equal(vm_plan_devices(&vm), 0);
	assert_int_equal(vm.nr_devices, 9);
	assert_string_equal(vm.devices[0].name, "balloon");
	assert_string_equal(vm.devices[8].name, "block_d7");
	for (unsigned int i = 1; i < 9; i++)
		assert_true(vm.devices[i].slot.addr > vm.devices[i - 1].slot.addr &&
			    vm.devices[i].slot.gsi != vm.devices[i - 1].slot.gsi);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_args_and_slots),
		cmocka_unit_test(test_reporting_profiles),
		cmocka_unit_test(test_settled_tier),
		cmocka_unit_test(test_root_drive),
		cmocka_unit_test(test_slots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
