/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ebbctl's command line: one command, its options and its VM names, parsed
 * without side effects so the unit tests can check every error message.
 */
#ifndef EBBCTL_ARGS_H
#define EBBCTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>

/* Exit statuses of ebbctl. */
#define CTL_EXIT_OK    0
#define CTL_EXIT_FAIL  1 /* an operation failed (a VM did not start, an API call failed...) */
#define CTL_EXIT_USAGE 2 /* bad command line */

#define CTL_MAX_COUNT	   1000
#define CTL_DEFAULT_WAIT_S 30.0 /* launch: how long to wait for each API socket */
#define CTL_DEFAULT_STOP_S 10.0 /* stop: how long the guest gets to reset */
#define CTL_MAX_TIMEOUT_S  86400.0
#define CTL_MAX_TARGET_MIB (1u << 24) /* 16 TiB: larger is surely a typo */

enum ctl_cmd {
	CMD_NONE, /* no command: print the overview */
	CMD_HELP, /* ebbctl help [COMMAND] */
	CMD_VERSION,
	CMD_LAUNCH,
	CMD_PS,
	CMD_BALLOON,
	CMD_STATS,
	CMD_METRICS,
	CMD_STOP,
	CMD_SNAPSHOT,
	CMD_RESTORE,
	CMD_NR
};

struct ctl_args {
	enum ctl_cmd cmd;
	enum ctl_cmd help_for; /* CMD_HELP: which command (CMD_NONE: the overview) */
	bool help;	       /* COMMAND --help */
	bool json;
	bool all;
	const char *run_dir;
	const char *config;
	const char *prefix; /* launch --name */
	const char *ebb;
	unsigned int count;
	bool has_target;
	unsigned int target_mib;
	/* balloon auto NAME: the automatic policy on (with margin_mib if has_margin), off, or shown */
	bool balloon_auto;
	bool has_margin;
	unsigned int margin_mib;
	bool off;
	bool show;
	bool has_timeout;
	double timeout_s;
	/* snapshot NAME and restore: the state file, the memory file, Diff, stay paused */
	const char *snapshot;
	const char *mem;
	bool diff;
	bool paused;
	/* Positional VM names, pointing into argv. */
	const char **names;
	unsigned int nr_names;
};

/*
 * Parses argv into a. Returns 0, or -EINVAL with a one-line message in err
 * (without the "ebbctl: " prefix). Call args_free() in both cases.
 */
int args_parse(int argc, char *const argv[], struct ctl_args *a, char *err, size_t errlen);
void args_free(struct ctl_args *a);

/* The command's name ("launch"), or NULL for CMD_NONE and out of range. */
const char *args_cmd_name(enum ctl_cmd cmd);
/* The command's --help text, or the overview for CMD_NONE. */
const char *args_help(enum ctl_cmd cmd);

/* Strict number parsers for option values; 0 or -EINVAL with err set. */
int args_parse_uint(const char *opt, const char *s, unsigned int min, unsigned int max,
		    unsigned int *out, char *err, size_t errlen);
int args_parse_seconds(const char *opt, const char *s, double *out, char *err, size_t errlen);

#endif
