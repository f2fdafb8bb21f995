/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_X86_KERNEL_LOADER_H
#define EBB_X86_KERNEL_LOADER_H

#include <asm/bootparam.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/memory.h"

enum kernel_format {
	KERNEL_BZIMAGE,
	KERNEL_ELF,
};

/* A kernel file, mapped read-only and checked, not yet loaded. */
struct kernel_image {
	enum kernel_format format;
	int fd; /* the file, open while the image is */
	const uint8_t *data;
	size_t size;
	struct setup_header hdr; /* bzImage: from the file; ELF: synthesised */
	uint64_t entry;		 /* 64-bit entry point, guest-physical */
	uint64_t start;		 /* lowest guest-physical byte the kernel may use */
	uint64_t end;		 /* one past the highest, decompression included */
	uint32_t cmdline_max;	 /* longest command line, without the NUL */
	uint32_t initrd_addr_max;
};

/*
 * Maps and checks path. On failure returns negative errno and writes a
 * one-line reason (without the path) into err.
 */
int kernel_image_open(const char *path, struct kernel_image *img, char *err, size_t errlen);
void kernel_image_close(struct kernel_image *img);

/*
 * Where an initrd of size bytes goes: page aligned, as high as possible
 * below initrd_addr_max and low_ram_end, above the kernel. -ENOSPC if it
 * does not fit.
 */
int kernel_initrd_place(const struct kernel_image *img, uint64_t size, uint64_t low_ram_end,
			uint64_t *addr);

/*
 * Copies the kernel into guest memory. With share (an ELF vmlinux only),
 * the whole pages of each segment's file data are mapped from the file
 * instead (mem_map_file_range), so guests booted from one file share them.
 */
int kernel_image_load(const struct kernel_image *img, struct guest_memory *mem, bool share);

#endif
