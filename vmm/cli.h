/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_CLI_H
#define EBB_CLI_H

#include "vmm/config/config.h"

struct json_t;

enum cli_result {
	CLI_RUN,	   /* go on and run the VM */
	CLI_DONE,	   /* --help or --version printed; exit 0 */
	CLI_PRINT_SECCOMP, /* print the seccomp filters and exit */
	CLI_ERROR,	   /* a message was printed; exit EBB_EXIT_USAGE */
};

/*
 * Parses ebb's command line: process flags go straight into cfg (prepared
 * by config_init), the flags that are config keys into *doc (a new
 * reference, unless CLI_ERROR), to be applied with cli_apply().
 */
enum cli_result cli_parse(int argc, char **argv, struct vm_config *cfg, struct json_t **doc);
/* Applies the flags' document onto cfg; on error prints "ebb: --FLAG: why". */
int cli_apply(struct json_t *doc, struct vm_config *cfg);

/*
 * Strict number parsing for flags: decimal only, no sign, no trailing
 * characters, within [min, max]. Writes a one-line reason to err.
 */
int cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out, char *err,
		  size_t errlen);

#endif
