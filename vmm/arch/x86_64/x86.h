/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_X86_H
#define EBB_X86_H

#include <linux/kvm.h>
#include <stdbool.h>

#include "base/bus.h"
#include "devices/boot_timer.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "vmm/arch.h"
#include "vmm/arch/x86_64/mptable.h"

/* One VM's x86 state: what only this architecture has. */
struct arch_vm {
	int kvm_fd;
	int vm_fd;
	struct kvm_cpuid2 *cpuid;
	bool tsc_deadline;
	struct bus pio_bus;
	struct serial serial;
	struct i8042 i8042;
	struct boot_timer boot_timer;
	bool platform_ready;
	struct arch_platform platform;
};

/* boot.c */
int x86_boot_check(const struct boot_source *src, const char *cmdline, struct boot_plan **out);
int x86_boot_load(const struct boot_plan *plan, struct arch_vm *a, struct guest_memory *mem,
		  const struct boot_devices *devs, uint64_t *entry);
void x86_boot_free(struct boot_plan *plan);

#endif
