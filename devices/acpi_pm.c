// SPDX-License-Identifier: GPL-2.0
#include "devices/acpi_pm.h"

#include <string.h>

#include "base/log.h"

void acpi_pm_init(struct acpi_pm *pm, uint8_t reset_value, void (*poweroff)(void *),
		  void (*reset)(void *), void *opaque)
{
	memset(pm, 0, sizeof(*pm));
	pm->poweroff = poweroff;
	pm->reset = reset;
	pm->opaque = opaque;
	pm->reset_value = reset_value;
}

static void ignored(struct acpi_pm *pm)
{
	__atomic_add_fetch(&pm->ignored, 1, __ATOMIC_RELAXED);
}

static void write_sleep_control(struct acpi_pm *pm, uint8_t v)
{
	uint8_t typ = (v & ACPI_PM_SLP_TYP_MASK) >> ACPI_PM_SLP_TYP_SHIFT;
	__atomic_store_n(&pm->slp_typ, typ, __ATOMIC_RELAXED);
	if (!(v & ACPI_PM_SLP_EN))
		return;
	if (typ == ACPI_PM_S5_TYPE) {
		log_debug("ACPI: the guest entered S5 (soft off)");
		pm->poweroff(pm->opaque);
		return;
	}
	/* A sleep state we never offered: wake up at once. Said once: a guest may loop on it. */
	__atomic_add_fetch(&pm->unoffered_sleeps, 1, __ATOMIC_RELAXED);
	if (!__atomic_exchange_n(&pm->said_unoffered, true, __ATOMIC_RELAXED))
		log_warn("ACPI: the guest asked for sleep type %u, which ebb does not offer; "
			 "waking it (said once)",
			 typ);
	__atomic_or_fetch(&pm->sleep_status, ACPI_PM_WAK_STS, __ATOMIC_RELAXED);
}

static void write_reg(struct acpi_pm *pm, uint64_t offset, uint8_t v)
{
	switch (offset) {
	case ACPI_PM_SLEEP_CONTROL:
		write_sleep_control(pm, v);
		break;
	case ACPI_PM_SLEEP_STATUS:
		__atomic_and_fetch(&pm->sleep_status, (uint8_t) ~(v & ACPI_PM_WAK_STS),
				   __ATOMIC_RELAXED);
		break;
	case ACPI_PM_RESET:
		if (v == pm->reset_value)
			pm->reset(pm->opaque);
		else
			ignored(pm);
		break;
	default:
		ignored(pm);
		break;
	}
}

static uint8_t read_reg(struct acpi_pm *pm, uint64_t offset)
{
	switch (offset) {
	case ACPI_PM_SLEEP_CONTROL:
		/* SLP_EN is write-only and reads as zero. */
		return __atomic_load_n(&pm->slp_typ, __ATOMIC_RELAXED) << ACPI_PM_SLP_TYP_SHIFT;
	case ACPI_PM_SLEEP_STATUS:
		return __atomic_load_n(&pm->sleep_status, __ATOMIC_RELAXED);
	default:
		return 0; /* the reset register reads as zero, as does the rest of the window */
	}
}

/* A wider access touches each byte register in turn, lowest address first. */
static void acpi_pm_write(void *dev, uint64_t offset, const void *data, unsigned int len)
{
	for (unsigned int i = 0; i < len; i++)
		write_reg(dev, offset + i, ((const uint8_t *)data)[i]);
}

static void acpi_pm_read(void *dev, uint64_t offset, void *data, unsigned int len)
{
	for (unsigned int i = 0; i < len; i++)
		((uint8_t *)data)[i] = read_reg(dev, offset + i);
}

const struct bus_ops acpi_pm_bus_ops = {
	.read = acpi_pm_read,
	.write = acpi_pm_write,
};
