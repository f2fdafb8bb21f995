// SPDX-License-Identifier: GPL-2.0
#include "vmm/cmdline.h"

#include <stdio.h>
#include <stdlib.h>

/* A tunable's value: the one set explicitly, else the profile's (-1: leave the guest's). */
static int64_t tunable(int64_t set, int profile, int64_t fast)
{
	if (set >= 0)
		return set;
	return profile == REPORTING_FAST ? fast : -1;
}

/* The guest's page_reporting parameters (see guest-kernel-patches/README.md). */
static void append_reporting(FILE *f, const struct vm_config *cfg)
{
	if (!cfg->balloon.present || !cfg->balloon.free_page_reporting)
		return;
	const struct reporting_tunables *r = &cfg->reporting;
	int64_t delay = tunable(r->delay_ms, r->profile, REPORTING_FAST_DELAY_MS);
	int64_t budget = tunable(r->budget, r->profile, REPORTING_FAST_BUDGET);
	int64_t headroom = tunable(r->watermark_mib, r->profile, REPORTING_FAST_WATERMARK_MIB);
	if (delay >= 0)
		fprintf(f, " page_reporting.delay_ms=%lld", (long long)delay);
	if (budget >= 0)
		fprintf(f, " page_reporting.budget=%lld", (long long)budget);
	if (headroom >= 0)
		fprintf(f, " page_reporting.watermark_mib=%lld", (long long)headroom);
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
