// SPDX-License-Identifier: GPL-2.0
#include "vmm/arch.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/arch/x86_64/boot_params.h"
#include "vmm/arch/x86_64/cpu_state.h"
#include "vmm/arch/x86_64/cpuid.h"
#include "vmm/arch/x86_64/layout.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define SERIAL_COM1_PORT 0x3f8
#define SERIAL_PORT_LEN	 8
#define I8042_PORT_LEN	 (I8042_COMMAND_PORT - I8042_DATA_PORT + 1)

int arch_kvm_probe(struct vm *vm)
{
	vm->tsc_deadline = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	vm->cpuid = x86_cpuid_supported(vm->kvm_fd);
	if (!vm->cpuid) {
		log_err("KVM_GET_SUPPORTED_CPUID failed: %s", strerror(errno));
		return -ENOTSUP;
	}
	return 0;
}

unsigned int arch_ram_layout(uint64_t ram_size, struct mem_region *regions)
{
	return x86_ram_layout(ram_size, regions);
}

int arch_vm_setup(struct vm *vm)
{
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)X86_TSS_ADDR) < 0) {
		log_err("KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -errno;
	}
	uint64_t identity = X86_IDENTITY_MAP_ADDR;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0) {
		log_err("KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		log_err("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -errno;
	}
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		log_err("KVM_CREATE_PIT2: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void serial_irq(void *opaque, int level)
{
	vm_irq_line(opaque, X86_SERIAL_GSI, level);
}

static void guest_reset(void *opaque)
{
	vm_request_exit(opaque, EBB_EXIT_OK, "guest reset (i8042)");
}

/* IRQ 1 is edge-triggered: a pulse per batch of keyboard bytes. */
static void keyboard_irq(void *opaque)
{
	vm_irq_line(opaque, I8042_KBD_GSI, 1);
	vm_irq_line(opaque, I8042_KBD_GSI, 0);
}

int arch_register_legacy_devices(struct vm *vm)
{
	serial_init(&vm->serial, 1, serial_irq, vm);
	i8042_init(&vm->i8042, guest_reset, keyboard_irq, vm);
	int ret = bus_register(&vm->pio_bus, SERIAL_COM1_PORT, SERIAL_PORT_LEN, &serial_bus_ops,
			       &vm->serial, "serial");
	if (ret == 0)
		ret = bus_register(&vm->pio_bus, I8042_DATA_PORT, I8042_PORT_LEN, &i8042_bus_ops,
				   &vm->i8042, "i8042");
	if (ret == 0 && vm->cfg->boot_timer) {
		boot_timer_init(&vm->boot_timer, &vm->start_time);
		ret = bus_register(&vm->mmio_bus, X86_BOOT_TIMER_ADDR, 0x1000, &boot_timer_bus_ops,
				   &vm->boot_timer, "boot-timer");
	}
	if (ret < 0)
		log_err("registering legacy devices: %s", strerror(-ret));
	return ret;
}

int arch_vcpu_setup(struct vm *vm, struct vcpu *vcpu, uint64_t entry)
{
	int ret = x86_cpuid_setup_vcpu(vcpu->fd, vm->cpuid, vcpu->id, vm->nr_vcpus,
				       vm->tsc_deadline);
	if (ret < 0)
		return ret;
	ret = x86_setup_vcpu_common(vcpu->fd);
	if (ret < 0)
		return ret;
	/* Secondary vCPUs wait for the guest's INIT/SIPI in the in-kernel LAPIC. */
	if (vcpu->id == 0)
		ret = x86_setup_boot_regs(vcpu->fd, entry);
	return ret;
}

void arch_vcpu_format_regs(struct vcpu *vcpu, char *buf, size_t len)
{
	x86_format_regs(vcpu->fd, buf, len);
}

int arch_device_slot(unsigned int index, uint64_t *addr, uint64_t *size, unsigned int *gsi)
{
	/* GSI 8 is skipped: KVM's IOAPIC treats it as the RTC's. */
	static const unsigned char gsis[] = { 5, 6, 7, 9, 10, 11, 12, 13, 14, 15,
					      16, 17, 18, 19, 20, 21, 22, 23 };
	if (index >= sizeof(gsis))
		return -ENOSPC;
	*addr = X86_VIRTIO_MMIO_BASE + index * X86_VIRTIO_MMIO_SLOT;
	*size = X86_VIRTIO_MMIO_SLOT;
	*gsi = gsis[index];
	return 0;
}
