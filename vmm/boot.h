/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_BOOT_H
#define EBB_BOOT_H

#include <stdint.h>

#include "vmm/config.h"

struct vm;
struct boot_plan;

/*
 * Opens and checks the kernel and initrd against the configured RAM, and
 * checks the command line fits the kernel's limit. On failure it logs one
 * line naming the problem and returns negative errno; nothing is created.
 */
int boot_plan_create(const struct vm_config *cfg, const char *cmdline, struct boot_plan **out);
/* Copies kernel, initrd, command line and boot tables into guest memory. */
int boot_plan_load(struct vm *vm, const struct boot_plan *plan, uint64_t *entry);
void boot_plan_free(struct boot_plan *plan);

#endif
