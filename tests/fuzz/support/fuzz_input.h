/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_FUZZ_INPUT_H
#define EBB_FUZZ_INPUT_H

/*
 * Reading a fuzz input as a stream of small decisions. Past the end every
 * read returns zeros, so a harness never has to check lengths: a short
 * input is a valid input that decides "0" for everything left.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct fuzz_input {
	const uint8_t *p;
	size_t left;
};

static inline void fz_init(struct fuzz_input *in, const uint8_t *data, size_t size)
{
	in->p = data;
	in->left = size;
}

static inline bool fz_empty(const struct fuzz_input *in)
{
	return in->left == 0;
}

/* Little-endian, bytes <= 8. */
static inline uint64_t fz_bits(struct fuzz_input *in, unsigned int bytes)
{
	uint64_t v = 0;
	for (unsigned int i = 0; i < bytes && in->left; i++, in->left--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

static inline uint8_t fz_u8(struct fuzz_input *in)
{
	return (uint8_t)fz_bits(in, 1);
}

static inline uint16_t fz_u16(struct fuzz_input *in)
{
	return (uint16_t)fz_bits(in, 2);
}

static inline uint32_t fz_u32(struct fuzz_input *in)
{
	return (uint32_t)fz_bits(in, 4);
}

static inline uint64_t fz_u64(struct fuzz_input *in)
{
	return fz_bits(in, 8);
}

static inline bool fz_bool(struct fuzz_input *in)
{
	return fz_u8(in) & 1;
}

/* Copies up to max bytes (fewer at the end of the input); returns how many. */
static inline size_t fz_bytes(struct fuzz_input *in, void *dst, size_t max)
{
	size_t n = max < in->left ? max : in->left;
	memcpy(dst, in->p, n);
	in->p += n;
	in->left -= n;
	return n;
}

/*
 * The text harnesses' inputs are records separated by a line "%%". Takes
 * the next one (possibly empty) into a malloc'd copy of exactly its length,
 * so ASan sees a read past its end, plus a NUL that is not part of it.
 * Returns NULL when the input is used up.
 */
static inline char *fz_record(struct fuzz_input *in, size_t *len)
{
	static const char sep[] = "\n%%\n";
	if (!in->left && !in->p)
		return NULL;
	const uint8_t *end = memmem(in->p, in->left, sep, sizeof(sep) - 1);
	size_t n = end ? (size_t)(end - in->p) : in->left;
	char *rec = malloc(n + 1);
	if (!rec)
		abort();
	memcpy(rec, in->p, n);
	rec[n] = '\0';
	*len = n;
	if (end) {
		in->p += n + sizeof(sep) - 1;
		in->left -= n + sizeof(sep) - 1;
	} else {
		in->p = NULL; /* the last record was taken */
		in->left = 0;
	}
	return rec;
}

#endif
