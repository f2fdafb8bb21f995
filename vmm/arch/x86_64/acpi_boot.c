// SPDX-License-Identifier: GPL-2.0
/*
 * The x86 machine as ACPI describes it: what ebb builds (vCPUs, the IOAPIC,
 * COM1, the i8042, the power-management registers, the device slots) turned
 * into an acpi_platform, checked before KVM exists and written into the
 * BIOS area at boot. EBB_ACPI_DUMP=DIR writes the tables for `iasl -d`.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "devices/acpi_pm.h"
#include "vmm/arch/x86_64/acpi/acpi.h"
#include "vmm/arch/x86_64/layout.h"
#include "vmm/arch/x86_64/x86.h"

int x86_acpi_platform(const struct boot_source *src, struct x86_acpi *out)
{
	memset(out, 0, sizeof(*out));
	if (src->nr_slots > ACPI_MAX_MMIO_DEVICES) {
		log_err("%u devices, and ACPI describes at most %u", src->nr_slots,
			ACPI_MAX_MMIO_DEVICES);
		return -E2BIG;
	}
	for (unsigned int i = 0; i < src->nr_slots; i++)
		out->devices[i] = (struct acpi_mmio_device){ .base = src->slots[i].addr,
							     .size = (uint32_t)src->slots[i].size,
							     .gsi = src->slots[i].gsi };
	out->p = (struct acpi_platform){
		.nr_vcpus = src->nr_vcpus,
		.lapic_address = (uint32_t)X86_LAPIC_ADDR,
		.ioapic = { .id = 0, .address = (uint32_t)X86_IOAPIC_ADDR, .pins = 24 },
		.serial = { .present = true, .port = X86_COM1_PORT, .irq = X86_SERIAL_GSI },
		.i8042 = { .present = true, .port = I8042_DATA_PORT, .irq = I8042_KBD_GSI },
		.pm = { .sleep_control = X86_ACPI_PM_ADDR + ACPI_PM_SLEEP_CONTROL,
			.sleep_status = X86_ACPI_PM_ADDR + ACPI_PM_SLEEP_STATUS,
			.reset = X86_ACPI_PM_ADDR + ACPI_PM_RESET,
			.reset_value = ACPI_PM_RESET_VALUE },
		.devices = out->devices,
		.nr_devices = src->nr_slots,
	};
	return acpi_check_platform(&out->p);
}

int x86_acpi_write(const struct x86_acpi *acpi, struct guest_memory *mem, uint64_t *rsdp)
{
	uint8_t *buf = calloc(1, ACPI_X86_TABLES_SIZE);
	struct acpi_platform p = acpi->p;
	struct acpi_layout layout;
	if (!buf)
		return -ENOMEM;
	p.devices = acpi->devices;
	int ret = acpi_build_tables(&p, ACPI_X86_TABLES_GPA, buf, ACPI_X86_TABLES_SIZE, &layout);
	if (ret == 0)
		ret = mem_write(mem, ACPI_X86_TABLES_GPA, buf, layout.size);
	const char *dump = getenv("EBB_ACPI_DUMP");
	if (ret == 0 && dump && dump[0]) {
		int d = acpi_dump_tables(buf, &layout, dump);
		if (d < 0)
			log_warn("EBB_ACPI_DUMP=%s: %s", dump, strerror(-d));
		else
			log_info("ACPI tables written to %s", dump);
	}
	if (ret == 0)
		*rsdp = acpi_rsdp_gpa(&layout);
	free(buf);
	return ret;
}
