// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty-page tracking of guest RAM: three bitmaps over the host mapping, one
 * bit per 4 KiB page. "dirty" holds what was written since the last
 * snapshot, "hint_dirty" what was written since the current hinting run
 * began, "hinted" what that run's guest hinted as free. Guest writes arrive
 * from KVM's dirty log through the VMM's source on each sync; the VMM's own
 * writes are ORed in at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/memory.h"
#include "base/util.h"

struct mem_dirty {
	struct mem_dirty_source src;
	bool has_src;
	bool enabled;
	uint64_t nr_pages;
	uint64_t *dirty;
	uint64_t *hint_dirty;
	uint64_t *hinted;
	uint64_t *scratch; /* one region's bits from the source */
};

static size_t words(uint64_t bits)
{
	return (bits + 63) / 64;
}

static void free_bitmaps(struct mem_dirty *d)
{
	free(d->dirty);
	free(d->hint_dirty);
	free(d->hinted);
	free(d->scratch);
	d->dirty = d->hint_dirty = d->hinted = d->scratch = NULL;
}

/* The tracker exists once a source is installed; bitmaps once tracking starts. */
static struct mem_dirty *tracker(struct guest_memory *mem)
{
	if (!mem->dirty)
		mem->dirty = calloc(1, sizeof(*mem->dirty));
	return mem->dirty;
}

void mem_set_dirty_source(struct guest_memory *mem, const struct mem_dirty_source *src)
{
	struct mem_dirty *d = tracker(mem);
	if (!d)
		return;
	d->src = *src;
	d->has_src = true;
}

int mem_track_start(struct guest_memory *mem)
{
	struct mem_dirty *d = tracker(mem);
	if (!d)
		return -ENOMEM;
	if (d->enabled)
		return 0;
	if (!d->has_src)
		return -ENOTSUP;
	d->nr_pages = mem->mapping_size / MEM_TRACK_PAGE;
	size_t n = words(d->nr_pages);
	d->dirty = calloc(n, sizeof(uint64_t));
	d->hint_dirty = calloc(n, sizeof(uint64_t));
	d->hinted = calloc(n, sizeof(uint64_t));
	d->scratch = calloc(n, sizeof(uint64_t));
	int ret = !d->dirty || !d->hint_dirty || !d->hinted || !d->scratch ? -ENOMEM : 0;
	if (ret == 0)
		ret = d->src.enable(d->src.opaque);
	if (ret < 0) {
		free_bitmaps(d);
		return ret;
	}
	__atomic_store_n(&d->enabled, true, __ATOMIC_RELEASE);
	return 0;
}

bool mem_tracking(const struct guest_memory *mem)
{
	return mem->dirty && mem->dirty->enabled;
}

static void set_bit_atomic(uint64_t *bits, uint64_t i)
{
	__atomic_or_fetch(&bits[i / 64], 1ull << (i % 64), __ATOMIC_RELAXED);
}

/* Bits [first, end): a word at a time, so a guest's large range costs 64 times less. */
static void set_bits_atomic(uint64_t *bits, uint64_t first, uint64_t end)
{
	while (first < end) {
		uint64_t shift = first % 64, n = MIN(64 - shift, end - first);
		uint64_t mask = (n == 64 ? ~0ull : ((1ull << n) - 1)) << shift;
		__atomic_or_fetch(&bits[first / 64], mask, __ATOMIC_RELAXED);
		first += n;
	}
}

static bool test_bit(const uint64_t *bits, uint64_t i)
{
	return __atomic_load_n(&bits[i / 64], __ATOMIC_RELAXED) & (1ull << (i % 64));
}

/* The pages holding [off, off + len) of the mapping. */
static void pages_of(uint64_t off, uint64_t len, uint64_t *first, uint64_t *end)
{
	*first = off / MEM_TRACK_PAGE;
	*end = (off + len + MEM_TRACK_PAGE - 1) / MEM_TRACK_PAGE;
}

/* The pages of [gpa, gpa + len) as offsets in the mapping; false when not RAM. */
static bool page_span(const struct guest_memory *mem, uint64_t gpa, uint64_t len, uint64_t *first,
		      uint64_t *end)
{
	uint8_t *hva = mem_gpa_to_hva(mem, gpa, len);
	if (!hva || len == 0)
		return false;
	pages_of((uint64_t)(hva - mem->base), len, first, end);
	return true;
}

static void mark_written(struct mem_dirty *d, uint64_t first, uint64_t end)
{
	set_bits_atomic(d->dirty, first, end);
	set_bits_atomic(d->hint_dirty, first, end);
}

void mem_mark_dirty(struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	struct mem_dirty *d = mem->dirty;
	uint64_t first, end;
	if (!d || !__atomic_load_n(&d->enabled, __ATOMIC_ACQUIRE) ||
	    !page_span(mem, gpa, len, &first, &end))
		return;
	mark_written(d, first, end);
}

void mem_mark_dirty_iov(struct guest_memory *mem, const struct iovec *iov, unsigned int nr,
			uint64_t len)
{
	struct mem_dirty *d = mem->dirty;
	if (!d || !__atomic_load_n(&d->enabled, __ATOMIC_ACQUIRE))
		return;
	for (unsigned int i = 0; i < nr && len; i++) {
		uint64_t n = MIN(len, (uint64_t)iov[i].iov_len), first, end;
		/* Wraps to a huge offset below the mapping. */
		uint64_t off = (uint64_t)((uintptr_t)iov[i].iov_base - (uintptr_t)mem->base);
		len -= n;
		/* Buffers came from base/memory; one that did not is not RAM to track. */
		if (!n || off >= mem->mapping_size || n > mem->mapping_size - off)
			continue;
		pages_of(off, n, &first, &end);
		mark_written(d, first, end);
	}
}

int mem_dirty_sync(struct guest_memory *mem)
{
	struct mem_dirty *d = mem->dirty;
	if (!mem_tracking(mem))
		return -ENOTSUP;
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct mem_region *r = &mem->regions[i];
		uint64_t first = r->offset / MEM_TRACK_PAGE, n = r->size / MEM_TRACK_PAGE;
		memset(d->scratch, 0, words(n) * sizeof(uint64_t));
		int ret = d->src.collect(d->src.opaque, i, d->scratch);
		if (ret < 0)
			return ret;
		for (uint64_t w = 0; w < words(n); w++) {
			uint64_t bits = d->scratch[w];
			while (bits) {
				uint64_t p = first + w * 64 + (uint64_t)__builtin_ctzll(bits);
				bits &= bits - 1;
				if (p >= first + n)
					break;
				set_bit_atomic(d->dirty, p);
				set_bit_atomic(d->hint_dirty, p);
			}
		}
	}
	return 0;
}

bool mem_page_dirty(const struct guest_memory *mem, uint64_t page)
{
	const struct mem_dirty *d = mem->dirty;
	return d && d->enabled && page < d->nr_pages && test_bit(d->dirty, page);
}

void mem_dirty_reset(struct guest_memory *mem)
{
	struct mem_dirty *d = mem->dirty;
	if (mem_tracking(mem))
		memset(d->dirty, 0, words(d->nr_pages) * sizeof(uint64_t));
}

int mem_hint_begin(struct guest_memory *mem)
{
	int ret = mem_track_start(mem);
	if (ret == 0)
		ret = mem_dirty_sync(mem);
	if (ret < 0)
		return ret;
	struct mem_dirty *d = mem->dirty;
	memset(d->hint_dirty, 0, words(d->nr_pages) * sizeof(uint64_t));
	memset(d->hinted, 0, words(d->nr_pages) * sizeof(uint64_t));
	return 0;
}

void mem_hint_add(struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	struct mem_dirty *d = mem->dirty;
	uint64_t first, end;
	if (!mem_tracking(mem) || !page_span(mem, gpa, len, &first, &end))
		return;
	/* Only whole pages: a partial one at either end may hold live data. */
	if (gpa % MEM_TRACK_PAGE)
		first++;
	if ((gpa + len) % MEM_TRACK_PAGE)
		end--;
	if (first < end)
		set_bits_atomic(d->hinted, first, end);
}

bool mem_page_hinted_clean(const struct guest_memory *mem, uint64_t page)
{
	const struct mem_dirty *d = mem->dirty;
	return d && d->enabled && page < d->nr_pages && test_bit(d->hinted, page) &&
	       !test_bit(d->hint_dirty, page);
}

void mem_track_free(struct guest_memory *mem)
{
	struct mem_dirty *d = mem->dirty;
	if (!d)
		return;
	free_bitmaps(d);
	free(d);
	mem->dirty = NULL;
}
