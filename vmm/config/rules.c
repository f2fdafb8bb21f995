// SPDX-License-Identifier: GPL-2.0
/*
 * The rules that span resources, in one place. Rules within one section
 * live with its schema (machine.c, or the device's folder); this is where
 * every change, from a file, the command line or the API, is checked
 * against the configuration it would make.
 */
#include "vmm/config/sections.h"

struct machine_facts config_machine_facts(const struct vm_config *cfg)
{
	return (struct machine_facts){ .mem_mib = cfg->mem_mib, .vcpus = cfg->vcpus };
}

int config_check(struct schema_ctx *c, const struct vm_config *cfg, int changed)
{
	struct machine_facts m = config_machine_facts(cfg);
	/* Devices against the machine (a balloon no larger than RAM) and each other (one root
	 * drive). */
	return device_confs_check(c, &cfg->devices, &m, changed);
}
