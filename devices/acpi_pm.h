/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_ACPI_PM_H
#define EBB_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

#include "base/bus.h"

/*
 * The power-management registers of a hardware-reduced ACPI platform, as
 * three byte registers in one MMIO window that the FADT points at:
 *
 *   +0  sleep control  SLP_TYP (bits 2-4) and SLP_EN (bit 5); writing
 *                      SLP_TYP = ACPI_PM_S5_TYPE with SLP_EN powers off
 *   +1  sleep status   WAK_STS (bit 7), write 1 to clear
 *   +2  reset          writing the reset value resets the machine
 *
 * A pure state machine: what happens on poweroff and reset is the caller's
 * callbacks (ebb ends with status 0). Only S5 is offered (the DSDT names
 * \_S5 alone); any other sleep request wakes at once by setting WAK_STS,
 * so a guest polling for its wake-up never hangs.
 */

#define ACPI_PM_SLEEP_CONTROL 0
#define ACPI_PM_SLEEP_STATUS  1
#define ACPI_PM_RESET	      2
#define ACPI_PM_REGS_LEN      3

#define ACPI_PM_SLP_TYP_SHIFT 2
#define ACPI_PM_SLP_TYP_MASK  0x1c
#define ACPI_PM_SLP_EN	      0x20
#define ACPI_PM_WAK_STS	      0x80
#define ACPI_PM_S5_TYPE	      5 /* must match the DSDT's \_S5 (ACPI_S5_SLEEP_TYPE) */
#define ACPI_PM_RESET_VALUE   0x42

struct acpi_pm {
	void (*poweroff)(void *opaque);
	void (*reset)(void *opaque);
	void *opaque;
	uint8_t reset_value;
	uint8_t slp_typ;      /* atomic: the last SLP_TYP written */
	uint8_t sleep_status; /* atomic: WAK_STS */
	uint64_t ignored;     /* atomic: writes that did nothing */
	uint64_t unoffered_sleeps; /* atomic: sleep types asked for and not offered */
	bool said_unoffered;	   /* atomic */
};

extern const struct bus_ops acpi_pm_bus_ops;

void acpi_pm_init(struct acpi_pm *pm, uint8_t reset_value, void (*poweroff)(void *),
		  void (*reset)(void *), void *opaque);

#endif
