// SPDX-License-Identifier: GPL-2.0
#include "vmm/cmdline.h"

#include <stdio.h>
#include <stdlib.h>

char *cmdline_build(const struct vm_config *cfg, const struct device_slot *slots,
		    unsigned int nr_slots)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fputs(cfg->boot_args ? cfg->boot_args : CONFIG_DEFAULT_BOOT_ARGS, f);
	for (unsigned int i = 0; i < nr_slots; i++)
		fprintf(f, " virtio_mmio.device=%lluK@0x%llx:%u",
			(unsigned long long)(slots[i].size >> 10), (unsigned long long)slots[i].addr,
			slots[i].gsi);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
