// SPDX-License-Identifier: GPL-2.0
/*
 * The configuration a snapshot carries (vmm/snapshot_conf.c): a VM's
 * config written as a document and loaded into a fresh config gives the
 * same machine, devices and ebb settings; a hostile document is refused by
 * the config's own rules, with the key it broke.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/balloon/conf.h"
#include "devices/virtio/block/conf.h"
#include "devices/virtio/net/conf.h"
#include "devices/virtio/vsock/conf.h"
#include "vmm/config/config.h"
#include "vmm/snapshot.h"

static const char *source_config =
	"{\"boot-source\": {\"kernel_image_path\": \"/k\", \"boot_args\": \"console=ttyS0\"},\n"
	" \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 512},\n"
	" \"balloon\": {\"amount_mib\": 16, \"deflate_on_oom\": true,\n"
	"              \"stats_polling_interval_s\": 2, \"free_page_reporting\": true,\n"
	"              \"free_page_hinting\": true},\n"
	" \"drives\": [\n"
	"   {\"drive_id\": \"data\", \"path_on_host\": \"/d.img\", \"is_root_device\": false,\n"
	"    \"is_read_only\": true, \"rate_limiter\": {\"bandwidth\": {\"size\": 1048576,\n"
	"    \"one_time_burst\": 4096, \"refill_time\": 100}}},\n"
	"   {\"drive_id\": \"rootfs\", \"path_on_host\": \"/r.ext4\", \"is_root_device\": true,\n"
	"    \"cache_type\": \"Writeback\", \"partuuid\": \"abc-1\"}],\n"
	" \"network-interfaces\": [\n"
	"   {\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\",\n"
	"    \"guest_mac\": \"06:00:00:00:00:01\"},\n"
	"   {\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\", \"mtu\": 1400}],\n"
	" \"vsock\": {\"vsock_id\": \"v\", \"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"},\n"
	" \"ebb\": {\"acpi\": false, \"memory\": {\"merge\": true}, \"reporting_queue_size\": "
	"128,\n"
	"         \"page_reporting\": {\"profile\": \"stock\", \"delay_ms\": 500, \"order\": 5,\n"
	"                            \"settled_order\": 3, \"settle_ms\": 20000},\n"
	"         \"balloon\": {\"policy\": {\"enabled\": true, \"margin_mib\": 96}}}\n"
	"}\n";

static void load_source(struct vm_config *cfg)
{
	struct schema_error err;
	config_init(cfg);
	int ret = config_load_buffer(source_config, strlen(source_config), cfg, &err);
	if (ret < 0)
		fail_msg("%s: %s", err.path, err.message);
}

static char *dump(const struct vm_config *cfg)
{
	json_t *doc = snapshot_config_json(cfg);
	assert_non_null(doc);
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	assert_non_null(text);
	return text;
}

static const void *conf_of(const struct vm_config *cfg, const char *section, int n)
{
	const struct device_type *t = device_type_by_section(cfg->devices.registry, section);
	const void *confs[DEVICE_MAX_CONFS];
	unsigned int nr = device_confs_of(&cfg->devices, t, confs, NULL);
	assert_true((unsigned int)n < nr);
	return confs[n];
}

static void test_round_trip(void **state)
{
	struct vm_config src, dst;
	char err[1024];
	load_source(&src);
	char *text = dump(&src);
	config_init(&dst);
	assert_int_equal(snapshot_config_apply(&dst, text, strlen(text), err, sizeof(err)), 0);

	/* The machine, but not how it booted: a restore does not boot. */
	assert_int_equal(dst.vcpus, 2);
	assert_int_equal(dst.mem_mib, 512);
	assert_false(dst.acpi);
	assert_true(dst.mem_merge);
	assert_null(dst.kernel_path);
	assert_null(dst.boot_args);

	const struct balloon_conf *b = conf_of(&dst, "balloon", 0);
	assert_int_equal(b->amount_mib, 16);
	assert_true(b->deflate_on_oom);
	assert_int_equal(b->stats_polling_interval_s, 2);
	assert_true(b->free_page_reporting);
	assert_true(b->free_page_hinting);

	/* Drives in their configuration order, every field. */
	const struct block_conf *d0 = conf_of(&dst, "drives", 0), *d1 = conf_of(&dst, "drives", 1);
	assert_string_equal(d0->drive_id, "data");
	assert_string_equal(d0->path_on_host, "/d.img");
	assert_true(d0->is_read_only);
	assert_false(d0->is_root_device);
	assert_null(d0->partuuid);
	/* A drive's limits are kept; an unset bucket stays unset. */
	assert_true(d0->rate_limiter.bandwidth.set);
	assert_int_equal(d0->rate_limiter.bandwidth.size, 1048576);
	assert_int_equal(d0->rate_limiter.bandwidth.one_time_burst, 4096);
	assert_int_equal(d0->rate_limiter.bandwidth.refill_time_ms, 100);
	assert_false(d0->rate_limiter.ops.set);
	assert_false(rate_limiter_conf_limits(&d1->rate_limiter));
	assert_string_equal(d1->drive_id, "rootfs");
	assert_true(d1->is_root_device);
	assert_int_equal(d1->cache_type, BLOCK_CACHE_WRITEBACK);
	assert_string_equal(d1->partuuid, "abc-1");

	/* Interfaces: an mtu not given stays not given (0 could not be loaded back). */
	const struct net_conf *n0 = conf_of(&dst, "network-interfaces", 0);
	const struct net_conf *n1 = conf_of(&dst, "network-interfaces", 1);
	assert_string_equal(n0->host_dev_name, "tap0");
	assert_string_equal(n0->guest_mac, "06:00:00:00:00:01");
	assert_int_equal(n0->mtu, 0);
	assert_string_equal(n1->iface_id, "eth1");
	assert_null(n1->guest_mac);
	assert_int_equal(n1->mtu, 1400);
	const struct vsock_conf *v = conf_of(&dst, "vsock", 0);
	assert_int_equal(v->guest_cid, 3);
	assert_string_equal(v->uds_path, "/tmp/v.sock");

	/* The ebb-only settings, byte for byte: queue size, tunables (unset ones too), policy. */
	const struct device_type *bt = device_type_by_section(dst.devices.registry, "balloon");
	const struct balloon_settings *ss = device_settings(&src.devices, bt);
	const struct balloon_settings *ds = device_settings(&dst.devices, bt);
	assert_int_equal(ds->reporting_queue_size, 128);
	assert_int_equal(ds->reporting.profile, REPORTING_STOCK);
	assert_int_equal(ds->reporting.delay_ms, 500);
	assert_int_equal(ds->reporting.budget, -1);
	assert_int_equal(ds->reporting.order, 5);
	assert_int_equal(ds->reporting.settled_order, 3);
	assert_int_equal(ds->reporting.settle_ms, 20000);
	assert_true(ds->policy.enabled);
	assert_int_equal(ds->policy.margin_mib, 96);
	assert_memory_equal(ss, ds, sizeof(*ss));

	/* And once more: the document is stable. */
	char *again = dump(&dst);
	assert_string_equal(text, again);
	free(again);
	free(text);
	config_free(&src);
	config_free(&dst);
}

static void test_defaults_round_trip(void **state)
{
	struct vm_config src, dst;
	char err[1024];
	config_init(&src);
	char *text = dump(&src);
	config_init(&dst);
	assert_int_equal(snapshot_config_apply(&dst, text, strlen(text), err, sizeof(err)), 0);
	assert_int_equal(dst.devices.nr, 0);
	assert_memory_equal(src.devices.settings, dst.devices.settings,
			    sizeof(src.devices.settings));
	free(text);
	config_free(&src);
	config_free(&dst);
}

/* A state file's configuration goes through the config's rules, not around them. */
static void test_hostile_documents_refused(void **state)
{
	static const struct {
		const char *doc;
		const char *want;
	} cases[] = {
		{ "{\"machine-config\": {\"vcpu_count\": 0, \"mem_size_mib\": 128}}",
		  "vcpu_count" },
		{ "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128},"
		  " \"balloon\": {\"amount_mib\": 4096, \"deflate_on_oom\": false}}",
		  "balloon.amount_mib" },
		{ "{\"drives\": [{\"drive_id\": \"a b\", \"path_on_host\": \"/x\","
		  " \"is_root_device\": true}]}",
		  "drive_id" },
		{ "{\"ebb\": {\"page_reporting\": {\"profile\": \"warp\"}}}", "profile" },
		{ "{\"no-such-section\": {}}", "no-such-section" },
		{ "[1, 2]", "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vm_config cfg;
		char err[1024] = "";
		config_init(&cfg);
		int ret = snapshot_config_apply(&cfg, cases[i].doc, strlen(cases[i].doc), err,
						sizeof(err));
		assert_true(ret < 0);
		assert_non_null(strstr(err, "its configuration"));
		assert_non_null(strstr(err, cases[i].want));
		/* Nothing changed. */
		assert_int_equal(cfg.devices.nr, 0);
		assert_int_equal(cfg.mem_mib, CONFIG_DEFAULT_MEM_MIB);
		config_free(&cfg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_defaults_round_trip),
		cmocka_unit_test(test_hostile_documents_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
