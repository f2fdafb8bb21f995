// SPDX-License-Identifier: GPL-2.0
/*
 * The API's way into the configuration: one resource at a time, with
 * Firecracker's PUT and PATCH semantics. Each change is made on a copy,
 * checked against every rule, and only then kept.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config/sections.h"

/* A rule's error names its resource in full; the one being changed is named relative to itself. */
static void relative_to(struct schema_error *err, const char *prefix)
{
	size_t n = strlen(prefix);
	if (!prefix[0] || strncmp(err->path, prefix, n) != 0)
		return;
	if (err->path[n] == '.')
		memmove(err->path, err->path + n + 1, strlen(err->path + n + 1) + 1);
	else if (err->path[n] == '\0')
		err->path[0] = '\0';
}

/* Keeps work as the configuration if every rule holds; frees it otherwise. */
static int commit(struct schema_ctx *c, struct vm_config *cfg, struct vm_config *work, int changed,
		  const char *prefix)
{
	int ret = config_check(c, work, changed);
	if (ret < 0) {
		config_free(work);
		relative_to(c->err, prefix);
		return ret;
	}
	config_free(cfg);
	*cfg = *work;
	return 0;
}

static int copy_or_fail(struct schema_ctx *c, struct vm_config *work, const struct vm_config *cfg)
{
	if (config_copy(work, cfg) == 0)
		return 0;
	schema_fail(c, SCHEMA_AT_VALUE, "out of memory");
	return -ENOMEM;
}

int config_parse_boot_source(json_t *obj, struct vm_config *cfg, struct schema_error *err)
{
	struct boot_stage st;
	struct vm_config work;
	struct schema_ctx c;
	uint32_t seen;
	schema_ctx_init(&c, err, NULL, 0);
	int ret = boot_parse(&c, obj, &st, &seen);
	if (ret == 0)
		ret = copy_or_fail(&c, &work, cfg);
	if (ret == 0) {
		boot_apply(&c, &work, &st, seen, true);
		ret = commit(&c, cfg, &work, -1, "boot-source");
	}
	schema_ctx_release(&c);
	return ret;
}

static int machine_config_update(json_t *obj, struct vm_config *cfg, struct schema_error *err,
				 bool patch)
{
	struct machine_stage st = { 0 };
	struct vm_config work;
	struct schema_ctx c;
	uint32_t seen;

	schema_ctx_init(&c, err, NULL, 0);
	if (patch) {
		c.partial = true;
		machine_stage_of(cfg, &st);
	}
	int ret = machine_parse(&c, obj, &st, &seen);
	if (ret == 0)
		ret = copy_or_fail(&c, &work, cfg);
	if (ret == 0) {
		machine_apply(&work, &st, seen, !patch);
		ret = commit(&c, cfg, &work, -1, "machine-config");
	}
	schema_ctx_release(&c);
	return ret;
}

int config_parse_machine_config(json_t *obj, struct vm_config *cfg, struct schema_error *err)
{
	return machine_config_update(obj, cfg, err, false);
}

int config_parse_machine_config_patch(json_t *obj, struct vm_config *cfg, struct schema_error *err)
{
	return machine_config_update(obj, cfg, err, true);
}

int config_parse_logger(json_t *obj, struct vm_config *cfg, struct schema_error *err)
{
	struct logger_stage st;
	struct vm_config work;
	struct schema_ctx c;
	uint32_t seen;
	schema_ctx_init(&c, err, NULL, 0);
	int ret = logger_parse(&c, obj, &st, &seen);
	if (ret == 0)
		ret = copy_or_fail(&c, &work, cfg);
	if (ret == 0) {
		logger_apply(&c, &work, &st, seen);
		ret = commit(&c, cfg, &work, -1, "logger");
	}
	schema_ctx_release(&c);
	return ret;
}

int config_parse_metrics(json_t *obj, struct vm_config *cfg, struct schema_error *err)
{
	struct metrics_stage st;
	struct vm_config work;
	struct schema_ctx c;
	uint32_t seen;
	schema_ctx_init(&c, err, NULL, 0);
	int ret = metrics_parse(&c, obj, &st, &seen);
	if (ret == 0)
		ret = copy_or_fail(&c, &work, cfg);
	if (ret == 0) {
		metrics_apply(&c, &work, &st, seen, true);
		ret = commit(&c, cfg, &work, -1, "metrics");
	}
	schema_ctx_release(&c);
	return ret;
}

int config_parse_ebb(json_t *obj, struct vm_config *cfg, struct schema_error *err)
{
	struct ebb_stage *st = calloc(1, sizeof(*st));
	struct vm_config work;
	struct schema_ctx c;
	schema_ctx_init(&c, err, NULL, 0);
	int ret = st ? copy_or_fail(&c, &work, cfg) : -ENOMEM;
	if (!st)
		schema_fail(&c, SCHEMA_AT_VALUE, "out of memory");
	if (ret < 0)
		goto out;
	ret = ebb_parse(&c, obj, &work, st);
	if (ret == 0)
		ret = ebb_check_memory(&c, st, st->backing, st->thp, cfg->mem_mib);
	if (ret < 0) {
		config_free(&work);
		goto out;
	}
	ebb_apply(&c, &work, st);
	ret = commit(&c, cfg, &work, -1, "ebb");
out:
	schema_ctx_release(&c);
	free(st);
	return ret;
}

/* The prefix of the instance at index in errors: "balloon" or "drives[2]". */
static void instance_path(const struct vm_config *cfg, const struct device_type *t, int index,
			  char *buf, size_t len)
{
	unsigned int indices[DEVICE_MAX_CONFS];
	unsigned int n = device_confs_of(&cfg->devices, t, NULL, indices);
	snprintf(buf, len, "%s", t->section);
	for (unsigned int i = 0; t->many && i < n; i++) {
		if ((int)indices[i] == index)
			snprintf(buf, len, "%s[%u]", t->section, i);
	}
}

static int set_device(struct schema_ctx *c, const struct device_type *t, int index, void *conf,
		      struct vm_config *cfg)
{
	struct vm_config work;
	char prefix[80];
	if (copy_or_fail(c, &work, cfg) < 0) {
		device_conf_free(t, conf);
		return -ENOMEM;
	}
	if (device_confs_set(&work.devices, t, index, conf) < 0) {
		config_free(&work);
		if (t->many)
			return schema_fail(c, SCHEMA_AT_VALUE, "ebb supports at most %u %s",
					   t->max_confs, t->section);
		return schema_fail(c, SCHEMA_AT_VALUE, "ebb supports at most %u devices",
				   DEVICE_MAX_CONFS);
	}
	if (index < 0)
		index = (int)work.devices.nr - 1;
	instance_path(&work, t, index, prefix, sizeof(prefix));
	return commit(c, cfg, &work, index, prefix);
}

int config_put_device(const struct device_type *t, const char *url_id, json_t *obj,
		      struct vm_config *cfg, struct schema_error *err)
{
	struct schema_ctx c;
	void *conf;
	schema_ctx_init(&c, err, NULL, 0);
	int ret = device_conf_parse(&c, t, obj, &conf);
	if (ret < 0)
		goto out;
	const char *body_id = t->many && t->conf_id ? t->conf_id(conf) : NULL;
	ret = device_check_url_id(t, body_id, url_id, err);
	if (ret < 0) {
		device_conf_free(t, conf);
		goto out;
	}
	ret = set_device(&c, t, device_confs_find(&cfg->devices, t, body_id), conf, cfg);
out:
	schema_ctx_release(&c);
	return ret;
}

int config_set_device(const struct device_type *t, int index, void *conf, struct vm_config *cfg,
		      struct schema_error *err)
{
	struct schema_ctx c;
	schema_ctx_init(&c, err, NULL, 0);
	int ret = set_device(&c, t, index, conf, cfg);
	schema_ctx_release(&c);
	return ret;
}
