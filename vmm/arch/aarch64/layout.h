/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_ARM64_LAYOUT_H
#define EBB_ARM64_LAYOUT_H

/*
 * Guest-physical layout of the arm64 machine. Devices sit below 2 GiB, RAM
 * starts at 2 GiB (where arm64 boards and QEMU's virt machine put it too).
 */

/* The GIC: distributor, then (v2) the CPU interface or (v3) one
 * redistributor (two 64 KiB frames) per vCPU. */
#define ARM64_GIC_DIST_BASE   0x08000000ull
#define ARM64_GIC_DIST_SIZE   0x10000ull
#define ARM64_GIC_CPU_BASE    0x08010000ull
#define ARM64_GIC_CPU_SIZE    0x2000ull
#define ARM64_GIC_REDIST_BASE 0x08100000ull
#define ARM64_GIC_REDIST_SIZE 0x20000ull /* per vCPU */
#define ARM64_GIC_REDIST_END  0x09000000ull
#define ARM64_MAX_VCPUS	      ((ARM64_GIC_REDIST_END - ARM64_GIC_REDIST_BASE) / ARM64_GIC_REDIST_SIZE)

/* Shared peripheral interrupts the GIC is given: INTIDs 32 to 32 + NR_SPIS - 1. */
#define ARM64_NR_SPIS	     64
#define ARM64_SPI_INTID_BASE 32

/* The console UART (a 16550A, "ns16550a" in the device tree). */
#define ARM64_UART_ADDR	    0x09000000ull
#define ARM64_UART_SIZE	    0x1000ull
#define ARM64_UART_SPI	    1
#define ARM64_UART_CLOCK_HZ 1843200

#define ARM64_BOOT_TIMER_ADDR 0x09001000ull
#define ARM64_BOOT_TIMER_SIZE 0x1000ull

/* virtio-mmio slot i: a 4 KiB window and SPI 16 + i. */
#define ARM64_VIRTIO_MMIO_BASE 0x0a000000ull
#define ARM64_VIRTIO_MMIO_SLOT 0x1000ull
#define ARM64_VIRTIO_FIRST_SPI 16
#define ARM64_VIRTIO_SLOTS     32

#define ARM64_RAM_BASE 0x80000000ull
/* The device tree goes in the last 2 MiB block of RAM (booting.rst: at most 2 MiB). */
#define ARM64_FDT_MAX_SIZE 0x200000ull
/* booting.rst: the initrd and the kernel share one 1 GiB aligned window of up to 32 GiB. */
#define ARM64_INITRD_WINDOW (32ull << 30)
/* The kernel's COMMAND_LINE_SIZE on arm64, NUL included. */
#define ARM64_CMDLINE_MAX 2048

#endif
