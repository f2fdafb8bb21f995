// SPDX-License-Identifier: GPL-2.0
/*
 * ebbctl's detached processes, with /bin/sh standing in for ebb: the monitor
 * records the pid and how the process ended, stdio goes where it should,
 * nothing of the caller's leaks in, exec failures come back as errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tools/ebbctl/proc.c"

struct fixture {
	char dir[64];
	char sock[128], console[128], log[128], pidfile[128], exitfile[128];
	struct spawn_files files;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ebbctl-proc-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sock, sizeof(f->sock), "%s/api.sock", f->dir);
	snprintf(f->console, sizeof(f->console), "%s/console.log", f->dir);
	snprintf(f->log, sizeof(f->log), "%s/ebb.log", f->dir);
	snprintf(f->pidfile, sizeof(f->pidfile), "%s/pid", f->dir);
	snprintf(f->exitfile, sizeof(f->exitfile), "%s/exit", f->dir);
	f->files = (struct spawn_files){
		.console = f->console, .log = f->log, .pidfile = f->pidfile, .exitfile = f->exitfile
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* The file's content once it exists (up to 5 s), or "" (caller frees). */
static char *wait_file(const char *path)
{
	char buf[4096];
	for (int i = 0; i < 500; i++) {
		ssize_t n = read_small_file(path, buf, sizeof(buf));
		if (n > 0)
			return strdup(buf);
		proc_sleep(0.01);
	}
	return strdup("");
}

static void test_parse_exit(void **state)
{
	int s;
	assert_int_equal(proc_parse_exit("exit 0\n", &s), 0);
	assert_int_equal(s, 0);
	assert_int_equal(proc_parse_exit("exit 143\n", &s), 0);
	assert_int_equal(s, 143);
	assert_int_equal(proc_parse_exit("signal 9\n", &s), 0);
	assert_int_equal(s, -9);
	assert_int_equal(proc_parse_exit("exit 0", &s), -EINVAL); /* half-written */
	assert_int_equal(proc_parse_exit("exit 256\n", &s), -EINVAL);
	assert_int_equal(proc_parse_exit("signal 0\n", &s), -EINVAL);
	assert_int_equal(proc_parse_exit("", &s), -EINVAL);
	assert_int_equal(proc_parse_exit("garbage\n", &s), -EINVAL);
}

static void test_exit_status_and_stdio(void **state)
{
	struct fixture *f = *state;
	char *argv[] = { "/bin/sh",
			 "-c",
			 "echo to-console; echo to-log >&2; read x || echo stdin-is-empty; exit 3",
			 "sh",
			 "--api-sock",
			 f->sock,
			 NULL };
	pid_t pid = 0;
	char err[256] = "";
	assert_int_equal(proc_spawn(argv, &f->files, &pid, err, sizeof(err)), 0);
	assert_true(pid > 0);

	char *text = wait_file(f->exitfile);
	assert_string_equal(text, "exit 3\n");
	free(text);
	char want[32];
	snprintf(want, sizeof(want), "%d\n", (int)pid);
	text = wait_file(f->pidfile);
	assert_string_equal(text, want);
	free(text);
	text = wait_file(f->console);
	assert_string_equal(text, "to-console\nstdin-is-empty\n");
	free(text);
	text = wait_file(f->log);
	assert_string_equal(text, "to-log\n");
	free(text);
}

static void test_watch_and_signal(void **state)
{
	struct fixture *f = *state;
	/* An fd of ours without O_CLOEXEC: neither the monitor nor the VM may hold it. */
	int leak[2];
	assert_int_equal(pipe(leak), 0);
	char *argv[] = { "/bin/sh", "-c",	  "ls /proc/$$/fd; while :; do sleep 0.05; done",
			 "sh",	    "--api-sock", f->sock,
			 NULL };
	pid_t pid;
	char err[256];
	assert_int_equal(proc_spawn(argv, &f->files, &pid, err, sizeof(err)), 0);
	close(leak[1]);
	/* Had anyone kept the write end, this read would block instead of seeing EOF. */
	char c;
	assert_int_equal(read(leak[0], &c, 1), 0);
	close(leak[0]);

	/* Just after exec the command line may not be readable yet. */
	bool is_ebb = false;
	for (int i = 0; i < 500 && !is_ebb; i++) {
		is_ebb = proc_is_ebb(pid, f->sock);
		if (!is_ebb)
			proc_sleep(0.01);
	}
	assert_true(is_ebb);
	assert_false(proc_is_ebb(pid, "/elsewhere/api.sock"));
	assert_false(proc_is_ebb(0, f->sock));

	char *fds = wait_file(f->console);
	assert_string_equal(fds, "0\n1\n2\n");
	free(fds);

	uint64_t kib = 0;
	assert_int_equal(proc_rss_kib(pid, &kib), 0);
	assert_true(kib > 0);

	int pidfd = proc_pidfd(pid);
	assert_false(proc_gone(pid, pidfd));
	assert_false(proc_gone(pid, -1));
	assert_int_equal(proc_signal(pid, pidfd, SIGTERM), 0);
	double until = proc_now() + 5;
	while (!proc_gone(pid, pidfd) && proc_now() < until)
		proc_sleep(0.01);
	assert_true(proc_gone(pid, pidfd));
	char *text = wait_file(f->exitfile);
	assert_string_equal(text, "signal 15\n");
	free(text);
	/* Reaped by its monitor: no zombie left behind. */
	until = proc_now() + 5;
	while (!proc_gone(pid, -1) && proc_now() < until)
		proc_sleep(0.01);
	assert_true(proc_gone(pid, -1));
	assert_false(proc_is_ebb(pid, f->sock));
	if (pidfd >= 0) {
		assert_int_equal(proc_signal(pid, pidfd, SIGTERM), -ESRCH);
		close(pidfd);
	}
}

static uint64_t private_kib(void)
{
	uint64_t kib = 0;
	assert_int_equal(proc_private_kib(getpid(), &kib), 0);
	return kib;
}

/* Private memory counts what only this process maps: a page mapped twice leaves it. */
static void test_private_memory(void **state)
{
	(void)state;
	const size_t len = 32u << 20;
	int fd = memfd_create("private-test", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	uint64_t before = private_kib();
	char *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(a != MAP_FAILED);
	memset(a, 1, len);
	uint64_t once = private_kib();
	assert_true(once >= before + 30 * 1024);

	volatile char *b = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(b != MAP_FAILED);
	unsigned long sum = 0;
	for (size_t i = 0; i < len; i += 4096)
		sum += b[i];
	assert_true(sum == len / 4096);
	uint64_t twice = private_kib();
	/* Most of it: under ASan, reading b adds shadow memory of its own. */
	assert_true(twice + 24 * 1024 <= once);

	uint64_t kib;
	assert_int_equal(proc_private_kib(-1, &kib), -ENOENT);
	munmap((void *)b, len);
	munmap(a, len);
	close(fd);
}

static void test_exec_failure(void **state)
{
	struct fixture *f = *state;
	char *argv[] = { "/nonexistent/ebb", "--api-sock", f->sock, NULL };
	pid_t pid;
	char err[256] = "";
	assert_int_equal(proc_spawn(argv, &f->files, &pid, err, sizeof(err)), -EIO);
	assert_string_equal(err, "cannot run /nonexistent/ebb: No such file or directory");
	char *text = wait_file(f->exitfile);
	assert_string_equal(text, "exit 127\n");
	free(text);
}

static void test_unwritable_console(void **state)
{
	struct fixture *f = *state;
	struct spawn_files files = f->files;
	files.console = "/nonexistent/console.log";
	char *argv[] = { "/bin/true", NULL };
	pid_t pid;
	char err[256] = "";
	assert_int_equal(proc_spawn(argv, &files, &pid, err, sizeof(err)), -EIO);
	assert_string_equal(err, "cannot open /nonexistent/console.log: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_exit),
		cmocka_unit_test(test_private_memory),
		cmocka_unit_test_setup_teardown(test_exit_status_and_stdio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_and_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_console, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
