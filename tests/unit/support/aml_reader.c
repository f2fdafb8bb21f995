// SPDX-License-Identifier: GPL-2.0
#include "tests/unit/support/aml_reader.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

static uint64_t le(const uint8_t *p, unsigned int bytes)
{
	uint64_t v = 0;
	for (unsigned int i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

size_t aml_read_pkglen(const uint8_t *p, size_t *value)
{
	unsigned int extra = p[0] >> 6;
	if (extra == 0) {
		*value = p[0] & 0x3f;
		return 1;
	}
	assert_int_equal(p[0] & 0x30, 0);
	size_t v = p[0] & 0x0f;
	for (unsigned int i = 1; i <= extra; i++)
		v |= (size_t)p[i] << (4 + 8 * (i - 1));
	*value = v;
	return extra + 1;
}

static uint64_t integer(const uint8_t **pp)
{
	const uint8_t *p = *pp;
	switch (p[0]) {
	case 0x00:
		*pp += 1;
		return 0;
	case 0x01:
		*pp += 1;
		return 1;
	case 0xff:
		*pp += 1;
		return UINT64_MAX;
	case 0x0a:
		*pp += 2;
		return p[1];
	case 0x0b:
		*pp += 3;
		return le(p + 1, 2);
	case 0x0c:
		*pp += 5;
		return le(p + 1, 4);
	case 0x0e:
		*pp += 9;
		return le(p + 1, 8);
	}
	fail_msg("not an integer: opcode 0x%02x", p[0]);
	return 0;
}

static void eisa_decode(uint32_t le_value, char out[8])
{
	uint32_t v = __builtin_bswap32(le_value);
	out[0] = '@' + ((v >> 26) & 0x1f);
	out[1] = '@' + ((v >> 21) & 0x1f);
	out[2] = '@' + ((v >> 16) & 0x1f);
	snprintf(out + 3, 5, "%04X", v & 0xffff);
}

static void parse_resources(const uint8_t *p, const uint8_t *end, struct aml_dev *d)
{
	while (p < end) {
		struct aml_res r;
		if (p[0] & 0x80) {
			r = (struct aml_res){ .type = p[0], .len = le(p + 1, 2), .data = p + 3 };
			p += 3 + r.len;
		} else {
			r = (struct aml_res){ .type = (p[0] >> 3) & 0xf,
					      .len = p[0] & 7,
					      .data = p + 1 };
			p += 1 + r.len;
			if (r.type == 0xf) { /* end tag: the template must end here */
				assert_ptr_equal(p, end);
				return;
			}
		}
		assert_true(p <= end);
		assert_true(d->nr_res < AML_MAX_RES);
		d->res[d->nr_res++] = r;
	}
	fail_msg("resource template without an end tag");
}

/* Name(_HID|_UID|_CRS|_S5_, ...) at p inside a device (or at the root for _S5). */
static const uint8_t *parse_name(const uint8_t *p, struct aml_dev *d, struct aml_dsdt *out)
{
	char name[5] = { 0 };
	memcpy(name, p, 4);
	p += 4;
	if (!strcmp(name, "_HID") && d) {
		if (p[0] == 0x0d) { /* string */
			snprintf(d->hid, sizeof(d->hid), "%s", (const char *)p + 1);
			return p + 2 + strlen((const char *)p + 1);
		}
		assert_int_equal(p[0], 0x0c);
		eisa_decode(le(p + 1, 4), d->hid);
		return p + 5;
	}
	if (!strcmp(name, "_UID") && d) {
		d->has_uid = true;
		d->uid = integer(&p);
		return p;
	}
	if (!strcmp(name, "_CRS") && d) {
		assert_int_equal(p[0], 0x11); /* Buffer */
		size_t len;
		const uint8_t *start = p + 1;
		const uint8_t *body = start + aml_read_pkglen(start, &len);
		const uint8_t *end = start + len;
		uint64_t size = integer(&body);
		assert_int_equal(size, end - body);
		parse_resources(body, end, d);
		return end;
	}
	if (!strcmp(name, "_S5_") && !d) {
		assert_int_equal(p[0], 0x12); /* Package */
		size_t len;
		const uint8_t *start = p + 1;
		const uint8_t *q = start + aml_read_pkglen(start, &len);
		unsigned int n = *q++;
		assert_true(n <= 4);
		for (unsigned int i = 0; i < n; i++)
			out->s5[i] = integer(&q);
		out->nr_s5 = n;
		assert_ptr_equal(q, start + len);
		return q;
	}
	fail_msg("unexpected Name(%s)", name);
	return NULL;
}

/* A TermList of Scope, Device and Name; d is the enclosing device, if any. */
static void parse_terms(const uint8_t *p, const uint8_t *end, struct aml_dev *d,
			struct aml_dsdt *out)
{
	while (p < end) {
		if (p[0] == 0x08) {
			p = parse_name(p + 1, d, out);
		} else if (p[0] == 0x10) { /* Scope(\_SB_) */
			size_t len;
			const uint8_t *start = p + 1;
			const uint8_t *q = start + aml_read_pkglen(start, &len);
			assert_memory_equal(q, "\\_SB_", 5);
			parse_terms(q + 5, start + len, NULL, out);
			p = start + len;
		} else if (p[0] == 0x5b && p[1] == 0x82) { /* Device */
			assert_null(d);
			size_t len;
			const uint8_t *start = p + 2;
			const uint8_t *q = start + aml_read_pkglen(start, &len);
			assert_true(out->nr < AML_MAX_DEVS);
			struct aml_dev *nd = &out->devs[out->nr++];
			memset(nd, 0, sizeof(*nd));
			memcpy(nd->name, q, 4);
			parse_terms(q + 4, start + len, nd, out);
			p = start + len;
		} else {
			fail_msg("unexpected AML opcode 0x%02x", p[0]);
		}
		assert_true(p <= end);
	}
}

void aml_read_dsdt(const uint8_t *t, struct aml_dsdt *out)
{
	memset(out, 0, sizeof(*out));
	parse_terms(t + 36, t + le(t + 4, 4), NULL, out);
}

const struct aml_dev *aml_find_dev(const struct aml_dsdt *d, const char *name)
{
	for (unsigned int i = 0; i < d->nr; i++)
		if (!strcmp(d->devs[i].name, name))
			return &d->devs[i];
	fail_msg("no device %s in the DSDT", name);
	return NULL;
}
