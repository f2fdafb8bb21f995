// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/arch/x86_64/cpuid.h"

#define LEAF1_ECX_TSC_DEADLINE (1u << 24)
#define LEAF1_ECX_HYPERVISOR   (1u << 31)
#define LEAF1_EDX_HTT	       (1u << 28)

#define TOPO_LEVEL_SMT	8 /* leaf 0xb ECX[15:8] level types */
#define TOPO_LEVEL_CORE 2

/* KVM says E2BIG until the table is large enough: grow it until it fits. */
static struct kvm_cpuid2 *get_cpuid_table(int fd, unsigned long request)
{
	for (unsigned int nent = 64; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return NULL;
		c->nent = nent;
		if (ioctl(fd, request, c) == 0)
			return c;
		int err = errno;
		free(c);
		if (err != E2BIG)
			return NULL;
	}
	return NULL;
}

struct kvm_cpuid2 *x86_cpuid_supported(int kvm_fd)
{
	return get_cpuid_table(kvm_fd, KVM_GET_SUPPORTED_CPUID);
}

struct kvm_cpuid2 *x86_cpuid_of_vcpu(int vcpu_fd)
{
	return get_cpuid_table(vcpu_fd, KVM_GET_CPUID2);
}

/* Bits needed to number n things: 1 -> 0, 2 -> 1, 3..4 -> 2, ... */
static unsigned int id_bits(unsigned int n)
{
	unsigned int bits = 0;
	while ((1u << bits) < n)
		bits++;
	return bits;
}

static void filter_entry(struct kvm_cpuid_entry2 *e, unsigned int id, unsigned int nr,
			 bool tsc_deadline)
{
	switch (e->function) {
	case 0x1:
		e->ebx = (e->ebx & 0xffff) | (id << 24) | ((nr > 255 ? 255u : nr) << 16);
		e->ecx |= LEAF1_ECX_HYPERVISOR;
		if (tsc_deadline)
			e->ecx |= LEAF1_ECX_TSC_DEADLINE;
		if (nr > 1)
			e->edx |= LEAF1_EDX_HTT;
		else
			e->edx &= ~LEAF1_EDX_HTT;
		break;
	case 0x4:
		/* Cores per package, and which cores share each cache level. */
		e->eax &= 0x3fff;
		e->eax |= (nr - 1) << 26;
		if (((e->eax >> 5) & 0x7) >= 3)
			e->eax |= (nr - 1) << 14;
		break;
	case 0x6:
		e->ecx &= ~(1u << 3); /* no energy-performance bias MSR */
		break;
	case 0xa:
		e->eax = e->ebx = e->ecx = e->edx = 0; /* no PMU */
		break;
	case 0xb:
	case 0x1f:
		if (e->index == 0) {
			e->eax = 0;
			e->ebx = 1;
			e->ecx = (TOPO_LEVEL_SMT << 8) | 0;
		} else if (e->index == 1) {
			e->eax = id_bits(nr);
			e->ebx = nr;
			e->ecx = (TOPO_LEVEL_CORE << 8) | 1;
		} else {
			e->eax = e->ebx = 0;
			e->ecx = e->index;
		}
		e->edx = id;
		break;
	case 0x80000008:
		e->ecx = (id_bits(nr) << 12) | (nr - 1);
		break;
	case 0x8000001e:
		e->eax = id;
		e->ebx = id & 0xff;
		e->ecx = 0;
		break;
	default:
		break;
	}
}

int x86_cpuid_setup_vcpu(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned int vcpu_id,
			 unsigned int nr_vcpus, bool tsc_deadline)
{
	size_t size = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);
	if (!c)
		return -ENOMEM;
	memcpy(c, supported, size);
	for (unsigned int i = 0; i < c->nent; i++)
		filter_entry(&c->entries[i], vcpu_id, nr_vcpus, tsc_deadline);
	int ret = ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	free(c);
	return ret;
}
