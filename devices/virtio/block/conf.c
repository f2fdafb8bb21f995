// SPDX-License-Identifier: GPL-2.0
/* A drive's configuration: its schema, its rules and the root= it gives the guest. */
#include "devices/virtio/block/conf.h"

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char *const cache_type_names[] = { "Unsafe", "Writeback", NULL };
static const char *const io_engine_names[] = { "Sync", "Async", NULL };

static int parse_drive_id(struct schema_ctx *c, json_t *v, void *stage)
{
	struct block_conf *d = stage;
	char got[80];
	if (!json_is_string(v))
		return schema_fail_type(c, v, "a string");
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	bool ok = len >= 1 && len <= BLOCK_MAX_DRIVE_ID;
	for (size_t i = 0; ok && i < len; i++) {
		char ch = s[i];
		ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		     (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
	}
	if (!ok)
		return schema_fail(c, SCHEMA_AT_VALUE,
				   "must be 1..%d characters of A-Z, a-z, 0-9, _ and -, got %s",
				   BLOCK_MAX_DRIVE_ID, schema_quote(got, sizeof(got), s));
	return schema_strdup(c, s, &d->drive_id);
}

static int parse_rate_limiter(struct schema_ctx *c, json_t *v, void *stage)
{
	return rate_limiter_parse(c, v, &((struct block_conf *)stage)->rate_limiter);
}

/* A snapshot's configuration keeps the drive's limits (snapshot_conf.c). */
static json_t *dump_rate_limiter(const void *stage)
{
	return rate_limiter_dump(&((const struct block_conf *)stage)->rate_limiter);
}

static int parse_socket(struct schema_ctx *c, json_t *v, void *stage)
{
	if (json_is_string(v))
		return schema_fail(c, SCHEMA_AT_VALUE,
				   "vhost-user drives (socket) are not supported by ebb");
	return schema_fail_type(c, v, "a string");
}

#define DRIVE_ID_FIELD                                                                   \
	{                                                                                \
		.name = "drive_id", .type = SCHEMA_CUSTOM,                               \
		.flags = SCHEMA_REQUIRED | SCHEMA_OWNS_STR,                              \
		.offset = offsetof(struct block_conf, drive_id), .parse = parse_drive_id \
	}
#define RATE_LIMITER_FIELD                                                                  \
	{                                                                                   \
		.name = "rate_limiter", .type = SCHEMA_CUSTOM, .parse = parse_rate_limiter, \
		.dump = dump_rate_limiter                                                   \
	}

static const struct schema_field conf_fields[] = {
	DRIVE_ID_FIELD,
	{ .name = "path_on_host",
	  .type = SCHEMA_STRING,
	  .flags = SCHEMA_REQUIRED | SCHEMA_NONEMPTY,
	  .offset = offsetof(struct block_conf, path_on_host) },
	{ .name = "is_root_device",
	  .type = SCHEMA_BOOL,
	  .flags = SCHEMA_REQUIRED,
	  .offset = offsetof(struct block_conf, is_root_device) },
	{ .name = "is_read_only",
	  .type = SCHEMA_BOOL,
	  .offset = offsetof(struct block_conf, is_read_only) },
	{ .name = "partuuid",
	  .type = SCHEMA_STRING,
	  .flags = SCHEMA_NONEMPTY,
	  .offset = offsetof(struct block_conf, partuuid) },
	{ .name = "cache_type",
	  .type = SCHEMA_CHOICE,
	  .offset = offsetof(struct block_conf, cache_type),
	  .choices = cache_type_names },
	{ .name = "io_engine",
	  .type = SCHEMA_CHOICE,
	  .offset = offsetof(struct block_conf, io_engine),
	  .choices = io_engine_names,
	  .supported = 1,
	  .unsupported = "io_engine \"Async\" is not supported by ebb; use \"Sync\"" },
	RATE_LIMITER_FIELD,
	{ .name = "socket", .type = SCHEMA_CUSTOM, .parse = parse_socket },
};

const struct schema block_conf_schema = SCHEMA_OF(conf_fields);

static const struct schema_field update_fields[] = {
	DRIVE_ID_FIELD,
	{ .name = "path_on_host",
	  .type = SCHEMA_STRING,
	  .flags = SCHEMA_NONEMPTY,
	  .offset = offsetof(struct block_conf, path_on_host) },
	RATE_LIMITER_FIELD,
};

const struct schema block_update_schema = SCHEMA_OF(update_fields);

int block_conf_check(struct schema_ctx *c, const void *conf, const void *settings,
		const struct machine_facts *m)
{
	const struct block_conf *d = conf;
	char got[80];
	/* It goes on the kernel command line as one word. */
	if (!d->partuuid || !d->partuuid[strcspn(d->partuuid, " \t\n\"\\")])
		return 0;
	schema_push_key(c, "partuuid");
	return schema_fail(
		c, SCHEMA_AT_VALUE,
		"may not hold blanks, quotes or \\ (it goes on the kernel command line), got %s",
		schema_quote(got, sizeof(got), d->partuuid));
}

static bool is_root(const void *conf)
{
	return ((const struct block_conf *)conf)->is_root_device;
}

static int fail_second_root(struct schema_ctx *c, unsigned int blame, const void *root)
{
	char id[80];
	schema_push_index(c, blame);
	schema_push_key(c, "is_root_device");
	return schema_fail(c, SCHEMA_AT_VALUE, "drive %s is already the root device",
			   schema_quote(id, sizeof(id), block_conf_id(root)));
}

/* One root drive: the drive being set takes the blame, else the later one. */
int block_conf_check_all(struct schema_ctx *c, const void *const *confs, unsigned int nr,
			 unsigned int changed, const void *settings)
{
	if (changed < nr && is_root(confs[changed])) {
		for (unsigned int i = 0; i < nr; i++) {
			if (i != changed && is_root(confs[i]))
				return fail_second_root(c, changed, confs[i]);
		}
		return 0;
	}
	int first = -1;
	for (unsigned int i = 0; i < nr; i++) {
		if (!is_root(confs[i]))
			continue;
		if (first >= 0)
			return fail_second_root(c, i, confs[first]);
		first = (int)i;
	}
	return 0;
}

/*
 * The root drive, as Firecracker adds it: root=/dev/vda (ebb gives the root
 * drive the first block slot) or root=PARTUUID=..., then ro or rw.
 */
void block_cmdline(FILE *f, const void *settings, const void *const *confs, unsigned int nr)
{
	for (unsigned int i = 0; i < nr; i++) {
		const struct block_conf *d = confs[i];
		if (!d->is_root_device)
			continue;
		if (d->partuuid)
			fprintf(f, " root=PARTUUID=%s", d->partuuid);
		else
			fputs(" root=/dev/vda", f);
		fputs(d->is_read_only ? " ro" : " rw", f);
		return;
	}
}

/* The root drive first, so it is /dev/vda as root=/dev/vda says. */
unsigned int block_slot_rank(const void *conf)
{
	return ((const struct block_conf *)conf)->is_root_device ? 0 : 1;
}

const char *block_conf_id(const void *conf)
{
	return ((const struct block_conf *)conf)->drive_id;
}
