// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 boot path (Documentation/arm64/booting.rst): the Image at RAM's
 * 2 MiB aligned base plus text_offset, the device tree in RAM's last 2 MiB,
 * the initrd just below it, inside the 32 GiB window the kernel shares.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "vmm/initrd.h"
#include "base/util.h"
#include "vmm/arch/aarch64/arm64.h"
#include "vmm/arch/aarch64/fdt.h"
#include "vmm/arch/aarch64/image.h"
#include "vmm/arch/aarch64/layout.h"

/* Where the blob is also written, for `dtc -I dtb -O dts` (a debugging aid). */
#define DUMP_DTB_ENV "EBB_DUMP_DTB"

struct boot_plan {
	struct arm64_image kernel;
	uint64_t kernel_addr;
	struct initrd initrd;
	uint64_t initrd_addr;
	uint64_t fdt_addr;
	uint64_t ram_size;
	unsigned int nr_vcpus;
	char *cmdline;
	char *kernel_path;
};

void arm64_boot_free(struct boot_plan *plan)
{
	if (!plan)
		return;
	arm64_image_free(&plan->kernel);
	initrd_close(&plan->initrd);
	free(plan->cmdline);
	free(plan->kernel_path);
	free(plan);
}

/* Kernel, FDT and initrd places; fails with a message when RAM is too small. */
static int place(const struct boot_source *src, struct boot_plan *plan)
{
	uint64_t ram_end = ARM64_RAM_BASE + src->ram_size;
	plan->kernel_addr = ARM64_RAM_BASE + plan->kernel.text_offset;
	uint64_t kernel_end = plan->kernel_addr + plan->kernel.image_size;
	plan->fdt_addr = src->ram_size >= ARM64_FDT_MAX_SIZE
				 ? ALIGN_DOWN(ram_end - ARM64_FDT_MAX_SIZE, MiB(2))
				 : 0;
	if (plan->fdt_addr < kernel_end) {
		log_err("guest RAM of %llu MiB is too small for kernel %s, which needs %llu MiB "
			"and "
			"2 MiB for the device tree",
			(unsigned long long)(src->ram_size >> 20), src->kernel_path,
			(unsigned long long)((kernel_end - ARM64_RAM_BASE + MiB(1) - 1) >> 20));
		return -ENOSPC;
	}
	if (plan->initrd.fd < 0)
		return 0;
	uint64_t top = MIN(plan->fdt_addr, ARM64_RAM_BASE + ARM64_INITRD_WINDOW);
	if (plan->initrd.size > top - kernel_end ||
	    ALIGN_DOWN(top - plan->initrd.size, 4096) < kernel_end) {
		log_err("initrd %s (%llu MiB) does not fit in %llu MiB of guest RAM next to the "
			"kernel",
			src->initrd_path,
			(unsigned long long)((plan->initrd.size + MiB(1) - 1) >> 20),
			(unsigned long long)(src->ram_size >> 20));
		return -ENOSPC;
	}
	plan->initrd_addr = ALIGN_DOWN(top - plan->initrd.size, 4096);
	return 0;
}

int arm64_boot_check(const struct boot_source *src, const char *cmdline, struct boot_plan **out)
{
	if (src->nr_vcpus > ARM64_MAX_VCPUS) {
		log_err("%u vCPUs requested: the GIC's redistributor region in ebb's arm64 layout "
			"fits at most %llu",
			src->nr_vcpus, (unsigned long long)ARM64_MAX_VCPUS);
		return -EINVAL;
	}
	if (src->share_kernel) {
		log_err("ebb.memory.share_kernel: not supported on arm64 yet; the kernel is copied "
			"into guest RAM there");
		return -EINVAL;
	}
	struct boot_plan *plan = calloc(1, sizeof(*plan));
	if (!plan)
		return -ENOMEM;
	plan->initrd = INITRD_NONE;
	int ret;
	char err[256];
	ret = arm64_image_read(src->kernel_path, &plan->kernel, err, sizeof(err));
	if (ret < 0) {
		log_err("kernel %s: %s", src->kernel_path, err);
		goto fail;
	}
	if (src->initrd_path) {
		ret = initrd_open(&plan->initrd, src->initrd_path);
		if (ret < 0)
			goto fail;
	}
	ret = place(src, plan);
	if (ret < 0)
		goto fail;
	size_t len = strlen(cmdline);
	if (len >= ARM64_CMDLINE_MAX) {
		log_err("kernel command line is %zu bytes; an arm64 kernel accepts at most %d", len,
			ARM64_CMDLINE_MAX - 1);
		ret = -E2BIG;
		goto fail;
	}
	plan->ram_size = src->ram_size;
	plan->nr_vcpus = src->nr_vcpus;
	plan->cmdline = strdup(cmdline);
	plan->kernel_path = strdup(src->kernel_path);
	if (!plan->cmdline || !plan->kernel_path) {
		ret = -ENOMEM;
		goto fail;
	}
	*out = plan;
	return 0;
fail:
	arm64_boot_free(plan);
	return ret;
}

static void dump_dtb(const void *blob, size_t len)
{
	const char *path = getenv(DUMP_DTB_ENV);
	if (!path || !*path)
		return;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, blob, len) != (ssize_t)len)
		log_warn("%s=%s: %s", DUMP_DTB_ENV, path, strerror(errno));
	else
		log_info("device tree (%zu bytes) written to %s", len, path);
	if (fd >= 0)
		close(fd);
}

static int write_fdt(const struct boot_plan *plan, struct arch_vm *a, struct guest_memory *mem,
		     const struct boot_devices *devs)
{
	struct arm64_fdt_params p = {
		.ram_base = ARM64_RAM_BASE,
		.ram_size = plan->ram_size,
		.nr_vcpus = plan->nr_vcpus,
		.gic_version = a->gic_version,
		.cmdline = plan->cmdline,
		.initrd_start = plan->initrd.fd >= 0 ? plan->initrd_addr : 0,
		.initrd_size = plan->initrd.size,
		.boot_timer = a->platform.boot_timer,
		.slots = devs->slots,
		.nr_slots = devs->nr_slots,
	};
	size_t cap = 64 << 10;
	for (;;) {
		void *blob = malloc(cap);
		if (!blob)
			return -ENOMEM;
		int n = arm64_fdt_write(&p, blob, cap);
		if (n == -ENOSPC && cap < ARM64_FDT_MAX_SIZE) {
			free(blob);
			cap *= 2;
			continue;
		}
		int ret = n < 0 ? n : mem_write(mem, plan->fdt_addr, blob, n);
		if (ret == 0)
			dump_dtb(blob, n);
		free(blob);
		return ret;
	}
}

int arm64_boot_load(const struct boot_plan *plan, struct arch_vm *a, struct guest_memory *mem,
		    const struct boot_devices *devs, uint64_t *entry)
{
	int ret = mem_write(mem, plan->kernel_addr, plan->kernel.data, plan->kernel.size);
	if (ret < 0) {
		log_err("loading the kernel into guest memory: %s", strerror(-ret));
		return ret;
	}
	if (plan->initrd.fd >= 0) {
		ret = initrd_load(&plan->initrd, mem, plan->initrd_addr);
		if (ret < 0) {
			log_err("loading the initrd: %s", strerror(-ret));
			return ret;
		}
	}
	ret = write_fdt(plan, a, mem, devs);
	if (ret < 0) {
		log_err("writing the device tree: %s", strerror(-ret));
		return ret;
	}
	a->fdt_addr = plan->fdt_addr;
	log_debug("kernel %s (%sImage) at 0x%llx, device tree at 0x%llx, initrd at 0x%llx "
		  "(%llu bytes)",
		  plan->kernel_path, plan->kernel.was_gzip ? "gzip " : "",
		  (unsigned long long)plan->kernel_addr, (unsigned long long)plan->fdt_addr,
		  (unsigned long long)plan->initrd_addr, (unsigned long long)plan->initrd.size);
	*entry = plan->kernel_addr;
	return 0;
}
