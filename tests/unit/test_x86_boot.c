// SPDX-License-Identifier: GPL-2.0
/* x86_64 boot path: RAM layout and e820, the kernel loader, the MP table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/arch/x86_64/boot_params.h"
#include "vmm/arch/x86_64/kernel_loader.h"
#include "vmm/arch/x86_64/layout.h"
#include "vmm/arch/x86_64/mptable.h"
#include "base/util.h"

static uint64_t e820_ram_total(const struct e820_map *map)
{
	uint64_t total = 0;
	for (unsigned int i = 0; i < map->nr; i++)
		if (map->entries[i].type == X86_E820_RAM)
			total += map->entries[i].size;
	return total;
}

static void check_layout(uint64_t ram)
{
	struct mem_region regions[MEM_MAX_REGIONS];
	unsigned int nr = x86_ram_layout(ram, regions);
	uint64_t sum = 0;
	for (unsigned int i = 0; i < nr; i++) {
		sum += regions[i].size;
		/* No RAM inside the 32-bit MMIO gap. */
		assert_true(regions[i].gpa + regions[i].size <= X86_MMIO_GAP_START ||
			    regions[i].gpa >= X86_MMIO_GAP_END);
	}
	assert_int_equal(sum, ram);

	/* e820 from a real mapping of that layout: the legacy hole is excluded. */
	struct guest_memory mem = { .nr_regions = nr };
	memcpy(mem.regions, regions, sizeof(regions));
	struct e820_map map;
	x86_e820_build(&mem, &map);
	assert_int_equal(e820_ram_total(&map), ram - (X86_HIMEM_START - X86_EBDA_START));
	bool reserved = false;
	for (unsigned int i = 0; i < map.nr; i++) {
		const struct boot_e820_entry *e = &map.entries[i];
		assert_true(e->addr + e->size <= X86_MMIO_GAP_START || e->addr >= X86_MMIO_GAP_END);
		if (e->type == X86_E820_RAM)
			assert_true(e->addr + e->size <= X86_EBDA_START || e->addr >= X86_HIMEM_START);
		/* The MP and ACPI tables' area is reserved, not RAM. */
		reserved |= e->type != X86_E820_RAM && e->addr == X86_EBDA_START &&
			    e->addr + e->size == X86_HIMEM_START;
	}
	assert_true(reserved);
}

static void test_layout_sizes(void **state)
{
	check_layout(MiB(128));
	check_layout(MiB(1024));
	check_layout(GiB(3));
	check_layout(GiB(3) + MiB(2));
	check_layout(GiB(4));
	check_layout(GiB(8));
}

static char *write_temp(const void *data, size_t len)
{
	char *path = strdup("/tmp/ebb-test-kernel-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

/* A minimal bzImage: setup sectors with a valid header, then a payload. */
static uint8_t *fake_bzimage(size_t *len, uint16_t version, uint16_t xloadflags)
{
	*len = 5 * 512 + 8192;
	uint8_t *img = calloc(1, *len);
	struct setup_header h = { 0 };
	h.setup_sects = 4;
	h.boot_flag = 0xaa55;
	h.header = 0x53726448;
	h.version = version;
	h.xloadflags = xloadflags;
	h.cmdline_size = 2047;
	h.initrd_addr_max = 0x7fffffff;
	h.kernel_alignment = 0x200000;
	h.pref_address = 0x1000000;
	h.init_size = 0x800000;
	memcpy(img + 0x1f1, &h, sizeof(h));
	img[0x201] = 0x6a; /* header extends to 0x26c */
	return img;
}

static void test_bzimage_probe(void **state)
{
	size_t len;
	uint8_t *img = fake_bzimage(&len, 0x020f, XLF_KERNEL_64);
	char *path = write_temp(img, len);
	struct kernel_image k;
	char err[256];
	assert_int_equal(kernel_image_open(path, &k, err, sizeof(err)), 0);
	assert_int_equal(k.format, KERNEL_BZIMAGE);
	assert_int_equal(k.entry, X86_KERNEL_LOAD_ADDR + 0x200);
	assert_int_equal(k.cmdline_max, 2047);
	/* The decompressor runs at pref_address and needs init_size there. */
	assert_int_equal(k.end, 0x1000000 + 0x800000);

	uint64_t addr;
	assert_int_equal(kernel_initrd_place(&k, MiB(10), MiB(128), &addr), 0);
	assert_true(addr + MiB(10) <= MiB(128));
	assert_true(addr >= k.end);
	assert_int_equal(addr % 4096, 0);
	assert_int_equal(kernel_initrd_place(&k, MiB(120), MiB(128), &addr), -ENOSPC);
	kernel_image_close(&k);
	unlink(path);
	free(path);
	free(img);
}

static void test_bzimage_refusals(void **state)
{
	size_t len;
	char err[256];
	struct kernel_image k;

	uint8_t *old = fake_bzimage(&len, 0x020a, 0);
	char *path = write_temp(old, len);
	assert_int_equal(kernel_image_open(path, &k, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "boot protocol 2.10"));
	unlink(path);
	free(path);
	free(old);

	uint8_t *no64 = fake_bzimage(&len, 0x020f, 0);
	path = write_temp(no64, len);
	assert_int_equal(kernel_image_open(path, &k, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "64-bit"));
	unlink(path);
	free(path);
	free(no64);

	char text[4096];
	memset(text, 'x', sizeof(text));
	path = write_temp(text, sizeof(text));
	assert_int_equal(kernel_image_open(path, &k, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "not a Linux kernel"));
	unlink(path);
	free(path);

	assert_true(kernel_image_open("/nonexistent/kernel", &k, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "No such file"));
	assert_true(kernel_image_open("/tmp", &k, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "not a regular file"));
}

static void test_elf_probe_and_malformed(void **state)
{
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
		uint8_t code[64];
	} f = { 0 };
	memcpy(f.eh.e_ident, ELFMAG, SELFMAG);
	f.eh.e_ident[EI_CLASS] = ELFCLASS64;
	f.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	f.eh.e_type = ET_EXEC;
	f.eh.e_machine = EM_X86_64;
	f.eh.e_entry = 0x1000000;
	f.eh.e_phoff = offsetof(__typeof__(f), ph);
	f.eh.e_phentsize = sizeof(Elf64_Phdr);
	f.eh.e_phnum = 1;
	f.ph.p_type = PT_LOAD;
	f.ph.p_offset = offsetof(__typeof__(f), code);
	f.ph.p_paddr = 0x1000000;
	f.ph.p_filesz = sizeof(f.code);
	f.ph.p_memsz = 4096;

	char err[256];
	struct kernel_image k;
	char *path = write_temp(&f, sizeof(f));
	assert_int_equal(kernel_image_open(path, &k, err, sizeof(err)), 0);
	assert_int_equal(k.format, KERNEL_ELF);
	assert_int_equal(k.entry, 0x1000000);
	assert_int_equal(k.end, 0x1001000);
	kernel_image_close(&k);
	unlink(path);
	free(path);

	/* A segment whose file range runs past the end of the file. */
	f.ph.p_filesz = 1 << 20;
	f.ph.p_memsz = 1 << 20;
	path = write_temp(&f, sizeof(f));
	assert_int_equal(kernel_image_open(path, &k, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "malformed"));
	unlink(path);
	free(path);

	/* A segment that would overwrite the zero page and page tables. */
	f.ph.p_filesz = sizeof(f.code);
	f.ph.p_memsz = 4096;
	f.ph.p_paddr = 0x7000;
	f.eh.e_entry = 0x7000;
	path = write_temp(&f, sizeof(f));
	assert_int_equal(kernel_image_open(path, &k, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "below 1 MiB"));
	unlink(path);
	free(path);
}

/*
 * Writes an x86_64 ELF header with phnum program headers (zeroed) at the
 * start of file, filled with a byte pattern from 0x1000 on; returns them.
 */
static Elf64_Phdr *elf_headers(uint8_t *file, size_t size, unsigned int phnum, uint64_t entry)
{
	for (size_t i = 0; i < size; i++)
		file[i] = (uint8_t)(i * 7 + 1);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)file;
	memset(eh, 0, sizeof(*eh) + phnum * sizeof(Elf64_Phdr));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_entry = entry;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = phnum;
	return (Elf64_Phdr *)(file + sizeof(*eh));
}

/* Opens path as a kernel and loads it, shared, into fresh 4 MiB anon RAM. */
static void load_shared(const char *path, struct kernel_image *k, struct guest_memory *mem)
{
	char err[256];
	const struct mem_region layout[] = { { .gpa = 0, .size = MiB(4) } };
	assert_int_equal(kernel_image_open(path, k, err, sizeof(err)), 0);
	assert_int_equal(mem_init(mem, MEM_BACKING_ANON, MEM_THP_SYSTEM, layout, 1), 0);
	assert_int_equal(kernel_image_load(k, mem, true), 0);
}

/*
 * share: the whole pages of a segment whose file offset and address agree
 * modulo a page come from the file; its partial end pages are copied (the
 * file's bytes past p_filesz are not the guest's) and a write copies a
 * page, leaving the file as it was. A segment that does not agree is copied.
 */
#define SHARED_PADDR  0x100800
#define SHARED_OFFSET 0x1800
#define SHARED_FILESZ 0x3000
#define COPIED_PADDR  0x200000
#define COPIED_OFFSET 0x5100
#define ELF_FILE_SIZE 0x6000

static void test_elf_load_shared(void **state)
{
	uint8_t *file = malloc(ELF_FILE_SIZE);
	Elf64_Phdr *ph = elf_headers(file, ELF_FILE_SIZE, 2, SHARED_PADDR);
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD,
			      .p_offset = SHARED_OFFSET,
			      .p_paddr = SHARED_PADDR,
			      .p_filesz = SHARED_FILESZ,
			      .p_memsz = SHARED_FILESZ + 0x1000 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD,
			      .p_offset = COPIED_OFFSET,
			      .p_paddr = COPIED_PADDR,
			      .p_filesz = 0x800,
			      .p_memsz = 0x1000 };
	char *path = write_temp(file, ELF_FILE_SIZE);

	char err[256];
	struct kernel_image k;
	const struct mem_region layout[] = { { .gpa = 0, .size = MiB(4) } };
	struct guest_memory mem;
	load_shared(path, &k, &mem);

	const uint8_t *seg = mem_gpa_to_hva(&mem, SHARED_PADDR, SHARED_FILESZ + 0x1000);
	assert_memory_equal(seg, file + SHARED_OFFSET, SHARED_FILESZ);
	for (size_t i = SHARED_FILESZ; i < SHARED_FILESZ + 0x1000; i++)
		assert_int_equal(seg[i], 0);
	const uint8_t *copied = mem_gpa_to_hva(&mem, COPIED_PADDR, 0x1000);
	assert_memory_equal(copied, file + COPIED_OFFSET, 0x800);
	assert_int_equal(copied[0x800], 0);

	/* Pages 0x101000-0x103000 come from the file: discarding one brings the file back. */
	assert_int_equal(mem.nr_file_ranges, 1);
	assert_false(mem_discard_zeroes(&mem, 0x101000, 0x1000));
	assert_false(mem_discard_zeroes(&mem, 0x102000, 0x1000));
	assert_true(mem_discard_zeroes(&mem, 0x100000, 0x1000));
	assert_true(mem_discard_zeroes(&mem, 0x103000, 0x1000));
	assert_true(mem_discard_zeroes(&mem, COPIED_PADDR, 0x1000));
	uint8_t *page = mem_gpa_to_hva(&mem, 0x101000, 0x1000);
	memset(page, 0x55, 0x1000);
	uint8_t on_disk[0x1000];
	int fd = open(path, O_RDONLY);
	assert_int_equal(pread(fd, on_disk, sizeof(on_disk), 0x2000), (ssize_t)sizeof(on_disk));
	close(fd);
	assert_memory_equal(on_disk, file + 0x2000, sizeof(on_disk));
	assert_int_equal(mem_discard(&mem, 0x101000, 0x1000), 0x1000);
	assert_memory_equal(page, file + 0x2000, 0x1000);
	/* A page outside the file's ranges reads back zero. */
	assert_int_equal(mem_discard(&mem, 0x100000, 0x1000), 0x1000);
	assert_int_equal(*(const uint8_t *)mem_gpa_to_hva(&mem, 0x100800, 1), 0);
	mem_destroy(&mem);

	/* Without share, nothing maps the file. */
	assert_int_equal(mem_init(&mem, MEM_BACKING_ANON, MEM_THP_SYSTEM, layout, 1), 0);
	assert_int_equal(kernel_image_load(&k, &mem, false), 0);
	assert_int_equal(mem.nr_file_ranges, 0);
	assert_memory_equal(mem_gpa_to_hva(&mem, SHARED_PADDR, 1), file + SHARED_OFFSET,
			    SHARED_FILESZ);
	mem_destroy(&mem);

	/* Only anonymous RAM can take a file's pages. */
	assert_int_equal(mem_init(&mem, MEM_BACKING_MEMFD, MEM_THP_SYSTEM, layout, 1), 0);
	assert_int_equal(kernel_image_load(&k, &mem, true), -EINVAL);
	mem_destroy(&mem);
	kernel_image_close(&k);
	unlink(path);
	free(path);

	/* A bzImage decompresses itself: nothing to share. */
	size_t len;
	uint8_t *bz = fake_bzimage(&len, 0x020f, XLF_KERNEL_64);
	path = write_temp(bz, len);
	assert_int_equal(kernel_image_open(path, &k, err, sizeof(err)), 0);
	assert_int_equal(mem_init(&mem, MEM_BACKING_ANON, MEM_THP_SYSTEM, layout, 1), 0);
	assert_int_equal(kernel_image_load(&k, &mem, true), -ENOEXEC);
	mem_destroy(&mem);
	kernel_image_close(&k);
	unlink(path);
	free(path);
	free(bz);
	free(file);
}

/* More segments than memory keeps file ranges for: the rest are copied. */
static void test_elf_load_shared_many_segments(void **state)
{
	enum { NR = MEM_MAX_FILE_RANGES + 1 };
	size_t size = 0x1000 + NR * 0x2000;
	uint8_t *file = malloc(size);
	Elf64_Phdr *ph = elf_headers(file, size, NR, 0x100000);
	for (unsigned int i = 0; i < NR; i++)
		ph[i] = (Elf64_Phdr){ .p_type = PT_LOAD,
				      .p_offset = 0x1000 + i * 0x2000,
				      .p_paddr = 0x100000 + i * 0x2000,
				      .p_filesz = 0x1000,
				      .p_memsz = 0x1000 };
	char *path = write_temp(file, size);
	struct kernel_image k;
	struct guest_memory mem;
	load_shared(path, &k, &mem);
	assert_int_equal(mem.nr_file_ranges, MEM_MAX_FILE_RANGES);
	for (unsigned int i = 0; i < NR; i++)
		assert_memory_equal(mem_gpa_to_hva(&mem, ph[i].p_paddr, 0x1000),
				    file + ph[i].p_offset, 0x1000);
	assert_true(mem_discard_zeroes(&mem, ph[NR - 1].p_paddr, 0x1000));
	mem_destroy(&mem);
	kernel_image_close(&k);
	unlink(path);
	free(path);
	free(file);
}

static void test_mptable_checksums(void **state)
{
	const struct mem_region layout[] = { { .gpa = 0, .size = MiB(2) } };
	struct guest_memory mem;
	assert_int_equal(mem_init(&mem, MEM_BACKING_ANON, MEM_THP_SYSTEM, layout, 1), 0);
	assert_int_equal(x86_write_mptable(&mem, 4), 0);

	const uint8_t *fp = mem_gpa_to_hva(&mem, X86_EBDA_START, 16);
	assert_memory_equal(fp, "_MP_", 4);
	uint8_t sum = 0;
	for (int i = 0; i < 16; i++)
		sum += fp[i];
	assert_int_equal(sum, 0);

	uint32_t table;
	memcpy(&table, fp + 4, 4);
	const uint8_t *hdr = mem_gpa_to_hva(&mem, table, 44);
	assert_memory_equal(hdr, "PCMP", 4);
	uint16_t len, count;
	memcpy(&len, hdr + 4, 2);
	memcpy(&count, hdr + 34, 2);
	sum = 0;
	for (int i = 0; i < len; i++)
		sum += hdr[i];
	assert_int_equal(sum, 0);
	/* 4 CPUs, a bus, an IOAPIC, 24 interrupt lines, 2 local interrupts. */
	assert_int_equal(count, 4 + 1 + 1 + 24 + 2);
	/* The first processor entry is enabled and the boot processor. */
	assert_int_equal(hdr[44], 0);
	assert_int_equal(hdr[44 + 3], 0x3);
	assert_int_equal(hdr[64 + 3], 0x1);

	assert_int_equal(x86_write_mptable(&mem, 0), -EINVAL);
	assert_int_equal(x86_write_mptable(&mem, 255), -EINVAL);
	mem_destroy(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_sizes),
		cmocka_unit_test(test_bzimage_probe),
		cmocka_unit_test(test_bzimage_refusals),
		cmocka_unit_test(test_elf_probe_and_malformed),
		cmocka_unit_test(test_elf_load_shared),
		cmocka_unit_test(test_elf_load_shared_many_segments),
		cmocka_unit_test(test_mptable_checksums),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
