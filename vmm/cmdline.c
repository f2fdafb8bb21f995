// SPDX-License-Identifier: GPL-2.0
#include "vmm/cmdline.h"

#include <stdio.h>
#include <stdlib.h>

/* The guest's page_reporting parameters (see guest-kernel-patches/README.md). */
static void append_reporting(FILE *f, const struct vm_config *cfg)
{
	struct reporting_tunables r = config_reporting_effective(cfg);
	if (r.delay_ms >= 0)
		fprintf(f, " page_reporting.delay_ms=%lld", (long long)r.delay_ms);
	if (r.budget >= 0)
		fprintf(f, " page_reporting.budget=%lld", (long long)r.budget);
	if (r.watermark_mib >= 0)
		fprintf(f, " page_reporting.watermark_mib=%lld", (long long)r.watermark_mib);
	if (r.order >= 0)
		fprintf(f, " page_reporting.page_reporting_order=%lld", (long long)r.order);
}

/*
 * The root drive, as Firecracker adds it: root=/dev/vda (ebb gives the root
 * drive the first block slot) or root=PARTUUID=..., then ro or rw.
 */
static void append_root(FILE *f, const struct vm_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nr_drives; i++) {
		const struct drive_config *d = &cfg->drives[i];
		if (!d->is_root_device)
			continue;
		if (d->partuuid)
			fprintf(f, " root=PARTUUID=%s", d->partuuid);
		else
			fputs(" root=/dev/vda", f);
		fputs(d->is_read_only ? " ro" : " rw", f);
		return;
	}
}

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
	append_root(f, cfg);
	append_reporting(f, cfg);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
