// SPDX-License-Identifier: GPL-2.0
/* ebbctl's run directory: names, paths, the default location, listing, removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The tests hand in buffers too small on purpose, to check truncation is caught. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include "tools/ebbctl/rundir.c"

static void test_names(void **state)
{
	char err[256];
	static const char *const good[] = { "vm", "vm-1", "VM_2", "a.b", "0", "web-10.eu_west" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(rundir_check_name(good[i], err, sizeof(err)), 0);

	char longest[RUNDIR_NAME_MAX + 2];
	memset(longest, 'a', RUNDIR_NAME_MAX);
	longest[RUNDIR_NAME_MAX] = '\0';
	assert_int_equal(rundir_check_name(longest, err, sizeof(err)), 0);
	longest[RUNDIR_NAME_MAX] = 'a';
	longest[RUNDIR_NAME_MAX + 1] = '\0';
	assert_int_equal(rundir_check_name(longest, err, sizeof(err)), -EINVAL);
	assert_string_equal(
		err, "VM name 'aaaaaaaaaaaaaaaaaaaa...' is 65 characters long, the limit is 64");

	assert_int_equal(rundir_check_name("", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "VM name is empty");
	assert_int_equal(rundir_check_name(".hidden", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "VM name '.hidden' must start with a letter or a digit");
	assert_int_equal(rundir_check_name("..", err, sizeof(err)), -EINVAL);
	assert_int_equal(rundir_check_name("-x", err, sizeof(err)), -EINVAL);
	assert_int_equal(rundir_check_name("a b", err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "VM name 'a b': only letters, digits, '-', '_' and '.' are allowed");
	assert_int_equal(rundir_check_name("a/b", err, sizeof(err)), -EINVAL);
	assert_int_equal(rundir_check_prefix("a/b", err, sizeof(err)), -EINVAL);
	assert_string_equal(
		err, "name prefix 'a/b': only letters, digits, '-', '_' and '.' are allowed");
}

static void test_vm_names(void **state)
{
	char name[RUNDIR_NAME_MAX + 1];
	assert_int_equal(rundir_vm_name(name, sizeof(name), "web", 1, 1), 0);
	assert_string_equal(name, "web");
	assert_int_equal(rundir_vm_name(name, sizeof(name), "web", 1, 3), 0);
	assert_string_equal(name, "web-1");
	assert_int_equal(rundir_vm_name(name, sizeof(name), "web", 1000, 1000), 0);
	assert_string_equal(name, "web-1000");
	char small[7];
	assert_int_equal(rundir_vm_name(small, sizeof(small), "web", 10, 10), 0);
	assert_int_equal(rundir_vm_name(small, sizeof(small), "web", 100, 100), -ENAMETOOLONG);
}

static void test_prefix_from_config(void **state)
{
	char p[RUNDIR_NAME_MAX + 1], err[256];
	assert_int_equal(
		rundir_prefix_from_config("examples/vm.json", p, sizeof(p), err, sizeof(err)), 0);
	assert_string_equal(p, "vm");
	assert_int_equal(rundir_prefix_from_config("/a/b/balloon-reporting.json", p, sizeof(p), err,
						   sizeof(err)),
			 0);
	assert_string_equal(p, "balloon-reporting");
	assert_int_equal(rundir_prefix_from_config("boot", p, sizeof(p), err, sizeof(err)), 0);
	assert_string_equal(p, "boot");
	/* Only one .json goes. */
	assert_int_equal(rundir_prefix_from_config("x.json.json", p, sizeof(p), err, sizeof(err)),
			 0);
	assert_string_equal(p, "x.json");

	assert_int_equal(rundir_prefix_from_config("dir/.json", p, sizeof(p), err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err,
			    "cannot name VMs after config file '.json' (name prefix '.json' must "
			    "start with a letter or a digit); pass --name");
	assert_int_equal(rundir_prefix_from_config("my vm.json", p, sizeof(p), err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "pass --name"));
	assert_int_equal(rundir_prefix_from_config("dir/", p, sizeof(p), err, sizeof(err)),
			 -EINVAL);
}

static void test_resolve(void **state)
{
	char out[4096], err[256];
	/* The flag wins over everything. */
	assert_int_equal(rundir_resolve("/flag", "/env", "/xdg", 0, "/cwd", out, sizeof(out), err,
					sizeof(err)),
			 0);
	assert_string_equal(out, "/flag");
	assert_int_equal(rundir_resolve(NULL, "/env/", "/xdg", 0, "/cwd", out, sizeof(out), err,
					sizeof(err)),
			 0);
	assert_string_equal(out, "/env");
	/* An empty $EBBCTL_RUN_DIR counts as unset. */
	assert_int_equal(
		rundir_resolve(NULL, "", "/xdg", 0, "/cwd", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "/run/ebb");
	assert_int_equal(rundir_resolve(NULL, NULL, "/run/user/1000", 1000, "/cwd", out,
					sizeof(out), err, sizeof(err)),
			 0);
	assert_string_equal(out, "/run/user/1000/ebb");
	assert_int_equal(
		rundir_resolve(NULL, NULL, NULL, 1000, "/cwd", out, sizeof(out), err, sizeof(err)),
		0);
	assert_string_equal(out, "/tmp/ebb-1000");
	/* Relative paths are made absolute, trailing slashes and "/." dropped. */
	assert_int_equal(rundir_resolve("build/e2e/run//", NULL, NULL, 0, "/work/main", out,
					sizeof(out), err, sizeof(err)),
			 0);
	assert_string_equal(out, "/work/main/build/e2e/run");
	assert_int_equal(
		rundir_resolve(".", NULL, NULL, 0, "/", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(
		rundir_resolve("r/.", NULL, NULL, 0, "/w", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "/w/r");
	assert_int_equal(
		rundir_resolve("rel", NULL, NULL, 0, "", out, sizeof(out), err, sizeof(err)),
		-EINVAL);
	assert_non_null(strstr(err, "relative"));
	char tiny[8];
	assert_int_equal(rundir_resolve("/a/long/dir", NULL, NULL, 0, "/", tiny, sizeof(tiny), err,
					sizeof(err)),
			 -EINVAL);
}

static void test_paths_and_order(void **state)
{
	char out[64];
	assert_int_equal(rundir_path(out, sizeof(out), "/run/ebb", "vm-1", RUNDIR_SOCK), 0);
	assert_string_equal(out, "/run/ebb/vm-1/api.sock");
	assert_int_equal(rundir_path(out, sizeof(out), "/run/ebb", "vm-1", NULL), 0);
	assert_string_equal(out, "/run/ebb/vm-1");
	char tiny[16];
	assert_int_equal(rundir_path(tiny, sizeof(tiny), "/run/ebb", "vm-1", RUNDIR_SOCK),
			 -ENAMETOOLONG);

	assert_true(rundir_name_cmp("vm-2", "vm-10") < 0);
	assert_true(rundir_name_cmp("vm-10", "vm-9") > 0);
	assert_true(rundir_name_cmp("a", "b") < 0);
	assert_int_equal(rundir_name_cmp("x", "x"), 0);
}

static void touch(const char *dir, const char *name, const char *file)
{
	char path[4096];
	assert_int_equal(rundir_path(path, sizeof(path), dir, name, file), 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("1\n", f);
	fclose(f);
}

static void test_list_and_remove(void **state)
{
	char dir[] = "/tmp/ebbctl-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char run[4096];
	snprintf(run, sizeof(run), "%s/deep/run", dir);

	char **names;
	size_t n;
	/* A run directory that does not exist yet is empty. */
	assert_int_equal(rundir_list(run, &names, &n), 0);
	assert_int_equal(n, 0);

	static const char *const vms[] = { "vm-10", "vm-2", "vm-1", "other" };
	for (size_t i = 0; i < 4; i++) {
		char path[4096];
		rundir_path(path, sizeof(path), run, vms[i], NULL);
		assert_int_equal(rundir_mkdir_p(path, 0755), 0);
		assert_int_equal(rundir_mkdir_p(path, 0755), 0); /* again: fine */
		touch(run, vms[i], RUNDIR_PID);
	}
	/* Not VMs: no pid file, a hidden directory, a plain file. */
	char path[4096];
	rundir_path(path, sizeof(path), run, "nopid", NULL);
	assert_int_equal(rundir_mkdir_p(path, 0755), 0);
	rundir_path(path, sizeof(path), run, ".hidden", NULL);
	assert_int_equal(rundir_mkdir_p(path, 0755), 0);
	touch(run, ".hidden", RUNDIR_PID);
	snprintf(path, sizeof(path), "%s/stray-file", run);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(rundir_mkdir_p(path, 0755), -ENOTDIR);

	assert_int_equal(rundir_list(run, &names, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(names[0], "other");
	assert_string_equal(names[1], "vm-1");
	assert_string_equal(names[2], "vm-2");
	assert_string_equal(names[3], "vm-10");
	rundir_list_free(names, n);

	/* Removal takes every file ebbctl and ebb put there... */
	static const char *const files[] = { RUNDIR_SOCK, RUNDIR_LOG, RUNDIR_CONSOLE,
					     RUNDIR_METRICS, RUNDIR_EXIT };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		touch(run, "vm-1", files[i]);
	assert_int_equal(rundir_remove(run, "vm-1"), 0);
	rundir_path(path, sizeof(path), run, "vm-1", NULL);
	assert_int_equal(access(path, F_OK), -1);
	/* ...is quiet about what is already gone... */
	assert_int_equal(rundir_remove(run, "vm-1"), 0);
	/* ...and leaves anything else, saying so. */
	touch(run, "vm-2", "core");
	assert_int_equal(rundir_remove(run, "vm-2"), -ENOTEMPTY);
	touch(run, "vm-2", RUNDIR_PID); /* removed above, with the rest */
	assert_int_equal(rundir_list(run, &names, &n), 0);
	assert_int_equal(n, 3);
	rundir_list_free(names, n);

	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_vm_names),
		cmocka_unit_test(test_prefix_from_config),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_paths_and_order),
		cmocka_unit_test(test_list_and_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
