// SPDX-License-Identifier: GPL-2.0
/*
 * The memory file: guest RAM's regions back to back, as the host maps them.
 * A Full snapshot writes only the pages that hold something and leaves the
 * rest as holes: what /proc/self/pagemap shows present or swapped (anon
 * RAM), what a memfd has allocated, and for RAM restored from a snapshot
 * also what its own memory file holds. Pages the guest reported or inflated
 * were discarded and are holes; pages it hinted free during the last
 * hinting run and nobody wrote since are left out too. A Diff writes the
 * pages written since the last snapshot (KVM's dirty log and the VMM's own
 * writes) into the previous memory file: those that hold something now are
 * written, those that were given back since (or hinted free) are punched
 * back to holes, so the file reads as the guest's RAM does.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "devices/virtio/mmio.h"
#include "vmm/vmm.h"

#define PAGE	    4096ull
#define CHUNK_PAGES 512 /* pagemap is read 2 MiB of RAM at a time */
#define PM_PRESENT  (1ull << 63)
#define PM_SWAPPED  (1ull << 62)
#define MAX_WRITE   (64ull << 20)

/* ---- KVM's dirty log as the memory's dirty source ---- */

static int kvm_log_enable(void *opaque)
{
	struct vm *vm = opaque;
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		const struct mem_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region region = {
			.slot = i,
			.flags = KVM_MEM_LOG_DIRTY_PAGES,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->hva,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
			int err = -errno;
			log_err("dirty page tracking: KVM_SET_USER_MEMORY_REGION slot %u: %s", i,
				strerror(errno));
			return err;
		}
	}
	log_info("dirty page tracking: on");
	return 0;
}

static int kvm_log_collect(void *opaque, unsigned int region, uint64_t *bits)
{
	struct vm *vm = opaque;
	struct kvm_dirty_log log = { .slot = region, .dirty_bitmap = bits };
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
		int err = -errno;
		log_err("KVM_GET_DIRTY_LOG slot %u: %s", region, strerror(errno));
		return err;
	}
	return 0;
}

int snapshot_mem_attach(struct vmm *vmm)
{
	struct vm *vm = &vmm->vm;
	struct mem_dirty_source src = {
		.enable = kvm_log_enable,
		.collect = kvm_log_collect,
		.opaque = vm,
	};
	mem_set_dirty_source(&vm->mem, &src);
	if (vmm->cfg->track_dirty_pages)
		return mem_track_start(&vm->mem);
	return 0;
}

/* ---- which pages ---- */

/* One data extent of a file at or after an offset, found with SEEK_DATA/SEEK_HOLE. */
struct extent_cursor {
	int fd;
	uint64_t size;
	uint64_t start, end; /* [start, end) holds data; start == size: none left */
	bool valid;
};

static bool extent_has_data(struct extent_cursor *c, uint64_t off)
{
	if (c->fd < 0)
		return false;
	if (c->valid && off >= c->start && off < c->end)
		return true;
	if (c->valid && off < c->start)
		return false;
	off_t data = lseek(c->fd, (off_t)off, SEEK_DATA);
	if (data < 0 && errno == ENXIO) {
		/* No data past off. */
		c->start = c->end = c->size;
		c->valid = true;
		return false;
	}
	if (data < 0) {
		/* The file system cannot say: count the page, never lose one. */
		c->valid = false;
		return true;
	}
	off_t hole = lseek(c->fd, data, SEEK_HOLE);
	c->start = (uint64_t)data;
	c->end = hole < 0 ? c->size : (uint64_t)hole;
	c->valid = true;
	return off >= c->start && off < c->end;
}

struct page_scan {
	struct guest_memory *mem;
	enum snapshot_type type;
	int pagemap_fd;
	struct extent_cursor memfd;  /* MEMFD: what the memfd holds */
	struct extent_cursor origin; /* FILE: what the restored-from file holds */
	uint64_t pm[CHUNK_PAGES];
	uint64_t pm_first; /* the page pm[0] describes */
	bool pm_ok;
};

/* Reads pagemap for the chunk starting at page first; without it every page counts. */
static void read_pagemap(struct page_scan *ps, uint64_t first)
{
	uint64_t n = MIN((uint64_t)CHUNK_PAGES, ps->mem->mapping_size / PAGE - first);
	uint64_t vpage = ((uintptr_t)ps->mem->base) / PAGE + first;
	ps->pm_first = first;
	ps->pm_ok = false;
	if (ps->pagemap_fd < 0)
		return;
	ssize_t got = pread(ps->pagemap_fd, ps->pm, n * sizeof(uint64_t),
			    (off_t)(vpage * sizeof(uint64_t)));
	ps->pm_ok = got == (ssize_t)(n * sizeof(uint64_t));
}

static bool mapped(struct page_scan *ps, uint64_t page)
{
	if (!ps->pm_ok)
		return true;
	return ps->pm[page - ps->pm_first] & (PM_PRESENT | PM_SWAPPED);
}

/* Whether a Full snapshot must write this page (before hints are considered). */
static bool holds_data(struct page_scan *ps, uint64_t page)
{
	uint64_t off = page * PAGE;
	switch (ps->mem->backing) {
	case MEM_BACKING_MEMFD:
		return extent_has_data(&ps->memfd, off);
	case MEM_BACKING_FILE:
		return mapped(ps, page) || extent_has_data(&ps->origin, off);
	case MEM_BACKING_ANON:
	case MEM_BACKING_HUGETLBFS:
	default:
		return mapped(ps, page);
	}
}

/* ---- writing ---- */

static int write_run(int fd, const struct guest_memory *mem, uint64_t first, uint64_t n)
{
	uint64_t off = first * PAGE, len = n * PAGE;
	while (len) {
		size_t want = MIN(len, MAX_WRITE);
		ssize_t w = pwrite(fd, mem->base + off, want, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	return 0;
}

/*
 * The VMM writes used rings without KVM seeing it: every ring page of every
 * device counts as written (a few pages; a Diff always carries them).
 */
static void mark_rings(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_devices; i++) {
		const struct device *d = &vm->devices[i];
		struct virtio_mmio *t =
			d->dev && d->type->transport ? d->type->transport(d->dev) : NULL;
		for (unsigned int q = 0; t && q < t->nr_queues; q++) {
			const struct virtq *vq = &t->queues[q];
			if (!vq->ready)
				continue;
			uint64_t used_len = 6 + 8ull * vq->size;
			mem_mark_dirty(&vm->mem, vq->used_gpa, used_len);
		}
	}
}

static int size_file(int fd, const struct guest_memory *mem, enum snapshot_type type, char *err,
		     size_t errlen)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "mem_file_path: %s", strerror(errno));
		return -errno;
	}
	if (type == SNAPSHOT_DIFF && (uint64_t)st.st_size > mem->ram_size) {
		snprintf(err, errlen,
			 "mem_file_path holds %lld bytes, more than the guest's %llu: a Diff goes "
			 "into a copy of this VM's previous memory file",
			 (long long)st.st_size, (unsigned long long)mem->ram_size);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size != mem->ram_size && ftruncate(fd, (off_t)mem->ram_size) < 0) {
		snprintf(err, errlen, "mem_file_path: setting its size: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* What a page becomes in the memory file. */
enum page_out {
	PAGE_KEEP, /* nothing written: a hole (Full), or unchanged since the last snapshot (Diff) */
	PAGE_DATA, /* its content */
	PAGE_ZERO, /* Diff: written since, and now empty: punched to a hole */
};

static enum page_out classify(struct page_scan *ps, uint64_t p, struct snapshot_mem_stats *st)
{
	struct guest_memory *mem = ps->mem;
	bool diff = ps->type == SNAPSHOT_DIFF;
	if (diff && !mem_page_dirty(mem, p))
		return PAGE_KEEP;
	/* Hinted free and untouched since: the guest needs nothing there but zeros. */
	if (mem_page_hinted_clean(mem, p)) {
		st->pages_hinted_out += holds_data(ps, p);
		return diff ? PAGE_ZERO : PAGE_KEEP;
	}
	if (holds_data(ps, p))
		return PAGE_DATA;
	return diff ? PAGE_ZERO : PAGE_KEEP;
}

static int zero_run(int fd, uint64_t first, uint64_t n)
{
	static const uint8_t zeros[64 * 1024];
	uint64_t off = first * PAGE, len = n * PAGE;
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	while (len) {
		ssize_t w = pwrite(fd, zeros, MIN(len, sizeof(zeros)), (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	return 0;
}

static int flush_run(int fd, const struct guest_memory *mem, enum page_out kind, uint64_t first,
		     uint64_t n, struct snapshot_mem_stats *st)
{
	if (!n || kind == PAGE_KEEP)
		return 0;
	if (kind == PAGE_ZERO)
		return zero_run(fd, first, n);
	st->pages_written += n;
	return write_run(fd, mem, first, n);
}

int snapshot_mem_write(struct vmm *vmm, int fd, enum snapshot_type type,
		       struct snapshot_mem_stats *st, char *err, size_t errlen)
{
	struct vm *vm = &vmm->vm;
	struct guest_memory *mem = &vm->mem;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(st, 0, sizeof(*st));
	int ret = size_file(fd, mem, type, err, errlen);
	if (ret < 0)
		return ret;
	if (mem_tracking(mem)) {
		mark_rings(vm);
		ret = mem_dirty_sync(mem);
		if (ret < 0) {
			snprintf(err, errlen, "reading KVM's dirty log: %s", strerror(-ret));
			return ret;
		}
	}
	struct page_scan *ps = calloc(1, sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	ps->mem = mem;
	ps->type = type;
	ps->pagemap_fd = vmm->vm.mem.pagemap_fd;
	ps->memfd = (struct extent_cursor){ .fd = mem->backing == MEM_BACKING_MEMFD ? mem->fd : -1,
					    .size = mem->mapping_size };
	ps->origin = (struct extent_cursor){ .fd = mem->file_fd, .size = mem->mapping_size };

	uint64_t nr_pages = mem->mapping_size / PAGE, run = 0, run_len = 0;
	enum page_out run_kind = PAGE_KEEP;
	for (uint64_t p = 0; p < nr_pages && ret == 0; p++) {
		if (p % CHUNK_PAGES == 0)
			read_pagemap(ps, p);
		enum page_out kind = classify(ps, p, st);
		if (kind == run_kind && run_len) {
			run_len++;
			continue;
		}
		ret = flush_run(fd, mem, run_kind, run, run_len, st);
		run_kind = kind;
		run = p;
		run_len = 1;
	}
	if (ret == 0)
		ret = flush_run(fd, mem, run_kind, run, run_len, st);
	free(ps);
	if (ret < 0) {
		snprintf(err, errlen, "writing mem_file_path: %s", strerror(-ret));
		return ret;
	}
	mem_dirty_reset(mem);
	struct stat sb;
	if (fstat(fd, &sb) == 0)
		st->bytes_allocated = (uint64_t)sb.st_blocks * 512;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st->ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ull + (t1.tv_nsec - t0.tv_nsec);
	return 0;
}
