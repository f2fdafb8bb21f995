// SPDX-License-Identifier: GPL-2.0
#include "vmm/arch/x86_64/acpi/aml.h"

#include <errno.h>
#include <string.h>

/* Opcodes and prefixes (ACPI 6.3 section 20.2). */
#define AML_ZERO       0x00
#define AML_ONE	       0x01
#define AML_NAME       0x08
#define AML_BYTE       0x0a
#define AML_WORD       0x0b
#define AML_DWORD      0x0c
#define AML_STRING     0x0d
#define AML_QWORD      0x0e
#define AML_SCOPE      0x10
#define AML_BUFFER     0x11
#define AML_PACKAGE    0x12
#define AML_EXT_PREFIX 0x5b
#define AML_EXT_DEVICE 0x82
#define AML_ROOT_CHAR  0x5c
#define AML_ONES       0xff

/* Resource descriptors (ACPI 6.3 section 6.4). */
#define RES_IRQ_NOFLAGS	   0x22 /* small item, 2 bytes */
#define RES_IO		   0x47 /* small item, 7 bytes */
#define RES_END_TAG	   0x79 /* small item, 1 byte: checksum, 0 = none */
#define RES_MEMORY32_FIXED 0x86
#define RES_EXT_IRQ	   0x89
#define RES_QWORD	   0x8a

#define PKGLEN_MAX 0x0fffffff

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	*a = (struct aml){ .buf = buf, .cap = cap };
}

int aml_finish(const struct aml *a)
{
	return a->err ? a->err : (int)a->len;
}

static void fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

static void put(struct aml *a, const void *p, size_t n)
{
	if (a->err)
		return;
	if (n > a->cap - a->len) {
		fail(a, -ENOSPC);
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void put8(struct aml *a, uint8_t v)
{
	put(a, &v, 1);
}

static void put_le(struct aml *a, uint64_t v, unsigned int bytes)
{
	uint8_t b[8];
	for (unsigned int i = 0; i < bytes; i++)
		b[i] = v >> (8 * i);
	put(a, b, bytes);
}

/* Inserts n bytes at pos, moving what follows. */
static void insert(struct aml *a, size_t pos, const uint8_t *p, size_t n)
{
	if (a->err)
		return;
	if (n > a->cap - a->len) {
		fail(a, -ENOSPC);
		return;
	}
	memmove(a->buf + pos + n, a->buf + pos, a->len - pos);
	memcpy(a->buf + pos, p, n);
	a->len += n;
}

size_t aml_pkglen_encode(size_t n, uint8_t out[4])
{
	/* One byte holds 6 bits; with k extra bytes the lead byte keeps 4 bits. */
	if (n + 1 < 0x40) {
		out[0] = n + 1;
		return 1;
	}
	for (size_t k = 1; k <= 3; k++) {
		size_t total = n + 1 + k;
		if (total >= (1ull << (4 + 8 * k)))
			continue;
		out[0] = (k << 6) | (total & 0x0f);
		for (size_t i = 1; i <= k; i++)
			out[i] = total >> (4 + 8 * (i - 1));
		return k + 1;
	}
	return 0;
}

/* Closes a block opened at mark: its package length covers [mark, len). */
static void end_pkg(struct aml *a, size_t mark)
{
	if (a->err)
		return;
	uint8_t enc[4];
	size_t n = aml_pkglen_encode(a->len - mark, enc);
	if (!n) {
		fail(a, -ENOSPC);
		return;
	}
	insert(a, mark, enc, n);
}

static bool name_char(char c, bool lead)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!lead && c >= '0' && c <= '9');
}

static void put_name(struct aml *a, const char *name)
{
	if (name[0] == '\\') {
		put8(a, AML_ROOT_CHAR);
		name++;
	}
	size_t n = strlen(name);
	if (n == 0 || n > 4) {
		fail(a, -EINVAL);
		return;
	}
	char seg[4] = { '_', '_', '_', '_' };
	for (size_t i = 0; i < n; i++) {
		if (!name_char(name[i], i == 0)) {
			fail(a, -EINVAL);
			return;
		}
		seg[i] = name[i];
	}
	put(a, seg, 4);
}

size_t aml_scope_begin(struct aml *a, const char *name)
{
	put8(a, AML_SCOPE);
	size_t mark = a->len;
	put_name(a, name);
	return mark;
}

void aml_scope_end(struct aml *a, size_t mark)
{
	end_pkg(a, mark);
}

size_t aml_device_begin(struct aml *a, const char *name)
{
	put8(a, AML_EXT_PREFIX);
	put8(a, AML_EXT_DEVICE);
	size_t mark = a->len;
	put_name(a, name);
	return mark;
}

void aml_device_end(struct aml *a, size_t mark)
{
	end_pkg(a, mark);
}

void aml_name(struct aml *a, const char *name)
{
	put8(a, AML_NAME);
	put_name(a, name);
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		put8(a, AML_ZERO);
	} else if (v == 1) {
		put8(a, AML_ONE);
	} else if (v == UINT64_MAX) {
		put8(a, AML_ONES);
	} else if (v <= UINT8_MAX) {
		put8(a, AML_BYTE);
		put_le(a, v, 1);
	} else if (v <= UINT16_MAX) {
		put8(a, AML_WORD);
		put_le(a, v, 2);
	} else if (v <= UINT32_MAX) {
		put8(a, AML_DWORD);
		put_le(a, v, 4);
	} else {
		put8(a, AML_QWORD);
		put_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c > 0x7f) {
			fail(a, -EINVAL); /* AML strings are ASCII */
			return;
		}
	put8(a, AML_STRING);
	put(a, s, strlen(s) + 1);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void aml_eisa_id(struct aml *a, const char *id)
{
	/* Three letters of 5 bits each (A = 1), then 16 bits of product, big-endian. */
	if (strlen(id) != 7) {
		fail(a, -EINVAL);
		return;
	}
	uint32_t v = 0;
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			fail(a, -EINVAL);
			return;
		}
		v = (v << 5) | (uint32_t)(id[i] - 'A' + 1);
	}
	for (int i = 3; i < 7; i++) {
		int d = hex_digit(id[i]);
		if (d < 0) {
			fail(a, -EINVAL);
			return;
		}
		v = (v << 4) | (uint32_t)d;
	}
	put8(a, AML_DWORD);
	uint8_t be[4] = { v >> 24, v >> 16, v >> 8, v };
	put(a, be, 4);
}

size_t aml_package_begin(struct aml *a, uint8_t nr_elements)
{
	put8(a, AML_PACKAGE);
	size_t mark = a->len;
	put8(a, nr_elements);
	return mark;
}

void aml_package_end(struct aml *a, size_t mark)
{
	end_pkg(a, mark);
}

size_t aml_resources_begin(struct aml *a)
{
	put8(a, AML_BUFFER);
	return a->len;
}

void aml_resources_end(struct aml *a, size_t mark)
{
	put8(a, RES_END_TAG);
	put8(a, 0);
	if (a->err)
		return;
	/* BufferSize comes before the bytes, after the package length. */
	struct aml size = { 0 };
	uint8_t enc[9];
	aml_init(&size, enc, sizeof(enc));
	aml_integer(&size, a->len - mark);
	insert(a, mark, enc, size.len);
	end_pkg(a, mark);
}

void aml_io(struct aml *a, uint16_t port, uint8_t len)
{
	put8(a, RES_IO);
	put8(a, 1); /* decodes 16 address bits */
	put_le(a, port, 2);
	put_le(a, port, 2);
	put8(a, 1); /* alignment */
	put8(a, len);
}

void aml_irq_noflags(struct aml *a, uint8_t irq)
{
	if (irq > 15) {
		fail(a, -EINVAL);
		return;
	}
	put8(a, RES_IRQ_NOFLAGS);
	put_le(a, 1u << irq, 2);
}

void aml_memory32_fixed(struct aml *a, uint32_t base, uint32_t len, bool writable)
{
	put8(a, RES_MEMORY32_FIXED);
	put_le(a, 9, 2);
	put8(a, writable ? 1 : 0);
	put_le(a, base, 4);
	put_le(a, len, 4);
}

void aml_qword_memory(struct aml *a, uint64_t base, uint64_t len, bool writable)
{
	if (len == 0 || base + len - 1 < base) {
		fail(a, -EINVAL);
		return;
	}
	put8(a, RES_QWORD);
	put_le(a, 43, 2);
	put8(a, 0);		   /* resource type: memory */
	put8(a, 0x0c | 0x01);	   /* min and max fixed, positive decode, consumer */
	put8(a, writable ? 1 : 0); /* non-cacheable, read-only or read-write */
	put_le(a, 0, 8);	   /* granularity */
	put_le(a, base, 8);
	put_le(a, base + len - 1, 8);
	put_le(a, 0, 8); /* translation offset */
	put_le(a, len, 8);
}

void aml_interrupt(struct aml *a, uint32_t gsi, unsigned int flags)
{
	put8(a, RES_EXT_IRQ);
	put_le(a, 6, 2);
	put8(a, 0x01 | (flags & (AML_INT_EDGE | AML_INT_ACTIVE_LOW | AML_INT_SHARED)));
	put8(a, 1); /* one interrupt */
	put_le(a, gsi, 4);
}
