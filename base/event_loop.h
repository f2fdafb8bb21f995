/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_EVENT_LOOP_H
#define EBB_EVENT_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * The device event loop: epoll over file descriptors with callbacks. It
 * knows nothing about devices. After each wakeup's batch of callbacks it runs
 * the batch hooks, which is where devices raise their coalesced interrupts.
 */

typedef void (*event_fn)(void *opaque, uint32_t events);
typedef void (*event_hook_fn)(void *opaque);
typedef int (*event_call_fn)(void *arg);

struct event_source;
struct event_call;
struct event_hook;

struct event_loop {
	int epfd;
	int wake_fd;
	bool stopping; /* atomic */
	bool running;  /* atomic: the loop thread accepts calls */
	struct event_source *sources;
	struct event_source *dead;
	struct event_hook *hooks; /* in the order they were added */
	pthread_mutex_t call_lock;
	struct event_call *calls_head, *calls_tail;
	pthread_t thread;
	bool thread_started;
	uint64_t wakeups;
};

int event_loop_init(struct event_loop *loop);
void event_loop_destroy(struct event_loop *loop);

int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_fn fn, void *opaque,
		   struct event_source **out);
/*
 * A timerfd firing every period_s seconds, watched by the loop; *fd is set as
 * soon as it exists (the caller closes it), -1 before. fn reads it.
 */
int event_loop_add_periodic(struct event_loop *loop, unsigned int period_s, event_fn fn,
			    void *opaque, int *fd);
/* Safe from inside a callback; the source is freed after the current batch. */
void event_loop_remove(struct event_loop *loop, struct event_source *src);
int event_loop_add_batch_hook(struct event_loop *loop, event_hook_fn fn, void *opaque);
/* Removes the hook added with fn and opaque, if there is one. */
void event_loop_remove_batch_hook(struct event_loop *loop, event_hook_fn fn, void *opaque);

/*
 * Runs fn(arg) on the loop thread and returns its result, waiting for it.
 * Called on the loop thread itself, it runs fn directly. Returns -ESHUTDOWN
 * if the loop is not running.
 */
int event_loop_call(struct event_loop *loop, event_call_fn fn, void *arg);

/*
 * Takes no more calls: those queued and every later one get -ESHUTDOWN. For a
 * loop run by hand with event_loop_run_once, once its runner stops, so that a
 * caller never waits for a wakeup that will not come.
 */
void event_loop_close_calls(struct event_loop *loop);
/* One wakeup: callbacks, queued calls, batch hooks. Returns events handled or -errno. */
int event_loop_run_once(struct event_loop *loop, int timeout_ms);
/* Runs until event_loop_stop(); returns 0 or negative errno. */
int event_loop_run(struct event_loop *loop);
int event_loop_start_thread(struct event_loop *loop, void (*thread_setup)(void *), void *arg);
void event_loop_stop(struct event_loop *loop);
void event_loop_join(struct event_loop *loop);
bool event_loop_on_loop_thread(const struct event_loop *loop);

#endif
