// SPDX-License-Identifier: GPL-2.0
#include "base/event_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/log.h"
#include "base/thread.h"

struct event_source {
	int fd;
	event_fn fn;
	void *opaque;
	bool dead;
	struct event_source *next;
};

struct event_hook {
	event_hook_fn fn;
	void *opaque;
	struct event_hook *next;
};

struct event_call {
	event_call_fn fn;
	void *arg;
	int result;
	bool done;
	pthread_cond_t cond;
	struct event_call *next;
};

int event_loop_init(struct event_loop *loop)
{
	memset(loop, 0, sizeof(*loop));
	pthread_mutex_init(&loop->call_lock, NULL);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		return -errno;
	loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->wake_fd < 0) {
		int err = -errno;
		close(loop->epfd);
		return err;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wake_fd, &ev) < 0) {
		int err = -errno;
		close(loop->wake_fd);
		close(loop->epfd);
		return err;
	}
	return 0;
}

static void free_list(struct event_source *src)
{
	while (src) {
		struct event_source *next = src->next;
		free(src);
		src = next;
	}
}

void event_loop_destroy(struct event_loop *loop)
{
	while (loop->hooks) {
		struct event_hook *next = loop->hooks->next;
		free(loop->hooks);
		loop->hooks = next;
	}
	free_list(loop->sources);
	free_list(loop->dead);
	loop->sources = loop->dead = NULL;
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->wake_fd >= 0)
		close(loop->wake_fd);
	loop->epfd = loop->wake_fd = -1;
	pthread_mutex_destroy(&loop->call_lock);
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_fn fn, void *opaque,
		   struct event_source **out)
{
	struct event_source *src = calloc(1, sizeof(*src));
	if (!src)
		return -ENOMEM;
	src->fd = fd;
	src->fn = fn;
	src->opaque = opaque;
	struct epoll_event ev = { .events = events, .data.ptr = src };
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;
		free(src);
		return err;
	}
	src->next = loop->sources;
	loop->sources = src;
	if (out)
		*out = src;
	return 0;
}

int event_loop_add_periodic(struct event_loop *loop, unsigned int period_s, event_fn fn,
			    void *opaque, int *fd)
{
	*fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (*fd < 0)
		return -errno;
	struct itimerspec its = { .it_value = { period_s, 0 }, .it_interval = { period_s, 0 } };
	if (timerfd_settime(*fd, 0, &its, NULL) < 0)
		return -errno;
	return event_loop_add(loop, *fd, EPOLLIN, fn, opaque, NULL);
}

void event_loop_remove(struct event_loop *loop, struct event_source *src)
{
	if (!src || src->dead)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, src->fd, NULL);
	src->dead = true;
	for (struct event_source **p = &loop->sources; *p; p = &(*p)->next) {
		if (*p == src) {
			*p = src->next;
			break;
		}
	}
	src->next = loop->dead;
	loop->dead = src;
}

int event_loop_add_batch_hook(struct event_loop *loop, event_hook_fn fn, void *opaque)
{
	struct event_hook *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->fn = fn;
	h->opaque = opaque;
	struct event_hook **tail = &loop->hooks;
	while (*tail)
		tail = &(*tail)->next;
	*tail = h;
	return 0;
}

void event_loop_remove_batch_hook(struct event_loop *loop, event_hook_fn fn, void *opaque)
{
	for (struct event_hook **p = &loop->hooks; *p; p = &(*p)->next) {
		struct event_hook *h = *p;
		if (h->fn == fn && h->opaque == opaque) {
			*p = h->next;
			free(h);
			return;
		}
	}
}

static void wake(struct event_loop *loop)
{
	uint64_t one = 1;
	ssize_t n = write(loop->wake_fd, &one, sizeof(one));
	(void)n; /* EAGAIN means a wakeup is already pending */
}

bool event_loop_on_loop_thread(const struct event_loop *loop)
{
	return loop->thread_started && pthread_equal(pthread_self(), loop->thread);
}

int event_loop_call(struct event_loop *loop, event_call_fn fn, void *arg)
{
	if (event_loop_on_loop_thread(loop))
		return fn(arg);

	struct event_call call = { .fn = fn, .arg = arg };
	pthread_cond_init(&call.cond, NULL);
	pthread_mutex_lock(&loop->call_lock);
	if (!__atomic_load_n(&loop->running, __ATOMIC_ACQUIRE)) {
		pthread_mutex_unlock(&loop->call_lock);
		pthread_cond_destroy(&call.cond);
		return -ESHUTDOWN;
	}
	if (loop->calls_tail)
		loop->calls_tail->next = &call;
	else
		loop->calls_head = &call;
	loop->calls_tail = &call;
	wake(loop);
	while (!call.done)
		pthread_cond_wait(&call.cond, &loop->call_lock);
	pthread_mutex_unlock(&loop->call_lock);
	pthread_cond_destroy(&call.cond);
	return call.result;
}

/* Runs (or, when shutting down, refuses) every queued call. */
static void run_calls(struct event_loop *loop, bool refuse)
{
	pthread_mutex_lock(&loop->call_lock);
	while (loop->calls_head) {
		struct event_call *call = loop->calls_head;
		loop->calls_head = call->next;
		if (!loop->calls_head)
			loop->calls_tail = NULL;
		if (refuse) {
			call->result = -ESHUTDOWN;
		} else {
			/* Drop the lock so fn may take its time and callers may queue more. */
			pthread_mutex_unlock(&loop->call_lock);
			call->result = call->fn(call->arg);
			pthread_mutex_lock(&loop->call_lock);
		}
		call->done = true;
		pthread_cond_signal(&call->cond);
	}
	pthread_mutex_unlock(&loop->call_lock);
}

void event_loop_close_calls(struct event_loop *loop)
{
	pthread_mutex_lock(&loop->call_lock);
	__atomic_store_n(&loop->running, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&loop->call_lock);
	run_calls(loop, true);
}

int event_loop_run_once(struct event_loop *loop, int timeout_ms)
{
	struct epoll_event events[32];
	int n = epoll_wait(loop->epfd, events, 32, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	loop->wakeups++;
	for (int i = 0; i < n; i++) {
		struct event_source *src = events[i].data.ptr;
		if (!src) {
			uint64_t v;
			ssize_t r = read(loop->wake_fd, &v, sizeof(v));
			(void)r;
			continue;
		}
		if (!src->dead)
			src->fn(src->opaque, events[i].events);
	}
	/*
	 * Calls (API routes) may complete buffers too, so they run before the
	 * hooks: devices raise what this wakeup collected once, here, and not
	 * only at some later wakeup that may never come.
	 */
	run_calls(loop, false);
	for (struct event_hook *h = loop->hooks; h; h = h->next)
		h->fn(h->opaque);
	free_list(loop->dead);
	loop->dead = NULL;
	return n;
}

int event_loop_run(struct event_loop *loop)
{
	int ret = 0;

	__atomic_store_n(&loop->running, true, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&loop->stopping, __ATOMIC_ACQUIRE)) {
		int n = event_loop_run_once(loop, -1);
		if (n < 0) {
			ret = n;
			log_err("event loop: epoll_wait failed: %s", strerror(-n));
			break;
		}
	}

	event_loop_close_calls(loop);
	return ret;
}

struct loop_thread_arg {
	struct event_loop *loop;
	void (*setup)(void *);
	void *setup_arg;
};

static void *loop_thread_main(void *p)
{
	struct loop_thread_arg arg = *(struct loop_thread_arg *)p;
	free(p);
	if (arg.setup)
		arg.setup(arg.setup_arg);
	event_loop_run(arg.loop);
	return NULL;
}

int event_loop_start_thread(struct event_loop *loop, void (*thread_setup)(void *), void *arg)
{
	struct loop_thread_arg *t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	*t = (struct loop_thread_arg){ .loop = loop, .setup = thread_setup, .setup_arg = arg };
	/* Calls queued before the thread reaches epoll_wait must not be refused. */
	__atomic_store_n(&loop->running, true, __ATOMIC_RELEASE);
	int err = thread_start(&loop->thread, loop_thread_main, t);
	if (err) {
		__atomic_store_n(&loop->running, false, __ATOMIC_RELEASE);
		free(t);
		return -err;
	}
	loop->thread_started = true;
	return 0;
}

void event_loop_stop(struct event_loop *loop)
{
	__atomic_store_n(&loop->stopping, true, __ATOMIC_RELEASE);
	wake(loop);
}

void event_loop_join(struct event_loop *loop)
{
	if (loop->thread_started) {
		pthread_join(loop->thread, NULL);
		loop->thread_started = false;
	}
}
