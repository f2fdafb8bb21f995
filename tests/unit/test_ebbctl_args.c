// SPDX-License-Identifier: GPL-2.0
/*
 * ebbctl's command line: what parses, the defaults, and the one-line error
 * for every kind of mistake. ebbctl is not in ebb_core, so its pure sources
 * are compiled in here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tools/ebbctl/args.c"
#include "tools/ebbctl/rundir.c"

#define MAX_ARGV 16

/* Splits a space-separated command line (no quoting) after "ebbctl". */
static int split(const char *line, char *buf, size_t len, char **argv)
{
	int argc = 0;
	argv[argc++] = "ebbctl";
	snprintf(buf, len, "%s", line);
	for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok && argc < MAX_ARGV - 1;
	     tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	return argc;
}

static int parse(const char *line, struct ctl_args *a, char *err, size_t errlen)
{
	static char buf[512];
	static char *argv[MAX_ARGV];
	int argc = split(line, buf, sizeof(buf), argv);
	return args_parse(argc, argv, a, err, errlen);
}

static void test_launch_parses(void **state)
{
	struct ctl_args a;
	char err[256];
	assert_int_equal(parse("--run-dir /tmp/r launch --config vm.json --count 3 --name web "
			       "--ebb=/opt/ebb --timeout 2.5 --json",
			       &a, err, sizeof(err)),
			 0);
	assert_int_equal(a.cmd, CMD_LAUNCH);
	assert_string_equal(a.run_dir, "/tmp/r");
	assert_string_equal(a.config, "vm.json");
	assert_int_equal(a.count, 3);
	assert_string_equal(a.prefix, "web");
	assert_string_equal(a.ebb, "/opt/ebb");
	assert_true(a.has_timeout);
	assert_true(a.timeout_s > 2.49 && a.timeout_s < 2.51);
	assert_true(a.json);
	args_free(&a);
}

static void test_defaults(void **state)
{
	struct ctl_args a;
	char err[256];
	assert_int_equal(parse("launch --config=vm.json", &a, err, sizeof(err)), 0);
	assert_int_equal(a.count, 1);
	assert_null(a.prefix);
	assert_null(a.run_dir);
	assert_false(a.json);
	assert_true(a.timeout_s == CTL_DEFAULT_WAIT_S);
	args_free(&a);

	assert_int_equal(parse("stop --all", &a, err, sizeof(err)), 0);
	assert_true(a.all);
	assert_true(a.timeout_s == CTL_DEFAULT_STOP_S);
	assert_int_equal(a.nr_names, 0);
	args_free(&a);
}

static void test_names(void **state)
{
	struct ctl_args a;
	char err[256];
	assert_int_equal(parse("stop vm-1 vm-2 --timeout 3 vm-10", &a, err, sizeof(err)), 0);
	assert_int_equal(a.nr_names, 3);
	assert_string_equal(a.names[0], "vm-1");
	assert_string_equal(a.names[2], "vm-10");
	args_free(&a);

	assert_int_equal(parse("balloon vm-1 --target-mib 64", &a, err, sizeof(err)), 0);
	assert_int_equal(a.cmd, CMD_BALLOON);
	assert_string_equal(a.names[0], "vm-1");
	assert_true(a.has_target);
	assert_int_equal(a.target_mib, 64);
	args_free(&a);

	assert_int_equal(parse("balloon vm-1 --target-mib 0", &a, err, sizeof(err)), 0);
	assert_int_equal(a.target_mib, 0);
	args_free(&a);

	assert_int_equal(parse("balloon auto vm-1 --margin-mib 96", &a, err, sizeof(err)), 0);
	assert_true(a.balloon_auto);
	assert_int_equal(a.nr_names, 1);
	assert_string_equal(a.names[0], "vm-1");
	assert_true(a.has_margin);
	assert_int_equal(a.margin_mib, 96);
	args_free(&a);

	/* A VM named "auto" is reachable both ways. */
	assert_int_equal(parse("balloon auto auto --off", &a, err, sizeof(err)), 0);
	assert_true(a.balloon_auto && a.off);
	assert_string_equal(a.names[0], "auto");
	args_free(&a);
	assert_int_equal(parse("balloon auto --target-mib 5", &a, err, sizeof(err)), 0);
	assert_false(a.balloon_auto);
	assert_string_equal(a.names[0], "auto");
	args_free(&a);

	/* After "--", names may look like options... and are then checked as names. */
	assert_int_equal(parse("stats -- -x", &a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "must start with a letter or a digit"));
	args_free(&a);
}

static void test_help_and_version(void **state)
{
	struct ctl_args a;
	char err[256];
	/* --help skips the command's own checks: no --config needed. */
	assert_int_equal(parse("launch --help", &a, err, sizeof(err)), 0);
	assert_int_equal(a.cmd, CMD_LAUNCH);
	assert_true(a.help);
	args_free(&a);

	assert_int_equal(parse("balloon -h", &a, err, sizeof(err)), 0);
	assert_true(a.help);
	args_free(&a);

	assert_int_equal(parse("help stop", &a, err, sizeof(err)), 0);
	assert_int_equal(a.cmd, CMD_HELP);
	assert_int_equal(a.help_for, CMD_STOP);
	args_free(&a);

	assert_int_equal(parse("", &a, err, sizeof(err)), 0);
	assert_int_equal(a.cmd, CMD_NONE);
	args_free(&a);

	assert_int_equal(parse("--version", &a, err, sizeof(err)), 0);
	assert_int_equal(a.cmd, CMD_VERSION);
	args_free(&a);

	/* Every command has its own help, which names it. */
	for (int c = CMD_LAUNCH; c < CMD_NR; c++) {
		char want[64];
		snprintf(want, sizeof(want), "ebbctl %s", args_cmd_name(c));
		assert_non_null(strstr(args_help(c), want));
		assert_ptr_not_equal(args_help(c), args_help(CMD_NONE));
		/* The overview lists it. */
		snprintf(want, sizeof(want), "  %s ", args_cmd_name(c));
		assert_non_null(strstr(args_help(CMD_NONE), want));
	}
}

static const struct {
	const char *line;
	const char *error;
} bad_lines[] = {
	{ "bogus", "unknown command 'bogus' (see ebbctl --help)" },
	{ "--json ps", "--json goes after the command (see ebbctl --help)" },
	{ "-x", "unknown option '-x' (see ebbctl --help)" },
	{ "launch", "launch: --config FILE is required (see ebbctl launch --help)" },
	{ "launch --config", "launch: --config needs a value" },
	{ "launch --config vm.json --bogus",
	  "launch: unknown option '--bogus' (see ebbctl launch --help)" },
	{ "launch --config vm.json --bogus=1",
	  "launch: unknown option '--bogus' (see ebbctl launch --help)" },
	{ "launch --config vm.json --count", "launch: --count needs a value" },
	{ "launch --config vm.json --count abc", "launch: --count: 'abc' is not a whole number" },
	{ "launch --config vm.json --count 0", "launch: --count: 0 is out of range (1 to 1000)" },
	{ "launch --config vm.json --count 1001",
	  "launch: --count: 1001 is out of range (1 to 1000)" },
	{ "launch --config vm.json --count 99999999999999999999",
	  "launch: --count: 99999999999999999999 is out of range (1 to 1000)" },
	{ "launch --config vm.json --count= ",
	  "launch: --count: needs a whole number, got an empty value" },
	{ "launch --config vm.json --count 2 --count 3", "launch: --count given twice" },
	{ "launch --config vm.json --name a/b",
	  "launch: --name: name prefix 'a/b': only letters, digits, '-', '_' and '.' are allowed" },
	{ "launch --config vm.json --timeout 0",
	  "launch: --timeout: must be more than 0 and at most 86400 seconds, got 0" },
	{ "launch --config vm.json --timeout 5s",
	  "launch: --timeout: '5s' is not a number of seconds" },
	{ "launch --config vm.json --timeout nan",
	  "launch: --timeout: 'nan' is not a number of seconds" },
	{ "launch --config vm.json --timeout inf",
	  "launch: --timeout: 'inf' is not a number of seconds" },
	{ "launch --config vm.json --timeout -1",
	  "launch: --timeout: must be more than 0 and at most 86400 seconds, got -1" },
	{ "launch --config vm.json vm-1",
	  "launch: unexpected argument 'vm-1' (see ebbctl launch --help)" },
	{ "launch --config vm.json --all",
	  "launch: --all is not an option of launch (see ebbctl launch --help)" },
	{ "launch --config vm.json --count 1000 --name "
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  "launch: --name aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa is too "
	  "long for --count 1000" },
	{ "ps extra", "ps: unexpected argument 'extra' (see ebbctl ps --help)" },
	{ "ps --json=yes", "ps: --json takes no value" },
	{ "ps --run-dir", "ps: --run-dir needs a value" },
	{ "ps --run-dir=", "ps: --run-dir: needs a directory, got an empty value" },
	{ "ps --target-mib 5", "ps: --target-mib is not an option of ps (see ebbctl ps --help)" },
	{ "balloon", "balloon: which VM? (ebbctl balloon NAME --target-mib M)" },
	{ "balloon vm-1", "balloon: --target-mib M is required" },
	{ "balloon vm-1 --target-mib", "balloon: --target-mib needs a value" },
	{ "balloon vm-1 --target-mib 64MiB",
	  "balloon: --target-mib: '64MiB' is not a whole number" },
	{ "balloon vm-1 --target-mib -5", "balloon: --target-mib: '-5' is not a whole number" },
	{ "balloon vm-1 --target-mib +5", "balloon: --target-mib: '+5' is not a whole number" },
	{ "balloon vm-1 --target-mib 1.5", "balloon: --target-mib: '1.5' is not a whole number" },
	{ "balloon vm-1 --target-mib 16777217",
	  "balloon: --target-mib: 16777217 is out of range (0 to 16777216)" },
	{ "balloon vm-1 vm-2 --target-mib 5", "balloon: one VM name only, got 'vm-1' and 'vm-2'" },
	{ "balloon auto", "balloon auto: which VM? (ebbctl balloon auto NAME)" },
	{ "balloon auto vm-1 --target-mib 5",
	  "balloon auto: --target-mib sets a target by hand, which turns the policy off; give "
	  "one or the other" },
	{ "balloon auto vm-1 --off --show",
	  "balloon auto: --margin-mib, --off and --show go one at a time" },
	{ "balloon auto vm-1 --margin-mib x", "balloon: --margin-mib: 'x' is not a whole number" },
	{ "balloon vm-1 --off", "balloon: --off belongs to the policy (ebbctl balloon auto NAME ...)" },
	{ "balloon vm-1 --margin-mib 5",
	  "balloon: --margin-mib belongs to the policy (ebbctl balloon auto NAME ...)" },
	{ "stats", "stats: which VM? (ebbctl stats NAME)" },
	{ "stats ../etc", "stats: VM name '../etc' must start with a letter or a digit" },
	{ "stats vm_1/x",
	  "stats: VM name 'vm_1/x': only letters, digits, '-', '_' and '.' are allowed" },
	{ "metrics", "metrics: which VM? (ebbctl metrics NAME)" },
	{ "stop", "stop: which VMs? (ebbctl stop NAME... or --all)" },
	{ "stop --all vm-1", "stop: give VM names or --all, not both" },
	{ "stop vm-1 --timeout", "stop: --timeout needs a value" },
	{ "stop vm-1 --timeout 100000",
	  "stop: --timeout: must be more than 0 and at most 86400 seconds, got 100000" },
	{ "help nope", "help: unknown command 'nope' (see ebbctl --help)" },
	{ "help stop ps", "help: unexpected argument 'ps'" },
};

static void test_errors(void **state)
{
	for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		struct ctl_args a;
		char err[256] = "";
		int ret = parse(bad_lines[i].line, &a, err, sizeof(err));
		if (ret != -EINVAL || strcmp(err, bad_lines[i].error) != 0)
			fail_msg("'%s': got %d '%s', want '%s'", bad_lines[i].line, ret, err,
				 bad_lines[i].error);
		/* One line, no "ebbctl: " prefix (main adds it). */
		assert_null(strchr(err, '\n'));
		args_free(&a);
	}
}

static void test_number_parsers(void **state)
{
	unsigned int v;
	double d;
	char err[128];
	assert_int_equal(args_parse_uint("--n", "007", 0, 10, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 7);
	assert_int_equal(args_parse_uint("--n", "4294967295", 0, UINT32_MAX, &v, err, sizeof(err)),
			 0);
	assert_int_equal(v, UINT32_MAX);
	assert_int_equal(args_parse_uint("--n", "4294967296", 0, UINT32_MAX, &v, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(args_parse_uint("--n", " 5", 0, 10, &v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--n: ' 5' is not a whole number");
	assert_int_equal(args_parse_seconds("--t", "0.25", &d, err, sizeof(err)), 0);
	assert_true(d == 0.25);
	assert_int_equal(args_parse_seconds("--t", "1e2", &d, err, sizeof(err)), 0);
	assert_true(d == 100);
	assert_int_equal(args_parse_seconds("--t", "", &d, err, sizeof(err)), -EINVAL);
	assert_int_equal(args_parse_seconds("--t", " 1", &d, err, sizeof(err)), -EINVAL);
}

static void test_snapshot_and_restore(void **state)
{
	struct ctl_args a;
	char err[256];
	assert_int_equal(parse("snapshot web-1 --snapshot s.state --mem s.mem --diff --paused", &a,
			       err, sizeof(err)),
			 0);
	assert_int_equal(a.cmd, CMD_SNAPSHOT);
	assert_string_equal(a.names[0], "web-1");
	assert_string_equal(a.snapshot, "s.state");
	assert_string_equal(a.mem, "s.mem");
	assert_true(a.diff);
	assert_true(a.paused);
	args_free(&a);

	assert_int_equal(parse("restore --snapshot s.state --count 8 --name clone --paused", &a,
			       err, sizeof(err)),
			 0);
	assert_int_equal(a.cmd, CMD_RESTORE);
	assert_string_equal(a.snapshot, "s.state");
	assert_null(a.mem);
	assert_int_equal(a.count, 8);
	assert_string_equal(a.prefix, "clone");
	assert_true(a.paused);
	args_free(&a);

	static const struct {
		const char *line, *want;
	} bad[] = {
		{ "snapshot --snapshot s --mem m", "snapshot: which VM?" },
		{ "snapshot vm --mem m", "snapshot: --snapshot and --mem are required" },
		{ "snapshot a b --snapshot s --mem m", "one VM name only" },
		{ "restore", "restore: --snapshot FILE is required" },
		{ "restore vm --snapshot s", "restore: unexpected argument 'vm'" },
		{ "restore --snapshot s --diff", "--diff is not an option of restore" },
		{ "snapshot vm --snapshot= --mem m", "--snapshot: needs a file" },
		{ "launch --config c --snapshot s", "--snapshot is not an option of launch" },
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		assert_int_equal(parse(bad[k].line, &a, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[k].want))
			fail_msg("'%s': got '%s', want '%s'", bad[k].line, err, bad[k].want);
		args_free(&a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_launch_parses), cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_snapshot_and_restore),
		cmocka_unit_test(test_names),	      cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_errors),	      cmocka_unit_test(test_number_parsers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
