/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_X86_ACPI_SDT_H
#define EBB_X86_ACPI_SDT_H

/*
 * Byte layouts shared by the tables (ACPI 6.3, little-endian like the host)
 * and the per-table writers. Each writer fills dst and returns the table's
 * length, or -ENOSPC when cap is too small.
 */

#include <stddef.h>
#include <stdint.h>

#include "vmm/arch/x86_64/acpi/acpi.h"

#define ACPI_OEM_ID	      "EBB   "
#define ACPI_OEM_REVISION     1
#define ACPI_CREATOR_ID	      "EBB "
#define ACPI_CREATOR_REVISION 1

/* Generic address structure: address space ids and access sizes. */
#define ACPI_GAS_MEMORY	     0
#define ACPI_GAS_ACCESS_BYTE 1

struct acpi_sdt_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_sdt_header) == 36, "ACPI table header is 36 bytes");
_Static_assert(sizeof(struct acpi_gas) == 12, "generic address structure is 12 bytes");

/* The byte that makes the bytes of p sum to zero. */
uint8_t acpi_checksum(const void *p, size_t len);
/* Fills the header's fixed fields and, last, the checksum over all len bytes. */
void acpi_sdt_finish(void *table, const char *signature, uint32_t len, uint8_t revision);
/* A byte-wide register in system memory. */
struct acpi_gas acpi_gas_mmio8(uint64_t address);

#define ACPI_RSDP_LEN 36
void acpi_rsdp_write(uint8_t *dst, uint64_t xsdt_gpa);
int acpi_xsdt_write(uint8_t *dst, size_t cap, const uint64_t *tables, unsigned int nr);
#define ACPI_FADT_LEN 276
int acpi_fadt_write(uint8_t *dst, size_t cap, const struct acpi_platform *p, uint64_t dsdt_gpa);
/* No limit checks here: acpi_check_platform() does them. */
int acpi_madt_write(uint8_t *dst, size_t cap, const struct acpi_platform *p);
int acpi_dsdt_write(uint8_t *dst, size_t cap, const struct acpi_platform *p);

#endif
