// SPDX-License-Identifier: GPL-2.0
/* ebbctl's tables and value formatting, byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ebbctl/table.c"

/* Prints t into a string (caller frees). */
static char *render(const struct table *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	table_print(t, f);
	fclose(f);
	return buf;
}

static void test_columns_pad_to_widest(void **state)
{
	static const char *const headers[] = { "NAME", "PID", "STATE" };
	struct table *t = table_new(3, headers);
	table_align_right(t, 1);
	table_row(t);
	table_cell(t, "%s", "vm-1");
	table_cell(t, "%d", 7);
	table_cell(t, "%s", "running");
	table_row(t);
	table_cell(t, "%s", "a-much-longer-name");
	table_cell(t, "%d", 123456);
	table_cell(t, "%s", "exited (SIGKILL)");
	assert_int_equal(table_rows(t), 2);
	char *out = render(t);
	assert_string_equal(out, "NAME                   PID  STATE\n"
				 "vm-1                     7  running\n"
				 "a-much-longer-name  123456  exited (SIGKILL)\n");
	free(out);
	table_free(t);
}

static void test_no_trailing_spaces_and_missing_cells(void **state)
{
	static const char *const headers[] = { "A", "LONG HEADER" };
	struct table *t = table_new(2, headers);
	table_row(t);
	table_cell(t, "x");
	table_row(t); /* no cells at all */
	table_row(t);
	table_cell(t, "y");
	table_cell(t, "z");
	table_cell(t, "ignored: beyond the last column");
	char *out = render(t);
	assert_string_equal(out, "A  LONG HEADER\n"
				 "x\n"
				 "\n"
				 "y  z\n");
	free(out);
	table_free(t);
}

static void test_right_aligned_last_column(void **state)
{
	static const char *const headers[] = { "STAT", "VALUE" };
	struct table *t = table_new(2, headers);
	table_align_right(t, 1);
	table_align_right(t, 7); /* out of range: ignored */
	table_row(t);
	table_cell(t, "actual_mib");
	table_cell(t, "64 MiB");
	table_row(t);
	table_cell(t, "free_memory");
	table_cell(t, "150.0 MiB");
	char *out = render(t);
	assert_string_equal(out, "STAT             VALUE\n"
				 "actual_mib      64 MiB\n"
				 "free_memory  150.0 MiB\n");
	free(out);
	table_free(t);
}

static void test_empty_table_prints_header(void **state)
{
	static const char *const headers[] = { "NAME", "PID" };
	struct table *t = table_new(2, headers);
	char *out = render(t);
	assert_string_equal(out, "NAME  PID\n");
	free(out);
	table_free(t);
	table_free(NULL);
}

static void test_many_rows_grow(void **state)
{
	static const char *const headers[] = { "N" };
	struct table *t = table_new(1, headers);
	for (int i = 0; i < 1000; i++) {
		table_row(t);
		table_cell(t, "%d", i);
	}
	assert_int_equal(table_rows(t), 1000);
	char *out = render(t);
	assert_non_null(strstr(out, "\n999\n"));
	assert_true(strncmp(out, "N\n0\n1\n", 6) == 0);
	free(out);
	table_free(t);
}

static void test_fmt_mib(void **state)
{
	char buf[32];
	fmt_mib(buf, sizeof(buf), 0);
	assert_string_equal(buf, "0.0");
	fmt_mib(buf, sizeof(buf), 1 << 20);
	assert_string_equal(buf, "1.0");
	fmt_mib(buf, sizeof(buf), 3 << 19);
	assert_string_equal(buf, "1.5");
	fmt_mib(buf, sizeof(buf), 157298745); /* 150.01 MiB */
	assert_string_equal(buf, "150.0");
	fmt_mib(buf, sizeof(buf), UINT64_MAX);
	assert_string_equal(buf, "17592186044416.0");
	fmt_kib_as_mib(buf, sizeof(buf), 20984);
	assert_string_equal(buf, "20.5");
	fmt_kib_as_mib(buf, sizeof(buf), 4 * 1024 * 1024);
	assert_string_equal(buf, "4096.0");
}

static void test_fmt_exit(void **state)
{
	char buf[32];
	fmt_exit(buf, sizeof(buf), 0);
	assert_string_equal(buf, "exit 0");
	fmt_exit(buf, sizeof(buf), 143);
	assert_string_equal(buf, "exit 143");
	fmt_exit(buf, sizeof(buf), -SIGKILL);
	assert_string_equal(buf, "SIGKILL");
	fmt_exit(buf, sizeof(buf), -SIGSYS);
	assert_string_equal(buf, "SIGSYS");
	fmt_exit(buf, sizeof(buf), FMT_EXIT_UNKNOWN);
	assert_string_equal(buf, "unknown");

	assert_true(fmt_exit_clean(0));
	assert_true(fmt_exit_clean(143));
	assert_false(fmt_exit_clean(1));
	assert_false(fmt_exit_clean(2));
	assert_false(fmt_exit_clean(-SIGKILL));
	assert_false(fmt_exit_clean(FMT_EXIT_UNKNOWN));
}

static void test_fmt_balloon_stat(void **state)
{
	char buf[64];
	fmt_balloon_stat(buf, sizeof(buf), "free_memory", 150LL << 20);
	assert_string_equal(buf, "150.0 MiB");
	fmt_balloon_stat(buf, sizeof(buf), "disk_caches", 0);
	assert_string_equal(buf, "0.0 MiB");
	fmt_balloon_stat(buf, sizeof(buf), "actual_mib", 64);
	assert_string_equal(buf, "64 MiB");
	fmt_balloon_stat(buf, sizeof(buf), "target_pages", 16384);
	assert_string_equal(buf, "16384");
	fmt_balloon_stat(buf, sizeof(buf), "major_faults", 3);
	assert_string_equal(buf, "3");
	/* Unknown keys are shown as they are. */
	fmt_balloon_stat(buf, sizeof(buf), "something_new", -1);
	assert_string_equal(buf, "-1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_columns_pad_to_widest),
		cmocka_unit_test(test_no_trailing_spaces_and_missing_cells),
		cmocka_unit_test(test_right_aligned_last_column),
		cmocka_unit_test(test_empty_table_prints_header),
		cmocka_unit_test(test_many_rows_grow),
		cmocka_unit_test(test_fmt_mib),
		cmocka_unit_test(test_fmt_exit),
		cmocka_unit_test(test_fmt_balloon_stat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
