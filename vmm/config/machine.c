// SPDX-License-Identifier: GPL-2.0
/*
 * The machine-level sections of the config: boot-source, machine-config,
 * logger, metrics and the machine's keys of "ebb". Device sections are
 * declared by the device types (devices/).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "vmm/config/sections.h"

/* ---- boot-source ---- */

static const struct schema_field boot_fields[] = {
	{ .name = "kernel_image_path",
	  .type = SCHEMA_STRING,
	  .flags = SCHEMA_REQUIRED | SCHEMA_NONEMPTY,
	  .offset = offsetof(struct boot_stage, kernel) },
	{ .name = "boot_args", .type = SCHEMA_STRING, .offset = offsetof(struct boot_stage, args) },
	{ .name = "initrd_path",
	  .type = SCHEMA_STRING,
	  .flags = SCHEMA_NONEMPTY,
	  .offset = offsetof(struct boot_stage, initrd) },
};

static const struct schema boot_schema = SCHEMA_OF(boot_fields);

int boot_parse(struct schema_ctx *c, json_t *v, struct boot_stage *st, uint32_t *seen)
{
	*st = (struct boot_stage){ 0 };
	return schema_parse(c, v, &boot_schema, st, seen);
}

void boot_apply(struct schema_ctx *c, struct vm_config *cfg, struct boot_stage *st, uint32_t seen,
		bool put)
{
	if (put || schema_has(&boot_schema, seen, "kernel_image_path"))
		schema_take(c, &cfg->kernel_path, st->kernel);
	if (put || schema_has(&boot_schema, seen, "boot_args"))
		schema_take(c, &cfg->boot_args, st->args);
	if (put || schema_has(&boot_schema, seen, "initrd_path"))
		schema_take(c, &cfg->initrd_path, st->initrd);
}

/* ---- machine-config ---- */

const char *const huge_pages_names[] = { "None", "Transparent", "2M", NULL };
static const char *const cpu_template_names[] = {
	"None", "C3", "T2", "T2S", "T2CL", "T2A", "V1N1", NULL,
};

static const struct schema_field machine_fields[] = {
	{ .name = "vcpu_count",
	  .type = SCHEMA_U32,
	  .flags = SCHEMA_REQUIRED,
	  .offset = offsetof(struct machine_stage, vcpus),
	  .min = 1,
	  .max = CONFIG_MAX_VCPUS },
	{ .name = "mem_size_mib",
	  .type = SCHEMA_U32,
	  .flags = SCHEMA_REQUIRED,
	  .offset = offsetof(struct machine_stage, mem_mib),
	  .min = 1,
	  .max = UINT32_MAX },
	{ .name = "smt",
	  .type = SCHEMA_BOOL,
	  .flags = SCHEMA_FALSE_ONLY,
	  .offset = offsetof(struct machine_stage, smt),
	  .unsupported = "smt is not supported by ebb" },
	{ .name = "track_dirty_pages",
	  .type = SCHEMA_BOOL,
	  .offset = offsetof(struct machine_stage, track_dirty_pages) },
	{ .name = "cpu_template",
	  .type = SCHEMA_CHOICE,
	  .offset = offsetof(struct machine_stage, cpu_template),
	  .choices = cpu_template_names,
	  .supported = 1,
	  .unsupported = "CPU templates are not supported by ebb; use \"None\"" },
	{ .name = "huge_pages",
	  .type = SCHEMA_CHOICE,
	  .offset = offsetof(struct machine_stage, huge_pages),
	  .choices = huge_pages_names },
};

static const struct schema machine_schema = SCHEMA_OF(machine_fields);

bool machine_has(uint32_t seen, const char *name)
{
	return schema_has(&machine_schema, seen, name);
}

int machine_parse(struct schema_ctx *c, json_t *v, struct machine_stage *st, uint32_t *seen)
{
	int ret = schema_parse(c, v, &machine_schema, st, seen);
	if (ret < 0)
		return ret;
	if (st->huge_pages != HUGE_PAGES_2M || st->mem_mib % 2 == 0)
		return 0;
	if (!machine_has(*seen, "mem_size_mib")) {
		schema_push_key(c, "huge_pages");
		return schema_fail(c, SCHEMA_AT_VALUE,
				   "\"2M\" needs an even mem_size_mib, which is %u", st->mem_mib);
	}
	schema_push_key(c, "mem_size_mib");
	return schema_fail(c, SCHEMA_AT_VALUE, "must be even with huge_pages \"2M\", got %u",
			   st->mem_mib);
}

void huge_pages_backing(int huge_pages, enum mem_backing cur, enum mem_backing *backing, bool *thp)
{
	switch (huge_pages) {
	case HUGE_PAGES_TRANSPARENT:
		*backing = MEM_BACKING_ANON;
		*thp = true;
		break;
	case HUGE_PAGES_2M:
		*backing = MEM_BACKING_HUGETLBFS;
		*thp = false;
		break;
	default: /* regular pages: anon and memfd both qualify */
		*backing = cur == MEM_BACKING_HUGETLBFS ? MEM_BACKING_ANON : cur;
		*thp = false;
		break;
	}
}

/* What huge_pages describes the config's current backing. */
static enum huge_pages huge_pages_of(const struct vm_config *cfg)
{
	if (cfg->backing == MEM_BACKING_HUGETLBFS)
		return HUGE_PAGES_2M;
	return cfg->thp ? HUGE_PAGES_TRANSPARENT : HUGE_PAGES_NONE;
}

const char *config_huge_pages(const struct vm_config *cfg)
{
	return huge_pages_names[huge_pages_of(cfg)];
}

void machine_stage_of(const struct vm_config *cfg, struct machine_stage *st)
{
	*st = (struct machine_stage){ .vcpus = cfg->vcpus,
				      .mem_mib = cfg->mem_mib,
				      .track_dirty_pages = cfg->track_dirty_pages,
				      .huge_pages = huge_pages_of(cfg) };
}

void machine_apply(struct vm_config *cfg, const struct machine_stage *st, uint32_t seen, bool put)
{
	cfg->vcpus = st->vcpus;
	cfg->mem_mib = st->mem_mib;
	if (put || machine_has(seen, "track_dirty_pages"))
		cfg->track_dirty_pages = st->track_dirty_pages;
	if (put || machine_has(seen, "huge_pages"))
		huge_pages_backing(st->huge_pages, cfg->backing, &cfg->backing, &cfg->thp);
}

/* ---- logger ---- */

static int parse_level(struct schema_ctx *c, json_t *v, void *stage)
{
	static const char *const names[] = {
		"Error", "Warning", "Info", "Debug", "Trace", "Off", NULL,
	};
	struct logger_stage *st = stage;
	char list[160], got[80];
	if (!json_is_string(v))
		return schema_fail_type(c, v, "a string");
	if (log_level_parse(json_string_value(v), &st->level) == 0)
		return 0;
	schema_choice_list(names, list, sizeof(list));
	return schema_fail(c, SCHEMA_AT_VALUE, "must be %s (any case), got %s", list,
			   schema_quote(got, sizeof(got), json_string_value(v)));
}

static const struct schema_field logger_fields[] = {
	{ .name = "log_path",
	  .type = SCHEMA_STRING,
	  .flags = SCHEMA_NONEMPTY,
	  .offset = offsetof(struct logger_stage, log_path) },
	{ .name = "level", .type = SCHEMA_CUSTOM, .parse = parse_level },
	{ .name = "show_level",
	  .type = SCHEMA_BOOL,
	  .offset = offsetof(struct logger_stage, show_level) },
	{ .name = "show_log_origin",
	  .type = SCHEMA_BOOL,
	  .offset = offsetof(struct logger_stage, show_origin) },
	{ .name = "module", .type = SCHEMA_STRING, .flags = SCHEMA_IGNORE },
};

static const struct schema logger_schema = SCHEMA_OF(logger_fields);

int logger_parse(struct schema_ctx *c, json_t *v, struct logger_stage *st, uint32_t *seen)
{
	*st = (struct logger_stage){ 0 };
	return schema_parse(c, v, &logger_schema, st, seen);
}

void logger_apply(struct schema_ctx *c, struct vm_config *cfg, struct logger_stage *st,
		  uint32_t seen)
{
	if (schema_has(&logger_schema, seen, "log_path"))
		schema_take(c, &cfg->log_path, st->log_path);
	if (schema_has(&logger_schema, seen, "level"))
		cfg->level = st->level;
	if (schema_has(&logger_schema, seen, "show_level"))
		cfg->show_level = st->show_level;
	if (schema_has(&logger_schema, seen, "show_log_origin"))
		cfg->show_origin = st->show_origin;
}

/* ---- metrics ---- */

/* Operator-defined key/value pairs: accepted (strings only), not used yet. */
static int parse_properties(struct schema_ctx *c, json_t *v, void *stage)
{
	if (!json_is_object(v))
		return schema_fail_type(c, v, "an object");
	for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
		json_t *value = json_object_iter_value(it);
		schema_push_key(c, json_object_iter_key(it));
		if (!json_is_string(value))
			return schema_fail_type(c, value, "a string");
		schema_pop(c);
	}
	return 0;
}

static const struct schema_field metrics_fields[] = {
	{ .name = "metrics_path",
	  .type = SCHEMA_STRING,
	  .flags = SCHEMA_REQUIRED | SCHEMA_NONEMPTY,
	  .offset = offsetof(struct metrics_stage, path) },
	{ .name = "emit_id",
	  .type = SCHEMA_BOOL,
	  .offset = offsetof(struct metrics_stage, emit_id) },
	{ .name = "properties", .type = SCHEMA_CUSTOM, .parse = parse_properties },
};

static const struct schema metrics_schema = SCHEMA_OF(metrics_fields);

int metrics_parse(struct schema_ctx *c, json_t *v, struct metrics_stage *st, uint32_t *seen)
{
	*st = (struct metrics_stage){ 0 };
	return schema_parse(c, v, &metrics_schema, st, seen);
}

void metrics_apply(struct schema_ctx *c, struct vm_config *cfg, struct metrics_stage *st,
		   uint32_t seen, bool put)
{
	if (put || schema_has(&metrics_schema, seen, "metrics_path"))
		schema_take(c, &cfg->metrics_path, st->path);
	if (put || schema_has(&metrics_schema, seen, "emit_id"))
		cfg->metrics_emit_id = st->emit_id;
}

/* ---- ebb: the machine's keys ---- */

/* In enum mem_backing order. */
const char *const backing_names[] = { "anon", "memfd", "hugetlbfs", NULL };

static const struct schema_field memory_fields[] = {
	{ .name = "merge", .type = SCHEMA_BOOL, .offset = offsetof(struct ebb_stage, mem_merge) },
	{ .name = "share_kernel",
	  .type = SCHEMA_BOOL,
	  .offset = offsetof(struct ebb_stage, share_kernel) },
	{ .name = "free_page_tables",
	  .type = SCHEMA_BOOL,
	  .offset = offsetof(struct ebb_stage, free_page_tables) },
	{ .name = "free_zero_pages",
	  .type = SCHEMA_BOOL,
	  .offset = offsetof(struct ebb_stage, free_zero_pages) },
};

static const struct schema memory_schema = SCHEMA_OF(memory_fields);

/*
 * "memory": {"merge": true}: KSM may merge identical guest pages;
 * {"share_kernel": true}: guests booted from one ELF kernel share its pages;
 * {"free_page_tables": false}: discards keep the host's page tables;
 * {"free_zero_pages": false}: pages of guest RAM that hold only zeros stay.
 */
static int parse_memory(struct schema_ctx *c, json_t *v, void *stage)
{
	return schema_parse(c, v, &memory_schema, stage, NULL);
}

static const struct schema_field ebb_fields[] = {
	{ .name = "memory_backing",
	  .type = SCHEMA_CHOICE,
	  .offset = offsetof(struct ebb_stage, backing),
	  .choices = backing_names },
	{ .name = "thp", .type = SCHEMA_BOOL, .offset = offsetof(struct ebb_stage, thp) },
	{ .name = "boot_timer",
	  .type = SCHEMA_BOOL,
	  .offset = offsetof(struct ebb_stage, boot_timer) },
	{ .name = "acpi", .type = SCHEMA_BOOL, .offset = offsetof(struct ebb_stage, acpi) },
	{ .name = "memory", .type = SCHEMA_CUSTOM, .parse = parse_memory },
};

static const struct schema ebb_schema = SCHEMA_OF(ebb_fields);

bool ebb_has(const struct ebb_stage *st, const char *name)
{
	return schema_has(&ebb_schema, st->parts[0].seen, name);
}

int ebb_parse(struct schema_ctx *c, json_t *v, const struct vm_config *cfg, struct ebb_stage *st)
{
	memset(st, 0, sizeof(*st));
	st->backing = cfg->backing;
	st->thp = cfg->thp;
	st->boot_timer = cfg->boot_timer;
	st->acpi = cfg->acpi;
	st->mem_merge = cfg->mem_merge;
	st->share_kernel = cfg->share_kernel;
	st->free_page_tables = cfg->free_page_tables;
	st->free_zero_pages = cfg->free_zero_pages;
	st->parts[0] = (struct schema_part){ .schema = &ebb_schema, .stage = st };
	st->nr_parts = 1 + device_confs_settings_parts(&cfg->devices, &st->parts[1],
						       st->device_stage, sizeof(st->device_stage));
	return schema_parse_parts(c, v, st->parts, st->nr_parts);
}

int ebb_check_memory(struct schema_ctx *c, const struct ebb_stage *st, enum mem_backing backing,
		     bool thp, uint32_t mem_mib)
{
	if (ebb_has(st, "thp") && st->thp && backing != MEM_BACKING_ANON) {
		schema_push_key(c, "thp");
		return schema_fail(c, SCHEMA_AT_VALUE,
				   "THP applies to memory_backing \"anon\" only, not \"%s\"",
				   mem_backing_name(backing));
	}
	if (!ebb_has(st, "memory_backing"))
		return 0;
	schema_push_key(c, "memory_backing");
	if (thp && backing != MEM_BACKING_ANON)
		return schema_fail(c, SCHEMA_AT_VALUE,
				   "\"%s\" cannot be used with THP, which needs \"anon\"",
				   mem_backing_name(backing));
	if (backing == MEM_BACKING_HUGETLBFS && mem_mib % 2)
		return schema_fail(c, SCHEMA_AT_VALUE,
				   "\"hugetlbfs\" needs an even machine-config.mem_size_mib (2 MiB "
				   "pages), got %u",
				   mem_mib);
	schema_pop(c);
	return 0;
}

int ebb_check_huge_pages(struct schema_ctx *c, const struct ebb_stage *st, int huge_pages)
{
	const char *hp = huge_pages_names[huge_pages];
	enum mem_backing want;
	bool want_thp;

	huge_pages_backing(huge_pages, st->backing, &want, &want_thp);
	if (ebb_has(st, "memory_backing") && want != (enum mem_backing)st->backing) {
		schema_push_key(c, "memory_backing");
		return schema_fail(c, SCHEMA_AT_VALUE,
				   "\"%s\" disagrees with machine-config.huge_pages \"%s\"",
				   backing_names[st->backing], hp);
	}
	if (ebb_has(st, "thp") && st->thp != want_thp) {
		schema_push_key(c, "thp");
		return schema_fail(c, SCHEMA_AT_VALUE,
				   "%s disagrees with machine-config.huge_pages \"%s\"",
				   st->thp ? "true" : "false", hp);
	}
	return 0;
}

void ebb_apply(struct schema_ctx *c, struct vm_config *cfg, struct ebb_stage *st)
{
	if (ebb_has(st, "memory_backing"))
		cfg->backing = st->backing;
	if (ebb_has(st, "thp"))
		cfg->thp = st->thp;
	if (ebb_has(st, "boot_timer"))
		cfg->boot_timer = st->boot_timer;
	if (ebb_has(st, "acpi"))
		cfg->acpi = st->acpi;
	if (ebb_has(st, "memory")) {
		cfg->mem_merge = st->mem_merge;
		cfg->share_kernel = st->share_kernel;
		cfg->free_page_tables = st->free_page_tables;
		cfg->free_zero_pages = st->free_zero_pages;
	}
	device_confs_apply_settings(c, &cfg->devices, &st->parts[1], st->nr_parts - 1);
}
