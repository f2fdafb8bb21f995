// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI tables: built for ebb's platform, then parsed back with readers
 * written here from the spec (checksums, lengths, pointers, MADT entries,
 * and the DSDT's AML down to each _CRS descriptor). Bad platforms are
 * refused before anything is written. With iasl installed, every table is
 * also disassembled, and the DSDT recompiled to the same AML.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/arch/x86_64/acpi/acpi.h"
#include "vmm/arch/x86_64/acpi/aml.h"
#include "vmm/arch/x86_64/acpi/sdt.h"
#include "tests/unit/support/aml_reader.h"
#include "base/log.h"

#define BASE	 ACPI_X86_TABLES_GPA
#define BUF_SIZE ACPI_X86_TABLES_SIZE
#define PM_BASE	 0xcffff000ull

/* ---- the platform ebb describes ---- */

static struct acpi_mmio_device devices[ACPI_MAX_MMIO_DEVICES + 1];

static struct acpi_platform ebb_platform(unsigned int vcpus, unsigned int nr_devices)
{
	static const unsigned char gsis[] = { 5,  6,  7,  9,  10, 11, 12, 13, 14,
					      15, 16, 17, 18, 19, 20, 21, 22, 23 };
	for (unsigned int i = 0; i < nr_devices && i < sizeof(gsis); i++)
		devices[i] = (struct acpi_mmio_device){ .base = 0xd0001000ull + i * 0x1000,
							.size = 0x1000,
							.gsi = gsis[i] };
	return (struct acpi_platform){
		.nr_vcpus = vcpus,
		.lapic_address = 0xfee00000,
		.ioapic = { .id = 0, .address = 0xfec00000, .gsi_base = 0, .pins = 24 },
		.serial = { .present = true, .port = 0x3f8, .irq = 4 },
		.i8042 = { .present = true, .port = 0x60, .irq = 1 },
		.pm = { .sleep_control = PM_BASE,
			.sleep_status = PM_BASE + 1,
			.reset = PM_BASE + 2,
			.reset_value = 0x42 },
		.devices = devices,
		.nr_devices = nr_devices,
	};
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s += p[i];
	return s;
}

static uint64_t le(const uint8_t *p, unsigned int bytes)
{
	uint64_t v = 0;
	for (unsigned int i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* The table at guest-physical gpa inside buf: its signature and checksum are checked. */
static const uint8_t *table_at(const uint8_t *buf, uint64_t gpa, const char *sig)
{
	assert_true(gpa >= BASE && gpa + 36 <= BASE + BUF_SIZE);
	const uint8_t *t = buf + (gpa - BASE);
	assert_memory_equal(t, sig, 4);
	uint32_t len = le(t + 4, 4);
	assert_true(len >= 36 && gpa + len <= BASE + BUF_SIZE);
	assert_int_equal(sum(t, len), 0);
	assert_memory_equal(t + 10, "EBB   ", 6);
	assert_memory_equal(t + 16, "EBB", 3);
	assert_memory_equal(t + 19, sig, 4);
	return t;
}

/* ---- the tests ---- */

static uint8_t *build(const struct acpi_platform *p, struct acpi_layout *l)
{
	uint8_t *buf = calloc(1, BUF_SIZE);
	assert_non_null(buf);
	assert_int_equal(acpi_build_tables(p, BASE, buf, BUF_SIZE, l), 0);
	return buf;
}

static void check_rsdp_xsdt(const uint8_t *buf, const struct acpi_layout *l, uint64_t *fadt,
			    uint64_t *madt)
{
	assert_int_equal(acpi_rsdp_gpa(l), BASE);
	const uint8_t *r = buf;
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(sum(r, 20), 0);
	assert_int_equal(sum(r, 36), 0);
	assert_int_equal(r[15], 2);
	assert_int_equal(le(r + 20, 4), 36);
	assert_int_equal(le(r + 16, 4), 0); /* no RSDT */

	const uint8_t *x = table_at(buf, le(r + 24, 8), "XSDT");
	assert_int_equal(le(x + 4, 4), 36 + 2 * 8);
	*fadt = le(x + 36, 8);
	*madt = le(x + 44, 8);
}

static void test_tables_parse_back(void **state)
{
	struct acpi_platform p = ebb_platform(2, 3);
	struct acpi_layout l;
	uint8_t *buf = build(&p, &l);
	assert_true(l.size <= BUF_SIZE);
	for (int i = 1; i < ACPI_NR_TABLES; i++)
		table_at(buf, BASE + l.tables[i].offset, l.tables[i].name);

	uint64_t fadt_gpa, madt_gpa;
	check_rsdp_xsdt(buf, &l, &fadt_gpa, &madt_gpa);

	const uint8_t *f = table_at(buf, fadt_gpa, "FACP");
	assert_int_equal(le(f + 4, 4), 276);
	assert_int_equal(f[8], 6);
	assert_int_equal(f[131], 3);		    /* minor revision: ACPI 6.3 */
	assert_int_equal(le(f + 112, 4), 0x100430); /* HW_REDUCED, RESET_REG_SUP, buttons */
	assert_int_equal(le(f + 109, 2), 0x2e);	    /* 8042, no VGA, no MSI, no CMOS RTC */
	assert_int_equal(le(f + 40, 4), 0);	    /* DSDT: only X_DSDT is set */
	table_at(buf, le(f + 140, 8), "DSDT");
	assert_int_equal(le(f + 140, 8), BASE + l.tables[ACPI_DSDT].offset);
	/* RESET_REG, SLEEP_CONTROL_REG, SLEEP_STATUS_REG: byte registers in memory. */
	const struct {
		unsigned int off;
		uint64_t addr;
	} gas[] = { { 116, PM_BASE + 2 }, { 244, PM_BASE }, { 256, PM_BASE + 1 } };
	for (unsigned int i = 0; i < 3; i++) {
		const uint8_t *g = f + gas[i].off;
		assert_int_equal(g[0], 0); /* system memory */
		assert_int_equal(g[1], 8);
		assert_int_equal(g[2], 0);
		assert_int_equal(g[3], 1); /* byte access */
		assert_int_equal(le(g + 4, 8), gas[i].addr);
	}
	assert_int_equal(f[128], 0x42);
	assert_int_equal(le(f + 36, 4), 0);  /* no FACS */
	assert_int_equal(le(f + 46, 2), 0);  /* no SCI */
	assert_int_equal(le(f + 172, 8), 0); /* no PM1 control block */

	const uint8_t *m = table_at(buf, madt_gpa, "APIC");
	assert_int_equal(le(m + 36, 4), 0xfee00000);
	uint32_t mlen = le(m + 4, 4);
	unsigned int cpus = 0, ioapics = 0, nmis = 0, others = 0;
	for (const uint8_t *e = m + 44; e < m + mlen; e += e[1]) {
		assert_true(e[1] >= 2 && e + e[1] <= m + mlen);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], cpus); /* processor UID */
			assert_int_equal(e[3], cpus); /* APIC id */
			assert_int_equal(le(e + 4, 4), 1);
			cpus++;
			break;
		case 1:
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], 0);
			assert_int_equal(le(e + 4, 4), 0xfec00000);
			assert_int_equal(le(e + 8, 4), 0);
			ioapics++;
			break;
		case 4:
			assert_int_equal(e[2], 0xff);
			assert_int_equal(e[5], 1); /* LINT1 */
			nmis++;
			break;
		default:
			others++;
		}
	}
	assert_int_equal(cpus, 2);
	assert_int_equal(ioapics, 1);
	assert_int_equal(nmis, 1);
	assert_int_equal(others, 0); /* no overrides: ISA IRQs are identity mapped */

	struct aml_dsdt d;
	aml_read_dsdt(table_at(buf, le(f + 140, 8), "DSDT"), &d);
	assert_int_equal(d.nr, 2 + 3);
	const struct aml_dev *com = aml_find_dev(&d, "COM1");
	assert_string_equal(com->hid, "PNP0501");
	assert_int_equal(com->nr_res, 2);
	assert_int_equal(com->res[0].type, 0x8); /* IO */
	assert_int_equal(le(com->res[0].data + 1, 2), 0x3f8);
	assert_int_equal(le(com->res[0].data + 3, 2), 0x3f8);
	assert_int_equal(com->res[0].data[6], 8);
	assert_int_equal(com->res[1].type, 0x4); /* IRQ */
	assert_int_equal(le(com->res[1].data, 2), 1u << 4);
	const struct aml_dev *kbd = aml_find_dev(&d, "PS2K");
	assert_string_equal(kbd->hid, "PNP0303");
	assert_int_equal(kbd->nr_res, 3);
	assert_int_equal(le(kbd->res[0].data + 1, 2), 0x60);
	assert_int_equal(le(kbd->res[1].data + 1, 2), 0x64);
	assert_int_equal(le(kbd->res[2].data, 2), 1u << 1);

	for (unsigned int i = 0; i < 3; i++) {
		char name[5];
		snprintf(name, sizeof(name), "VR%02X", i);
		const struct aml_dev *v = aml_find_dev(&d, name);
		assert_string_equal(v->hid, "LNRO0005");
		assert_true(v->has_uid);
		assert_int_equal(v->uid, i);
		assert_int_equal(v->nr_res, 2);
		assert_int_equal(v->res[0].type, 0x86); /* Memory32Fixed */
		assert_int_equal(v->res[0].len, 9);
		assert_int_equal(v->res[0].data[0], 1); /* read-write */
		assert_int_equal(le(v->res[0].data + 1, 4), devices[i].base);
		assert_int_equal(le(v->res[0].data + 5, 4), 0x1000);
		assert_int_equal(v->res[1].type, 0x89);	   /* extended interrupt */
		assert_int_equal(v->res[1].data[0], 0x03); /* consumer, edge, high, exclusive */
		assert_int_equal(v->res[1].data[1], 1);
		assert_int_equal(le(v->res[1].data + 2, 4), devices[i].gsi);
	}
	assert_int_equal(d.nr_s5, 4);
	assert_int_equal(d.s5[0], ACPI_S5_SLEEP_TYPE);
	free(buf);
}

static void test_no_i8042_no_devices(void **state)
{
	struct acpi_platform p = ebb_platform(1, 0);
	p.i8042.present = false;
	struct acpi_layout l;
	uint8_t *buf = build(&p, &l);
	const uint8_t *f = buf + l.tables[ACPI_FADT].offset;
	assert_int_equal(le(f + 109, 2) & 0x2, 0); /* no 8042 flag */
	struct aml_dsdt d;
	aml_read_dsdt(buf + l.tables[ACPI_DSDT].offset, &d);
	assert_int_equal(d.nr, 1);
	assert_string_equal(d.devs[0].name, "COM1");
	free(buf);
}

static void test_vcpu_limits(void **state)
{
	struct acpi_platform p = ebb_platform(ACPI_MAX_VCPUS, 18);
	struct acpi_layout l;
	uint8_t *buf = build(&p, &l);
	const uint8_t *m = buf + l.tables[ACPI_MADT].offset;
	unsigned int cpus = 0;
	for (const uint8_t *e = m + 44; e < m + le(m + 4, 4); e += e[1])
		if (e[0] == 0) {
			assert_int_equal(e[3], cpus);
			cpus++;
		}
	assert_int_equal(cpus, ACPI_MAX_VCPUS);

	memset(buf, 0xa5, BUF_SIZE);
	p.nr_vcpus = ACPI_MAX_VCPUS + 1;
	assert_int_equal(acpi_build_tables(&p, BASE, buf, BUF_SIZE, &l), -E2BIG);
	assert_int_equal(buf[0], 0xa5); /* nothing written */
	p.nr_vcpus = 0;
	assert_int_equal(acpi_check_platform(&p), -EINVAL);
	free(buf);
}

/* The MADT writer itself can describe ids past 254 with x2APIC entries. */
static void test_madt_x2apic_entries(void **state)
{
	struct acpi_platform p = ebb_platform(300, 0);
	size_t cap = 8192;
	uint8_t *m = calloc(1, cap);
	int len = acpi_madt_write(m, cap, &p);
	assert_true(len > 0);
	assert_int_equal(sum(m, len), 0);
	unsigned int lapic = 0, x2apic = 0, x2nmi = 0;
	for (const uint8_t *e = m + 44; e < m + len; e += e[1]) {
		if (e[0] == 0)
			lapic++;
		if (e[0] == 9) {
			assert_int_equal(e[1], 16);
			assert_int_equal(le(e + 4, 4), 255 + x2apic);  /* x2APIC id */
			assert_int_equal(le(e + 12, 4), 255 + x2apic); /* UID */
			x2apic++;
		}
		if (e[0] == 10) {
			assert_int_equal(le(e + 4, 4), UINT32_MAX);
			x2nmi++;
		}
	}
	assert_int_equal(lapic, 255);
	assert_int_equal(x2apic, 45);
	assert_int_equal(x2nmi, 1);
	assert_int_equal(acpi_madt_write(m, len - 1, &p), -ENOSPC);
	free(m);
}

static void expect_refused(struct acpi_platform *p, int err)
{
	uint8_t *buf = malloc(BUF_SIZE);
	memset(buf, 0xa5, BUF_SIZE);
	struct acpi_layout l = { .size = 12345 };
	assert_int_equal(acpi_build_tables(p, BASE, buf, BUF_SIZE, &l), err);
	assert_int_equal(l.size, 12345);
	for (size_t i = 0; i < BUF_SIZE; i++)
		if (buf[i] != 0xa5)
			fail_msg("byte %zu written for a refused platform", i);
	free(buf);
}

static void test_bad_devices_refused(void **state)
{
	struct acpi_platform p = ebb_platform(1, 3);
	devices[2].gsi = 24; /* past the IOAPIC's 24 pins */
	expect_refused(&p, -E2BIG);
	p = ebb_platform(1, 3);
	devices[2].gsi = devices[0].gsi;
	expect_refused(&p, -EINVAL);
	p = ebb_platform(1, 3);
	devices[1].gsi = 4; /* the serial port's */
	expect_refused(&p, -EINVAL);
	p = ebb_platform(1, 3);
	devices[1].base = devices[0].base + 0x800;
	expect_refused(&p, -EINVAL);
	p = ebb_platform(1, 3);
	devices[0].size = 0;
	expect_refused(&p, -EINVAL);
	p = ebb_platform(1, 3);
	p.nr_devices = ACPI_MAX_MMIO_DEVICES + 1;
	expect_refused(&p, -E2BIG);
	p = ebb_platform(1, 3);
	p.pm.sleep_status = 0;
	expect_refused(&p, -EINVAL);
	p = ebb_platform(1, 0);
	p.serial.irq = 16;
	expect_refused(&p, -EINVAL);
	p = ebb_platform(1, 0);
	p.ioapic.pins = 0;
	expect_refused(&p, -EINVAL);
	/* An override moving IRQ 0 onto a device's GSI. */
	struct acpi_irq_override o = { .bus_irq = 0, .gsi = 5 };
	p = ebb_platform(1, 1);
	p.overrides = &o;
	p.nr_overrides = 1;
	expect_refused(&p, -EINVAL);

	/* A base the RSDP scan cannot find, or above 4 GiB. */
	p = ebb_platform(1, 1);
	struct acpi_layout l;
	uint8_t buf[4096];
	assert_int_equal(acpi_build_tables(&p, BASE + 8, buf, sizeof(buf), &l), -EINVAL);
	assert_int_equal(acpi_build_tables(&p, 0xfffff000ull, buf, sizeof(buf) + 1, &l), -EINVAL);
}

static void test_overrides_in_madt(void **state)
{
	struct acpi_irq_override o = { .bus_irq = 0,
				       .gsi = 2,
				       .flags = ACPI_IRQ_POLARITY_HIGH | ACPI_IRQ_TRIGGER_EDGE };
	struct acpi_platform p = ebb_platform(1, 1);
	p.overrides = &o;
	p.nr_overrides = 1;
	struct acpi_layout l;
	uint8_t *buf = build(&p, &l);
	const uint8_t *m = buf + l.tables[ACPI_MADT].offset;
	unsigned int found = 0;
	for (const uint8_t *e = m + 44; e < m + le(m + 4, 4); e += e[1])
		if (e[0] == 2) {
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0); /* ISA */
			assert_int_equal(e[3], 0);
			assert_int_equal(le(e + 4, 4), 2);
			assert_int_equal(le(e + 8, 2), 5);
			found++;
		}
	assert_int_equal(found, 1);
	free(buf);
}

static void test_small_buffers(void **state)
{
	struct acpi_platform p = ebb_platform(4, 18);
	struct acpi_layout l;
	uint8_t *full = build(&p, &l);
	uint32_t need = l.size;
	/* Every size short of what is needed fails, and nothing past it is written. */
	uint8_t *buf = malloc(need + 64);
	assert_int_equal(log_set_path("/dev/null"), 0); /* one error line per size */
	for (uint32_t len = 0; len < need; len += (len < 64 || need - len < 64) ? 1 : 37) {
		memset(buf, 0xa5, need + 64);
		assert_int_equal(acpi_build_tables(&p, BASE, buf, len, &l), -ENOSPC);
		for (uint32_t i = len; i < need + 64; i++)
			if (buf[i] != 0xa5)
				fail_msg("len %u: byte %u written", len, i);
	}
	assert_int_equal(log_set_path("/dev/stderr"), 0);
	assert_int_equal(acpi_build_tables(&p, BASE, buf, need, &l), 0);
	assert_memory_equal(buf, full, need);
	free(buf);
	free(full);
}

static void test_device_above_4g(void **state)
{
	struct acpi_platform p = ebb_platform(1, 1);
	devices[0].base = 0x100000000ull + 0x2000;
	struct acpi_layout l;
	uint8_t *buf = build(&p, &l);
	struct aml_dsdt d;
	aml_read_dsdt(buf + l.tables[ACPI_DSDT].offset, &d);
	const struct aml_dev *v = aml_find_dev(&d, "VR00");
	assert_int_equal(v->res[0].type, 0x8a); /* QWord address space */
	assert_int_equal(v->res[0].len, 43);
	const uint8_t *q = v->res[0].data;
	assert_int_equal(q[0], 0);			  /* memory */
	assert_int_equal(le(q + 11, 8), devices[0].base); /* min */
	assert_int_equal(le(q + 19, 8), devices[0].base + 0xfff);
	assert_int_equal(le(q + 35, 8), 0x1000); /* length */
	free(buf);
}

/* ---- the AML writer on its own ---- */

static void test_aml_pkglen(void **state)
{
	uint8_t enc[4];
	assert_int_equal(aml_pkglen_encode(62, enc), 1);
	assert_int_equal(enc[0], 63);
	assert_int_equal(aml_pkglen_encode(63, enc), 2);
	assert_int_equal(enc[0], 0x41); /* 65 = 0x41: one extra byte, low nibble 1 */
	assert_int_equal(enc[1], 0x04);
	for (size_t n = 0; n < 0x300000; n = n * 3 + 1) {
		size_t k = aml_pkglen_encode(n, enc), v;
		assert_true(k >= 1 && k <= 4);
		assert_int_equal(aml_read_pkglen(enc, &v), k);
		assert_int_equal(v, n + k);
	}
	assert_int_equal(aml_pkglen_encode(0x0ffffffb, enc), 4);
	assert_int_equal(aml_pkglen_encode(0x0ffffffc, enc), 0);
}

static void test_aml_values(void **state)
{
	uint8_t b[64];
	struct aml a;
	aml_init(&a, b, sizeof(b));
	aml_eisa_id(&a, "PNP0501");
	aml_eisa_id(&a, "PNP0303");
	aml_integer(&a, 0x1234);
	aml_string(&a, "LNRO0005");
	assert_int_equal(aml_finish(&a), 5 + 5 + 3 + 10);
	const uint8_t want[] = { 0x0c, 0x41, 0xd0, 0x05, 0x01, 0x0c, 0x41, 0xd0,
				 0x03, 0x03, 0x0b, 0x34, 0x12, 0x0d, 'L',  'N',
				 'R',  'O',  '0',  '0',	 '0',  '5',  0x00 };
	assert_memory_equal(b, want, sizeof(want));

	const char *bad_ids[] = { "pnp0501", "PNP050", "PNP05G1", "P1P0501" };
	for (unsigned int i = 0; i < 4; i++) {
		aml_init(&a, b, sizeof(b));
		aml_eisa_id(&a, bad_ids[i]);
		assert_int_equal(aml_finish(&a), -EINVAL);
	}
	const char *bad_names[] = { "", "_SB_X", "1ABC", "abc", "A-B" };
	for (unsigned int i = 0; i < 5; i++) {
		aml_init(&a, b, sizeof(b));
		aml_name(&a, bad_names[i]);
		assert_int_equal(aml_finish(&a), -EINVAL);
	}
	/* Errors stick: nothing more is written after the first. */
	aml_init(&a, b, 4);
	aml_integer(&a, 0x11223344);
	assert_int_equal(aml_finish(&a), -ENOSPC);
	size_t len = a.len;
	aml_integer(&a, 0);
	aml_name(&a, "_UID");
	assert_int_equal(a.len, len);
	assert_int_equal(aml_finish(&a), -ENOSPC);
}

/* ---- iasl, when installed ---- */

static int run(const char *dir, const char *cmd, char *out, size_t outlen)
{
	char line[1024];
	snprintf(line, sizeof(line), "cd '%s' && %s 2>&1", dir, cmd);
	FILE *f = popen(line, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, outlen - 1, f);
	out[n] = 0;
	int status = pclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_iasl_decompiles_cleanly(void **state)
{
	if (system("command -v iasl >/dev/null 2>&1") != 0)
		skip(); /* apt-get install acpica-tools */
	char dir[] = "/tmp/ebb-acpi-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct acpi_platform p = ebb_platform(4, 18);
	struct acpi_layout l;
	uint8_t *buf = build(&p, &l);
	assert_int_equal(acpi_dump_tables(buf, &l, dir), 0);

	/* Not the RSDP: iasl -d takes only tables with a 4-character signature. */
	static char out[65536];
	const char *tables[] = { "xsdt", "facp", "apic", "dsdt" };
	for (unsigned int i = 0; i < 4; i++) {
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "iasl -d %s.dat", tables[i]);
		int rc = run(dir, cmd, out, sizeof(out));
		if (rc != 0 || strcasestr(out, "warning") || strcasestr(out, "error"))
			fail_msg("iasl -d %s.dat (status %d):\n%s", tables[i], rc, out);
		/* The data-table disassembler notes problems in the output file. */
		snprintf(cmd, sizeof(cmd), "cat %s.dsl", tables[i]);
		assert_int_equal(run(dir, cmd, out, sizeof(out)), 0);
		if (strstr(out, "****") || strcasestr(out, "invalid") || strcasestr(out, "warning"))
			fail_msg("%s.dsl flags a problem:\n%s", tables[i], out);
	}
	/* The DSDT compiles back to the very same AML (after the 36-byte header); -oa:
	 * iasl would otherwise shorten the root-relative \_SB_ to _SB_. */
	int rc = run(dir, "iasl -oa -p recompiled dsdt.dsl", out, sizeof(out));
	if (rc != 0 || !strstr(out, "0 Errors, 0 Warnings"))
		fail_msg("iasl dsdt.dsl (status %d):\n%s", rc, out);
	char path[512];
	snprintf(path, sizeof(path), "%s/recompiled.aml", dir);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static uint8_t aml[65536];
	size_t n = fread(aml, 1, sizeof(aml), f);
	fclose(f);
	const uint8_t *dsdt = buf + l.tables[ACPI_DSDT].offset;
	assert_int_equal(n, l.tables[ACPI_DSDT].length);
	assert_memory_equal(aml + 36, dsdt + 36, n - 36);

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_parse_back),
		cmocka_unit_test(test_no_i8042_no_devices),
		cmocka_unit_test(test_vcpu_limits),
		cmocka_unit_test(test_madt_x2apic_entries),
		cmocka_unit_test(test_bad_devices_refused),
		cmocka_unit_test(test_overrides_in_madt),
		cmocka_unit_test(test_small_buffers),
		cmocka_unit_test(test_device_above_4g),
		cmocka_unit_test(test_aml_pkglen),
		cmocka_unit_test(test_aml_values),
		cmocka_unit_test(test_iasl_decompiles_cleanly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
