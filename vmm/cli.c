// SPDX-License-Identifier: GPL-2.0
/*
 * The command line. Flags that describe the VM are shortcuts for config
 * keys: they become a config document that goes through the same schemas
 * and rules as a file or an API body, so every limit exists once. Process
 * flags (--api-sock, --id, ...) are set directly.
 */
#include "vmm/cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "devices/virtio/balloon/conf.h"

enum value_kind {
	VALUE_STRING,	/* the key gets the argument as a string */
	VALUE_NUMBER,	/* the key gets the argument as a whole number */
	VALUE_TRUE,	/* no argument: the key is true */
	VALUE_FALSE,	/* no argument: the key is false */
	PROCESS_ARG,	/* a process setting, not a config key, with an argument */
	PROCESS_SWITCH, /* the same without one */
};

struct flag {
	const char *name;
	enum value_kind kind;
	const char *path; /* the config key it sets: "section.key" or "section.key.subkey" */
	bool defines_vm;  /* refused together with --config-file, which describes the VM */
};

enum { OPT_FLAG = 256, OPT_HELP = 'h' };

/* The index into flags[] is the getopt value minus OPT_FLAG. */
static const struct flag flags[] = {
	{ "kernel", VALUE_STRING, "boot-source.kernel_image_path", true },
	{ "initrd", VALUE_STRING, "boot-source.initrd_path", true },
	{ "cmdline", VALUE_STRING, "boot-source.boot_args", true },
	{ "mem-mib", VALUE_NUMBER, "machine-config.mem_size_mib", true },
	{ "vcpus", VALUE_NUMBER, "machine-config.vcpu_count", true },
	{ "mem-backing", VALUE_STRING, "ebb.memory_backing", true },
	{ "thp", VALUE_TRUE, "ebb.thp", true },
	{ "mem-merge", VALUE_TRUE, "ebb.memory.merge", true },
	{ "share-kernel", VALUE_TRUE, "ebb.memory.share_kernel", true },
	{ "keep-page-tables", VALUE_FALSE, "ebb.memory.free_page_tables", true },
	{ "keep-zero-pages", VALUE_FALSE, "ebb.memory.free_zero_pages", true },
	{ "balloon-target-mib", VALUE_NUMBER, "balloon.amount_mib", true },
	{ "balloon-reporting", VALUE_TRUE, "balloon.free_page_reporting", true },
	{ "balloon-deflate-on-oom", VALUE_TRUE, "balloon.deflate_on_oom", true },
	{ "balloon-stats-interval", VALUE_NUMBER, "balloon.stats_polling_interval_s", true },
	{ "balloon-policy", VALUE_TRUE, "ebb.balloon.policy.enabled", true },
	{ "balloon-margin-mib", VALUE_NUMBER, "ebb.balloon.policy.margin_mib", true },
	{ "reporting-queue-size", VALUE_NUMBER, "ebb.reporting_queue_size", true },
	{ "guest-reporting", VALUE_STRING, "ebb.page_reporting.profile", true },
	{ "reporting-delay-ms", VALUE_NUMBER, "ebb.page_reporting.delay_ms", true },
	{ "reporting-budget", VALUE_NUMBER, "ebb.page_reporting.budget", true },
	{ "reporting-watermark-mib", VALUE_NUMBER, "ebb.page_reporting.watermark_mib", true },
	{ "reporting-order", VALUE_NUMBER, "ebb.page_reporting.order", true },
	{ "reporting-settled-order", VALUE_NUMBER, "ebb.page_reporting.settled_order", true },
	{ "reporting-settle-ms", VALUE_NUMBER, "ebb.page_reporting.settle_ms", true },
	{ "boot-timer", VALUE_TRUE, "ebb.boot_timer", false },
	{ "no-acpi", VALUE_FALSE, "ebb.acpi", true },
	{ "track-dirty-pages", VALUE_TRUE, "machine-config.track_dirty_pages", true },
	{ "level", VALUE_STRING, "logger.level", false },
	{ "log-path", VALUE_STRING, "logger.log_path", false },
	{ "metrics-path", VALUE_STRING, "metrics.metrics_path", false },
	{ "config-file", PROCESS_ARG, NULL, false },
	{ "api-sock", PROCESS_ARG, NULL, false },
	{ "id", PROCESS_ARG, NULL, false },
	{ "restore", PROCESS_ARG, NULL, false },
	{ "restore-mem", PROCESS_ARG, NULL, false },
	{ "restore-paused", PROCESS_SWITCH, NULL, false },
	{ "no-api", PROCESS_SWITCH, NULL, false },
	{ "no-seccomp", PROCESS_SWITCH, NULL, false },
	{ "print-seccomp", PROCESS_SWITCH, NULL, false },
	{ "version", PROCESS_SWITCH, NULL, false },
};

static bool takes_argument(const struct flag *f)
{
	return f->kind == VALUE_STRING || f->kind == VALUE_NUMBER || f->kind == PROCESS_ARG;
}

static void print_help(void)
{
	printf("Usage: ebb [OPTIONS]\n"
	       "\n"
	       "Runs one KVM microVM whose guest gives freed memory back to the host.\n"
	       "\n"
	       "Boot (quick form):\n"
	       "  --kernel PATH              bzImage or ELF vmlinux (x86_64, 64-bit boot "
	       "protocol)\n"
	       "  --initrd PATH              initramfs, placed high in guest RAM\n"
	       "  --cmdline STRING           kernel command line (default: \"%s\");\n"
	       "                             ebb appends root= and reporting parameters (and,\n"
	       "                             with --no-acpi, its virtio_mmio.device= entries)\n"
	       "  --mem-mib N                guest RAM in MiB (default %d)\n"
	       "  --vcpus N                  number of vCPUs (default 1)\n"
	       "  --boot-timer               log Guest-boot-time when the guest init signals it\n"
	       "  --no-acpi                  no ACPI tables: devices on the command line and an "
	       "MP\n"
	       "                             table, for kernels built without ACPI\n"
	       "\n"
	       "Memory:\n"
	       "  --mem-backing KIND         anon (default), memfd or hugetlbfs (2 MiB pages)\n"
	       "  --thp                      advise transparent huge pages (anon only)\n"
	       "  --mem-merge                let KSM merge identical guest pages (anon only)\n"
	       "  --share-kernel             map an ELF vmlinux's pages from its file, shared by\n"
	       "                             every guest booted from it (anon only; the file must\n"
	       "                             not change while guests run)\n"
	       "  --keep-page-tables         discards keep the host's page tables (ebb and KVM's)\n"
	       "  --keep-zero-pages          guest RAM that holds only zeros stays resident\n"
	       "\n"
	       "Balloon (virtio-balloon):\n"
	       "  --balloon-target-mib N     add a balloon with this target size\n"
	       "  --balloon-reporting        free page reporting (adds a balloon)\n"
	       "  --balloon-deflate-on-oom   let the guest deflate under memory pressure\n"
	       "  --balloon-stats-interval S poll guest memory statistics every S seconds\n"
	       "  --balloon-policy           the automatic policy: keep the guest's available\n"
	       "                             memory near a margin (needs statistics)\n"
	       "  --balloon-margin-mib N     the policy's margin (default 64)\n"
	       "  --reporting-queue-size N   reporting virtqueue size, 32..32768 (default %d)\n"
	       "\n"
	       "Guest free page reporting (needs ebb's patched guest kernel):\n"
	       "  --guest-reporting PROFILE  fast (default: memory back within a fraction of a\n"
	       "                             second) or stock (Linux's own timing, about 2 s+)\n"
	       "  --reporting-delay-ms N     page_reporting.delay_ms for the guest\n"
	       "  --reporting-budget N       page_reporting.budget (0: a whole free list per "
	       "pass)\n"
	       "  --reporting-watermark-mib N page_reporting.watermark_mib (free headroom)\n"
	       "  --reporting-order N        page_reporting.page_reporting_order (smallest\n"
	       "                             block reported: 4 KiB << N)\n"
	       "  --reporting-settled-order N page_reporting.settled_order: smaller blocks from\n"
	       "                             4 KiB << N go back once settled (fast: 5; 11: off)\n"
	       "  --reporting-settle-ms N    page_reporting.settle_ms: how long they must stay\n"
	       "                             free first (fast: 10000)\n"
	       "\n"
	       "Snapshots (docs/snapshot.md):\n"
	       "  --restore PATH             run the VM of a snapshot's state file instead of a\n"
	       "                             configuration (no API call needed)\n"
	       "  --restore-mem PATH         its memory file (default: the one the snapshot "
	       "names)\n"
	       "  --restore-paused           stay paused after the restore (PATCH /vm resumes)\n"
	       "  --track-dirty-pages        log guest writes, so Diff snapshots can be taken\n"
	       "\n"
	       "Firecracker-compatible:\n"
	       "  --config-file PATH         JSON configuration (Firecracker's schema)\n"
	       "  --api-sock PATH            HTTP API on this unix socket\n"
	       "  --no-api                   no API socket\n"
	       "  --id ID                    instance id\n"
	       "  --metrics-path PATH        where metrics are written\n"
	       "\n"
	       "Process:\n"
	       "  --level LEVEL              error, warn, info (default) or debug\n"
	       "  --log-path PATH            log to this file instead of stderr\n"
	       "  --no-seccomp               run without seccomp filters (debugging only)\n"
	       "  --print-seccomp            print each thread role's seccomp allowlist\n"
	       "  -h, --help                 this help\n"
	       "  --version                  print the version\n"
	       "\n"
	       "The guest console is ebb's stdin and stdout; logs go to stderr.\n"
	       "\n"
	       "Exit status:\n"
	       "  0    the guest reset or powered off\n"
	       "  1    bad command line or configuration (nothing was started)\n"
	       "  2    VM error: KVM failure, triple fault, internal error\n"
	       "  128+N  stopped by signal N (143 for SIGTERM, 130 for SIGINT)\n",
	       CONFIG_DEFAULT_BOOT_ARGS, CONFIG_DEFAULT_MEM_MIB, BALLOON_DEFAULT_REPORTING_QUEUE);
}

int cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out, char *err,
		  size_t errlen)
{
	if (!text[0] || !isdigit((unsigned char)text[0])) {
		snprintf(err, errlen, "'%s' is not a non-negative whole number", text);
		return -EINVAL;
	}
	errno = 0;
	char *end;
	unsigned long long v = strtoull(text, &end, 10);
	if (*end != '\0') {
		snprintf(err, errlen, "'%s' is not a non-negative whole number", text);
		return -EINVAL;
	}
	if (errno == ERANGE || v < min || v > max) {
		if (max == UINT64_MAX || max == UINT32_MAX || max == INT64_MAX)
			snprintf(err, errlen, "must be %s %llu, got %s",
				 v < min ? "at least" : "at most",
				 (unsigned long long)(v < min ? min : max), text);
		else
			snprintf(err, errlen, "must be %llu..%llu, got %s", (unsigned long long)min,
				 (unsigned long long)max, text);
		return -ERANGE;
	}
	*out = v;
	return 0;
}

/* Sets doc[a][b]([c]) = value, creating the objects on the way; takes value. */
static int doc_set(json_t *doc, const char *path, json_t *value)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	json_t *obj = doc;
	char *save = NULL;
	char *part = strtok_r(buf, ".", &save);
	for (char *next; part && (next = strtok_r(NULL, ".", &save)); part = next) {
		json_t *child = json_object_get(obj, part);
		if (!json_is_object(child)) {
			child = json_object();
			if (!child || json_object_set_new(obj, part, child) < 0)
				goto fail;
		}
		obj = child;
	}
	if (value && part && json_object_set_new(obj, part, value) == 0)
		return 0;
	value = NULL;
fail:
	json_decref(value);
	return -ENOMEM;
}

/* The flag's config key gets its argument. */
static bool add_value(const struct flag *f, const char *arg, json_t *doc)
{
	json_t *value;
	char err[128];
	uint64_t n;
	switch (f->kind) {
	case VALUE_STRING:
		value = json_string(arg);
		break;
	case VALUE_NUMBER:
		if (cli_parse_u64(arg, 0, INT64_MAX, &n, err, sizeof(err)) < 0) {
			fprintf(stderr, "ebb: --%s: %s\n", f->name, err);
			return false;
		}
		value = json_integer((json_int_t)n);
		break;
	case VALUE_TRUE:
		value = json_true();
		break;
	case VALUE_FALSE:
		value = json_false();
		break;
	default:
		return true;
	}
	if (doc_set(doc, f->path, value) < 0) {
		fprintf(stderr, "ebb: out of memory\n");
		return false;
	}
	return true;
}

static bool set_str(char **dst, const char *value)
{
	if (config_set_str(dst, value) < 0) {
		fprintf(stderr, "ebb: out of memory\n");
		return false;
	}
	return true;
}

/* The process flags, which are not config keys. */
static bool set_process(const struct flag *f, const char *arg, struct vm_config *cfg,
			enum cli_result *result)
{
	const char *n = f->name;
	if (!strcmp(n, "config-file"))
		return set_str(&cfg->config_file, arg);
	if (!strcmp(n, "api-sock"))
		return set_str(&cfg->api_sock, arg);
	if (!strcmp(n, "id"))
		return set_str(&cfg->id, arg);
	if (!strcmp(n, "restore"))
		return set_str(&cfg->restore_path, arg);
	if (!strcmp(n, "restore-mem"))
		return set_str(&cfg->restore_mem_path, arg);
	if (!strcmp(n, "restore-paused"))
		cfg->restore_paused = true;
	else if (!strcmp(n, "no-api"))
		cfg->no_api = true;
	else if (!strcmp(n, "no-seccomp"))
		cfg->no_seccomp = true;
	else if (!strcmp(n, "print-seccomp"))
		*result = CLI_PRINT_SECCOMP;
	else if (!strcmp(n, "version")) {
		printf("ebb %s\n", EBB_VERSION);
		*result = CLI_DONE;
	}
	return true;
}

enum cli_result cli_parse(int argc, char **argv, struct vm_config *cfg, struct json_t **doc_out)
{
	struct option options[ARRAY_SIZE(flags) + 2];
	enum cli_result result = CLI_RUN;
	const char *vm_flag = NULL, *any_vm_flag = NULL;
	json_t *doc = json_object();
	bool ok = doc != NULL;
	int opt;

	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		options[i] = (struct option){ flags[i].name,
					      takes_argument(&flags[i]) ? required_argument
									: no_argument,
					      NULL, OPT_FLAG + (int)i };
	options[ARRAY_SIZE(flags)] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	options[ARRAY_SIZE(flags) + 1] = (struct option){ NULL, 0, NULL, 0 };

	optind = 1;
	opterr = 0;
	while (ok && (opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (opt >= OPT_FLAG && opt < OPT_FLAG + (int)ARRAY_SIZE(flags)) {
			const struct flag *f = &flags[opt - OPT_FLAG];
			/* Dirty tracking is also a restore's option. */
			if (f->defines_vm && !vm_flag && strcmp(f->name, "track-dirty-pages") != 0)
				vm_flag = f->name;
			if (f->defines_vm && !any_vm_flag)
				any_vm_flag = f->name;
			ok = f->path ? add_value(f, optarg, doc)
				     : set_process(f, optarg, cfg, &result);
		} else if (opt == OPT_HELP) {
			print_help();
			result = CLI_DONE;
		} else if (opt == ':') {
			fprintf(stderr, "ebb: %s needs a value\n", argv[optind - 1]);
			ok = false;
		} else {
			fprintf(stderr, "ebb: unknown option '%s' (see ebb --help)\n",
				argv[optind - 1]);
			ok = false;
		}
	}
	if (ok && optind < argc) {
		fprintf(stderr, "ebb: unexpected argument '%s' (see ebb --help)\n", argv[optind]);
		ok = false;
	}
	if (ok && cfg->restore_path && (cfg->config_file || vm_flag)) {
		fprintf(stderr,
			"ebb: --restore takes the VM from the snapshot; %s%s cannot be added (only "
			"process flags, --restore-mem, --restore-paused and --track-dirty-pages)\n",
			cfg->config_file ? "--config-file" : "--",
			cfg->config_file ? "" : vm_flag);
		ok = false;
	} else if (ok && !cfg->restore_path && (cfg->restore_mem_path || cfg->restore_paused)) {
		fprintf(stderr, "ebb: --restore-mem and --restore-paused need --restore\n");
		ok = false;
	}
	if (ok && cfg->config_file && any_vm_flag && !cfg->restore_path) {
		vm_flag = any_vm_flag;
		fprintf(stderr,
			"ebb: --%s cannot be combined with --config-file: the file describes the "
			"VM "
			"(only process flags such as --level, --log-path, --api-sock may be "
			"added)\n",
			vm_flag);
		ok = false;
	}
	if (!ok) {
		json_decref(doc);
		return CLI_ERROR;
	}
	*doc_out = doc;
	return result;
}

/* The flag whose key an error names, if a flag set it. */
static const struct flag *flag_of_path(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		if (flags[i].path && strcmp(flags[i].path, path) == 0)
			return &flags[i];
	}
	return NULL;
}

int cli_apply(json_t *doc, struct vm_config *cfg)
{
	struct schema_error err;
	if (config_patch_json(doc, cfg, &err) == 0)
		return 0;
	const struct flag *f = flag_of_path(err.path);
	if (f)
		fprintf(stderr, "ebb: --%s: %s\n", f->name, err.message);
	else if (err.path[0])
		fprintf(stderr, "ebb: %s: %s\n", err.path, err.message);
	else
		fprintf(stderr, "ebb: %s\n", err.message);
	return -EINVAL;
}
