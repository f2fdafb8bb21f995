// SPDX-License-Identifier: GPL-2.0
/*
 * Settled and inflated holes and the host's huge pages (docs/balloon.md,
 * "Huge pages"). A report or an inflated range smaller than 2 MiB inside a
 * block that a transparent huge page backs splits that page (mem_discard),
 * and the discard frees only the hole. khugepaged would later collapse the
 * block into a whole huge page again, filling the hole with zeroes the
 * guest never asked for and never reports again (a reported page stays
 * marked reported; an inflated one is the balloon's until deflated). So the
 * first small hole in a block advises that block MADV_NOHUGEPAGE: the rest
 * of guest RAM keeps its huge pages. Up to a limit of blocks, since each
 * advised block may split the RAM's VMA in three. With --thp (RAM advised
 * MADV_HUGEPAGE), a guarded block given back whole again gets its advice
 * back and its VMA merges with its neighbours; under THP "always" no advice
 * means "as the system says", so a guarded block stays guarded.
 */
#include <errno.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/util.h"
#include "devices/virtio/balloon/balloon.h"

#define BITS 64

static bool test_bit64(const uint64_t *map, uint64_t i)
{
	return map[i / BITS] & (1ull << (i % BITS));
}

static void assign_bit64(uint64_t *map, uint64_t i, bool on)
{
	if (on)
		map[i / BITS] |= 1ull << (i % BITS);
	else
		map[i / BITS] &= ~(1ull << (i % BITS));
}

int balloon_holes_init(struct balloon *b)
{
	struct balloon_holes *h = &b->holes;
	h->nr_blocks = ALIGN_UP(b->mem->mapping_size, MEM_HUGE_BLOCK) / MEM_HUGE_BLOCK;
	h->limit = balloon_holes_default_limit(h->nr_blocks);
	h->guarded = calloc(ALIGN_UP(h->nr_blocks, BITS) / BITS, sizeof(uint64_t));
	return h->guarded ? 0 : -ENOMEM;
}

void balloon_holes_destroy(struct balloon *b)
{
	free(b->holes.guarded);
	b->holes.guarded = NULL;
}

uint32_t balloon_holes_default_limit(uint64_t nr_blocks)
{
	return (uint32_t)MIN(MAX(nr_blocks / BALLOON_GUARD_FRACTION, BALLOON_GUARD_MIN),
			     BALLOON_GUARD_MAX);
}

/* A hole of this many 4 KiB pages: would khugepaged collapse its block? */
static bool khugepaged_fills(const struct guest_memory *mem, uint64_t pages)
{
	return mem->khugepaged_max_ptes_none < 0 ||
	       pages <= (uint64_t)mem->khugepaged_max_ptes_none;
}

static void guard(struct balloon *b, uint64_t block)
{
	struct balloon_holes *h = &b->holes;
	if (test_bit64(h->guarded, block))
		return;
	if (h->nr_guarded >= h->limit) {
		b->counters.thp_unguarded++;
		if (!h->limit_logged)
			log_warn("balloon: %u 2 MiB blocks of guest RAM hold given-back holes "
				 "and no huge pages, the limit: holes in other blocks are still "
				 "given back, but khugepaged may fill them in",
				 h->limit);
		h->limit_logged = true;
		return;
	}
	if (mem_advise_huge_block(b->mem, block, false) < 0) {
		b->counters.thp_unguarded++;
		return;
	}
	assign_bit64(h->guarded, block, true);
	h->nr_guarded++;
	b->counters.thp_guards++;
}

static void lift(struct balloon *b, uint64_t block)
{
	struct balloon_holes *h = &b->holes;
	if (!test_bit64(h->guarded, block) || mem_advise_huge_block(b->mem, block, true) < 0)
		return;
	assign_bit64(h->guarded, block, false);
	h->nr_guarded--;
	b->counters.thp_guards_lifted++;
}

void balloon_holes_given_back(struct balloon *b, uint64_t gpa, uint64_t len)
{
	struct balloon_holes *h = &b->holes;
	uint64_t off;
	if (!h->guarded || !b->mem->thp_may_back || mem_host_offset(b->mem, gpa, len, &off) < 0)
		return;
	uint64_t first = off / MEM_HUGE_BLOCK, last = (off + len - 1) / MEM_HUGE_BLOCK;
	bool small_fills = khugepaged_fills(b->mem, len / 4096);
	/* Only the first and last blocks can be partly covered. */
	for (uint64_t blk = first; blk <= last; blk++) {
		bool whole = blk * MEM_HUGE_BLOCK >= off && (blk + 1) * MEM_HUGE_BLOCK <= off + len;
		if (!whole) {
			if (small_fills)
				guard(b, blk);
		} else if (b->mem->thp == MEM_THP_ADVISE && h->nr_guarded) {
			lift(b, blk);
		} else if (blk < last) {
			blk = last - 1; /* nothing to do in the whole blocks between */
		}
	}
}
