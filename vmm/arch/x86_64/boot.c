// SPDX-License-Identifier: GPL-2.0

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/arch/x86_64/boot_params.h"
#include "vmm/arch/x86_64/cpu_state.h"
#include "vmm/arch/x86_64/kernel_loader.h"
#include "vmm/arch/x86_64/layout.h"
#include "vmm/arch/x86_64/mptable.h"
#include "base/log.h"
#include "vmm/initrd.h"
#include "base/util.h"
#include "vmm/arch/x86_64/x86.h"

struct boot_plan {
	struct kernel_image kernel;
	struct initrd initrd;
	uint64_t initrd_addr;
	char *cmdline;
	char *kernel_path;
	unsigned int nr_vcpus;
	bool acpi;
	bool share_kernel;
	struct x86_acpi tables; /* what ACPI will describe, checked before KVM */
};

void x86_boot_free(struct boot_plan *plan)
{
	if (!plan)
		return;
	kernel_image_close(&plan->kernel);
	initrd_close(&plan->initrd);
	free(plan->cmdline);
	free(plan->kernel_path);
	free(plan);
}

int x86_boot_check(const struct boot_source *src, const char *cmdline, struct boot_plan **out)
{
	struct boot_plan *plan = calloc(1, sizeof(*plan));
	if (!plan)
		return -ENOMEM;
	plan->initrd = INITRD_NONE;
	int ret;

	char err[256];
	ret = kernel_image_open(src->kernel_path, &plan->kernel, err, sizeof(err));
	if (ret < 0) {
		log_err("kernel %s: %s", src->kernel_path, err);
		goto fail;
	}
	if (src->share_kernel && plan->kernel.format != KERNEL_ELF) {
		log_err("kernel %s: ebb.memory.share_kernel needs an uncompressed ELF vmlinux; "
			"this is a bzImage, which decompresses itself into guest RAM",
			src->kernel_path);
		ret = -ENOEXEC;
		goto fail;
	}
	plan->share_kernel = src->share_kernel;

	struct mem_region layout[MEM_MAX_REGIONS];
	x86_ram_layout(src->ram_size, layout);
	uint64_t low_end = layout[0].gpa + layout[0].size;
	if (plan->kernel.end > low_end) {
		log_err("guest RAM of %llu MiB is too small for kernel %s, which needs %llu MiB",
			(unsigned long long)(src->ram_size >> 20), src->kernel_path,
			(unsigned long long)((plan->kernel.end + MiB(1) - 1) >> 20));
		ret = -ENOSPC;
		goto fail;
	}

	if (src->initrd_path) {
		ret = initrd_open(&plan->initrd, src->initrd_path);
		if (ret < 0)
			goto fail;
		ret = kernel_initrd_place(&plan->kernel, plan->initrd.size, low_end,
					  &plan->initrd_addr);
		if (ret < 0) {
			log_err("initrd %s (%llu MiB) does not fit in %llu MiB of guest RAM next to the kernel",
				src->initrd_path,
				(unsigned long long)((plan->initrd.size + MiB(1) - 1) >> 20),
				(unsigned long long)(src->ram_size >> 20));
			goto fail;
		}
	}

	size_t len = strlen(cmdline);
	if (len > plan->kernel.cmdline_max) {
		log_err("kernel command line is %zu bytes; kernel %s accepts at most %u", len,
			src->kernel_path, plan->kernel.cmdline_max);
		ret = -E2BIG;
		goto fail;
	}
	plan->nr_vcpus = src->nr_vcpus;
	plan->acpi = src->acpi;
	if (src->acpi) {
		ret = x86_acpi_platform(src, &plan->tables);
		if (ret < 0)
			goto fail;
	}
	plan->cmdline = strdup(cmdline);
	plan->kernel_path = strdup(src->kernel_path);
	if (!plan->cmdline || !plan->kernel_path) {
		ret = -ENOMEM;
		goto fail;
	}
	*out = plan;
	return 0;

fail:
	x86_boot_free(plan);
	return ret;
}

int x86_boot_load(const struct boot_plan *plan, struct arch_vm *a, struct guest_memory *mem,
		  const struct boot_devices *devs, uint64_t *entry)
{
	int ret = kernel_image_load(&plan->kernel, mem, plan->share_kernel);
	if (ret < 0) {
		if (plan->share_kernel)
			log_err("mapping kernel %s into guest memory (ebb.memory.share_kernel): %s",
				plan->kernel_path, strerror(-ret));
		else
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
	uint64_t rsdp = 0;
	if (plan->acpi) {
		ret = x86_acpi_write(&plan->tables, mem, &rsdp);
		if (ret < 0) {
			log_err("writing the ACPI tables: %s", strerror(-ret));
			return ret;
		}
	}
	ret = x86_write_boot_params(mem, &plan->kernel, plan->cmdline, plan->initrd_addr,
				    plan->initrd.size, rsdp);
	if (ret == 0)
		ret = x86_write_boot_tables(mem);
	if (ret == 0)
		ret = x86_write_mptable(mem, plan->nr_vcpus);
	if (ret < 0) {
		log_err("writing boot structures: %s", strerror(-ret));
		return ret;
	}
	log_debug("kernel %s (%s) entry 0x%llx, initrd at 0x%llx (%llu bytes)",
		  plan->kernel_path, plan->kernel.format == KERNEL_ELF ? "ELF" : "bzImage",
		  (unsigned long long)plan->kernel.entry, (unsigned long long)plan->initrd_addr,
		  (unsigned long long)plan->initrd.size);
	*entry = plan->kernel.entry;
	return 0;
}
