/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_X86_H
#define EBB_X86_H

#include <linux/kvm.h>
#include <stdbool.h>

#include "base/bus.h"
#include "devices/acpi_pm.h"
#include "devices/boot_timer.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "vmm/arch.h"
#include "vmm/arch/x86_64/acpi/acpi.h"
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
	struct acpi_pm pm;
	bool platform_ready;
	struct arch_platform platform;
};

/* What ACPI describes of this machine (acpi_boot.c). */
struct x86_acpi {
	struct acpi_platform p;
	struct acpi_mmio_device devices[ACPI_MAX_MMIO_DEVICES];
};

/* Fills the platform from what is planned and checks it; logs and fails before KVM. */
int x86_acpi_platform(const struct boot_source *src, struct x86_acpi *out);
/* Builds the tables into the BIOS area; *rsdp for boot_params. */
int x86_acpi_write(const struct x86_acpi *acpi, struct guest_memory *mem, uint64_t *rsdp);

/* boot.c */
int x86_boot_check(const struct boot_source *src, const char *cmdline, struct boot_plan **out);
int x86_boot_load(const struct boot_plan *plan, struct arch_vm *a, struct guest_memory *mem,
		  const struct boot_devices *devs, uint64_t *entry);
void x86_boot_free(struct boot_plan *plan);

#endif
