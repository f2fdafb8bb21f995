// SPDX-License-Identifier: GPL-2.0
/*
 * arm64 vCPUs: KVM's preferred CPU model with PSCI 0.2 in KVM, so the guest
 * starts secondaries with CPU_ON and powers off or resets with SYSTEM_OFF
 * and SYSTEM_RESET (seen as KVM_EXIT_SYSTEM_EVENT). vCPU 0 enters the
 * kernel as booting.rst asks: EL1h, interrupts masked, x0 = the FDT.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/log.h"
#include "vmm/arch/aarch64/arm64.h"

#define CORE_REG(field) \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(field))

static int set_reg(int vcpu_fd, uint64_t id, uint64_t value, const char *name)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&value };
	if (ioctl(vcpu_fd, KVM_SET_ONE_REG, &reg) < 0) {
		int err = -errno;
		log_err("KVM_SET_ONE_REG %s: %s", name, strerror(errno));
		return err;
	}
	return 0;
}

static int get_reg(int vcpu_fd, uint64_t id, uint64_t *value)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)value };
	return ioctl(vcpu_fd, KVM_GET_ONE_REG, &reg) < 0 ? -errno : 0;
}

int arm64_vcpu_setup(struct arch_vm *a, int vcpu_fd, unsigned int id, unsigned int nr_vcpus,
		     uint64_t entry)
{
	struct kvm_vcpu_init init;
	memset(&init, 0, sizeof(init));
	if (ioctl(a->vm_fd, KVM_ARM_PREFERRED_TARGET, &init) < 0) {
		int err = -errno;
		log_err("KVM_ARM_PREFERRED_TARGET: %s", strerror(errno));
		return err;
	}
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	/* Secondaries stay off until the guest's PSCI CPU_ON. */
	if (id != 0)
		init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(vcpu_fd, KVM_ARM_VCPU_INIT, &init) < 0) {
		int err = -errno;
		log_err("KVM_ARM_VCPU_INIT (target %u): %s", init.target, strerror(errno));
		return err;
	}
	if (id != 0)
		return 0;
	uint64_t pstate = PSR_MODE_EL1h | PSR_D_BIT | PSR_A_BIT | PSR_I_BIT | PSR_F_BIT;
	int ret = set_reg(vcpu_fd, CORE_REG(regs.pstate), pstate, "pstate");
	if (ret == 0)
		ret = set_reg(vcpu_fd, CORE_REG(regs.pc), entry, "pc");
	if (ret == 0)
		ret = set_reg(vcpu_fd, CORE_REG(regs.regs[0]), a->fdt_addr, "x0");
	return ret;
}

void arm64_format_regs(int vcpu_fd, char *buf, size_t len)
{
	uint64_t pc = 0, pstate = 0, sp = 0, lr = 0, x0 = 0;
	if (get_reg(vcpu_fd, CORE_REG(regs.pc), &pc) < 0) {
		snprintf(buf, len, "registers unavailable (KVM_GET_ONE_REG: %s)", strerror(errno));
		return;
	}
	get_reg(vcpu_fd, CORE_REG(regs.pstate), &pstate);
	get_reg(vcpu_fd, CORE_REG(sp_el1), &sp);
	get_reg(vcpu_fd, CORE_REG(regs.regs[30]), &lr);
	get_reg(vcpu_fd, CORE_REG(regs.regs[0]), &x0);
	snprintf(buf, len, "pc=0x%llx pstate=0x%llx sp_el1=0x%llx lr=0x%llx x0=0x%llx",
		 (unsigned long long)pc, (unsigned long long)pstate, (unsigned long long)sp,
		 (unsigned long long)lr, (unsigned long long)x0);
}
