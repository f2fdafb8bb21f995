// SPDX-License-Identifier: GPL-2.0
/*
 * The configuration a snapshot carries: the parts of a config file that
 * shape the machine a restore rebuilds (machine-config, each device's
 * section, the "ebb" keys that still matter once booted), written with each
 * schema's dump. A restore loads it like a config file, so every value and
 * rule is checked again: a hand-edited or hostile state file cannot build a
 * machine a config file could not.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/schema.h"
#include "vmm/config/config.h"
#include "vmm/snapshot.h"

static int set(json_t *obj, const char *key, json_t *v)
{
	return v ? json_object_set_new(obj, key, v) : -1;
}

/* Each type's section: an object for one instance, an array for many; none when unused. */
static int add_devices(json_t *doc, json_t *ebb, const struct device_confs *dc)
{
	const struct device_registry *r = dc->registry;
	for (unsigned int ti = 0; ti < r->nr_types; ti++) {
		const struct device_type *t = r->types[ti];
		const void *confs[DEVICE_MAX_CONFS];
		unsigned int nr = device_confs_of(dc, t, confs, NULL);
		if (t->settings_schema) {
			json_t *settings = schema_dump(t->settings_schema, device_settings(dc, t));
			if (!settings || json_object_update(ebb, settings) < 0) {
				json_decref(settings);
				return -ENOMEM;
			}
			json_decref(settings);
		}
		if (!nr)
			continue;
		json_t *section = t->many ? json_array() : schema_dump(t->schema, confs[0]);
		if (!section || set(doc, t->section, section) < 0)
			return -ENOMEM;
		for (unsigned int i = 0; t->many && i < nr; i++)
			if (json_array_append_new(section, schema_dump(t->schema, confs[i])) < 0)
				return -ENOMEM;
	}
	return 0;
}

json_t *snapshot_config_json(const struct vm_config *cfg)
{
	json_t *doc = json_object(), *machine = json_object(), *ebb = json_object();
	json_t *memory = json_object();
	if (!doc || !machine || !ebb || !memory)
		goto fail;
	if (set(doc, "machine-config", machine) < 0) {
		machine = NULL;
		goto fail;
	}
	if (set(doc, "ebb", ebb) < 0) {
		ebb = NULL;
		goto fail;
	}
	/*
	 * RAM's backing, THP, the kernel and its command line are left out:
	 * a restored guest runs from the memory file, past its boot. The boot
	 * timer is the restoring process's choice.
	 */
	if (set(machine, "vcpu_count", json_integer(cfg->vcpus)) < 0 ||
	    set(machine, "mem_size_mib", json_integer(cfg->mem_mib)) < 0 ||
	    set(ebb, "acpi", json_boolean(cfg->acpi)) < 0 ||
	    set(memory, "merge", json_boolean(cfg->mem_merge)) < 0 ||
	    set(memory, "free_page_tables", json_boolean(cfg->free_page_tables)) < 0 ||
	    set(memory, "free_zero_pages", json_boolean(cfg->free_zero_pages)) < 0 ||
	    set(ebb, "memory", memory) < 0)
		goto fail_doc;
	if (add_devices(doc, ebb, &cfg->devices) < 0)
		goto fail_doc;
	return doc;
fail:
	json_decref(machine);
	json_decref(ebb);
	json_decref(memory);
fail_doc:
	json_decref(doc);
	return NULL;
}

int snapshot_config_apply(struct vm_config *cfg, const char *text, size_t len, char *err,
			  size_t errlen)
{
	struct schema_error e;
	int ret = config_load_buffer(text, len, cfg, &e);
	if (ret < 0) {
		char line[700];
		schema_error_format(&e, NULL, line, sizeof(line));
		snprintf(err, errlen, "its configuration: %s", line);
	}
	return ret;
}
