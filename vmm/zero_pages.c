// SPDX-License-Identifier: GPL-2.0
/*
 * Guest RAM that holds only zeros, given back. An idle Linux guest keeps
 * about 3 MiB of such pages in a 512 MiB VM: its bss, hash tables sized at
 * boot and never filled, zeroed pages it holds. Once the guest has given
 * back memory and gone quiet (the tick in page_tables.c), the event loop
 * scans guest RAM a slice per tick and marks the zero pages; then it stops
 * the vCPUs for as long as it takes to look at the marked pages again and
 * discard those still zero. The event loop runs every device, so nothing
 * else writes guest RAM meanwhile.
 */
#include "vmm/vm.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

#define SWEEP_MIN_TICKS	  30 /* the guest rewrites some: not more often than this */
#define SWEEP_AFTER_BYTES MiB(32)
#define SCAN_PAGES	  (MiB(64) / 4096) /* per tick, while the guest runs */
#define DISCARD_PAGES	  (MiB(16) / 4096) /* per pause of the vCPUs */
/*
 * A sweep is for an idle guest. One that is filling memory is "quiet" too,
 * since it gives nothing back, but the pages it has just zeroed are about to
 * be written: a sweep waits until guest RAM has held still for a few ticks
 * and stops as soon as it grows again.
 */
#define STEADY_TICKS 3
#define GROWTH_SLACK MiB(2)

int vm_zero_sweep_init(struct vm *vm)
{
	struct zero_sweep *s = &vm->zero_sweep;
	if (!vm->cfg->free_zero_pages || !vm_smallest_discard(vm->cfg))
		return 0;
	int ret = mem_zero_sweep_init(&s->mem, &vm->mem);
	if (ret == -ENOTSUP)
		return 0;
	if (ret < 0)
		return ret;
	s->on = true;
	s->ticks_since_sweep = SWEEP_MIN_TICKS;
	return 0;
}

void vm_zero_sweep_destroy(struct vm *vm)
{
	mem_zero_sweep_destroy(&vm->zero_sweep.mem);
	vm->zero_sweep.on = false;
}

/* Returns false when the marks are not all looked at yet. */
static bool discard_marked(struct vm *vm)
{
	struct zero_sweep *s = &vm->zero_sweep;
	/* A VM paused through the API stays paused; the API runs on this thread too. */
	bool paused_already = vcpus_paused(vm);
	if (!paused_already && vcpus_pause(vm) < 0)
		return false; /* the VM is stopping */
	int64_t freed = mem_zero_discard(&s->mem, &vm->mem, DISCARD_PAGES);
	if (!paused_already)
		vcpus_resume(vm);
	if (freed < 0) {
		s->on = false;
		log_warn("zero pages: a discard failed (%s); they stay from now on",
			 strerror((int)-freed));
		return false;
	}
	__atomic_add_fetch(&s->bytes_freed, (uint64_t)freed, __ATOMIC_RELAXED);
	return s->mem.marked == 0;
}

/* Samples resident guest RAM and counts the samples in a row it did not grow. */
static void sample_resident(struct vm *vm)
{
	struct zero_sweep *s = &vm->zero_sweep;
	uint64_t resident = mem_resident_bytes(&vm->mem);
	bool grew = resident > s->resident_last + GROWTH_SLACK;
	s->resident_last = resident;
	s->steady_ticks = grew ? 0 : MIN(s->steady_ticks + 1, STEADY_TICKS);
}

static void give_up(struct zero_sweep *s)
{
	mem_zero_forget(&s->mem);
	s->sweeping = false;
	s->steady_ticks = 0;
	__atomic_add_fetch(&s->given_up, 1, __ATOMIC_RELAXED);
}

void vm_zero_sweep_tick(struct vm *vm, bool quiet, uint64_t discarded)
{
	struct zero_sweep *s = &vm->zero_sweep;
	if (!s->on)
		return;
	if (s->ticks_since_sweep < SWEEP_MIN_TICKS)
		s->ticks_since_sweep++;
	if (!s->sweeping) {
		/* Sampled only once a sweep is due: mincore walks all of RAM's page tables. */
		if (discarded - s->discarded_at_sweep < SWEEP_AFTER_BYTES ||
		    s->ticks_since_sweep < SWEEP_MIN_TICKS) {
			s->steady_ticks = 0;
			return;
		}
		sample_resident(vm);
		if (!quiet || s->steady_ticks < STEADY_TICKS)
			return;
		s->sweeping = true;
		s->scanned = false;
		s->resident_low = s->resident_last;
	} else {
		/* Measured from the sweep's lowest sample: its own discards lower RAM too. */
		sample_resident(vm);
		if (s->resident_last > s->resident_low + GROWTH_SLACK) {
			give_up(s);
			return;
		}
		s->resident_low = MIN(s->resident_low, s->resident_last);
	}
	if (!s->scanned && !mem_zero_scan(&s->mem, &vm->mem, SCAN_PAGES))
		return;
	s->scanned = true;
	if (s->mem.marked && !discard_marked(vm))
		return;
	s->sweeping = false;
	s->ticks_since_sweep = 0;
	/* What this sweep gave back does not count towards the next. */
	s->discarded_at_sweep =
		__atomic_load_n(&vm->mem.discard_stats.bytes_discarded, __ATOMIC_RELAXED);
	if (__atomic_add_fetch(&s->sweeps, 1, __ATOMIC_RELAXED) == 1)
		s->first_s = vm_uptime_s(vm);
	s->last_s = vm_uptime_s(vm);
}

void vm_log_zero_sweeps(const struct vm *vm)
{
	const struct zero_sweep *s = &vm->zero_sweep;
	if (s->mem.marks)
		log_info("zero pages: %llu KiB of guest RAM given back in %llu sweeps (the first "
			 "ended %.1f s after start, the last %.1f s; %llu given up as RAM grew)",
			 (unsigned long long)(__atomic_load_n(&s->bytes_freed, __ATOMIC_RELAXED) >>
					      10),
			 (unsigned long long)__atomic_load_n(&s->sweeps, __ATOMIC_RELAXED),
			 s->first_s, s->last_s,
			 (unsigned long long)__atomic_load_n(&s->given_up, __ATOMIC_RELAXED));
}
