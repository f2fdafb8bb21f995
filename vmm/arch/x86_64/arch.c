// SPDX-License-Identifier: GPL-2.0
/* x86_64 behind struct arch: KVM's x86 pieces, the legacy devices, the vCPUs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/log.h"
#include "vmm/kvm_caps.h"
#include "base/util.h"
#include "vmm/arch/x86_64/boot_params.h"
#include "vmm/arch/x86_64/cpu_state.h"
#include "vmm/arch/x86_64/cpuid.h"
#include "vmm/arch/x86_64/layout.h"
#include "vmm/arch/x86_64/snapshot.h"
#include "vmm/arch/x86_64/x86.h"

#define SERIAL_PORT_LEN	 8
#define I8042_PORT_LEN	 (I8042_COMMAND_PORT - I8042_DATA_PORT + 1)

/* Device slots' interrupts. GSI 8 is skipped: KVM's IOAPIC treats it as the RTC's. */
static const unsigned char device_gsis[] = { 5,	 6,  7,	 9,  10, 11, 12, 13, 14,
					     15, 16, 17, 18, 19, 20, 21, 22, 23 };

static int x86_probe(int kvm_fd, struct arch_vm **out)
{
	static const struct kvm_cap_need required[] = {
		KVM_CAP_NEED(KVM_CAP_PIT2),
		KVM_CAP_NEED(KVM_CAP_EXT_CPUID),
	};
	int ret = kvm_require_caps(kvm_fd, required, ARRAY_SIZE(required));
	if (ret < 0)
		return ret;
	struct arch_vm *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->kvm_fd = kvm_fd;
	a->vm_fd = -1;
	bus_init(&a->pio_bus, "pio");
	a->tsc_deadline = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	a->cpuid = x86_cpuid_supported(kvm_fd);
	if (!a->cpuid) {
		log_err("KVM_GET_SUPPORTED_CPUID failed: %s", strerror(errno));
		free(a);
		return -ENOTSUP;
	}
	*out = a;
	return 0;
}

static void x86_destroy(struct arch_vm *a)
{
	if (!a)
		return;
	if (a->platform_ready) {
		/* A stop that fell back to SIGTERM: did the guest take the keys? */
		if (a->i8042.out_len)
			log_debug("i8042: %u byte(s) the guest never read, the next 0x%02x",
				  a->i8042.out_len, a->i8042.out[a->i8042.out_head]);
		serial_destroy(&a->serial);
		i8042_destroy(&a->i8042);
	}
	free(a->cpuid);
	free(a);
}

static int x86_device_slot(unsigned int index, struct device_slot *slot)
{
	if (index >= ARRAY_SIZE(device_gsis))
		return -ENOSPC;
	slot->addr = X86_VIRTIO_MMIO_BASE + index * X86_VIRTIO_MMIO_SLOT;
	slot->size = X86_VIRTIO_MMIO_SLOT;
	slot->gsi = device_gsis[index];
	return 0;
}

static int x86_create_irqchip(struct arch_vm *a, int vm_fd)
{
	a->vm_fd = vm_fd;
	if (ioctl(vm_fd, KVM_SET_TSS_ADDR, (unsigned long)X86_TSS_ADDR) < 0) {
		log_err("KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -errno;
	}
	uint64_t identity = X86_IDENTITY_MAP_ADDR;
	if (ioctl(vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0) {
		log_err("KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		log_err("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -errno;
	}
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	if (ioctl(vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		log_err("KVM_CREATE_PIT2: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void irq_line(struct arch_vm *a, unsigned int gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };
	if (ioctl(a->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		log_err("KVM_IRQ_LINE gsi %u level %d: %s", gsi, level, strerror(errno));
}

static void serial_irq(void *opaque, int level)
{
	irq_line(opaque, X86_SERIAL_GSI, level);
}

static void guest_reset(void *opaque)
{
	struct arch_vm *a = opaque;
	a->platform.guest_exit(a->platform.opaque, "guest reset (i8042)");
}

static void acpi_poweroff(void *opaque)
{
	struct arch_vm *a = opaque;
	a->platform.guest_exit(a->platform.opaque, "guest powered off (ACPI S5)");
}

static void acpi_reset(void *opaque)
{
	struct arch_vm *a = opaque;
	a->platform.guest_exit(a->platform.opaque, "guest reset (ACPI reset register)");
}

/* IRQ 1 is edge-triggered: a pulse per batch of keyboard bytes. */
static void keyboard_irq(void *opaque)
{
	irq_line(opaque, I8042_KBD_GSI, 1);
	irq_line(opaque, I8042_KBD_GSI, 0);
}

static int x86_create_platform(struct arch_vm *a, const struct arch_platform *p)
{
	a->platform = *p;
	serial_init(&a->serial, 1, serial_irq, a);
	i8042_init(&a->i8042, guest_reset, keyboard_irq, a);
	a->platform_ready = true;
	int ret = bus_register(&a->pio_bus, X86_COM1_PORT, SERIAL_PORT_LEN, &serial_bus_ops,
			       &a->serial, "serial");
	if (ret == 0)
		ret = bus_register(&a->pio_bus, I8042_DATA_PORT, I8042_PORT_LEN, &i8042_bus_ops,
				   &a->i8042, "i8042");
	acpi_pm_init(&a->pm, ACPI_PM_RESET_VALUE, acpi_poweroff, acpi_reset, a);
	if (ret == 0)
		ret = bus_register(p->mmio_bus, X86_ACPI_PM_ADDR, 0x1000, &acpi_pm_bus_ops, &a->pm,
				   "acpi-pm");
	if (ret == 0 && p->boot_timer) {
		boot_timer_init(&a->boot_timer, p->start_time);
		ret = bus_register(p->mmio_bus, X86_BOOT_TIMER_ADDR, 0x1000, &boot_timer_bus_ops,
				   &a->boot_timer, "boot-timer");
	}
	if (ret < 0)
		log_err("registering legacy devices: %s", strerror(-ret));
	return ret;
}

static struct serial *x86_console(struct arch_vm *a)
{
	return &a->serial;
}

static int x86_request_shutdown(struct arch_vm *a)
{
	return i8042_send_ctrl_alt_del(&a->i8042);
}

static const struct bus *x86_io_bus(const struct arch_vm *a)
{
	return &a->pio_bus;
}

/* Without ACPI the guest learns each slot from virtio_mmio.device=4K@ADDR:GSI. */
static void x86_cmdline_devices(FILE *f, const struct device_slot *slots, unsigned int nr)
{
	for (unsigned int i = 0; i < nr; i++)
		fprintf(f, " virtio_mmio.device=%lluK@0x%llx:%u",
			(unsigned long long)(slots[i].size >> 10),
			(unsigned long long)slots[i].addr, slots[i].gsi);
}

static int x86_vcpu_setup(struct arch_vm *a, int vcpu_fd, unsigned int id, unsigned int nr_vcpus,
			  uint64_t entry)
{
	int ret = x86_cpuid_setup_vcpu(vcpu_fd, a->cpuid, id, nr_vcpus, a->tsc_deadline);
	if (ret < 0)
		return ret;
	ret = x86_setup_vcpu_common(vcpu_fd);
	if (ret < 0)
		return ret;
	/* Secondary vCPUs wait for the guest's INIT/SIPI in the in-kernel LAPIC. */
	if (id == 0)
		ret = x86_setup_boot_regs(vcpu_fd, entry);
	return ret;
}

static bool x86_vcpu_exit(struct arch_vm *a, struct kvm_run *run)
{
	if (run->exit_reason != KVM_EXIT_IO)
		return false;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			bus_write(&a->pio_bus, run->io.port, data, run->io.size);
		else
			bus_read(&a->pio_bus, run->io.port, data, run->io.size);
	}
	return true;
}

/* What the event loop needs to save the state of snapshot.c (PUT /snapshot/create). */
static const struct seccomp_rule snapshot_seccomp[] = {
	SECCOMP_IOCTL(KVM_GET_MP_STATE, "a vCPU's MP state"),
	SECCOMP_IOCTL(KVM_GET_CPUID2, "a vCPU's CPUID"),
	SECCOMP_IOCTL(KVM_GET_REGS, "a vCPU's registers"),
	SECCOMP_IOCTL(KVM_GET_SREGS, "a vCPU's special registers"),
	SECCOMP_IOCTL(KVM_GET_XSAVE, "a vCPU's FPU and vector state"),
	SECCOMP_IOCTL(KVM_GET_XSAVE2, "the same, where it is larger than 4 KiB"),
	SECCOMP_IOCTL(KVM_GET_FPU, "the FPU, where KVM has no XSAVE"),
	SECCOMP_IOCTL(KVM_GET_XCRS, "a vCPU's XCR0"),
	SECCOMP_IOCTL(KVM_GET_DEBUGREGS, "a vCPU's debug registers"),
	SECCOMP_IOCTL(KVM_GET_LAPIC, "a vCPU's local APIC"),
	SECCOMP_IOCTL(KVM_GET_TSC_KHZ, "a vCPU's TSC frequency"),
	SECCOMP_IOCTL(KVM_GET_MSR_INDEX_LIST, "which MSRs KVM can save"),
	SECCOMP_IOCTL(KVM_GET_MSRS, "a vCPU's MSRs"),
	SECCOMP_IOCTL(KVM_GET_VCPU_EVENTS, "a vCPU's pending events"),
	SECCOMP_IOCTL(KVM_CHECK_EXTENSION, "the XSAVE area's size, XCRs"),
	SECCOMP_IOCTL(KVM_GET_IRQCHIP, "the PICs and the IOAPIC"),
	SECCOMP_IOCTL(KVM_GET_PIT2, "the PIT"),
	SECCOMP_IOCTL(KVM_GET_CLOCK, "the KVM clock"),
};

const struct arch host_arch = {
	.name = "x86_64",
	.max_vcpus = X86_MAX_VCPUS,
	.spare_slot_gpa = X86_MMIO_GAP_START,
	.probe = x86_probe,
	.destroy = x86_destroy,
	.ram_layout = x86_ram_layout,
	.device_slot = x86_device_slot,
	.create_irqchip = x86_create_irqchip,
	.create_platform = x86_create_platform,
	.console = x86_console,
	.request_shutdown = x86_request_shutdown,
	.io_bus = x86_io_bus,
	.cmdline_devices = x86_cmdline_devices,
	.boot_check = x86_boot_check,
	.boot_load = x86_boot_load,
	.boot_free = x86_boot_free,
	.vcpu_setup = x86_vcpu_setup,
	.vcpu_exit = x86_vcpu_exit,
	.vcpu_format_regs = x86_format_regs,
	.vcpu_save = x86_vcpu_save,
	.vcpu_restore = x86_vcpu_restore,
	.vm_save = x86_vm_save,
	.vm_restore = x86_vm_restore,
	.snapshot_seccomp = snapshot_seccomp,
	.nr_snapshot_seccomp = ARRAY_SIZE(snapshot_seccomp),
};
