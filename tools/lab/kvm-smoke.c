// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-smoke: proves that /dev/kvm really runs guest code.
 *
 * Creates a VM with one page of RAM and one vCPU in real mode, runs
 * "mov al,0x42; mov dx,0x1234; out dx,al; hlt" and checks that exactly an
 * IO exit (port 0x1234, value 0x42) and then a HLT exit come back.
 * Exit status: 0 pass, 1 wrong exits, 2 KVM unusable.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUEST_ADDR 0x1000
#define TEST_PORT  0x1234
#define TEST_VALUE 0x42

static const uint8_t guest_code[] = {
	0xb0, TEST_VALUE,		    /* mov al, 0x42 */
	0xba, TEST_PORT & 0xff, TEST_PORT >> 8, /* mov dx, 0x1234 */
	0xee,				    /* out dx, al */
	0xf4,				    /* hlt */
};

static int fail(const char *what)
{
	fprintf(stderr, "kvm-smoke: %s: %s\n", what, strerror(errno));
	return 2;
}

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		fprintf(stderr, "kvm-smoke: KVM API version %d, want %d\n", api, KVM_API_VERSION);
		return 2;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");

	uint8_t *mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap guest memory");
	memcpy(mem, guest_code, sizeof(guest_code));
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = GUEST_ADDR,
		.memory_size = 0x1000,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(struct kvm_run))
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");

	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	struct kvm_regs regs = { .rip = GUEST_ADDR, .rflags = 0x2 };
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		return fail("KVM_RUN (first)");
	if (run->exit_reason != KVM_EXIT_IO) {
		fprintf(stderr, "kvm-smoke: FAIL: first exit %u, want KVM_EXIT_IO\n", run->exit_reason);
		return 1;
	}
	uint8_t value = *((uint8_t *)run + run->io.data_offset);
	printf("kvm-smoke: exit IO dir=%s port=0x%x size=%u value=0x%x\n",
	       run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", run->io.port, run->io.size,
	       value);
	if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != TEST_PORT ||
	    run->io.size != 1 || run->io.count != 1 || value != TEST_VALUE) {
		fprintf(stderr, "kvm-smoke: FAIL: wrong IO exit\n");
		return 1;
	}

	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		return fail("KVM_RUN (second)");
	if (run->exit_reason != KVM_EXIT_HLT) {
		fprintf(stderr, "kvm-smoke: FAIL: second exit %u, want KVM_EXIT_HLT\n",
			run->exit_reason);
		return 1;
	}
	printf("kvm-smoke: exit HLT\n");
	printf("kvm-smoke: PASS\n");
	return 0;
}
