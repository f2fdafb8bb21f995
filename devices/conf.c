// SPDX-License-Identifier: GPL-2.0
#include "devices/conf.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static int type_index(const struct device_registry *r, const struct device_type *t)
{
	for (unsigned int i = 0; i < r->nr_types; i++) {
		if (r->types[i] == t)
			return (int)i;
	}
	return -1;
}

void device_confs_init(struct device_confs *dc, const struct device_registry *r)
{
	memset(dc, 0, sizeof(*dc));
	dc->registry = r;
	for (unsigned int i = 0; i < r->nr_types && i < DEVICE_MAX_TYPES; i++) {
		const struct device_type *t = r->types[i];
		if (t->settings_init && t->settings_size <= DEVICE_SETTINGS_SIZE)
			t->settings_init(dc->settings[i]);
	}
}

void device_conf_free(const struct device_type *t, void *conf)
{
	if (!conf)
		return;
	schema_free_strings(t->schema, conf);
	free(conf);
}

void device_confs_free(struct device_confs *dc)
{
	for (unsigned int i = 0; i < dc->nr; i++)
		device_conf_free(dc->list[i].type, dc->list[i].conf);
	for (unsigned int i = 0; dc->registry && i < dc->registry->nr_types; i++) {
		const struct device_type *t = dc->registry->types[i];
		if (t->settings_schema)
			schema_free_strings(t->settings_schema, dc->settings[i]);
	}
	dc->nr = 0;
}

void *device_conf_dup(const struct device_type *t, const void *conf)
{
	void *copy = malloc(t->conf_size);
	if (copy && schema_copy(t->schema, copy, conf, t->conf_size) < 0) {
		free(copy);
		copy = NULL;
	}
	return copy;
}

int device_confs_copy(struct device_confs *dst, const struct device_confs *src)
{
	memcpy(dst, src, sizeof(*dst));
	dst->nr = 0;
	for (unsigned int i = 0; i < src->registry->nr_types; i++) {
		const struct device_type *t = src->registry->types[i];
		if (t->settings_schema && schema_copy(t->settings_schema, dst->settings[i],
						      src->settings[i], t->settings_size) < 0) {
			/* The later types still share src's strings: forget them, then free. */
			for (unsigned int j = i + 1; j < src->registry->nr_types; j++)
				memset(dst->settings[j], 0, sizeof(dst->settings[j]));
			device_confs_free(dst);
			return -ENOMEM;
		}
	}
	for (unsigned int i = 0; i < src->nr; i++) {
		const struct device_conf *d = &src->list[i];
		void *copy = device_conf_dup(d->type, d->conf);
		if (!copy) {
			device_confs_free(dst);
			return -ENOMEM;
		}
		dst->list[dst->nr++] = (struct device_conf){ .type = d->type, .conf = copy };
	}
	return 0;
}

const struct device_type *device_type_by_section(const struct device_registry *r,
						 const char *section)
{
	for (unsigned int i = 0; i < r->nr_types; i++) {
		if (strcmp(r->types[i]->section, section) == 0)
			return r->types[i];
	}
	return NULL;
}

void *device_settings(const struct device_confs *dc, const struct device_type *t)
{
	int i = type_index(dc->registry, t);
	return i < 0 ? NULL : (void *)dc->settings[i];
}

unsigned int device_confs_of(const struct device_confs *dc, const struct device_type *t,
			     const void **confs, unsigned int *indices)
{
	unsigned int n = 0;
	for (unsigned int i = 0; i < dc->nr; i++) {
		if (dc->list[i].type != t)
			continue;
		if (confs)
			confs[n] = dc->list[i].conf;
		if (indices)
			indices[n] = i;
		n++;
	}
	return n;
}

static const char *conf_id(const struct device_type *t, const void *conf)
{
	return t->conf_id ? t->conf_id(conf) : NULL;
}

const char *device_conf_name(const struct device_type *t, const void *conf)
{
	const char *id = conf_id(t, conf);
	return id ? id : t->name;
}

int device_confs_find(const struct device_confs *dc, const struct device_type *t, const char *id)
{
	for (unsigned int i = 0; i < dc->nr; i++) {
		if (dc->list[i].type != t)
			continue;
		const char *cid = conf_id(t, dc->list[i].conf);
		if (!t->many || (id && cid && strcmp(cid, id) == 0))
			return (int)i;
	}
	return -1;
}

int device_conf_parse(struct schema_ctx *c, const struct device_type *t, json_t *obj, void **out)
{
	void *conf = calloc(1, t->conf_size);
	if (!conf) {
		schema_fail(c, SCHEMA_AT_VALUE, "out of memory");
		return -ENOMEM;
	}
	int ret = schema_parse(c, obj, t->schema, conf, NULL);
	if (ret < 0) {
		free(conf); /* its strings still belong to the context */
		return ret;
	}
	schema_take_strings(c, t->schema, conf);
	*out = conf;
	return 0;
}

int device_confs_set(struct device_confs *dc, const struct device_type *t, int index, void *conf)
{
	if (index >= 0) {
		device_conf_free(t, dc->list[index].conf);
		dc->list[index].conf = conf;
		return 0;
	}
	unsigned int limit = t->many ? t->max_confs : 1;
	if (device_confs_of(dc, t, NULL, NULL) >= limit || dc->nr == DEVICE_MAX_CONFS) {
		device_conf_free(t, conf);
		return -ENOSPC;
	}
	dc->list[dc->nr++] = (struct device_conf){ .type = t, .conf = conf };
	return 0;
}

void device_confs_clear(struct device_confs *dc, const struct device_type *t)
{
	unsigned int n = 0;
	for (unsigned int i = 0; i < dc->nr; i++) {
		if (dc->list[i].type == t)
			device_conf_free(t, dc->list[i].conf);
		else
			dc->list[n++] = dc->list[i];
	}
	dc->nr = n;
}

/* A file's array of instances: ids unique, within the type's limit. */
static int load_many(struct schema_ctx *c, struct device_confs *dc, const struct device_type *t,
		     json_t *arr)
{
	char id[80];
	if (!json_is_array(arr))
		return schema_fail_type(c, arr, "an array");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		void *conf;
		schema_push_index(c, i);
		if (i >= t->max_confs)
			return schema_fail(c, SCHEMA_AT_VALUE, "ebb supports at most %u %s",
					   t->max_confs, t->section);
		int ret = device_conf_parse(c, t, json_array_get(arr, i), &conf);
		if (ret < 0)
			return ret;
		const char *new_id = conf_id(t, conf);
		const void *others[DEVICE_MAX_CONFS];
		unsigned int nr = device_confs_of(dc, t, others, NULL);
		for (unsigned int j = 0; new_id && j < nr; j++) {
			const char *old = conf_id(t, others[j]);
			if (old && strcmp(old, new_id) == 0) {
				schema_push_key(c, t->id_field);
				ret = schema_fail(
					c, SCHEMA_AT_VALUE, "%s is already used by %s[%u]",
					schema_quote(id, sizeof(id), new_id), t->section, j);
				device_conf_free(t, conf);
				return ret;
			}
		}
		if (device_confs_set(dc, t, -1, conf) < 0)
			return schema_fail(c, SCHEMA_AT_VALUE, "ebb supports at most %u devices",
					   DEVICE_MAX_CONFS);
		schema_pop(c);
	}
	return 0;
}

int device_confs_load_section(struct schema_ctx *c, struct device_confs *dc,
			      const struct device_type *t, json_t *v)
{
	device_confs_clear(dc, t);
	if (t->many)
		return load_many(c, dc, t, v);
	void *conf;
	int ret = device_conf_parse(c, t, v, &conf);
	if (ret == 0)
		ret = device_confs_set(dc, t, -1, conf);
	return ret;
}

int device_confs_patch_section(struct schema_ctx *c, struct device_confs *dc,
			       const struct device_type *t, json_t *v)
{
	const struct schema *s = t->schema;
	if (t->many)
		return schema_fail(c, SCHEMA_AT_VALUE, "%s can only be given whole", t->section);
	int index = device_confs_find(dc, t, NULL);
	void *conf =
		index >= 0 ? device_conf_dup(t, dc->list[index].conf) : calloc(1, t->conf_size);
	if (!conf) {
		schema_fail(c, SCHEMA_AT_VALUE, "out of memory");
		return -ENOMEM;
	}
	/* A string given replaces the copy's own, which is freed only if all goes well. */
	char *old[32] = { NULL };
	bool is_str[32] = { false };
	for (size_t f = 0; f < s->nr_fields && f < 32; f++) {
		is_str[f] = (s->fields[f].type == SCHEMA_STRING &&
			     !(s->fields[f].flags & SCHEMA_IGNORE)) ||
			    (s->fields[f].flags & SCHEMA_OWNS_STR);
		if (is_str[f])
			old[f] = *(char **)((char *)conf + s->fields[f].offset);
	}
	bool partial = c->partial;
	uint32_t seen = 0;
	c->partial = true;
	int ret = schema_parse(c, v, s, conf, &seen);
	c->partial = partial;
	for (size_t f = 0; f < s->nr_fields && f < 32; f++) {
		if (!is_str[f])
			continue;
		char **slot = (char **)((char *)conf + s->fields[f].offset);
		if (ret < 0)
			*slot = old[f];
		else if (*slot != old[f])
			free(old[f]);
	}
	if (ret < 0) {
		device_conf_free(t, conf);
		return ret;
	}
	schema_take_strings(c, s, conf);
	ret = device_confs_set(dc, t, index, conf);
	if (ret < 0)
		schema_fail(c, SCHEMA_AT_VALUE, "ebb supports at most %u devices",
			    DEVICE_MAX_CONFS);
	return ret;
}

unsigned int device_confs_settings_parts(const struct device_confs *dc, struct schema_part *parts,
					 void *stage, size_t stage_size)
{
	const struct device_registry *r = dc->registry;
	unsigned int n = 0;
	for (unsigned int i = 0; i < r->nr_types; i++) {
		const struct device_type *t = r->types[i];
		if (!t->settings_schema || (size_t)(i + 1) * DEVICE_SETTINGS_SIZE > stage_size)
			continue;
		void *copy = (char *)stage + (size_t)i * DEVICE_SETTINGS_SIZE;
		memcpy(copy, dc->settings[i], DEVICE_SETTINGS_SIZE);
		parts[n++] = (struct schema_part){ .schema = t->settings_schema, .stage = copy };
	}
	return n;
}

void device_confs_apply_settings(struct schema_ctx *c, struct device_confs *dc,
				 const struct schema_part *parts, unsigned int nr)
{
	const struct device_registry *r = dc->registry;
	for (unsigned int p = 0; p < nr; p++) {
		for (unsigned int i = 0; i < r->nr_types; i++) {
			const struct device_type *t = r->types[i];
			const struct schema *s = t->settings_schema;
			if (s != parts[p].schema)
				continue;
			/* The stage began as a copy: keys not given kept their values. */
			for (size_t f = 0; f < s->nr_fields; f++) {
				if (s->fields[f].type == SCHEMA_STRING &&
				    (parts[p].seen & (1u << f)))
					free(*(char **)((char *)dc->settings[i] +
							s->fields[f].offset));
			}
			schema_take_strings(c, s, parts[p].stage);
			memcpy(dc->settings[i], parts[p].stage, t->settings_size);
		}
	}
}

int device_confs_check(struct schema_ctx *c, const struct device_confs *dc,
		       const struct machine_facts *m, int changed)
{
	const struct device_registry *r = dc->registry;
	for (unsigned int ti = 0; ti < r->nr_types; ti++) {
		const struct device_type *t = r->types[ti];
		const void *confs[DEVICE_MAX_CONFS];
		unsigned int indices[DEVICE_MAX_CONFS];
		unsigned int nr = device_confs_of(dc, t, confs, indices);
		unsigned int changed_here = nr;
		for (unsigned int i = 0; i < nr; i++) {
			if ((int)indices[i] == changed)
				changed_here = i;
		}
		schema_push_key(c, t->section);
		for (unsigned int i = 0; t->check && i < nr; i++) {
			if (t->many)
				schema_push_index(c, i);
			int ret = t->check(c, confs[i], device_settings(dc, t), m);
			if (ret < 0)
				return ret;
			if (t->many)
				schema_pop(c);
		}
		if (t->check_all) {
			int ret = t->check_all(c, confs, nr, changed_here, device_settings(dc, t));
			if (ret < 0)
				return ret;
		}
		schema_pop(c);
	}
	return 0;
}

void device_route_fail(struct api_request *req, const struct schema_error *err)
{
	char msg[700];
	schema_error_format(err, NULL, msg, sizeof(msg));
	api_fail(req, HTTP_BAD_REQUEST, "%s", msg);
}

struct device *device_route_instance(const struct device_route_ctx *ctx, int index)
{
	if (!ctx->running || index < 0)
		return NULL;
	for (unsigned int i = 0; i < ctx->nr_devices; i++) {
		if (ctx->devices[i].conf_index == (unsigned int)index)
			return &ctx->devices[i];
	}
	return NULL;
}

bool device_route_parse(struct api_request *req, const struct schema *s, void *stage, size_t size)
{
	struct schema_error err;
	struct schema_ctx c;
	memset(stage, 0, size);
	schema_ctx_init(&c, &err, NULL, 0);
	int ret = schema_parse(&c, req->body, s, stage, NULL);
	if (ret == 0)
		schema_take_strings(&c, s, stage);
	schema_ctx_release(&c);
	if (ret < 0)
		device_route_fail(req, &err);
	return ret == 0;
}

int device_check_url_id(const struct device_type *t, const char *body_id, const char *url_id,
			struct schema_error *err)
{
	char id[80], other[80];
	if (!body_id || !url_id || strcmp(body_id, url_id) == 0)
		return 0;
	memset(err, 0, sizeof(*err));
	snprintf(err->path, sizeof(err->path), "%s", t->id_field);
	snprintf(err->message, sizeof(err->message), "%s does not match the id in the URL, %s",
		 schema_quote(id, sizeof(id), body_id), schema_quote(other, sizeof(other), url_id));
	return -EINVAL;
}
