/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_MEMORY_H
#define EBB_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/*
 * Guest RAM. This module is the only place that turns a guest-physical
 * address into a host pointer, and it refuses anything outside guest RAM.
 */

enum mem_backing {
	MEM_BACKING_ANON,      /* private anonymous memory; discard = MADV_DONTNEED */
	MEM_BACKING_MEMFD,     /* shared memfd; discard = PUNCH_HOLE */
	MEM_BACKING_HUGETLBFS, /* 2 MiB hugetlbfs memfd; discard = PUNCH_HOLE in 2 MiB units */
	/*
	 * A snapshot's memory file mapped MAP_PRIVATE (mem_init_file): pages load
	 * on first touch and clones share them; its holes are anonymous memory.
	 * discard = MADV_DONTNEED, which drops the private copy, so a page of the
	 * file's data reads back as the file's, not zero.
	 */
	MEM_BACKING_FILE,
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
	/* Discards that asked the host to split a partly covered huge page first. */
	uint64_t thp_split_requests;
	uint64_t thp_split_errors;
	/* Whole 2 MiB blocks mapped afresh, which frees their page tables. */
	uint64_t blocks_remapped;
};

/* Transparent huge pages for anon guest RAM. */
enum mem_thp {
	MEM_THP_SYSTEM, /* whatever /sys/kernel/mm/transparent_hugepage says */
	MEM_THP_ADVISE, /* MADV_HUGEPAGE (--thp) */
	MEM_THP_NEVER,	/* MADV_NOHUGEPAGE: no huge page for khugepaged to fill holes into */
};

/* A transparent huge page on x86-64, and on arm64 with 4 KiB pages. */
#define MEM_HUGE_BLOCK (2ull << 20)
struct mem_dirty;

/* Ranges of anon guest RAM mapped from a file (mem_map_file_range). */
#define MEM_MAX_FILE_RANGES 8
struct mem_file_range {
	uint64_t gpa;
	uint64_t len;
};

struct guest_memory {
	enum mem_backing backing;
	int fd; /* memfd for MEMFD and HUGETLBFS, -1 for ANON and FILE */
	int file_fd; /* FILE: the snapshot's memory file, else -1 */
	uint8_t *base;
	uint64_t mapping_size;
	uint64_t ram_size;
	uint64_t page_size; /* backing page size: the discard granule */
	unsigned int nr_regions;
	struct mem_region regions[MEM_MAX_REGIONS];
	struct mem_discard_stats discard_stats;
	uint64_t advise_errors; /* mem_advise_huge_block's failures (atomic) */
	/*
	 * Read at mem_init: transparent huge pages may back guest RAM (anon,
	 * THP "always", or "madvise" with MADV_HUGEPAGE), and khugepaged's
	 * max_ptes_none (-1: unknown).
	 */
	enum mem_thp thp;
	bool thp_may_back;
	int khugepaged_max_ptes_none;
	/*
	 * Anon RAM only: a discard maps whole 2 MiB blocks afresh (mem_discard),
	 * and gives them the mapping's name and advice again: MADV_HUGEPAGE or
	 * MADV_NOHUGEPAGE (-1: neither).
	 */
	bool remap_discards;
	bool named;
	int thp_advice;
	struct mem_dirty *dirty; /* dirty-page tracking (memory_dirty.c), NULL when off */
	int pagemap_fd;		 /* /proc/self/pagemap, opened at init (before seccomp); -1 */
	unsigned int nr_file_ranges;
	struct mem_file_range file_ranges[MEM_MAX_FILE_RANGES];
};

const char *mem_backing_name(enum mem_backing backing);
/* The configurable backings only (anon, memfd, hugetlbfs). */
int mem_backing_parse(const char *name, enum mem_backing *backing);

/*
 * Maps the host memory for a guest with the given regions. Regions must be
 * sorted, non-overlapping and multiples of the backing page size. Returns
 * negative errno.
 */
int mem_init(struct guest_memory *mem, enum mem_backing backing, enum mem_thp thp,
	     const struct mem_region *layout, unsigned int nr_regions);
/*
 * Maps fd, a snapshot's memory file of exactly the regions' total size,
 * MAP_PRIVATE as the guest's RAM; takes fd (closed by mem_destroy, even on
 * failure).
 */
int mem_init_file(struct guest_memory *mem, int fd, const struct mem_region *layout,
		  unsigned int nr_regions);
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
 * Whether every page of [gpa, gpa + len) reads back as zeros once discarded.
 * Not on a private file mapping (a snapshot's memory file, or a range from
 * mem_map_file_range): a page there reads back as the file's, which a guest
 * that relies on the content of its free pages (PAGE_POISON acked) must not
 * be given.
 */
bool mem_discard_zeroes(const struct guest_memory *mem, uint64_t gpa, uint64_t len);

/*
 * Maps [gpa, gpa + len) of anonymous guest RAM from fd at file_offset,
 * MAP_PRIVATE: the guest reads the file's pages, which every process mapping
 * the same file shares through the page cache, and its first write to a
 * page copies it. gpa, len and file_offset are 4 KiB aligned and the range
 * lies in one region. The file must not change while mapped: a truncated
 * page faults the guest. -EINVAL (not anon RAM, misaligned), -EFAULT (not
 * RAM), -ENOSPC (more than MEM_MAX_FILE_RANGES), or mmap's -errno.
 */
int mem_map_file_range(struct guest_memory *mem, uint64_t gpa, uint64_t len, int fd,
		       uint64_t file_offset);

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

/*
 * ---- zero pages (memory_zero.c) ----
 * Pages of anon guest RAM that the guest wrote and that hold only zeros (the
 * kernel's bss, hash tables it sized at boot and never filled) cost the host
 * as much as any other. A discarded one reads back as zeros, and the host
 * maps its shared zero page until the guest writes it again. Found in two
 * steps: a scan while the guest runs marks candidates, bounded per call; a
 * discard, while nothing writes guest RAM, looks at each again first.
 */
struct mem_zero_sweep {
	uint64_t *marks; /* candidates: a bit per 4 KiB page of the host mapping */
	uint64_t nr_pages;
	uint64_t cursor; /* next page to scan, then next mark to look at */
	uint64_t marked;
	uint64_t pm[512]; /* pagemap entries of the pages being looked at */
};

/* -ENOTSUP unless anon RAM without transparent huge pages and a pagemap. */
int mem_zero_sweep_init(struct mem_zero_sweep *z, const struct guest_memory *mem);
void mem_zero_sweep_destroy(struct mem_zero_sweep *z);
/*
 * Scans up to max_pages pages from the cursor and marks those that are
 * resident, the process's own and all zero. Returns true once the scan has
 * reached the end of guest RAM; the cursor is then back at the start.
 */
bool mem_zero_scan(struct mem_zero_sweep *z, const struct guest_memory *mem, uint64_t max_pages);
/*
 * Looks at up to max_pages marked pages from the cursor, discards those
 * still resident, own and zero, and clears their marks. Nothing may write
 * guest RAM meanwhile (the caller stops the vCPUs and device work). Returns
 * the bytes discarded, or negative errno; z->marked is 0 once all are done.
 */
int64_t mem_zero_discard(struct mem_zero_sweep *z, struct guest_memory *mem, uint64_t max_pages);
/* Drops every mark and puts the cursor back at the start: a sweep given up. */
void mem_zero_forget(struct mem_zero_sweep *z);

/*
 * ---- dirty-page tracking (memory_dirty.c) ----
 * Pages written since the last snapshot, for diff snapshots, and since the
 * start of a free page hinting run, so hinted pages are left out of a
 * snapshot only while no one wrote them. Guest writes come from KVM's dirty
 * log through a source the VMM installs; the VMM's own writes into guest
 * memory (queues, device buffers) are marked with mem_mark_dirty(). Pages
 * are 4 KiB, numbered by their offset in the host mapping.
 */
struct mem_dirty_source {
	/* Starts logging guest writes; called once, by mem_track_start(). */
	int (*enable)(void *opaque);
	/* ORs into bits the pages of region i written since the last call, and forgets them. */
	int (*collect)(void *opaque, unsigned int region, uint64_t *bits);
	void *opaque;
};

#define MEM_TRACK_PAGE 4096ull

/* Installs the source; tracking starts later, on demand. */
void mem_set_dirty_source(struct guest_memory *mem, const struct mem_dirty_source *src);
/* Starts tracking (idempotent): -ENOTSUP without a source, or the source's error. */
int mem_track_start(struct guest_memory *mem);
bool mem_tracking(const struct guest_memory *mem);
/* The VMM wrote [gpa, gpa + len): a no-op when not tracking. Any thread. */
void mem_mark_dirty(struct guest_memory *mem, uint64_t gpa, uint64_t len);
/* The VMM wrote the first len bytes of iov, host buffers in this memory (net, vsock receive). */
void mem_mark_dirty_iov(struct guest_memory *mem, const struct iovec *iov, unsigned int nr,
			uint64_t len);
/* Pulls the guest's writes from the source into every bitmap. */
int mem_dirty_sync(struct guest_memory *mem);
/* Pages written since the last mem_dirty_reset() (or the start), after a sync. */
bool mem_page_dirty(const struct guest_memory *mem, uint64_t page);
void mem_dirty_reset(struct guest_memory *mem);
/* A hinting run starts: forget the last run's hints and count writes from now. */
int mem_hint_begin(struct guest_memory *mem);
/* The guest hinted [gpa, gpa + len) as free; whole pages inside RAM only. */
void mem_hint_add(struct guest_memory *mem, uint64_t gpa, uint64_t len);
/* Hinted in the last run and not written since it began (after a sync). */
bool mem_page_hinted_clean(const struct guest_memory *mem, uint64_t page);
void mem_track_free(struct guest_memory *mem);

#endif
