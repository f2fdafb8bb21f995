// SPDX-License-Identifier: GPL-2.0
/* Extended System Description Table, ACPI 6.3 section 5.2.8: 64-bit table pointers. */
#include <errno.h>
#include <string.h>

#include "vmm/arch/x86_64/acpi/sdt.h"

#define XSDT_REVISION 1

int acpi_xsdt_write(uint8_t *dst, size_t cap, const uint64_t *tables, unsigned int nr)
{
	size_t len = sizeof(struct acpi_sdt_header) + nr * sizeof(uint64_t);
	if (len > cap)
		return -ENOSPC;
	memset(dst, 0, len);
	/* The entries are not 8-byte aligned (the header is 36 bytes): copy them. */
	memcpy(dst + sizeof(struct acpi_sdt_header), tables, nr * sizeof(uint64_t));
	acpi_sdt_finish(dst, "XSDT", len, XSDT_REVISION);
	return len;
}
