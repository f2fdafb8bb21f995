/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_LOG_H
#define EBB_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

/* Returns -EINVAL for an unknown name. Accepts Firecracker's names too. */
int log_level_parse(const char *name, enum log_level *level);
const char *log_level_name(enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Redirect to a file (appended). Returns negative errno. */
int log_set_path(const char *path);
int log_fd(void);
void log_set_show_level(bool show_level, bool show_origin);

/*
 * The calling thread's last error message (without timestamp), so a
 * request handler can hand the reason to an API client. Empty if none.
 */
const char *log_last_error(void);
void log_clear_last_error(void);

void log_msg(enum log_level level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * For functions that explain a failure in their caller's buffer rather than
 * the log: writes the message into err (errlen bytes) and returns ret.
 */
int errmsg(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * A message kind that a guest can trigger at will: at most LOG_LIMIT_BURST
 * lines per LOG_LIMIT_WINDOW_NS, whatever the level; the next line after a
 * quiet window says how many were suppressed. One struct per message kind
 * and device, zero-initialised; the caller serialises its use (the device
 * lock). The device's counters still count every event.
 */
#define LOG_LIMIT_BURST	    5
#define LOG_LIMIT_WINDOW_NS (10ull * 1000000000ull)

struct log_limit {
	unsigned long long window_start_ns;
	unsigned int in_window;
	unsigned long long suppressed;
	unsigned long long total_suppressed;
};

void log_limited(struct log_limit *l, enum log_level level, const char *file, int line,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* At teardown: a last line for what the current window suppressed. */
void log_limit_flush(struct log_limit *l, const char *what);

/*
 * For a message kind counted with an atomic counter on several threads,
 * where a struct log_limit would need a lock: whether its nth occurrence
 * (from 1) is logged. The first LOG_LIMIT_BURST are, then each at a power of
 * two, so a guest that repeats it at will adds a line per doubling.
 */
static inline bool log_nth_worthy(unsigned long long n)
{
	return n <= LOG_LIMIT_BURST || (n & (n - 1)) == 0;
}

#define log_warn_limited(l, ...)  log_limited(l, LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info_limited(l, ...)  log_limited(l, LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug_limited(l, ...) log_limited(l, LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

#define log_err(...)   log_msg(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

#endif
