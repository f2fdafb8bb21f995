/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_TEST_AML_READER_H
#define EBB_TEST_AML_READER_H

/*
 * A small AML reader for unit tests, written from the ACPI spec: enough to
 * read back ebb's DSDT (Scope, Device, Name with integers, strings, EISA
 * ids, packages and resource templates). Anything else fails the test.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEVS 40
#define AML_MAX_RES  4

struct aml_res {
	uint8_t type; /* small items: the tag (bits 3-6); large: the whole byte */
	const uint8_t *data;
	unsigned int len;
};

struct aml_dev {
	char name[5];
	char hid[16];
	bool has_uid;
	uint64_t uid;
	struct aml_res res[AML_MAX_RES];
	unsigned int nr_res;
};

struct aml_dsdt {
	struct aml_dev devs[AML_MAX_DEVS];
	unsigned int nr;
	uint64_t s5[4];
	unsigned int nr_s5;
};

/* Decodes a package length at p into *value (which counts its own bytes); returns its size. */
size_t aml_read_pkglen(const uint8_t *p, size_t *value);
/* Reads the DSDT at t (header included) into out. */
void aml_read_dsdt(const uint8_t *t, struct aml_dsdt *out);
/* The device named name; fails the test if there is none. */
const struct aml_dev *aml_find_dev(const struct aml_dsdt *d, const char *name);

#endif
