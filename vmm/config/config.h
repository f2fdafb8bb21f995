/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_CONFIG_H
#define EBB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "base/memory.h"
#include "base/schema.h"
#include "devices/conf.h"

/*
 * The VM's configuration: Firecracker's schema (so a Firecracker
 * --config-file loads unchanged) plus an "ebb" object for ebb's own keys.
 * The machine-level sections are declared in vmm/config/machine.c, each
 * device type's section beside the device (devices/); a file, the command
 * line and the API all go through the same schemas and the same rules
 * (vmm/config/rules.c), and a change that fails any of them changes nothing.
 */

struct json_t;

/* Firecracker's machine-config range; KVM's own limit is checked too. */
#define CONFIG_MAX_VCPUS	 32
#define CONFIG_DEFAULT_MEM_MIB	 128
#define CONFIG_DEFAULT_BOOT_ARGS "console=ttyS0 reboot=k panic=1 pci=off"
#define CONFIG_MAX_FILE_SIZE	 (1 << 20)

struct vm_config {
	/* boot-source */
	char *kernel_path;
	char *initrd_path;
	char *boot_args; /* NULL: CONFIG_DEFAULT_BOOT_ARGS */

	/* machine-config */
	uint32_t mem_mib;
	uint32_t vcpus;

	/* ebb-only machine keys */
	enum mem_backing backing;
	bool thp;
	bool boot_timer;
	bool acpi; /* describe devices with ACPI tables (x86), not the command line */
	bool mem_merge; /* ebb.memory.merge: KSM may merge identical guest pages */
	bool share_kernel; /* ebb.memory.share_kernel: an ELF kernel's pages mapped from its file */
	bool free_page_tables;	/* ebb.memory.free_page_tables: discards free host page tables */
	bool free_zero_pages;	/* ebb.memory.free_zero_pages: zero pages given back when quiet */
	bool track_dirty_pages; /* machine-config: KVM logs guest writes, for Diff snapshots */

	/* every device, with its type's ebb-only settings */
	struct device_confs devices;

	/* process */
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
	/* --restore: the VM comes from a snapshot instead of a configuration. */
	char *restore_path;
	char *restore_mem_path; /* NULL: the memory file the snapshot names */
	bool restore_paused;
};

/* Defaults, and every device type of registry (device_registry() for ebb's). */
void config_init_with(struct vm_config *cfg, const struct device_registry *registry);
void config_init(struct vm_config *cfg);
void config_free(struct vm_config *cfg);
/* A deep copy; -ENOMEM leaves dst freed. */
int config_copy(struct vm_config *dst, const struct vm_config *src);
/* Replace *dst with a copy of src (NULL clears). Returns -ENOMEM on failure. */
int config_set_str(char **dst, const char *src);

/* machine-config.huge_pages as Firecracker reports it: "None", "Transparent" or "2M". */
const char *config_huge_pages(const struct vm_config *cfg);
struct machine_facts config_machine_facts(const struct vm_config *cfg);

/*
 * Reads a config file and applies it onto cfg. A section the file lacks (or
 * gives as null) leaves cfg as it was; a section it has replaces that
 * resource, as a PUT would, except that an absent huge_pages keeps the
 * backing, and logger and ebb change only the fields given. Returns 0 or
 * negative errno (-errno of open/read with "cannot open: ..." and no
 * position, -EFBIG past CONFIG_MAX_FILE_SIZE, -EINVAL for the content,
 * -ENOMEM) and, on error, fills *err and leaves cfg exactly as it was.
 */
int config_load_file(const char *path, struct vm_config *cfg, struct schema_error *err);
/* The same from a buffer (need not be NUL-terminated). */
int config_load_buffer(const char *text, size_t len, struct vm_config *cfg,
		       struct schema_error *err);
/*
 * A document whose every section changes only the fields it gives, as a
 * PATCH would (the command line's flags arrive this way).
 */
int config_patch_json(struct json_t *doc, struct vm_config *cfg, struct schema_error *err);

/*
 * API bodies, with Firecracker's semantics: PUT replaces the resource
 * (absent optional fields take their defaults), PATCH changes what is
 * given. err->path is relative to the resource when the fault is in it,
 * absolute ("balloon.amount_mib") when a rule blames another resource;
 * err->line is 0. On failure cfg is unchanged.
 */
int config_parse_boot_source(struct json_t *obj, struct vm_config *cfg, struct schema_error *err);
int config_parse_machine_config(struct json_t *obj, struct vm_config *cfg,
				struct schema_error *err);
int config_parse_machine_config_patch(struct json_t *obj, struct vm_config *cfg,
				      struct schema_error *err);
/* Logger and ebb: only the fields present change (Firecracker updates the logger in place). */
int config_parse_logger(struct json_t *obj, struct vm_config *cfg, struct schema_error *err);
int config_parse_metrics(struct json_t *obj, struct vm_config *cfg, struct schema_error *err);
int config_parse_ebb(struct json_t *obj, struct vm_config *cfg, struct schema_error *err);
/*
 * PUT of a device's section: /balloon, or /drives/{id} for a type with many
 * instances (adds, or replaces the one with the same id; url_id must be the
 * body's id).
 */
int config_put_device(const struct device_type *t, const char *url_id, struct json_t *obj,
		      struct vm_config *cfg, struct schema_error *err);
/* Sets instance index of t (-1: adds one) to conf, taken either way, if every rule holds. */
int config_set_device(const struct device_type *t, int index, void *conf, struct vm_config *cfg,
		      struct schema_error *err);

#endif
