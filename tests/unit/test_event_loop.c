// SPDX-License-Identifier: GPL-2.0
/*
 * The event loop's order within one wakeup: callbacks and queued calls
 * (API routes) first, then the batch hooks, where devices raise the
 * interrupts collected during the wakeup. A call that completes a buffer
 * must have its interrupt raised in the same wakeup: a guest waiting for
 * that buffer may have nothing else that wakes the loop again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/event_loop.h"

struct pending_irq {
	int raised_by_call; /* hooks that saw the call's work */
	int marked;
};

static void flush_hook(void *opaque)
{
	struct pending_irq *p = opaque;
	if (p->marked) {
		p->marked = 0;
		p->raised_by_call++;
	}
}

static int mark_call(void *arg)
{
	struct pending_irq *p = arg;
	p->marked = 1;
	return 7;
}

struct caller {
	struct event_loop *loop;
	struct pending_irq *p;
	int result;
};

static void *call_from_thread(void *arg)
{
	struct caller *c = arg;
	c->result = event_loop_call(c->loop, mark_call, c->p);
	return NULL;
}

static void test_call_work_flushed_in_same_wakeup(void **state)
{
	(void)state;
	struct event_loop loop;
	assert_int_equal(event_loop_init(&loop), 0);
	struct pending_irq p = { 0 };
	assert_int_equal(event_loop_add_batch_hook(&loop, flush_hook, &p), 0);
	__atomic_store_n(&loop.running, true, __ATOMIC_RELEASE);

	struct caller c = { .loop = &loop, .p = &p };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, call_from_thread, &c), 0);
	/* One wakeup runs the call once it is queued (its wake_fd write wakes us). */
	while (!p.raised_by_call && !p.marked)
		assert_true(event_loop_run_once(&loop, 1000) >= 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(c.result, 7);
	/* The hook of the wakeup that ran the call saw its work. */
	assert_int_equal(p.raised_by_call, 1);
	assert_int_equal(p.marked, 0);

	__atomic_store_n(&loop.running, false, __ATOMIC_RELEASE);
	event_loop_destroy(&loop);
}

static void test_closed_loop_refuses_calls(void **state)
{
	(void)state;
	struct event_loop loop;
	assert_int_equal(event_loop_init(&loop), 0);
	struct pending_irq p = { 0 };
	__atomic_store_n(&loop.running, true, __ATOMIC_RELEASE);
	struct caller c = { .loop = &loop, .p = &p };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, call_from_thread, &c), 0);
	/* The call is queued, and nobody runs the loop any more. */
	for (;;) {
		pthread_mutex_lock(&loop.call_lock);
		bool queued = loop.calls_head != NULL;
		pthread_mutex_unlock(&loop.call_lock);
		if (queued)
			break;
		usleep(1000);
	}
	event_loop_close_calls(&loop);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(c.result, -ESHUTDOWN);
	assert_int_equal(p.marked, 0);
	/* A later call is refused at once. */
	assert_int_equal(event_loop_call(&loop, mark_call, &p), -ESHUTDOWN);
	event_loop_destroy(&loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_call_work_flushed_in_same_wakeup),
		cmocka_unit_test(test_closed_loop_refuses_calls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
