// SPDX-License-Identifier: GPL-2.0
#include "tools/ebbctl/table.h"

#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct table {
	unsigned int ncols;
	char **headers;
	bool *right;
	char **cells; /* rows * ncols, NULL for missing */
	unsigned int rows, cap_rows;
	unsigned int next_col;
};

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p) {
		fputs("ebbctl: out of memory\n", stderr);
		abort();
	}
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p) {
		fputs("ebbctl: out of memory\n", stderr);
		abort();
	}
	return p;
}

struct table *table_new(unsigned int ncols, const char *const *headers)
{
	struct table *t = xcalloc(1, sizeof(*t));
	t->ncols = ncols;
	t->headers = xcalloc(ncols, sizeof(*t->headers));
	t->right = xcalloc(ncols, sizeof(*t->right));
	for (unsigned int c = 0; c < ncols; c++)
		t->headers[c] = xstrdup(headers[c]);
	return t;
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (unsigned int c = 0; c < t->ncols; c++)
		free(t->headers[c]);
	for (size_t i = 0; i < (size_t)t->rows * t->ncols; i++)
		free(t->cells[i]);
	free(t->headers);
	free(t->right);
	free(t->cells);
	free(t);
}

void table_align_right(struct table *t, unsigned int col)
{
	if (col < t->ncols)
		t->right[col] = true;
}

void table_row(struct table *t)
{
	if (t->rows == t->cap_rows) {
		unsigned int cap = t->cap_rows ? t->cap_rows * 2 : 8;
		char **cells = xcalloc((size_t)cap * t->ncols, sizeof(*cells));
		if (t->cells)
			memcpy(cells, t->cells, (size_t)t->rows * t->ncols * sizeof(*cells));
		free(t->cells);
		t->cells = cells;
		t->cap_rows = cap;
	}
	t->rows++;
	t->next_col = 0;
}

void table_cell(struct table *t, const char *fmt, ...)
{
	if (t->rows == 0 || t->next_col >= t->ncols)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *s;
	if (vasprintf(&s, fmt, ap) < 0) {
		fputs("ebbctl: out of memory\n", stderr);
		abort();
	}
	va_end(ap);
	t->cells[(size_t)(t->rows - 1) * t->ncols + t->next_col++] = s;
}

unsigned int table_rows(const struct table *t)
{
	return t->rows;
}

/* One line, without trailing blanks: it stops at the last non-empty cell. */
static void print_line(const struct table *t, FILE *out, char *const *cells, const size_t *width)
{
	int end = -1;
	for (unsigned int c = 0; c < t->ncols; c++) {
		if (cells[c] && cells[c][0])
			end = (int)c;
	}
	for (int c = 0; c <= end; c++) {
		const char *s = cells[c] ? cells[c] : "";
		int pad = (int)(width[c] - strlen(s));
		if (c)
			fputs("  ", out);
		if (t->right[c])
			fprintf(out, "%*s%s", pad, "", s);
		else if (c == end)
			fputs(s, out);
		else
			fprintf(out, "%s%*s", s, pad, "");
	}
	fputc('\n', out);
}

void table_print(const struct table *t, FILE *out)
{
	size_t *width = xcalloc(t->ncols, sizeof(*width));
	for (unsigned int c = 0; c < t->ncols; c++) {
		width[c] = strlen(t->headers[c]);
		for (unsigned int r = 0; r < t->rows; r++) {
			const char *s = t->cells[(size_t)r * t->ncols + c];
			if (s && strlen(s) > width[c])
				width[c] = strlen(s);
		}
	}
	print_line(t, out, t->headers, width);
	for (unsigned int r = 0; r < t->rows; r++)
		print_line(t, out, &t->cells[(size_t)r * t->ncols], width);
	free(width);
}

/* ---- values ---- */

void fmt_mib(char *buf, size_t len, uint64_t bytes)
{
	snprintf(buf, len, "%.1f", (double)bytes / (1 << 20));
}

void fmt_kib_as_mib(char *buf, size_t len, uint64_t kib)
{
	snprintf(buf, len, "%.1f", (double)kib / 1024);
}

void fmt_exit(char *buf, size_t len, int status)
{
	if (status == FMT_EXIT_UNKNOWN) {
		snprintf(buf, len, "unknown");
	} else if (status >= 0) {
		snprintf(buf, len, "exit %d", status);
	} else {
		const char *abbrev = sigabbrev_np(-status);
		if (abbrev)
			snprintf(buf, len, "SIG%s", abbrev);
		else
			snprintf(buf, len, "signal %d", -status);
	}
}

bool fmt_exit_clean(int status)
{
	return status == 0 || status == 128 + SIGTERM;
}

static bool is_byte_stat(const char *key)
{
	static const char *const bytes[] = {
		"swap_in",	"swap_out",	    "free_memory",
		"total_memory", "available_memory", "disk_caches",
	};
	for (size_t i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++) {
		if (strcmp(key, bytes[i]) == 0)
			return true;
	}
	return false;
}

void fmt_balloon_stat(char *buf, size_t len, const char *key, int64_t value)
{
	size_t klen = strlen(key);
	if (is_byte_stat(key) && value >= 0) {
		char mib[32];
		fmt_mib(mib, sizeof(mib), (uint64_t)value);
		snprintf(buf, len, "%s MiB", mib);
	} else if (klen > 4 && strcmp(key + klen - 4, "_mib") == 0) {
		snprintf(buf, len, "%" PRId64 " MiB", value);
	} else {
		snprintf(buf, len, "%" PRId64, value);
	}
}
