// SPDX-License-Identifier: GPL-2.0
#include "devices/i8042.h"

#include <errno.h>
#include <string.h>

/* Controller commands (port 0x64). */
#define CMD_READ_CTR	0x20
#define CMD_WRITE_CTR	0x60
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE	0xa8
#define CMD_AUX_TEST	0xa9
#define CMD_SELF_TEST	0xaa
#define CMD_KBD_TEST	0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE	0xae
#define CMD_WRITE_OUTP	0xd1
#define CMD_KBD_LOOP	0xd2
#define CMD_AUX_LOOP	0xd3
#define CMD_AUX_SEND	0xd4
#define CMD_PULSE_RESET 0xfe

/* Keyboard commands and replies (port 0x60). */
#define KBD_SET_LEDS  0xed
#define KBD_ECHO      0xee
#define KBD_SCANSET   0xf0
#define KBD_GET_ID    0xf2
#define KBD_TYPEMATIC 0xf3
#define KBD_RESET     0xff
#define KBD_ACK	      0xfa
#define KBD_BAT_OK    0xaa

#define STR_OBF	    0x01
#define STR_SYS	    0x04
#define STR_CMDDAT  0x08
#define STR_KEYLOCK 0x10 /* set: not locked */

#define CTR_KBDINT 0x01
#define CTR_SYS	   0x04
#define CTR_AUXDIS 0x20
#define CTR_XLATE  0x40

#define SELF_TEST_OK	0x55
#define AUX_TEST_FAILED 0x01 /* "clock line stuck low": no mouse here */
#define OUTP_RESET	0x01 /* output port bit 0 low resets the CPU */

/* The bus range starts at port 0x60 and spans to 0x64. */
#define REG_DATA    0
#define REG_COMMAND (I8042_COMMAND_PORT - I8042_DATA_PORT)

void i8042_init(struct i8042 *kbd, void (*reset)(void *), void (*kbd_irq)(void *), void *opaque)
{
	memset(kbd, 0, sizeof(*kbd));
	pthread_mutex_init(&kbd->lock, NULL);
	kbd->reset = reset;
	kbd->reset_opaque = opaque;
	kbd->kbd_irq = kbd_irq;
	kbd->irq_opaque = opaque;
	/* What firmware leaves: keyboard interrupts, translation to set 1, no mouse. */
	kbd->ctr = CTR_KBDINT | CTR_SYS | CTR_AUXDIS | CTR_XLATE;
	kbd->status = STR_SYS | STR_KEYLOCK;
}

void i8042_destroy(struct i8042 *kbd)
{
	pthread_mutex_destroy(&kbd->lock);
}

/* Queues a byte for the guest to read; returns true when IRQ 1 should fire. */
static bool push_out(struct i8042 *kbd, uint8_t byte, bool from_keyboard)
{
	if (kbd->out_len == I8042_OUTBUF)
		return false;
	unsigned int tail = (kbd->out_head + kbd->out_len) % I8042_OUTBUF;
	kbd->out[tail] = byte;
	kbd->out_from_kbd[tail] = from_keyboard;
	kbd->out_len++;
	kbd->status |= STR_OBF;
	return from_keyboard && (kbd->ctr & CTR_KBDINT);
}

static bool keyboard_command(struct i8042 *kbd, uint8_t byte)
{
	bool irq = false;
	if (kbd->pending_kbd) {
		uint8_t cmd = kbd->pending_kbd;
		kbd->pending_kbd = 0;
		irq = push_out(kbd, KBD_ACK, true);
		if (cmd == KBD_SCANSET && byte == 0)
			irq |= push_out(kbd, 0x43, true); /* set 2, as translation shows it */
		return irq;
	}
	switch (byte) {
	case KBD_ECHO:
		return push_out(kbd, KBD_ECHO, true);
	case KBD_RESET:
		irq = push_out(kbd, KBD_ACK, true);
		return push_out(kbd, KBD_BAT_OK, true) || irq;
	case KBD_GET_ID:
		irq = push_out(kbd, KBD_ACK, true);
		irq |= push_out(kbd, 0xab, true);
		return push_out(kbd, 0x41, true) || irq; /* 0x83, translated */
	case KBD_SET_LEDS:
	case KBD_SCANSET:
	case KBD_TYPEMATIC:
		kbd->pending_kbd = byte;
		return push_out(kbd, KBD_ACK, true);
	default:
		return push_out(kbd, KBD_ACK, true);
	}
}

/*
 * The real controller has a one-byte output buffer: a new command's reply
 * replaces an unread one. Keyboard bytes stay queued.
 */
static void drop_controller_replies(struct i8042 *kbd)
{
	unsigned int kept = 0;
	for (unsigned int i = 0; i < kbd->out_len; i++) {
		unsigned int from = (kbd->out_head + i) % I8042_OUTBUF;
		if (!kbd->out_from_kbd[from])
			continue;
		unsigned int to = (kbd->out_head + kept) % I8042_OUTBUF;
		kbd->out[to] = kbd->out[from];
		kbd->out_from_kbd[to] = true;
		kept++;
	}
	kbd->out_len = kept;
	if (!kept)
		kbd->status &= ~STR_OBF;
}

/* Returns true when IRQ 1 should fire; *reset when the guest reset the machine. */
static bool controller_command(struct i8042 *kbd, uint8_t cmd, bool *reset)
{
	drop_controller_replies(kbd);
	switch (cmd) {
	case CMD_READ_CTR:
		return push_out(kbd, kbd->ctr, false);
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
	case CMD_KBD_LOOP:
	case CMD_AUX_LOOP:
	case CMD_AUX_SEND:
		kbd->pending_cmd = cmd;
		return false;
	case CMD_SELF_TEST:
		return push_out(kbd, SELF_TEST_OK, false);
	case CMD_KBD_TEST:
		return push_out(kbd, 0x00, false);
	case CMD_AUX_TEST:
		return push_out(kbd, AUX_TEST_FAILED, false);
	case CMD_AUX_DISABLE:
		kbd->ctr |= CTR_AUXDIS;
		return false;
	case CMD_AUX_ENABLE:
		kbd->ctr &= ~CTR_AUXDIS;
		return false;
	case CMD_KBD_DISABLE:
	case CMD_KBD_ENABLE:
		return false;
	case CMD_PULSE_RESET:
		*reset = true;
		return false;
	default:
		kbd->ignored_commands++;
		return false;
	}
}

static bool controller_data(struct i8042 *kbd, uint8_t cmd, uint8_t byte, bool *reset)
{
	switch (cmd) {
	case CMD_WRITE_CTR:
		kbd->ctr = byte;
		return false;
	case CMD_WRITE_OUTP:
		*reset = !(byte & OUTP_RESET);
		return false;
	case CMD_KBD_LOOP:
		return push_out(kbd, byte, true);
	case CMD_AUX_LOOP:
		/*
		 * Answer at once, but not as aux data: Linux then decides there is
		 * no aux port without waiting half a second for the echo.
		 */
		return push_out(kbd, byte, false);
	default:
		/* The aux port has no device: its bytes go nowhere. */
		return false;
	}
}

/*
 * Under the lock: IRQ 1 is an edge made of two line changes, and the pulses
 * of two threads (the guest reading a byte, the API queueing keys) must not
 * interleave as 1, 1, 0, 0, which is one edge, and the guest would wait for
 * the second for ever.
 */
static void pulse_kbd_irq(struct i8042 *kbd)
{
	if (kbd->kbd_irq)
		kbd->kbd_irq(kbd->irq_opaque);
}

static void i8042_read(void *dev, uint64_t offset, void *data, unsigned int len)
{
	struct i8042 *kbd = dev;
	uint8_t v = 0;
	bool irq = false;
	pthread_mutex_lock(&kbd->lock);
	if (offset == REG_COMMAND) {
		v = kbd->status;
	} else if (offset == REG_DATA && kbd->out_len) {
		v = kbd->out[kbd->out_head];
		kbd->out_head = (kbd->out_head + 1) % I8042_OUTBUF;
		if (--kbd->out_len == 0)
			kbd->status &= ~STR_OBF;
		/*
		 * Linux reads one byte per interrupt, and IRQ 1 is an edge: like
		 * the real controller, interrupt again for the next keyboard byte.
		 */
		irq = kbd->out_len && kbd->out_from_kbd[kbd->out_head] && (kbd->ctr & CTR_KBDINT);
	}
	if (irq)
		pulse_kbd_irq(kbd);
	pthread_mutex_unlock(&kbd->lock);
	memset(data, 0, len);
	((uint8_t *)data)[0] = v;
}

static void i8042_write(void *dev, uint64_t offset, const void *data, unsigned int len)
{
	struct i8042 *kbd = dev;
	uint8_t v = ((const uint8_t *)data)[0];
	bool irq = false, reset = false;

	pthread_mutex_lock(&kbd->lock);
	if (offset == REG_COMMAND) {
		kbd->status |= STR_CMDDAT;
		kbd->pending_cmd = 0;
		irq = controller_command(kbd, v, &reset);
	} else if (offset == REG_DATA) {
		kbd->status &= ~STR_CMDDAT;
		uint8_t cmd = kbd->pending_cmd;
		kbd->pending_cmd = 0;
		irq = cmd ? controller_data(kbd, cmd, v, &reset) : keyboard_command(kbd, v);
	}
	if (irq && !reset)
		pulse_kbd_irq(kbd);
	pthread_mutex_unlock(&kbd->lock);

	if (reset)
		kbd->reset(kbd->reset_opaque);
}

const struct bus_ops i8042_bus_ops = {
	.read = i8042_read,
	.write = i8042_write,
};

int i8042_send_ctrl_alt_del(struct i8042 *kbd)
{
	/* Scan code set 1, as the controller's translation delivers it. */
	static const uint8_t keys[] = {
		0x1d,	    /* Ctrl down */
		0x38,	    /* Alt down */
		0xe0, 0x53, /* Del down */
		0xe0, 0xd3, /* Del up */
		0xb8,	    /* Alt up */
		0x9d,	    /* Ctrl up */
	};
	pthread_mutex_lock(&kbd->lock);
	if (I8042_OUTBUF - kbd->out_len < sizeof(keys)) {
		pthread_mutex_unlock(&kbd->lock);
		return -EBUSY;
	}
	bool irq = false;
	for (unsigned int i = 0; i < sizeof(keys); i++)
		irq |= push_out(kbd, keys[i], true);
	if (irq)
		pulse_kbd_irq(kbd);
	pthread_mutex_unlock(&kbd->lock);
	return 0;
}

#define I8042_STATE_TAG	    STATE_TAG('K', 'B', 'D', 'C')
#define I8042_STATE_VERSION 1

struct i8042_record {
	uint32_t version;
	uint8_t ctr, status, pending_cmd, pending_kbd;
	uint32_t out_len;
	uint8_t out[I8042_OUTBUF]; /* unread bytes, oldest first */
	uint8_t out_from_kbd[I8042_OUTBUF];
	uint64_t ignored_commands;
};

int i8042_save(struct i8042 *kbd, struct state_stream *s)
{
	struct i8042_record r;
	memset(&r, 0, sizeof(r));
	pthread_mutex_lock(&kbd->lock);
	r.version = I8042_STATE_VERSION;
	r.ctr = kbd->ctr;
	r.status = kbd->status;
	r.pending_cmd = kbd->pending_cmd;
	r.pending_kbd = kbd->pending_kbd;
	r.out_len = kbd->out_len;
	for (unsigned int i = 0; i < kbd->out_len; i++) {
		unsigned int at = (kbd->out_head + i) % I8042_OUTBUF;
		r.out[i] = kbd->out[at];
		r.out_from_kbd[i] = kbd->out_from_kbd[at];
	}
	r.ignored_commands = kbd->ignored_commands;
	pthread_mutex_unlock(&kbd->lock);
	return state_put(s, I8042_STATE_TAG, &r, sizeof(r));
}

int i8042_restore(struct i8042 *kbd, struct state_stream *s)
{
	struct i8042_record r;
	int ret = state_get(s, I8042_STATE_TAG, &r, sizeof(r));
	if (ret < 0)
		return ret;
	if (r.version != I8042_STATE_VERSION || r.out_len > I8042_OUTBUF)
		return -EPROTO;
	kbd->ctr = r.ctr;
	kbd->status = r.status;
	kbd->pending_cmd = r.pending_cmd;
	kbd->pending_kbd = r.pending_kbd;
	kbd->out_head = 0;
	kbd->out_len = r.out_len;
	memcpy(kbd->out, r.out, sizeof(kbd->out));
	for (unsigned int i = 0; i < I8042_OUTBUF; i++)
		kbd->out_from_kbd[i] = r.out_from_kbd[i] != 0;
	kbd->ignored_commands = r.ignored_commands;
	return 0;
}
