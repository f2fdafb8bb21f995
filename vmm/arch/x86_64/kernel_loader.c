// SPDX-License-Identifier: GPL-2.0
/*
 * Loads a Linux kernel for the 64-bit boot protocol
 * (Documentation/x86/boot.rst): either a bzImage, whose protected-mode part
 * goes to 1 MiB and is entered at +0x200, or an uncompressed ELF vmlinux,
 * whose PT_LOAD segments go to their physical addresses.
 */
#include "vmm/arch/x86_64/kernel_loader.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/arch/x86_64/layout.h"
#include "base/log.h"
#include "base/util.h"

#define SETUP_HDR_OFFSET   0x1f1
#define HDRS_MAGIC	   0x53726448 /* "HdrS" */
#define MIN_BOOT_PROTOCOL  0x020c     /* xloadflags and the 64-bit entry */
#define BZ_ENTRY_64_OFFSET 0x200
#define DEFAULT_ALIGNMENT  0x1000000
#define ELF_CMDLINE_MAX	   (X86_CMDLINE_MAX - 1)

static int probe_bzimage(struct kernel_image *img, char *err, size_t errlen)
{
	if (img->size < SETUP_HDR_OFFSET + sizeof(struct setup_header))
		return errmsg(err, errlen, -ENOEXEC, "too small to be a kernel");
	/* The header ends where its jump at 0x200 lands; older ones are shorter than the struct. */
	size_t hdr_end = 0x202 + img->data[0x201];
	size_t hdr_len = MIN(hdr_end - SETUP_HDR_OFFSET, sizeof(img->hdr));
	memset(&img->hdr, 0, sizeof(img->hdr));
	memcpy(&img->hdr, img->data + SETUP_HDR_OFFSET, hdr_len);
	struct setup_header *h = &img->hdr;
	if (h->header != HDRS_MAGIC)
		return -ENOEXEC;
	if (h->version < MIN_BOOT_PROTOCOL)
		return errmsg(err, errlen, -ENOEXEC,
			      "bzImage uses boot protocol %u.%02u; ebb needs 2.12 or later",
			      h->version >> 8, h->version & 0xff);
	if (!(h->xloadflags & XLF_KERNEL_64))
		return errmsg(err, errlen, -ENOEXEC, "bzImage has no 64-bit entry point");

	uint64_t setup_size = ((uint64_t)(h->setup_sects ? h->setup_sects : 4) + 1) * 512;
	if (setup_size >= img->size)
		return errmsg(err, errlen, -ENOEXEC, "bzImage setup (%llu bytes) is truncated",
			      (unsigned long long)setup_size);

	uint64_t pm_size = img->size - setup_size;
	uint64_t align = h->kernel_alignment ? h->kernel_alignment : DEFAULT_ALIGNMENT;
	/* The decompressor runs at max(load address, pref_address), aligned. */
	uint64_t run_at = MAX(ALIGN_UP((uint64_t)X86_KERNEL_LOAD_ADDR, align), h->pref_address);
	img->format = KERNEL_BZIMAGE;
	img->entry = X86_KERNEL_LOAD_ADDR + BZ_ENTRY_64_OFFSET;
	img->start = X86_KERNEL_LOAD_ADDR;
	img->end = MAX(X86_KERNEL_LOAD_ADDR + pm_size, run_at + h->init_size);
	img->cmdline_max = h->cmdline_size ? MIN(h->cmdline_size, ELF_CMDLINE_MAX) : 255;
	img->initrd_addr_max = h->initrd_addr_max ? h->initrd_addr_max : 0x37ffffff;
	return 0;
}

static int probe_elf(struct kernel_image *img, char *err, size_t errlen)
{
	if (img->size < sizeof(Elf64_Ehdr) || memcmp(img->data, ELFMAG, SELFMAG) != 0)
		return -ENOEXEC;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img->data;
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return errmsg(err, errlen, -ENOEXEC, "ELF file is not 64-bit little-endian");
	if (eh->e_machine != EM_X86_64)
		return errmsg(err, errlen, -ENOEXEC, "ELF file is not for x86_64 (e_machine %u)",
			      eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return errmsg(err, errlen, -ENOEXEC, "ELF file is not an executable (e_type %u)",
			      eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 || eh->e_phoff > img->size ||
	    (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > img->size - eh->e_phoff)
		return errmsg(err, errlen, -ENOEXEC,
			      "ELF program headers are missing or truncated");

	const Elf64_Phdr *ph = (const Elf64_Phdr *)(img->data + eh->e_phoff);
	uint64_t lo = UINT64_MAX, hi = 0;
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		uint64_t end;
		if (ph[i].p_filesz > ph[i].p_memsz || ph[i].p_offset > img->size ||
		    ph[i].p_filesz > img->size - ph[i].p_offset ||
		    __builtin_add_overflow(ph[i].p_paddr, ph[i].p_memsz, &end))
			return errmsg(err, errlen, -ENOEXEC, "ELF segment %u is malformed", i);
		lo = MIN(lo, ph[i].p_paddr);
		hi = MAX(hi, end);
	}
	if (hi == 0)
		return errmsg(err, errlen, -ENOEXEC, "ELF file has no loadable segment");
	if (lo < X86_HIMEM_START)
		return errmsg(err, errlen, -ENOEXEC,
			      "ELF segment at 0x%llx overlaps ebb's boot structures below 1 MiB",
			      (unsigned long long)lo);
	if (eh->e_entry < lo || eh->e_entry >= hi)
		return errmsg(err, errlen, -ENOEXEC, "ELF entry 0x%llx is outside its segments",
			      (unsigned long long)eh->e_entry);

	img->format = KERNEL_ELF;
	img->entry = eh->e_entry;
	img->start = lo;
	img->end = hi;
	img->cmdline_max = ELF_CMDLINE_MAX;
	img->initrd_addr_max = 0x7fffffff;
	memset(&img->hdr, 0, sizeof(img->hdr));
	img->hdr.boot_flag = 0xaa55;
	img->hdr.header = HDRS_MAGIC;
	img->hdr.kernel_alignment = DEFAULT_ALIGNMENT;
	img->hdr.initrd_addr_max = img->initrd_addr_max;
	return 0;
}

int kernel_image_open(const char *path, struct kernel_image *img, char *err, size_t errlen)
{
	memset(img, 0, sizeof(*img));
	img->fd = -1;
	err[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errmsg(err, errlen, -errno, "%s", strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return errmsg(err, errlen, -e, "%s", strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return errmsg(err, errlen, -EINVAL, "not a regular file");
	}
	if (st.st_size == 0) {
		close(fd);
		return errmsg(err, errlen, -ENOEXEC, "file is empty");
	}
	void *data = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (data == MAP_FAILED) {
		int e = errno;
		close(fd);
		return errmsg(err, errlen, -e, "cannot map: %s", strerror(e));
	}
	img->fd = fd;
	img->data = data;
	img->size = st.st_size;

	int ret = probe_elf(img, err, errlen);
	if (ret == -ENOEXEC && !err[0])
		ret = probe_bzimage(img, err, errlen);
	if (ret == -ENOEXEC && !err[0])
		errmsg(err, errlen, ret,
		       "not a Linux kernel (neither a bzImage nor an ELF vmlinux)");
	if (ret < 0)
		kernel_image_close(img);
	return ret;
}

void kernel_image_close(struct kernel_image *img)
{
	if (img->data)
		munmap((void *)img->data, img->size);
	if (img->fd >= 0)
		close(img->fd);
	img->data = NULL;
	img->fd = -1;
}

int kernel_initrd_place(const struct kernel_image *img, uint64_t size, uint64_t low_ram_end,
			uint64_t *addr)
{
	uint64_t top = MIN(low_ram_end, (uint64_t)img->initrd_addr_max + 1);
	top = ALIGN_DOWN(top, 4096);
	uint64_t floor = ALIGN_UP(img->end, 4096);
	if (size > top || top - size < floor)
		return -ENOSPC;
	*addr = ALIGN_DOWN(top - size, 4096);
	return 0;
}

/*
 * The segment's whole pages of file data come from the file when their file
 * offset and address agree modulo a page; the partial pages at either end
 * are copied, since the file's bytes beyond them are not the guest's.
 */
static int load_segment_shared(const struct kernel_image *img, struct guest_memory *mem,
			       const Elf64_Phdr *ph, uint8_t *dst)
{
	uint64_t lo = ALIGN_UP(ph->p_paddr, 4096ull);
	uint64_t hi = ALIGN_DOWN(ph->p_paddr + ph->p_filesz, 4096ull);
	int ret = -ENOSPC;
	if ((ph->p_offset - ph->p_paddr) % 4096 == 0 && hi > lo)
		ret = mem_map_file_range(mem, lo, hi - lo, img->fd,
					 ph->p_offset + (lo - ph->p_paddr));
	/* Misaligned, too small, or past the ranges memory keeps: copied whole. */
	if (ret == -ENOSPC) {
		memcpy(dst, img->data + ph->p_offset, ph->p_filesz);
		return 0;
	}
	if (ret < 0)
		return ret;
	memcpy(dst, img->data + ph->p_offset, lo - ph->p_paddr);
	uint64_t tail = hi - ph->p_paddr;
	memcpy(dst + tail, img->data + ph->p_offset + tail, ph->p_filesz - tail);
	return 0;
}

int kernel_image_load(const struct kernel_image *img, struct guest_memory *mem, bool share)
{
	if (img->format == KERNEL_BZIMAGE) {
		if (share)
			return -ENOEXEC;
		uint64_t setup =
			((uint64_t)(img->hdr.setup_sects ? img->hdr.setup_sects : 4) + 1) * 512;
		return mem_write(mem, X86_KERNEL_LOAD_ADDR, img->data + setup, img->size - setup);
	}

	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img->data;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(img->data + eh->e_phoff);
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		uint8_t *dst = mem_gpa_to_hva(mem, ph[i].p_paddr, ph[i].p_memsz);
		if (!dst)
			return -EFAULT;
		if (share) {
			int ret = load_segment_shared(img, mem, &ph[i], dst);
			if (ret < 0)
				return ret;
		} else {
			memcpy(dst, img->data + ph[i].p_offset, ph[i].p_filesz);
		}
		memset(dst + ph[i].p_filesz, 0, ph[i].p_memsz - ph[i].p_filesz);
	}
	return 0;
}
