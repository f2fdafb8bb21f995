/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_ROUTES_H
#define EBB_ROUTES_H

#include "vmm/vmm.h"

/* Firecracker's API: answers one request on the loop that owns the VM. */
void routes_handle(struct vmm *vmm, struct api_request *req);

#endif
