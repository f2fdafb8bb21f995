/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_TEST_ECHO_H
#define EBB_TEST_ECHO_H

#include <stdint.h>

#include "devices/device.h"
#include "devices/virtio/mmio.h"

#define ECHO_DEVICE_ID 0x7e57 /* a test device; no driver claims it */
#define ECHO_MAX_BYTES 4096

struct echo_conf {
	uint32_t greeting;
};

struct echo_counters {
	uint64_t chains;
	uint64_t bytes;
};

struct echo_dev {
	struct virtio_mmio transport;
	struct guest_memory *mem;
	uint32_t greeting;
	struct echo_counters counters;
};

extern const struct device_type echo_device_type;

#endif
