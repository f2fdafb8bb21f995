// SPDX-License-Identifier: GPL-2.0
/* arm64 behind struct arch: the vGIC, the MMIO UART, PSCI vCPUs, the FDT boot. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"
#include "vmm/kvm_caps.h"
#include "base/util.h"
#include "vmm/arch/aarch64/arm64.h"
#include "vmm/arch/aarch64/layout.h"

/* The 16550A's eight byte-wide registers (reg-shift 0, reg-io-width 1). */
#define UART_REG_SPAN 8

static int arm64_probe(int kvm_fd, struct arch_vm **out)
{
	static const struct kvm_cap_need required[] = {
		KVM_CAP_NEED(KVM_CAP_ARM_PSCI_0_2),
		KVM_CAP_NEED(KVM_CAP_ONE_REG),
		KVM_CAP_NEED(KVM_CAP_DEVICE_CTRL),
	};
	int ret = kvm_require_caps(kvm_fd, required, ARRAY_SIZE(required));
	if (ret < 0)
		return ret;
	struct arch_vm *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->kvm_fd = kvm_fd;
	a->vm_fd = a->gic_fd = -1;
	*out = a;
	return 0;
}

static void arm64_destroy(struct arch_vm *a)
{
	if (!a)
		return;
	if (a->platform_ready)
		serial_destroy(&a->serial);
	if (a->gic_fd >= 0)
		close(a->gic_fd);
	free(a);
}

static unsigned int arm64_ram_layout(uint64_t ram_size, struct mem_region *regions)
{
	regions[0] = (struct mem_region){ .gpa = ARM64_RAM_BASE, .size = ram_size };
	return 1;
}

static int arm64_device_slot(unsigned int index, struct device_slot *slot)
{
	if (index >= ARM64_VIRTIO_SLOTS)
		return -ENOSPC;
	slot->addr = ARM64_VIRTIO_MMIO_BASE + index * ARM64_VIRTIO_MMIO_SLOT;
	slot->size = ARM64_VIRTIO_MMIO_SLOT;
	/* KVM's default arm64 routing maps GSI n to SPI n, so irqfds take the SPI. */
	slot->gsi = ARM64_VIRTIO_FIRST_SPI + index;
	return 0;
}

static int arm64_create_irqchip(struct arch_vm *a, int vm_fd)
{
	a->vm_fd = vm_fd;
	return arm64_gic_create(a, vm_fd);
}

static int arm64_vcpus_created(struct arch_vm *a, unsigned int nr_vcpus)
{
	return arm64_gic_init(a);
}

static void serial_irq(void *opaque, int level)
{
	arm64_gic_spi_line(opaque, ARM64_UART_SPI, level);
}

static int arm64_create_platform(struct arch_vm *a, const struct arch_platform *p)
{
	a->platform = *p;
	serial_init(&a->serial, STDOUT_FILENO, serial_irq, a);
	a->platform_ready = true;
	int ret = bus_register(p->mmio_bus, ARM64_UART_ADDR, UART_REG_SPAN, &serial_bus_ops,
			       &a->serial, "serial");
	if (ret == 0 && p->boot_timer) {
		boot_timer_init(&a->boot_timer, p->start_time);
		ret = bus_register(p->mmio_bus, ARM64_BOOT_TIMER_ADDR, ARM64_BOOT_TIMER_SIZE,
				   &boot_timer_bus_ops, &a->boot_timer, "boot-timer");
	}
	if (ret < 0)
		log_err("registering the platform devices: %s", strerror(-ret));
	return ret;
}

static struct serial *arm64_console(struct arch_vm *a)
{
	return &a->serial;
}

/* No keyboard to press Ctrl+Alt+Del on. */
static int arm64_request_shutdown(struct arch_vm *a)
{
	return -ENOTSUP;
}

static const struct bus *arm64_io_bus(const struct arch_vm *a)
{
	return NULL;
}

static bool arm64_vcpu_exit(struct arch_vm *a, struct kvm_run *run)
{
	return false; /* MMIO and PSCI system events are generic */
}

const struct arch host_arch = {
	.name = "aarch64",
	.max_vcpus = ARM64_MAX_VCPUS,
	.probe = arm64_probe,
	.destroy = arm64_destroy,
	.ram_layout = arm64_ram_layout,
	.device_slot = arm64_device_slot,
	.create_irqchip = arm64_create_irqchip,
	.vcpus_created = arm64_vcpus_created,
	.create_platform = arm64_create_platform,
	.console = arm64_console,
	.request_shutdown = arm64_request_shutdown,
	.io_bus = arm64_io_bus,
	.cmdline_devices = NULL, /* the device tree names every slot */
	.boot_check = arm64_boot_check,
	.boot_load = arm64_boot_load,
	.boot_free = arm64_boot_free,
	.vcpu_setup = arm64_vcpu_setup,
	.vcpu_exit = arm64_vcpu_exit,
	.vcpu_format_regs = arm64_format_regs,
};
