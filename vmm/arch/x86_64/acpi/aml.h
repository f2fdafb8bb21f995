/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_X86_ACPI_AML_H
#define EBB_X86_ACPI_AML_H

/*
 * A small AML writer (ACPI 6.3 chapter 20) for what ebb's DSDT needs:
 * Scope, Device, Name, integers, strings, EISA ids, packages, and resource
 * templates with IO, IRQNoFlags, Memory32Fixed, QWordMemory and extended
 * Interrupt descriptors.
 *
 * Blocks that carry a package length are opened with *_begin(), which
 * returns a mark, and closed with the matching *_end(mark): the length is
 * known only then and is inserted in its shortest encoding. Errors are
 * sticky: after the first one (-ENOSPC: buffer full, -EINVAL: bad name or
 * value) every call does nothing and aml_finish() returns it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err;
};

/* Extended interrupt descriptor flags; the default is level, active high, exclusive. */
#define AML_INT_EDGE	   (1u << 1)
#define AML_INT_ACTIVE_LOW (1u << 2)
#define AML_INT_SHARED	   (1u << 3)

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
/* Bytes written, or the first error. */
int aml_finish(const struct aml *a);

/* Encodes a package length of n bytes (itself included) into out; returns its size, 0 if too big.
 */
size_t aml_pkglen_encode(size_t n_without_itself, uint8_t out[4]);

/* Names: 1-4 characters [A-Z_][A-Z0-9_]*, padded with '_'; a leading '\' means the root. */
size_t aml_scope_begin(struct aml *a, const char *name);
size_t aml_device_begin(struct aml *a, const char *name);
void aml_scope_end(struct aml *a, size_t mark);
void aml_device_end(struct aml *a, size_t mark);

/* Name(name, <the data object written next>) */
void aml_name(struct aml *a, const char *name);
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* A compressed EISA id such as "PNP0501": three letters, four hex digits. */
void aml_eisa_id(struct aml *a, const char *id);

size_t aml_package_begin(struct aml *a, uint8_t nr_elements);
void aml_package_end(struct aml *a, size_t mark);

/* ResourceTemplate(): a Buffer of descriptors; the end tag is added by _end. */
size_t aml_resources_begin(struct aml *a);
void aml_resources_end(struct aml *a, size_t mark);
/* IO(Decode16, port, port, 1, len) */
void aml_io(struct aml *a, uint16_t port, uint8_t len);
/* IRQNoFlags() {irq}: ISA, edge, active high, exclusive. */
void aml_irq_noflags(struct aml *a, uint8_t irq);
void aml_memory32_fixed(struct aml *a, uint32_t base, uint32_t len, bool writable);
/* QWordMemory(ResourceConsumer, PosDecode, MinFixed, MaxFixed, NonCacheable, ...) */
void aml_qword_memory(struct aml *a, uint64_t base, uint64_t len, bool writable);
/* Interrupt(ResourceConsumer, ...) {gsi} */
void aml_interrupt(struct aml *a, uint32_t gsi, unsigned int flags);

#endif
