// SPDX-License-Identifier: GPL-2.0
/*
 * Finds JSON nodes in source text by path, for error positions. This is a
 * scanner, not a parser: jansson has already accepted the text, so it only
 * tracks structure, decodes keys to compare them, and counts lines and
 * columns the way jansson does. Every read is bounds-checked, so text that
 * is not JSON makes it fail rather than misbehave.
 */
#include "base/json_locate.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct cursor {
	const char *s;
	size_t len;
	size_t pos;
	int line;
	int chars; /* characters consumed on this line */
};

/* Where decoded string bytes go: compared with want, copied to out, or both. */
struct str_sink {
	const char *want;
	size_t matched;
	bool mismatch;
	char *out;
	size_t cap;
	size_t n;
};

static void cursor_init(struct cursor *c, const char *text, size_t len)
{
	*c = (struct cursor){ .s = text, .len = len, .line = 1 };
}

static int peek(const struct cursor *c)
{
	return c->pos < c->len ? (unsigned char)c->s[c->pos] : -1;
}

static void advance(struct cursor *c)
{
	unsigned char b = c->s[c->pos++];
	if (b == '\n') {
		c->line++;
		c->chars = 0;
	} else if ((b & 0xc0) != 0x80) {
		c->chars++;
	}
}

static struct json_pos here(const struct cursor *c)
{
	return (struct json_pos){ .line = c->line, .column = c->chars + 1, .offset = c->pos };
}

static void skip_ws(struct cursor *c)
{
	for (;;) {
		int ch = peek(c);
		if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
			return;
		advance(c);
	}
}

static void sink_byte(struct str_sink *k, unsigned char b)
{
	if (!k)
		return;
	if (k->want && !k->mismatch) {
		if (k->want[k->matched] != '\0' && (unsigned char)k->want[k->matched] == b)
			k->matched++;
		else
			k->mismatch = true;
	}
	if (k->out && k->n + 1 < k->cap) {
		k->out[k->n++] = (char)b;
		k->out[k->n] = '\0';
	}
}

static void sink_code_point(struct str_sink *k, uint32_t cp)
{
	if (cp < 0x80) {
		sink_byte(k, cp);
	} else if (cp < 0x800) {
		sink_byte(k, 0xc0 | (cp >> 6));
		sink_byte(k, 0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		sink_byte(k, 0xe0 | (cp >> 12));
		sink_byte(k, 0x80 | ((cp >> 6) & 0x3f));
		sink_byte(k, 0x80 | (cp & 0x3f));
	} else {
		sink_byte(k, 0xf0 | (cp >> 18));
		sink_byte(k, 0x80 | ((cp >> 12) & 0x3f));
		sink_byte(k, 0x80 | ((cp >> 6) & 0x3f));
		sink_byte(k, 0x80 | (cp & 0x3f));
	}
}

static bool sink_matched(const struct str_sink *k)
{
	return !k->mismatch && k->want[k->matched] == '\0';
}

static bool scan_hex4(struct cursor *c, uint32_t *value)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		int ch = peek(c);
		if (ch >= '0' && ch <= '9')
			v = v << 4 | (uint32_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v = v << 4 | (uint32_t)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			v = v << 4 | (uint32_t)(ch - 'A' + 10);
		else
			return false;
		advance(c);
	}
	*value = v;
	return true;
}

/* Decodes the escape after a backslash into one code point. */
static bool scan_escape(struct cursor *c, uint32_t *cp)
{
	static const char from[] = "\"\\/bfnrt";
	static const char to[] = "\"\\/\b\f\n\r\t";
	int ch = peek(c);
	if (ch < 0)
		return false;
	advance(c);
	if (ch != 'u') {
		const char *p = ch ? strchr(from, ch) : NULL;
		if (!p)
			return false;
		*cp = (unsigned char)to[p - from];
		return true;
	}
	if (!scan_hex4(c, cp))
		return false;
	/* A high surrogate followed by an escaped low one is one code point. */
	if (*cp >= 0xd800 && *cp < 0xdc00 && c->pos + 1 < c->len && c->s[c->pos] == '\\' &&
	    c->s[c->pos + 1] == 'u') {
		struct cursor save = *c;
		uint32_t low;
		advance(c);
		advance(c);
		if (scan_hex4(c, &low) && low >= 0xdc00 && low < 0xe000)
			*cp = 0x10000 + ((*cp - 0xd800) << 10) + (low - 0xdc00);
		else
			*c = save;
	}
	return true;
}

/* Scans a string token starting at its opening quote, feeding its bytes to k. */
static bool scan_string(struct cursor *c, struct str_sink *k)
{
	if (peek(c) != '"')
		return false;
	advance(c);
	for (;;) {
		int ch = peek(c);
		if (ch < 0)
			return false;
		advance(c);
		if (ch == '"')
			return true;
		if (ch != '\\') {
			sink_byte(k, ch);
			continue;
		}
		uint32_t cp;
		if (!scan_escape(c, &cp))
			return false;
		sink_code_point(k, cp);
	}
}

/* A number or literal: everything up to a delimiter. */
static bool skip_scalar(struct cursor *c)
{
	size_t start = c->pos;
	for (;;) {
		int ch = peek(c);
		if (ch < 0 || strchr(" \t\r\n,:[]{}\"", ch))
			break;
		advance(c);
	}
	return c->pos > start;
}

/* Skips one value of any kind without recursion. */
static bool skip_value(struct cursor *c)
{
	size_t depth = 0;
	do {
		skip_ws(c);
		int ch = peek(c);
		if (ch < 0)
			return false;
		if (ch == '"') {
			if (!scan_string(c, NULL))
				return false;
		} else if (ch == '{' || ch == '[') {
			depth++;
			advance(c);
		} else if (ch == '}' || ch == ']' || ch == ',' || ch == ':') {
			if (depth == 0)
				return false;
			if (ch == '}' || ch == ']')
				depth--;
			advance(c);
		} else if (!skip_scalar(c)) {
			return false;
		}
	} while (depth > 0);
	return true;
}

/* Moves to the value of member key in the object at the cursor. */
static bool enter_member(struct cursor *c, const char *key, struct json_pos *key_pos)
{
	if (peek(c) != '{')
		return false;
	advance(c);
	for (;;) {
		skip_ws(c);
		*key_pos = here(c);
		struct str_sink k = { .want = key };
		if (!scan_string(c, &k))
			return false;
		skip_ws(c);
		if (peek(c) != ':')
			return false;
		advance(c);
		skip_ws(c);
		if (sink_matched(&k))
			return true;
		if (!skip_value(c))
			return false;
		skip_ws(c);
		if (peek(c) != ',')
			return false;
		advance(c);
	}
}

/* Moves to element index of the array at the cursor. */
static bool enter_element(struct cursor *c, size_t index)
{
	if (peek(c) != '[')
		return false;
	advance(c);
	for (size_t i = 0; i < index; i++) {
		if (!skip_value(c))
			return false;
		skip_ws(c);
		if (peek(c) != ',')
			return false;
		advance(c);
	}
	skip_ws(c);
	return peek(c) >= 0 && peek(c) != ']';
}

int json_locate(const char *text, size_t len, const struct json_seg *path, size_t n, bool key,
		struct json_pos *pos)
{
	struct cursor c;
	cursor_init(&c, text, len);
	skip_ws(&c);
	for (size_t i = 0; i < n; i++) {
		struct json_pos key_pos;
		if (!path[i].key) {
			if (!enter_element(&c, path[i].index))
				return -ENOENT;
			continue;
		}
		if (!enter_member(&c, path[i].key, &key_pos))
			return -ENOENT;
		if (key && i + 1 == n) {
			*pos = key_pos;
			return 0;
		}
	}
	if (key || peek(&c) < 0)
		return -ENOENT;
	*pos = here(&c);
	return 0;
}

void json_path_append(char *buf, size_t buf_len, const struct json_seg *seg)
{
	size_t n = strnlen(buf, buf_len);
	if (n + 1 >= buf_len)
		return;
	if (!seg->key) {
		snprintf(buf + n, buf_len - n, "[%zu]", seg->index);
		return;
	}
	if (n > 0)
		buf[n++] = '.';
	for (const char *p = seg->key; *p && n + 1 < buf_len; p++) {
		unsigned char b = *p;
		buf[n++] = b < 0x20 || b == 0x7f ? '?' : (char)b;
	}
	buf[n] = '\0';
}

struct frame {
	bool object;
	size_t index;	/* current element of an array */
	size_t key_pos; /* offset of the current member's key in an object */
};

static void render_path(const char *text, size_t len, const struct frame *st, size_t depth,
			char *buf, size_t buf_len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < depth; i++) {
		char key[256] = "";
		struct json_seg seg = { .index = st[i].index };
		if (st[i].object) {
			struct cursor c;
			cursor_init(&c, text, len);
			c.pos = st[i].key_pos;
			struct str_sink k = { .out = key, .cap = sizeof(key) };
			scan_string(&c, &k);
			seg.key = key;
		}
		json_path_append(buf, buf_len, &seg);
	}
}

int json_locate_key_ending_at(const char *text, size_t len, size_t end, char *buf, size_t buf_len,
			      struct json_pos *pos)
{
	struct frame st[JSON_LOCATE_MAX_DEPTH];
	size_t depth = 0;
	bool want_key = false;
	struct cursor c;
	cursor_init(&c, text, len);

	if (buf_len == 0)
		return -ENOENT;
	for (skip_ws(&c); peek(&c) >= 0; skip_ws(&c)) {
		int ch = peek(&c);
		if (ch == '{' || ch == '[') {
			if (depth == JSON_LOCATE_MAX_DEPTH)
				return -ENOENT;
			st[depth++] = (struct frame){ .object = ch == '{' };
			want_key = ch == '{';
			advance(&c);
		} else if (ch == '}' || ch == ']') {
			if (depth == 0)
				return -ENOENT;
			depth--;
			want_key = false;
			advance(&c);
		} else if (ch == ',') {
			if (depth == 0)
				return -ENOENT;
			if (st[depth - 1].object)
				want_key = true;
			else
				st[depth - 1].index++;
			advance(&c);
		} else if (ch == ':') {
			advance(&c);
		} else if (ch == '"') {
			struct json_pos start = here(&c);
			if (!scan_string(&c, NULL))
				return -ENOENT;
			if (!want_key || depth == 0)
				continue;
			want_key = false;
			st[depth - 1].key_pos = start.offset;
			if (c.pos == end) {
				render_path(text, len, st, depth, buf, buf_len);
				*pos = start;
				return 0;
			}
		} else if (!skip_scalar(&c)) {
			return -ENOENT;
		}
	}
	return -ENOENT;
}
