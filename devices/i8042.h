/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_I8042_H
#define EBB_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/bus.h"
#include "base/state.h"

/*
 * The PS/2 controller with a keyboard behind it, as much as Linux's i8042
 * and atkbd drivers use: controller self tests, the command byte, keyboard
 * acknowledgements, the reset line (reboot=k ends ebb cleanly) and key
 * injection for Ctrl+Alt+Del. No mouse: the aux loopback answers without the
 * aux-data flag and the aux test fails, so Linux finds no aux port at once.
 */

#define I8042_DATA_PORT	   0x60
#define I8042_COMMAND_PORT 0x64
#define I8042_KBD_GSI	   1
#define I8042_OUTBUF	   32

struct i8042 {
	pthread_mutex_t lock;
	void (*reset)(void *opaque);
	void *reset_opaque;
	void (*kbd_irq)(void *opaque); /* pulses IRQ 1; called under lock */
	void *irq_opaque;

	uint8_t ctr;	     /* the controller's command byte */
	uint8_t status;
	uint8_t pending_cmd; /* a controller command waiting for its data byte */
	uint8_t pending_kbd; /* a keyboard command waiting for its parameter */
	uint8_t out[I8042_OUTBUF];
	bool out_from_kbd[I8042_OUTBUF]; /* keyboard bytes interrupt, command replies do not */
	unsigned int out_head, out_len;
	uint64_t ignored_commands;
};

extern const struct bus_ops i8042_bus_ops;

void i8042_init(struct i8042 *kbd, void (*reset)(void *), void (*kbd_irq)(void *), void *opaque);
void i8042_destroy(struct i8042 *kbd);
/* Presses and releases Ctrl+Alt+Del; returns -EBUSY when the buffer is full. */
int i8042_send_ctrl_alt_del(struct i8042 *kbd);
/* The controller's state and unread bytes, for snapshots; restore takes no lock. */
int i8042_save(struct i8042 *kbd, struct state_stream *s);
int i8042_restore(struct i8042 *kbd, struct state_stream *s);

#endif
