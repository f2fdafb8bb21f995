// SPDX-License-Identifier: GPL-2.0
#include "devices/i8042.h"

#include <string.h>

#define CMD_PULSE_RESET 0xfe

/* The bus range starts at port 0x60 and spans to 0x64. */
#define REG_DATA    (I8042_DATA_PORT - I8042_DATA_PORT)
#define REG_COMMAND (I8042_COMMAND_PORT - I8042_DATA_PORT)

void i8042_init(struct i8042 *kbd, void (*reset)(void *), void *opaque)
{
	memset(kbd, 0, sizeof(*kbd));
	kbd->reset = reset;
	kbd->reset_opaque = opaque;
}

static void i8042_read(void *dev, uint64_t offset, void *data, unsigned int len)
{
	/* Status 0: output buffer empty, input buffer empty, so kb_wait() returns at once. */
	memset(data, 0, len);
}

static void i8042_write(void *dev, uint64_t offset, const void *data, unsigned int len)
{
	struct i8042 *kbd = dev;
	uint8_t value = ((const uint8_t *)data)[0];
	if (offset == REG_COMMAND && value == CMD_PULSE_RESET) {
		kbd->reset(kbd->reset_opaque);
		return;
	}
	__atomic_add_fetch(&kbd->ignored_commands, 1, __ATOMIC_RELAXED);
}

const struct bus_ops i8042_bus_ops = {
	.read = i8042_read,
	.write = i8042_write,
};
