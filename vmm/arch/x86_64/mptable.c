// SPDX-License-Identifier: GPL-2.0
#include "vmm/arch/x86_64/mptable.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "vmm/arch/x86_64/layout.h"

#define MP_SPEC_REV	  4
#define MP_LAPIC_VERSION  0x14
#define MP_IOAPIC_VERSION 0x11
#define MP_IOAPIC_PINS	  24
#define MP_CPU_ENABLED	  0x1
#define MP_CPU_BSP	  0x2
#define MP_CPU_SIGNATURE  0x600	  /* family 6 */
#define MP_CPU_FEATURES	  0x201	  /* FPU and APIC */
#define MP_IRQ_INT	  0
#define MP_IRQ_NMI	  1
#define MP_IRQ_EXTINT	  3

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };

struct mp_floating_pointer {
	char signature[4];
	uint32_t config_addr;
	uint8_t length;
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t features[5];
} __attribute__((packed));

struct mp_config_header {
	char signature[4];
	uint16_t length;
	uint8_t spec_rev;
	uint8_t checksum;
	char oem_id[8];
	char product_id[12];
	uint32_t oem_table;
	uint16_t oem_table_size;
	uint16_t entry_count;
	uint32_t lapic_addr;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mp_processor {
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t flags;
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));

struct mp_bus {
	uint8_t type;
	uint8_t bus_id;
	char bus_type[6];
} __attribute__((packed));

struct mp_ioapic {
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t flags;
	uint32_t addr;
} __attribute__((packed));

struct mp_irq {
	uint8_t type;
	uint8_t irq_type;
	uint16_t irq_flags;
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_apic;
	uint8_t dst_pin;
} __attribute__((packed));

_Static_assert(sizeof(struct mp_floating_pointer) == 16, "MP floating pointer is 16 bytes");
_Static_assert(sizeof(struct mp_config_header) == 44, "MP header is 44 bytes");
_Static_assert(sizeof(struct mp_processor) == 20, "MP processor entry is 20 bytes");

static uint8_t checksum(const void *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += ((const uint8_t *)p)[i];
	return (uint8_t)-sum;
}

int x86_write_mptable(struct guest_memory *mem, unsigned int nr_vcpus)
{
	if (nr_vcpus == 0 || nr_vcpus > X86_MAX_VCPUS)
		return -EINVAL;
	size_t table_len = sizeof(struct mp_config_header) +
			   nr_vcpus * sizeof(struct mp_processor) + sizeof(struct mp_bus) +
			   sizeof(struct mp_ioapic) + (MP_IOAPIC_PINS + 2) * sizeof(struct mp_irq);
	size_t total = sizeof(struct mp_floating_pointer) + table_len;
	if (X86_EBDA_START + total > X86_HIMEM_START)
		return -ENOSPC;
	uint8_t *base = mem_gpa_to_hva(mem, X86_EBDA_START, total);
	if (!base)
		return -EFAULT;
	memset(base, 0, total);

	struct mp_floating_pointer *fp = (void *)base;
	struct mp_config_header *hdr = (void *)(base + sizeof(*fp));
	uint8_t *p = (uint8_t *)(hdr + 1);
	uint16_t entries = 0;
	uint8_t ioapic_id = nr_vcpus;

	for (unsigned int i = 0; i < nr_vcpus; i++, entries++) {
		struct mp_processor cpu = {
			.type = MP_PROCESSOR,
			.apic_id = i,
			.apic_version = MP_LAPIC_VERSION,
			.flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
			.signature = MP_CPU_SIGNATURE,
			.features = MP_CPU_FEATURES,
		};
		memcpy(p, &cpu, sizeof(cpu));
		p += sizeof(cpu);
	}
	struct mp_bus bus = { .type = MP_BUS, .bus_id = 0 };
	memcpy(bus.bus_type, "ISA   ", 6);
	memcpy(p, &bus, sizeof(bus));
	p += sizeof(bus);
	entries++;

	struct mp_ioapic ioapic = {
		.type = MP_IOAPIC, .apic_id = ioapic_id, .apic_version = MP_IOAPIC_VERSION,
		.flags = 1, .addr = X86_IOAPIC_ADDR,
	};
	memcpy(p, &ioapic, sizeof(ioapic));
	p += sizeof(ioapic);
	entries++;

	/* ISA IRQ n arrives on IOAPIC pin n, which is also KVM's GSI n. */
	for (unsigned int pin = 0; pin < MP_IOAPIC_PINS; pin++, entries++) {
		struct mp_irq irq = {
			.type = MP_INTSRC, .irq_type = MP_IRQ_INT, .src_bus = 0, .src_irq = pin,
			.dst_apic = ioapic_id, .dst_pin = pin,
		};
		memcpy(p, &irq, sizeof(irq));
		p += sizeof(irq);
	}
	const struct mp_irq lints[] = {
		{ .type = MP_LINTSRC, .irq_type = MP_IRQ_EXTINT, .dst_apic = 0xff, .dst_pin = 0 },
		{ .type = MP_LINTSRC, .irq_type = MP_IRQ_NMI, .dst_apic = 0xff, .dst_pin = 1 },
	};
	memcpy(p, lints, sizeof(lints));
	entries += 2;

	memcpy(hdr->signature, "PCMP", 4);
	hdr->length = table_len;
	hdr->spec_rev = MP_SPEC_REV;
	memcpy(hdr->oem_id, "EBB     ", 8);
	memcpy(hdr->product_id, "EBB microVM ", 12);
	hdr->entry_count = entries;
	hdr->lapic_addr = X86_LAPIC_ADDR;
	hdr->checksum = checksum(hdr, table_len);

	memcpy(fp->signature, "_MP_", 4);
	fp->config_addr = X86_EBDA_START + sizeof(*fp);
	fp->length = 1;
	fp->spec_rev = MP_SPEC_REV;
	fp->checksum = checksum(fp, sizeof(*fp));
	return 0;
}
