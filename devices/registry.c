// SPDX-License-Identifier: GPL-2.0
/*
 * Every device type ebb has: one line each, naming the type's descriptor
 * (<name>_device_type, defined in its folder). The order is the order of
 * the guest's device slots: a new type goes at the end, so existing guests
 * keep their device names.
 */
#include "devices/conf.h"

#define DEVICE_TYPES(X) \
	X(balloon)      \
	X(block)        \
	X(net)          \
	X(vsock)

#define DECLARE(name) extern const struct device_type name##_device_type;
#define ENTRY(name)   &name##_device_type,

DEVICE_TYPES(DECLARE)

static const struct device_type *const types[] = { DEVICE_TYPES(ENTRY) };

static const struct device_registry registry = {
	.types = types,
	.nr_types = sizeof(types) / sizeof(types[0]),
};

const struct device_registry *device_registry(void)
{
	return &registry;
}
