/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_X86_BOOT_PARAMS_H
#define EBB_X86_BOOT_PARAMS_H

#include <stdint.h>

#include "vmm/arch/x86_64/kernel_loader.h"
#include "base/memory.h"

#define X86_MAX_E820 8
#define X86_E820_RAM 1

struct e820_map {
	unsigned int nr;
	struct boot_e820_entry entries[X86_MAX_E820];
};

/* The guest RAM regions for ram_size bytes: below the MMIO gap, then above 4 GiB. */
unsigned int x86_ram_layout(uint64_t ram_size, struct mem_region *regions);
/* The e820 map the guest sees: low RAM without the EBDA and BIOS area, then the rest. */
void x86_e820_build(const struct guest_memory *mem, struct e820_map *map);
/* Highest usable RAM address below 4 GiB, plus one. */
uint64_t x86_low_ram_end(const struct guest_memory *mem);

/* Writes the zero page (with the RSDP's address, 0 for none) and the command line. */
int x86_write_boot_params(struct guest_memory *mem, const struct kernel_image *img,
			  const char *cmdline, uint64_t initrd_addr, uint64_t initrd_size,
			  uint64_t acpi_rsdp);

#endif
