// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-hold: keeps one empty VM open in L1 for the whole lab run.
 *
 * Why: KVM patches live kernel text when the number of VMs goes from 0 to
 * 1 and back (the preempt-notifier static key in __schedule, and SVM is
 * enabled and disabled on every CPU). Under QEMU TCG, that patching was
 * caught leaving both L1 CPUs looping in exc_int3 with interrupts off at
 * that site. L1 also crashed in exception entry on vCPU threads around VM
 * starts and stops, likely the same cause (not proven). With one VM always
 * open, starting and stopping the tests' VMs patches nothing.
 *
 * Runs as a static binary from the L1 initramfs; prints one line and
 * exits 1 if it cannot create the VM, otherwise waits to be killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		printf("kvm-hold: /dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		printf("kvm-hold: KVM_CREATE_VM: %s\n", strerror(errno));
		return 1;
	}
	printf("kvm-hold: holding VM fd %d\n", vm);
	fflush(stdout);
	for (;;)
		pause();
}
