// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's page tables for guest memory the guest gave back. x86's KVM
 * empties them when the memory goes (its MMU notifier) but keeps them:
 * 4 KiB for every 2 MiB the guest ever touched, 1 MiB for an idle guest
 * that once used 400 MiB. Deleting any memory slot makes it drop all of
 * them, and the vCPUs fault back in what they use. So once a guest has
 * given back enough and then nothing for a tick, the event loop makes a
 * one-page slot at a spare guest-physical address and deletes it again;
 * not more often than every TRIM_MIN_TICKS, so a guest that keeps freeing
 * and touching memory pays its faults rarely. The same tick drives the
 * zero-page sweep (zero_pages.c).
 */
#include "vmm/vm.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

#define TRIM_TICK_S	 1
#define TRIM_MIN_TICKS	 10
#define TRIM_BOOT_TICKS	 8
#define TRIM_AFTER_BYTES MiB(32) /* a trim costs the vCPUs a fault per page they use */

static int set_spare_slot(struct vm *vm, uint64_t size)
{
	struct kvm_userspace_memory_region region = {
		.slot = vm->mem.nr_regions,
		.guest_phys_addr = vm->arch->spare_slot_gpa,
		.memory_size = size,
		/* Any page of guest RAM; the guest never reaches the slot. */
		.userspace_addr = (uintptr_t)vm->mem.regions[0].hva,
	};
	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0 ? -errno : 0;
}

static bool trim_wanted(const struct vm *vm)
{
	return vm->arch->spare_slot_gpa && vm->cfg->free_page_tables && vm->mem.nr_regions > 0;
}

static void trim(struct vm *vm, bool quiet, uint64_t discarded)
{
	struct page_table_trim *t = &vm->table_trim;
	if (t->failed || !trim_wanted(vm))
		return;
	/*
	 * The boot's reports give back memory the guest never touched, which
	 * has no page tables: what is given back in the first TRIM_BOOT_TICKS
	 * does not count. In the nested lab a trim then was followed by the
	 * guest's death three times in one session (docs/SPEC.md, section 13).
	 */
	if (t->boot_ticks < TRIM_BOOT_TICKS) {
		t->boot_ticks++;
		t->discarded_at_trim = discarded;
		return;
	}
	if (t->ticks_since_trim < TRIM_MIN_TICKS)
		t->ticks_since_trim++;
	if (!quiet || discarded - t->discarded_at_trim < TRIM_AFTER_BYTES ||
	    t->ticks_since_trim < TRIM_MIN_TICKS)
		return;
	t->discarded_at_trim = discarded;
	t->ticks_since_trim = 0;
	int ret = set_spare_slot(vm, 4096);
	if (ret == 0)
		ret = set_spare_slot(vm, 0);
	if (ret < 0) {
		t->failed = true;
		log_warn("freeing KVM's page tables with a spare memory slot %u at 0x%llx: %s; "
			 "they stay from now on",
			 vm->mem.nr_regions, (unsigned long long)vm->arch->spare_slot_gpa,
			 strerror(-ret));
		return;
	}
	if (__atomic_add_fetch(&t->trims, 1, __ATOMIC_RELAXED) == 1)
		t->first_s = vm_uptime_s(vm);
	t->last_s = vm_uptime_s(vm);
}

double vm_uptime_s(const struct vm *vm)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - vm->start_time.tv_sec) +
	       (now.tv_nsec - vm->start_time.tv_nsec) / 1e9;
}

static void quiet_tick(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct page_table_trim *t = &vm->table_trim;
	uint64_t ticks;
	(void)events;
	if (read(t->timer_fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	uint64_t discarded =
		__atomic_load_n(&vm->mem.discard_stats.bytes_discarded, __ATOMIC_RELAXED);
	bool quiet = discarded == t->discarded_at_tick;
	t->discarded_at_tick = discarded;
	trim(vm, quiet, discarded);
	vm_zero_sweep_tick(vm, quiet, discarded);
}

void vm_log_page_table_trims(const struct vm *vm)
{
	const struct page_table_trim *t = &vm->table_trim;
	if (t->timer_fd >= 0 && trim_wanted(vm))
		log_info("KVM's page tables freed %llu times (%llu MiB given back since the last; "
			 "the first %.1f s after start, the last %.1f s)",
			 (unsigned long long)__atomic_load_n(&t->trims, __ATOMIC_RELAXED),
			 (unsigned long long)((t->discarded_at_tick - t->discarded_at_trim) >> 20),
			 t->first_s, t->last_s);
}

int vm_start_quiet_tick(struct vm *vm)
{
	/* Only a device that gives memory back makes the guest quiet after it. */
	if (!vm_smallest_discard(vm->cfg))
		return 0;
	int ret = vm_zero_sweep_init(vm);
	if (ret < 0)
		return ret;
	if (!trim_wanted(vm) && !vm->zero_sweep.on)
		return 0;
	struct page_table_trim *t = &vm->table_trim;
	t->ticks_since_trim = TRIM_MIN_TICKS;
	return event_loop_add_periodic(&vm->loop, TRIM_TICK_S, quiet_tick, vm, &t->timer_fd);
}
