/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_CONFIG_H
#define EBB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/log.h"
#include "vmm/memory.h"

struct json_t; /* jansson's, so includers need not include it */

/* Firecracker's machine-config range; KVM's own limit is checked too. */
#define CONFIG_MAX_VCPUS      32
#define CONFIG_DEFAULT_MEM_MIB 128
#define CONFIG_MAX_DRIVES     8
#define CONFIG_DEFAULT_BOOT_ARGS "console=ttyS0 reboot=k panic=1 pci=off"
#define CONFIG_DEFAULT_REPORTING_QUEUE_SIZE 64
#define CONFIG_MIN_REPORTING_QUEUE_SIZE 32 /* the Linux driver refuses fewer */

/* Limits of the JSON config. */
#define CONFIG_MAX_REPORTING_QUEUE_SIZE 32768
#define CONFIG_MAX_STATS_INTERVAL_S	86400 /* as --balloon-stats-interval */
#define CONFIG_MAX_DRIVE_ID_LEN		64
#define CONFIG_MAX_FILE_SIZE		(1 << 20)

struct balloon_config {
	bool present;
	uint32_t amount_mib;
	bool deflate_on_oom;
	uint32_t stats_polling_interval_s;
	bool free_page_reporting;
};

/*
 * The guest's page_reporting tunables (guest-kernel-patches/). The fast
 * profile gives memory back within a fraction of a second; the stock one
 * adds nothing to the guest command line and keeps Linux's defaults. A
 * value other than -1 overrides the profile's.
 */
enum reporting_profile {
	REPORTING_FAST,
	REPORTING_STOCK,
};

#define REPORTING_FAST_DELAY_MS	     200
#define REPORTING_FAST_BUDGET	     0 /* a whole free list per pass */
#define REPORTING_FAST_WATERMARK_MIB 0

struct reporting_tunables {
	int profile; /* enum reporting_profile */
	int64_t delay_ms;
	int64_t budget;
	int64_t watermark_mib;
	/*
	 * page_reporting.page_reporting_order; no profile sets it. Below 9 an
	 * idle guest keeps less resident, but its RAM loses THP (vm.c), which
	 * a guest that frees and re-touches memory pays for dearly.
	 */
	int64_t order;
};

struct drive_config {
	char *drive_id;
	char *path_on_host;
	bool is_root_device;
	bool is_read_only;
	char *partuuid;
	bool cache_writeback;
};

struct vm_config {
	/* boot-source */
	char *kernel_path;
	char *initrd_path;
	char *boot_args; /* NULL: CONFIG_DEFAULT_BOOT_ARGS */

	/* machine-config */
	uint32_t mem_mib;
	uint32_t vcpus;

	/* ebb-only */
	enum mem_backing backing;
	bool thp;
	uint32_t reporting_queue_size;
	struct reporting_tunables reporting;

	struct balloon_config balloon;
	unsigned int nr_drives;
	struct drive_config drives[CONFIG_MAX_DRIVES];

	/* process */
	bool boot_timer;
	bool no_seccomp;
	bool no_api;
	char *api_sock;
	char *log_path;
	enum log_level level;
	bool show_level;  /* logger.show_level */
	bool show_origin; /* logger.show_log_origin */
	char *metrics_path;
	bool metrics_emit_id; /* metrics.emit_id */
	char *id;
	char *config_file;
};

void config_init(struct vm_config *cfg);
void config_free(struct vm_config *cfg);
/* Replace *dst with a copy of src (NULL clears). Returns -ENOMEM on failure. */
int config_set_str(char **dst, const char *src);

/*
 * The tunables the guest is given: each one set explicitly, else the
 * profile's, else -1 (the guest keeps its own). Empty without reporting.
 */
struct reporting_tunables config_reporting_effective(const struct vm_config *cfg);

/*
 * The JSON config file (Firecracker's schema plus an "ebb" object), and the
 * same per-resource parsers for the HTTP API's bodies.
 *
 * Every function returns 0 or negative errno (-EINVAL for a bad value,
 * -ENOMEM, or the errno of reading the file) and, on error, fills *err and
 * leaves *cfg exactly as it was.
 */
struct config_error {
	char message[512]; /* the reason, without path or position */
	int line;	   /* 1-based, in the file; 0 when there is no text */
	int column;	   /* 1-based, in characters like jansson's */
	/* "machine-config.vcpu_count", "drives[1].drive_id"; "" is the document */
	char path[256];
};

/*
 * Reads a config file and applies it onto cfg (prepared by config_init, and
 * maybe the CLI). A section the file lacks (or gives as null) leaves cfg as
 * it was; a section it has replaces that resource, as a PUT would, except
 * that an absent huge_pages keeps the backing, and logger and ebb change
 * only the fields given. On error: -errno from open/read ("cannot open: ..."
 * with no position), -EFBIG past CONFIG_MAX_FILE_SIZE, -EINVAL for the
 * content, -ENOMEM.
 */
int config_load_file(const char *path, struct vm_config *cfg, struct config_error *err);
/* The same from a buffer (need not be NUL-terminated). */
int config_load_buffer(const char *text, size_t len, struct vm_config *cfg,
		       struct config_error *err);

/*
 * One line, no newline:  "FILE:LINE:COL: PATH: MESSAGE".  Parts that are
 * unknown are left out: no file (API bodies) gives "PATH: MESSAGE", no line
 * gives "FILE: PATH: MESSAGE", an empty path gives "FILE:LINE:COL: MESSAGE".
 */
void config_error_format(const struct config_error *e, const char *file, char *buf, size_t len);

/*
 * Parses an API request body with the config file's rules (duplicate keys
 * rejected). Returns a new reference, or NULL with *err filled.
 */
struct json_t *config_json_load(const char *text, size_t len, struct config_error *err);

/*
 * Per-resource parsers (Firecracker's PUT semantics: optional fields that are
 * absent take their defaults). err->path is relative to the resource, and
 * err->line is 0. Cross-checks use the rest of cfg (mem_mib, balloon, drives).
 */
int config_parse_boot_source(struct json_t *obj, struct vm_config *cfg, struct config_error *err);
int config_parse_machine_config(struct json_t *obj, struct vm_config *cfg,
				struct config_error *err);
/* PATCH /machine-config: every field optional; what is absent stays as it is. */
int config_parse_machine_config_patch(struct json_t *obj, struct vm_config *cfg,
				      struct config_error *err);
int config_parse_balloon(struct json_t *obj, struct vm_config *cfg, struct config_error *err);
/* PATCH /balloon {amount_mib}. -ENODEV when no balloon is configured. */
int config_parse_balloon_update(struct json_t *obj, struct vm_config *cfg,
				struct config_error *err);
/*
 * PATCH /balloon/statistics {stats_polling_interval_s}. -ENODEV without a
 * balloon; statistics cannot be switched on or off (0 <-> non-zero).
 */
int config_parse_balloon_stats_update(struct json_t *obj, struct vm_config *cfg,
				      struct config_error *err);
/*
 * PUT /drives/{id}: adds the drive, or replaces the one with the same
 * drive_id. path_id (may be NULL) must equal the body's drive_id.
 */
int config_parse_drive(struct json_t *obj, const char *path_id, struct vm_config *cfg,
		       struct config_error *err);
/*
 * PATCH /drives/{id} {drive_id, path_on_host?}: finds the drive (-ENOENT when
 * there is none) and sets *index, and *path to a malloc'd copy of the new
 * path_on_host or NULL when the body has none. cfg is not changed.
 */
int config_parse_drive_update(struct json_t *obj, const char *path_id, const struct vm_config *cfg,
			      unsigned int *index, char **path, struct config_error *err);
/* Logger: only the fields present change (Firecracker updates it in place). */
int config_parse_logger(struct json_t *obj, struct vm_config *cfg, struct config_error *err);
int config_parse_metrics(struct json_t *obj, struct vm_config *cfg, struct config_error *err);
/* ebb's own settings: only the fields present change. */
int config_parse_ebb(struct json_t *obj, struct vm_config *cfg, struct config_error *err);

/* machine-config.huge_pages as Firecracker reports it: "None", "Transparent" or "2M". */
const char *config_huge_pages(const struct vm_config *cfg);

#endif
