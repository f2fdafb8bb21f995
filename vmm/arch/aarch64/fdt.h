/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_ARM64_FDT_H
#define EBB_ARM64_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/device.h"

/*
 * The device tree ebb hands an arm64 guest in x0, written with libfdt. No
 * KVM here: unit tests read the blob back on any host.
 */

/* Device-tree binding values (include/dt-bindings/interrupt-controller/). */
#define FDT_GIC_SPI	    0
#define FDT_GIC_PPI	    1
#define FDT_IRQ_EDGE_RISING 1
#define FDT_IRQ_LEVEL_HIGH  4
#define FDT_GIC_PHANDLE	    1

/* The architected timer's PPIs: secure, non-secure physical, virtual, hypervisor. */
#define FDT_TIMER_PPI_SEC  13
#define FDT_TIMER_PPI_PHYS 14
#define FDT_TIMER_PPI_VIRT 11
#define FDT_TIMER_PPI_HYP  10

struct arm64_fdt_params {
	uint64_t ram_base;
	uint64_t ram_size;
	unsigned int nr_vcpus;
	unsigned int gic_version; /* 2 or 3 */
	const char *cmdline;
	uint64_t initrd_start; /* 0 when there is no initrd */
	uint64_t initrd_size;
	bool boot_timer;
	const struct device_slot *slots; /* virtio-mmio; gsi is the SPI number */
	unsigned int nr_slots;
};

/* The MPIDR KVM gives vCPU i (Aff0 = i % 16, Aff1 = i / 16), which is its cpu node's reg. */
uint32_t arm64_vcpu_mpidr(unsigned int index);

/* Writes the blob into buf; returns its size, or negative errno (-ENOSPC: buf too small). */
int arm64_fdt_write(const struct arm64_fdt_params *p, void *buf, size_t len);

#endif
