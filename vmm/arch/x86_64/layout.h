/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_X86_LAYOUT_H
#define EBB_X86_LAYOUT_H

/* Guest-physical layout for the x86_64 boot path. */

#define X86_GDT_ADDR		0x500
#define X86_IDT_ADDR		0x520
#define X86_ZERO_PAGE_ADDR	0x7000 /* struct boot_params */
#define X86_BOOT_STACK		0x8ff0
#define X86_PML4_ADDR		0x9000
#define X86_PDPT_ADDR		0xa000
#define X86_PD_ADDR		0xb000 /* four pages: identity map of the first 4 GiB */
#define X86_CMDLINE_ADDR	0x20000
#define X86_CMDLINE_MAX		4096 /* including the NUL; the kernel's own limit may be lower */
#define X86_EBDA_START		0x9fc00 /* the MP table lives in the EBDA, outside usable RAM */
#define X86_HIMEM_START		0x100000
#define X86_KERNEL_LOAD_ADDR	0x100000 /* bzImage protected-mode code */

/* The 32-bit MMIO gap: [3 GiB, 4 GiB) is never RAM. */
#define X86_MMIO_GAP_START	0xc0000000ull
#define X86_MMIO_GAP_END	0x100000000ull

/* The ACPI power-management registers (devices/acpi_pm.h), just below ebb's devices. */
#define X86_ACPI_PM_ADDR	0xcffff000ull
#define X86_COM1_PORT		0x3f8

/* ebb's own MMIO devices, allocated from here in 4 KiB slots. */
#define X86_BOOT_TIMER_ADDR	0xd0000000ull
#define X86_VIRTIO_MMIO_BASE	0xd0001000ull
#define X86_VIRTIO_MMIO_SLOT	0x1000ull

#define X86_IDENTITY_MAP_ADDR	0xfeffc000ull /* VMX real-mode helper pages */
#define X86_TSS_ADDR		0xfeffd000ull
#define X86_IOAPIC_ADDR		0xfec00000ull
#define X86_LAPIC_ADDR		0xfee00000ull

/* ISA interrupts: 4 is COM1; device slots take GSIs from 5 upwards (arch.c). */
#define X86_SERIAL_GSI		4

#endif
