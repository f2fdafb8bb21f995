/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_VSOCK_CONF_H
#define EBB_VSOCK_CONF_H

#include <stdint.h>

#include "devices/device.h"

/*
 * Firecracker's "vsock": the guest's CID and the host's unix socket. The
 * guest's connections go to "<uds_path>_<port>", so the path leaves room
 * for "_4294967295" in a sockaddr_un.
 */
#define VSOCK_MAX_UDS_PATH (107 - 11)

struct vsock_conf {
	uint32_t guest_cid;
	char *uds_path;
};

extern const struct schema vsock_conf_schema;

#endif
