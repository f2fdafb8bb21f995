/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_JSON_LOCATE_H
#define EBB_JSON_LOCATE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * jansson keeps no source positions, so config errors find the offending
 * node again in the text. The text must be JSON that jansson accepted; on
 * anything else these functions fail cleanly but never read out of bounds.
 *
 * Positions match jansson's: 1-based lines counted at '\n', 1-based columns
 * counted in Unicode characters (UTF-8 continuation bytes do not count).
 */

/* Containers deeper than this are not searched. */
#define JSON_LOCATE_MAX_DEPTH 64

struct json_seg {
	const char *key; /* object member (decoded, UTF-8); NULL for an array element */
	size_t index;
};

struct json_pos {
	int line;
	int column;
	size_t offset; /* byte offset in the text */
};

/*
 * Finds the value at path[0..n) (n == 0: the document itself). With key set,
 * the last segment must name an object member and the position is that of
 * its key's opening quote. Returns 0 or -ENOENT.
 */
int json_locate(const char *text, size_t len, const struct json_seg *path, size_t n, bool key,
		struct json_pos *pos);

/*
 * Finds the object key whose token ends (after its closing quote) at byte
 * offset end: where jansson stops for a duplicate key. Writes its path as
 * "a.b[2].c" into buf (truncated to fit) and the key's position.
 * Returns 0 or -ENOENT.
 */
int json_locate_key_ending_at(const char *text, size_t len, size_t end, char *buf, size_t buf_len,
			      struct json_pos *pos);

/*
 * Appends a path segment to the NUL-terminated path in buf: ".key" (or
 * "key" at the start) or "[index]". Control and non-ASCII-safe bytes are
 * kept printable. Truncates to fit.
 */
void json_path_append(char *buf, size_t buf_len, const struct json_seg *seg);

#endif
