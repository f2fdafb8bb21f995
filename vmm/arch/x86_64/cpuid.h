/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_X86_CPUID_H
#define EBB_X86_CPUID_H

#include <linux/kvm.h>

/* KVM_GET_SUPPORTED_CPUID, allocated; free() it. NULL on failure. */
struct kvm_cpuid2 *x86_cpuid_supported(int kvm_fd);
/* KVM_GET_CPUID2: the CPUID a vCPU was given, allocated; free() it. NULL on failure. */
struct kvm_cpuid2 *x86_cpuid_of_vcpu(int vcpu_fd);

/*
 * Sets the filtered CPUID on one vCPU: its APIC id, the topology of
 * nr_vcpus single-thread cores in one socket, the hypervisor bit, KVM's
 * leaves, and no PMU.
 */
int x86_cpuid_setup_vcpu(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned int vcpu_id,
			 unsigned int nr_vcpus, bool tsc_deadline);

#endif
