/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_STATE_H
#define EBB_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Saved device and vCPU state: a byte stream of records, each a 32-bit tag,
 * a 32-bit length and that many bytes, little-endian as the host is. A
 * reader takes records in the order they were written and refuses a record
 * whose tag or length is not the one asked for, so a state of another
 * layout fails loudly instead of restoring garbage.
 */

struct state_stream {
	uint8_t *data;
	size_t len; /* bytes written, or the size of what is read */
	size_t cap;
	size_t pos; /* the reader's position */
	int error;  /* the first error, sticky: later calls do nothing */
};

/* An empty stream to write to; free with state_free(). */
void state_writer_init(struct state_stream *s);
/* Reads data[0..len) (not copied; must outlive the stream). */
void state_reader_init(struct state_stream *s, const void *data, size_t len);
void state_free(struct state_stream *s);

int state_put(struct state_stream *s, uint32_t tag, const void *data, uint32_t len);
int state_get(struct state_stream *s, uint32_t tag, void *data, uint32_t len);

static inline int state_put_u64(struct state_stream *s, uint32_t tag, uint64_t v)
{
	return state_put(s, tag, &v, sizeof(v));
}

static inline int state_get_u64(struct state_stream *s, uint32_t tag, uint64_t *v)
{
	return state_get(s, tag, v, sizeof(*v));
}

/* Four characters as a tag: STATE_TAG('B','L','N','1'). */
#define STATE_TAG(a, b, c, d) \
	((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

/* True when every record was read. */
bool state_at_end(const struct state_stream *s);

#endif
