// SPDX-License-Identifier: GPL-2.0
#include "devices/serial.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

enum {
	UART_RBR_THR = 0,
	UART_IER = 1,
	UART_IIR_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
};

#define IER_RDI	 0x01
#define IER_THRI 0x02
#define IER_MASK 0x0f

#define IIR_NONE	0x01
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_FIFO_ON	0xc0

#define FCR_FIFO_ENABLE 0x01
#define FCR_CLEAR_RX	0x02

#define LCR_DLAB 0x80

#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR	 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI	0x40
#define MSR_DCD 0x80

void serial_init(struct serial *s, int out_fd, void (*irq_set)(void *, int), void *irq_opaque)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->irq_set = irq_set;
	s->irq_opaque = irq_opaque;
	s->mcr = 0x08; /* OUT2 */
	s->dll = 0x0c; /* 9600 baud, what firmware would leave */
}

void serial_destroy(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

static uint8_t pending_iir(const struct serial *s)
{
	if ((s->ier & IER_RDI) && s->rx_len)
		return IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_interrupt)
		return IIR_THRI;
	return IIR_NONE;
}

/* Called with the lock held after every state change. */
static void update_irq(struct serial *s)
{
	bool level = pending_iir(s) != IIR_NONE;
	if (level != s->irq_level) {
		s->irq_level = level;
		if (s->irq_set)
			s->irq_set(s->irq_opaque, level);
	}
}

static void transmit(struct serial *s, uint8_t byte)
{
	if (s->mcr & MCR_LOOP) {
		if (s->rx_len < SERIAL_RX_BUF) {
			s->rx[(s->rx_head + s->rx_len) % SERIAL_RX_BUF] = byte;
			s->rx_len++;
		}
	} else {
		ssize_t n;
		do
			n = write(s->out_fd, &byte, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1)
			s->tx_bytes++;
		else
			s->tx_errors++;
	}
	s->thr_interrupt = true; /* transmission is instant, so THR is empty again */
}

static uint8_t modem_status(const struct serial *s)
{
	if (!(s->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	uint8_t msr = 0;
	if (s->mcr & 0x01)
		msr |= MSR_DSR;
	if (s->mcr & 0x02)
		msr |= MSR_CTS;
	if (s->mcr & 0x04)
		msr |= MSR_RI;
	if (s->mcr & 0x08)
		msr |= MSR_DCD;
	return msr;
}

static uint8_t serial_reg_read(struct serial *s, unsigned int reg)
{
	bool dlab = s->lcr & LCR_DLAB;
	switch (reg) {
	case UART_RBR_THR: {
		if (dlab)
			return s->dll;
		if (!s->rx_len)
			return 0;
		uint8_t byte = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % SERIAL_RX_BUF;
		s->rx_len--;
		s->rx_bytes++;
		return byte;
	}
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR_FCR: {
		uint8_t iir = pending_iir(s);
		/* Reading IIR while it reports THRE clears that interrupt. */
		if (iir == IIR_THRI)
			s->thr_interrupt = false;
		return iir | ((s->fcr & FCR_FIFO_ENABLE) ? IIR_FIFO_ON : 0);
	}
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return LSR_THRE | LSR_TEMT | (s->rx_len ? LSR_DR : 0);
	case UART_MSR:
		return modem_status(s);
	case UART_SCR:
		return s->scr;
	}
	return 0xff;
}

static void serial_reg_write(struct serial *s, unsigned int reg, uint8_t value)
{
	bool dlab = s->lcr & LCR_DLAB;
	switch (reg) {
	case UART_RBR_THR:
		if (dlab)
			s->dll = value;
		else
			transmit(s, value);
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = value;
		} else {
			/* Enabling THRI with an empty THR raises it at once, as on hardware. */
			if (!(s->ier & IER_THRI) && (value & IER_THRI))
				s->thr_interrupt = true;
			s->ier = value & IER_MASK;
		}
		break;
	case UART_IIR_FCR:
		s->fcr = value & ~FCR_CLEAR_RX;
		if (value & FCR_CLEAR_RX)
			s->rx_len = 0;
		break;
	case UART_LCR:
		s->lcr = value;
		break;
	case UART_MCR:
		s->mcr = value & MCR_MASK;
		break;
	case UART_SCR:
		s->scr = value;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

static void serial_bus_read(void *dev, uint64_t offset, void *data, unsigned int len)
{
	struct serial *s = dev;
	memset(data, 0xff, len);
	if (len != 1)
		return;
	pthread_mutex_lock(&s->lock);
	bool was_full = s->rx_was_full;
	((uint8_t *)data)[0] = serial_reg_read(s, offset);
	bool notify = was_full && s->rx_len < SERIAL_RX_BUF;
	if (notify)
		s->rx_was_full = false;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	if (notify && s->rx_space)
		s->rx_space(s->rx_space_opaque);
}

static void serial_bus_write(void *dev, uint64_t offset, const void *data, unsigned int len)
{
	struct serial *s = dev;
	if (len != 1)
		return;
	pthread_mutex_lock(&s->lock);
	serial_reg_write(s, offset, ((const uint8_t *)data)[0]);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

const struct bus_ops serial_bus_ops = {
	.read = serial_bus_read,
	.write = serial_bus_write,
};

size_t serial_rx_free(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	size_t free_bytes = SERIAL_RX_BUF - s->rx_len;
	pthread_mutex_unlock(&s->lock);
	return free_bytes;
}

size_t serial_rx_push(struct serial *s, const uint8_t *data, size_t len)
{
	pthread_mutex_lock(&s->lock);
	size_t n = MIN(len, SERIAL_RX_BUF - s->rx_len);
	for (size_t i = 0; i < n; i++)
		s->rx[(s->rx_head + s->rx_len + i) % SERIAL_RX_BUF] = data[i];
	s->rx_len += n;
	if (s->rx_len == SERIAL_RX_BUF)
		s->rx_was_full = true;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

#define SERIAL_STATE_TAG     STATE_TAG('U', 'A', 'R', 'T')
#define SERIAL_STATE_VERSION 1

struct serial_record {
	uint32_t version;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	uint8_t thr_interrupt, irq_level, rx_was_full;
	uint16_t rx_len;
	uint64_t tx_bytes, rx_bytes, tx_errors;
	uint8_t rx[SERIAL_RX_BUF]; /* unread input, oldest first */
};

int serial_save(struct serial *s, struct state_stream *st)
{
	struct serial_record r;
	memset(&r, 0, sizeof(r));
	pthread_mutex_lock(&s->lock);
	r.version = SERIAL_STATE_VERSION;
	r.ier = s->ier;
	r.lcr = s->lcr;
	r.mcr = s->mcr;
	r.scr = s->scr;
	r.dll = s->dll;
	r.dlm = s->dlm;
	r.fcr = s->fcr;
	r.thr_interrupt = s->thr_interrupt;
	r.irq_level = s->irq_level;
	r.rx_was_full = s->rx_was_full;
	r.rx_len = s->rx_len;
	for (size_t i = 0; i < s->rx_len; i++)
		r.rx[i] = s->rx[(s->rx_head + i) % SERIAL_RX_BUF];
	r.tx_bytes = s->tx_bytes;
	r.rx_bytes = s->rx_bytes;
	r.tx_errors = s->tx_errors;
	pthread_mutex_unlock(&s->lock);
	return state_put(st, SERIAL_STATE_TAG, &r, sizeof(r));
}

int serial_restore(struct serial *s, struct state_stream *st)
{
	struct serial_record r;
	int ret = state_get(st, SERIAL_STATE_TAG, &r, sizeof(r));
	if (ret < 0)
		return ret;
	if (r.version != SERIAL_STATE_VERSION || r.rx_len > SERIAL_RX_BUF)
		return -EPROTO;
	s->ier = r.ier & IER_MASK;
	s->lcr = r.lcr;
	s->mcr = r.mcr & MCR_MASK;
	s->scr = r.scr;
	s->dll = r.dll;
	s->dlm = r.dlm;
	s->fcr = r.fcr;
	s->thr_interrupt = r.thr_interrupt;
	/* The line's level is the interrupt controller's state, restored with it. */
	s->irq_level = r.irq_level;
	s->rx_was_full = r.rx_was_full;
	s->rx_head = 0;
	s->rx_len = r.rx_len;
	memcpy(s->rx, r.rx, r.rx_len);
	s->tx_bytes = r.tx_bytes;
	s->rx_bytes = r.rx_bytes;
	s->tx_errors = r.tx_errors;
	return 0;
}
