// SPDX-License-Identifier: GPL-2.0
#include "base/schema.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

void schema_ctx_init(struct schema_ctx *c, struct schema_error *err, const char *text, size_t len)
{
	*c = (struct schema_ctx){ .err = err, .text = text, .len = len };
	memset(err, 0, sizeof(*err));
}

void schema_ctx_release(struct schema_ctx *c)
{
	for (size_t i = 0; i < c->nr_strs; i++)
		free(c->strs[i]);
	free(c->strs);
	c->strs = NULL;
	c->nr_strs = c->cap_strs = 0;
}

void schema_push_key(struct schema_ctx *c, const char *key)
{
	if (c->depth < SCHEMA_MAX_DEPTH)
		c->path[c->depth] = (struct json_seg){ .key = key };
	c->depth++;
}

void schema_push_index(struct schema_ctx *c, size_t index)
{
	if (c->depth < SCHEMA_MAX_DEPTH)
		c->path[c->depth] = (struct json_seg){ .index = index };
	c->depth++;
}

void schema_pop(struct schema_ctx *c)
{
	c->depth--;
}

int schema_fail(struct schema_ctx *c, enum schema_where where, const char *fmt, ...)
{
	struct schema_error *e = c->err;
	size_t depth = MIN(c->depth, (size_t)SCHEMA_MAX_DEPTH);
	va_list ap;

	memset(e, 0, sizeof(*e));
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < depth; i++)
		json_path_append(e->path, sizeof(e->path), &c->path[i]);
	if (c->text) {
		size_t n = where == SCHEMA_AT_PARENT && depth > 0 ? depth - 1 : depth;
		struct json_pos pos;
		if (json_locate(c->text, c->len, c->path, n, where == SCHEMA_AT_KEY, &pos) == 0) {
			e->line = pos.line;
			e->column = pos.column;
		}
	}
	return -EINVAL;
}

int schema_strdup(struct schema_ctx *c, const char *s, char **out)
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
	schema_fail(c, SCHEMA_AT_VALUE, "out of memory");
	return -ENOMEM;
}

void schema_take(struct schema_ctx *c, char **dst, char *s)
{
	for (size_t i = 0; s && i < c->nr_strs; i++) {
		if (c->strs[i] == s)
			c->strs[i] = NULL;
	}
	free(*dst);
	*dst = s;
}

const char *schema_quote(char *buf, size_t len, const char *s)
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

const char *schema_type_name(const json_t *v)
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

int schema_fail_type(struct schema_ctx *c, const json_t *v, const char *want)
{
	return schema_fail(c, SCHEMA_AT_VALUE, "must be %s, got %s", want, schema_type_name(v));
}

int schema_get_int(struct schema_ctx *c, const json_t *v, int64_t min, int64_t max, int64_t *out)
{
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d > -1e15 && d < 1e15 && (double)(long long)d == d)
			return schema_fail(c, SCHEMA_AT_VALUE, "must be an integer, got %.1f", d);
		return schema_fail(c, SCHEMA_AT_VALUE, "must be an integer, got %g", d);
	}
	if (!json_is_integer(v))
		return schema_fail_type(c, v, "an integer");
	long long x = json_integer_value(v);
	if (x >= min && x <= max) {
		*out = x;
		return 0;
	}
	if (x < 0 && min == 0)
		return schema_fail(c, SCHEMA_AT_VALUE, "must not be negative, got %lld", x);
	if (max == UINT32_MAX || max == INT64_MAX)
		return schema_fail(c, SCHEMA_AT_VALUE, "must be %s %lld, got %lld",
				   x < min ? "at least" : "at most",
				   (long long)(x < min ? min : max), x);
	return schema_fail(c, SCHEMA_AT_VALUE, "must be %lld..%lld, got %lld", (long long)min,
			   (long long)max, x);
}

static size_t field_index(const struct schema *s, const char *name)
{
	size_t i = 0;
	while (i < s->nr_fields && strcmp(s->fields[i].name, name) != 0)
		i++;
	return i;
}

bool schema_has(const struct schema *s, uint32_t seen, const char *name)
{
	size_t i = field_index(s, name);
	return i < s->nr_fields && (seen & (1u << i));
}

void schema_choice_list(const char *const *choices, char *buf, size_t len)
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

static int parse_choice(struct schema_ctx *c, const json_t *v, const char *const *choices, int *out)
{
	char list[160], got[80];
	if (!json_is_string(v))
		return schema_fail_type(c, v, "a string");
	const char *s = json_string_value(v);
	for (int i = 0; choices[i]; i++) {
		if (strcmp(s, choices[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	schema_choice_list(choices, list, sizeof(list));
	return schema_fail(c, SCHEMA_AT_VALUE, "must be %s, got %s", list,
			   schema_quote(got, sizeof(got), s));
}

static int parse_field(struct schema_ctx *c, const struct schema_field *f, json_t *v, void *stage)
{
	void *dst = (char *)stage + f->offset;
	int64_t x;
	int ret;

	switch (f->type) {
	case SCHEMA_STRING:
		if (!json_is_string(v))
			return schema_fail_type(c, v, "a string");
		if ((f->flags & SCHEMA_NONEMPTY) && json_string_length(v) == 0)
			return schema_fail(c, SCHEMA_AT_VALUE, "must not be empty");
		if (f->flags & SCHEMA_IGNORE)
			return 0;
		return schema_strdup(c, json_string_value(v), dst);
	case SCHEMA_BOOL:
		if (!json_is_boolean(v))
			return schema_fail_type(c, v, "a boolean");
		if (json_is_true(v) && (f->flags & SCHEMA_FALSE_ONLY))
			return schema_fail(c, SCHEMA_AT_VALUE, "%s", f->unsupported);
		*(bool *)dst = json_is_true(v);
		return 0;
	case SCHEMA_U32:
	case SCHEMA_I64:
		ret = schema_get_int(c, v, f->min, f->max, &x);
		if (ret < 0)
			return ret;
		if (f->type == SCHEMA_U32)
			*(uint32_t *)dst = (uint32_t)x;
		else
			*(int64_t *)dst = x;
		return 0;
	case SCHEMA_CHOICE:
		ret = parse_choice(c, v, f->choices, dst);
		if (ret == 0 && f->supported && *(int *)dst >= (int)f->supported)
			return schema_fail(c, SCHEMA_AT_VALUE, "%s", f->unsupported);
		return ret;
	case SCHEMA_CUSTOM:
		return f->parse(c, v, stage);
	}
	return -EINVAL;
}

static int fail_unknown_key(struct schema_ctx *c, const char *key, const struct schema_part *parts,
			    size_t nr_parts)
{
	char names[400] = "", got[80];
	size_t off = 0, total = 0;
	for (size_t p = 0; p < nr_parts; p++) {
		const struct schema *s = parts[p].schema;
		for (size_t j = 0; j < s->nr_fields && off < sizeof(names); j++, total++)
			off += snprintf(names + off, sizeof(names) - off, "%s%s", total ? ", " : "",
					s->fields[j].name);
	}
	return schema_fail(c, SCHEMA_AT_KEY, "unknown key %s; expected %s%s",
			   schema_quote(got, sizeof(got), key), total > 1 ? "one of " : "", names);
}

int schema_parse_parts(struct schema_ctx *c, json_t *obj, struct schema_part *parts,
		       size_t nr_parts)
{
	for (size_t p = 0; p < nr_parts; p++)
		parts[p].seen = 0;
	if (!json_is_object(obj))
		return schema_fail_type(c, obj, "an object");
	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
		const char *key = json_object_iter_key(it);
		json_t *v = json_object_iter_value(it);
		struct schema_part *part = NULL;
		size_t i = 0;
		for (size_t p = 0; p < nr_parts && !part; p++) {
			i = field_index(parts[p].schema, key);
			if (i < parts[p].schema->nr_fields)
				part = &parts[p];
		}
		schema_push_key(c, key);
		if (!part)
			return fail_unknown_key(c, key, parts, nr_parts);
		const struct schema_field *f = &part->schema->fields[i];
		if (!json_is_null(v) || (f->flags & SCHEMA_REQUIRED)) {
			int ret = parse_field(c, f, v, part->stage);
			if (ret < 0)
				return ret;
			part->seen |= 1u << i;
		}
		schema_pop(c);
	}
	for (size_t p = 0; p < nr_parts && !c->partial; p++) {
		const struct schema *s = parts[p].schema;
		for (size_t i = 0; i < s->nr_fields; i++) {
			if ((s->fields[i].flags & SCHEMA_REQUIRED) &&
			    !(parts[p].seen & (1u << i))) {
				schema_push_key(c, s->fields[i].name);
				return schema_fail(c, SCHEMA_AT_PARENT, "missing required field");
			}
		}
	}
	return 0;
}

int schema_parse(struct schema_ctx *c, json_t *obj, const struct schema *s, void *stage,
		 uint32_t *seen)
{
	struct schema_part part = { .schema = s, .stage = stage };
	int ret = schema_parse_parts(c, obj, &part, 1);
	if (ret == 0 && seen)
		*seen = part.seen;
	return ret;
}

static bool holds_string(const struct schema_field *f)
{
	return (f->type == SCHEMA_STRING && !(f->flags & SCHEMA_IGNORE)) ||
	       (f->flags & SCHEMA_OWNS_STR);
}

void schema_take_strings(struct schema_ctx *c, const struct schema *s, void *stage)
{
	for (size_t i = 0; i < s->nr_fields; i++) {
		if (!holds_string(&s->fields[i]))
			continue;
		char *str = *(char **)((char *)stage + s->fields[i].offset);
		for (size_t j = 0; str && j < c->nr_strs; j++) {
			if (c->strs[j] == str)
				c->strs[j] = NULL;
		}
	}
}

void schema_free_strings(const struct schema *s, void *stage)
{
	for (size_t i = 0; i < s->nr_fields; i++) {
		if (!holds_string(&s->fields[i]))
			continue;
		char **str = (char **)((char *)stage + s->fields[i].offset);
		free(*str);
		*str = NULL;
	}
}

int schema_copy(const struct schema *s, void *dst, const void *src, size_t size)
{
	memcpy(dst, src, size);
	for (size_t i = 0; i < s->nr_fields; i++) {
		if (!holds_string(&s->fields[i]))
			continue;
		char **str = (char **)((char *)dst + s->fields[i].offset);
		if (*str && !(*str = strdup(*str))) {
			for (size_t j = i + 1; j < s->nr_fields; j++) {
				if (holds_string(&s->fields[j]))
					*(char **)((char *)dst + s->fields[j].offset) = NULL;
			}
			schema_free_strings(s, dst);
			return -ENOMEM;
		}
	}
	return 0;
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

void schema_error_format(const struct schema_error *e, const char *file, char *buf, size_t len)
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

json_t *schema_json_load(const char *text, size_t len, struct schema_error *err)
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
