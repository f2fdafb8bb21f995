// SPDX-License-Identifier: GPL-2.0
#include "vmm/cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_KERNEL = 256,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_MEM_MIB,
	OPT_VCPUS,
	OPT_BOOT_TIMER,
	OPT_LEVEL,
	OPT_LOG_PATH,
	OPT_VERSION,
	OPT_NO_SECCOMP,
	OPT_PRINT_SECCOMP,
	OPT_MEM_BACKING,
	OPT_THP,
	OPT_BALLOON_TARGET,
	OPT_BALLOON_REPORTING,
	OPT_BALLOON_DEFLATE_ON_OOM,
	OPT_BALLOON_STATS,
	OPT_REPORTING_QUEUE,
	OPT_GUEST_REPORTING,
	OPT_REPORTING_DELAY,
	OPT_REPORTING_BUDGET,
	OPT_REPORTING_WATERMARK,
	OPT_REPORTING_ORDER,
	OPT_CONFIG_FILE,
	OPT_API_SOCK,
	OPT_NO_API,
	OPT_METRICS_PATH,
	OPT_ID,
};

static const struct option long_options[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "mem-mib", required_argument, NULL, OPT_MEM_MIB },
	{ "vcpus", required_argument, NULL, OPT_VCPUS },
	{ "boot-timer", no_argument, NULL, OPT_BOOT_TIMER },
	{ "level", required_argument, NULL, OPT_LEVEL },
	{ "log-path", required_argument, NULL, OPT_LOG_PATH },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "print-seccomp", no_argument, NULL, OPT_PRINT_SECCOMP },
	{ "mem-backing", required_argument, NULL, OPT_MEM_BACKING },
	{ "thp", no_argument, NULL, OPT_THP },
	{ "balloon-target-mib", required_argument, NULL, OPT_BALLOON_TARGET },
	{ "balloon-reporting", no_argument, NULL, OPT_BALLOON_REPORTING },
	{ "balloon-deflate-on-oom", no_argument, NULL, OPT_BALLOON_DEFLATE_ON_OOM },
	{ "balloon-stats-interval", required_argument, NULL, OPT_BALLOON_STATS },
	{ "reporting-queue-size", required_argument, NULL, OPT_REPORTING_QUEUE },
	{ "guest-reporting", required_argument, NULL, OPT_GUEST_REPORTING },
	{ "reporting-delay-ms", required_argument, NULL, OPT_REPORTING_DELAY },
	{ "reporting-budget", required_argument, NULL, OPT_REPORTING_BUDGET },
	{ "reporting-watermark-mib", required_argument, NULL, OPT_REPORTING_WATERMARK },
	{ "reporting-order", required_argument, NULL, OPT_REPORTING_ORDER },
	{ "config-file", required_argument, NULL, OPT_CONFIG_FILE },
	{ "api-sock", required_argument, NULL, OPT_API_SOCK },
	{ "no-api", no_argument, NULL, OPT_NO_API },
	{ "metrics-path", required_argument, NULL, OPT_METRICS_PATH },
	{ "id", required_argument, NULL, OPT_ID },
	{ NULL, 0, NULL, 0 },
};

static void print_help(void)
{
	printf("Usage: ebb [OPTIONS]\n"
	       "\n"
	       "Runs one KVM microVM whose guest gives freed memory back to the host.\n"
	       "\n"
	       "Boot (quick form):\n"
	       "  --kernel PATH              bzImage or ELF vmlinux (x86_64, 64-bit boot protocol)\n"
	       "  --initrd PATH              initramfs, placed high in guest RAM\n"
	       "  --cmdline STRING           kernel command line (default: \"%s\");\n"
	       "                             ebb appends its virtio_mmio.device= entries\n"
	       "  --mem-mib N                guest RAM in MiB (default %d)\n"
	       "  --vcpus N                  number of vCPUs (default 1)\n"
	       "  --boot-timer               log Guest-boot-time when the guest init signals it\n"
	       "\n"
	       "Memory:\n"
	       "  --mem-backing KIND         anon (default), memfd or hugetlbfs (2 MiB pages)\n"
	       "  --thp                      advise transparent huge pages (anon only)\n"
	       "\n"
	       "Balloon (virtio-balloon):\n"
	       "  --balloon-target-mib N     add a balloon with this target size\n"
	       "  --balloon-reporting        free page reporting (adds a balloon)\n"
	       "  --balloon-deflate-on-oom   let the guest deflate under memory pressure\n"
	       "  --balloon-stats-interval S poll guest memory statistics every S seconds\n"
	       "  --reporting-queue-size N   reporting virtqueue size, 32..32768 (default %d)\n"
	       "\n"
	       "Guest free page reporting (needs ebb's patched guest kernel):\n"
	       "  --guest-reporting PROFILE  fast (default: memory back within a fraction of a\n"
	       "                             second) or stock (Linux's own timing, about 2 s+)\n"
	       "  --reporting-delay-ms N     page_reporting.delay_ms for the guest\n"
	       "  --reporting-budget N       page_reporting.budget (0: a whole free list per pass)\n"
	       "  --reporting-watermark-mib N page_reporting.watermark_mib (free headroom)\n"
	       "  --reporting-order N        page_reporting.page_reporting_order (smallest\n"
	       "                             block reported: 4 KiB << N)\n"
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
	       "  0    the guest reset or shut down\n"
	       "  1    bad command line or configuration (nothing was started)\n"
	       "  2    VM error: KVM failure, triple fault, internal error\n"
	       "  128+N  stopped by signal N (143 for SIGTERM, 130 for SIGINT)\n",
	       CONFIG_DEFAULT_BOOT_ARGS, CONFIG_DEFAULT_MEM_MIB, CONFIG_DEFAULT_REPORTING_QUEUE_SIZE);
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
		if (max == UINT64_MAX || max == UINT32_MAX)
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

static bool parse_u32_flag(const char *flag, const char *text, uint32_t min, uint32_t max,
			   uint32_t *out)
{
	char err[128];
	uint64_t v;
	if (cli_parse_u64(text, min, max, &v, err, sizeof(err)) < 0) {
		fprintf(stderr, "ebb: --%s: %s\n", flag, err);
		return false;
	}
	*out = v;
	return true;
}

static bool parse_i64_flag(const char *flag, const char *text, uint64_t max, int64_t *out)
{
	char err[128];
	uint64_t v;
	if (cli_parse_u64(text, 0, max, &v, err, sizeof(err)) < 0) {
		fprintf(stderr, "ebb: --%s: %s\n", flag, err);
		return false;
	}
	*out = (int64_t)v;
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

/* Flags that describe the VM itself: the config file must not be contradicted by them. */
static bool defines_vm(int opt)
{
	switch (opt) {
	case OPT_KERNEL:
	case OPT_INITRD:
	case OPT_CMDLINE:
	case OPT_MEM_MIB:
	case OPT_VCPUS:
	case OPT_MEM_BACKING:
	case OPT_THP:
	case OPT_BALLOON_TARGET:
	case OPT_BALLOON_REPORTING:
	case OPT_BALLOON_DEFLATE_ON_OOM:
	case OPT_BALLOON_STATS:
	case OPT_REPORTING_QUEUE:
	case OPT_GUEST_REPORTING:
	case OPT_REPORTING_DELAY:
	case OPT_REPORTING_BUDGET:
	case OPT_REPORTING_WATERMARK:
	case OPT_REPORTING_ORDER:
		return true;
	default:
		return false;
	}
}

enum cli_result cli_parse(int argc, char **argv, struct vm_config *cfg)
{
	enum cli_result result = CLI_RUN;
	const char *vm_flag = NULL;
	bool ok = true;
	int opt;

	optind = 1;
	opterr = 0;
	int index = -1;
	while (ok && (opt = getopt_long(argc, argv, ":h", long_options, &index)) != -1) {
		if (defines_vm(opt) && !vm_flag && index >= 0)
			vm_flag = long_options[index].name;
		index = -1;
		switch (opt) {
		case OPT_KERNEL:
			ok = set_str(&cfg->kernel_path, optarg);
			break;
		case OPT_INITRD:
			ok = set_str(&cfg->initrd_path, optarg);
			break;
		case OPT_CMDLINE:
			ok = set_str(&cfg->boot_args, optarg);
			break;
		case OPT_MEM_MIB:
			ok = parse_u32_flag("mem-mib", optarg, 1, UINT32_MAX, &cfg->mem_mib);
			break;
		case OPT_VCPUS:
			ok = parse_u32_flag("vcpus", optarg, 1, UINT32_MAX, &cfg->vcpus);
			break;
		case OPT_BOOT_TIMER:
			cfg->boot_timer = true;
			break;
		case OPT_LEVEL:
			if (log_level_parse(optarg, &cfg->level) < 0) {
				fprintf(stderr,
					"ebb: --level: unknown level '%s' (error, warn, info, debug)\n",
					optarg);
				ok = false;
			}
			break;
		case OPT_LOG_PATH:
			ok = set_str(&cfg->log_path, optarg);
			break;
		case 'h':
			print_help();
			result = CLI_DONE;
			break;
		case OPT_VERSION:
			printf("ebb %s\n", EBB_VERSION);
			result = CLI_DONE;
			break;
		case OPT_NO_SECCOMP:
			cfg->no_seccomp = true;
			break;
		case OPT_PRINT_SECCOMP:
			result = CLI_PRINT_SECCOMP;
			break;
		case OPT_MEM_BACKING:
			if (mem_backing_parse(optarg, &cfg->backing) < 0) {
				fprintf(stderr,
					"ebb: --mem-backing: unknown backing '%s' (anon, memfd, hugetlbfs)\n",
					optarg);
				ok = false;
			}
			break;
		case OPT_THP:
			cfg->thp = true;
			break;
		case OPT_BALLOON_TARGET:
			cfg->balloon.present = true;
			ok = parse_u32_flag("balloon-target-mib", optarg, 0, UINT32_MAX,
					    &cfg->balloon.amount_mib);
			break;
		case OPT_BALLOON_REPORTING:
			cfg->balloon.present = true;
			cfg->balloon.free_page_reporting = true;
			break;
		case OPT_BALLOON_DEFLATE_ON_OOM:
			cfg->balloon.present = true;
			cfg->balloon.deflate_on_oom = true;
			break;
		case OPT_BALLOON_STATS:
			cfg->balloon.present = true;
			ok = parse_u32_flag("balloon-stats-interval", optarg, 0, 86400,
					    &cfg->balloon.stats_polling_interval_s);
			break;
		case OPT_REPORTING_QUEUE:
			ok = parse_u32_flag("reporting-queue-size", optarg,
					    CONFIG_MIN_REPORTING_QUEUE_SIZE, 32768,
					    &cfg->reporting_queue_size);
			if (ok && (cfg->reporting_queue_size & (cfg->reporting_queue_size - 1))) {
				fprintf(stderr,
					"ebb: --reporting-queue-size: must be a power of two, got %u\n",
					cfg->reporting_queue_size);
				ok = false;
			}
			break;
		case OPT_GUEST_REPORTING:
			if (strcmp(optarg, "fast") == 0) {
				cfg->reporting.profile = REPORTING_FAST;
			} else if (strcmp(optarg, "stock") == 0) {
				cfg->reporting.profile = REPORTING_STOCK;
			} else {
				fprintf(stderr, "ebb: --guest-reporting: '%s' is not fast or stock\n",
					optarg);
				ok = false;
			}
			break;
		case OPT_REPORTING_DELAY:
			ok = parse_i64_flag("reporting-delay-ms", optarg, 60000,
					    &cfg->reporting.delay_ms);
			break;
		case OPT_REPORTING_BUDGET:
			ok = parse_i64_flag("reporting-budget", optarg, 1024, &cfg->reporting.budget);
			break;
		case OPT_REPORTING_WATERMARK:
			ok = parse_i64_flag("reporting-watermark-mib", optarg, 65536,
					    &cfg->reporting.watermark_mib);
			break;
		case OPT_REPORTING_ORDER:
			ok = parse_i64_flag("reporting-order", optarg, 10, &cfg->reporting.order);
			break;
		case OPT_CONFIG_FILE:
			ok = set_str(&cfg->config_file, optarg);
			break;
		case OPT_API_SOCK:
			ok = set_str(&cfg->api_sock, optarg);
			break;
		case OPT_NO_API:
			cfg->no_api = true;
			break;
		case OPT_METRICS_PATH:
			ok = set_str(&cfg->metrics_path, optarg);
			break;
		case OPT_ID:
			ok = set_str(&cfg->id, optarg);
			break;
		case ':':
			fprintf(stderr, "ebb: %s needs a value\n", argv[optind - 1]);
			ok = false;
			break;
		default:
			fprintf(stderr, "ebb: unknown option '%s' (see ebb --help)\n",
				argv[optind - 1]);
			ok = false;
			break;
		}
	}
	if (ok && optind < argc) {
		fprintf(stderr, "ebb: unexpected argument '%s' (see ebb --help)\n", argv[optind]);
		ok = false;
	}
	if (ok && cfg->config_file && vm_flag) {
		fprintf(stderr,
			"ebb: --%s cannot be combined with --config-file: the file describes the VM "
			"(only process flags such as --level, --log-path, --api-sock may be added)\n",
			vm_flag);
		ok = false;
	}
	if (ok && cfg->thp && cfg->backing != MEM_BACKING_ANON) {
		fprintf(stderr, "ebb: --thp applies to anon memory only, not %s\n",
			mem_backing_name(cfg->backing));
		ok = false;
	}
	return ok ? result : CLI_ERROR;
}
