/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_LOG_H
#define EBB_LOG_H

#include <stdbool.h>

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

#define log_err(...)   log_msg(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

#endif
