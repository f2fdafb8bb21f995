/* SPDX-License-Identifier: GPL-2.0 */
/* ebbctl: the commands and what they share. */
#ifndef EBBCTL_EBBCTL_H
#define EBBCTL_EBBCTL_H

#include <jansson.h>
#include <limits.h>

#include "tools/ebbctl/args.h"

struct ctl {
	const struct ctl_args *args;
	char run_dir[PATH_MAX]; /* absolute */
};

/* Each returns a CTL_EXIT_* status. */
int cmd_launch(const struct ctl *ctl);
int cmd_ps(const struct ctl *ctl);
int cmd_balloon(const struct ctl *ctl);
int cmd_stats(const struct ctl *ctl);
int cmd_metrics(const struct ctl *ctl);
int cmd_stop(const struct ctl *ctl);
int cmd_snapshot(const struct ctl *ctl);

/* "ebbctl: MESSAGE" on stderr. */
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints j (indented) and a newline on stdout, then drops the reference. */
void ctl_print_json(json_t *j);
/* json_integer, or json_null() when v is negative (unknown). */
json_t *ctl_json_int_or_null(long long v);

#endif
