/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_X86_ACPI_H
#define EBB_X86_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * ACPI tables for an x86_64 microVM: RSDP -> XSDT -> FADT (-> DSDT), MADT.
 * The FADT describes a hardware-reduced platform whose power management is
 * three byte registers in MMIO (sleep control, sleep status, reset); the
 * DSDT names the serial port, the i8042 and every virtio-mmio slot, so a
 * kernel without virtio_mmio.device= support still finds its devices.
 *
 * The builder is pure: it fills a buffer that the caller copies to guest
 * memory at the guest-physical address it was built for.
 */

/* Where ebb puts the tables: the BIOS area Linux scans for the RSDP, never RAM in e820. */
#define ACPI_X86_TABLES_GPA  0xe0000ull
#define ACPI_X86_TABLES_SIZE 0x20000u /* up to 1 MiB */

/* ebb's CPUID hands out 8-bit APIC ids, and 0xff is the xAPIC broadcast id. */
#define ACPI_MAX_VCPUS	      255
#define ACPI_MAX_MMIO_DEVICES 32
#define ACPI_MAX_OVERRIDES    16
#define ACPI_IOAPIC_MAX_PINS  240

/* The value the DSDT's \_S5 gives SLP_TYPa: a write of it with SLP_EN is a poweroff. */
#define ACPI_S5_SLEEP_TYPE 5

/* MPS INTI flags of an interrupt source override. */
#define ACPI_IRQ_POLARITY_HIGH 0x1
#define ACPI_IRQ_POLARITY_LOW  0x3
#define ACPI_IRQ_TRIGGER_EDGE  0x4
#define ACPI_IRQ_TRIGGER_LEVEL 0xc

/* A virtio-mmio slot: _HID "LNRO0005", _UID its index, one window, one edge interrupt. */
struct acpi_mmio_device {
	uint64_t base;
	uint32_t size;
	uint32_t gsi;
};

/*
 * ISA IRQ bus_irq arrives on gsi (MADT interrupt source override, bus 0).
 * ebb needs none: without one, ACPI maps ISA IRQ n to GSI n, edge, active
 * high, and that is what KVM's default GSI routing does (GSI n to IOAPIC pin
 * n, the in-kernel PIT on GSI 0 to pin 0), as the MP table says today. QEMU
 * routes GSI 0 to pin 2 and so declares IRQ 0 -> GSI 2; under KVM's default
 * routing that override would be wrong. Firecracker declares none either.
 */
struct acpi_irq_override {
	uint8_t bus_irq;
	uint32_t gsi;
	uint16_t flags; /* ACPI_IRQ_POLARITY_* | ACPI_IRQ_TRIGGER_*, 0: as the bus says */
};

/* An ISA device on port I/O with one ISA interrupt (IRQNoFlags: edge, active high). */
struct acpi_isa_device {
	bool present;
	uint16_t port;
	uint8_t irq;
};

struct acpi_platform {
	unsigned int nr_vcpus; /* APIC id and ACPI processor UID i for vCPU i */
	uint32_t lapic_address;
	struct {
		uint8_t id;
		uint32_t address;
		uint32_t gsi_base;
		unsigned int pins;
	} ioapic;
	const struct acpi_irq_override *overrides;
	unsigned int nr_overrides;

	struct acpi_isa_device serial; /* a 16550A, 8 ports, PNP0501 */
	struct acpi_isa_device i8042;  /* data port; the command port is port + 4, PNP0303 */

	/* Guest-physical addresses of the byte-wide registers in MMIO. */
	struct {
		uint64_t sleep_control;
		uint64_t sleep_status;
		uint64_t reset;
		uint8_t reset_value;
	} pm;

	const struct acpi_mmio_device *devices;
	unsigned int nr_devices;
};

enum acpi_table_id { ACPI_RSDP, ACPI_XSDT, ACPI_FADT, ACPI_MADT, ACPI_DSDT, ACPI_NR_TABLES };

/* Where each table landed, for boot_params.acpi_rsdp_addr and for dumps. */
struct acpi_layout {
	uint64_t base; /* the guest-physical address of byte 0 of the buffer */
	uint32_t size; /* bytes used */
	struct {
		char name[5]; /* "RSDP", "XSDT", "FACP", "APIC", "DSDT" */
		uint32_t offset;
		uint32_t length;
	} tables[ACPI_NR_TABLES];
};

static inline uint64_t acpi_rsdp_gpa(const struct acpi_layout *l)
{
	return l->base + l->tables[ACPI_RSDP].offset;
}

/*
 * Checks what the tables would describe: vCPU count, IOAPIC pins, that every
 * interrupt is on the IOAPIC and used once, device windows. Logs the first
 * problem and returns -EINVAL or -E2BIG; touches nothing.
 */
int acpi_check_platform(const struct acpi_platform *p);

/*
 * Builds every table into buf (len bytes) for guest-physical base, which must
 * be 16-byte aligned and below 4 GiB. The RSDP is at offset 0. Checks p first;
 * returns 0, -EINVAL (bad platform or base) or -ENOSPC (buf too small), and on
 * failure leaves *out unset.
 */
int acpi_build_tables(const struct acpi_platform *p, uint64_t base, void *buf, size_t len,
		      struct acpi_layout *out);

/*
 * Writes each table of a built buffer to DIR/<name>.dat (rsdp, xsdt, facp,
 * apic, dsdt), the form `iasl -d` and acpixtract read. Returns negative errno.
 */
int acpi_dump_tables(const void *buf, const struct acpi_layout *l, const char *dir);

#endif
