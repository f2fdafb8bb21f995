// SPDX-License-Identifier: GPL-2.0
/* Root System Description Pointer, ACPI 6.3 section 5.2.5.3. */
#include <string.h>

#include "vmm/arch/x86_64/acpi/sdt.h"

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum; /* over the first 20 bytes (the ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_rsdp) == ACPI_RSDP_LEN, "RSDP is 36 bytes");

#define RSDP_REVISION 2 /* ACPI 2.0+: XSDT address and extended checksum */

void acpi_rsdp_write(uint8_t *dst, uint64_t xsdt_gpa)
{
	struct acpi_rsdp r = {
		.revision = RSDP_REVISION,
		.length = sizeof(r),
		.xsdt_address = xsdt_gpa, /* no RSDT: every table address fits 64 bits */
	};
	memcpy(r.signature, "RSD PTR ", 8);
	memcpy(r.oem_id, ACPI_OEM_ID, 6);
	r.checksum = acpi_checksum(&r, offsetof(struct acpi_rsdp, length));
	r.extended_checksum = acpi_checksum(&r, sizeof(r));
	memcpy(dst, &r, sizeof(r));
}
