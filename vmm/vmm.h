/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_VMM_H
#define EBB_VMM_H

#include <time.h>

#include "vmm/config.h"

/*
 * Runs one microVM from a complete configuration until it exits, and
 * returns the process exit status (EBB_EXIT_*).
 */
int vmm_run(struct vm_config *cfg, const struct timespec *start);

#endif
