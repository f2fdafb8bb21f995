/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_FUZZ_ENV_H
#define EBB_FUZZ_ENV_H

#include <stdbool.h>

/*
 * What every harness does around each input: logs go to /dev/null at the
 * level the input picks (debug formats every message, so it is fuzzed too),
 * and after the input no file descriptor may have been leaked or closed
 * behind the harness's back. LeakSanitizer covers memory; this covers fds.
 */

/* Once, from LLVMFuzzerInitialize. */
void fuzz_env_init(void);
/* At the start of each input, before anything opens a file descriptor. */
void fuzz_env_begin(bool debug_log);
/* At the end of each input: aborts unless the lowest free fd is back where it was. */
void fuzz_env_end(void);

/*
 * With FUZZ_TRACE=1 in the environment, a line to stderr; ebb's log then
 * goes to stderr too, at debug level (reproducing a finding).
 */
void fuzz_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A broken invariant: says which and aborts, so libFuzzer keeps the input. */
void fuzz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
