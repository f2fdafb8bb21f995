// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 boot path's pure parts, on any host: the device tree ebb writes,
 * read back node by node with libfdt (and decompiled by dtc when it is
 * installed), and the Image header parser fed good and bad kernels.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "vmm/arch/aarch64/fdt.h"
#include "vmm/arch/aarch64/image.h"
#include "vmm/arch/aarch64/layout.h"

static uint8_t blob[64 << 10];

static const struct device_slot two_slots[] = {
	{ .addr = ARM64_VIRTIO_MMIO_BASE, .size = 0x1000, .gsi = ARM64_VIRTIO_FIRST_SPI },
	{ .addr = ARM64_VIRTIO_MMIO_BASE + 0x1000,
	  .size = 0x1000,
	  .gsi = ARM64_VIRTIO_FIRST_SPI + 1 },
};

static struct arm64_fdt_params full_params(void)
{
	return (struct arm64_fdt_params){
		.ram_base = ARM64_RAM_BASE,
		.ram_size = 512ull << 20,
		.nr_vcpus = 2,
		.gic_version = 3,
		.cmdline = "console=ttyS0 quiet",
		.initrd_start = 0x9f000000,
		.initrd_size = 0x123000,
		.boot_timer = true,
		.slots = two_slots,
		.nr_slots = 2,
	};
}

static int node(const char *path)
{
	int off = fdt_path_offset(blob, path);
	if (off < 0)
		fail_msg("no node %s: %s", path, fdt_strerror(off));
	return off;
}

static const char *str_prop(const char *path, const char *name)
{
	const char *v = fdt_getprop(blob, node(path), name, NULL);
	if (!v)
		fail_msg("%s has no %s", path, name);
	return v;
}

/* Property as big-endian 32-bit cells; returns how many. */
static int cells(const char *path, const char *name, uint32_t *out, int max)
{
	int len;
	const fdt32_t *v = fdt_getprop(blob, node(path), name, &len);
	if (!v)
		fail_msg("%s has no %s", path, name);
	assert_int_equal(len % 4, 0);
	int n = len / 4;
	assert_true(n <= max);
	for (int i = 0; i < n; i++)
		out[i] = fdt32_to_cpu(v[i]);
	return n;
}

static uint32_t u32_prop(const char *path, const char *name)
{
	uint32_t v[1];
	assert_int_equal(cells(path, name, v, 1), 1);
	return v[0];
}

static uint64_t u64_at(const uint32_t *c)
{
	return (uint64_t)c[0] << 32 | c[1];
}

static void write_blob(const struct arm64_fdt_params *p)
{
	int n = arm64_fdt_write(p, blob, sizeof(blob));
	assert_true(n > 0);
	assert_int_equal(fdt_check_header(blob), 0);
	assert_int_equal(fdt_totalsize(blob), (uint32_t)n);
}

static void test_fdt_root_memory_chosen(void **state)
{
	struct arm64_fdt_params p = full_params();
	write_blob(&p);
	assert_int_equal(u32_prop("/", "#address-cells"), 2);
	assert_int_equal(u32_prop("/", "#size-cells"), 2);
	assert_int_equal(u32_prop("/", "interrupt-parent"), FDT_GIC_PHANDLE);

	uint32_t c[8];
	assert_string_equal(str_prop("/memory@80000000", "device_type"), "memory");
	assert_int_equal(cells("/memory@80000000", "reg", c, 8), 4);
	assert_int_equal(u64_at(c), ARM64_RAM_BASE);
	assert_int_equal(u64_at(c + 2), 512ull << 20);

	assert_string_equal(str_prop("/chosen", "bootargs"), "console=ttyS0 quiet");
	assert_string_equal(str_prop("/chosen", "stdout-path"), "/uart@9000000");
	assert_int_equal(cells("/chosen", "linux,initrd-start", c, 8), 2);
	assert_int_equal(u64_at(c), 0x9f000000);
	assert_int_equal(cells("/chosen", "linux,initrd-end", c, 8), 2);
	assert_int_equal(u64_at(c), 0x9f123000);
	/* stdout-path names a node that exists. */
	node(str_prop("/chosen", "stdout-path"));
}

static void test_fdt_cpus_psci(void **state)
{
	struct arm64_fdt_params p = full_params();
	p.nr_vcpus = 18;
	write_blob(&p);
	assert_int_equal(u32_prop("/cpus", "#address-cells"), 1);
	assert_int_equal(u32_prop("/cpus", "#size-cells"), 0);
	int count = 0, off;
	fdt_for_each_subnode(off, blob, node("/cpus")) count++;
	assert_int_equal(count, 18);
	assert_string_equal(str_prop("/cpus/cpu@0", "enable-method"), "psci");
	assert_string_equal(str_prop("/cpus/cpu@0", "device_type"), "cpu");
	assert_int_equal(u32_prop("/cpus/cpu@f", "reg"), 0xf);
	/* vCPU 16's MPIDR has Aff1 = 1, as KVM gives it. */
	assert_int_equal(arm64_vcpu_mpidr(16), 0x100);
	assert_int_equal(u32_prop("/cpus/cpu@101", "reg"), 0x101);
	assert_string_equal(str_prop("/psci", "compatible"), "arm,psci-0.2");
	assert_string_equal(str_prop("/psci", "method"), "hvc");
}

static void test_fdt_gic_v3_timer(void **state)
{
	struct arm64_fdt_params p = full_params();
	p.nr_vcpus = 3;
	write_blob(&p);
	const char *gic = "/intc@8000000";
	assert_string_equal(str_prop(gic, "compatible"), "arm,gic-v3");
	assert_non_null(fdt_getprop(blob, node(gic), "interrupt-controller", NULL));
	assert_int_equal(u32_prop(gic, "#interrupt-cells"), 3);
	assert_int_equal(u32_prop(gic, "phandle"), FDT_GIC_PHANDLE);
	uint32_t c[12];
	assert_int_equal(cells(gic, "reg", c, 12), 8);
	assert_int_equal(u64_at(c), ARM64_GIC_DIST_BASE);
	assert_int_equal(u64_at(c + 2), ARM64_GIC_DIST_SIZE);
	assert_int_equal(u64_at(c + 4), ARM64_GIC_REDIST_BASE);
	assert_int_equal(u64_at(c + 6), 3 * ARM64_GIC_REDIST_SIZE); /* one per vCPU */

	assert_string_equal(str_prop("/timer", "compatible"), "arm,armv8-timer");
	assert_int_equal(cells("/timer", "interrupts", c, 12), 12);
	static const uint32_t ppis[] = { 13, 14, 11, 10 };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(c[3 * i], FDT_GIC_PPI);
		assert_int_equal(c[3 * i + 1], ppis[i]);
		assert_int_equal(c[3 * i + 2], FDT_IRQ_LEVEL_HIGH);
	}
}

static void test_fdt_gic_v2(void **state)
{
	struct arm64_fdt_params p = full_params();
	p.gic_version = 2;
	write_blob(&p);
	uint32_t c[12];
	assert_string_equal(str_prop("/intc@8000000", "compatible"), "arm,cortex-a15-gic");
	assert_int_equal(cells("/intc@8000000", "reg", c, 12), 8);
	assert_int_equal(u64_at(c + 4), ARM64_GIC_CPU_BASE);
	assert_int_equal(u64_at(c + 6), ARM64_GIC_CPU_SIZE);
	/* GICv2 PPIs carry the mask of the CPUs they reach: two vCPUs. */
	cells("/timer", "interrupts", c, 12);
	assert_int_equal(c[2], FDT_IRQ_LEVEL_HIGH | 0x300);
}

static void test_fdt_devices(void **state)
{
	struct arm64_fdt_params p = full_params();
	write_blob(&p);
	uint32_t c[8];
	assert_string_equal(str_prop("/uart@9000000", "compatible"), "ns16550a");
	assert_int_equal(cells("/uart@9000000", "interrupts", c, 8), 3);
	assert_int_equal(c[0], FDT_GIC_SPI);
	assert_int_equal(c[1], ARM64_UART_SPI);
	assert_int_equal(c[2], FDT_IRQ_LEVEL_HIGH);
	assert_int_equal(u32_prop("/uart@9000000", "clock-frequency"), ARM64_UART_CLOCK_HZ);

	assert_string_equal(str_prop("/boot-timer@9001000", "compatible"), "ebb,boot-timer");
	for (int i = 0; i < 2; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/virtio_mmio@%llx",
			 (unsigned long long)two_slots[i].addr);
		assert_string_equal(str_prop(path, "compatible"), "virtio,mmio");
		assert_int_equal(cells(path, "reg", c, 8), 4);
		assert_int_equal(u64_at(c), two_slots[i].addr);
		assert_int_equal(u64_at(c + 2), 0x1000);
		assert_int_equal(cells(path, "interrupts", c, 8), 3);
		assert_int_equal(c[0], FDT_GIC_SPI);
		assert_int_equal(c[1], two_slots[i].gsi);
		assert_int_equal(c[2], FDT_IRQ_EDGE_RISING);
	}
	/* Exactly the configured slots. */
	int n = 0;
	for (int off = fdt_node_offset_by_compatible(blob, -1, "virtio,mmio"); off >= 0;
	     off = fdt_node_offset_by_compatible(blob, off, "virtio,mmio"))
		n++;
	assert_int_equal(n, 2);
}

static void test_fdt_optional_nodes_absent(void **state)
{
	struct arm64_fdt_params p = full_params();
	p.initrd_start = 0;
	p.boot_timer = false;
	p.nr_slots = 0;
	write_blob(&p);
	assert_null(fdt_getprop(blob, node("/chosen"), "linux,initrd-start", NULL));
	assert_true(fdt_path_offset(blob, "/boot-timer@9001000") < 0);
	assert_true(fdt_node_offset_by_compatible(blob, -1, "virtio,mmio") < 0);
}

static void test_fdt_refuses(void **state)
{
	struct arm64_fdt_params p = full_params();
	assert_int_equal(arm64_fdt_write(&p, blob, 128), -ENOSPC);
	p.gic_version = 4;
	assert_int_equal(arm64_fdt_write(&p, blob, sizeof(blob)), -EINVAL);
	p.gic_version = 3;
	p.nr_vcpus = 0;
	assert_int_equal(arm64_fdt_write(&p, blob, sizeof(blob)), -EINVAL);
}

/* dtc, when installed, decompiles the blob without a warning. */
static void test_fdt_dtc_clean(void **state)
{
	if (system("command -v dtc >/dev/null 2>&1") != 0)
		skip();
	struct arm64_fdt_params p = full_params();
	int n = arm64_fdt_write(&p, blob, sizeof(blob));
	assert_true(n > 0);
	char dtb[] = "/tmp/ebb-test-dtb.XXXXXX";
	int fd = mkstemp(dtb);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, blob, n), n);
	close(fd);
	char cmd[256], err[] = "/tmp/ebb-test-dtc.XXXXXX";
	close(mkstemp(err));
	snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts -o /dev/null %s 2>%s", dtb, err);
	int rc = system(cmd);
	FILE *f = fopen(err, "r");
	char line[256] = "";
	bool warned = f && fgets(line, sizeof(line), f);
	if (f)
		fclose(f);
	unlink(dtb);
	unlink(err);
	if (warned)
		fail_msg("dtc: %s", line);
	assert_int_equal(rc, 0);
}

/* ---- the Image header ---- */

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = v >> (8 * i);
}

/* A len-byte "kernel" with an arm64 header. */
static uint8_t *fake_image(size_t len, uint64_t text_offset, uint64_t image_size, uint64_t flags)
{
	/* A truncated one still gets a whole header, of which only len bytes are given. */
	uint8_t *b = calloc(1, len < ARM64_IMAGE_HEADER_SIZE ? ARM64_IMAGE_HEADER_SIZE : len);
	assert_non_null(b);
	put_le(b + 8, text_offset, 8);
	put_le(b + 16, image_size, 8);
	put_le(b + 24, flags, 8);
	put_le(b + 56, ARM64_IMAGE_MAGIC, 4);
	for (size_t i = 64; i < len; i++)
		b[i] = i * 7;
	return b;
}

static int parse(uint8_t *buf, size_t len, struct arm64_image *img, char *err)
{
	return arm64_image_from_buffer(buf, len, img, err, 256);
}

static void test_image_good(void **state)
{
	struct arm64_image img;
	char err[256] = "";
	uint8_t *b = fake_image(1 << 20, 0, 3 << 20, 2 << 1 /* 4K pages */);
	assert_int_equal(parse(b, 1 << 20, &img, err), 0);
	assert_int_equal(img.text_offset, 0);
	assert_int_equal(img.image_size, 3 << 20);
	assert_int_equal(img.size, 1 << 20);
	assert_false(img.was_gzip);
	arm64_image_free(&img);

	/* Before v3.17 image_size is 0: text_offset is then 0x80000. */
	b = fake_image(4096, 0x1234000, 0, 0);
	assert_int_equal(parse(b, 4096, &img, err), 0);
	assert_int_equal(img.text_offset, ARM64_IMAGE_DEFAULT_OFFSET);
	arm64_image_free(&img);
}

static void expect_refused(uint8_t *b, size_t len, const char *words)
{
	struct arm64_image img;
	char err[256] = "";
	assert_true(parse(b, len, &img, err) < 0);
	if (!strstr(err, words))
		fail_msg("message \"%s\" lacks \"%s\"", err, words);
	assert_null(img.data);
}

static void test_image_bad(void **state)
{
	expect_refused(fake_image(40, 0, 4096, 0), 40, "truncated");
	uint8_t *b = fake_image(4096, 0, 8192, 0);
	b[56] = 'X';
	expect_refused(b, 4096, "not an arm64 Image");
	b = calloc(1, 4096);
	memcpy(b + 0x202, "HdrS", 4);
	expect_refused(b, 4096, "x86 bzImage");
	b = calloc(1, 4096);
	memcpy(b,
	       "\x7f"
	       "ELF",
	       4);
	expect_refused(b, 4096, "ELF");
	expect_refused(fake_image(4096, 0, 8192, 1), 4096, "big-endian");
	expect_refused(fake_image(4096, 0x1001, 8192, 0), 4096, "text_offset");
	expect_refused(fake_image(8192, 0, 4096, 0), 8192, "image_size");
}

static uint8_t *gzip(const uint8_t *in, size_t len, size_t *out_len)
{
	z_stream zs = { 0 };
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
			 Z_OK);
	size_t cap = deflateBound(&zs, len);
	uint8_t *out = malloc(cap);
	zs.next_in = (Bytef *)in;
	zs.avail_in = len;
	zs.next_out = out;
	zs.avail_out = cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*out_len = cap - zs.avail_out;
	deflateEnd(&zs);
	return out;
}

static void test_image_gzip(void **state)
{
	struct arm64_image img;
	char err[256] = "";
	size_t plain_len = 3 << 20, gz_len;
	uint8_t *plain = fake_image(plain_len, 0, 4 << 20, 0);
	uint8_t *gz = gzip(plain, plain_len, &gz_len);
	assert_int_equal(parse(gz, gz_len, &img, err), 0);
	assert_true(img.was_gzip);
	assert_int_equal(img.size, plain_len);
	assert_memory_equal(img.data, plain, plain_len);
	assert_int_equal(img.image_size, 4 << 20);
	arm64_image_free(&img);

	/* Cut short: a clear error, not a crash. */
	gz = gzip(plain, plain_len, &gz_len);
	expect_refused(gz, gz_len / 2, "truncated gzip");
	/* A gzip'd file that is not an Image. */
	memset(plain, 0x5a, 4096);
	gz = gzip(plain, 4096, &gz_len);
	expect_refused(gz, gz_len, "not an arm64 Image");
	/* Corrupt deflate data. */
	uint8_t *good = fake_image(plain_len, 0, 4 << 20, 0);
	gz = gzip(good, plain_len, &gz_len);
	free(good);
	memset(gz + 20, 0xff, 64);
	expect_refused(gz, gz_len, "gzip");
	free(plain);
}

static void test_image_read_file(void **state)
{
	char path[] = "/tmp/ebb-test-image.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	uint8_t *b = fake_image(8192, 0x80000, 1 << 20, 0);
	assert_int_equal(write(fd, b, 8192), 8192);
	close(fd);
	free(b);
	struct arm64_image img;
	char err[256] = "";
	assert_int_equal(arm64_image_read(path, &img, err, sizeof(err)), 0);
	assert_int_equal(img.text_offset, 0x80000);
	arm64_image_free(&img);
	unlink(path);
	assert_int_equal(arm64_image_read(path, &img, err, sizeof(err)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fdt_root_memory_chosen),
		cmocka_unit_test(test_fdt_cpus_psci),
		cmocka_unit_test(test_fdt_gic_v3_timer),
		cmocka_unit_test(test_fdt_gic_v2),
		cmocka_unit_test(test_fdt_devices),
		cmocka_unit_test(test_fdt_optional_nodes_absent),
		cmocka_unit_test(test_fdt_refuses),
		cmocka_unit_test(test_fdt_dtc_clean),
		cmocka_unit_test(test_image_good),
		cmocka_unit_test(test_image_bad),
		cmocka_unit_test(test_image_gzip),
		cmocka_unit_test(test_image_read_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
