// SPDX-License-Identifier: GPL-2.0
/*
 * Differentiated System Description Table, ACPI 6.3 section 5.2.11.1: the
 * devices under \_SB, described as data below and written by one loop, and
 * \_S5 so the OS knows the SLP_TYP value of soft-off.
 *
 *   \_SB.COM1  PNP0501   IO 0x3f8/8, IRQNoFlags {4}
 *   \_SB.PS2K  PNP0303   IO 0x60/1, IO 0x64/1, IRQNoFlags {1}
 *   \_SB.VRnn  LNRO0005  _UID nn, Memory32Fixed (or QWordMemory above 4 GiB),
 *                        Interrupt (Edge, ActiveHigh, Exclusive) {gsi}
 *
 * The virtio-mmio interrupts are edge-triggered: ebb raises them through
 * KVM irqfds, a pulse with no resampling.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/arch/x86_64/acpi/aml.h"
#include "vmm/arch/x86_64/acpi/sdt.h"

#define DSDT_REVISION 2 /* 64-bit integers */
#define MAX_RESOURCES 3

enum res_kind { RES_IO, RES_IRQ, RES_MEMORY, RES_INTERRUPT };

struct res {
	enum res_kind kind;
	uint64_t base; /* port, address or interrupt */
	uint64_t len;
};

struct dev {
	char name[5];
	const char *hid;
	bool hid_is_eisa;
	bool has_uid;
	uint32_t uid;
	unsigned int nr_res;
	struct res res[MAX_RESOURCES];
};

static void put_resource(struct aml *a, const struct res *r)
{
	switch (r->kind) {
	case RES_IO:
		aml_io(a, r->base, r->len);
		break;
	case RES_IRQ:
		aml_irq_noflags(a, r->base);
		break;
	case RES_MEMORY:
		if (r->base + r->len <= 0x100000000ull)
			aml_memory32_fixed(a, r->base, r->len, true);
		else
			aml_qword_memory(a, r->base, r->len, true);
		break;
	case RES_INTERRUPT:
		aml_interrupt(a, r->base, AML_INT_EDGE);
		break;
	}
}

static void put_device(struct aml *a, const struct dev *d)
{
	size_t dev = aml_device_begin(a, d->name);
	aml_name(a, "_HID");
	if (d->hid_is_eisa)
		aml_eisa_id(a, d->hid);
	else
		aml_string(a, d->hid);
	if (d->has_uid) {
		aml_name(a, "_UID");
		aml_integer(a, d->uid);
	}
	aml_name(a, "_CRS");
	size_t crs = aml_resources_begin(a);
	for (unsigned int i = 0; i < d->nr_res; i++)
		put_resource(a, &d->res[i]);
	aml_resources_end(a, crs);
	aml_device_end(a, dev);
}

static void put_s5(struct aml *a)
{
	/* SLP_TYPa, SLP_TYPb and two reserved values; only SLP_TYPa matters here. */
	aml_name(a, "_S5");
	size_t pkg = aml_package_begin(a, 4);
	aml_integer(a, ACPI_S5_SLEEP_TYPE);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_package_end(a, pkg);
}

int acpi_dsdt_write(uint8_t *dst, size_t cap, const struct acpi_platform *p)
{
	size_t hdr = sizeof(struct acpi_sdt_header);
	if (cap < hdr)
		return -ENOSPC;
	memset(dst, 0, hdr);
	struct aml a;
	aml_init(&a, dst + hdr, cap - hdr);

	size_t sb = aml_scope_begin(&a, "\\_SB");
	if (p->serial.present) {
		struct dev com1 = {
			.name = "COM1",
			.hid = "PNP0501",
			.hid_is_eisa = true,
			.has_uid = true,
			.uid = 1,
			.nr_res = 2,
			.res = { { RES_IO, p->serial.port, 8 }, { RES_IRQ, p->serial.irq, 0 } },
		};
		put_device(&a, &com1);
	}
	if (p->i8042.present) {
		struct dev kbd = {
			.name = "PS2K",
			.hid = "PNP0303",
			.hid_is_eisa = true,
			.nr_res = 3,
			.res = { { RES_IO, p->i8042.port, 1 },
				 { RES_IO, p->i8042.port + 4u, 1 },
				 { RES_IRQ, p->i8042.irq, 0 } },
		};
		put_device(&a, &kbd);
	}
	for (unsigned int i = 0; i < p->nr_devices; i++) {
		const struct acpi_mmio_device *m = &p->devices[i];
		struct dev v = {
			.hid = "LNRO0005",
			.has_uid = true,
			.uid = i,
			.nr_res = 2,
			.res = { { RES_MEMORY, m->base, m->size }, { RES_INTERRUPT, m->gsi, 0 } },
		};
		snprintf(v.name, sizeof(v.name), "VR%02X", i & 0xff);
		put_device(&a, &v);
	}
	aml_scope_end(&a, sb);
	put_s5(&a);

	int n = aml_finish(&a);
	if (n < 0)
		return n;
	acpi_sdt_finish(dst, "DSDT", hdr + n, DSDT_REVISION);
	return hdr + n;
}
