// SPDX-License-Identifier: GPL-2.0
/* The i8042: Linux's controller probe, keyboard replies, reset, Ctrl+Alt+Del. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "devices/i8042.h"

struct probe {
	unsigned int resets, irqs;
};

static void on_reset(void *opaque)
{
	((struct probe *)opaque)->resets++;
}

static void on_irq(void *opaque)
{
	((struct probe *)opaque)->irqs++;
}

static uint8_t rd(struct i8042 *k, unsigned int port)
{
	uint8_t v;
	i8042_bus_ops.read(k, port - I8042_DATA_PORT, &v, 1);
	return v;
}

static void wr(struct i8042 *k, unsigned int port, uint8_t v)
{
	i8042_bus_ops.write(k, port - I8042_DATA_PORT, &v, 1);
}

static void test_linux_probe_sequence(void **state)
{
	struct probe p = { 0 };
	struct i8042 k;
	i8042_init(&k, on_reset, on_irq, &p);

	wr(&k, I8042_COMMAND_PORT, 0xaa); /* self test */
	assert_true(rd(&k, I8042_COMMAND_PORT) & 0x01);
	assert_int_equal(rd(&k, I8042_DATA_PORT), 0x55);
	assert_false(rd(&k, I8042_COMMAND_PORT) & 0x01);

	wr(&k, I8042_COMMAND_PORT, 0x20); /* read the command byte */
	uint8_t ctr = rd(&k, I8042_DATA_PORT);
	assert_true(ctr & 0x40);	  /* translation on */
	wr(&k, I8042_COMMAND_PORT, 0x60); /* write it back with KBDINT off */
	wr(&k, I8042_DATA_PORT, ctr & ~0x01);
	wr(&k, I8042_COMMAND_PORT, 0x20);
	assert_int_equal(rd(&k, I8042_DATA_PORT), ctr & ~0x01);

	/* Keyboard commands are acknowledged; interrupts follow KBDINT. */
	wr(&k, I8042_DATA_PORT, 0xf2); /* get id, interrupts off */
	assert_int_equal(p.irqs, 0);
	assert_int_equal(rd(&k, I8042_DATA_PORT), 0xfa);
	assert_int_equal(rd(&k, I8042_DATA_PORT), 0xab);
	assert_int_equal(rd(&k, I8042_DATA_PORT), 0x41);
	wr(&k, I8042_COMMAND_PORT, 0x60);
	wr(&k, I8042_DATA_PORT, ctr | 0x01);
	wr(&k, I8042_DATA_PORT, 0xff); /* reset: ack and self-test passed */
	assert_int_equal(p.irqs, 1);
	assert_int_equal(rd(&k, I8042_DATA_PORT), 0xfa);
	assert_int_equal(p.irqs, 2); /* the next byte interrupts again */
	assert_int_equal(rd(&k, I8042_DATA_PORT), 0xaa);
	assert_int_equal(p.irqs, 2);
	assert_int_equal(p.resets, 0);
	i8042_destroy(&k);
}

static void test_ctrl_alt_del_one_interrupt_per_byte(void **state)
{
	struct probe p = { 0 };
	struct i8042 k;
	i8042_init(&k, on_reset, on_irq, &p);
	assert_int_equal(i8042_send_ctrl_alt_del(&k), 0);
	assert_int_equal(p.irqs, 1);
	static const uint8_t want[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
	for (unsigned int i = 0; i < sizeof(want); i++) {
		assert_true(rd(&k, I8042_COMMAND_PORT) & 0x01);
		assert_int_equal(rd(&k, I8042_DATA_PORT), want[i]);
		/* Linux reads one byte per interrupt: each read must bring the next one. */
		assert_int_equal(p.irqs, i + 1 < sizeof(want) ? i + 2 : sizeof(want));
	}
	assert_false(rd(&k, I8042_COMMAND_PORT) & 0x01);
	i8042_destroy(&k);
}

/*
 * IRQ 1 as KVM's IOAPIC sees it: a line whose rises are the edges. The first
 * pulse, from the thread that queued the keys, lets the guest read its byte
 * on another thread before the line falls again, as a slow host allows.
 */
struct edge_line {
	pthread_mutex_t m;
	pthread_cond_t c;
	struct i8042 *kbd;
	int level, pulses;
	unsigned int edges;
	bool read_may_start, read_done;
};

static void line_set(struct edge_line *l, int level)
{
	if (level && !l->level)
		l->edges++;
	l->level = level;
}

static void on_pulse(void *opaque)
{
	struct edge_line *l = opaque;
	pthread_mutex_lock(&l->m);
	line_set(l, 1);
	if (l->pulses++ == 0) {
		l->read_may_start = true;
		pthread_cond_broadcast(&l->c);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200 * 1000 * 1000;
		until.tv_sec += until.tv_nsec / 1000000000;
		until.tv_nsec %= 1000000000;
		while (!l->read_done && pthread_cond_timedwait(&l->c, &l->m, &until) == 0)
			;
	}
	line_set(l, 0);
	pthread_mutex_unlock(&l->m);
}

static void *guest_reads_one_byte(void *opaque)
{
	struct edge_line *l = opaque;
	pthread_mutex_lock(&l->m);
	while (!l->read_may_start)
		pthread_cond_wait(&l->c, &l->m);
	pthread_mutex_unlock(&l->m);
	rd(l->kbd, I8042_DATA_PORT);
	pthread_mutex_lock(&l->m);
	l->read_done = true;
	pthread_cond_broadcast(&l->c);
	pthread_mutex_unlock(&l->m);
	return NULL;
}

static void test_pulses_of_two_threads_stay_two_edges(void **state)
{
	(void)state;
	struct i8042 k;
	struct edge_line l = { .kbd = &k };
	pthread_mutex_init(&l.m, NULL);
	pthread_cond_init(&l.c, NULL);
	i8042_init(&k, on_reset, on_pulse, &l);
	pthread_t guest;
	assert_int_equal(pthread_create(&guest, NULL, guest_reads_one_byte, &l), 0);
	assert_int_equal(i8042_send_ctrl_alt_del(&k), 0);
	pthread_join(guest, NULL);
	/* One edge for the keys, one for the byte after the one read. */
	assert_int_equal(l.pulses, 2);
	assert_int_equal(l.edges, 2);
	i8042_destroy(&k);
	pthread_cond_destroy(&l.c);
	pthread_mutex_destroy(&l.m);
}

static void test_reset_lines(void **state)
{
	struct probe p = { 0 };
	struct i8042 k;
	i8042_init(&k, on_reset, on_irq, &p);
	wr(&k, I8042_COMMAND_PORT, 0xfe);
	assert_int_equal(p.resets, 1);
	wr(&k, I8042_COMMAND_PORT, 0xd1); /* write the output port with bit 0 low */
	wr(&k, I8042_DATA_PORT, 0xfe);
	assert_int_equal(p.resets, 2);
	wr(&k, I8042_COMMAND_PORT, 0xd1);
	wr(&k, I8042_DATA_PORT, 0xff);
	assert_int_equal(p.resets, 2);
	i8042_destroy(&k);
}

/*
 * Linux's aux check: the loopback answers at once without the aux-data flag
 * (no half-second timeout), and the aux test's reply replaces that byte.
 */
static void test_no_aux_port_found_at_once(void **state)
{
	struct probe p = { 0 };
	struct i8042 k;
	i8042_init(&k, on_reset, on_irq, &p);

	wr(&k, I8042_COMMAND_PORT, 0xd3); /* aux loopback */
	wr(&k, I8042_DATA_PORT, 0x5a);
	uint8_t status = rd(&k, I8042_COMMAND_PORT);
	assert_true(status & 0x01);
	assert_false(status & 0x20);

	wr(&k, I8042_COMMAND_PORT, 0xa9); /* aux interface test */
	assert_int_equal(rd(&k, I8042_DATA_PORT), 0x01);
	assert_false(rd(&k, I8042_COMMAND_PORT) & 0x01);

	wr(&k, I8042_COMMAND_PORT, 0xa8); /* aux enable clears AUXDIS */
	wr(&k, I8042_COMMAND_PORT, 0x20);
	assert_false(rd(&k, I8042_DATA_PORT) & 0x20);
	assert_int_equal(p.irqs, 0);
	i8042_destroy(&k);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_probe_sequence),
		cmocka_unit_test(test_ctrl_alt_del_one_interrupt_per_byte),
		cmocka_unit_test(test_pulses_of_two_threads_stay_two_edges),
		cmocka_unit_test(test_reset_lines),
		cmocka_unit_test(test_no_aux_port_found_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
