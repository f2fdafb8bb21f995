/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_CONFIG_SECTIONS_H
#define EBB_CONFIG_SECTIONS_H

#include "vmm/config/config.h"

/*
 * The machine-level sections (machine.c), shared by the file loader
 * (file.c) and the API entry points (api.c). Each parses into a stage and is
 * applied only when everything has been checked.
 */

struct boot_stage {
	char *kernel;
	char *args;
	char *initrd;
};

enum huge_pages {
	HUGE_PAGES_NONE,
	HUGE_PAGES_TRANSPARENT,
	HUGE_PAGES_2M,
};

struct machine_stage {
	uint32_t vcpus;
	uint32_t mem_mib;
	bool smt;
	bool track_dirty_pages;
	int cpu_template;
	int huge_pages;
};

struct logger_stage {
	char *log_path;
	enum log_level level;
	bool show_level;
	bool show_origin;
};

struct metrics_stage {
	char *path;
	bool emit_id;
};

/* The "ebb" object: the machine's keys, then each device type's settings. */
struct ebb_stage {
	int backing;
	bool thp;
	bool boot_timer;
	bool acpi;
	bool mem_merge;
	bool share_kernel;
	bool free_page_tables;
	bool free_zero_pages;
	struct schema_part parts[1 + DEVICE_MAX_TYPES];
	unsigned int nr_parts;
	uint64_t device_stage[DEVICE_MAX_TYPES * DEVICE_SETTINGS_SIZE / sizeof(uint64_t)];
};

extern const char *const huge_pages_names[];
extern const char *const backing_names[];

/* put: every field is replaced (absent ones cleared); else only those seen. */
int boot_parse(struct schema_ctx *c, struct json_t *v, struct boot_stage *st, uint32_t *seen);
void boot_apply(struct schema_ctx *c, struct vm_config *cfg, struct boot_stage *st, uint32_t seen,
		bool put);

/* st comes in zeroed (PUT) or holding the current values (PATCH). */
int machine_parse(struct schema_ctx *c, struct json_t *v, struct machine_stage *st, uint32_t *seen);
void machine_stage_of(const struct vm_config *cfg, struct machine_stage *st);
bool machine_has(uint32_t seen, const char *name);
/* put: an absent huge_pages means "None" (the API); otherwise it changes nothing. */
void machine_apply(struct vm_config *cfg, const struct machine_stage *st, uint32_t seen, bool put);
/* The backing and THP that huge_pages asks for, given the current backing. */
void huge_pages_backing(int huge_pages, enum mem_backing cur, enum mem_backing *backing, bool *thp);

int logger_parse(struct schema_ctx *c, struct json_t *v, struct logger_stage *st, uint32_t *seen);
void logger_apply(struct schema_ctx *c, struct vm_config *cfg, struct logger_stage *st,
		  uint32_t seen);
int metrics_parse(struct schema_ctx *c, struct json_t *v, struct metrics_stage *st, uint32_t *seen);
void metrics_apply(struct schema_ctx *c, struct vm_config *cfg, struct metrics_stage *st,
		   uint32_t seen, bool put);

int ebb_parse(struct schema_ctx *c, struct json_t *v, const struct vm_config *cfg,
	      struct ebb_stage *st);
bool ebb_has(const struct ebb_stage *st, const char *name);
/*
 * The ebb memory keys against the backing, THP and memory size they will be
 * used with. The ctx path is that of the ebb object.
 */
int ebb_check_memory(struct schema_ctx *c, const struct ebb_stage *st, enum mem_backing backing,
		     bool thp, uint32_t mem_mib);
/* ebb's backing and THP against machine-config.huge_pages, when both are given. */
int ebb_check_huge_pages(struct schema_ctx *c, const struct ebb_stage *st, int huge_pages);
/* Only what the object gave: in a file, huge_pages may have set the backing already. */
void ebb_apply(struct schema_ctx *c, struct vm_config *cfg, struct ebb_stage *st);

/*
 * Every rule that spans resources, on the configuration as it would be
 * (rules.c): devices against the machine and each other. changed is the
 * device index being set, or -1.
 */
int config_check(struct schema_ctx *c, const struct vm_config *cfg, int changed);

#endif
