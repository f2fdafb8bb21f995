// SPDX-License-Identifier: GPL-2.0
/* A stage back to the JSON object it would parse from (snapshots keep their config this way). */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/schema.h"

/*
 * An optional number below its minimum cannot have been parsed: it is the
 * stage's "not given" (a net interface's mtu 0), and is left out so the
 * document parses again.
 */
static bool unset(const struct schema_field *f, int64_t v)
{
	return !(f->flags & SCHEMA_REQUIRED) && f->min > 0 && v < f->min;
}

static json_t *field_value(const struct schema_field *f, const void *stage)
{
	const void *at = (const uint8_t *)stage + f->offset;
	switch (f->type) {
	case SCHEMA_STRING: {
		const char *str = *(char *const *)at;
		return str ? json_string(str) : NULL;
	}
	case SCHEMA_BOOL:
		return json_boolean(*(const bool *)at);
	case SCHEMA_U32:
		return unset(f, *(const uint32_t *)at) ? NULL : json_integer(*(const uint32_t *)at);
	case SCHEMA_I64:
		return unset(f, *(const int64_t *)at) ? NULL : json_integer(*(const int64_t *)at);
	case SCHEMA_CHOICE: {
		int i = *(const int *)at;
		for (int k = 0; f->choices[k]; k++)
			if (k == i)
				return json_string(f->choices[k]);
		return NULL;
	}
	case SCHEMA_CUSTOM:
		if (f->dump)
			return f->dump(stage);
		if (f->flags & SCHEMA_OWNS_STR) {
			const char *str = *(char *const *)at;
			return str ? json_string(str) : NULL;
		}
		return NULL;
	}
	return NULL;
}

json_t *schema_dump(const struct schema *s, const void *stage)
{
	json_t *obj = json_object();
	if (!obj)
		return NULL;
	for (size_t i = 0; i < s->nr_fields; i++) {
		const struct schema_field *f = &s->fields[i];
		if (f->flags & SCHEMA_IGNORE)
			continue;
		json_t *v = field_value(f, stage);
		if (v && json_object_set_new(obj, f->name, v) < 0) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}
