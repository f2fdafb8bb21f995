/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_CMDLINE_H
#define EBB_CMDLINE_H

#include "vmm/config.h"
#include "vmm/vm.h"

/*
 * The guest command line: the configured boot args (or ebb's default), then
 * what ebb adds itself: one virtio_mmio.device= per device slot, the root
 * drive (root=/dev/vda or root=PARTUUID=..., then ro or rw) and, with free
 * page reporting, the guest's page_reporting tunables. Returns a
 * malloc'd string or NULL.
 */
char *cmdline_build(const struct vm_config *cfg, const struct device_slot *slots,
		    unsigned int nr_slots);

#endif
