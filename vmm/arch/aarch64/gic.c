// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel vGIC (Documentation/virt/kvm/devices/arm-vgic-v3.rst and
 * arm-vgic.rst): GICv3 when KVM offers it, else GICv2. Created before the
 * vCPUs with its addresses and SPI count, initialised after them.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"
#include "vmm/arch/aarch64/arm64.h"
#include "vmm/arch/aarch64/layout.h"

static int set_attr(int fd, uint32_t group, uint64_t attr, const void *value, const char *what)
{
	struct kvm_device_attr a = { .group = group, .attr = attr, .addr = (uintptr_t)value };
	if (ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0) {
		int err = -errno;
		log_err("vGIC: setting %s: %s", what, strerror(errno));
		return err;
	}
	return 0;
}

int arm64_gic_create(struct arch_vm *a, int vm_fd)
{
	struct kvm_create_device dev = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
	a->gic_version = 3;
	if (ioctl(vm_fd, KVM_CREATE_DEVICE, &dev) < 0) {
		int v3_errno = errno;
		dev = (struct kvm_create_device){ .type = KVM_DEV_TYPE_ARM_VGIC_V2 };
		a->gic_version = 2;
		if (ioctl(vm_fd, KVM_CREATE_DEVICE, &dev) < 0) {
			int err = -errno;
			log_err("KVM_CREATE_DEVICE: no in-kernel GICv3 (%s) nor GICv2 (%s)",
				strerror(v3_errno), strerror(errno));
			return err;
		}
		log_debug("KVM has no GICv3 (%s): using GICv2", strerror(v3_errno));
	}
	a->gic_fd = dev.fd;

	uint64_t dist = ARM64_GIC_DIST_BASE;
	int ret;
	if (a->gic_version == 3) {
		/* One redistributor region from here; KVM sizes it by the vCPU count at init. */
		uint64_t redist = ARM64_GIC_REDIST_BASE;
		ret = set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST,
			       &dist, "the distributor address");
		if (ret == 0)
			ret = set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
				       KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist,
				       "the redistributor address");
	} else {
		uint64_t cpu = ARM64_GIC_CPU_BASE;
		ret = set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_DIST,
			       &dist, "the distributor address");
		if (ret == 0)
			ret = set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
				       KVM_VGIC_V2_ADDR_TYPE_CPU, &cpu,
				       "the CPU interface address");
	}
	uint32_t nr_irqs = ARM64_SPI_INTID_BASE + ARM64_NR_SPIS;
	if (ret == 0)
		ret = set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs,
			       "the number of interrupts");
	return ret;
}

int arm64_gic_init(struct arch_vm *a)
{
	return set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL,
			"CTRL_INIT");
}

void arm64_gic_spi_line(struct arch_vm *a, unsigned int spi, int level)
{
	struct kvm_irq_level irq = {
		.irq = KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT |
		       (ARM64_SPI_INTID_BASE + spi) << KVM_ARM_IRQ_NUM_SHIFT,
		.level = level,
	};
	if (ioctl(a->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		log_err("KVM_IRQ_LINE SPI %u level %d: %s", spi, level, strerror(errno));
}
