// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-hold: keeps KVM objects open in L1 for the whole lab run, so that
 * starting and stopping the tests' VMs patches no live kernel text.
 *
 * Why: KVM flips static keys when counts go from 0 to 1 and back, and each
 * flip rewrites kernel code with int3 patching. Under QEMU TCG, that
 * patching was caught leaving both L1 CPUs looping at the patched site:
 *  - the preempt-notifier key in __schedule (and SVM enabled and disabled
 *    on every CPU) flips with the number of VMs: an empty VM holds it;
 *  - apic_sw_disabled flips when the number of vCPUs whose local APIC is
 *    software-disabled goes to 0, one second after each guest enables its
 *    APIC: both CPUs were stuck in __apic_accept_irq at that key's branch,
 *    one in exc_int3 (a lab run of 2026-12-04). A vCPU that never runs
 *    keeps its APIC disabled, so the count never drops to 0;
 *  - kvm_has_noapic_vcpu flips with vCPUs made without an in-kernel irqchip:
 *    a second VM holds one such vCPU.
 * L1 also crashed in exception entry on vCPU threads around VM starts and
 * stops, likely the same cause (not proven). kvm-hold's own flips, at L1's
 * boot, still hung it now and then, so l1-init runs it with one CPU online.
 *
 * Runs as a static binary from the L1 initramfs; prints one line and exits
 * 1 if it cannot create what it holds, otherwise waits to be killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int fail(const char *what)
{
	printf("kvm-hold: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("/dev/kvm");
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	/* x86 only: its vCPU then gets an in-kernel local APIC, disabled at reset. */
	int irqchip = ioctl(vm, KVM_CREATE_IRQCHIP, 0) == 0;
	if (ioctl(vm, KVM_CREATE_VCPU, 0) < 0)
		return fail("KVM_CREATE_VCPU");
	int vm_noapic = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm_noapic < 0)
		return fail("KVM_CREATE_VM (second)");
	if (ioctl(vm_noapic, KVM_CREATE_VCPU, 0) < 0)
		return fail("KVM_CREATE_VCPU (second VM)");
	printf("kvm-hold: holding two VMs, each with a vCPU that never runs%s\n",
	       irqchip ? "; the first's local APIC stays disabled" : "");
	fflush(stdout);
	for (;;)
		pause();
}
