/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_X86_MPTABLE_H
#define EBB_X86_MPTABLE_H

#include "base/memory.h"

/* The most APIC ids an MP table can describe, leaving one for the IOAPIC. */
#define X86_MAX_VCPUS 254

/*
 * Writes an Intel MP table (spec 1.4) at the start of the EBDA: one entry
 * per vCPU, one ISA bus, the IOAPIC, and identity-mapped interrupt lines.
 * The guest finds its secondary CPUs here and starts them with INIT/SIPI.
 */
int x86_write_mptable(struct guest_memory *mem, unsigned int nr_vcpus);

#endif
