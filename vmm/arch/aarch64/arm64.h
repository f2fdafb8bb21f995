/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_ARM64_H
#define EBB_ARM64_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/boot_timer.h"
#include "devices/serial.h"
#include "vmm/arch.h"

/* One VM's arm64 state: what only this architecture has. */
struct arch_vm {
	int kvm_fd;
	int vm_fd;
	int gic_fd;		  /* the in-kernel vGIC device */
	unsigned int gic_version; /* 3, or 2 where KVM has no GICv3 */
	uint64_t fdt_addr;	  /* x0 of the boot vCPU */
	struct serial serial;
	struct boot_timer boot_timer;
	bool platform_ready;
	struct arch_platform platform;
};

/* gic.c */
int arm64_gic_create(struct arch_vm *a, int vm_fd);
/* After every vCPU exists: KVM sizes the redistributors then. */
int arm64_gic_init(struct arch_vm *a);
/* An SPI's level (the UART's), through KVM_IRQ_LINE. */
void arm64_gic_spi_line(struct arch_vm *a, unsigned int spi, int level);

/* cpu.c */
int arm64_vcpu_setup(struct arch_vm *a, int vcpu_fd, unsigned int id, unsigned int nr_vcpus,
		     uint64_t entry);
void arm64_format_regs(int vcpu_fd, char *buf, size_t len);

/* boot.c */
int arm64_boot_check(const struct boot_source *src, const char *cmdline, struct boot_plan **out);
int arm64_boot_load(const struct boot_plan *plan, struct arch_vm *a, struct guest_memory *mem,
		    const struct boot_devices *devs, uint64_t *entry);
void arm64_boot_free(struct boot_plan *plan);

#endif
