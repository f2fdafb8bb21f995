// SPDX-License-Identifier: GPL-2.0
/*
 * Guest RAM: one host mapping holds every RAM region back to back, so the
 * 32-bit MMIO gap costs no host address space. The mapping is 2 MiB aligned
 * so THP and hugetlbfs pages line up with guest-physical 2 MiB blocks, which
 * is the size free page reporting hands back.
 */
#include "base/memory.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/memfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

#define HUGE_2M (2ull << 20)

static const char *const backing_names[] = {
	[MEM_BACKING_ANON] = "anon",
	[MEM_BACKING_MEMFD] = "memfd",
	[MEM_BACKING_HUGETLBFS] = "hugetlbfs",
	[MEM_BACKING_FILE] = "snapshot file",
};

const char *mem_backing_name(enum mem_backing backing)
{
	return backing_names[backing];
}

int mem_backing_parse(const char *name, enum mem_backing *backing)
{
	for (size_t i = 0; i < ARRAY_SIZE(backing_names); i++) {
		if (i != MEM_BACKING_FILE && strcmp(name, backing_names[i]) == 0) {
			*backing = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Guest RAM's mapping in /proc/PID/smaps. */
#define RAM_NAME "ebb-guest-ram"

/* Reserves size bytes of address space aligned to align; returns NULL on failure. */
static uint8_t *reserve_aligned(uint64_t size, uint64_t align)
{
	uint64_t span = size + align;
	uint8_t *raw =
		mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	uint8_t *aligned = (uint8_t *)ALIGN_UP((uintptr_t)raw, align);
	if (aligned > raw)
		munmap(raw, aligned - raw);
	uint8_t *end = raw + span;
	if (end > aligned + size)
		munmap(aligned + size, end - (aligned + size));
	return aligned;
}

/* This process's page tables in KiB (VmPTE), or -1. */
static long page_table_kib(void)
{
	long kib = -1;
	char line[128];
	FILE *f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPTE: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/*
 * Whether MADV_DONTNEED frees the page tables it empties, as kernels with
 * CONFIG_PT_RECLAIM do (Linux 6.1 does not): then a discard needs no fresh
 * mapping. Probed once, with one page touched in each of 8 blocks of 2 MiB.
 */
static bool dontneed_frees_page_tables(void)
{
	static int frees = -1;
	const uint64_t blocks = 8, len = blocks * MEM_HUGE_BLOCK;
	if (frees >= 0)
		return frees;
	uint8_t *p = reserve_aligned(len, MEM_HUGE_BLOCK);
	frees = 0;
	if (!p)
		return frees;
	if (mmap(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
	    MAP_FAILED) {
		madvise(p, len, MADV_NOHUGEPAGE);
		for (uint64_t i = 0; i < blocks; i++)
			p[i * MEM_HUGE_BLOCK] = 1;
		long before = page_table_kib();
		madvise(p, len, MADV_DONTNEED);
		long after = page_table_kib();
		frees = before >= 0 && after >= 0 && before - after >= (long)(blocks * 4 / 2);
	}
	munmap(p, len);
	return frees;
}

static int open_backing_fd(enum mem_backing backing, uint64_t size)
{
	unsigned int flags = MFD_CLOEXEC;
	if (backing == MEM_BACKING_HUGETLBFS)
		flags |= MFD_HUGETLB | MFD_HUGE_2MB;
	int fd = memfd_create("ebb-guest-ram", flags);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, size) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* The bracketed word of a sysfs choice ("always [madvise] never"), or "" if unreadable. */
static void sysfs_choice(const char *path, char *out, size_t size)
{
	char line[128] = "";
	out[0] = '\0';
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(line, sizeof(line), f)) {
		char *l = strchr(line, '['), *r = l ? strchr(l, ']') : NULL;
		if (r && (size_t)(r - l - 1) < size) {
			memcpy(out, l + 1, r - l - 1);
			out[r - l - 1] = '\0';
		}
	}
	fclose(f);
}

static int sysfs_int(const char *path)
{
	int v = -1;
	FILE *f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Whether THP may back anonymous RAM with this advice, and how khugepaged collapses. */
static void probe_thp(struct guest_memory *mem, enum mem_thp thp)
{
	char mode[16];
	mem->thp = thp;
	sysfs_choice("/sys/kernel/mm/transparent_hugepage/enabled", mode, sizeof(mode));
	bool always = strcmp(mode, "always") == 0, madvise_mode = strcmp(mode, "madvise") == 0;
	mem->thp_may_back = mem->backing == MEM_BACKING_ANON && thp != MEM_THP_NEVER &&
			    (always || (thp == MEM_THP_ADVISE && madvise_mode));
	mem->khugepaged_max_ptes_none =
		sysfs_int("/sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_none");
}

/* Checks a layout and returns its total size, or 0. */
static uint64_t layout_size(const struct mem_region *layout, unsigned int nr, uint64_t page)
{
	uint64_t total = 0;
	if (nr == 0 || nr > MEM_MAX_REGIONS)
		return 0;
	for (unsigned int i = 0; i < nr; i++) {
		const struct mem_region *r = &layout[i];
		if (r->size == 0 || r->size % page || r->gpa % page)
			return 0;
		if (i > 0 && r->gpa < layout[i - 1].gpa + layout[i - 1].size)
			return 0;
		if (__builtin_add_overflow(total, r->size, &total))
			return 0;
	}
	return total;
}

static void set_regions(struct guest_memory *mem, uint8_t *base, uint64_t total,
			const struct mem_region *layout, unsigned int nr)
{
	mem->base = base;
	mem->mapping_size = total;
	mem->ram_size = total;
	mem->nr_regions = nr;
	uint64_t offset = 0;
	for (unsigned int i = 0; i < nr; i++) {
		mem->regions[i] = layout[i];
		mem->regions[i].offset = offset;
		mem->regions[i].hva = base + offset;
		offset += layout[i].size;
	}
}

/* Which pages are resident: for Full snapshots and the zero-page sweep. */
static void open_pagemap(struct guest_memory *mem)
{
	mem->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (mem->pagemap_fd < 0)
		log_warn("memory: /proc/self/pagemap: %s (a Full snapshot writes all of RAM; "
			 "zero pages stay)",
			 strerror(errno));
}

int mem_init(struct guest_memory *mem, enum mem_backing backing, enum mem_thp thp,
	     const struct mem_region *layout, unsigned int nr_regions)
{
	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
	mem->file_fd = -1;
	mem->pagemap_fd = -1;
	mem->backing = backing;
	if (backing == MEM_BACKING_FILE)
		return -EINVAL; /* mem_init_file() */
	mem->page_size = backing == MEM_BACKING_HUGETLBFS ? HUGE_2M : 4096;

	if (nr_regions == 0 || nr_regions > MEM_MAX_REGIONS)
		return -EINVAL;
	uint64_t total = 0;
	for (unsigned int i = 0; i < nr_regions; i++) {
		const struct mem_region *r = &layout[i];
		if (r->size == 0 || r->size % mem->page_size || r->gpa % mem->page_size)
			return -EINVAL;
		if (i > 0 && r->gpa < layout[i - 1].gpa + layout[i - 1].size)
			return -EINVAL;
		if (__builtin_add_overflow(total, r->size, &total))
			return -EOVERFLOW;
	}

	uint8_t *base = reserve_aligned(total, HUGE_2M);
	if (!base)
		return -ENOMEM;

	int ret;
	if (backing == MEM_BACKING_ANON) {
		void *p = mmap(base, total, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p == MAP_FAILED) {
			ret = -errno;
			goto err_unmap;
		}
		/*
		 * The name shows the guest's RAM in /proc/PID/smaps and keeps its VMA
		 * from merging with malloc's; kernels without ANON_VMA_NAME refuse it,
		 * which costs nothing. Core dumps of ebb leave the guest's RAM out.
		 */
		mem->named = prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, base, total, RAM_NAME) == 0;
		madvise(base, total, MADV_DONTDUMP);
		int advice = thp == MEM_THP_ADVISE  ? MADV_HUGEPAGE
			     : thp == MEM_THP_NEVER ? MADV_NOHUGEPAGE
						    : -1;
		if (advice >= 0 && madvise(base, total, advice) < 0) {
			ret = -errno;
			log_err("memory: %s on %llu MiB failed: %s",
				advice == MADV_HUGEPAGE ? "MADV_HUGEPAGE" : "MADV_NOHUGEPAGE",
				(unsigned long long)(total >> 20), strerror(errno));
			goto err_unmap;
		}
		mem->thp_advice = advice;
	} else {
		mem->fd = open_backing_fd(backing, total);
		if (mem->fd < 0) {
			ret = mem->fd;
			mem->fd = -1;
			goto err_unmap;
		}
		/* hugetlbfs reserves its pages here, so a short pool fails now, not at fault time.
		 */
		void *p = mmap(base, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, mem->fd,
			       0);
		if (p == MAP_FAILED) {
			ret = -errno;
			goto err_unmap;
		}
	}

	probe_thp(mem, thp);
	/* Huge pages need no page table of their own; the split ones are left as they are. */
	mem->remap_discards =
		backing == MEM_BACKING_ANON && !mem->thp_may_back && !dontneed_frees_page_tables();
	set_regions(mem, base, total, layout, nr_regions);
	open_pagemap(mem);
	return 0;

err_unmap:
	munmap(base, total);
	if (mem->fd >= 0)
		close(mem->fd);
	mem->fd = -1;
	return ret;
}

/* More data extents than this and the rest of the file is mapped whole. */
#define MEM_FILE_MAX_EXTENTS 16384

static int map_file(uint8_t *at, uint64_t len, int fd, uint64_t file_offset)
{
	/* MAP_NORESERVE: only pages the guest writes cost memory, as with anon RAM. */
	void *p = mmap(at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd,
		       (off_t)file_offset);
	return p == MAP_FAILED ? -errno : 0;
}

/*
 * The file's data extents are mapped from it, MAP_PRIVATE; its holes are
 * anonymous memory. A hole mapped from the file would read through the page
 * cache: on tmpfs every first touch of one would allocate a page of zeros in
 * the file, shared and never reclaimed, besides the guest's own copy.
 */
static int map_snapshot_file(uint8_t *base, uint64_t total, int fd)
{
	void *p = mmap(base, total, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	uint64_t off = 0;
	for (unsigned int n = 0; off < total; n++) {
		off_t data = lseek(fd, (off_t)off, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			return 0;
		/* No hole information, or too many extents: the rest from the file. */
		if (data < 0 || n == MEM_FILE_MAX_EXTENTS)
			return map_file(base + off, total - off, fd, off);
		off_t hole = lseek(fd, data, SEEK_HOLE);
		uint64_t start = ALIGN_DOWN((uint64_t)data, 4096ull);
		uint64_t end = hole < 0 ? total : MIN(ALIGN_UP((uint64_t)hole, 4096ull), total);
		int ret = end > start ? map_file(base + start, end - start, fd, start) : 0;
		if (ret < 0)
			return ret;
		off = MAX(end, start + 4096);
	}
	return 0;
}

int mem_init_file(struct guest_memory *mem, int fd, const struct mem_region *layout,
		  unsigned int nr_regions)
{
	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
	mem->pagemap_fd = -1;
	mem->file_fd = fd;
	mem->backing = MEM_BACKING_FILE;
	mem->page_size = 4096;
	uint64_t total = layout_size(layout, nr_regions, mem->page_size);
	struct stat st;
	if (!total)
		return -EINVAL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size != total)
		return -ERANGE;
	uint8_t *base = reserve_aligned(total, HUGE_2M);
	if (!base)
		return -ENOMEM;
	int ret = map_snapshot_file(base, total, fd);
	if (ret < 0) {
		munmap(base, total);
		return ret;
	}
	prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, base, total, RAM_NAME);
	madvise(base, total, MADV_DONTDUMP);
	set_regions(mem, base, total, layout, nr_regions);
	open_pagemap(mem);
	return 0;
}

void mem_destroy(struct guest_memory *mem)
{
	mem_track_free(mem);
	if (mem->base)
		munmap(mem->base, mem->mapping_size);
	if (mem->fd >= 0)
		close(mem->fd);
	if (mem->file_fd >= 0)
		close(mem->file_fd);
	if (mem->pagemap_fd >= 0)
		close(mem->pagemap_fd);
	mem->base = NULL;
	mem->fd = mem->file_fd = mem->pagemap_fd = -1;
}

static const struct mem_region *find_region(const struct guest_memory *mem, uint64_t gpa,
					    uint64_t len)
{
	uint64_t end;
	if (__builtin_add_overflow(gpa, len, &end))
		return NULL;
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct mem_region *r = &mem->regions[i];
		if (gpa >= r->gpa && end <= r->gpa + r->size && gpa < r->gpa + r->size)
			return r;
	}
	return NULL;
}

void *mem_gpa_to_hva(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	const struct mem_region *r = find_region(mem, gpa, len);
	return r ? r->hva + (gpa - r->gpa) : NULL;
}

int mem_read(const struct guest_memory *mem, uint64_t gpa, void *dst, size_t len)
{
	const void *src = mem_gpa_to_hva(mem, gpa, len);
	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int mem_write(struct guest_memory *mem, uint64_t gpa, const void *src, size_t len)
{
	void *dst = mem_gpa_to_hva(mem, gpa, len);
	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

bool mem_range_is_discardable(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	return len > 0 && find_region(mem, gpa, len) && gpa % mem->page_size == 0 &&
	       len % mem->page_size == 0;
}

/*
 * MADV_DONTNEED of part of a transparent huge page splits only its mapping:
 * the whole huge page stays allocated (and charged) until the host's
 * deferred split runs under memory pressure, so the hole is not given back.
 * MADV_COLD on the part splits the page itself first (Linux 5.4 and later;
 * where it fails, the discard goes on as before). Only the first and last
 * blocks of a range can be partly covered.
 */
static void split_partial_huge(struct guest_memory *mem, uint64_t offset, uint64_t bytes)
{
	uint64_t end = offset + bytes;
	uint64_t head_end = MIN(ALIGN_UP(offset, MEM_HUGE_BLOCK), end);
	uint64_t tail = MAX(ALIGN_DOWN(end, MEM_HUGE_BLOCK), head_end);
	int ret = 0;
	if (head_end > offset)
		ret |= madvise(mem->base + offset, head_end - offset, MADV_COLD);
	if (end > tail)
		ret |= madvise(mem->base + tail, end - tail, MADV_COLD);
	if (ret < 0)
		__atomic_add_fetch(&mem->discard_stats.thp_split_errors, 1, __ATOMIC_RELAXED);
	else if (head_end > offset || end > tail)
		__atomic_add_fetch(&mem->discard_stats.thp_split_requests, 1, __ATOMIC_RELAXED);
}

/*
 * Maps fresh memory over whole 2 MiB blocks, with the name and advice the
 * rest of guest RAM has, so that the mapping merges back into one. On
 * failure, further discards only advise.
 */
static int remap_blocks(struct guest_memory *mem, uint64_t offset, uint64_t len)
{
	uint8_t *p = mem->base + offset;
	int ret = 0;
	if (mmap(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
	    MAP_FAILED) {
		ret = -errno;
		/* A failed MAP_FIXED may have unmapped the range: map it again. */
		if (mincore(p, 4096, &(unsigned char){ 0 }) < 0 && errno == ENOMEM)
			mmap(p, len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	} else if ((mem->named && prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, p, len, RAM_NAME) < 0) ||
		   madvise(p, len, MADV_DONTDUMP) < 0 ||
		   (mem->thp_advice >= 0 && madvise(p, len, mem->thp_advice) < 0)) {
		ret = -errno;
	}
	if (ret < 0) {
		mem->remap_discards = false;
		log_err("memory: mapping 0x%llx bytes of guest RAM afresh failed (%s); discards "
			"keep their page tables from now on",
			(unsigned long long)len, strerror(-ret));
		return ret;
	}
	__atomic_add_fetch(&mem->discard_stats.blocks_remapped, len / MEM_HUGE_BLOCK,
			   __ATOMIC_RELAXED);
	return 0;
}

/*
 * MADV_DONTNEED in Linux 6.1 keeps a range's page tables: 4 KiB for each
 * 2 MiB the guest touched, about 1 MiB for a 512 MiB guest that once touched
 * all of it. The whole 2 MiB blocks of a range are mapped afresh instead,
 * which frees theirs.
 */
static int discard_private(struct guest_memory *mem, uint64_t gpa, uint64_t offset, uint64_t bytes)
{
	uint64_t end = offset + bytes;
	uint64_t head_end = MIN(ALIGN_UP(offset, MEM_HUGE_BLOCK), end);
	uint64_t tail = MAX(ALIGN_DOWN(end, MEM_HUGE_BLOCK), head_end);
	if (mem->remap_discards && tail > head_end && mem_discard_zeroes(mem, gpa, bytes) &&
	    remap_blocks(mem, head_end, tail - head_end) == 0) {
		if (head_end > offset &&
		    madvise(mem->base + offset, head_end - offset, MADV_DONTNEED))
			return -errno;
		if (end > tail && madvise(mem->base + tail, end - tail, MADV_DONTNEED))
			return -errno;
		return 0;
	}
	return madvise(mem->base + offset, bytes, MADV_DONTNEED) < 0 ? -errno : 0;
}

int64_t mem_discard(struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	const struct mem_region *r = find_region(mem, gpa, len);
	if (!r || len == 0)
		return -EFAULT;

	struct mem_discard_stats *st = &mem->discard_stats;
	uint64_t start = ALIGN_UP(gpa, mem->page_size);
	uint64_t end = ALIGN_DOWN(gpa + len, mem->page_size);
	__atomic_add_fetch(&st->calls, 1, __ATOMIC_RELAXED);
	if (end <= start) {
		__atomic_add_fetch(&st->bytes_clipped, len, __ATOMIC_RELAXED);
		return 0;
	}
	uint64_t bytes = end - start;
	__atomic_add_fetch(&st->bytes_clipped, len - bytes, __ATOMIC_RELAXED);

	uint64_t offset = r->offset + (start - r->gpa);
	int ret;
	if (mem->backing == MEM_BACKING_ANON || mem->backing == MEM_BACKING_FILE) {
		if (mem->thp_may_back)
			split_partial_huge(mem, offset, bytes);
		ret = discard_private(mem, start, offset, bytes);
	} else {
		ret = fallocate(mem->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, bytes);
		ret = ret < 0 ? -errno : 0;
	}
	if (ret < 0) {
		int err = -ret;
		uint64_t n = __atomic_add_fetch(&st->errors, 1, __ATOMIC_RELAXED);
		if (log_nth_worthy(n))
			log_err("memory: discard 0x%llx+0x%llx (%s) failed: %s (%llu times)",
				(unsigned long long)start, (unsigned long long)bytes,
				mem_backing_name(mem->backing), strerror(err),
				(unsigned long long)n);
		return -err;
	}
	__atomic_add_fetch(&st->bytes_discarded, bytes, __ATOMIC_RELAXED);
	return (int64_t)bytes;
}

int mem_host_offset(const struct guest_memory *mem, uint64_t gpa, uint64_t len, uint64_t *offset)
{
	const struct mem_region *r = find_region(mem, gpa, len);
	if (!r)
		return -EFAULT;
	*offset = r->offset + (gpa - r->gpa);
	return 0;
}

int mem_advise_huge_block(struct guest_memory *mem, uint64_t block, bool huge)
{
	if (mem->backing != MEM_BACKING_ANON)
		return -EINVAL;
	if (block >= ALIGN_UP(mem->mapping_size, MEM_HUGE_BLOCK) / MEM_HUGE_BLOCK)
		return -EFAULT;
	uint64_t off = block * MEM_HUGE_BLOCK;
	uint64_t len = MIN(MEM_HUGE_BLOCK, mem->mapping_size - off);
	if (madvise(mem->base + off, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) < 0) {
		int err = errno;
		uint64_t n = __atomic_add_fetch(&mem->advise_errors, 1, __ATOMIC_RELAXED);
		if (log_nth_worthy(n))
			log_err("memory: %s on 2 MiB block %llu of RAM failed: %s (%llu times)",
				huge ? "MADV_HUGEPAGE" : "MADV_NOHUGEPAGE",
				(unsigned long long)block, strerror(err), (unsigned long long)n);
		return -err;
	}
	return 0;
}

bool mem_discard_zeroes(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	if (mem->backing == MEM_BACKING_FILE)
		return false;
	for (unsigned int i = 0; i < mem->nr_file_ranges; i++) {
		const struct mem_file_range *f = &mem->file_ranges[i];
		if (gpa < f->gpa + f->len && f->gpa < gpa + len)
			return false;
	}
	return true;
}

int mem_map_file_range(struct guest_memory *mem, uint64_t gpa, uint64_t len, int fd,
		       uint64_t file_offset)
{
	if (mem->backing != MEM_BACKING_ANON || len == 0 || gpa % 4096 || len % 4096 ||
	    file_offset % 4096 || file_offset > INT64_MAX)
		return -EINVAL;
	const struct mem_region *r = find_region(mem, gpa, len);
	if (!r)
		return -EFAULT;
	if (mem->nr_file_ranges == MEM_MAX_FILE_RANGES)
		return -ENOSPC;
	uint8_t *hva = r->hva + (gpa - r->gpa);
	int ret = map_file(hva, len, fd, file_offset);
	if (ret < 0) {
		/* MAP_FIXED may have unmapped the range already: put anon RAM back. */
		mmap(hva, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
		     0);
		return ret;
	}
	madvise(hva, len, MADV_DONTDUMP);
	mem->file_ranges[mem->nr_file_ranges++] = (struct mem_file_range){ gpa, len };
	return 0;
}

uint64_t mem_resident_bytes(const struct guest_memory *mem)
{
	if (mem->fd >= 0) {
		struct stat st;
		if (fstat(mem->fd, &st) < 0)
			return 0;
		return (uint64_t)st.st_blocks * 512;
	}
	const size_t chunk_pages = 1 << 16;
	unsigned char vec[1 << 16];
	uint64_t resident = 0;
	for (uint64_t off = 0; off < mem->mapping_size; off += chunk_pages * 4096ull) {
		uint64_t len = MIN(mem->mapping_size - off, chunk_pages * 4096ull);
		if (mincore(mem->base + off, len, vec) < 0)
			return 0;
		for (uint64_t i = 0; i < len / 4096; i++)
			resident += vec[i] & 1;
	}
	return resident * 4096;
}

int mem_advise_mergeable(struct guest_memory *mem)
{
	if (mem->backing != MEM_BACKING_ANON && mem->backing != MEM_BACKING_FILE)
		return -EINVAL;
	if (madvise(mem->base, mem->mapping_size, MADV_MERGEABLE) < 0)
		return -errno;
	/* A fresh mapping would need MADV_MERGEABLE again, which ebb's filter forbids. */
	mem->remap_discards = false;
	return 0;
}
