// SPDX-License-Identifier: GPL-2.0
#include "vmm/arch/x86_64/cpu_state.h"

#include <errno.h>
#include <stdbool.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/arch/x86_64/layout.h"
#include "base/log.h"
#include "base/util.h"

#define CR0_PE	 (1ull << 0)
#define CR0_ET	 (1ull << 4)
#define CR0_PG	 (1ull << 31)
#define CR4_PAE	 (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#define PTE_PRESENT (1ull << 0)
#define PTE_RW	    (1ull << 1)
#define PTE_PS	    (1ull << 7)

#define GDT_CODE64 0x00af9b000000ffffull
#define GDT_DATA   0x00cf93000000ffffull
#define GDT_TSS	   0x008f8b000000ffffull
#define SEL_CODE   0x08
#define SEL_DATA   0x10
#define SEL_TSS	   0x18

#define MSR_IA32_TSC		0x10
#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102

#define MISC_ENABLE_FAST_STRING 1ull
#define MTRR_ENABLE_WRITEBACK	((1ull << 11) | 6)

#define APIC_TASKPRI	 0x80
#define APIC_ISR	 0x100
#define APIC_IRR	 0x200
#define APIC_LVT0	 0x350
#define APIC_LVT1	 0x360
#define APIC_MODE_NMI	 0x4
#define APIC_MODE_EXTINT 0x7

int x86_write_boot_tables(struct guest_memory *mem)
{
	const uint64_t gdt[] = { 0, GDT_CODE64, GDT_DATA, GDT_TSS };
	int ret = mem_write(mem, X86_GDT_ADDR, gdt, sizeof(gdt));
	if (ret < 0)
		return ret;
	uint64_t idt = 0;
	ret = mem_write(mem, X86_IDT_ADDR, &idt, sizeof(idt));
	if (ret < 0)
		return ret;

	/* Identity map the first 4 GiB with 2 MiB pages: kernel, zero page, cmdline, initrd. */
	uint64_t *pml4 = mem_gpa_to_hva(mem, X86_PML4_ADDR, 4096);
	uint64_t *pdpt = mem_gpa_to_hva(mem, X86_PDPT_ADDR, 4096);
	uint64_t *pd = mem_gpa_to_hva(mem, X86_PD_ADDR, 4 * 4096);
	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = X86_PDPT_ADDR | PTE_PRESENT | PTE_RW;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (X86_PD_ADDR + i * 4096) | PTE_PRESENT | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_RW | PTE_PS;
	return 0;
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, bool code)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = code ? 0 : 1,
		.s = 1,
		.l = code ? 1 : 0,
		.g = 1,
	};
}

int x86_setup_boot_regs(int vcpu_fd, uint64_t entry)
{
	struct kvm_sregs sregs;
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.gdt.base = X86_GDT_ADDR;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.idt.base = X86_IDT_ADDR;
	sregs.idt.limit = 7;
	sregs.cs = flat_segment(SEL_CODE, 0xb, true);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = flat_segment(SEL_DATA, 0x3, false);
	sregs.tr = flat_segment(SEL_TSS, 0xb, false);
	sregs.tr.s = 0;
	sregs.tr.db = 0;
	sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
	sregs.cr3 = X86_PML4_ADDR;
	sregs.cr4 = CR4_PAE;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	struct kvm_regs regs = {
		.rip = entry,
		.rsi = X86_ZERO_PAGE_ADDR,
		.rsp = X86_BOOT_STACK,
		.rbp = X86_BOOT_STACK,
		.rflags = 0x2,
	};
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

static int set_msrs(int vcpu_fd)
{
	static const struct {
		uint32_t index;
		uint64_t value;
	} boot_msrs[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },  { MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 },
		{ MSR_LSTAR, 0 },	      { MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 },    { MSR_SYSCALL_MASK, 0 },
		{ MSR_IA32_TSC, 0 },	      { MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		{ MSR_MTRR_DEF_TYPE, MTRR_ENABLE_WRITEBACK },
	};
	const size_t n = ARRAY_SIZE(boot_msrs);
	struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + n * sizeof(struct kvm_msr_entry));
	if (!msrs)
		return -ENOMEM;
	msrs->nmsrs = n;
	for (size_t i = 0; i < n; i++) {
		msrs->entries[i].index = boot_msrs[i].index;
		msrs->entries[i].data = boot_msrs[i].value;
	}
	int set = ioctl(vcpu_fd, KVM_SET_MSRS, msrs);
	free(msrs);
	if (set < 0)
		return -errno;
	if ((size_t)set != n) {
		log_err("vcpu: KVM_SET_MSRS stopped at MSR 0x%x", boot_msrs[set].index);
		return -EINVAL;
	}
	return 0;
}

static void set_lvt_mode(struct kvm_lapic_state *lapic, unsigned int reg, uint32_t mode)
{
	uint32_t v;
	memcpy(&v, &lapic->regs[reg], sizeof(v));
	v = (v & ~(0x7u << 8)) | (mode << 8);
	memcpy(&lapic->regs[reg], &v, sizeof(v));
}

int x86_setup_vcpu_common(int vcpu_fd)
{
	int ret = set_msrs(vcpu_fd);
	if (ret < 0)
		return ret;

	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	if (ioctl(vcpu_fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;

	/* The PIC's output reaches the CPU through LINT0, NMIs through LINT1. */
	struct kvm_lapic_state lapic;
	if (ioctl(vcpu_fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	set_lvt_mode(&lapic, APIC_LVT0, APIC_MODE_EXTINT);
	set_lvt_mode(&lapic, APIC_LVT1, APIC_MODE_NMI);
	if (ioctl(vcpu_fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

static uint32_t lapic_reg(const struct kvm_lapic_state *lapic, unsigned int reg)
{
	uint32_t v;
	memcpy(&v, &lapic->regs[reg], sizeof(v));
	return v;
}

/* The highest vector set in a 256-bit register (IRR, ISR), or -1. */
static int lapic_highest_vector(const struct kvm_lapic_state *lapic, unsigned int reg)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t bits = lapic_reg(lapic, reg + 0x10 * (unsigned int)i);
		if (bits)
			return i * 32 + 31 - __builtin_clz(bits);
	}
	return -1;
}

int x86_lapic_deliverable_vector(const struct kvm_lapic_state *lapic)
{
	int irr = lapic_highest_vector(lapic, APIC_IRR);
	int isr = lapic_highest_vector(lapic, APIC_ISR);
	int priority = (int)(lapic_reg(lapic, APIC_TASKPRI) & 0xf0);
	if (isr >= 0 && (isr & 0xf0) > priority)
		priority = isr & 0xf0;
	return irr >= 0 && (irr & 0xf0) > priority ? irr : -1;
}

#define RFLAGS_IF (1ull << 9)

int x86_lapic_in_service_vector(const struct kvm_lapic_state *lapic)
{
	return lapic_highest_vector(lapic, APIC_ISR);
}

/* Whether the vCPU sits halted with interrupts on; fills *lapic when it does. */
static bool halted_interruptible(int vcpu_fd, const struct kvm_regs *r,
				 struct kvm_lapic_state *lapic)
{
	struct kvm_mp_state mp;
	return (r->rflags & RFLAGS_IF) && ioctl(vcpu_fd, KVM_GET_MP_STATE, &mp) == 0 &&
	       mp.mp_state == KVM_MP_STATE_HALTED && ioctl(vcpu_fd, KVM_GET_LAPIC, lapic) == 0;
}

void x86_format_regs(int vcpu_fd, char *buf, size_t len)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(vcpu_fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu_fd, KVM_GET_SREGS, &s) < 0) {
		snprintf(buf, len, "(registers unavailable)");
		return;
	}
	int n = snprintf(buf, len,
			 "rip=0x%llx rsp=0x%llx rflags=0x%llx rax=0x%llx rbx=0x%llx rcx=0x%llx "
			 "rdx=0x%llx rsi=0x%llx rdi=0x%llx rbp=0x%llx cr0=0x%llx cr2=0x%llx "
			 "cr3=0x%llx cr4=0x%llx efer=0x%llx cs=0x%x",
			 r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp,
			 s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.cs.selector);
	struct kvm_lapic_state lapic;
	if (n < 0 || (size_t)n >= len || !halted_interruptible(vcpu_fd, &r, &lapic))
		return;
	/*
	 * A halted CPU takes a deliverable vector at once. A vector in service
	 * means the APIC delivered it and the guest never ran its handler to the
	 * EOI, which Linux's idle loop never halts inside.
	 */
	int pending = x86_lapic_deliverable_vector(&lapic);
	int in_service = x86_lapic_in_service_vector(&lapic);
	if (pending >= 0)
		snprintf(buf + n, len - (size_t)n,
			 "; halted with interrupts on and vector 0x%02x pending in its local APIC",
			 pending);
	else if (in_service >= 0)
		snprintf(buf + n, len - (size_t)n,
			 "; halted with interrupts on and vector 0x%02x in service in its local "
			 "APIC",
			 in_service);
}
