// SPDX-License-Identifier: GPL-2.0
#include "vmm/arch/x86_64/boot_params.h"

#include <errno.h>
#include <string.h>

#include "vmm/arch/x86_64/layout.h"
#include "base/util.h"

#define E820_RAM	1
#define E820_RESERVED	2
#define LOADER_UNKNOWN	0xff

unsigned int x86_ram_layout(uint64_t ram_size, struct mem_region *regions)
{
	uint64_t low = MIN(ram_size, X86_MMIO_GAP_START);
	regions[0] = (struct mem_region){ .gpa = 0, .size = low };
	if (ram_size <= X86_MMIO_GAP_START)
		return 1;
	regions[1] = (struct mem_region){ .gpa = X86_MMIO_GAP_END, .size = ram_size - low };
	return 2;
}

uint64_t x86_low_ram_end(const struct guest_memory *mem)
{
	return mem->regions[0].gpa + mem->regions[0].size;
}

static void e820_add(struct e820_map *map, uint64_t addr, uint64_t size, uint32_t type)
{
	if (size && map->nr < X86_MAX_E820)
		map->entries[map->nr++] = (struct boot_e820_entry){
			.addr = addr, .size = size, .type = type,
		};
}

void x86_e820_build(const struct guest_memory *mem, struct e820_map *map)
{
	map->nr = 0;
	e820_add(map, 0, X86_EBDA_START, E820_RAM);
	/* The MP table and the ACPI tables live here: the guest must keep off. */
	e820_add(map, X86_EBDA_START, X86_HIMEM_START - X86_EBDA_START, E820_RESERVED);
	uint64_t low_end = x86_low_ram_end(mem);
	if (low_end > X86_HIMEM_START)
		e820_add(map, X86_HIMEM_START, low_end - X86_HIMEM_START, E820_RAM);
	for (unsigned int i = 1; i < mem->nr_regions; i++)
		e820_add(map, mem->regions[i].gpa, mem->regions[i].size, E820_RAM);
}

int x86_write_boot_params(struct guest_memory *mem, const struct kernel_image *img,
			  const char *cmdline, uint64_t initrd_addr, uint64_t initrd_size,
			  uint64_t acpi_rsdp)
{
	size_t cmdline_len = strlen(cmdline);
	if (cmdline_len > img->cmdline_max)
		return -E2BIG;
	int ret = mem_write(mem, X86_CMDLINE_ADDR, cmdline, cmdline_len + 1);
	if (ret < 0)
		return ret;

	struct boot_params *bp = mem_gpa_to_hva(mem, X86_ZERO_PAGE_ADDR, sizeof(*bp));
	if (!bp)
		return -EFAULT;
	memset(bp, 0, sizeof(*bp));
	bp->hdr = img->hdr;
	bp->hdr.type_of_loader = LOADER_UNKNOWN;
	bp->hdr.cmd_line_ptr = X86_CMDLINE_ADDR;
	bp->hdr.cmdline_size = cmdline_len + 1;
	bp->hdr.ramdisk_image = initrd_addr;
	bp->hdr.ramdisk_size = initrd_size;
	bp->hdr.loadflags |= CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = 0xfe00; /* only matters to the real-mode setup we skip */
	bp->acpi_rsdp_addr = acpi_rsdp; /* 0: the kernel scans the BIOS area, and finds none */

	struct e820_map map;
	x86_e820_build(mem, &map);
	memcpy(bp->e820_table, map.entries, map.nr * sizeof(map.entries[0]));
	bp->e820_entries = map.nr;
	return 0;
}
