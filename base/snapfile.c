// SPDX-License-Identifier: GPL-2.0
/* The snapshot state file's container: header, sections, CRC-32C trailer. */
#include "base/snapfile.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

_Static_assert(sizeof(struct snapfile_header) == SNAPFILE_HEADER_LEN, "header layout");
_Static_assert(sizeof(struct snapfile_section) == SNAPFILE_SECTION_LEN, "section layout");

/* CRC-32C (Castagnoli), reflected, as iSCSI and ext4 use it. */
static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t snapfile_crc32c(uint32_t crc, const void *data, size_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	const uint8_t *p = data;
	pthread_once(&once, crc_init);
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static int grow(struct snapfile_writer *w, size_t need)
{
	if (w->error)
		return w->error;
	if (need > SNAPFILE_MAX_SIZE || w->len + need > SNAPFILE_MAX_SIZE)
		return w->error = -EFBIG;
	if (w->len + need <= w->cap)
		return 0;
	size_t cap = w->cap ? w->cap : 4096;
	while (cap < w->len + need)
		cap *= 2;
	uint8_t *data = realloc(w->data, cap);
	if (!data)
		return w->error = -ENOMEM;
	w->data = data;
	w->cap = cap;
	return 0;
}

int snapfile_writer_init(struct snapfile_writer *w, const char *arch, uint32_t flags)
{
	memset(w, 0, sizeof(*w));
	if (strlen(arch) >= SNAPFILE_ARCH_LEN)
		return w->error = -EINVAL;
	int ret = grow(w, SNAPFILE_HEADER_LEN);
	if (ret < 0)
		return ret;
	struct snapfile_header h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, SNAPFILE_MAGIC, sizeof(h.magic));
	h.version = SNAPFILE_VERSION;
	h.header_len = SNAPFILE_HEADER_LEN;
	memcpy(h.arch, arch, strlen(arch));
	h.flags = flags;
	memcpy(w->data, &h, sizeof(h));
	w->len = SNAPFILE_HEADER_LEN;
	return 0;
}

int snapfile_add(struct snapfile_writer *w, uint32_t tag, uint32_t index, const void *data,
		 size_t len)
{
	size_t padded = ALIGN_UP(len, (size_t)8);
	if (padded < len)
		return w->error = -EFBIG;
	int ret = grow(w, SNAPFILE_SECTION_LEN + padded);
	if (ret < 0)
		return ret;
	struct snapfile_section s = { .tag = tag, .index = index, .len = len };
	memcpy(w->data + w->len, &s, sizeof(s));
	w->len += sizeof(s);
	if (len)
		memcpy(w->data + w->len, data, len);
	memset(w->data + w->len + len, 0, padded - len);
	w->len += padded;
	w->nr_sections++;
	return 0;
}

int snapfile_finish(struct snapfile_writer *w, const uint8_t **data, size_t *len)
{
	int ret = grow(w, SNAPFILE_TRAILER_LEN);
	if (ret < 0)
		return ret;
	struct snapfile_header h;
	memcpy(&h, w->data, sizeof(h));
	h.file_size = w->len + SNAPFILE_TRAILER_LEN;
	h.nr_sections = w->nr_sections;
	memcpy(w->data, &h, sizeof(h));
	uint32_t trailer[2] = { snapfile_crc32c(0, w->data, w->len), SNAPFILE_END_MAGIC };
	memcpy(w->data + w->len, trailer, sizeof(trailer));
	w->len += sizeof(trailer);
	*data = w->data;
	*len = w->len;
	return 0;
}

void snapfile_writer_free(struct snapfile_writer *w)
{
	free(w->data);
	memset(w, 0, sizeof(*w));
}

/* The architecture field as text: printable characters up to the first NUL. */
static void arch_text(const char in[SNAPFILE_ARCH_LEN], char out[SNAPFILE_ARCH_LEN + 1])
{
	size_t i = 0;
	for (; i < SNAPFILE_ARCH_LEN && in[i]; i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
	out[i] = '\0';
}

/* Walks the sections: each must fit, and they must end exactly at the trailer. */
static int check_sections(const struct snapfile *f, char *err, size_t errlen)
{
	size_t pos = SNAPFILE_HEADER_LEN, end = f->len - SNAPFILE_TRAILER_LEN;
	for (uint32_t i = 0; i < f->nr_sections; i++) {
		struct snapfile_section s;
		if (end - pos < SNAPFILE_SECTION_LEN)
			return errmsg(err, errlen, -EINVAL,
				      "section %u of %u starts past the end of the file", i + 1,
				      f->nr_sections);
		memcpy(&s, f->data + pos, sizeof(s));
		pos += SNAPFILE_SECTION_LEN;
		if (s.len > end - pos || ALIGN_UP(s.len, 8ull) > end - pos)
			return errmsg(
				err, errlen, -EINVAL,
				"section %u of %u claims %llu bytes, more than the file holds",
				i + 1, f->nr_sections, (unsigned long long)s.len);
		pos += ALIGN_UP(s.len, 8ull);
	}
	if (pos != end)
		return errmsg(err, errlen, -EINVAL, "%zu bytes after the last section", end - pos);
	return 0;
}

int snapfile_open(struct snapfile *f, const void *data, size_t len, const char *arch, char *err,
		  size_t errlen)
{
	struct snapfile_header h;
	memset(f, 0, sizeof(*f));
	if (len == 0)
		return errmsg(err, errlen, -EINVAL, "the file is empty");
	if (len < sizeof(h.magic) && memcmp(data, SNAPFILE_MAGIC, len) == 0)
		return errmsg(err, errlen, -EINVAL, "truncated: %zu bytes", len);
	if (len < sizeof(h.magic) || memcmp(data, SNAPFILE_MAGIC, sizeof(h.magic)) != 0)
		return errmsg(err, errlen, -EINVAL, "not an ebb snapshot (no \"EBBSNAP\" magic)");
	if (len < SNAPFILE_HEADER_LEN)
		return errmsg(err, errlen, -EINVAL,
			      "truncated: %zu bytes, shorter than the %d-byte header", len,
			      SNAPFILE_HEADER_LEN);
	memcpy(&h, data, sizeof(h));
	if (h.version != SNAPFILE_VERSION)
		return errmsg(err, errlen, -EPROTONOSUPPORT,
			      "snapshot format version %u; this ebb reads version %d", h.version,
			      SNAPFILE_VERSION);
	if (h.header_len != SNAPFILE_HEADER_LEN)
		return errmsg(err, errlen, -EINVAL, "header size %u, want %d", h.header_len,
			      SNAPFILE_HEADER_LEN);
	arch_text(h.arch, f->arch);
	if (strncmp(h.arch, arch, SNAPFILE_ARCH_LEN) != 0)
		return errmsg(err, errlen, -EXDEV,
			      "the snapshot was made on %s; this ebb runs %s VMs", f->arch, arch);
	if (h.file_size != len)
		return errmsg(err, errlen, -EINVAL,
			      h.file_size > len
				      ? "truncated: %zu bytes of the %llu the header names"
				      : "%zu bytes, but the header names %llu",
			      len, (unsigned long long)h.file_size);
	if (len < SNAPFILE_HEADER_LEN + SNAPFILE_TRAILER_LEN)
		return errmsg(err, errlen, -EINVAL, "truncated: no room for the trailer");
	uint32_t trailer[2];
	memcpy(trailer, (const uint8_t *)data + len - SNAPFILE_TRAILER_LEN, sizeof(trailer));
	if (trailer[1] != SNAPFILE_END_MAGIC)
		return errmsg(err, errlen, -EINVAL, "damaged: the trailer is missing");
	uint32_t crc = snapfile_crc32c(0, data, len - SNAPFILE_TRAILER_LEN);
	if (crc != trailer[0])
		return errmsg(
			err, errlen, -EINVAL,
			"damaged: checksum 0x%08x, the file says 0x%08x (the file was changed "
			"or corrupted)",
			crc, trailer[0]);
	f->data = data;
	f->len = len;
	f->flags = h.flags;
	f->nr_sections = h.nr_sections;
	return check_sections(f, err, errlen);
}

int snapfile_find(const struct snapfile *f, uint32_t tag, uint32_t index, const void **data,
		  size_t *len)
{
	size_t pos = SNAPFILE_HEADER_LEN;
	for (uint32_t i = 0; i < f->nr_sections; i++) {
		struct snapfile_section s;
		memcpy(&s, f->data + pos, sizeof(s));
		pos += SNAPFILE_SECTION_LEN;
		if (s.tag == tag && s.index == index) {
			*data = f->data + pos;
			*len = s.len;
			return 0;
		}
		pos += ALIGN_UP(s.len, 8ull);
	}
	return -ENOENT;
}

unsigned int snapfile_count(const struct snapfile *f, uint32_t tag)
{
	size_t pos = SNAPFILE_HEADER_LEN;
	unsigned int n = 0;
	for (uint32_t i = 0; i < f->nr_sections; i++) {
		struct snapfile_section s;
		memcpy(&s, f->data + pos, sizeof(s));
		n += s.tag == tag;
		pos += SNAPFILE_SECTION_LEN + ALIGN_UP(s.len, 8ull);
	}
	return n;
}
