// SPDX-License-Identifier: GPL-2.0
#include "base/state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_HEADER 8

void state_writer_init(struct state_stream *s)
{
	memset(s, 0, sizeof(*s));
}

void state_reader_init(struct state_stream *s, const void *data, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->data = (uint8_t *)data;
	s->len = len;
}

void state_free(struct state_stream *s)
{
	if (s->cap)
		free(s->data);
	memset(s, 0, sizeof(*s));
}

static int grow(struct state_stream *s, size_t need)
{
	if (s->len + need <= s->cap)
		return 0;
	size_t cap = s->cap ? s->cap : 256;
	while (cap < s->len + need)
		cap *= 2;
	uint8_t *data = realloc(s->data, cap);
	if (!data)
		return -ENOMEM;
	s->data = data;
	s->cap = cap;
	return 0;
}

int state_put(struct state_stream *s, uint32_t tag, const void *data, uint32_t len)
{
	if (s->error)
		return s->error;
	if (grow(s, RECORD_HEADER + (size_t)len) < 0)
		return s->error = -ENOMEM;
	memcpy(s->data + s->len, &tag, 4);
	memcpy(s->data + s->len + 4, &len, 4);
	if (len)
		memcpy(s->data + s->len + RECORD_HEADER, data, len);
	s->len += RECORD_HEADER + (size_t)len;
	return 0;
}

int state_get(struct state_stream *s, uint32_t tag, void *data, uint32_t len)
{
	uint32_t got_tag, got_len;
	if (s->error)
		return s->error;
	if (s->len - s->pos < RECORD_HEADER)
		return s->error = -ENODATA;
	memcpy(&got_tag, s->data + s->pos, 4);
	memcpy(&got_len, s->data + s->pos + 4, 4);
	if (got_tag != tag || got_len != len)
		return s->error = -EPROTO;
	if (s->len - s->pos - RECORD_HEADER < len)
		return s->error = -ENODATA;
	memcpy(data, s->data + s->pos + RECORD_HEADER, len);
	s->pos += RECORD_HEADER + (size_t)len;
	return 0;
}

bool state_at_end(const struct state_stream *s)
{
	return !s->error && s->pos == s->len;
}
