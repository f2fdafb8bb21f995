/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_MEMORY_H
#define EBB_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Guest RAM. This module is the only place that turns a guest-physical
 * address into a host pointer, and it refuses anything outside guest RAM.
 */

enum mem_backing {
	MEM_BACKING_ANON,      /* private anonymous memory; discard = MADV_DONTNEED */
	MEM_BACKING_MEMFD,     /* shared memfd; discard = PUNCH_HOLE */
	MEM_BACKING_HUGETLBFS, /* 2 MiB hugetlbfs memfd; discard = PUNCH_HOLE in 2 MiB units */
};

#define MEM_MAX_REGIONS 4

struct mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	uint64_t offset; /* offset in the backing fd and in the host mapping */
};

struct mem_discard_stats {
	uint64_t calls;
	uint64_t bytes_discarded;
	uint64_t bytes_clipped; /* parts of ranges not on whole backing pages */
	uint64_t errors;
};

/* Transparent huge pages for anon guest RAM. */
enum mem_thp {
	MEM_THP_SYSTEM, /* whatever /sys/kernel/mm/transparent_hugepage says */
	MEM_THP_ADVISE, /* MADV_HUGEPAGE (--thp) */
	MEM_THP_NEVER,	/* MADV_NOHUGEPAGE: discards finer than 2 MiB really free */
};

/* A transparent huge page on x86-64, and on arm64 with 4 KiB pages. */
#define MEM_HUGE_BLOCK (2ull << 20)

struct guest_memory {
	enum mem_backing backing;
	int fd; /* memfd for MEMFD and HUGETLBFS, -1 for ANON */
	uint8_t *base;
	uint64_t mapping_size;
	uint64_t ram_size;
	uint64_t page_size; /* backing page size: the discard granule */
	unsigned int nr_regions;
	struct mem_region regions[MEM_MAX_REGIONS];
	struct mem_discard_stats discard_stats;
	/*
	 * Read at mem_init: transparent huge pages may back guest RAM (anon,
	 * THP "always", or "madvise" with MADV_HUGEPAGE), and khugepaged's
	 * max_ptes_none (-1: unknown).
	 */
	enum mem_thp thp;
	bool thp_may_back;
	int khugepaged_max_ptes_none;
};

const char *mem_backing_name(enum mem_backing backing);
int mem_backing_parse(const char *name, enum mem_backing *backing);

/*
 * Maps the host memory for a guest with the given regions. Regions must be
 * sorted, non-overlapping and multiples of the backing page size. Returns
 * negative errno.
 */
int mem_init(struct guest_memory *mem, enum mem_backing backing, enum mem_thp thp,
	     const struct mem_region *layout, unsigned int nr_regions);
void mem_destroy(struct guest_memory *mem);

/*
 * Returns a host pointer for [gpa, gpa + len) if the whole range lies inside
 * one RAM region, NULL otherwise (including on overflow). len may be 0.
 */
void *mem_gpa_to_hva(const struct guest_memory *mem, uint64_t gpa, uint64_t len);

/* Bounds-checked copies; return -EFAULT when the range is not guest RAM. */
int mem_read(const struct guest_memory *mem, uint64_t gpa, void *dst, size_t len);
int mem_write(struct guest_memory *mem, uint64_t gpa, const void *src, size_t len);

/* True when [gpa, gpa+len) is RAM and starts and ends on backing pages. */
bool mem_range_is_discardable(const struct guest_memory *mem, uint64_t gpa, uint64_t len);

/*
 * Gives [gpa, gpa + len) back to the host. The range is clipped inward to
 * whole backing pages, never widened. Returns the bytes discarded (>= 0) or
 * negative errno when the range is not guest RAM or the syscall failed.
 */
int64_t mem_discard(struct guest_memory *mem, uint64_t gpa, uint64_t len);

/*
 * Lets KSM merge identical pages of guest RAM (MADV_MERGEABLE): anonymous
 * memory only, -EINVAL otherwise; -errno when the kernel has no KSM.
 */
int mem_advise_mergeable(struct guest_memory *mem);

/*
 * Where [gpa, gpa + len) starts in guest RAM's host mapping, which is 2 MiB
 * aligned: huge page i covers offsets [i, i + 1) * MEM_HUGE_BLOCK. Returns
 * -EFAULT when the range is not guest RAM.
 */
int mem_host_offset(const struct guest_memory *mem, uint64_t gpa, uint64_t len, uint64_t *offset);

/*
 * Huge page advice for one 2 MiB block of the host mapping (its index):
 * MADV_HUGEPAGE or MADV_NOHUGEPAGE. Anonymous memory only (-EINVAL
 * otherwise); the VMA splits at the block's edges. Returns negative errno.
 */
int mem_advise_huge_block(struct guest_memory *mem, uint64_t block, bool huge);

/* Bytes of guest RAM that are resident on the host (mincore/fd blocks). */
uint64_t mem_resident_bytes(const struct guest_memory *mem);

#endif
