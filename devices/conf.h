/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_DEVICE_CONF_H
#define EBB_DEVICE_CONF_H

#include <stdbool.h>

#include "devices/device.h"

/*
 * The configured devices of a VM, whatever their type: each type's ebb-only
 * settings and the instances in configuration order. Parsing, rules and
 * copies go through the types' descriptors, so this file knows no device.
 */

#define DEVICE_MAX_TYPES     8
#define DEVICE_MAX_CONFS     24 /* all types together; the arch's slots limit them further */
#define DEVICE_SETTINGS_SIZE 256

struct device_registry {
	const struct device_type *const *types;
	unsigned int nr_types;
};

/* devices/registry.c: every device type ebb has. */
const struct device_registry *device_registry(void);

struct device_conf {
	const struct device_type *type;
	void *conf; /* type->conf_size bytes */
};

struct device_confs {
	const struct device_registry *registry;
	unsigned int nr;
	struct device_conf list[DEVICE_MAX_CONFS];
	uint64_t settings[DEVICE_MAX_TYPES][DEVICE_SETTINGS_SIZE / sizeof(uint64_t)];
};

/* Every type's default settings and no instance. Never fails. */
void device_confs_init(struct device_confs *dc, const struct device_registry *r);
void device_confs_free(struct device_confs *dc);
int device_confs_copy(struct device_confs *dst, const struct device_confs *src);

const struct device_type *device_type_by_section(const struct device_registry *r,
						 const char *section);
void *device_settings(const struct device_confs *dc, const struct device_type *t);
/* The instances of t in configuration order: their confs and their indices in dc->list. */
unsigned int device_confs_of(const struct device_confs *dc, const struct device_type *t,
			     const void **confs, unsigned int *indices);
/* The index in dc->list of t's instance called id (many), or of its only one; -1 if none. */
int device_confs_find(const struct device_confs *dc, const struct device_type *t, const char *id);
/* Its id (many), else its type's name. */
const char *device_conf_name(const struct device_type *t, const void *conf);

/* A new instance configuration from obj, zero defaults; the strings are its own. */
int device_conf_parse(struct schema_ctx *c, const struct device_type *t, struct json_t *obj,
		      void **conf);
void device_conf_free(const struct device_type *t, void *conf);
/* A copy with strings of its own, or NULL. */
void *device_conf_dup(const struct device_type *t, const void *conf);

/* ---- for route handlers ---- */

/* A body's id must be the URL's ({id}): 0, or -EINVAL with err at the id field. */
int device_check_url_id(const struct device_type *t, const char *body_id, const char *url_id,
			struct schema_error *err);

/* 400 with the error as "PATH: MESSAGE". */
void device_route_fail(struct api_request *req, const struct schema_error *err);
/* The running instance made from configuration index, or NULL (not running). */
struct device *device_route_instance(const struct device_route_ctx *ctx, int index);
/* Parses req->body against s into stage (zeroed first); 400 and false when it fails. */
bool device_route_parse(struct api_request *req, const struct schema *s, void *stage, size_t size);

/*
 * Puts conf (taken, even on failure) in place of instance index, or adds it
 * at the end of the list when index is -1. -ENOSPC past the limits.
 */
int device_confs_set(struct device_confs *dc, const struct device_type *t, int index, void *conf);
/* Removes every instance of t. */
void device_confs_clear(struct device_confs *dc, const struct device_type *t);

/*
 * A config file's section for t (an object, or an array for many) replaces
 * every instance of t. The ctx path points at the section.
 */
int device_confs_load_section(struct schema_ctx *c, struct device_confs *dc,
			      const struct device_type *t, struct json_t *v);
/*
 * Changes only the fields obj gives of t's single instance (a new one starts
 * from zero defaults): the command line's way in. -EINVAL for a type with
 * many instances.
 */
int device_confs_patch_section(struct schema_ctx *c, struct device_confs *dc,
			       const struct device_type *t, struct json_t *v);
/*
 * The settings keys of every type, as parts of the "ebb" object: fills
 * parts[] (one per type with settings, staging into copies in stage) and
 * returns how many. Apply with device_confs_apply_settings().
 */
unsigned int device_confs_settings_parts(const struct device_confs *dc, struct schema_part *parts,
					 void *stage, size_t stage_size);
void device_confs_apply_settings(struct schema_ctx *c, struct device_confs *dc,
				 const struct schema_part *parts, unsigned int nr);

/*
 * Every device rule: each instance against the machine, and the instances
 * of each type together. Errors carry the instance's full path
 * ("balloon.amount_mib", "drives[1].is_root_device"). changed is the index
 * in dc->list of the instance being set (it takes the blame between
 * instances), or -1.
 */
int device_confs_check(struct schema_ctx *c, const struct device_confs *dc,
		       const struct machine_facts *m, int changed);

#endif
