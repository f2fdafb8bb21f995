/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_ARCH_H
#define EBB_ARCH_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/memory.h"

/* What the arch-neutral VM code asks of vmm/arch/<arch>/. */

struct vm;
struct vcpu;
struct boot_plan;

/* Reads the arch's KVM capabilities into vm (CPUID, timers). */
int arch_kvm_probe(struct vm *vm);
/* Guest RAM regions for ram_size bytes; returns how many. */
unsigned int arch_ram_layout(uint64_t ram_size, struct mem_region *regions);
/* In-kernel interrupt controllers, timers and helper pages; before any vCPU. */
int arch_vm_setup(struct vm *vm);
/* Legacy devices on the PIO and MMIO buses (UART, reset, boot timer). */
int arch_register_legacy_devices(struct vm *vm);
/* CPUID, MSRs, FPU, LAPIC; boot registers on the boot vCPU. */
int arch_vcpu_setup(struct vm *vm, struct vcpu *vcpu, uint64_t entry);
void arch_vcpu_format_regs(struct vcpu *vcpu, char *buf, size_t len);
/* The i-th device slot's MMIO address and GSI. */
int arch_device_slot(unsigned int index, uint64_t *addr, uint64_t *size, unsigned int *gsi);

#endif
