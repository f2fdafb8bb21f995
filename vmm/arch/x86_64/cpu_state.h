/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_X86_CPU_STATE_H
#define EBB_X86_CPU_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/memory.h"

/* Writes the GDT, IDT and identity page tables the 64-bit entry needs. */
int x86_write_boot_tables(struct guest_memory *mem);

/* Long mode, flat segments and paging on; entry in RIP, boot_params in RSI. */
int x86_setup_boot_regs(int vcpu_fd, uint64_t entry);
/* For every vCPU: MSRs, FPU and the LAPIC's LINT pins. */
int x86_setup_vcpu_common(int vcpu_fd);

/*
 * One line of general and control registers, for fatal-exit messages; for a
 * halted vCPU with interrupts on, it adds the deliverable vector pending in
 * its local APIC, if any: a halted CPU takes such a vector at once, so unless
 * it arrived as ebb stopped the vCPU, the hypervisor lost it. Without one, it
 * adds the vector in service, if any: delivered, but the guest never ended it.
 */
void x86_format_regs(int vcpu_fd, char *buf, size_t len);

struct kvm_lapic_state;
/*
 * The highest vector pending in the local APIC (IRR) above the priority of
 * its task and of the vectors in service (TPR, ISR), or -1 when none is.
 */
int x86_lapic_deliverable_vector(const struct kvm_lapic_state *lapic);
/* The highest vector in service (ISR): delivered and not yet ended. -1: none. */
int x86_lapic_in_service_vector(const struct kvm_lapic_state *lapic);

#endif
