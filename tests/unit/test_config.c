// SPDX-License-Identifier: GPL-2.0
/*
 * vmm/config: the strict JSON config. Every error class is checked for its
 * message, its JSON path and the line:column it points at; the per-resource
 * parsers must leave the config alone when they fail; the examples load.
 *
 * JSON in this file is written with ' for " (see dq()) so columns can be
 * counted by eye.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/json_locate.h"
#include "devices/virtio/balloon/conf.h"
#include "devices/virtio/block/conf.h"
#include "devices/virtio/net/conf.h"
#include "vmm/config/config.h"

/* The configured devices, through the same list the VMM reads. */
static const struct device_type *type_of(const struct vm_config *cfg, const char *section)
{
	const struct device_type *t = device_type_by_section(cfg->devices.registry, section);
	assert_non_null(t);
	return t;
}

static struct balloon_conf *balloon_of(const struct vm_config *cfg)
{
	int i = device_confs_find(&cfg->devices, type_of(cfg, "balloon"), NULL);
	return i < 0 ? NULL : cfg->devices.list[i].conf;
}

static unsigned int nr_drives(const struct vm_config *cfg)
{
	return device_confs_of(&cfg->devices, type_of(cfg, "drives"), NULL, NULL);
}

/* The n-th drive in configuration order; NULL past the last. */
static struct block_conf *drive_at(const struct vm_config *cfg, unsigned int n)
{
	const void *confs[DEVICE_MAX_CONFS];
	unsigned int nr = device_confs_of(&cfg->devices, type_of(cfg, "drives"), confs, NULL);
	return n < nr ? (struct block_conf *)confs[n] : NULL;
}

static struct balloon_settings *reporting_of(const struct vm_config *cfg)
{
	return device_settings(&cfg->devices, type_of(cfg, "balloon"));
}

/* Sets the balloon to conf, as PUT /balloon would (rules and all): returns its verdict. */
static int put_balloon(struct vm_config *cfg, struct balloon_conf conf)
{
	struct schema_error err;
	struct balloon_conf *copy = malloc(sizeof(*copy));
	assert_non_null(copy);
	*copy = conf;
	const struct device_type *t = type_of(cfg, "balloon");
	return config_set_device(t, device_confs_find(&cfg->devices, t, NULL), copy, cfg, &err);
}

/* Returns a copy of s with every ' turned into ". */
static char *dq(const char *s)
{
	char *t = strdup(s);
	assert_non_null(t);
	for (char *p = t; *p; p++) {
		if (*p == '\'')
			*p = '"';
	}
	return t;
}

static int load(const char *json, struct vm_config *cfg, struct schema_error *err)
{
	char *text = dq(json);
	int ret = config_load_buffer(text, strlen(text), cfg, err);
	free(text);
	return ret;
}

static json_t *body(const char *json)
{
	char *text = dq(json);
	json_error_t je;
	json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	free(text);
	assert_non_null(v);
	return v;
}

/* The error table */

struct err_case {
	const char *name;
	const char *json;
	int line, column;
	const char *path;
	const char *message; /* a substring of the message */
};

/* drives[0..8], the last one on line 11 */
#define DRIVE(n)    "    {'drive_id': 'd" #n "', 'path_on_host': 'x', 'is_root_device': false}"
#define DRIVES_0_3  DRIVE(0) ",\n" DRIVE(1) ",\n" DRIVE(2) ",\n" DRIVE(3) ",\n"
#define DRIVES_4_8  DRIVE(4) ",\n" DRIVE(5) ",\n" DRIVE(6) ",\n" DRIVE(7) ",\n" DRIVE(8) "\n"
#define NINE_DRIVES "{\n  'drives': [\n" DRIVES_0_3 DRIVES_4_8 "  ]\n}\n"

static const struct err_case err_cases[] = {
	/* JSON syntax: jansson's message and position */
	{ "syntax: trailing comma",
	  "{\n"
	  "  'boot-source': {\n"
	  "    'kernel_image_path': 'k',\n"
	  "  }\n"
	  "}\n",
	  4, 3, "", "invalid JSON: string or '}' expected near '}'" },
	{ "syntax: garbage after the document",
	  "{\n"
	  "  'boot-source': {'kernel_image_path': 'k'}\n"
	  "} x\n",
	  3, 3, "", "invalid JSON: end of file expected near 'x'" },
	{ "syntax: a newline in jansson's context stays on one line",
	  "{\n"
	  "  'boot-source': {'kernel_image_path': 'k\\\n"
	  "'}\n"
	  "}\n",
	  3, 1, "", "invalid JSON: invalid escape near '\"k\\\\n'" },
	{ "syntax: empty file", "", 1, 1, "",
	  "invalid JSON: '[' or '{' expected near end of file" },
	{ "syntax: integer too big for jansson",
	  "{\n"
	  "  'machine-config': {'vcpu_count': 1, 'mem_size_mib': 99999999999999999999}\n"
	  "}\n",
	  2, 74, "", "invalid JSON: too big integer" },
	{ "top level is not an object", "[]", 1, 1, "",
	  "the top level must be an object, got array" },

	/* duplicate keys */
	{ "duplicate key, nested",
	  "{\n"
	  "  'machine-config': {\n"
	  "    'vcpu_count': 1,\n"
	  "    'mem_size_mib': 128,\n"
	  "    'vcpu_count': 2\n"
	  "  }\n"
	  "}\n",
	  5, 5, "machine-config.vcpu_count", "duplicate key" },
	{ "duplicate key, top level", "{'ebb': {}, 'ebb': {}}", 1, 13, "ebb", "duplicate key" },
	{ "duplicate key in an array element",
	  "{\n"
	  "  'drives': [\n"
	  "    {'drive_id': 'a', 'path_on_host': 'x', 'is_root_device': false},\n"
	  "    {'drive_id': 'b', 'path_on_host': 'y', 'path_on_host': 'z'}\n"
	  "  ]\n"
	  "}\n",
	  4, 44, "drives[1].path_on_host", "duplicate key" },

	/* unknown keys: the position is the key's */
	{ "unknown key, top level",
	  "{\n"
	  "  'boot-source': {'kernel_image_path': 'k'},\n"
	  "  'machine_config': {'vcpu_count': 1, 'mem_size_mib': 128}\n"
	  "}\n",
	  3, 3, "machine_config",
	  "unknown key \"machine_config\"; expected one of boot-source, machine-config" },
	{ "unknown key, nested",
	  "{\n"
	  "  'machine-config': {\n"
	  "    'vcpu_count': 1,\n"
	  "    'mem_size_mib': 128,\n"
	  "    'vcpus': 2\n"
	  "  }\n"
	  "}\n",
	  5, 5, "machine-config.vcpus",
	  "unknown key \"vcpus\"; expected one of vcpu_count, mem_size_mib, smt" },
	{ "unknown key inside ebb",
	  "{\n"
	  "  'ebb': {'memory_backing': 'anon', 'hugepages': true}\n"
	  "}\n",
	  2, 37, "ebb.hugepages", "unknown key \"hugepages\"; expected one of memory_backing" },
	{ "unknown key inside ebb.page_reporting",
	  "{\n"
	  "  'ebb': {\n"
	  "    'page_reporting': {\n"
	  "      'delay_ms': 10,\n"
	  "      'delay': 10\n"
	  "    }\n"
	  "  }\n"
	  "}\n",
	  5, 7, "ebb.page_reporting.delay", "unknown key \"delay\"" },
	{ "unknown key in a drive",
	  "{\n"
	  "  'drives': [\n"
	  "    {\n"
	  "      'drive_id': 'rootfs',\n"
	  "      'path_on_host': 'r.ext4',\n"
	  "      'is_root_device': true,\n"
	  "      'readonly': true\n"
	  "    }\n"
	  "  ]\n"
	  "}\n",
	  7, 7, "drives[0].readonly", "unknown key \"readonly\"" },
	{ "the first error in the document wins",
	  "{\n"
	  "  'entropy': {},\n"
	  "  'boot-source': {'kernel': 'k'},\n"
	  "  'machine-config': {'vcpu_count': 0, 'mem_size_mib': 128}\n"
	  "}\n",
	  2, 14, "entropy", "the entropy device is not supported by ebb" },
	{ "sections are checked in document order",
	  "{\n"
	  "  'machine-config': {'vcpu_count': 0, 'mem_size_mib': 128},\n"
	  "  'boot-source': {'kernel': 'k'}\n"
	  "}\n",
	  2, 36, "machine-config.vcpu_count", "must be 1..32, got 0" },
	{ "unknown key spelled with an escape",
	  "{'machine-config': {'vcpu_count': 1, 'mem_size_mib': 64, '\\u0076cpus': 1}}", 1, 58,
	  "machine-config.vcpus", "unknown key \"vcpus\"" },

	/* wrong types */
	{ "string for an integer",
	  "{\n"
	  "  'machine-config': {\n"
	  "    'vcpu_count': '2',\n"
	  "    'mem_size_mib': 128\n"
	  "  }\n"
	  "}\n",
	  3, 19, "machine-config.vcpu_count", "must be an integer, got string" },
	{ "string for a boolean",
	  "{\n"
	  "  'balloon': {\n"
	  "    'amount_mib': 0,\n"
	  "    'deflate_on_oom': 'yes'\n"
	  "  }\n"
	  "}\n",
	  4, 23, "balloon.deflate_on_oom", "must be a boolean, got string" },
	{ "integer for a string",
	  "{\n"
	  "  'boot-source': {\n"
	  "    'kernel_image_path': 42\n"
	  "  }\n"
	  "}\n",
	  3, 26, "boot-source.kernel_image_path", "must be a string, got integer" },
	{ "null for a required field",
	  "{\n"
	  "  'boot-source': {\n"
	  "    'kernel_image_path': null\n"
	  "  }\n"
	  "}\n",
	  3, 26, "boot-source.kernel_image_path", "must be a string, got null" },
	{ "null boot-source", "{\n  'boot-source': null\n}\n", 2, 18, "boot-source",
	  "must be an object, got null" },
	{ "null drives", "{\n  'drives': null\n}\n", 2, 13, "drives",
	  "must be an array, got null" },
	{ "array for machine-config", "{\n  'machine-config': []\n}\n", 2, 21, "machine-config",
	  "must be an object, got array" },
	{ "string for a boolean in logger", "{\n  'logger': {'show_level': 'yes'}\n}\n", 2, 28,
	  "logger.show_level", "must be a boolean, got string" },
	{ "non-string metrics property",
	  "{\n"
	  "  'metrics': {'metrics_path': 'm.json', 'properties': {'team': 7}}\n"
	  "}\n",
	  2, 64, "metrics.properties.team", "must be a string, got integer" },
	{ "integer for partuuid",
	  "{\n"
	  "  'drives': [\n"
	  "    {\n"
	  "      'drive_id': 'rootfs',\n"
	  "      'path_on_host': 'r.ext4',\n"
	  "      'is_root_device': true,\n"
	  "      'partuuid': 5\n"
	  "    }\n"
	  "  ]\n"
	  "}\n",
	  7, 19, "drives[0].partuuid", "must be a string, got integer" },
	{ "column counts characters, not bytes",
	  "{\n"
	  "  'boot-source': {'kernel_image_path': 'k\xc3\xa9', 'initrd_path': 5}\n"
	  "}\n",
	  2, 61, "boot-source.initrd_path", "must be a string, got integer" },
	{ "CRLF line ends",
	  "{\r\n  'machine-config': {'vcpu_count': 0, 'mem_size_mib': 64}\r\n}\r\n", 2, 36,
	  "machine-config.vcpu_count", "must be 1..32, got 0" },

	/* numbers */
	{ "fraction for an integer",
	  "{\n"
	  "  'machine-config': {\n"
	  "    'vcpu_count': 1.5,\n"
	  "    'mem_size_mib': 128\n"
	  "  }\n"
	  "}\n",
	  3, 19, "machine-config.vcpu_count", "must be an integer, got 1.5" },
	{ "whole real for an integer",
	  "{\n"
	  "  'machine-config': {\n"
	  "    'vcpu_count': 1,\n"
	  "    'mem_size_mib': 128.0\n"
	  "  }\n"
	  "}\n",
	  4, 21, "machine-config.mem_size_mib", "must be an integer, got 128.0" },
	{ "exponent for an integer",
	  "{\n"
	  "  'machine-config': {\n"
	  "    'vcpu_count': 1,\n"
	  "    'mem_size_mib': 1e3\n"
	  "  }\n"
	  "}\n",
	  4, 21, "machine-config.mem_size_mib", "must be an integer, got 1000.0" },
	{ "negative amount_mib",
	  "{\n"
	  "  'balloon': {\n"
	  "    'amount_mib': -1,\n"
	  "    'deflate_on_oom': false\n"
	  "  }\n"
	  "}\n",
	  3, 19, "balloon.amount_mib", "must not be negative, got -1" },
	{ "vcpu_count 0",
	  "{\n"
	  "  'machine-config': {\n"
	  "    'vcpu_count': 0,\n"
	  "    'mem_size_mib': 128\n"
	  "  }\n"
	  "}\n",
	  3, 19, "machine-config.vcpu_count", "must be 1..32, got 0" },
	{ "vcpu_count 33",
	  "{\n"
	  "  'machine-config': {\n"
	  "    'vcpu_count': 33,\n"
	  "    'mem_size_mib': 128\n"
	  "  }\n"
	  "}\n",
	  3, 19, "machine-config.vcpu_count", "must be 1..32, got 33" },
	{ "mem_size_mib 0",
	  "{\n"
	  "  'machine-config': {\n"
	  "    'vcpu_count': 1,\n"
	  "    'mem_size_mib': 0\n"
	  "  }\n"
	  "}\n",
	  4, 21, "machine-config.mem_size_mib", "must be at least 1, got 0" },
	{ "mem_size_mib past 32 bits",
	  "{\n"
	  "  'machine-config': {\n"
	  "    'vcpu_count': 1,\n"
	  "    'mem_size_mib': 4294967296\n"
	  "  }\n"
	  "}\n",
	  4, 21, "machine-config.mem_size_mib", "must be at most 4294967295, got 4294967296" },
	{ "stats interval too long",
	  "{\n"
	  "  'balloon': {\n"
	  "    'amount_mib': 0,\n"
	  "    'deflate_on_oom': true,\n"
	  "    'stats_polling_interval_s': 90000\n"
	  "  }\n"
	  "}\n",
	  5, 33, "balloon.stats_polling_interval_s", "must be 0..86400, got 90000" },
	{ "unknown reporting profile",
	  "{\n"
	  "  'ebb': {\n"
	  "    'page_reporting': {\n"
	  "      'profile': 'turbo'\n"
	  "    }\n"
	  "  }\n"
	  "}\n",
	  4, 18, "ebb.page_reporting.profile", "must be \"fast\" or \"stock\", got \"turbo\"" },
	{ "negative reporting delay",
	  "{\n"
	  "  'ebb': {\n"
	  "    'page_reporting': {\n"
	  "      'delay_ms': -5\n"
	  "    }\n"
	  "  }\n"
	  "}\n",
	  4, 19, "ebb.page_reporting.delay_ms", "must not be negative, got -5" },
	{ "reporting budget too big",
	  "{\n"
	  "  'ebb': {\n"
	  "    'page_reporting': {\n"
	  "      'budget': 2000\n"
	  "    }\n"
	  "  }\n"
	  "}\n",
	  4, 17, "ebb.page_reporting.budget", "must be 0..1024, got 2000" },
	{ "fraction for the watermark",
	  "{\n"
	  "  'ebb': {\n"
	  "    'page_reporting': {\n"
	  "      'watermark_mib': 1.5\n"
	  "    }\n"
	  "  }\n"
	  "}\n",
	  4, 24, "ebb.page_reporting.watermark_mib", "must be an integer, got 1.5" },
	{ "reporting order past the largest block",
	  "{\n"
	  "  'ebb': {\n"
	  "    'page_reporting': {\n"
	  "      'order': 11\n"
	  "    }\n"
	  "  }\n"
	  "}\n",
	  4, 16, "ebb.page_reporting.order", "must be 0..10, got 11" },
	{ "settled order past off",
	  "{\n"
	  "  'ebb': {\n"
	  "    'page_reporting': {\n"
	  "      'settled_order': 12\n"
	  "    }\n"
	  "  }\n"
	  "}\n",
	  4, 24, "ebb.page_reporting.settled_order", "must be 0..11, got 12" },
	{ "settle time over an hour",
	  "{\n"
	  "  'ebb': {\n"
	  "    'page_reporting': {\n"
	  "      'settle_ms': 3600001\n"
	  "    }\n"
	  "  }\n"
	  "}\n",
	  4, 20, "ebb.page_reporting.settle_ms", "must be 0..3600000, got 3600001" },
	{ "settled order not below the reporting order",
	  "{\n"
	  "  'balloon': {'amount_mib': 0, 'deflate_on_oom': false},\n"
	  "  'ebb': {'page_reporting': {'order': 7, 'settled_order': 7}}\n"
	  "}\n",
	  3, 59, "ebb.page_reporting.settled_order",
	  "7 is not below the reporting order (7): the settled tier reports blocks from "
	  "settled_order up to order - 1; 11 turns it off" },
	{ "settled order not below the guest's own order",
	  "{\n"
	  "  'balloon': {'amount_mib': 0, 'deflate_on_oom': false},\n"
	  "  'ebb': {'page_reporting': {'settled_order': 9}}\n"
	  "}\n",
	  3, 47, "ebb.page_reporting.settled_order",
	  "9 is not below the reporting order (9, the guest's default)" },
	{ "queue size not a power of two", "{\n  'ebb': {'reporting_queue_size': 100}\n}\n", 2, 35,
	  "ebb.reporting_queue_size", "must be a power of two, got 100" },
	{ "queue size below 32", "{\n  'ebb': {'reporting_queue_size': 16}\n}\n", 2, 35,
	  "ebb.reporting_queue_size", "must be 32..32768, got 16" },
	{ "queue size above 32768", "{\n  'ebb': {'reporting_queue_size': 65536}\n}\n", 2, 35,
	  "ebb.reporting_queue_size", "must be 32..32768, got 65536" },

	/* missing required fields: the position is the enclosing object's */
	{ "missing mem_size_mib",
	  "{\n"
	  "  'machine-config': {\n"
	  "    'vcpu_count': 2\n"
	  "  }\n"
	  "}\n",
	  2, 21, "machine-config.mem_size_mib", "missing required field" },
	{ "missing kernel_image_path", "{\n  'boot-source': {'boot_args': 'quiet'}\n}\n", 2, 18,
	  "boot-source.kernel_image_path", "missing required field" },
	{ "missing is_root_device",
	  "{\n"
	  "  'drives': [\n"
	  "    {'drive_id': 'd', 'path_on_host': 'x'}\n"
	  "  ]\n"
	  "}\n",
	  3, 5, "drives[0].is_root_device", "missing required field" },
	{ "missing deflate_on_oom", "{\n  'balloon': {'amount_mib': 0}\n}\n", 2, 14,
	  "balloon.deflate_on_oom", "missing required field" },
	{ "missing metrics_path", "{\n  'metrics': {'emit_id': true}\n}\n", 2, 14,
	  "metrics.metrics_path", "missing required field" },

	/* empty strings and enums */
	{ "empty kernel path",
	  "{\n"
	  "  'boot-source': {\n"
	  "    'kernel_image_path': ''\n"
	  "  }\n"
	  "}\n",
	  3, 26, "boot-source.kernel_image_path", "must not be empty" },
	{ "escaped key still located",
	  "{'boot-source': {'kernel_image_path': 'k', 'initrd\\u005fpath': ''}}", 1, 64,
	  "boot-source.initrd_path", "must not be empty" },
	{ "unknown huge_pages",
	  "{\n"
	  "  'machine-config': {\n"
	  "    'vcpu_count': 2,\n"
	  "    'mem_size_mib': 256,\n"
	  "    'huge_pages': '1G'\n"
	  "  }\n"
	  "}\n",
	  5, 19, "machine-config.huge_pages",
	  "must be one of \"None\", \"Transparent\", \"2M\", got \"1G\"" },
	{ "unknown cpu_template",
	  "{\n"
	  "  'machine-config': {\n"
	  "    'vcpu_count': 2,\n"
	  "    'mem_size_mib': 256,\n"
	  "    'cpu_template': 'Fast'\n"
	  "  }\n"
	  "}\n",
	  5, 21, "machine-config.cpu_template",
	  "must be one of \"None\", \"C3\", \"T2\", \"T2S\", \"T2CL\", \"T2A\", \"V1N1\", got "
	  "\"Fast\"" },
	{ "unknown memory_backing", "{\n  'ebb': {'memory_backing': 'shm'}\n}\n", 2, 29,
	  "ebb.memory_backing", "must be one of \"anon\", \"memfd\", \"hugetlbfs\", got \"shm\"" },
	{ "cache_type is case-sensitive",
	  "{\n"
	  "  'drives': [\n"
	  "    {\n"
	  "      'drive_id': 'rootfs',\n"
	  "      'path_on_host': 'r.ext4',\n"
	  "      'is_root_device': true,\n"
	  "      'cache_type': 'writeback'\n"
	  "    }\n"
	  "  ]\n"
	  "}\n",
	  7, 21, "drives[0].cache_type", "must be \"Unsafe\" or \"Writeback\", got \"writeback\"" },
	{ "unknown logger level", "{\n  'logger': {'log_path': 'ebb.log', 'level': 'loud'}\n}\n", 2,
	  46, "logger.level",
	  "must be one of \"Error\", \"Warning\", \"Info\", \"Debug\", \"Trace\", \"Off\" (any "
	  "case), got \"loud\"" },
	{ "drive_id with a space",
	  "{\n"
	  "  'drives': [\n"
	  "    {\n"
	  "      'drive_id': 'root fs',\n"
	  "      'path_on_host': 'r.ext4',\n"
	  "      'is_root_device': true\n"
	  "    }\n"
	  "  ]\n"
	  "}\n",
	  4, 19, "drives[0].drive_id",
	  "must be 1..64 characters of A-Z, a-z, 0-9, _ and -, got \"root fs\"" },
	{ "empty drive_id",
	  "{\n"
	  "  'drives': [\n"
	  "    {\n"
	  "      'drive_id': '',\n"
	  "      'path_on_host': 'r.ext4',\n"
	  "      'is_root_device': true\n"
	  "    }\n"
	  "  ]\n"
	  "}\n",
	  4, 19, "drives[0].drive_id", "must be 1..64 characters" },
	{ "empty path_on_host",
	  "{\n"
	  "  'drives': [\n"
	  "    {\n"
	  "      'drive_id': 'rootfs',\n"
	  "      'path_on_host': '',\n"
	  "      'is_root_device': true\n"
	  "    }\n"
	  "  ]\n"
	  "}\n",
	  5, 23, "drives[0].path_on_host", "must not be empty" },

	/* Firecracker features ebb does not have */
	/* network interfaces, vsock and rate limiters (docs/net.md) */
	{ "a malformed MAC",
	  "{\n"
	  "  'network-interfaces': [{'iface_id': 'eth0', 'host_dev_name': 'tap0',\n"
	  "                          'guest_mac': '06:00:ac:10:00'}]\n"
	  "}\n",
	  3, 40, "network-interfaces[0].guest_mac",
	  "must be a MAC address like \"06:00:ac:10:00:02\", got \"06:00:ac:10:00\"" },
	{ "a multicast MAC",
	  "{\n"
	  "  'network-interfaces': [{'iface_id': 'eth0', 'host_dev_name': 'tap0',\n"
	  "                          'guest_mac': '01:00:5e:00:00:01'}]\n"
	  "}\n",
	  3, 40, "network-interfaces[0].guest_mac",
	  "\"01:00:5e:00:00:01\" is a multicast address (its first byte is odd); a network "
	  "interface needs a unicast one" },
	{ "a duplicate iface_id",
	  "{\n"
	  "  'network-interfaces': [{'iface_id': 'eth0', 'host_dev_name': 'tap0'},\n"
	  "                         {'iface_id': 'eth0', 'host_dev_name': 'tap1'}]\n"
	  "}\n",
	  3, 39, "network-interfaces[1].iface_id",
	  "\"eth0\" is already used by network-interfaces[0]" },
	{ "a duplicate MAC",
	  "{\n"
	  "  'network-interfaces': [\n"
	  "    {'iface_id': 'a', 'host_dev_name': 'tap0', 'guest_mac': '06:00:00:00:00:01'},\n"
	  "    {'iface_id': 'b', 'host_dev_name': 'tap1', 'guest_mac': '06:00:00:00:00:01'}]\n"
	  "}\n",
	  4, 61, "network-interfaces[1].guest_mac",
	  "\"06:00:00:00:00:01\" is already used by interface \"a\"" },
	{ "two interfaces on one tap",
	  "{\n"
	  "  'network-interfaces': [{'iface_id': 'a', 'host_dev_name': 'tap0'},\n"
	  "                         {'iface_id': 'b', 'host_dev_name': 'tap0'}]\n"
	  "}\n",
	  3, 61, "network-interfaces[1].host_dev_name",
	  "\"tap0\" is already used by interface \"a\"" },
	{ "a tap name Linux refuses",
	  "{\n"
	  "  'network-interfaces': [{'iface_id': 'a', 'host_dev_name': 'a-very-long-tap-name'}]\n"
	  "}\n",
	  2, 61, "network-interfaces[0].host_dev_name",
	  "must be a network interface name: 1..15 characters, no '/', ':' or blanks, got "
	  "\"a-very-long-tap-name\"" },
	{ "an MTU below 68",
	  "{\n"
	  "  'network-interfaces': [{'iface_id': 'a', 'host_dev_name': 'tap0', 'mtu': 67}]\n"
	  "}\n",
	  2, 76, "network-interfaces[0].mtu", "must be 68..65535, got 67" },
	{ "a token bucket without refill_time",
	  "{\n"
	  "  'network-interfaces': [{'iface_id': 'a', 'host_dev_name': 'tap0',\n"
	  "    'rx_rate_limiter': {'bandwidth': {'size': 1000}}}]\n"
	  "}\n",
	  3, 38, "network-interfaces[0].rx_rate_limiter.bandwidth.refill_time",
	  "missing required field" },
	{ "a negative bucket size",
	  "{\n"
	  "  'network-interfaces': [{'iface_id': 'a', 'host_dev_name': 'tap0',\n"
	  "    'tx_rate_limiter': {'ops': {'size': -1, 'refill_time': 100}}}]\n"
	  "}\n",
	  3, 41, "network-interfaces[0].tx_rate_limiter.ops.size", "must not be negative, got -1" },
	{ "an unknown rate limiter key",
	  "{\n"
	  "  'network-interfaces': [{'iface_id': 'a', 'host_dev_name': 'tap0',\n"
	  "    'tx_rate_limiter': {'bytes': {'size': 1, 'refill_time': 100}}}]\n"
	  "}\n",
	  3, 25, "network-interfaces[0].tx_rate_limiter.bytes",
	  "unknown key \"bytes\"; expected one of bandwidth, ops" },
	{ "vsock CID 2 is the host",
	  "{\n  'vsock': {'guest_cid': 2, 'uds_path': '/tmp/v.sock'}\n}\n", 2, 26,
	  "vsock.guest_cid", "must be 3..4294967294, got 2" },
	{ "vsock without uds_path", "{\n  'vsock': {'guest_cid': 3}\n}\n", 2, 12, "vsock.uds_path",
	  "missing required field" },
	{ "entropy, even empty", "{\n  'entropy': {}\n}\n", 2, 14, "entropy",
	  "the entropy device is not supported by ebb" },
	{ "mmds", "{\n  'mmds-config': {'network_interfaces': ['eth0']}\n}\n", 2, 18, "mmds-config",
	  "MMDS is not supported by ebb" },
	{ "serial", "{\n  'serial': {'serial_out_path': 'x'}\n}\n", 2, 13, "serial",
	  "serial configuration is not supported by ebb" },
	{ "pmem", "{\n  'pmem': [{'id': 'p', 'path_on_host': 'x'}]\n}\n", 2, 11, "pmem",
	  "pmem devices are not supported by ebb" },
	{ "memory hotplug", "{\n  'memory-hotplug': {'total_size_mib': 1024}\n}\n", 2, 21,
	  "memory-hotplug", "memory hotplug is not supported by ebb" },
	{ "cpu-config", "{\n  'cpu-config': {'cpuid_modifiers': []}\n}\n", 2, 17, "cpu-config",
	  "custom CPU configuration is not supported by ebb" },
	{ "smt",
	  "{\n"
	  "  'machine-config': {'vcpu_count': 2, 'mem_size_mib': 256, 'smt': true}\n"
	  "}\n",
	  2, 67, "machine-config.smt", "smt is not supported by ebb" },
	{ "cpu template",
	  "{\n"
	  "  'machine-config': {\n"
	  "    'vcpu_count': 2,\n"
	  "    'mem_size_mib': 256,\n"
	  "    'cpu_template': 'T2'\n"
	  "  }\n"
	  "}\n",
	  5, 21, "machine-config.cpu_template", "CPU templates are not supported by ebb" },
	{ "async io engine",
	  "{\n"
	  "  'drives': [\n"
	  "    {\n"
	  "      'drive_id': 'rootfs',\n"
	  "      'path_on_host': 'r.ext4',\n"
	  "      'is_root_device': true,\n"
	  "      'io_engine': 'Async'\n"
	  "    }\n"
	  "  ]\n"
	  "}\n",
	  7, 20, "drives[0].io_engine",
	  "io_engine \"Async\" is not supported by ebb; use \"Sync\"" },
	{ "rate limiter",
	  "{\n"
	  "  'drives': [\n"
	  "    {\n"
	  "      'drive_id': 'rootfs',\n"
	  "      'path_on_host': 'r.ext4',\n"
	  "      'is_root_device': true,\n"
	  "      'rate_limiter': {'bandwidth': {'size': 1, 'refill_time': 1.5}}\n"
	  "    }\n"
	  "  ]\n"
	  "}\n",
	  7, 64, "drives[0].rate_limiter.bandwidth.refill_time", "must be an integer, got 1.5" },
	{ "vhost-user socket",
	  "{\n"
	  "  'drives': [\n"
	  "    {\n"
	  "      'drive_id': 'rootfs',\n"
	  "      'is_root_device': true,\n"
	  "      'socket': '/tmp/vhost.sock'\n"
	  "    }\n"
	  "  ]\n"
	  "}\n",
	  6, 17, "drives[0].socket", "vhost-user drives (socket) are not supported by ebb" },

	/* checks across fields and sections */
	{ "huge_pages 2M against memfd",
	  "{\n"
	  "  'machine-config': {\n"
	  "    'vcpu_count': 1,\n"
	  "    'mem_size_mib': 512,\n"
	  "    'huge_pages': '2M'\n"
	  "  },\n"
	  "  'ebb': {\n"
	  "    'memory_backing': 'memfd'\n"
	  "  }\n"
	  "}\n",
	  8, 23, "ebb.memory_backing",
	  "\"memfd\" disagrees with machine-config.huge_pages \"2M\"" },
	{ "huge_pages None against hugetlbfs",
	  "{\n"
	  "  'ebb': {'memory_backing': 'hugetlbfs'},\n"
	  "  'machine-config': {'vcpu_count': 1, 'mem_size_mib': 512, 'huge_pages': 'None'}\n"
	  "}\n",
	  2, 29, "ebb.memory_backing",
	  "\"hugetlbfs\" disagrees with machine-config.huge_pages \"None\"" },
	{ "huge_pages None against ebb.thp",
	  "{\n"
	  "  'machine-config': {'vcpu_count': 1, 'mem_size_mib': 512, 'huge_pages': 'None'},\n"
	  "  'ebb': {'thp': true}\n"
	  "}\n",
	  3, 18, "ebb.thp", "true disagrees with machine-config.huge_pages \"None\"" },
	{ "thp without anon", "{\n  'ebb': {'memory_backing': 'memfd', 'thp': true}\n}\n", 2, 45,
	  "ebb.thp", "THP applies to memory_backing \"anon\" only, not \"memfd\"" },
	{ "2M pages with an odd size",
	  "{\n"
	  "  'machine-config': {'vcpu_count': 1, 'mem_size_mib': 513, 'huge_pages': '2M'}\n"
	  "}\n",
	  2, 55, "machine-config.mem_size_mib", "must be even with huge_pages \"2M\", got 513" },
	{ "hugetlbfs with an odd size",
	  "{\n"
	  "  'machine-config': {'vcpu_count': 1, 'mem_size_mib': 513},\n"
	  "  'ebb': {'memory_backing': 'hugetlbfs'}\n"
	  "}\n",
	  3, 29, "ebb.memory_backing",
	  "\"hugetlbfs\" needs an even machine-config.mem_size_mib (2 MiB pages), got 513" },
	{ "two root drives",
	  "{\n"
	  "  'drives': [\n"
	  "    {'drive_id': 'a', 'path_on_host': 'a.img', 'is_root_device': true},\n"
	  "    {'drive_id': 'b', 'path_on_host': 'b.img', 'is_root_device': true}\n"
	  "  ]\n"
	  "}\n",
	  4, 66, "drives[1].is_root_device", "drive \"a\" is already the root device" },
	{ "duplicate drive ids",
	  "{\n"
	  "  'drives': [\n"
	  "    {'drive_id': 'data', 'path_on_host': 'a.img', 'is_root_device': false},\n"
	  "    {'drive_id': 'data', 'path_on_host': 'b.img', 'is_root_device': false}\n"
	  "  ]\n"
	  "}\n",
	  4, 18, "drives[1].drive_id", "\"data\" is already used by drives[0]" },
	{ "too many drives", NINE_DRIVES, 11, 5, "drives[8]", "ebb supports at most 8 drives" },
	{ "balloon larger than RAM",
	  "{\n"
	  "  'machine-config': {'vcpu_count': 1, 'mem_size_mib': 512},\n"
	  "  'balloon': {'amount_mib': 1024, 'deflate_on_oom': false}\n"
	  "}\n",
	  3, 29, "balloon.amount_mib",
	  "1024 MiB is more than the guest's 512 MiB (machine-config.mem_size_mib)" },
	{ "balloon larger than the default RAM",
	  "{'balloon': {'amount_mib': 129, 'deflate_on_oom': false}}", 1, 28, "balloon.amount_mib",
	  "129 MiB is more than the guest's 128 MiB" },
};

static void test_error_table(void **state)
{
	int failures = 0;
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *tc = &err_cases[i];
		struct vm_config cfg, fresh;
		struct schema_error err;
		char line[1024], want[600];

		config_init(&cfg);
		config_init(&fresh);
		int ret = load(tc->json, &cfg, &err);
		schema_error_format(&err, "vm.json", line, sizeof(line));
		snprintf(want, sizeof(want), "vm.json:%d:%d: %s%s", tc->line, tc->column, tc->path,
			 tc->path[0] ? ": " : "");
		bool ok = ret == -EINVAL && err.line == tc->line && err.column == tc->column &&
			  strcmp(err.path, tc->path) == 0 && strstr(err.message, tc->message) &&
			  strncmp(line, want, strlen(want)) == 0 && !strchr(line, '\n') &&
			  memcmp(&cfg, &fresh, sizeof(cfg)) == 0;
		if (!ok) {
			print_error("case \"%s\": ret %d, got \"%s\"\n  want %s... \"%s\"\n",
				    tc->name, ret, line, want, tc->message);
			failures++;
		}
		config_free(&cfg);
	}
	print_message("%zu error cases\n", sizeof(err_cases) / sizeof(err_cases[0]));
	assert_int_equal(failures, 0);
}

/* Loading what Firecracker users have */

static const char firecracker_config[] =
	"{\n"
	"  'boot-source': {\n"
	"    'kernel_image_path': 'vmlinux.bin',\n"
	"    'boot_args': 'console=ttyS0 reboot=k panic=1 pci=off',\n"
	"    'initrd_path': null\n"
	"  },\n"
	"  'drives': [\n"
	"    {\n"
	"      'drive_id': 'rootfs',\n"
	"      'partuuid': null,\n"
	"      'is_root_device': true,\n"
	"      'cache_type': 'Unsafe',\n"
	"      'is_read_only': false,\n"
	"      'path_on_host': 'rootfs.ext4',\n"
	"      'io_engine': 'Sync',\n"
	"      'rate_limiter': null,\n"
	"      'socket': null\n"
	"    }\n"
	"  ],\n"
	"  'machine-config': {\n"
	"    'vcpu_count': 2,\n"
	"    'mem_size_mib': 1024,\n"
	"    'smt': false,\n"
	"    'track_dirty_pages': false,\n"
	"    'huge_pages': 'None'\n"
	"  },\n"
	"  'cpu-config': null,\n"
	"  'balloon': null,\n"
	"  'network-interfaces': [],\n"
	"  'vsock': null,\n"
	"  'logger': null,\n"
	"  'metrics': null,\n"
	"  'mmds-config': null,\n"
	"  'entropy': null\n"
	"}\n";

static void test_firecracker_config(void **state)
{
	struct vm_config cfg;
	struct schema_error err;
	config_init(&cfg);
	assert_int_equal(load(firecracker_config, &cfg, &err), 0);
	assert_string_equal(cfg.kernel_path, "vmlinux.bin");
	assert_string_equal(cfg.boot_args, "console=ttyS0 reboot=k panic=1 pci=off");
	assert_null(cfg.initrd_path);
	assert_int_equal(cfg.vcpus, 2);
	assert_int_equal(cfg.mem_mib, 1024);
	assert_int_equal(cfg.backing, MEM_BACKING_ANON);
	assert_false(cfg.thp);
	assert_null(balloon_of(&cfg));
	assert_int_equal(nr_drives(&cfg), 1);
	assert_string_equal(drive_at(&cfg, 0)->drive_id, "rootfs");
	assert_string_equal(drive_at(&cfg, 0)->path_on_host, "rootfs.ext4");
	assert_true(drive_at(&cfg, 0)->is_root_device);
	assert_false(drive_at(&cfg, 0)->is_read_only);
	assert_false((drive_at(&cfg, 0)->cache_type == BLOCK_CACHE_WRITEBACK));
	assert_null(drive_at(&cfg, 0)->partuuid);
	assert_null(cfg.log_path);
	assert_null(cfg.metrics_path);
	config_free(&cfg);
}

static void test_everything(void **state)
{
	static const char json[] =
		"{\n"
		"  'boot-source': {'kernel_image_path': 'bz', 'initrd_path': 'i',\n"
		"                  'boot_args': ''},\n"
		"  'machine-config': {'vcpu_count': 4, 'mem_size_mib': 2048,\n"
		"                     'huge_pages': 'Transparent', 'cpu_template': "
		"'None'},\n"
		"  'balloon': {'amount_mib': 100, 'deflate_on_oom': true,\n"
		"              'stats_polling_interval_s': 5,\n"
		"              'free_page_reporting': true, 'free_page_hinting': false},\n"
		"  'drives': [\n"
		"    {'drive_id': 'root_1', 'path_on_host': 'r', 'is_root_device': true,\n"
		"     'partuuid': '0eaa91a0-01', 'is_read_only': true,\n"
		"     'cache_type': 'Writeback'},\n"
		"    {'drive_id': 'data-2', 'path_on_host': 'd', 'is_root_device': false}\n"
		"  ],\n"
		"  'logger': {'log_path': 'ebb.log', 'level': 'warning', 'show_level': "
		"true,\n"
		"             'show_log_origin': true, 'module': 'api_server'},\n"
		"  'metrics': {'metrics_path': 'm.json', 'emit_id': true,\n"
		"              'properties': {'team': 'mem'}},\n"
		"  'ebb': {'thp': true, 'reporting_queue_size': 128, 'boot_timer': true,\n"
		"          'page_reporting': {'delay_ms': 100, 'budget': 0,\n"
		"                             'watermark_mib': 0, 'order': 7,\n"
		"                             'profile': 'stock'}}\n"
		"}\n";
	struct vm_config cfg;
	struct schema_error err;
	config_init(&cfg);
	assert_int_equal(load(json, &cfg, &err), 0);
	assert_string_equal(cfg.kernel_path, "bz");
	assert_string_equal(cfg.initrd_path, "i");
	assert_string_equal(cfg.boot_args, "");
	assert_int_equal(cfg.vcpus, 4);
	assert_int_equal(cfg.mem_mib, 2048);
	assert_int_equal(cfg.backing, MEM_BACKING_ANON);
	assert_true(cfg.thp);
	assert_non_null(balloon_of(&cfg));
	assert_int_equal(balloon_of(&cfg)->amount_mib, 100);
	assert_true(balloon_of(&cfg)->deflate_on_oom);
	assert_int_equal(balloon_of(&cfg)->stats_polling_interval_s, 5);
	assert_true(balloon_of(&cfg)->free_page_reporting);
	assert_int_equal(nr_drives(&cfg), 2);
	assert_string_equal(drive_at(&cfg, 0)->partuuid, "0eaa91a0-01");
	assert_true(drive_at(&cfg, 0)->is_read_only);
	assert_true((drive_at(&cfg, 0)->cache_type == BLOCK_CACHE_WRITEBACK));
	assert_string_equal(drive_at(&cfg, 1)->drive_id, "data-2");
	assert_false(drive_at(&cfg, 1)->is_root_device);
	assert_string_equal(cfg.log_path, "ebb.log");
	assert_int_equal(cfg.level, LOG_WARN);
	assert_true(cfg.show_level);
	assert_true(cfg.show_origin);
	assert_string_equal(cfg.metrics_path, "m.json");
	assert_true(cfg.metrics_emit_id);
	assert_int_equal(reporting_of(&cfg)->reporting_queue_size, 128);
	assert_true(cfg.boot_timer);
	assert_int_equal(reporting_of(&cfg)->reporting.delay_ms, 100);
	assert_int_equal(reporting_of(&cfg)->reporting.budget, 0);
	assert_int_equal(reporting_of(&cfg)->reporting.watermark_mib, 0);
	assert_int_equal(reporting_of(&cfg)->reporting.order, 7);
	assert_int_equal(reporting_of(&cfg)->reporting.profile, REPORTING_STOCK);
	config_free(&cfg);
}

static void test_defaults(void **state)
{
	static const char json[] =
		"{\n"
		"  'boot-source': {'kernel_image_path': 'k', 'boot_args': null},\n"
		"  'balloon': {'amount_mib': 0, 'deflate_on_oom': false},\n"
		"  'drives': [{'drive_id': 'a', 'path_on_host': 'a', 'is_root_device': false}],\n"
		"  'ebb': {'page_reporting': {'budget': 5}},\n"
		"  'logger': {'level': 'DEBUG'}\n"
		"}\n";
	struct vm_config cfg;
	struct schema_error err;
	config_init(&cfg);
	assert_int_equal(load(json, &cfg, &err), 0);
	assert_null(cfg.boot_args); /* CONFIG_DEFAULT_BOOT_ARGS */
	assert_null(cfg.initrd_path);
	assert_int_equal(cfg.vcpus, 1);
	assert_int_equal(cfg.mem_mib, CONFIG_DEFAULT_MEM_MIB);
	assert_int_equal(cfg.backing, MEM_BACKING_ANON);
	assert_false(cfg.thp);
	assert_int_equal(balloon_of(&cfg)->stats_polling_interval_s, 0);
	assert_false(balloon_of(&cfg)->free_page_reporting);
	assert_false(drive_at(&cfg, 0)->is_read_only);
	assert_false((drive_at(&cfg, 0)->cache_type == BLOCK_CACHE_WRITEBACK));
	assert_int_equal(reporting_of(&cfg)->reporting_queue_size, BALLOON_DEFAULT_REPORTING_QUEUE);
	assert_int_equal(reporting_of(&cfg)->reporting.budget, 5);
	assert_int_equal(reporting_of(&cfg)->reporting.profile, REPORTING_FAST);
	assert_int_equal(reporting_of(&cfg)->reporting.delay_ms, -1);
	assert_int_equal(reporting_of(&cfg)->reporting.watermark_mib, -1);
	assert_int_equal(reporting_of(&cfg)->reporting.order, -1);
	assert_int_equal(reporting_of(&cfg)->reporting.settled_order, -1);
	assert_int_equal(reporting_of(&cfg)->reporting.settle_ms, -1);
	assert_int_equal(cfg.level, LOG_DEBUG);
	assert_false(cfg.show_level);
	assert_false(cfg.boot_timer);
	config_free(&cfg);

	/* An empty object changes nothing. */
	struct vm_config fresh;
	config_init(&cfg);
	config_init(&fresh);
	assert_int_equal(load("{}", &cfg, &err), 0);
	assert_memory_equal(&cfg, &fresh, sizeof(cfg));
}

/* The file fills in what the command line left; sections it lacks stay as they were. */
static void test_merges_with_cli(void **state)
{
	struct vm_config cfg;
	struct schema_error err;

	config_init(&cfg);
	cfg.backing = MEM_BACKING_MEMFD;
	assert_int_equal(put_balloon(&cfg, (struct balloon_conf){ .free_page_reporting = true }), 0);
	assert_int_equal(config_set_str(&cfg.kernel_path, "cli-kernel"), 0);
	assert_int_equal(load("{'machine-config': {'vcpu_count': 2, 'mem_size_mib': 64,"
			      " 'huge_pages': 'None'}}",
			      &cfg, &err),
			 0);
	assert_string_equal(cfg.kernel_path, "cli-kernel");
	assert_int_equal(cfg.backing, MEM_BACKING_MEMFD); /* "None" means 4 KiB pages */
	assert_non_null(balloon_of(&cfg));
	assert_int_equal(cfg.mem_mib, 64);
	config_free(&cfg);

	/* A balloon from the command line must still fit; the rule names the balloon. */
	config_init(&cfg);
	assert_int_equal(put_balloon(&cfg, (struct balloon_conf){ .amount_mib = 100 }), 0);
	assert_int_equal(load("{\n  'machine-config': {'vcpu_count': 1, 'mem_size_mib': 64}\n}",
			      &cfg, &err),
			 -EINVAL);
	assert_string_equal(err.path, "balloon.amount_mib");
	assert_int_equal(err.line, 0);
	assert_string_equal(err.message,
			    "100 MiB is more than the guest's 64 MiB (machine-config.mem_size_mib)");
	assert_int_equal(cfg.mem_mib, CONFIG_DEFAULT_MEM_MIB);
	config_free(&cfg);

	/* --thp and a file asking for memfd. */
	config_init(&cfg);
	cfg.thp = true;
	assert_int_equal(load("{'ebb': {'memory_backing': 'memfd'}}", &cfg, &err), -EINVAL);
	assert_string_equal(err.path, "ebb.memory_backing");
	assert_non_null(strstr(err.message, "cannot be used with THP"));
	config_free(&cfg);

	/* huge_pages and ebb settings that agree. */
	config_init(&cfg);
	assert_int_equal(load("{'machine-config': {'vcpu_count': 1, 'mem_size_mib': 512,"
			      " 'huge_pages': 'Transparent'}, 'ebb': {'memory_backing': 'anon',"
			      " 'thp': true}}",
			      &cfg, &err),
			 0);
	assert_int_equal(cfg.backing, MEM_BACKING_ANON);
	assert_true(cfg.thp);
	assert_int_equal(load("{'machine-config': {'vcpu_count': 1, 'mem_size_mib': 512,"
			      " 'huge_pages': '2M'}}",
			      &cfg, &err),
			 0);
	assert_int_equal(cfg.backing, MEM_BACKING_HUGETLBFS);
	assert_false(cfg.thp);
	/* An ebb object without memory settings keeps what huge_pages chose. */
	assert_int_equal(load("{'machine-config': {'vcpu_count': 1, 'mem_size_mib': 512,"
			      " 'huge_pages': 'Transparent'}, 'ebb': {'boot_timer': true}}",
			      &cfg, &err),
			 0);
	assert_int_equal(cfg.backing, MEM_BACKING_ANON);
	assert_true(cfg.thp);
	assert_true(cfg.boot_timer);
	assert_int_equal(load("{'ebb': {'page_reporting': {'delay_ms': 3}},"
			      " 'machine-config': {'vcpu_count': 1, 'mem_size_mib': 512,"
			      " 'huge_pages': '2M'}}",
			      &cfg, &err),
			 0);
	assert_int_equal(cfg.backing, MEM_BACKING_HUGETLBFS);
	assert_false(cfg.thp);
	assert_int_equal(reporting_of(&cfg)->reporting.delay_ms, 3);
	/* A later file replaces the drives. */
	assert_int_equal(load("{'drives': [{'drive_id': 'a', 'path_on_host': 'a', 'is_root_device':"
			      " true}, {'drive_id': 'b', 'path_on_host': 'b', 'is_root_device':"
			      " false}]}",
			      &cfg, &err),
			 0);
	assert_int_equal(load("{'drives': [{'drive_id': 'c', 'path_on_host': 'c', 'is_root_device':"
			      " false}]}",
			      &cfg, &err),
			 0);
	assert_int_equal(nr_drives(&cfg), 1);
	assert_string_equal(drive_at(&cfg, 0)->drive_id, "c");
	assert_null(drive_at(&cfg, 1));
	config_free(&cfg);
}

static void test_examples_load(void **state)
{
	/* The repo top, from this file's path (tests/unit/test_config.c). */
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", __FILE__);
	char *end = strstr(dir, "tests/unit/test_config.c");
	assert_non_null(end);
	strcpy(end, "examples");

	DIR *d = opendir(dir);
	assert_non_null(d);
	int loaded = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		char path[4400], line[1024];
		struct vm_config cfg;
		struct schema_error err;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		config_init(&cfg);
		int ret = config_load_file(path, &cfg, &err);
		if (ret) {
			schema_error_format(&err, path, line, sizeof(line));
			print_error("%s\n", line);
		}
		assert_int_equal(ret, 0);
		assert_non_null(cfg.kernel_path);
		if (strcmp(de->d_name, "firecracker-network.json") == 0) {
			/* Firecracker's vm_config_network.json: a root drive and one interface. */
			const struct device_type *t =
				device_type_by_section(cfg.devices.registry, "network-interfaces");
			int i = device_confs_find(&cfg.devices, t, "eth0");
			assert_true(i >= 0);
			const struct net_conf *nc = cfg.devices.list[i].conf;
			assert_string_equal(nc->host_dev_name, "tap0");
			assert_false(rate_limiter_conf_limits(&nc->rx_rate_limiter));
			assert_null(cfg.initrd_path);
			assert_true(drive_at(&cfg, 0)->is_root_device);
		} else {
			assert_string_equal(cfg.initrd_path, "build/guest/initramfs.cpio.gz");
		}
		if (strcmp(de->d_name, "firecracker-vm.json") == 0) {
			assert_string_equal(cfg.kernel_path, "build/guest/vmlinux");
			assert_string_equal(cfg.boot_args,
					    "console=ttyS0 reboot=k panic=1 pci=off");
		}
		if (strcmp(de->d_name, "balloon-inflate.json") == 0) {
			assert_int_equal(balloon_of(&cfg)->amount_mib, 256);
			assert_int_equal(cfg.mem_mib, 512);
		}
		if (strcmp(de->d_name, "balloon-reporting.json") == 0)
			assert_true(balloon_of(&cfg)->free_page_reporting);
		if (strcmp(de->d_name, "memfd.json") == 0)
			assert_int_equal(cfg.backing, MEM_BACKING_MEMFD);
		if (strcmp(de->d_name, "hugetlbfs.json") == 0)
			assert_int_equal(cfg.backing, MEM_BACKING_HUGETLBFS);
		config_free(&cfg);
		loaded++;
	}
	closedir(d);
	assert_true(loaded >= 6);
}

/* Whatever goes wrong in a file, the error has a position and fits on one line. */
static void test_every_error_has_a_position(void **state)
{
	static const char replacements[] = "\"1}x -.,[:0\\";
	char *text = dq(firecracker_config);
	size_t len = strlen(text);
	int errors = 0;

	for (size_t i = 0; i < len; i++) {
		for (const char *r = replacements; *r; r++) {
			char *copy = malloc(len); /* exact size, so ASan sees any overrun */
			assert_non_null(copy);
			memcpy(copy, text, len);
			copy[i] = *r;
			struct vm_config cfg;
			struct schema_error err;
			char line[1024];
			config_init(&cfg);
			int ret = config_load_buffer(copy, len, &cfg, &err);
			schema_error_format(&err, "vm.json", line, sizeof(line));
			if (ret < 0 && (err.line < 1 || err.column < 1 || strchr(line, '\n')))
				print_error("offset %zu '%c': %s\n", i, *r, line);
			if (ret < 0) {
				assert_int_equal(ret, -EINVAL);
				assert_true(err.line >= 1 && err.column >= 1);
				assert_null(strchr(line, '\n'));
				errors++;
			}
			config_free(&cfg);
			free(copy);
		}
	}
	assert_true(errors > 0);
	free(text);
}

/* Files and the one-line format */

static char *write_temp(const char *text, size_t len)
{
	char *path = strdup("/tmp/ebb-test-config-XXXXXX");
	assert_non_null(path);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_file_errors(void **state)
{
	struct vm_config cfg;
	struct schema_error err;
	char line[1024];
	config_init(&cfg);

	assert_int_equal(config_load_file("/nonexistent/vm.json", &cfg, &err), -ENOENT);
	schema_error_format(&err, "/nonexistent/vm.json", line, sizeof(line));
	assert_string_equal(line, "/nonexistent/vm.json: cannot open: No such file or directory");

	assert_int_equal(config_load_file("/", &cfg, &err), -EISDIR);
	assert_string_equal(err.message, "cannot read: Is a directory");

	/* Exactly the line the user sees. */
	char *text = dq("{\n"
			"  'boot-source': {'kernel_image_path': 'k'},\n"
			"  'machine-config': {\n"
			"    'mem_size_mib': 128,\n"
			"    'vcpu_count': 0\n"
			"  }\n"
			"}\n");
	char *path = write_temp(text, strlen(text));
	assert_int_equal(config_load_file(path, &cfg, &err), -EINVAL);
	schema_error_format(&err, "vm.json", line, sizeof(line));
	assert_string_equal(line, "vm.json:5:19: machine-config.vcpu_count: must be 1..32, got 0");
	unlink(path);
	free(path);
	free(text);

	/* A good file. */
	text = dq("{'boot-source': {'kernel_image_path': 'k'}}");
	path = write_temp(text, strlen(text));
	assert_int_equal(config_load_file(path, &cfg, &err), 0);
	assert_string_equal(cfg.kernel_path, "k");
	unlink(path);
	free(path);
	free(text);

	/* Exactly at the size limit loads; one byte more does not. */
	size_t big = CONFIG_MAX_FILE_SIZE + 1;
	char *spaces = malloc(big);
	assert_non_null(spaces);
	memset(spaces, ' ', big);
	spaces[0] = '{';
	spaces[CONFIG_MAX_FILE_SIZE - 1] = '}';
	path = write_temp(spaces, CONFIG_MAX_FILE_SIZE);
	assert_int_equal(config_load_file(path, &cfg, &err), 0);
	unlink(path);
	free(path);
	path = write_temp(spaces, big);
	assert_int_equal(config_load_file(path, &cfg, &err), -EFBIG);
	assert_string_equal(err.message, "the file is larger than 1048576 bytes");
	unlink(path);
	free(path);
	free(spaces);
	config_free(&cfg);
}

static void test_error_format(void **state)
{
	struct schema_error e = { .message = "must be 1..32, got 0",
				  .line = 7,
				  .column = 21,
				  .path = "machine-config.vcpu_count" };
	char buf[256];
	schema_error_format(&e, "vm.json", buf, sizeof(buf));
	assert_string_equal(buf, "vm.json:7:21: machine-config.vcpu_count: must be 1..32, got 0");
	schema_error_format(&e, NULL, buf, sizeof(buf));
	assert_string_equal(buf,
			    "machine-config.vcpu_count: must be 1..32, got 0 (line 7, column 21)");
	e.line = e.column = 0;
	schema_error_format(&e, "vm.json", buf, sizeof(buf));
	assert_string_equal(buf, "vm.json: machine-config.vcpu_count: must be 1..32, got 0");
	schema_error_format(&e, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "machine-config.vcpu_count: must be 1..32, got 0");
	e.path[0] = '\0';
	schema_error_format(&e, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "must be 1..32, got 0");
	/* Truncation keeps a terminated string. */
	schema_error_format(&e, "vm.json", buf, 10);
	assert_string_equal(buf, "vm.json: ");
	schema_error_format(&e, "vm.json", buf, 1);
	assert_string_equal(buf, "");
}

/* The API's per-resource parsers */

typedef int (*resource_parser)(json_t *, struct vm_config *, struct schema_error *);

/* A body that must fail with this message at this relative path, changing nothing. */
static void expect_api_error(resource_parser parse, struct vm_config *cfg, const char *json,
			     int ret, const char *path, const char *message)
{
	struct vm_config before = *cfg;
	struct schema_error err;
	json_t *v = body(json);
	int got = parse(v, cfg, &err);
	json_decref(v);
	if (got != ret || strcmp(err.path, path) != 0 || !strstr(err.message, message))
		print_error("%s: got %d \"%s: %s\"\n", json, got, err.path, err.message);
	assert_int_equal(got, ret);
	assert_string_equal(err.path, path);
	assert_non_null(strstr(err.message, message));
	assert_int_equal(err.line, 0);
	assert_memory_equal(cfg, &before, sizeof(before));
}

static void expect_api_ok(resource_parser parse, struct vm_config *cfg, const char *json)
{
	struct schema_error err;
	json_t *v = body(json);
	int ret = parse(v, cfg, &err);
	if (ret)
		print_error("%s: %s: %s\n", json, err.path, err.message);
	assert_int_equal(ret, 0);
	json_decref(v);
}

static void test_api_machine_config(void **state)
{
	struct vm_config cfg;
	struct schema_error err;
	char line[600];
	config_init(&cfg);

	json_t *v = body("{'vcpu_count': 0, 'mem_size_mib': 128}");
	struct vm_config before = cfg;
	assert_int_equal(config_parse_machine_config(v, &cfg, &err), -EINVAL);
	assert_memory_equal(&cfg, &before, sizeof(cfg));
	schema_error_format(&err, NULL, line, sizeof(line));
	assert_string_equal(line, "vcpu_count: must be 1..32, got 0");
	json_decref(v);

	expect_api_error(config_parse_machine_config, &cfg, "{'vcpu_count': 2}", -EINVAL,
			 "mem_size_mib", "missing required field");
	expect_api_error(config_parse_machine_config, &cfg,
			 "{'vcpu_count': 2, 'mem_size_mib': 256, 'smt': true}", -EINVAL, "smt",
			 "not supported");
	expect_api_error(config_parse_machine_config, &cfg,
			 "{'vcpu_count': 2, 'mem_size_mib': 255, 'huge_pages': '2M'}", -EINVAL,
			 "mem_size_mib", "must be even");
	expect_api_error(config_parse_machine_config, &cfg, "[]", -EINVAL, "",
			 "must be an object, got array");
	before = cfg;
	assert_int_equal(config_parse_machine_config(NULL, &cfg, &err), -EINVAL);
	assert_string_equal(err.message, "must be an object, got nothing");
	assert_memory_equal(&cfg, &before, sizeof(cfg));

	/* PUT: what is absent takes Firecracker's default. */
	expect_api_ok(config_parse_machine_config, &cfg,
		      "{'vcpu_count': 2, 'mem_size_mib': 256, 'huge_pages': 'Transparent'}");
	assert_int_equal(cfg.vcpus, 2);
	assert_int_equal(cfg.mem_mib, 256);
	assert_true(cfg.thp);
	assert_string_equal(config_huge_pages(&cfg), "Transparent");
	expect_api_ok(config_parse_machine_config, &cfg,
		      "{'vcpu_count': 2, 'mem_size_mib': 256, 'huge_pages': '2M'}");
	assert_int_equal(cfg.backing, MEM_BACKING_HUGETLBFS);
	assert_false(cfg.thp);
	assert_string_equal(config_huge_pages(&cfg), "2M");
	expect_api_ok(config_parse_machine_config, &cfg, "{'vcpu_count': 1, 'mem_size_mib': 300}");
	assert_int_equal(cfg.backing, MEM_BACKING_ANON);
	assert_false(cfg.thp);
	assert_string_equal(config_huge_pages(&cfg), "None");

	/* PATCH: only what is given changes. */
	expect_api_ok(config_parse_machine_config_patch, &cfg, "{'vcpu_count': 3}");
	assert_int_equal(cfg.vcpus, 3);
	assert_int_equal(cfg.mem_mib, 300);
	expect_api_ok(config_parse_machine_config_patch, &cfg, "{'huge_pages': 'Transparent'}");
	assert_true(cfg.thp);
	expect_api_ok(config_parse_machine_config_patch, &cfg, "{'mem_size_mib': 400}");
	assert_true(cfg.thp);
	assert_int_equal(cfg.mem_mib, 400);
	expect_api_ok(config_parse_machine_config_patch, &cfg, "{}");
	expect_api_error(config_parse_machine_config_patch, &cfg, "{'vcpu_count': 64}", -EINVAL,
			 "vcpu_count", "must be 1..32, got 64");
	expect_api_ok(config_parse_machine_config_patch, &cfg, "{'mem_size_mib': 401}");
	expect_api_error(config_parse_machine_config_patch, &cfg, "{'huge_pages': '2M'}", -EINVAL,
			 "huge_pages", "\"2M\" needs an even mem_size_mib, which is 401");
	expect_api_ok(config_parse_machine_config_patch, &cfg,
		      "{'huge_pages': '2M', 'mem_size_mib': 402}");
	assert_int_equal(cfg.backing, MEM_BACKING_HUGETLBFS);
	expect_api_error(config_parse_machine_config_patch, &cfg, "{'mem_size_mib': 403}", -EINVAL,
			 "mem_size_mib", "must be even with huge_pages \"2M\", got 403");

	/* Not below the balloon: the rule names the balloon, which is not this resource. */
	assert_int_equal(put_balloon(&cfg, (struct balloon_conf){ .amount_mib = 200 }), 0);
	expect_api_error(config_parse_machine_config, &cfg,
			 "{'vcpu_count': 1, 'mem_size_mib': 100}", -EINVAL, "balloon.amount_mib",
			 "200 MiB is more than the guest's 100 MiB");
	config_free(&cfg);
}

static void test_api_boot_source(void **state)
{
	struct vm_config cfg;
	config_init(&cfg);
	expect_api_ok(config_parse_boot_source, &cfg,
		      "{'kernel_image_path': 'a', 'initrd_path': 'b', 'boot_args': 'c'}");
	assert_string_equal(cfg.initrd_path, "b");
	expect_api_error(config_parse_boot_source, &cfg, "{'initrd_path': 'x'}", -EINVAL,
			 "kernel_image_path", "missing required field");
	expect_api_error(config_parse_boot_source, &cfg,
			 "{'kernel_image_path': 'k', 'initrd': 'x'}", -EINVAL, "initrd",
			 "unknown key \"initrd\"; expected one of kernel_image_path, boot_args, "
			 "initrd_path");
	expect_api_error(config_parse_boot_source, &cfg,
			 "{'kernel_image_path': 'k', 'boot_args': ['a']}", -EINVAL, "boot_args",
			 "must be a string, got array");
	/* PUT replaces the whole boot source. */
	expect_api_ok(config_parse_boot_source, &cfg, "{'kernel_image_path': 'k2'}");
	assert_string_equal(cfg.kernel_path, "k2");
	assert_null(cfg.initrd_path);
	assert_null(cfg.boot_args);
	config_free(&cfg);
}

/* A device's own route, called as the router would before boot; returns the HTTP status. */
static int set_conf(const struct device_route_ctx *ctx, int index, void *conf,
		    struct schema_error *err)
{
	return config_set_device(ctx->type, index, conf, ctx->vmm, err);
}

static int call_route(struct vm_config *cfg, const char *section, const char *method,
		      const char *path, const char *id, const char *json, char *fault,
		      size_t fault_len)
{
	const struct device_type *t = type_of(cfg, section);
	struct device_route_ctx ctx = { .type = t,
					.id = id,
					.confs = &cfg->devices,
					.vmm = cfg,
					.set_conf = set_conf };
	struct api_request req = { .method = method, .url = path };
	req.body = json ? body(json) : NULL;
	const struct device_route *r = t->routes;
	while (r->method && (strcmp(r->method, method) || strcmp(r->path, path)))
		r++;
	assert_non_null(r->method);
	r->handle(&ctx, &req);
	json_decref(req.body);
	json_decref(req.response);
	snprintf(fault, fault_len, "%s", req.fault);
	return req.status;
}

/* A route that must fail with a fault holding message, changing nothing. */
static void expect_route_error(struct vm_config *cfg, const char *section, const char *method,
			       const char *path, const char *id, const char *json,
			       const char *message)
{
	struct vm_config before = *cfg;
	char fault[600];
	int status = call_route(cfg, section, method, path, id, json, fault, sizeof(fault));
	if (status != 400 || !strstr(fault, message))
		print_error("%s %s %s: %d \"%s\"\n", method, path, json, status, fault);
	assert_int_equal(status, 400);
	assert_non_null(strstr(fault, message));
	assert_memory_equal(cfg, &before, sizeof(before));
}

static void expect_route_ok(struct vm_config *cfg, const char *section, const char *method,
			    const char *path, const char *json)
{
	char fault[600];
	int status = call_route(cfg, section, method, path, NULL, json, fault, sizeof(fault));
	if (status >= 400)
		print_error("%s %s %s: %d \"%s\"\n", method, path, json, status, fault);
	assert_true(status == 200 || status == 204);
}

static int put_balloon_json(json_t *v, struct vm_config *cfg, struct schema_error *err)
{
	return config_put_device(type_of(cfg, "balloon"), NULL, v, cfg, err);
}

static void test_api_balloon(void **state)
{
	struct vm_config cfg;
	config_init(&cfg);
	cfg.mem_mib = 512;

	expect_route_error(&cfg, "balloon", "PATCH", "", NULL, "{'amount_mib': 10}",
			   "no balloon device is configured");
	expect_route_error(&cfg, "balloon", "PATCH", "/statistics", NULL,
			   "{'stats_polling_interval_s': 1}", "no balloon device is configured");
	expect_api_error(put_balloon_json, &cfg, "{'amount_mib': 513, 'deflate_on_oom': true}",
			 -EINVAL, "amount_mib", "513 MiB is more than the guest's 512 MiB");
	/* Free page hinting is offered only when asked (it moves the reporting queue). */
	expect_api_ok(put_balloon_json, &cfg,
		      "{'amount_mib': 1, 'deflate_on_oom': true, 'free_page_hinting': true}");
	assert_true(balloon_of(&cfg)->free_page_hinting);
	expect_api_ok(put_balloon_json, &cfg,
		      "{'amount_mib': 64, 'deflate_on_oom': true, 'stats_polling_interval_s': 0,"
		      " 'free_page_hinting': false, 'free_page_reporting': true}");
	assert_non_null(balloon_of(&cfg));
	assert_false(balloon_of(&cfg)->free_page_hinting);
	assert_int_equal(balloon_of(&cfg)->amount_mib, 64);
	assert_true(balloon_of(&cfg)->free_page_reporting);

	expect_route_error(&cfg, "balloon", "PATCH", "", NULL, "{}",
			   "amount_mib: missing required field");
	expect_route_error(&cfg, "balloon", "PATCH", "", NULL,
			   "{'amount_mib': 1, 'deflate_on_oom': true}", "deflate_on_oom: unknown key");
	expect_route_error(&cfg, "balloon", "PATCH", "", NULL, "{'amount_mib': 600}",
			   "amount_mib: 600 MiB is more than the guest's 512 MiB");
	expect_route_error(&cfg, "balloon", "PATCH", "", NULL, "{'amount_mib': -3}",
			   "amount_mib: must not be negative, got -3");
	expect_route_ok(&cfg, "balloon", "PATCH", "", "{'amount_mib': 300}");
	assert_int_equal(balloon_of(&cfg)->amount_mib, 300);
	assert_true(balloon_of(&cfg)->deflate_on_oom);

	/* Statistics were off: they cannot be turned on after boot. */
	expect_route_error(&cfg, "balloon", "PATCH", "/statistics", NULL,
			   "{'stats_polling_interval_s': 5}",
			   "stats_polling_interval_s: statistics cannot be turned on");
	assert_int_equal(put_balloon(&cfg, (struct balloon_conf){ .stats_polling_interval_s = 1 }),
			 0);
	expect_route_error(&cfg, "balloon", "PATCH", "/statistics", NULL,
			   "{'stats_polling_interval_s': 0}", "cannot be turned off");
	expect_route_error(&cfg, "balloon", "PATCH", "/statistics", NULL,
			   "{'stats_polling_interval_s': 2.5}",
			   "stats_polling_interval_s: must be an integer, got 2.5");
	expect_route_ok(&cfg, "balloon", "PATCH", "/statistics", "{'stats_polling_interval_s': 10}");
	assert_int_equal(balloon_of(&cfg)->stats_polling_interval_s, 10);
	/* Before boot there are no statistics to read. */
	expect_route_error(&cfg, "balloon", "GET", "/statistics", NULL, NULL,
			   "balloon statistics need a running microVM");
	config_free(&cfg);
}

static int put_drive(json_t *v, const char *id, struct vm_config *cfg, struct schema_error *err)
{
	return config_put_device(type_of(cfg, "drives"), id, v, cfg, err);
}

static void test_api_drives(void **state)
{
	struct vm_config cfg, before;
	struct schema_error err;
	config_init(&cfg);

	json_t *v = body("{'drive_id': 'root', 'path_on_host': 'r.img', 'is_root_device': true}");
	assert_int_equal(put_drive(v, "root", &cfg, &err), 0);
	json_decref(v);
	v = body("{'drive_id': 'data', 'path_on_host': 'd.img', 'is_root_device': false}");
	assert_int_equal(put_drive(v, NULL, &cfg, &err), 0);
	json_decref(v);
	assert_int_equal(nr_drives(&cfg), 2);

	/* Same id replaces. */
	v = body("{'drive_id': 'data', 'path_on_host': 'd2.img', 'is_root_device': false,"
		 " 'is_read_only': true}");
	assert_int_equal(put_drive(v, "data", &cfg, &err), 0);
	json_decref(v);
	assert_int_equal(nr_drives(&cfg), 2);
	assert_string_equal(drive_at(&cfg, 1)->path_on_host, "d2.img");
	assert_true(drive_at(&cfg, 1)->is_read_only);

	/* Replacing the root drive by itself is fine; a second root is not. */
	v = body("{'drive_id': 'root', 'path_on_host': 'r2.img', 'is_root_device': true}");
	assert_int_equal(put_drive(v, "root", &cfg, &err), 0);
	json_decref(v);
	before = cfg;
	v = body("{'drive_id': 'data', 'path_on_host': 'd.img', 'is_root_device': true}");
	assert_int_equal(put_drive(v, "data", &cfg, &err), -EINVAL);
	assert_string_equal(err.path, "is_root_device");
	assert_string_equal(err.message, "drive \"root\" is already the root device");
	assert_memory_equal(&cfg, &before, sizeof(cfg));
	json_decref(v);

	/* The URL's id must match. */
	v = body("{'drive_id': 'data', 'path_on_host': 'd.img', 'is_root_device': false}");
	assert_int_equal(put_drive(v, "other", &cfg, &err), -EINVAL);
	assert_string_equal(err.path, "drive_id");
	assert_string_equal(err.message, "\"data\" does not match the id in the URL, \"other\"");
	assert_memory_equal(&cfg, &before, sizeof(cfg));
	json_decref(v);

	/* Bad bodies change nothing. */
	v = body("{'drive_id': 'x', 'path_on_host': 'x', 'is_root_device': false, 'socket': 's'}");
	assert_int_equal(put_drive(v, "x", &cfg, &err), -EINVAL);
	assert_string_equal(err.path, "socket");
	assert_memory_equal(&cfg, &before, sizeof(cfg));
	json_decref(v);

	/* At most BLOCK_MAX_DRIVES. */
	for (int i = 2; i < BLOCK_MAX_DRIVES; i++) {
		char json[128], id[16];
		snprintf(id, sizeof(id), "d%d", i);
		snprintf(json, sizeof(json),
			 "{'drive_id': '%s', 'path_on_host': 'x', 'is_root_device': false}", id);
		v = body(json);
		assert_int_equal(put_drive(v, id, &cfg, &err), 0);
		json_decref(v);
	}
	assert_int_equal(nr_drives(&cfg), BLOCK_MAX_DRIVES);
	before = cfg;
	v = body("{'drive_id': 'one_more', 'path_on_host': 'x', 'is_root_device': false}");
	assert_int_equal(put_drive(v, "one_more", &cfg, &err), -EINVAL);
	assert_string_equal(err.message, "ebb supports at most 8 drives");
	assert_memory_equal(&cfg, &before, sizeof(cfg));
	json_decref(v);
	/* ...but an existing one can still be replaced. */
	v = body("{'drive_id': 'd7', 'path_on_host': 'y', 'is_root_device': false}");
	assert_int_equal(put_drive(v, "d7", &cfg, &err), 0);
	json_decref(v);
	assert_string_equal(drive_at(&cfg, 7)->path_on_host, "y");
	config_free(&cfg);
}

static void test_api_drive_update(void **state)
{
	struct vm_config cfg;
	struct schema_error err;
	config_init(&cfg);
	json_t *v = body("{'drive_id': 'root', 'path_on_host': 'r.img', 'is_root_device': true}");
	assert_int_equal(put_drive(v, "root", &cfg, &err), 0);
	json_decref(v);
	v = body("{'drive_id': 'data', 'path_on_host': 'd.img', 'is_root_device': false}");
	assert_int_equal(put_drive(v, "data", &cfg, &err), 0);
	json_decref(v);

	/* Before boot a good body is refused for what it is: too early. */
	expect_route_error(&cfg, "drives", "PATCH", "{id}", "data",
			   "{'drive_id': 'data', 'path_on_host': 'new.img'}",
			   "drive data can only be updated once the microVM runs (before, use PUT)");
	assert_string_equal(drive_at(&cfg, 1)->path_on_host, "d.img");
	expect_route_error(&cfg, "drives", "PATCH", "{id}", "nope",
			   "{'drive_id': 'nope', 'path_on_host': 'x'}",
			   "drive_id: no drive \"nope\" is configured");
	expect_route_error(&cfg, "drives", "PATCH", "{id}", "root",
			   "{'drive_id': 'data', 'path_on_host': 'x'}",
			   "drive_id: \"data\" does not match the id in the URL, \"root\"");

	static const char *const bad[] = {
		"{'path_on_host': 'x'}",
		"{'drive_id': 'data', 'path_on_host': ''}",
		"{'drive_id': 'data', 'is_read_only': true}",
		"{'drive_id': 'data', 'rate_limiter': {}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_route_error(&cfg, "drives", "PATCH", "{id}", "data", bad[i], "");
	config_free(&cfg);
}

static void test_api_logger_metrics_ebb(void **state)
{
	struct vm_config cfg;
	config_init(&cfg);

	/* The logger changes only what is given. */
	expect_api_ok(config_parse_logger, &cfg, "{'log_path': 'a.log', 'level': 'Trace'}");
	assert_string_equal(cfg.log_path, "a.log");
	assert_int_equal(cfg.level, LOG_DEBUG);
	expect_api_ok(config_parse_logger, &cfg, "{'show_level': true}");
	assert_string_equal(cfg.log_path, "a.log");
	assert_int_equal(cfg.level, LOG_DEBUG);
	assert_true(cfg.show_level);
	expect_api_error(config_parse_logger, &cfg, "{'log_path': 'b.log', 'level': 'verbose'}",
			 -EINVAL, "level", "got \"verbose\"");
	expect_api_error(config_parse_logger, &cfg, "{'log_path': ''}", -EINVAL, "log_path",
			 "must not be empty");

	expect_api_ok(config_parse_metrics, &cfg, "{'metrics_path': 'm.fifo'}");
	assert_string_equal(cfg.metrics_path, "m.fifo");
	assert_false(cfg.metrics_emit_id);
	expect_api_error(config_parse_metrics, &cfg, "{'emit_id': true}", -EINVAL, "metrics_path",
			 "missing required field");
	expect_api_error(config_parse_metrics, &cfg,
			 "{'metrics_path': 'x', 'properties': {'a': 'b', 'c': null}}", -EINVAL,
			 "properties.c", "must be a string, got null");

	expect_api_ok(config_parse_ebb, &cfg, "{'memory_backing': 'memfd', 'boot_timer': true}");
	assert_int_equal(cfg.backing, MEM_BACKING_MEMFD);
	assert_true(cfg.boot_timer);
	expect_api_error(config_parse_ebb, &cfg, "{'thp': true}", -EINVAL, "thp",
			 "THP applies to memory_backing \"anon\" only, not \"memfd\"");
	expect_api_error(config_parse_ebb, &cfg, "{'page_reporting': {'budget': -1}}", -EINVAL,
			 "page_reporting.budget", "must not be negative, got -1");
	cfg.mem_mib = 129;
	expect_api_error(config_parse_ebb, &cfg, "{'memory_backing': 'hugetlbfs'}", -EINVAL,
			 "memory_backing", "needs an even");
	expect_api_ok(config_parse_ebb, &cfg, "{'memory_backing': 'anon', 'thp': true}");
	assert_int_equal(cfg.backing, MEM_BACKING_ANON);
	assert_true(cfg.thp);
	config_free(&cfg);
}

static void test_json_load(void **state)
{
	struct schema_error err;
	char line[600];
	char *text = dq("{'amount_mib': 1, 'amount_mib': 2}");
	assert_null(schema_json_load(text, strlen(text), &err));
	assert_string_equal(err.path, "amount_mib");
	assert_string_equal(err.message, "duplicate key");
	schema_error_format(&err, NULL, line, sizeof(line));
	assert_string_equal(line, "amount_mib: duplicate key (line 1, column 19)");
	free(text);

	assert_null(schema_json_load("{\"a\": }", 7, &err));
	assert_string_equal(err.path, "");
	assert_non_null(strstr(err.message, "invalid JSON"));

	json_t *v = schema_json_load("{\"a\": 1}", 8, &err);
	assert_non_null(v);
	json_decref(v);
}

/* The locator on its own */

static const char locate_doc[] = "{\n"
				 "  'a': [1, {'b': 'x]}\\'\\\\'}, [2, 3]],\n"
				 "  '\\u00e9t\\u00e9': {'k': null},\n"
				 "  '\\ud83d\\ude00': true,\n"
				 "  'c': {'': 'empty key', 'd': -1.5e3}\n"
				 "}\n";

static void test_locate(void **state)
{
	char *text = dq(locate_doc);
	size_t len = strlen(text);
	struct json_pos pos;

	/* The document itself. */
	assert_int_equal(json_locate(text, len, NULL, 0, false, &pos), 0);
	assert_int_equal(pos.line, 1);
	assert_int_equal(pos.column, 1);

	struct json_seg a1b[] = { { .key = "a" }, { .index = 1 }, { .key = "b" } };
	assert_int_equal(json_locate(text, len, a1b, 3, false, &pos), 0);
	assert_int_equal(pos.line, 2);
	assert_int_equal(pos.column, 18);
	assert_int_equal(json_locate(text, len, a1b, 3, true, &pos), 0);
	assert_int_equal(pos.column, 13);

	struct json_seg a2_1[] = { { .key = "a" }, { .index = 2 }, { .index = 1 } };
	assert_int_equal(json_locate(text, len, a2_1, 3, false, &pos), 0);
	assert_int_equal(pos.line, 2);
	assert_int_equal(pos.column, 34);
	a2_1[2].index = 2;
	assert_int_equal(json_locate(text, len, a2_1, 3, false, &pos), -ENOENT);

	/* Escaped keys are compared decoded, including surrogate pairs. */
	struct json_seg ete_k[] = { { .key = "\xc3\xa9t\xc3\xa9" }, { .key = "k" } };
	assert_int_equal(json_locate(text, len, ete_k, 2, false, &pos), 0);
	assert_int_equal(pos.line, 3);
	assert_int_equal(pos.column, 26);
	struct json_seg smiley[] = { { .key = "\xf0\x9f\x98\x80" } };
	assert_int_equal(json_locate(text, len, smiley, 1, true, &pos), 0);
	assert_int_equal(pos.line, 4);
	assert_int_equal(pos.column, 3);

	struct json_seg c_empty[] = { { .key = "c" }, { .key = "" } };
	assert_int_equal(json_locate(text, len, c_empty, 2, false, &pos), 0);
	assert_int_equal(pos.line, 5);
	assert_int_equal(pos.column, 13);
	struct json_seg c_d[] = { { .key = "c" }, { .key = "d" } };
	assert_int_equal(json_locate(text, len, c_d, 2, false, &pos), 0);
	assert_int_equal(pos.column, 31);

	/* Not there, or not that kind of container. */
	struct json_seg missing[] = { { .key = "c" }, { .key = "dd" } };
	assert_int_equal(json_locate(text, len, missing, 2, false, &pos), -ENOENT);
	struct json_seg prefix[] = { { .key = "c" }, { .key = "" }, { .key = "x" } };
	assert_int_equal(json_locate(text, len, prefix, 3, false, &pos), -ENOENT);
	struct json_seg index_of_object[] = { { .index = 0 } };
	assert_int_equal(json_locate(text, len, index_of_object, 1, false, &pos), -ENOENT);
	struct json_seg key_of_element[] = { { .key = "a" }, { .index = 0 } };
	assert_int_equal(json_locate(text, len, key_of_element, 2, true, &pos), -ENOENT);

	/* Keys ending at an offset, for duplicates. */
	char path[128];
	const char *d = strstr(text, "\"d\"");
	assert_int_equal(
		json_locate_key_ending_at(text, len, d + 3 - text, path, sizeof(path), &pos), 0);
	assert_string_equal(path, "c.d");
	assert_int_equal(pos.line, 5);
	assert_int_equal(pos.column, 26);
	const char *b = strstr(text, "\"b\"");
	assert_int_equal(
		json_locate_key_ending_at(text, len, b + 3 - text, path, sizeof(path), &pos), 0);
	assert_string_equal(path, "a[1].b");
	const char *k = strstr(text, "\"k\"");
	assert_int_equal(
		json_locate_key_ending_at(text, len, k + 3 - text, path, sizeof(path), &pos), 0);
	assert_string_equal(path, "\xc3\xa9t\xc3\xa9.k");
	/* A string value is not a key. */
	const char *x_end = strstr(text, "}, [2");
	assert_non_null(x_end);
	assert_int_equal(
		json_locate_key_ending_at(text, len, x_end - text, path, sizeof(path), &pos),
		-ENOENT);
	/* Truncated path buffers stay terminated. */
	assert_int_equal(json_locate_key_ending_at(text, len, k + 3 - text, path, 4, &pos), 0);
	assert_int_equal(strlen(path), 3);
	free(text);
}

/* Every prefix of a document (and some garbage): no reads out of bounds. */
static void test_locate_truncated(void **state)
{
	char *text = dq(locate_doc);
	size_t len = strlen(text);
	struct json_seg deep[] = { { .key = "c" }, { .key = "d" } };
	struct json_seg arr[] = { { .key = "a" }, { .index = 2 }, { .index = 1 } };
	struct json_pos pos;
	char path[64];

	for (size_t n = 0; n < len; n++) {
		char *copy = malloc(n ? n : 1); /* exact size, so ASan sees any overrun */
		assert_non_null(copy);
		memcpy(copy, text, n);
		json_locate(copy, n, deep, 2, false, &pos);
		json_locate(copy, n, arr, 3, false, &pos);
		json_locate(copy, n, deep, 2, true, &pos);
		for (size_t end = 0; end <= n; end++)
			json_locate_key_ending_at(copy, n, end, path, sizeof(path), &pos);
		free(copy);
	}
	static const char *const junk[] = { "\"\\u12", "\"\\",	    "{\"a\\ud800\\u", "]]]]",
					    "{:,}",    "{\"a\" 1}", "[,,]",	      "\"\\x\"" };
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		size_t n = strlen(junk[i]);
		char *copy = malloc(n);
		memcpy(copy, junk[i], n);
		json_locate(copy, n, deep, 2, false, &pos);
		for (size_t end = 0; end <= n; end++)
			json_locate_key_ending_at(copy, n, end, path, sizeof(path), &pos);
		free(copy);
	}
	free(text);
}

static void test_path_append(void **state)
{
	char buf[32] = "";
	json_path_append(buf, sizeof(buf), &(struct json_seg){ .key = "drives" });
	json_path_append(buf, sizeof(buf), &(struct json_seg){ .index = 3 });
	json_path_append(buf, sizeof(buf), &(struct json_seg){ .key = "a\nb" });
	assert_string_equal(buf, "drives[3].a?b");
	char tiny[8] = "";
	json_path_append(tiny, sizeof(tiny), &(struct json_seg){ .key = "machine-config" });
	assert_string_equal(tiny, "machine");
	json_path_append(tiny, sizeof(tiny), &(struct json_seg){ .index = 1 });
	assert_string_equal(tiny, "machine");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_table),
		cmocka_unit_test(test_firecracker_config),
		cmocka_unit_test(test_everything),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_merges_with_cli),
		cmocka_unit_test(test_examples_load),
		cmocka_unit_test(test_every_error_has_a_position),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_error_format),
		cmocka_unit_test(test_api_machine_config),
		cmocka_unit_test(test_api_boot_source),
		cmocka_unit_test(test_api_balloon),
		cmocka_unit_test(test_api_drives),
		cmocka_unit_test(test_api_drive_update),
		cmocka_unit_test(test_api_logger_metrics_ebb),
		cmocka_unit_test(test_json_load),
		cmocka_unit_test(test_locate),
		cmocka_unit_test(test_locate_truncated),
		cmocka_unit_test(test_path_append),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
