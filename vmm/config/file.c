// SPDX-License-Identifier: GPL-2.0
/*
 * A whole config document: a file (Firecracker's --config-file, PUT
 * semantics per section) or the command line's flags (PATCH semantics).
 * Every section is parsed onto a copy of the configuration, the rules run on
 * the result, and only then does it replace the caller's: a failure changes
 * nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "vmm/config/sections.h"

enum section {
	SEC_BOOT,
	SEC_MACHINE,
	SEC_LOGGER,
	SEC_METRICS,
	SEC_EBB,
	SEC_DEVICE,
	SEC_UNSUPPORTED,
};

struct section_def {
	const char *name;
	enum section section;
	const char *unsupported;
};

/* Device sections come between the first two and the rest. */
static const struct section_def machine_first[] = {
	{ "boot-source", SEC_BOOT, NULL },
	{ "machine-config", SEC_MACHINE, NULL },
};

static const struct section_def machine_last[] = {
	{ "logger", SEC_LOGGER, NULL },
	{ "metrics", SEC_METRICS, NULL },
	{ "ebb", SEC_EBB, NULL },
	/* Firecracker's, until a device type of ebb's takes the name. */
	{ "mmds-config", SEC_UNSUPPORTED, "MMDS is not supported by ebb" },
	{ "entropy", SEC_UNSUPPORTED, "the entropy device is not supported by ebb" },
	{ "cpu-config", SEC_UNSUPPORTED, "custom CPU configuration is not supported by ebb" },
	{ "pmem", SEC_UNSUPPORTED, "pmem devices are not supported by ebb" },
	{ "memory-hotplug", SEC_UNSUPPORTED, "memory hotplug is not supported by ebb" },
	{ "serial", SEC_UNSUPPORTED, "serial configuration is not supported by ebb" },
};

struct doc_stage {
	bool patch;	   /* the command line: every section changes only what it gives */
	uint32_t sections; /* bit per enum section present (not null) */
	struct boot_stage boot;
	uint32_t boot_seen;
	struct machine_stage machine;
	uint32_t machine_seen;
	struct logger_stage logger;
	uint32_t logger_seen;
	struct metrics_stage metrics;
	uint32_t metrics_seen;
	struct ebb_stage ebb;
};

static bool has(const struct doc_stage *ds, enum section s)
{
	return ds->sections & (1u << s);
}

static int fail_unknown_section(struct schema_ctx *c, const struct device_registry *r,
				const char *key)
{
	char names[600] = "", got[80];
	size_t off = 0;
#define ADD(name)                                                                           \
	off += snprintf(names + off, off < sizeof(names) ? sizeof(names) - off : 0, "%s%s", \
			off ? ", " : "", name)
	for (size_t i = 0; i < ARRAY_SIZE(machine_first); i++)
		ADD(machine_first[i].name);
	for (unsigned int i = 0; i < r->nr_types; i++)
		ADD(r->types[i]->section);
	for (size_t i = 0; i < ARRAY_SIZE(machine_last); i++)
		if (!device_type_by_section(r, machine_last[i].name))
			ADD(machine_last[i].name);
#undef ADD
	return schema_fail(c, SCHEMA_AT_KEY, "unknown key %s; expected one of %s",
			   schema_quote(got, sizeof(got), key), names);
}

static const struct section_def *find_section(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(machine_first); i++)
		if (strcmp(key, machine_first[i].name) == 0)
			return &machine_first[i];
	for (size_t i = 0; i < ARRAY_SIZE(machine_last); i++)
		if (strcmp(key, machine_last[i].name) == 0)
			return &machine_last[i];
	return NULL;
}

static int parse_device(struct schema_ctx *c, struct doc_stage *ds, struct vm_config *work,
			const struct device_type *t, json_t *v)
{
	/* Firecracker's own files spell an absent balloon as null; drives must be an array. */
	if (json_is_null(v) && !t->many)
		return 0;
	if (ds->patch)
		return device_confs_patch_section(c, &work->devices, t, v);
	return device_confs_load_section(c, &work->devices, t, v);
}

static int parse_section(struct schema_ctx *c, const struct section_def *def, json_t *v,
			 const struct vm_config *cfg, struct doc_stage *ds)
{
	/* Firecracker's own files spell absent optional sections as null. */
	if (json_is_null(v) && def->section != SEC_BOOT)
		return 0;
	ds->sections |= 1u << def->section;
	switch (def->section) {
	case SEC_BOOT:
		return boot_parse(c, v, &ds->boot, &ds->boot_seen);
	case SEC_MACHINE:
		if (ds->patch)
			machine_stage_of(cfg, &ds->machine);
		else
			ds->machine = (struct machine_stage){ 0 };
		return machine_parse(c, v, &ds->machine, &ds->machine_seen);
	case SEC_LOGGER:
		return logger_parse(c, v, &ds->logger, &ds->logger_seen);
	case SEC_METRICS:
		return metrics_parse(c, v, &ds->metrics, &ds->metrics_seen);
	case SEC_EBB:
		return ebb_parse(c, v, cfg, &ds->ebb);
	case SEC_DEVICE:
		break;
	case SEC_UNSUPPORTED:
		if (json_is_array(v) && json_array_size(v) == 0)
			return 0;
		return schema_fail(c, SCHEMA_AT_VALUE, "%s", def->unsupported);
	}
	return -EINVAL;
}

/* Checks between the machine's sections, on the values the config will end up with. */
static int check_machine(struct schema_ctx *c, const struct vm_config *cfg,
			 const struct doc_stage *ds)
{
	const struct ebb_stage *e = &ds->ebb;
	bool have_hp = has(ds, SEC_MACHINE) && machine_has(ds->machine_seen, "huge_pages");
	uint32_t mem_mib = has(ds, SEC_MACHINE) ? ds->machine.mem_mib : cfg->mem_mib;
	enum mem_backing backing = cfg->backing;
	bool thp = cfg->thp;

	if (have_hp)
		huge_pages_backing(ds->machine.huge_pages, backing, &backing, &thp);
	if (!has(ds, SEC_EBB))
		return 0;
	schema_push_key(c, "ebb");
	int ret = have_hp ? ebb_check_huge_pages(c, e, ds->machine.huge_pages) : 0;
	if (ret < 0)
		return ret;
	if (ebb_has(e, "memory_backing"))
		backing = e->backing;
	if (ebb_has(e, "thp"))
		thp = e->thp;
	ret = ebb_check_memory(c, e, backing, thp, mem_mib);
	if (ret == 0)
		schema_pop(c);
	return ret;
}

static void apply_machine(struct schema_ctx *c, struct vm_config *cfg, struct doc_stage *ds)
{
	bool put = !ds->patch;
	if (has(ds, SEC_BOOT))
		boot_apply(c, cfg, &ds->boot, ds->boot_seen, put);
	if (has(ds, SEC_MACHINE))
		machine_apply(cfg, &ds->machine, ds->machine_seen, false);
	if (has(ds, SEC_EBB))
		ebb_apply(c, cfg, &ds->ebb);
	if (has(ds, SEC_LOGGER))
		logger_apply(c, cfg, &ds->logger, ds->logger_seen);
	if (has(ds, SEC_METRICS))
		metrics_apply(c, cfg, &ds->metrics, ds->metrics_seen, put);
}

static int apply_doc(struct schema_ctx *c, json_t *root, struct vm_config *cfg, bool patch)
{
	struct vm_config work;
	int ret;

	if (!json_is_object(root))
		return schema_fail(c, SCHEMA_AT_VALUE, "the top level must be an object, got %s",
				   schema_type_name(root));
	struct doc_stage *ds = calloc(1, sizeof(*ds));
	if (!ds || config_copy(&work, cfg) < 0) {
		free(ds);
		schema_fail(c, SCHEMA_AT_VALUE, "out of memory");
		return -ENOMEM;
	}
	ds->patch = patch;
	c->partial = patch;
	const struct device_registry *r = cfg->devices.registry;
	for (void *it = json_object_iter(root); it; it = json_object_iter_next(root, it)) {
		const char *key = json_object_iter_key(it);
		json_t *v = json_object_iter_value(it);
		const struct device_type *t = device_type_by_section(r, key);
		schema_push_key(c, key);
		if (t) {
			ret = parse_device(c, ds, &work, t, v);
		} else {
			const struct section_def *def = find_section(key);
			ret = def ? parse_section(c, def, v, &work, ds)
				  : fail_unknown_section(c, r, key);
		}
		if (ret < 0)
			goto out;
		schema_pop(c);
	}
	ret = check_machine(c, cfg, ds);
	if (ret < 0)
		goto out;
	apply_machine(c, &work, ds);
	ret = config_check(c, &work, -1);
	if (ret == 0) {
		config_free(cfg);
		*cfg = work;
		free(ds);
		return 0;
	}
out:
	config_free(&work);
	free(ds);
	return ret;
}

int config_load_buffer(const char *text, size_t len, struct vm_config *cfg,
		       struct schema_error *err)
{
	struct schema_ctx c;
	schema_ctx_init(&c, err, text, len);
	json_t *root = schema_json_load(text, len, err);
	if (!root)
		return -EINVAL;
	int ret = apply_doc(&c, root, cfg, false);
	schema_ctx_release(&c);
	json_decref(root);
	return ret;
}

int config_patch_json(json_t *doc, struct vm_config *cfg, struct schema_error *err)
{
	struct schema_ctx c;
	schema_ctx_init(&c, err, NULL, 0);
	int ret = apply_doc(&c, doc, cfg, true);
	schema_ctx_release(&c);
	return ret;
}

int config_load_file(const char *path, struct vm_config *cfg, struct schema_error *err)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;
	int ret;

	memset(err, 0, sizeof(*err));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err->message, sizeof(err->message), "cannot open: %s", strerror(-ret));
		return ret;
	}
	for (;;) {
		if (len > CONFIG_MAX_FILE_SIZE) {
			ret = -EFBIG;
			snprintf(err->message, sizeof(err->message),
				 "the file is larger than %d bytes", CONFIG_MAX_FILE_SIZE);
			goto out;
		}
		if (len == cap) {
			cap = cap ? 2 * cap : 16384;
			char *grown = realloc(buf, cap + 1);
			if (!grown) {
				ret = -ENOMEM;
				snprintf(err->message, sizeof(err->message), "out of memory");
				goto out;
			}
			buf = grown;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			snprintf(err->message, sizeof(err->message), "cannot read: %s",
				 strerror(-ret));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	ret = config_load_buffer(buf ? buf : "", len, cfg, err);
out:
	free(buf);
	close(fd);
	return ret;
}
