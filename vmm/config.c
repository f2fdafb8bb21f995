// SPDX-License-Identifier: GPL-2.0
/*
 * The JSON config: Firecracker's schema (so a Firecracker --config-file loads
 * unchanged) plus an "ebb" object for ebb's own settings, and the same
 * per-resource parsers for the HTTP API's request bodies.
 *
 * Strict: unknown keys, wrong types, fractions, out-of-range values, missing
 * required fields and duplicate keys are all errors, each reported once with
 * the JSON path and, for files, the line and column of the offending node.
 *
 * Each resource is parsed into a stage and only applied to the vm_config
 * when everything has been checked, so a failure changes nothing. Strings
 * are copied into the context while parsing; the vm_config takes the ones it
 * keeps and the context frees the rest.
 */
#include "vmm/config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/json_locate.h"
#include "vmm/util.h"

#define CTX_MAX_DEPTH 8

struct ctx {
	struct config_error *err;
	const char *text; /* source text for positions; NULL for API bodies */
	size_t len;
	bool partial; /* PATCH: required fields may be absent */
	size_t depth;
	struct json_seg path[CTX_MAX_DEPTH];
	char **strs; /* copies made while parsing; NULL once taken */
	size_t nr_strs;
	size_t cap_strs;
};

static void ctx_init(struct ctx *c, struct config_error *err, const char *text, size_t len)
{
	*c = (struct ctx){ .err = err, .text = text, .len = len };
	memset(err, 0, sizeof(*err));
}

static void ctx_release(struct ctx *c)
{
	for (size_t i = 0; i < c->nr_strs; i++)
		free(c->strs[i]);
	free(c->strs);
	c->strs = NULL;
	c->nr_strs = c->cap_strs = 0;
}

static void push_key(struct ctx *c, const char *key)
{
	if (c->depth < CTX_MAX_DEPTH)
		c->path[c->depth] = (struct json_seg){ .key = key };
	c->depth++;
}

static void push_index(struct ctx *c, size_t index)
{
	if (c->depth < CTX_MAX_DEPTH)
		c->path[c->depth] = (struct json_seg){ .index = index };
	c->depth++;
}

static void pop(struct ctx *c)
{
	c->depth--;
}

/* Where an error points: the value at the path, its key, or the enclosing object. */
enum where {
	AT_VALUE,
	AT_KEY,
	AT_PARENT,
};

static int __attribute__((format(printf, 3, 4)))
fail(struct ctx *c, enum where where, const char *fmt, ...)
{
	struct config_error *e = c->err;
	size_t depth = MIN(c->depth, (size_t)CTX_MAX_DEPTH);
	va_list ap;

	memset(e, 0, sizeof(*e));
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < depth; i++)
		json_path_append(e->path, sizeof(e->path), &c->path[i]);
	if (c->text) {
		size_t n = where == AT_PARENT && depth > 0 ? depth - 1 : depth;
		struct json_pos pos;
		if (json_locate(c->text, c->len, c->path, n, where == AT_KEY, &pos) == 0) {
			e->line = pos.line;
			e->column = pos.column;
		}
	}
	return -EINVAL;
}

static int ctx_strdup(struct ctx *c, const char *s, char **out)
{
	if (c->nr_strs == c->cap_strs) {
		size_t cap = c->cap_strs ? 2 * c->cap_strs : 16;
		char **strs = realloc(c->strs, cap * sizeof(*strs));
		if (!strs)
			goto nomem;
		c->strs = strs;
		c->cap_strs = cap;
	}
	char *copy = strdup(s);
	if (!copy)
		goto nomem;
	c->strs[c->nr_strs++] = copy;
	*out = copy;
	return 0;
nomem:
	fail(c, AT_VALUE, "out of memory");
	return -ENOMEM;
}

/* Hands a string copied by ctx_strdup (or NULL) over to the config. */
static void take(struct ctx *c, char **dst, char *s)
{
	for (size_t i = 0; s && i < c->nr_strs; i++) {
		if (c->strs[i] == s)
			c->strs[i] = NULL;
	}
	free(*dst);
	*dst = s;
}

/* A string for a message: quoted, at most 64 bytes, control characters as '?'. */
static const char *quote(char *buf, size_t len, const char *s)
{
	size_t n = 0;
	buf[n++] = '"';
	for (; *s && n + 5 < len && n < 65; s++) {
		unsigned char b = *s;
		buf[n++] = b < 0x20 || b == 0x7f || b == '"' ? '?' : (char)b;
	}
	if (*s) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

static const char *type_name(const json_t *v)
{
	if (!v)
		return "nothing";
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		break;
	}
	return "null";
}

static int fail_type(struct ctx *c, const json_t *v, const char *want)
{
	return fail(c, AT_VALUE, "must be %s, got %s", want, type_name(v));
}

static int get_int(struct ctx *c, const json_t *v, int64_t min, int64_t max, int64_t *out)
{
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d > -1e15 && d < 1e15 && (double)(long long)d == d)
			return fail(c, AT_VALUE, "must be an integer, got %.1f", d);
		return fail(c, AT_VALUE, "must be an integer, got %g", d);
	}
	if (!json_is_integer(v))
		return fail_type(c, v, "an integer");
	long long x = json_integer_value(v);
	if (x >= min && x <= max) {
		*out = x;
		return 0;
	}
	if (x < 0 && min == 0)
		return fail(c, AT_VALUE, "must not be negative, got %lld", x);
	if (max == UINT32_MAX || max == INT64_MAX)
		return fail(c, AT_VALUE, "must be %s %lld, got %lld",
			    x < min ? "at least" : "at most", (long long)(x < min ? min : max), x);
	return fail(c, AT_VALUE, "must be %lld..%lld, got %lld", (long long)min, (long long)max, x);
}

/* Object schemas: one table per resource. */
enum field_type {
	FT_STRING, /* char *, copied */
	FT_BOOL,
	FT_U32,
	FT_I64,
	FT_CHOICE, /* int: index into choices */
	FT_CUSTOM,
};

#define F_REQUIRED   0x1u
#define F_NONEMPTY   0x2u /* strings */
#define F_FALSE_ONLY 0x4u /* booleans: true fails with .unsupported */
#define F_IGNORE     0x8u /* checked, not stored */

struct field {
	const char *name;
	enum field_type type;
	unsigned int flags;
	size_t offset; /* into the stage */
	int64_t min, max;
	const char *const *choices; /* NULL-terminated */
	unsigned int supported;	    /* if non-zero, choices from here on fail with .unsupported */
	const char *unsupported;
	int (*parse)(struct ctx *c, json_t *v, void *stage);
};

static size_t field_index(const struct field *fields, size_t n, const char *name)
{
	size_t i = 0;
	while (i < n && strcmp(fields[i].name, name) != 0)
		i++;
	return i;
}

static bool field_seen(uint32_t seen, const struct field *fields, size_t n, const char *name)
{
	size_t i = field_index(fields, n, name);
	return i < n && (seen & (1u << i));
}

/* "\"A\" or \"B\"" or "one of \"A\", \"B\", \"C\"" */
static void choice_list(const char *const *choices, char *buf, size_t len)
{
	size_t count = 0, off = 0;
	while (choices[count])
		count++;
	if (count > 2)
		off += snprintf(buf, len, "one of ");
	for (size_t i = 0; i < count && off < len; i++) {
		const char *sep = i == 0 ? "" : count == 2 ? " or " : ", ";
		off += snprintf(buf + off, len - off, "%s\"%s\"", sep, choices[i]);
	}
}

static int parse_choice(struct ctx *c, const json_t *v, const char *const *choices, int *out)
{
	char list[160], got[80];
	if (!json_is_string(v))
		return fail_type(c, v, "a string");
	const char *s = json_string_value(v);
	for (int i = 0; choices[i]; i++) {
		if (strcmp(s, choices[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	choice_list(choices, list, sizeof(list));
	return fail(c, AT_VALUE, "must be %s, got %s", list, quote(got, sizeof(got), s));
}

static int parse_field(struct ctx *c, const struct field *f, json_t *v, void *stage)
{
	void *dst = (char *)stage + f->offset;
	int64_t x;
	int ret;

	switch (f->type) {
	case FT_STRING:
		if (!json_is_string(v))
			return fail_type(c, v, "a string");
		if ((f->flags & F_NONEMPTY) && json_string_length(v) == 0)
			return fail(c, AT_VALUE, "must not be empty");
		if (f->flags & F_IGNORE)
			return 0;
		return ctx_strdup(c, json_string_value(v), dst);
	case FT_BOOL:
		if (!json_is_boolean(v))
			return fail_type(c, v, "a boolean");
		if (json_is_true(v) && (f->flags & F_FALSE_ONLY))
			return fail(c, AT_VALUE, "%s", f->unsupported);
		*(bool *)dst = json_is_true(v);
		return 0;
	case FT_U32:
	case FT_I64:
		ret = get_int(c, v, f->min, f->max, &x);
		if (ret < 0)
			return ret;
		if (f->type == FT_U32)
			*(uint32_t *)dst = (uint32_t)x;
		else
			*(int64_t *)dst = x;
		return 0;
	case FT_CHOICE:
		ret = parse_choice(c, v, f->choices, dst);
		if (ret == 0 && f->supported && *(int *)dst >= (int)f->supported)
			return fail(c, AT_VALUE, "%s", f->unsupported);
		return ret;
	case FT_CUSTOM:
		return f->parse(c, v, stage);
	}
	return -EINVAL;
}

/*
 * Parses obj against fields into stage, in document order. Optional fields
 * that are null count as absent. *seen gets bit i for each field i present.
 */
static int parse_object(struct ctx *c, json_t *obj, const struct field *fields, size_t n,
			void *stage, uint32_t *seen)
{
	uint32_t got = 0;

	if (!json_is_object(obj))
		return fail_type(c, obj, "an object");
	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
		const char *key = json_object_iter_key(it);
		json_t *v = json_object_iter_value(it);
		size_t i = field_index(fields, n, key);
		push_key(c, key);
		if (i == n) {
			char names[256] = "", got_key[80];
			for (size_t j = 0, off = 0; j < n && off < sizeof(names); j++)
				off += snprintf(names + off, sizeof(names) - off, "%s%s",
						j ? ", " : "", fields[j].name);
			return fail(c, AT_KEY, "unknown key %s; expected %s%s",
				    quote(got_key, sizeof(got_key), key), n > 1 ? "one of " : "",
				    names);
		}
		if (!json_is_null(v) || (fields[i].flags & F_REQUIRED)) {
			int ret = parse_field(c, &fields[i], v, stage);
			if (ret < 0)
				return ret;
			got |= 1u << i;
		}
		pop(c);
	}
	for (size_t i = 0; i < n && !c->partial; i++) {
		if ((fields[i].flags & F_REQUIRED) && !(got & (1u << i))) {
			push_key(c, fields[i].name);
			return fail(c, AT_PARENT, "missing required field");
		}
	}
	if (seen)
		*seen = got;
	return 0;
}

/* boot-source */

struct boot_stage {
	char *kernel;
	char *args;
	char *initrd;
};

static const struct field boot_fields[] = {
	{ .name = "kernel_image_path",
	  .type = FT_STRING,
	  .flags = F_REQUIRED | F_NONEMPTY,
	  .offset = offsetof(struct boot_stage, kernel) },
	{ .name = "boot_args", .type = FT_STRING, .offset = offsetof(struct boot_stage, args) },
	{ .name = "initrd_path",
	  .type = FT_STRING,
	  .flags = F_NONEMPTY,
	  .offset = offsetof(struct boot_stage, initrd) },
};

static int boot_parse(struct ctx *c, json_t *v, struct boot_stage *st)
{
	*st = (struct boot_stage){ 0 };
	return parse_object(c, v, boot_fields, ARRAY_SIZE(boot_fields), st, NULL);
}

static void boot_apply(struct ctx *c, struct vm_config *cfg, struct boot_stage *st)
{
	take(c, &cfg->kernel_path, st->kernel);
	take(c, &cfg->boot_args, st->args);
	take(c, &cfg->initrd_path, st->initrd);
}

/* machine-config */

enum huge_pages {
	HUGE_PAGES_NONE,
	HUGE_PAGES_TRANSPARENT,
	HUGE_PAGES_2M,
};

static const char *const huge_pages_names[] = { "None", "Transparent", "2M", NULL };
static const char *const cpu_template_names[] = {
	"None", "C3", "T2", "T2S", "T2CL", "T2A", "V1N1", NULL,
};

struct machine_stage {
	uint32_t vcpus;
	uint32_t mem_mib;
	bool smt;
	bool track_dirty_pages;
	int cpu_template;
	int huge_pages;
};

static const struct field machine_fields[] = {
	{ .name = "vcpu_count",
	  .type = FT_U32,
	  .flags = F_REQUIRED,
	  .offset = offsetof(struct machine_stage, vcpus),
	  .min = 1,
	  .max = CONFIG_MAX_VCPUS },
	{ .name = "mem_size_mib",
	  .type = FT_U32,
	  .flags = F_REQUIRED,
	  .offset = offsetof(struct machine_stage, mem_mib),
	  .min = 1,
	  .max = UINT32_MAX },
	{ .name = "smt",
	  .type = FT_BOOL,
	  .flags = F_FALSE_ONLY,
	  .offset = offsetof(struct machine_stage, smt),
	  .unsupported = "smt is not supported by ebb" },
	{ .name = "track_dirty_pages",
	  .type = FT_BOOL,
	  .flags = F_FALSE_ONLY,
	  .offset = offsetof(struct machine_stage, track_dirty_pages),
	  .unsupported = "track_dirty_pages is not supported by ebb (it takes no snapshots)" },
	{ .name = "cpu_template",
	  .type = FT_CHOICE,
	  .offset = offsetof(struct machine_stage, cpu_template),
	  .choices = cpu_template_names,
	  .supported = 1,
	  .unsupported = "CPU templates are not supported by ebb; use \"None\"" },
	{ .name = "huge_pages",
	  .type = FT_CHOICE,
	  .offset = offsetof(struct machine_stage, huge_pages),
	  .choices = huge_pages_names },
};

static bool machine_has(uint32_t seen, const char *name)
{
	return field_seen(seen, machine_fields, ARRAY_SIZE(machine_fields), name);
}

/* st comes in zeroed (PUT) or holding the current values (PATCH). */
static int machine_parse(struct ctx *c, json_t *v, struct machine_stage *st, uint32_t *seen)
{
	int ret = parse_object(c, v, machine_fields, ARRAY_SIZE(machine_fields), st, seen);
	if (ret < 0)
		return ret;
	if (st->huge_pages != HUGE_PAGES_2M || st->mem_mib % 2 == 0)
		return 0;
	if (!machine_has(*seen, "mem_size_mib")) {
		push_key(c, "huge_pages");
		return fail(c, AT_VALUE, "\"2M\" needs an even mem_size_mib, which is %u",
			    st->mem_mib);
	}
	push_key(c, "mem_size_mib");
	return fail(c, AT_VALUE, "must be even with huge_pages \"2M\", got %u", st->mem_mib);
}

/* The backing and THP that huge_pages asks for, given the current backing. */
static void huge_pages_backing(int huge_pages, enum mem_backing cur, enum mem_backing *backing,
			       bool *thp)
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

/* put: an absent huge_pages means "None" (the API); otherwise it changes nothing. */
static void machine_apply(struct vm_config *cfg, const struct machine_stage *st, uint32_t seen,
			  bool put)
{
	cfg->vcpus = st->vcpus;
	cfg->mem_mib = st->mem_mib;
	if (put || machine_has(seen, "huge_pages"))
		huge_pages_backing(st->huge_pages, cfg->backing, &cfg->backing, &cfg->thp);
}

/* balloon */

struct balloon_stage {
	struct balloon_config b;
	bool free_page_hinting;
};

static const struct field balloon_fields[] = {
	{ .name = "amount_mib",
	  .type = FT_U32,
	  .flags = F_REQUIRED,
	  .offset = offsetof(struct balloon_stage, b.amount_mib),
	  .max = UINT32_MAX },
	{ .name = "deflate_on_oom",
	  .type = FT_BOOL,
	  .flags = F_REQUIRED,
	  .offset = offsetof(struct balloon_stage, b.deflate_on_oom) },
	{ .name = "stats_polling_interval_s",
	  .type = FT_U32,
	  .offset = offsetof(struct balloon_stage, b.stats_polling_interval_s),
	  .max = CONFIG_MAX_STATS_INTERVAL_S },
	{ .name = "free_page_hinting",
	  .type = FT_BOOL,
	  .flags = F_FALSE_ONLY,
	  .offset = offsetof(struct balloon_stage, free_page_hinting),
	  .unsupported = "free_page_hinting is not supported by ebb yet; use free_page_reporting" },
	{ .name = "free_page_reporting",
	  .type = FT_BOOL,
	  .offset = offsetof(struct balloon_stage, b.free_page_reporting) },
};

static int balloon_parse(struct ctx *c, json_t *v, struct balloon_stage *st)
{
	*st = (struct balloon_stage){ .b.present = true };
	return parse_object(c, v, balloon_fields, ARRAY_SIZE(balloon_fields), st, NULL);
}

/* The error for a balloon larger than the guest; the path points at amount_mib. */
static int fail_balloon_size(struct ctx *c, uint32_t amount_mib, uint32_t mem_mib)
{
	return fail(c, AT_VALUE,
		    "%u MiB is more than the guest's %u MiB (machine-config.mem_size_mib)",
		    amount_mib, mem_mib);
}

/* drives */

static const char *const cache_type_names[] = { "Unsafe", "Writeback", NULL };
static const char *const io_engine_names[] = { "Sync", "Async", NULL };

struct drive_stage {
	char *id;
	char *path;
	char *partuuid;
	bool root;
	bool read_only;
	int cache_type;
	int io_engine;
};

static int parse_drive_id(struct ctx *c, json_t *v, void *stage)
{
	struct drive_stage *st = stage;
	char got[80];
	if (!json_is_string(v))
		return fail_type(c, v, "a string");
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	bool ok = len >= 1 && len <= CONFIG_MAX_DRIVE_ID_LEN;
	for (size_t i = 0; ok && i < len; i++) {
		char ch = s[i];
		ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		     (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
	}
	if (!ok)
		return fail(c, AT_VALUE,
			    "must be 1..%d characters of A-Z, a-z, 0-9, _ and -, got %s",
			    CONFIG_MAX_DRIVE_ID_LEN, quote(got, sizeof(got), s));
	return ctx_strdup(c, s, &st->id);
}

static int parse_rate_limiter(struct ctx *c, json_t *v, void *stage)
{
	if (json_is_object(v))
		return fail(c, AT_VALUE, "rate limiters are not supported by ebb");
	return fail_type(c, v, "an object");
}

static int parse_socket(struct ctx *c, json_t *v, void *stage)
{
	if (json_is_string(v))
		return fail(c, AT_VALUE, "vhost-user drives (socket) are not supported by ebb");
	return fail_type(c, v, "a string");
}

static const struct field drive_fields[] = {
	{ .name = "drive_id", .type = FT_CUSTOM, .flags = F_REQUIRED, .parse = parse_drive_id },
	{ .name = "path_on_host",
	  .type = FT_STRING,
	  .flags = F_REQUIRED | F_NONEMPTY,
	  .offset = offsetof(struct drive_stage, path) },
	{ .name = "is_root_device",
	  .type = FT_BOOL,
	  .flags = F_REQUIRED,
	  .offset = offsetof(struct drive_stage, root) },
	{ .name = "is_read_only",
	  .type = FT_BOOL,
	  .offset = offsetof(struct drive_stage, read_only) },
	{ .name = "partuuid",
	  .type = FT_STRING,
	  .flags = F_NONEMPTY,
	  .offset = offsetof(struct drive_stage, partuuid) },
	{ .name = "cache_type",
	  .type = FT_CHOICE,
	  .offset = offsetof(struct drive_stage, cache_type),
	  .choices = cache_type_names },
	{ .name = "io_engine",
	  .type = FT_CHOICE,
	  .offset = offsetof(struct drive_stage, io_engine),
	  .choices = io_engine_names,
	  .supported = 1,
	  .unsupported = "io_engine \"Async\" is not supported by ebb; use \"Sync\"" },
	{ .name = "rate_limiter", .type = FT_CUSTOM, .parse = parse_rate_limiter },
	{ .name = "socket", .type = FT_CUSTOM, .parse = parse_socket },
};

static int drive_parse(struct ctx *c, json_t *v, struct drive_stage *st)
{
	*st = (struct drive_stage){ 0 };
	return parse_object(c, v, drive_fields, ARRAY_SIZE(drive_fields), st, NULL);
}

static void drive_apply(struct ctx *c, struct drive_config *d, struct drive_stage *st)
{
	take(c, &d->drive_id, st->id);
	take(c, &d->path_on_host, st->path);
	take(c, &d->partuuid, st->partuuid);
	d->is_root_device = st->root;
	d->is_read_only = st->read_only;
	d->cache_writeback = st->cache_type == 1;
}

/* The whole "drives" array: unique ids, at most one root device. */
static int drives_parse(struct ctx *c, json_t *arr, struct drive_stage *st, unsigned int *nr)
{
	size_t i;
	char id[80];

	if (!json_is_array(arr))
		return fail_type(c, arr, "an array");
	for (i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		push_index(c, i);
		if (i >= CONFIG_MAX_DRIVES)
			return fail(c, AT_VALUE, "ebb supports at most %d drives",
				    CONFIG_MAX_DRIVES);
		int ret = drive_parse(c, v, &st[i]);
		if (ret < 0)
			return ret;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(st[j].id, st[i].id) == 0) {
				push_key(c, "drive_id");
				return fail(c, AT_VALUE, "%s is already used by drives[%zu]",
					    quote(id, sizeof(id), st[i].id), j);
			}
			if (st[j].root && st[i].root) {
				push_key(c, "is_root_device");
				return fail(c, AT_VALUE, "drives[%zu] is already the root device",
					    j);
			}
		}
		pop(c);
	}
	*nr = i;
	return 0;
}

static void drives_apply(struct ctx *c, struct vm_config *cfg, struct drive_stage *st,
			 unsigned int nr)
{
	for (unsigned int i = nr; i < cfg->nr_drives; i++) {
		struct drive_config *d = &cfg->drives[i];
		free(d->drive_id);
		free(d->path_on_host);
		free(d->partuuid);
		*d = (struct drive_config){ 0 };
	}
	for (unsigned int i = 0; i < nr; i++)
		drive_apply(c, &cfg->drives[i], &st[i]);
	cfg->nr_drives = nr;
}

/* logger */

struct logger_stage {
	char *log_path;
	enum log_level level;
	bool show_level;
	bool show_origin;
};

static int parse_level(struct ctx *c, json_t *v, void *stage)
{
	static const char *const names[] = {
		"Error", "Warning", "Info", "Debug", "Trace", "Off", NULL,
	};
	struct logger_stage *st = stage;
	char list[160], got[80];
	if (!json_is_string(v))
		return fail_type(c, v, "a string");
	if (log_level_parse(json_string_value(v), &st->level) == 0)
		return 0;
	choice_list(names, list, sizeof(list));
	return fail(c, AT_VALUE, "must be %s (any case), got %s", list,
		    quote(got, sizeof(got), json_string_value(v)));
}

static const struct field logger_fields[] = {
	{ .name = "log_path",
	  .type = FT_STRING,
	  .flags = F_NONEMPTY,
	  .offset = offsetof(struct logger_stage, log_path) },
	{ .name = "level", .type = FT_CUSTOM, .parse = parse_level },
	{ .name = "show_level",
	  .type = FT_BOOL,
	  .offset = offsetof(struct logger_stage, show_level) },
	{ .name = "show_log_origin",
	  .type = FT_BOOL,
	  .offset = offsetof(struct logger_stage, show_origin) },
	{ .name = "module", .type = FT_STRING, .flags = F_IGNORE },
};

static int logger_parse(struct ctx *c, json_t *v, struct logger_stage *st, uint32_t *seen)
{
	*st = (struct logger_stage){ 0 };
	return parse_object(c, v, logger_fields, ARRAY_SIZE(logger_fields), st, seen);
}

static void logger_apply(struct ctx *c, struct vm_config *cfg, struct logger_stage *st,
			 uint32_t seen)
{
	const struct field *f = logger_fields;
	const size_t n = ARRAY_SIZE(logger_fields);
	if (field_seen(seen, f, n, "log_path"))
		take(c, &cfg->log_path, st->log_path);
	if (field_seen(seen, f, n, "level"))
		cfg->level = st->level;
	if (field_seen(seen, f, n, "show_level"))
		cfg->show_level = st->show_level;
	if (field_seen(seen, f, n, "show_log_origin"))
		cfg->show_origin = st->show_origin;
}

/* metrics */

struct metrics_stage {
	char *path;
	bool emit_id;
};

/* Operator-defined key/value pairs: accepted (strings only), not used yet. */
static int parse_properties(struct ctx *c, json_t *v, void *stage)
{
	if (!json_is_object(v))
		return fail_type(c, v, "an object");
	for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
		json_t *value = json_object_iter_value(it);
		push_key(c, json_object_iter_key(it));
		if (!json_is_string(value))
			return fail_type(c, value, "a string");
		pop(c);
	}
	return 0;
}

static const struct field metrics_fields[] = {
	{ .name = "metrics_path",
	  .type = FT_STRING,
	  .flags = F_REQUIRED | F_NONEMPTY,
	  .offset = offsetof(struct metrics_stage, path) },
	{ .name = "emit_id", .type = FT_BOOL, .offset = offsetof(struct metrics_stage, emit_id) },
	{ .name = "properties", .type = FT_CUSTOM, .parse = parse_properties },
};

static int metrics_parse(struct ctx *c, json_t *v, struct metrics_stage *st)
{
	*st = (struct metrics_stage){ 0 };
	return parse_object(c, v, metrics_fields, ARRAY_SIZE(metrics_fields), st, NULL);
}

static void metrics_apply(struct ctx *c, struct vm_config *cfg, struct metrics_stage *st)
{
	take(c, &cfg->metrics_path, st->path);
	cfg->metrics_emit_id = st->emit_id;
}

/* ebb */

/* In enum mem_backing order. */
static const char *const backing_names[] = { "anon", "memfd", "hugetlbfs", NULL };

struct ebb_stage {
	int backing;
	bool thp;
	uint32_t reporting_queue_size;
	bool boot_timer;
	struct reporting_tunables reporting; /* starts as the config's */
};

/* In enum reporting_profile order. */
static const char *const reporting_profiles[] = { "fast", "stock", NULL };

static const struct field reporting_fields[] = {
	{ .name = "delay_ms",
	  .type = FT_I64,
	  .offset = offsetof(struct reporting_tunables, delay_ms),
	  .max = 60000 },
	{ .name = "budget",
	  .type = FT_I64,
	  .offset = offsetof(struct reporting_tunables, budget),
	  .max = 1024 },
	{ .name = "watermark_mib",
	  .type = FT_I64,
	  .offset = offsetof(struct reporting_tunables, watermark_mib),
	  .max = 65536 },
	{ .name = "order",
	  .type = FT_I64,
	  .offset = offsetof(struct reporting_tunables, order),
	  .max = 10 /* MAX_ORDER - 1 on x86-64 */ },
	{ .name = "profile",
	  .type = FT_CHOICE,
	  .offset = offsetof(struct reporting_tunables, profile),
	  .choices = reporting_profiles },
};

static int parse_page_reporting(struct ctx *c, json_t *v, void *stage)
{
	struct ebb_stage *st = stage;
	return parse_object(c, v, reporting_fields, ARRAY_SIZE(reporting_fields), &st->reporting,
			    NULL);
}

static int parse_queue_size(struct ctx *c, json_t *v, void *stage)
{
	struct ebb_stage *st = stage;
	int64_t x;
	int ret =
		get_int(c, v, CONFIG_MIN_REPORTING_QUEUE_SIZE, CONFIG_MAX_REPORTING_QUEUE_SIZE, &x);
	if (ret < 0)
		return ret;
	if (x & (x - 1))
		return fail(c, AT_VALUE, "must be a power of two, got %lld", (long long)x);
	st->reporting_queue_size = (uint32_t)x;
	return 0;
}

static const struct field ebb_fields[] = {
	{ .name = "memory_backing",
	  .type = FT_CHOICE,
	  .offset = offsetof(struct ebb_stage, backing),
	  .choices = backing_names },
	{ .name = "thp", .type = FT_BOOL, .offset = offsetof(struct ebb_stage, thp) },
	{ .name = "reporting_queue_size", .type = FT_CUSTOM, .parse = parse_queue_size },
	{ .name = "boot_timer", .type = FT_BOOL, .offset = offsetof(struct ebb_stage, boot_timer) },
	{ .name = "page_reporting", .type = FT_CUSTOM, .parse = parse_page_reporting },
};

static bool ebb_has(uint32_t seen, const char *name)
{
	return field_seen(seen, ebb_fields, ARRAY_SIZE(ebb_fields), name);
}

static int ebb_parse(struct ctx *c, json_t *v, const struct vm_config *cfg, struct ebb_stage *st,
		     uint32_t *seen)
{
	*st = (struct ebb_stage){
		.backing = cfg->backing,
		.thp = cfg->thp,
		.reporting_queue_size = cfg->reporting_queue_size,
		.boot_timer = cfg->boot_timer,
		.reporting = cfg->reporting,
	};
	return parse_object(c, v, ebb_fields, ARRAY_SIZE(ebb_fields), st, seen);
}

/*
 * The ebb memory settings against the backing, THP and memory size they will
 * be used with. The ctx path is that of the ebb object.
 */
static int ebb_check_memory(struct ctx *c, const struct ebb_stage *st, uint32_t seen,
			    enum mem_backing backing, bool thp, uint32_t mem_mib)
{
	if (ebb_has(seen, "thp") && st->thp && backing != MEM_BACKING_ANON) {
		push_key(c, "thp");
		return fail(c, AT_VALUE, "THP applies to memory_backing \"anon\" only, not \"%s\"",
			    mem_backing_name(backing));
	}
	if (!ebb_has(seen, "memory_backing"))
		return 0;
	push_key(c, "memory_backing");
	if (thp && backing != MEM_BACKING_ANON)
		return fail(c, AT_VALUE, "\"%s\" cannot be used with THP, which needs \"anon\"",
			    mem_backing_name(backing));
	if (backing == MEM_BACKING_HUGETLBFS && mem_mib % 2)
		return fail(c, AT_VALUE,
			    "\"hugetlbfs\" needs an even machine-config.mem_size_mib (2 MiB "
			    "pages), got %u",
			    mem_mib);
	pop(c);
	return 0;
}

/* Only what the object gave: in a file, huge_pages may have set the backing already. */
static void ebb_apply(struct vm_config *cfg, const struct ebb_stage *st, uint32_t seen)
{
	if (ebb_has(seen, "memory_backing"))
		cfg->backing = st->backing;
	if (ebb_has(seen, "thp"))
		cfg->thp = st->thp;
	if (ebb_has(seen, "reporting_queue_size"))
		cfg->reporting_queue_size = st->reporting_queue_size;
	if (ebb_has(seen, "boot_timer"))
		cfg->boot_timer = st->boot_timer;
	if (ebb_has(seen, "page_reporting"))
		cfg->reporting = st->reporting;
}

/* The file: top-level keys */

enum section {
	SEC_BOOT,
	SEC_MACHINE,
	SEC_DRIVES,
	SEC_BALLOON,
	SEC_LOGGER,
	SEC_METRICS,
	SEC_EBB,
	SEC_UNSUPPORTED,
};

static const struct section_def {
	const char *name;
	enum section section;
	const char *unsupported;
} sections[] = {
	{ "boot-source", SEC_BOOT, NULL },
	{ "machine-config", SEC_MACHINE, NULL },
	{ "drives", SEC_DRIVES, NULL },
	{ "balloon", SEC_BALLOON, NULL },
	{ "logger", SEC_LOGGER, NULL },
	{ "metrics", SEC_METRICS, NULL },
	{ "ebb", SEC_EBB, NULL },
	{ "network-interfaces", SEC_UNSUPPORTED, "network interfaces are not supported by ebb" },
	{ "vsock", SEC_UNSUPPORTED, "vsock is not supported by ebb" },
	{ "mmds-config", SEC_UNSUPPORTED, "MMDS is not supported by ebb" },
	{ "entropy", SEC_UNSUPPORTED, "the entropy device is not supported by ebb" },
	{ "cpu-config", SEC_UNSUPPORTED, "custom CPU configuration is not supported by ebb" },
	{ "pmem", SEC_UNSUPPORTED, "pmem devices are not supported by ebb" },
	{ "memory-hotplug", SEC_UNSUPPORTED, "memory hotplug is not supported by ebb" },
	{ "serial", SEC_UNSUPPORTED, "serial configuration is not supported by ebb" },
};

struct file_stage {
	uint32_t sections; /* bit per enum section present (not null) */
	struct boot_stage boot;
	struct machine_stage machine;
	uint32_t machine_seen;
	struct drive_stage drives[CONFIG_MAX_DRIVES];
	unsigned int nr_drives;
	struct balloon_stage balloon;
	struct logger_stage logger;
	uint32_t logger_seen;
	struct metrics_stage metrics;
	struct ebb_stage ebb;
	uint32_t ebb_seen;
};

static int fail_unknown_section(struct ctx *c, const char *key)
{
	char names[400] = "", got[80];
	for (size_t j = 0, off = 0; j < ARRAY_SIZE(sections) && off < sizeof(names); j++)
		off += snprintf(names + off, sizeof(names) - off, "%s%s", j ? ", " : "",
				sections[j].name);
	return fail(c, AT_KEY, "unknown key %s; expected one of %s", quote(got, sizeof(got), key),
		    names);
}

static int section_parse(struct ctx *c, const struct section_def *def, json_t *v,
			 const struct vm_config *cfg, struct file_stage *fs)
{
	/* Firecracker's own files spell absent optional sections as null. */
	if (json_is_null(v) && def->section != SEC_BOOT && def->section != SEC_DRIVES)
		return 0;
	fs->sections |= 1u << def->section;
	switch (def->section) {
	case SEC_BOOT:
		return boot_parse(c, v, &fs->boot);
	case SEC_MACHINE:
		fs->machine = (struct machine_stage){ 0 };
		return machine_parse(c, v, &fs->machine, &fs->machine_seen);
	case SEC_DRIVES:
		return drives_parse(c, v, fs->drives, &fs->nr_drives);
	case SEC_BALLOON:
		return balloon_parse(c, v, &fs->balloon);
	case SEC_LOGGER:
		return logger_parse(c, v, &fs->logger, &fs->logger_seen);
	case SEC_METRICS:
		return metrics_parse(c, v, &fs->metrics);
	case SEC_EBB:
		return ebb_parse(c, v, cfg, &fs->ebb, &fs->ebb_seen);
	case SEC_UNSUPPORTED:
		if (json_is_array(v) && json_array_size(v) == 0)
			return 0;
		return fail(c, AT_VALUE, "%s", def->unsupported);
	}
	return -EINVAL;
}

static bool has_section(const struct file_stage *fs, enum section s)
{
	return fs->sections & (1u << s);
}

/* ebb's backing and THP against machine-config.huge_pages, when both are given. */
static int ebb_check_huge_pages(struct ctx *c, const struct ebb_stage *e, uint32_t seen,
				int huge_pages)
{
	const char *hp = huge_pages_names[huge_pages];
	enum mem_backing want;
	bool want_thp;

	huge_pages_backing(huge_pages, e->backing, &want, &want_thp);
	if (ebb_has(seen, "memory_backing") && want != (enum mem_backing)e->backing) {
		push_key(c, "memory_backing");
		return fail(c, AT_VALUE, "\"%s\" disagrees with machine-config.huge_pages \"%s\"",
			    backing_names[e->backing], hp);
	}
	if (ebb_has(seen, "thp") && e->thp != want_thp) {
		push_key(c, "thp");
		return fail(c, AT_VALUE, "%s disagrees with machine-config.huge_pages \"%s\"",
			    e->thp ? "true" : "false", hp);
	}
	return 0;
}

/* Checks that span sections, on the values the config will end up with. */
static int file_check(struct ctx *c, const struct vm_config *cfg, const struct file_stage *fs)
{
	const struct machine_stage *m = &fs->machine;
	const struct ebb_stage *e = &fs->ebb;
	bool have_hp = has_section(fs, SEC_MACHINE) && machine_has(fs->machine_seen, "huge_pages");
	uint32_t mem_mib = has_section(fs, SEC_MACHINE) ? m->mem_mib : cfg->mem_mib;
	enum mem_backing backing = cfg->backing;
	bool thp = cfg->thp;
	int ret;

	if (have_hp)
		huge_pages_backing(m->huge_pages, backing, &backing, &thp);
	if (has_section(fs, SEC_EBB)) {
		push_key(c, "ebb");
		ret = have_hp ? ebb_check_huge_pages(c, e, fs->ebb_seen, m->huge_pages) : 0;
		if (ret < 0)
			return ret;
		if (ebb_has(fs->ebb_seen, "memory_backing"))
			backing = e->backing;
		if (ebb_has(fs->ebb_seen, "thp"))
			thp = e->thp;
		ret = ebb_check_memory(c, e, fs->ebb_seen, backing, thp, mem_mib);
		if (ret < 0)
			return ret;
		pop(c);
	}
	if (has_section(fs, SEC_BALLOON) && fs->balloon.b.amount_mib > mem_mib) {
		push_key(c, "balloon");
		push_key(c, "amount_mib");
		return fail_balloon_size(c, fs->balloon.b.amount_mib, mem_mib);
	}
	/* A balloon from the command line must fit in the file's memory size. */
	if (!has_section(fs, SEC_BALLOON) && has_section(fs, SEC_MACHINE) && cfg->balloon.present &&
	    cfg->balloon.amount_mib > mem_mib) {
		push_key(c, "machine-config");
		push_key(c, "mem_size_mib");
		return fail(c, AT_VALUE, "must be at least the balloon's %u MiB, got %u",
			    cfg->balloon.amount_mib, mem_mib);
	}
	return 0;
}

static void file_apply(struct ctx *c, struct vm_config *cfg, struct file_stage *fs)
{
	if (has_section(fs, SEC_BOOT))
		boot_apply(c, cfg, &fs->boot);
	if (has_section(fs, SEC_MACHINE))
		machine_apply(cfg, &fs->machine, fs->machine_seen, false);
	if (has_section(fs, SEC_EBB))
		ebb_apply(cfg, &fs->ebb, fs->ebb_seen);
	if (has_section(fs, SEC_DRIVES))
		drives_apply(c, cfg, fs->drives, fs->nr_drives);
	if (has_section(fs, SEC_BALLOON))
		cfg->balloon = fs->balloon.b;
	if (has_section(fs, SEC_LOGGER))
		logger_apply(c, cfg, &fs->logger, fs->logger_seen);
	if (has_section(fs, SEC_METRICS))
		metrics_apply(c, cfg, &fs->metrics);
}

static json_t *load_json(const char *text, size_t len, struct config_error *err)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root)
		return root;
	memset(err, 0, sizeof(*err));
	err->line = je.line > 0 ? je.line : 1;
	err->column = je.column > 0 ? je.column : 1;
	if (json_error_code(&je) == json_error_duplicate_key && je.position >= 0) {
		struct json_pos pos;
		if (json_locate_key_ending_at(text, len, (size_t)je.position, err->path,
					      sizeof(err->path), &pos) == 0) {
			err->line = pos.line;
			err->column = pos.column;
			snprintf(err->message, sizeof(err->message), "duplicate key");
			return NULL;
		}
	}
	/* jansson quotes the source near the error, which may hold a newline. */
	size_t n = (size_t)snprintf(err->message, sizeof(err->message), "invalid JSON: ");
	for (const char *p = je.text; *p && n + 3 < sizeof(err->message); p++) {
		unsigned char b = *p;
		if (b == '\n' || b == '\t' || b == '\r') {
			err->message[n++] = '\\';
			err->message[n++] = b == '\n' ? 'n' : b == '\t' ? 't' : 'r';
		} else {
			err->message[n++] = b < 0x20 || b == 0x7f ? '?' : (char)b;
		}
	}
	err->message[n] = '\0';
	return NULL;
}

int config_load_buffer(const char *text, size_t len, struct vm_config *cfg,
		       struct config_error *err)
{
	struct file_stage *fs = NULL;
	struct ctx c;
	int ret;

	ctx_init(&c, err, text, len);
	json_t *root = load_json(text, len, err);
	if (!root)
		return -EINVAL;
	if (!json_is_object(root)) {
		ret = fail(&c, AT_VALUE, "the top level must be an object, got %s",
			   type_name(root));
		goto out;
	}
	fs = calloc(1, sizeof(*fs));
	if (!fs) {
		ret = fail(&c, AT_VALUE, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	for (void *it = json_object_iter(root); it; it = json_object_iter_next(root, it)) {
		const char *key = json_object_iter_key(it);
		json_t *v = json_object_iter_value(it);
		const struct section_def *def = NULL;
		for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
			if (strcmp(key, sections[i].name) == 0)
				def = &sections[i];
		}
		push_key(&c, key);
		if (!def) {
			ret = fail_unknown_section(&c, key);
			goto out;
		}
		ret = section_parse(&c, def, v, cfg, fs);
		if (ret < 0)
			goto out;
		pop(&c);
	}
	ret = file_check(&c, cfg, fs);
	if (ret == 0)
		file_apply(&c, cfg, fs);
out:
	free(fs);
	ctx_release(&c);
	json_decref(root);
	return ret;
}

int config_load_file(const char *path, struct vm_config *cfg, struct config_error *err)
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

static void appendf(char *buf, size_t len, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void appendf(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	if (*off >= len)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off = MIN(*off + (size_t)n, len);
}

void config_error_format(const struct config_error *e, const char *file, char *buf, size_t len)
{
	size_t off = 0;
	if (len == 0)
		return;
	buf[0] = '\0';
	if (file && e->line > 0)
		appendf(buf, len, &off, "%s:%d:%d: ", file, e->line, e->column);
	else if (file)
		appendf(buf, len, &off, "%s: ", file);
	if (e->path[0])
		appendf(buf, len, &off, "%s: ", e->path);
	appendf(buf, len, &off, "%s", e->message);
	if (!file && e->line > 0)
		appendf(buf, len, &off, " (line %d, column %d)", e->line, e->column);
}

json_t *config_json_load(const char *text, size_t len, struct config_error *err)
{
	return load_json(text, len, err);
}

/* The API's per-resource parsers. */

int config_parse_boot_source(json_t *obj, struct vm_config *cfg, struct config_error *err)
{
	struct boot_stage st;
	struct ctx c;
	ctx_init(&c, err, NULL, 0);
	int ret = boot_parse(&c, obj, &st);
	if (ret == 0)
		boot_apply(&c, cfg, &st);
	ctx_release(&c);
	return ret;
}

static int machine_config_update(json_t *obj, struct vm_config *cfg, struct config_error *err,
				 bool patch)
{
	struct machine_stage st = { 0 };
	uint32_t seen;
	struct ctx c;

	ctx_init(&c, err, NULL, 0);
	if (patch) {
		c.partial = true;
		st.vcpus = cfg->vcpus;
		st.mem_mib = cfg->mem_mib;
		st.huge_pages = huge_pages_of(cfg);
	}
	int ret = machine_parse(&c, obj, &st, &seen);
	if (ret == 0 && cfg->balloon.present && cfg->balloon.amount_mib > st.mem_mib) {
		push_key(&c, "mem_size_mib");
		ret = fail(&c, AT_VALUE, "must be at least the balloon's %u MiB, got %u",
			   cfg->balloon.amount_mib, st.mem_mib);
	}
	if (ret == 0)
		machine_apply(cfg, &st, seen, !patch);
	ctx_release(&c);
	return ret;
}

int config_parse_machine_config(json_t *obj, struct vm_config *cfg, struct config_error *err)
{
	return machine_config_update(obj, cfg, err, false);
}

int config_parse_machine_config_patch(json_t *obj, struct vm_config *cfg, struct config_error *err)
{
	return machine_config_update(obj, cfg, err, true);
}

int config_parse_balloon(json_t *obj, struct vm_config *cfg, struct config_error *err)
{
	struct balloon_stage st;
	struct ctx c;
	ctx_init(&c, err, NULL, 0);
	int ret = balloon_parse(&c, obj, &st);
	if (ret == 0 && st.b.amount_mib > cfg->mem_mib) {
		push_key(&c, "amount_mib");
		ret = fail_balloon_size(&c, st.b.amount_mib, cfg->mem_mib);
	}
	if (ret == 0)
		cfg->balloon = st.b;
	ctx_release(&c);
	return ret;
}

static int fail_no_balloon(struct ctx *c)
{
	fail(c, AT_VALUE, "no balloon device is configured");
	return -ENODEV;
}

int config_parse_balloon_update(json_t *obj, struct vm_config *cfg, struct config_error *err)
{
	static const struct field fields[] = {
		{ .name = "amount_mib",
		  .type = FT_U32,
		  .flags = F_REQUIRED,
		  .offset = offsetof(struct balloon_config, amount_mib),
		  .max = UINT32_MAX },
	};
	struct balloon_config st = { 0 };
	struct ctx c;
	ctx_init(&c, err, NULL, 0);
	int ret = parse_object(&c, obj, fields, ARRAY_SIZE(fields), &st, NULL);
	if (ret == 0 && !cfg->balloon.present)
		ret = fail_no_balloon(&c);
	if (ret == 0 && st.amount_mib > cfg->mem_mib) {
		push_key(&c, "amount_mib");
		ret = fail_balloon_size(&c, st.amount_mib, cfg->mem_mib);
	}
	if (ret == 0)
		cfg->balloon.amount_mib = st.amount_mib;
	ctx_release(&c);
	return ret;
}

int config_parse_balloon_stats_update(json_t *obj, struct vm_config *cfg, struct config_error *err)
{
	static const struct field fields[] = {
		{ .name = "stats_polling_interval_s",
		  .type = FT_U32,
		  .flags = F_REQUIRED,
		  .offset = offsetof(struct balloon_config, stats_polling_interval_s),
		  .max = CONFIG_MAX_STATS_INTERVAL_S },
	};
	struct balloon_config st = { 0 };
	struct ctx c;
	ctx_init(&c, err, NULL, 0);
	int ret = parse_object(&c, obj, fields, ARRAY_SIZE(fields), &st, NULL);
	if (ret == 0 && !cfg->balloon.present)
		ret = fail_no_balloon(&c);
	if (ret == 0 &&
	    (st.stats_polling_interval_s == 0) != (cfg->balloon.stats_polling_interval_s == 0)) {
		push_key(&c, "stats_polling_interval_s");
		ret = fail(&c, AT_VALUE,
			   "statistics cannot be turned %s after boot (the interval is %u)",
			   st.stats_polling_interval_s ? "on" : "off",
			   cfg->balloon.stats_polling_interval_s);
	}
	if (ret == 0)
		cfg->balloon.stats_polling_interval_s = st.stats_polling_interval_s;
	ctx_release(&c);
	return ret;
}

/* PUT and PATCH /drives/{id}: the body's drive_id must be the URL's. */
static int check_url_drive_id(struct ctx *c, const char *body_id, const char *path_id)
{
	char id[80], other[80];
	if (!path_id || strcmp(path_id, body_id) == 0)
		return 0;
	push_key(c, "drive_id");
	return fail(c, AT_VALUE, "%s does not match the drive id in the URL, %s",
		    quote(id, sizeof(id), body_id), quote(other, sizeof(other), path_id));
}

int config_parse_drive(json_t *obj, const char *path_id, struct vm_config *cfg,
		       struct config_error *err)
{
	struct drive_stage st;
	struct ctx c;
	char other[80];
	unsigned int slot = cfg->nr_drives;

	ctx_init(&c, err, NULL, 0);
	int ret = drive_parse(&c, obj, &st);
	if (ret < 0)
		goto out;
	ret = check_url_drive_id(&c, st.id, path_id);
	if (ret < 0)
		goto out;
	for (unsigned int i = 0; i < cfg->nr_drives; i++) {
		if (strcmp(cfg->drives[i].drive_id, st.id) == 0)
			slot = i;
	}
	for (unsigned int i = 0; i < cfg->nr_drives; i++) {
		if (i != slot && st.root && cfg->drives[i].is_root_device) {
			push_key(&c, "is_root_device");
			ret = fail(&c, AT_VALUE, "drive %s is already the root device",
				   quote(other, sizeof(other), cfg->drives[i].drive_id));
			goto out;
		}
	}
	if (slot == CONFIG_MAX_DRIVES) {
		ret = fail(&c, AT_VALUE, "ebb supports at most %d drives", CONFIG_MAX_DRIVES);
		goto out;
	}
	drive_apply(&c, &cfg->drives[slot], &st);
	if (slot == cfg->nr_drives)
		cfg->nr_drives++;
out:
	ctx_release(&c);
	return ret;
}

int config_parse_drive_update(json_t *obj, const char *path_id, const struct vm_config *cfg,
			      unsigned int *index, char **path, struct config_error *err)
{
	static const struct field fields[] = {
		{ .name = "drive_id",
		  .type = FT_CUSTOM,
		  .flags = F_REQUIRED,
		  .parse = parse_drive_id },
		{ .name = "path_on_host",
		  .type = FT_STRING,
		  .flags = F_NONEMPTY,
		  .offset = offsetof(struct drive_stage, path) },
		{ .name = "rate_limiter", .type = FT_CUSTOM, .parse = parse_rate_limiter },
	};
	struct drive_stage st = { 0 };
	struct ctx c;
	char id[80];

	*path = NULL;
	ctx_init(&c, err, NULL, 0);
	int ret = parse_object(&c, obj, fields, ARRAY_SIZE(fields), &st, NULL);
	if (ret < 0)
		goto out;
	ret = check_url_drive_id(&c, st.id, path_id);
	if (ret < 0)
		goto out;
	ret = -ENOENT;
	for (unsigned int i = 0; i < cfg->nr_drives; i++) {
		if (strcmp(cfg->drives[i].drive_id, st.id) == 0) {
			*index = i;
			ret = 0;
		}
	}
	if (ret < 0) {
		push_key(&c, "drive_id");
		fail(&c, AT_VALUE, "no drive %s is configured", quote(id, sizeof(id), st.id));
		goto out;
	}
	if (st.path)
		take(&c, path, st.path);
out:
	ctx_release(&c);
	return ret;
}

int config_parse_logger(json_t *obj, struct vm_config *cfg, struct config_error *err)
{
	struct logger_stage st;
	uint32_t seen;
	struct ctx c;
	ctx_init(&c, err, NULL, 0);
	int ret = logger_parse(&c, obj, &st, &seen);
	if (ret == 0)
		logger_apply(&c, cfg, &st, seen);
	ctx_release(&c);
	return ret;
}

int config_parse_metrics(json_t *obj, struct vm_config *cfg, struct config_error *err)
{
	struct metrics_stage st;
	struct ctx c;
	ctx_init(&c, err, NULL, 0);
	int ret = metrics_parse(&c, obj, &st);
	if (ret == 0)
		metrics_apply(&c, cfg, &st);
	ctx_release(&c);
	return ret;
}

int config_parse_ebb(json_t *obj, struct vm_config *cfg, struct config_error *err)
{
	struct ebb_stage st;
	uint32_t seen;
	struct ctx c;
	ctx_init(&c, err, NULL, 0);
	int ret = ebb_parse(&c, obj, cfg, &st, &seen);
	if (ret == 0)
		ret = ebb_check_memory(&c, &st, seen, st.backing, st.thp, cfg->mem_mib);
	if (ret == 0)
		ebb_apply(cfg, &st, seen);
	ctx_release(&c);
	return ret;
}
