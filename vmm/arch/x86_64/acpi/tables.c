// SPDX-License-Identifier: GPL-2.0
/* The one call that lays out and writes every table, and the checks before it. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "vmm/arch/x86_64/acpi/sdt.h"
#include "base/log.h"

#define TABLE_ALIGN 16

uint8_t acpi_checksum(const void *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += ((const uint8_t *)p)[i];
	return (uint8_t)-sum;
}

void acpi_sdt_finish(void *table, const char *signature, uint32_t len, uint8_t revision)
{
	struct acpi_sdt_header h = {
		.length = len,
		.revision = revision,
		.oem_revision = ACPI_OEM_REVISION,
		.creator_revision = ACPI_CREATOR_REVISION,
	};
	memcpy(h.signature, signature, 4);
	memcpy(h.oem_id, ACPI_OEM_ID, 6);
	/* "EBB" and the signature: unique per table, as OSPMs expect. */
	memcpy(h.oem_table_id, "EBB", 3);
	memcpy(h.oem_table_id + 3, signature, 4);
	h.oem_table_id[7] = ' ';
	memcpy(h.creator_id, ACPI_CREATOR_ID, 4);
	memcpy(table, &h, sizeof(h));
	((struct acpi_sdt_header *)table)->checksum = acpi_checksum(table, len);
}

struct acpi_gas acpi_gas_mmio8(uint64_t address)
{
	return (struct acpi_gas){
		.space_id = ACPI_GAS_MEMORY,
		.bit_width = 8,
		.access_size = ACPI_GAS_ACCESS_BYTE,
		.address = address,
	};
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* The GSI of ISA IRQ irq: an override's, else the same number (ACPI's default). */
static uint32_t isa_gsi(const struct acpi_platform *p, uint8_t irq)
{
	for (unsigned int i = 0; i < p->nr_overrides; i++)
		if (p->overrides[i].bus_irq == irq)
			return p->overrides[i].gsi;
	return irq;
}

/* Whether an override, a legacy device or one of the first nr_devices devices uses gsi. */
static bool gsi_taken(const struct acpi_platform *p, uint32_t gsi, unsigned int nr_devices)
{
	for (unsigned int i = 0; i < p->nr_overrides; i++)
		if (p->overrides[i].gsi == gsi)
			return true;
	if (p->serial.present && isa_gsi(p, p->serial.irq) == gsi)
		return true;
	if (p->i8042.present && isa_gsi(p, p->i8042.irq) == gsi)
		return true;
	for (unsigned int i = 0; i < nr_devices; i++)
		if (p->devices[i].gsi == gsi)
			return true;
	return false;
}

static int check_devices(const struct acpi_platform *p)
{
	uint32_t first = p->ioapic.gsi_base, end = p->ioapic.gsi_base + p->ioapic.pins;
	if (p->nr_devices > ACPI_MAX_MMIO_DEVICES) {
		log_err("ACPI: %u virtio-mmio devices; the DSDT describes at most %u",
			p->nr_devices, ACPI_MAX_MMIO_DEVICES);
		return -E2BIG;
	}
	if (p->nr_devices && !p->devices) {
		log_err("ACPI: %u devices but no device list", p->nr_devices);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < p->nr_devices; i++) {
		const struct acpi_mmio_device *d = &p->devices[i];
		if (d->gsi < first || d->gsi >= end) {
			log_err("ACPI: virtio-mmio device %u at 0x%" PRIx64
				" has GSI %u; the IOAPIC has only GSIs %u-%u (more devices than "
				"interrupt lines?)",
				i, d->base, d->gsi, first, end - 1);
			return -E2BIG;
		}
		if (gsi_taken(p, d->gsi, i)) {
			log_err("ACPI: virtio-mmio device %u: GSI %u is already taken (by a "
				"device, the serial port, the i8042 or an override)",
				i, d->gsi);
			return -EINVAL;
		}
		if (d->size == 0 || d->base + d->size < d->base) {
			log_err("ACPI: virtio-mmio device %u: bad window 0x%" PRIx64 " + 0x%x", i,
				d->base, d->size);
			return -EINVAL;
		}
		for (unsigned int j = 0; j < i; j++)
			if (ranges_overlap(d->base, d->size, p->devices[j].base,
					   p->devices[j].size)) {
				log_err("ACPI: virtio-mmio devices %u and %u overlap at 0x%" PRIx64,
					j, i, d->base);
				return -EINVAL;
			}
	}
	return 0;
}

static int check_isa(const char *what, const struct acpi_isa_device *d,
		     const struct acpi_platform *p)
{
	if (!d->present)
		return 0;
	if (d->irq > 15) {
		log_err("ACPI: %s IRQ %u is not an ISA interrupt (0-15)", what, d->irq);
		return -EINVAL;
	}
	uint32_t gsi = isa_gsi(p, d->irq);
	if (gsi >= p->ioapic.gsi_base + p->ioapic.pins || gsi < p->ioapic.gsi_base) {
		log_err("ACPI: %s IRQ %u (GSI %u) is not on the IOAPIC", what, d->irq, gsi);
		return -EINVAL;
	}
	return 0;
}

int acpi_check_platform(const struct acpi_platform *p)
{
	if (p->nr_vcpus == 0) {
		log_err("ACPI: no vCPUs to describe");
		return -EINVAL;
	}
	if (p->nr_vcpus > ACPI_MAX_VCPUS) {
		log_err("ACPI: %u vCPUs; the MADT can name at most %u (APIC ids 0-%u)", p->nr_vcpus,
			ACPI_MAX_VCPUS, ACPI_MAX_VCPUS - 1);
		return -E2BIG;
	}
	if (p->ioapic.pins == 0 || p->ioapic.pins > ACPI_IOAPIC_MAX_PINS) {
		log_err("ACPI: an IOAPIC with %u pins (1-%u)", p->ioapic.pins,
			ACPI_IOAPIC_MAX_PINS);
		return -EINVAL;
	}
	if (p->nr_overrides > ACPI_MAX_OVERRIDES || (p->nr_overrides && !p->overrides)) {
		log_err("ACPI: %u interrupt source overrides (at most %u)", p->nr_overrides,
			ACPI_MAX_OVERRIDES);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < p->nr_overrides; i++) {
		const struct acpi_irq_override *o = &p->overrides[i];
		if (o->bus_irq > 15 || o->gsi < p->ioapic.gsi_base ||
		    o->gsi >= p->ioapic.gsi_base + p->ioapic.pins) {
			log_err("ACPI: override of ISA IRQ %u to GSI %u is out of range",
				o->bus_irq, o->gsi);
			return -EINVAL;
		}
	}
	int ret = check_isa("serial", &p->serial, p);
	if (ret == 0)
		ret = check_isa("i8042", &p->i8042, p);
	if (ret == 0 && p->serial.present && p->i8042.present && p->serial.irq == p->i8042.irq) {
		log_err("ACPI: serial and i8042 share IRQ %u", p->serial.irq);
		ret = -EINVAL;
	}
	if (ret == 0 && (!p->pm.sleep_control || !p->pm.sleep_status || !p->pm.reset)) {
		log_err("ACPI: the sleep control, sleep status and reset registers need addresses");
		ret = -EINVAL;
	}
	if (ret == 0)
		ret = check_devices(p);
	return ret;
}

static uint32_t align_up(uint32_t v)
{
	return (v + TABLE_ALIGN - 1) & ~(uint32_t)(TABLE_ALIGN - 1);
}

static void note(struct acpi_layout *l, enum acpi_table_id id, const char *name, uint32_t off,
		 uint32_t len)
{
	memcpy(l->tables[id].name, name, 5);
	l->tables[id].offset = off;
	l->tables[id].length = len;
}

int acpi_build_tables(const struct acpi_platform *p, uint64_t base, void *buf, size_t len,
		      struct acpi_layout *out)
{
	if (base % TABLE_ALIGN || len > UINT32_MAX || base + len > 0x100000000ull) {
		log_err("ACPI: tables at 0x%" PRIx64
			" (+0x%zx) must be 16-byte aligned, below 4 GiB",
			base, len);
		return -EINVAL;
	}
	int ret = acpi_check_platform(p);
	if (ret < 0)
		return ret;

	uint8_t *b = buf;
	uint32_t xsdt = align_up(ACPI_RSDP_LEN);
	uint32_t xsdt_len = sizeof(struct acpi_sdt_header) + 2 * sizeof(uint64_t);
	uint32_t fadt = align_up(xsdt + xsdt_len);
	uint32_t madt = align_up(fadt + ACPI_FADT_LEN);
	if (madt > len)
		goto nospace;
	memset(b, 0, len);
	int madt_len = acpi_madt_write(b + madt, len - madt, p);
	if (madt_len < 0)
		goto nospace;
	uint32_t dsdt = align_up(madt + madt_len);
	if (dsdt > len)
		goto nospace;
	int dsdt_len = acpi_dsdt_write(b + dsdt, len - dsdt, p);
	if (dsdt_len < 0) {
		if (dsdt_len == -ENOSPC)
			goto nospace;
		log_err("ACPI: writing the DSDT: %s", strerror(-dsdt_len));
		return dsdt_len;
	}
	acpi_fadt_write(b + fadt, ACPI_FADT_LEN, p, base + dsdt);
	const uint64_t entries[] = { base + fadt, base + madt };
	acpi_xsdt_write(b + xsdt, xsdt_len, entries, 2);
	acpi_rsdp_write(b, base + xsdt);

	struct acpi_layout l = { .base = base, .size = dsdt + dsdt_len };
	note(&l, ACPI_RSDP, "RSDP", 0, ACPI_RSDP_LEN);
	note(&l, ACPI_XSDT, "XSDT", xsdt, xsdt_len);
	note(&l, ACPI_FADT, "FACP", fadt, ACPI_FADT_LEN);
	note(&l, ACPI_MADT, "APIC", madt, madt_len);
	note(&l, ACPI_DSDT, "DSDT", dsdt, dsdt_len);
	*out = l;
	return 0;

nospace:
	log_err("ACPI: the tables for %u vCPUs and %u devices do not fit in 0x%zx bytes",
		p->nr_vcpus, p->nr_devices, len);
	return -ENOSPC;
}
