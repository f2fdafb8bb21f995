/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_SERIAL_H
#define EBB_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bus.h"
#include "base/state.h"

/*
 * A 16550A UART: transmit goes straight to out_fd, receive comes from the
 * event loop through serial_rx_push(). The interrupt is a level reflected
 * through irq_set whenever it changes.
 */

#define SERIAL_RX_BUF 1024

struct serial {
	pthread_mutex_t lock;
	int out_fd;
	void (*irq_set)(void *opaque, int level);
	void *irq_opaque;
	void (*rx_space)(void *opaque); /* the guest drained a full receive buffer */
	void *rx_space_opaque;

	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thr_interrupt;
	bool irq_level;
	bool rx_was_full;
	uint8_t rx[SERIAL_RX_BUF];
	size_t rx_head, rx_len;

	uint64_t tx_bytes, rx_bytes, tx_errors;
};

extern const struct bus_ops serial_bus_ops;

void serial_init(struct serial *s, int out_fd, void (*irq_set)(void *, int), void *irq_opaque);
void serial_destroy(struct serial *s);
/* Queues input for the guest; returns how many bytes fitted. */
size_t serial_rx_push(struct serial *s, const uint8_t *data, size_t len);
size_t serial_rx_free(struct serial *s);
/* Registers, interrupt level and unread input, for snapshots; restore takes no lock. */
int serial_save(struct serial *s, struct state_stream *st);
int serial_restore(struct serial *s, struct state_stream *st);

#endif
