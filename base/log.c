// SPDX-License-Identifier: GPL-2.0
/*
 * Logging to stderr or a file, never to stdout: stdout belongs to the guest
 * console. Each line is built in one buffer and written with one write(2) so
 * lines from different threads never interleave.
 */
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static _Atomic int log_level_current = LOG_INFO;
static _Atomic int log_output_fd = STDERR_FILENO;
static _Atomic bool log_show_origin;
static __thread char last_error[512];

static const char *const level_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warn",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

int log_level_parse(const char *name, enum log_level *level)
{
	static const struct {
		const char *name;
		enum log_level level;
	} aliases[] = {
		{ "error", LOG_ERROR }, { "warn", LOG_WARN },	{ "warning", LOG_WARN },
		{ "info", LOG_INFO },	{ "debug", LOG_DEBUG }, { "trace", LOG_DEBUG },
		{ "off", LOG_ERROR },
	};
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strcasecmp(name, aliases[i].name) == 0) {
			*level = aliases[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	return level_names[level];
}

void log_set_level(enum log_level level)
{
	atomic_store(&log_level_current, level);
}

enum log_level log_get_level(void)
{
	return atomic_load(&log_level_current);
}

int log_set_path(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
	if (fd < 0)
		return -errno;
	int old = atomic_exchange(&log_output_fd, fd);
	if (old != STDERR_FILENO)
		close(old);
	return 0;
}

int log_fd(void)
{
	return atomic_load(&log_output_fd);
}

void log_set_show_level(bool show_level, bool show_origin)
{
	(void)show_level;
	atomic_store(&log_show_origin, show_origin);
}

const char *log_last_error(void)
{
	return last_error;
}

void log_clear_last_error(void)
{
	last_error[0] = '\0';
}

__attribute__((format(printf, 5, 0))) static void
log_vmsg(enum log_level level, const char *file, int line, const char *suffix, const char *fmt,
	 va_list args)
{
	if (level == LOG_ERROR) {
		va_list ap;
		va_copy(ap, args);
		vsnprintf(last_error, sizeof(last_error), fmt, ap);
		va_end(ap);
	}
	if ((int)level > atomic_load(&log_level_current))
		return;

	char buf[1024];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ [ebb] %-5s ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, ts.tv_nsec / 1000, level_names[level]);
	if (atomic_load(&log_show_origin) && n < (int)sizeof(buf)) {
		const char *base = strrchr(file, '/');
		n += snprintf(buf + n, sizeof(buf) - n, "%s:%d: ", base ? base + 1 : file, line);
	}
	if (n < (int)sizeof(buf)) {
		va_list ap;
		va_copy(ap, args);
		n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
		va_end(ap);
	}
	if (suffix && n < (int)sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - n, "%s", suffix);
	if (n >= (int)sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';

	ssize_t off = 0;
	int fd = atomic_load(&log_output_fd);
	while (off < n) {
		ssize_t w = write(fd, buf + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += w;
	}
}

int errmsg(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

void log_msg(enum log_level level, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, file, line, NULL, fmt, ap);
	va_end(ap);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void log_limited(struct log_limit *l, enum log_level level, const char *file, int line,
		 const char *fmt, ...)
{
	char suffix[96] = "";
	if ((int)level > atomic_load(&log_level_current))
		return;
	uint64_t now = now_ns();
	if (now - l->window_start_ns >= LOG_LIMIT_WINDOW_NS) {
		if (l->suppressed)
			snprintf(suffix, sizeof(suffix), " (and %llu more like it suppressed)",
				 (unsigned long long)l->suppressed);
		l->window_start_ns = now;
		l->in_window = 0;
		l->suppressed = 0;
	}
	if (l->in_window >= LOG_LIMIT_BURST) {
		l->suppressed++;
		l->total_suppressed++;
		return;
	}
	l->in_window++;
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, file, line, suffix[0] ? suffix : NULL, fmt, ap);
	va_end(ap);
}

void log_limit_flush(struct log_limit *l, const char *what)
{
	if (l->suppressed)
		log_msg(LOG_INFO, __FILE__, __LINE__, "%s: %llu more messages like the last were suppressed",
			what, (unsigned long long)l->suppressed);
	l->suppressed = 0;
}
