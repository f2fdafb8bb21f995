/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_I8042_H
#define EBB_I8042_H

#include <stdint.h>

#include "vmm/bus.h"

/*
 * Just enough of the PS/2 controller for the guest to reset the machine
 * (reboot=k writes 0xfe to the command port), which ends ebb cleanly.
 */

#define I8042_DATA_PORT	   0x60
#define I8042_COMMAND_PORT 0x64

struct i8042 {
	void (*reset)(void *opaque);
	void *reset_opaque;
	uint64_t ignored_commands; /* atomic */
};

extern const struct bus_ops i8042_bus_ops;

void i8042_init(struct i8042 *kbd, void (*reset)(void *), void *opaque);

#endif
