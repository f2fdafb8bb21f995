// SPDX-License-Identifier: GPL-2.0
#include "vmm/console.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"

static void console_on_input(void *opaque, uint32_t events);

static void watch_input(struct console *con)
{
	if (con->in_src || con->in_fd < 0)
		return;
	int ret = event_loop_add(con->loop, con->in_fd, EPOLLIN, console_on_input, con,
				 &con->in_src);
	if (ret == -EPERM) {
		/* A regular file or /dev/null cannot be polled: there is no console input. */
		con->in_fd = -1;
	} else if (ret < 0) {
		log_warn("console: cannot watch stdin: %s", strerror(-ret));
		con->in_fd = -1;
	}
}

static void unwatch_input(struct console *con)
{
	event_loop_remove(con->loop, con->in_src);
	con->in_src = NULL;
}

/* Returns true when everything pending reached the UART. */
static bool flush_pending(struct console *con)
{
	while (con->pending_off < con->pending_len) {
		size_t n = serial_rx_push(con->serial, con->pending + con->pending_off,
					  con->pending_len - con->pending_off);
		if (n == 0)
			return false;
		con->pending_off += n;
	}
	con->pending_len = con->pending_off = 0;
	return true;
}

static void console_on_input(void *opaque, uint32_t events)
{
	struct console *con = opaque;
	ssize_t n = read(con->in_fd, con->pending, sizeof(con->pending));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		unwatch_input(con);
		con->in_fd = -1;
		return;
	}
	con->pending_len = n;
	con->pending_off = 0;
	if (!flush_pending(con))
		unwatch_input(con);
}

static void console_on_space(void *opaque, uint32_t events)
{
	struct console *con = opaque;
	uint64_t v;
	ssize_t r = read(con->space_fd, &v, sizeof(v));
	(void)r;
	if (flush_pending(con))
		watch_input(con);
}

/* Called on a vCPU thread when the guest reads from a full UART. */
static void console_space_notify(void *opaque)
{
	struct console *con = opaque;
	uint64_t one = 1;
	ssize_t w = write(con->space_fd, &one, sizeof(one));
	(void)w;
}

int console_init(struct console *con, struct event_loop *loop, struct serial *serial, int in_fd)
{
	memset(con, 0, sizeof(*con));
	con->saved_flags = -1;
	con->loop = loop;
	con->serial = serial;
	con->in_fd = in_fd;
	con->space_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (con->space_fd < 0)
		return -errno;
	int ret = event_loop_add(loop, con->space_fd, EPOLLIN, console_on_space, con, NULL);
	if (ret < 0)
		return ret;
	serial->rx_space = console_space_notify;
	serial->rx_space_opaque = con;

	if (in_fd >= 0 && isatty(in_fd) && tcgetattr(in_fd, &con->saved_tty) == 0) {
		struct termios raw = con->saved_tty;
		cfmakeraw(&raw);
		raw.c_oflag = con->saved_tty.c_oflag; /* keep output processing for ebb's own logs */
		if (tcsetattr(in_fd, TCSANOW, &raw) == 0)
			con->tty_raw = true;
	}
	if (in_fd >= 0) {
		con->saved_flags = fcntl(in_fd, F_GETFL);
		if (con->saved_flags >= 0)
			fcntl(in_fd, F_SETFL, con->saved_flags | O_NONBLOCK);
	}
	watch_input(con);
	return 0;
}

void console_restore(struct console *con)
{
	if (con->tty_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &con->saved_tty);
		con->tty_raw = false;
	}
	/* stdin's file description is shared with the shell that started us. */
	if (con->saved_flags >= 0) {
		fcntl(STDIN_FILENO, F_SETFL, con->saved_flags);
		con->saved_flags = -1;
	}
	if (con->space_fd >= 0) {
		close(con->space_fd);
		con->space_fd = -1;
	}
}
