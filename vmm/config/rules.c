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
	/* Whichever changed last, the merge, the shared kernel and the backing must agree. */
	if (cfg->mem_merge && cfg->backing != MEM_BACKING_ANON) {
		schema_push_key(c, "ebb");
		schema_push_key(c, "memory");
		schema_push_key(c, "merge");
		return schema_fail(c, SCHEMA_AT_VALUE,
				   "KSM merges anonymous memory only, not memory_backing \"%s\"",
				   mem_backing_name(cfg->backing));
	}
	if (cfg->share_kernel && cfg->backing != MEM_BACKING_ANON) {
		schema_push_key(c, "ebb");
		schema_push_key(c, "memory");
		schema_push_key(c, "share_kernel");
		return schema_fail(c, SCHEMA_AT_VALUE,
				   "the kernel's pages map over anonymous memory only, not "
				   "memory_backing \"%s\"",
				   mem_backing_name(cfg->backing));
	}
	/* Devices against the machine (a balloon no larger than RAM) and each other (one root
	 * drive). */
	return device_confs_check(c, &cfg->devices, &m, changed);
}
