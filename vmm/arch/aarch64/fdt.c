// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 guest's device tree, written in one pass with libfdt's
 * sequential-write API. Everything a 6.1 kernel needs to boot without
 * firmware: memory, cpus (PSCI), the GIC, the architected timer, the
 * console UART, the virtio-mmio slots and /chosen.
 */
#include "vmm/arch/aarch64/fdt.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>

#include "vmm/arch/aarch64/layout.h"

uint32_t arm64_vcpu_mpidr(unsigned int index)
{
	return (index & 0xf) | ((index >> 4) & 0xff) << 8 | ((index >> 12) & 0xff) << 16;
}

/* reg = <addr size> with #address-cells = #size-cells = 2. */
static int prop_reg(void *fdt, uint64_t addr, uint64_t size)
{
	fdt64_t cells[2] = { cpu_to_fdt64(addr), cpu_to_fdt64(size) };
	return fdt_property(fdt, "reg", cells, sizeof(cells));
}

static int prop_irq(void *fdt, uint32_t type, uint32_t number, uint32_t flags)
{
	fdt32_t cells[3] = { cpu_to_fdt32(type), cpu_to_fdt32(number), cpu_to_fdt32(flags) };
	return fdt_property(fdt, "interrupts", cells, sizeof(cells));
}

/* libfdt calls return 0 or a negative FDT_ERR_*; stop at the first failure. */
#define TRY(call)                        \
	do {                             \
		int try_ret_ = (call);   \
		if (try_ret_ < 0)        \
			return try_ret_; \
	} while (0)

static int write_cpus(void *fdt, const struct arm64_fdt_params *p)
{
	TRY(fdt_begin_node(fdt, "cpus"));
	TRY(fdt_property_u32(fdt, "#address-cells", 1));
	TRY(fdt_property_u32(fdt, "#size-cells", 0));
	for (unsigned int i = 0; i < p->nr_vcpus; i++) {
		char name[32];
		uint32_t mpidr = arm64_vcpu_mpidr(i);
		snprintf(name, sizeof(name), "cpu@%x", mpidr);
		TRY(fdt_begin_node(fdt, name));
		TRY(fdt_property_string(fdt, "device_type", "cpu"));
		TRY(fdt_property_string(fdt, "compatible", "arm,arm-v8"));
		TRY(fdt_property_string(fdt, "enable-method", "psci"));
		TRY(fdt_property_u32(fdt, "reg", mpidr));
		TRY(fdt_end_node(fdt));
	}
	return fdt_end_node(fdt);
}

static int write_gic(void *fdt, const struct arm64_fdt_params *p)
{
	char name[32];
	snprintf(name, sizeof(name), "intc@%llx", (unsigned long long)ARM64_GIC_DIST_BASE);
	TRY(fdt_begin_node(fdt, name));
	fdt64_t reg[4] = { cpu_to_fdt64(ARM64_GIC_DIST_BASE), cpu_to_fdt64(ARM64_GIC_DIST_SIZE) };
	if (p->gic_version == 3) {
		TRY(fdt_property_string(fdt, "compatible", "arm,gic-v3"));
		reg[2] = cpu_to_fdt64(ARM64_GIC_REDIST_BASE);
		reg[3] = cpu_to_fdt64((uint64_t)p->nr_vcpus * ARM64_GIC_REDIST_SIZE);
	} else {
		TRY(fdt_property_string(fdt, "compatible", "arm,cortex-a15-gic"));
		reg[2] = cpu_to_fdt64(ARM64_GIC_CPU_BASE);
		reg[3] = cpu_to_fdt64(ARM64_GIC_CPU_SIZE);
	}
	TRY(fdt_property(fdt, "reg", reg, sizeof(reg)));
	TRY(fdt_property_u32(fdt, "#interrupt-cells", 3));
	TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
	/* An interrupt provider states its address cells; no children, so no ranges inside. */
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property(fdt, "ranges", NULL, 0));
	TRY(fdt_property_u32(fdt, "phandle", FDT_GIC_PHANDLE));
	return fdt_end_node(fdt);
}

static int write_timer(void *fdt, const struct arm64_fdt_params *p)
{
	/* GICv2 PPIs also name the CPUs they reach, in bits 8-15 of the flags. */
	uint32_t flags = FDT_IRQ_LEVEL_HIGH;
	if (p->gic_version == 2)
		flags |= ((1u << (p->nr_vcpus < 8 ? p->nr_vcpus : 8)) - 1) << 8;
	static const uint32_t ppis[] = { FDT_TIMER_PPI_SEC, FDT_TIMER_PPI_PHYS, FDT_TIMER_PPI_VIRT,
					 FDT_TIMER_PPI_HYP };
	fdt32_t cells[3 * 4];
	for (unsigned int i = 0; i < 4; i++) {
		cells[3 * i] = cpu_to_fdt32(FDT_GIC_PPI);
		cells[3 * i + 1] = cpu_to_fdt32(ppis[i]);
		cells[3 * i + 2] = cpu_to_fdt32(flags);
	}
	TRY(fdt_begin_node(fdt, "timer"));
	TRY(fdt_property_string(fdt, "compatible", "arm,armv8-timer"));
	TRY(fdt_property(fdt, "interrupts", cells, sizeof(cells)));
	TRY(fdt_property(fdt, "always-on", NULL, 0));
	return fdt_end_node(fdt);
}

static int write_devices(void *fdt, const struct arm64_fdt_params *p)
{
	char name[48];
	snprintf(name, sizeof(name), "uart@%llx", (unsigned long long)ARM64_UART_ADDR);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_string(fdt, "compatible", "ns16550a"));
	TRY(prop_reg(fdt, ARM64_UART_ADDR, ARM64_UART_SIZE));
	TRY(fdt_property_u32(fdt, "clock-frequency", ARM64_UART_CLOCK_HZ));
	TRY(prop_irq(fdt, FDT_GIC_SPI, ARM64_UART_SPI, FDT_IRQ_LEVEL_HIGH));
	TRY(fdt_end_node(fdt));

	if (p->boot_timer) {
		/* init finds the address in the node's name (tools/guest/init). */
		snprintf(name, sizeof(name), "boot-timer@%llx",
			 (unsigned long long)ARM64_BOOT_TIMER_ADDR);
		TRY(fdt_begin_node(fdt, name));
		TRY(fdt_property_string(fdt, "compatible", "ebb,boot-timer"));
		TRY(prop_reg(fdt, ARM64_BOOT_TIMER_ADDR, ARM64_BOOT_TIMER_SIZE));
		TRY(fdt_end_node(fdt));
	}

	for (unsigned int i = 0; i < p->nr_slots; i++) {
		const struct device_slot *s = &p->slots[i];
		snprintf(name, sizeof(name), "virtio_mmio@%llx", (unsigned long long)s->addr);
		TRY(fdt_begin_node(fdt, name));
		TRY(fdt_property_string(fdt, "compatible", "virtio,mmio"));
		TRY(prop_reg(fdt, s->addr, s->size));
		/* irqfds inject edges: each used-buffer notification is one pulse. */
		TRY(prop_irq(fdt, FDT_GIC_SPI, s->gsi, FDT_IRQ_EDGE_RISING));
		TRY(fdt_property(fdt, "dma-coherent", NULL, 0));
		TRY(fdt_end_node(fdt));
	}
	return 0;
}

static int write_chosen(void *fdt, const struct arm64_fdt_params *p)
{
	char path[48];
	TRY(fdt_begin_node(fdt, "chosen"));
	TRY(fdt_property_string(fdt, "bootargs", p->cmdline ? p->cmdline : ""));
	snprintf(path, sizeof(path), "/uart@%llx", (unsigned long long)ARM64_UART_ADDR);
	TRY(fdt_property_string(fdt, "stdout-path", path));
	if (p->initrd_start) {
		TRY(fdt_property_u64(fdt, "linux,initrd-start", p->initrd_start));
		TRY(fdt_property_u64(fdt, "linux,initrd-end", p->initrd_start + p->initrd_size));
	}
	return fdt_end_node(fdt);
}

static int write_tree(void *fdt, const struct arm64_fdt_params *p)
{
	char name[32];
	TRY(fdt_finish_reservemap(fdt));
	TRY(fdt_begin_node(fdt, ""));
	TRY(fdt_property_string(fdt, "compatible", "ebb,microvm"));
	TRY(fdt_property_string(fdt, "model", "ebb microVM"));
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property_u32(fdt, "interrupt-parent", FDT_GIC_PHANDLE));

	TRY(write_chosen(fdt, p));
	snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)p->ram_base);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_string(fdt, "device_type", "memory"));
	TRY(prop_reg(fdt, p->ram_base, p->ram_size));
	TRY(fdt_end_node(fdt));
	TRY(write_cpus(fdt, p));
	/* PSCI 0.2 through HVC: KVM implements it (KVM_ARM_VCPU_PSCI_0_2). */
	TRY(fdt_begin_node(fdt, "psci"));
	TRY(fdt_property_string(fdt, "compatible", "arm,psci-0.2"));
	TRY(fdt_property_string(fdt, "method", "hvc"));
	TRY(fdt_end_node(fdt));
	TRY(write_gic(fdt, p));
	TRY(write_timer(fdt, p));
	TRY(write_devices(fdt, p));
	TRY(fdt_end_node(fdt));
	return fdt_finish(fdt);
}

int arm64_fdt_write(const struct arm64_fdt_params *p, void *buf, size_t len)
{
	if (p->nr_vcpus == 0 || (p->gic_version != 2 && p->gic_version != 3))
		return -EINVAL;
	int ret = fdt_create(buf, len);
	if (ret == 0)
		ret = write_tree(buf, p);
	if (ret == -FDT_ERR_NOSPACE)
		return -ENOSPC;
	if (ret < 0)
		return -EINVAL;
	return fdt_totalsize(buf);
}
