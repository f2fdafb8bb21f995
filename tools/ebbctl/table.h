/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Plain-text tables: a header row, then rows of cells, columns padded to
 * their widest cell and two spaces apart; number columns are right-aligned.
 * Allocation failures abort: this is a short-lived CLI.
 */
#ifndef EBBCTL_TABLE_H
#define EBBCTL_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct table;

/* headers: ncols strings. */
struct table *table_new(unsigned int ncols, const char *const *headers);
void table_free(struct table *t);
/* Right-aligns column col (numbers). */
void table_align_right(struct table *t, unsigned int col);

/* Starts a new row; then one table_cell() per column. Missing cells print empty. */
void table_row(struct table *t);
void table_cell(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

unsigned int table_rows(const struct table *t);
void table_print(const struct table *t, FILE *out);

/* ---- value formatting shared by the commands ---- */

/* Bytes as MiB with one decimal ("12.5"). */
void fmt_mib(char *buf, size_t len, uint64_t bytes);
/* KiB as MiB with one decimal. */
void fmt_kib_as_mib(char *buf, size_t len, uint64_t kib);
/*
 * How a process ended, from the monitor's record: exit status >= 0, or a
 * negative signal number. "exit 0", "exit 143", "SIGKILL"; "unknown" for
 * EXIT_UNKNOWN.
 */
#define FMT_EXIT_UNKNOWN (-1000)
void fmt_exit(char *buf, size_t len, int status);
/* Whether an ending counts as clean: exit 0 (guest reset) or 143 (SIGTERM, orderly). */
bool fmt_exit_clean(int status);
/*
 * One balloon statistic for people: byte values (free_memory, ...) in MiB,
 * *_mib with the unit, the rest as plain numbers.
 */
void fmt_balloon_stat(char *buf, size_t len, const char *key, int64_t value);

#endif
