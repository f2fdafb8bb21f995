// SPDX-License-Identifier: GPL-2.0
/* The ACPI power-management registers: S5 powers off, the reset value resets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "devices/acpi_pm.h"

struct probe {
	unsigned int poweroffs, resets;
};

static void on_poweroff(void *opaque)
{
	((struct probe *)opaque)->poweroffs++;
}

static void on_reset(void *opaque)
{
	((struct probe *)opaque)->resets++;
}

static void wr(struct acpi_pm *pm, uint64_t off, uint8_t v)
{
	acpi_pm_bus_ops.write(pm, off, &v, 1);
}

static uint8_t rd(struct acpi_pm *pm, uint64_t off)
{
	uint8_t v = 0xee;
	acpi_pm_bus_ops.read(pm, off, &v, 1);
	return v;
}

static uint8_t slp(unsigned int typ, bool en)
{
	return (typ << ACPI_PM_SLP_TYP_SHIFT) | (en ? ACPI_PM_SLP_EN : 0);
}

/* What Linux's acpi_hw_extended_sleep() does for S5: clear WAK_STS, then SLP_TYP|SLP_EN. */
static void test_linux_poweroff(void **state)
{
	struct probe p = { 0 };
	struct acpi_pm pm;
	acpi_pm_init(&pm, ACPI_PM_RESET_VALUE, on_poweroff, on_reset, &p);
	assert_int_equal(rd(&pm, ACPI_PM_SLEEP_STATUS), 0);
	wr(&pm, ACPI_PM_SLEEP_STATUS, ACPI_PM_WAK_STS);
	wr(&pm, ACPI_PM_SLEEP_CONTROL, slp(ACPI_PM_S5_TYPE, false));
	assert_int_equal(p.poweroffs, 0); /* SLP_TYP alone does nothing */
	assert_int_equal(rd(&pm, ACPI_PM_SLEEP_CONTROL), slp(ACPI_PM_S5_TYPE, false));
	wr(&pm, ACPI_PM_SLEEP_CONTROL, slp(ACPI_PM_S5_TYPE, true));
	assert_int_equal(p.poweroffs, 1);
	assert_int_equal(p.resets, 0);
	/* Off is off: no wake-up status for the guest's polling loop. */
	assert_int_equal(rd(&pm, ACPI_PM_SLEEP_STATUS) & ACPI_PM_WAK_STS, 0);
	/* SLP_EN reads back as zero. */
	assert_int_equal(rd(&pm, ACPI_PM_SLEEP_CONTROL), slp(ACPI_PM_S5_TYPE, false));
}

static void test_other_sleep_states_wake_at_once(void **state)
{
	struct probe p = { 0 };
	struct acpi_pm pm;
	acpi_pm_init(&pm, ACPI_PM_RESET_VALUE, on_poweroff, on_reset, &p);
	for (unsigned int typ = 0; typ < 8; typ++) {
		if (typ == ACPI_PM_S5_TYPE)
			continue;
		wr(&pm, ACPI_PM_SLEEP_CONTROL, slp(typ, true));
		assert_int_equal(rd(&pm, ACPI_PM_SLEEP_STATUS), ACPI_PM_WAK_STS);
		wr(&pm, ACPI_PM_SLEEP_STATUS, 0x7f); /* other bits do not clear it */
		assert_int_equal(rd(&pm, ACPI_PM_SLEEP_STATUS), ACPI_PM_WAK_STS);
		wr(&pm, ACPI_PM_SLEEP_STATUS, ACPI_PM_WAK_STS);
		assert_int_equal(rd(&pm, ACPI_PM_SLEEP_STATUS), 0);
	}
	assert_int_equal(p.poweroffs, 0);
	assert_int_equal(p.resets, 0);
}

static void test_reset_register(void **state)
{
	struct probe p = { 0 };
	struct acpi_pm pm;
	acpi_pm_init(&pm, ACPI_PM_RESET_VALUE, on_poweroff, on_reset, &p);
	wr(&pm, ACPI_PM_RESET, ACPI_PM_RESET_VALUE ^ 1);
	wr(&pm, ACPI_PM_RESET, 0);
	assert_int_equal(p.resets, 0);
	assert_int_equal(pm.ignored, 2);
	wr(&pm, ACPI_PM_RESET, ACPI_PM_RESET_VALUE);
	assert_int_equal(p.resets, 1);
	assert_int_equal(rd(&pm, ACPI_PM_RESET), 0);
	/* Another reset value, for a caller that chooses its own. */
	acpi_pm_init(&pm, 0x06, on_poweroff, on_reset, &p);
	wr(&pm, ACPI_PM_RESET, ACPI_PM_RESET_VALUE);
	assert_int_equal(p.resets, 1);
	wr(&pm, ACPI_PM_RESET, 0x06);
	assert_int_equal(p.resets, 2);
	assert_int_equal(p.poweroffs, 0);
}

static void test_wide_and_stray_accesses(void **state)
{
	struct probe p = { 0 };
	struct acpi_pm pm;
	acpi_pm_init(&pm, ACPI_PM_RESET_VALUE, on_poweroff, on_reset, &p);
	/* Past the three registers: reads zero, writes are counted and dropped. */
	assert_int_equal(rd(&pm, 3), 0);
	assert_int_equal(rd(&pm, 0xfff), 0);
	wr(&pm, 0x10, 0xff);
	assert_int_equal(pm.ignored, 1);
	/* A 4-byte write reaches each byte register: S5 request and a reset. */
	uint8_t word[4] = { slp(ACPI_PM_S5_TYPE, true), 0, ACPI_PM_RESET_VALUE, 0 };
	acpi_pm_bus_ops.write(&pm, 0, word, 4);
	assert_int_equal(p.poweroffs, 1);
	assert_int_equal(p.resets, 1);
	uint32_t v = 0xffffffff;
	acpi_pm_bus_ops.read(&pm, 0, &v, 4);
	assert_int_equal(v, slp(ACPI_PM_S5_TYPE, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_poweroff),
		cmocka_unit_test(test_other_sleep_states_wake_at_once),
		cmocka_unit_test(test_reset_register),
		cmocka_unit_test(test_wide_and_stray_accesses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
