/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_CONSOLE_H
#define EBB_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#include "devices/serial.h"
#include "base/event_loop.h"

/*
 * Feeds ebb's stdin to the guest UART from the event loop. A terminal is put
 * in raw mode so keys reach the guest as typed; it is restored on exit.
 * Input is never dropped: when the UART is full, stdin is not read until the
 * guest drains it.
 */
struct console {
	struct event_loop *loop;
	struct serial *serial;
	int in_fd;
	int space_fd; /* eventfd: the UART has room again */
	struct event_source *in_src;
	bool tty_raw;
	int saved_flags;
	struct termios saved_tty;
	uint8_t pending[256];
	size_t pending_len, pending_off;
};

int console_init(struct console *con, struct event_loop *loop, struct serial *serial, int in_fd);
void console_restore(struct console *con);

#endif
