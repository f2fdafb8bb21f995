// SPDX-License-Identifier: GPL-2.0
/*
 * Multiple APIC Description Table, ACPI 6.3 section 5.2.12: every vCPU's
 * local APIC (an x2APIC entry for ids the 8-bit form cannot hold), the
 * IOAPIC, interrupt source overrides, and LINT1 as NMI on every CPU as the
 * MP table has it.
 */
#include <errno.h>
#include <string.h>

#include "vmm/arch/x86_64/acpi/sdt.h"

#define MADT_REVISION 5

enum {
	MADT_LAPIC = 0,
	MADT_IOAPIC = 1,
	MADT_OVERRIDE = 2,
	MADT_LAPIC_NMI = 4,
	MADT_X2APIC = 9,
	MADT_X2APIC_NMI = 10,
};

#define MADT_LAPIC_ENABLED 1
#define MADT_ALL_CPUS	   0xff
#define MADT_X2APIC_FIRST  0xff /* ids from here on need the x2APIC entry */

struct madt_head {
	struct acpi_sdt_header header;
	uint32_t lapic_address;
	uint32_t flags; /* no PCAT_COMPAT: a hardware-reduced guest never uses the 8259s */
} __attribute__((packed));

struct madt_lapic {
	uint8_t type, length;
	uint8_t uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_x2apic {
	uint8_t type, length;
	uint16_t reserved;
	uint32_t x2apic_id;
	uint32_t flags;
	uint32_t uid;
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type, length;
	uint8_t id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

struct madt_override {
	uint8_t type, length;
	uint8_t bus;
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

struct madt_lapic_nmi {
	uint8_t type, length;
	uint8_t uid;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

struct madt_x2apic_nmi {
	uint8_t type, length;
	uint16_t flags;
	uint32_t uid;
	uint8_t lint;
	uint8_t reserved[3];
} __attribute__((packed));

_Static_assert(sizeof(struct madt_x2apic_nmi) == 12, "x2APIC NMI entry is 12 bytes");
_Static_assert(sizeof(struct madt_head) == 44, "MADT header is 44 bytes");
_Static_assert(sizeof(struct madt_lapic) == 8, "local APIC entry is 8 bytes");
_Static_assert(sizeof(struct madt_x2apic) == 16, "x2APIC entry is 16 bytes");
_Static_assert(sizeof(struct madt_ioapic) == 12, "IOAPIC entry is 12 bytes");
_Static_assert(sizeof(struct madt_override) == 10, "override entry is 10 bytes");
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "local APIC NMI entry is 6 bytes");

static size_t madt_len(const struct acpi_platform *p)
{
	size_t len = sizeof(struct madt_head) + sizeof(struct madt_ioapic) +
		     p->nr_overrides * sizeof(struct madt_override) + sizeof(struct madt_lapic_nmi);
	for (unsigned int i = 0; i < p->nr_vcpus; i++)
		len += i < MADT_X2APIC_FIRST ? sizeof(struct madt_lapic)
					     : sizeof(struct madt_x2apic);
	if (p->nr_vcpus > MADT_X2APIC_FIRST)
		len += sizeof(struct madt_x2apic_nmi);
	return len;
}

int acpi_madt_write(uint8_t *dst, size_t cap, const struct acpi_platform *p)
{
	size_t len = madt_len(p);
	if (len > cap || len > INT32_MAX)
		return -ENOSPC;
	memset(dst, 0, len);
	struct madt_head head = { .lapic_address = p->lapic_address };
	memcpy(dst, &head, sizeof(head));
	uint8_t *e = dst + sizeof(head);

	for (unsigned int i = 0; i < p->nr_vcpus; i++) {
		if (i < MADT_X2APIC_FIRST) {
			struct madt_lapic l = {
				.type = MADT_LAPIC,
				.length = sizeof(l),
				.uid = i,
				.apic_id = i,
				.flags = MADT_LAPIC_ENABLED,
			};
			memcpy(e, &l, sizeof(l));
			e += sizeof(l);
		} else {
			struct madt_x2apic x = {
				.type = MADT_X2APIC,
				.length = sizeof(x),
				.x2apic_id = i,
				.flags = MADT_LAPIC_ENABLED,
				.uid = i,
			};
			memcpy(e, &x, sizeof(x));
			e += sizeof(x);
		}
	}
	struct madt_ioapic io = {
		.type = MADT_IOAPIC,
		.length = sizeof(io),
		.id = p->ioapic.id,
		.address = p->ioapic.address,
		.gsi_base = p->ioapic.gsi_base,
	};
	memcpy(e, &io, sizeof(io));
	e += sizeof(io);
	for (unsigned int i = 0; i < p->nr_overrides; i++) {
		struct madt_override o = {
			.type = MADT_OVERRIDE,
			.length = sizeof(o),
			.bus = 0,
			.source = p->overrides[i].bus_irq,
			.gsi = p->overrides[i].gsi,
			.flags = p->overrides[i].flags,
		};
		memcpy(e, &o, sizeof(o));
		e += sizeof(o);
	}
	/* LINT1 is NMI, edge, active high (conforming flags), on every CPU. */
	struct madt_lapic_nmi nmi = {
		.type = MADT_LAPIC_NMI,
		.length = sizeof(nmi),
		.uid = MADT_ALL_CPUS,
		.lint = 1,
	};
	memcpy(e, &nmi, sizeof(nmi));
	e += sizeof(nmi);
	if (p->nr_vcpus > MADT_X2APIC_FIRST) {
		struct madt_x2apic_nmi xnmi = {
			.type = MADT_X2APIC_NMI,
			.length = sizeof(xnmi),
			.uid = UINT32_MAX,
			.lint = 1,
		};
		memcpy(e, &xnmi, sizeof(xnmi));
	}
	acpi_sdt_finish(dst, "APIC", len, MADT_REVISION);
	return len;
}
