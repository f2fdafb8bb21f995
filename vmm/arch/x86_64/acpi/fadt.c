// SPDX-License-Identifier: GPL-2.0
/*
 * Fixed ACPI Description Table, ACPI 6.3 section 5.2.9: revision 6, 276 bytes.
 * A hardware-reduced platform: no PM1/GPE blocks, no SCI, no FACS. Power off
 * and sleep go through the sleep control/status registers, reboot through the
 * reset register; all three are byte registers in MMIO.
 */
#include <errno.h>
#include <string.h>

#include "vmm/arch/x86_64/acpi/sdt.h"

#define FADT_REVISION	    6
#define FADT_MINOR_REVISION 3

/* FADT flags (table 5-34). */
#define FADT_PWR_BUTTON	   (1u << 4) /* set: no fixed-feature power button */
#define FADT_SLP_BUTTON	   (1u << 5) /* set: no fixed-feature sleep button */
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_HW_REDUCED	   (1u << 20)

/*
 * IA-PC boot architecture flags (table 5-35). What Linux does with them:
 * no 8042 flag marks the controller firmware-absent, but the i8042 driver
 * still takes one the DSDT names (PNP0303); VGA not present stops VGA probes;
 * MSI not supported (there is no PCI); CMOS RTC not present keeps rtc_cmos
 * away from ports 0x70/0x71, which ebb does not emulate (kvm-clock gives the
 * wall clock). LEGACY_DEVICES stays clear: there is no ISA/LPC bus to enumerate.
 */
#define IAPC_8042		  (1u << 1)
#define IAPC_VGA_NOT_PRESENT	  (1u << 2)
#define IAPC_MSI_NOT_SUPPORTED	  (1u << 3)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)

struct acpi_fadt {
	struct acpi_sdt_header header;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_revision;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_fadt) == ACPI_FADT_LEN, "FADT revision 6 is 276 bytes");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "IAPC_BOOT_ARCH at 109");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "RESET_REG at 116");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "X_DSDT at 140");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "SLEEP_CONTROL_REG at 244");

int acpi_fadt_write(uint8_t *dst, size_t cap, const struct acpi_platform *p, uint64_t dsdt_gpa)
{
	if (cap < sizeof(struct acpi_fadt))
		return -ENOSPC;
	struct acpi_fadt f = {
		/* Only X_DSDT: the spec wants DSDT zero when X_DSDT is set. */
		.x_dsdt = dsdt_gpa,
		.flags = FADT_HW_REDUCED | FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_RESET_REG_SUP,
		.iapc_boot_arch = IAPC_VGA_NOT_PRESENT | IAPC_MSI_NOT_SUPPORTED |
				  IAPC_CMOS_RTC_NOT_PRESENT | (p->i8042.present ? IAPC_8042 : 0),
		.reset_reg = acpi_gas_mmio8(p->pm.reset),
		.reset_value = p->pm.reset_value,
		.minor_revision = FADT_MINOR_REVISION,
		.sleep_control_reg = acpi_gas_mmio8(p->pm.sleep_control),
		.sleep_status_reg = acpi_gas_mmio8(p->pm.sleep_status),
	};
	memcpy(dst, &f, sizeof(f));
	acpi_sdt_finish(dst, "FACP", sizeof(f), FADT_REVISION);
	return sizeof(f);
}
