/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_SCHEMA_H
#define EBB_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/json_locate.h"

/*
 * Strict JSON objects checked against field tables. Config files, the
 * command line and API bodies all go through here, so a limit or a message
 * exists once. Unknown keys, wrong types, fractions, values out of range and
 * missing required fields are errors, reported once with the JSON path and,
 * when the source text is known, its line and column.
 *
 * A table parses into a "stage", a struct the table's offsets point into.
 * Strings are copied into the context while parsing and belong to it until
 * schema_take_strings() hands them to the stage, so a failed parse leaks
 * nothing and changes nothing the caller kept.
 */

struct json_t;

struct schema_error {
	char message[512]; /* the reason, without path or position */
	int line;	   /* 1-based, in the text; 0 when there is none */
	int column;	   /* 1-based, in characters like jansson's */
	/* "machine-config.vcpu_count", "drives[1].drive_id"; "" is the document */
	char path[256];
};

#define SCHEMA_MAX_DEPTH 8

struct schema_ctx {
	struct schema_error *err;
	const char *text; /* source text for positions; NULL for API bodies */
	size_t len;
	bool partial; /* PATCH: required fields may be absent */
	size_t depth;
	struct json_seg path[SCHEMA_MAX_DEPTH];
	char **strs; /* copies made while parsing; NULL once taken */
	size_t nr_strs;
	size_t cap_strs;
};

/* Where an error points: the value at the path, its key, or the enclosing object. */
enum schema_where {
	SCHEMA_AT_VALUE,
	SCHEMA_AT_KEY,
	SCHEMA_AT_PARENT,
};

enum schema_type {
	SCHEMA_STRING, /* char *, copied */
	SCHEMA_BOOL,
	SCHEMA_U32,
	SCHEMA_I64,
	SCHEMA_CHOICE, /* int: index into choices */
	SCHEMA_CUSTOM,
};

#define SCHEMA_REQUIRED	  0x1u
#define SCHEMA_NONEMPTY	  0x2u	/* strings */
#define SCHEMA_FALSE_ONLY 0x4u	/* booleans: true fails with .unsupported */
#define SCHEMA_IGNORE	  0x8u	/* checked, not stored */
#define SCHEMA_OWNS_STR	  0x10u /* a custom field that stores a char * at .offset */

struct schema_field {
	const char *name;
	enum schema_type type;
	unsigned int flags;
	size_t offset; /* into the stage */
	int64_t min, max;
	const char *const *choices; /* NULL-terminated */
	unsigned int supported;	    /* if non-zero, choices from here on fail with .unsupported */
	const char *unsupported;
	int (*parse)(struct schema_ctx *c, struct json_t *v, void *stage);
	/* A custom field's value as JSON (a new reference), for schema_dump(); NULL: left out. */
	struct json_t *(*dump)(const void *stage);
};

/* At most 32 fields: which ones a parse saw is a bit mask. */
struct schema {
	const struct schema_field *fields;
	size_t nr_fields;
};

#define SCHEMA_OF(table)                                    \
	{                                                   \
		(table), sizeof(table) / sizeof((table)[0]) \
	}

/* One object parsed against several tables, each into its own stage. */
struct schema_part {
	const struct schema *schema;
	void *stage;
	uint32_t seen; /* out: bit i for field i present and not null */
};

void schema_ctx_init(struct schema_ctx *c, struct schema_error *err, const char *text, size_t len);
void schema_ctx_release(struct schema_ctx *c);

void schema_push_key(struct schema_ctx *c, const char *key);
void schema_push_index(struct schema_ctx *c, size_t index);
void schema_pop(struct schema_ctx *c);

/* Fills the error at the current path; returns -EINVAL. */
int schema_fail(struct schema_ctx *c, enum schema_where where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int schema_fail_type(struct schema_ctx *c, const struct json_t *v, const char *want);
const char *schema_type_name(const struct json_t *v);
/* A string for a message: quoted, at most 64 bytes, control characters as '?'. */
const char *schema_quote(char *buf, size_t len, const char *s);
/* "\"A\" or \"B\"" or "one of \"A\", \"B\", \"C\"" */
void schema_choice_list(const char *const *choices, char *buf, size_t len);

int schema_get_int(struct schema_ctx *c, const struct json_t *v, int64_t min, int64_t max,
		   int64_t *out);
/* A copy of s owned by the context until taken. -ENOMEM with the error filled. */
int schema_strdup(struct schema_ctx *c, const char *s, char **out);
/* Hands a string copied by schema_strdup (or NULL) over to *dst, freeing what was there. */
void schema_take(struct schema_ctx *c, char **dst, char *s);

/*
 * Parses obj against the parts in document order. Optional fields that are
 * null count as absent; required ones must be present unless c->partial.
 */
int schema_parse_parts(struct schema_ctx *c, struct json_t *obj, struct schema_part *parts,
		       size_t nr_parts);
int schema_parse(struct schema_ctx *c, struct json_t *obj, const struct schema *s, void *stage,
		 uint32_t *seen);

bool schema_has(const struct schema *s, uint32_t seen, const char *name);

/* The strings a parse stored in stage now belong to stage. */
void schema_take_strings(struct schema_ctx *c, const struct schema *s, void *stage);
/* Frees the strings stage owns and clears them. */
void schema_free_strings(const struct schema *s, void *stage);
/* dst = src with its own copies of src's strings; dst's old strings are not freed. */
int schema_copy(const struct schema *s, void *dst, const void *src, size_t size);

/*
 * One line, no newline:  "FILE:LINE:COL: PATH: MESSAGE".  Parts that are
 * unknown are left out: no file (API bodies) gives "PATH: MESSAGE", no line
 * gives "FILE: PATH: MESSAGE", an empty path gives "FILE:LINE:COL: MESSAGE".
 */
void schema_error_format(const struct schema_error *e, const char *file, char *buf, size_t len);

/*
 * The object a parse of stage would have come from, the way a config file
 * writes it (schema_dump.c): every stored field, custom ones through their
 * dump (or as a string with SCHEMA_OWNS_STR); unset strings and ignored
 * fields are left out. NULL when out of memory.
 */
struct json_t *schema_dump(const struct schema *s, const void *stage);

/* JSON text to a value, duplicate keys refused; NULL with *err at the fault. */
struct json_t *schema_json_load(const char *text, size_t len, struct schema_error *err);

#endif
