// SPDX-License-Identifier: GPL-2.0
/*
 * Each role's filter, installed in a forked child: every allowlisted rule
 * still works, and representative forbidden calls kill the child with
 * SIGSYS. The verdict comes from the wait status, never from a log line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devices/conf.h"
#include "seccomp/seccomp.h"

/* An fd number nothing uses: unlinkat on it fails with EBADF, harmlessly. */
#define TEST_DIR_FD 1000
#include "base/log.h"

/* Calls that must never be allowed, whatever the role. */
enum forbidden {
	CALL_EXECVE,
	CALL_SOCKET_INET,
	CALL_OPEN_WRITE,
	CALL_MPROTECT_EXEC,
	CALL_MADVISE_MERGEABLE,
	CALL_IOCTL_NOT_KVM,
	CALL_FORK,
	CALL_PTRACE,
	NR_FORBIDDEN,
};

static const char *const forbidden_names[] = {
	"execve", "socket(AF_INET)", "openat(O_WRONLY|O_CREAT)", "mprotect(PROT_EXEC)",
	"madvise(MADV_MERGEABLE)", "ioctl(TIOCSTI)", "clone (fork)", "ptrace",
};

static void do_forbidden(enum forbidden call)
{
	static char page[8192] __attribute__((aligned(4096)));
	switch (call) {
	case CALL_EXECVE: {
		char *argv[] = { "/bin/true", NULL };
		syscall(SYS_execve, "/bin/true", argv, NULL);
		break;
	}
	case CALL_SOCKET_INET:
		syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
		break;
	case CALL_OPEN_WRITE:
		syscall(SYS_openat, AT_FDCWD, "/tmp/ebb-seccomp-test", O_WRONLY | O_CREAT, 0600);
		break;
	case CALL_MPROTECT_EXEC:
		syscall(SYS_mprotect, page, 4096, PROT_READ | PROT_EXEC);
		break;
	case CALL_MADVISE_MERGEABLE:
		syscall(SYS_madvise, page, 4096, MADV_MERGEABLE);
		break;
	case CALL_IOCTL_NOT_KVM:
		syscall(SYS_ioctl, 0, TIOCSTI, "x");
		break;
	case CALL_FORK:
		syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
		break;
	case CALL_PTRACE:
		syscall(SYS_ptrace, 0, 0, 0, 0);
		break;
	default:
		break;
	}
}

static bool unexercisable(const char *syscall_name)
{
	/* They end the thread or need a signal frame; exit_group ends every child anyway. */
	return !strcmp(syscall_name, "exit") || !strcmp(syscall_name, "exit_group") ||
	       !strcmp(syscall_name, "rt_sigreturn");
}

/* The vmm role runs with every device type's rows: they are exercised too. */
static struct seccomp_extra device_rows[DEVICE_MAX_TYPES];
static size_t nr_device_rows;

static struct seccomp_params role_params(enum seccomp_role role)
{
	struct seccomp_params p = { .api_socket_dir_fd = TEST_DIR_FD };
	if (role == SECCOMP_ROLE_VMM) {
		p.extra = device_rows;
		p.nr_extra = nr_device_rows;
	}
	return p;
}

static void exercise_rule(const struct seccomp_rule *r)
{
	long args[6] = { -1, -1, -1, -1, -1, -1 };
	for (unsigned int a = 0; a < r->nr_args; a++) {
		uint64_t v = r->args[a].op == SCMP_CMP_MASKED_EQ ? r->args[a].datum_b :
								   r->args[a].datum_a;
		if (v == SECCOMP_DATUM_KICK_SIGNAL)
			v = SIGRTMIN;
		if (v == SECCOMP_DATUM_API_SOCKET_DIR)
			v = TEST_DIR_FD;
		args[r->args[a].arg] = v;
	}
	syscall(seccomp_syscall_resolve_name(r->syscall), args[0], args[1], args[2], args[3],
		args[4], args[5]);
}

/* Calls every rule with its condition met and all other arguments invalid (-1). */
static void exercise_allowlist(enum seccomp_role role)
{
	struct seccomp_params p = role_params(role);
	for (size_t e = 0; e < p.nr_extra; e++) {
		for (size_t i = 0; i < p.extra[e].nr_rules; i++) {
			const struct seccomp_rule *r = &p.extra[e].rules[i];
			if (seccomp_rule_applies(r) && !unexercisable(r->syscall))
				exercise_rule(r);
		}
	}
	const struct seccomp_table *t = seccomp_table(role);
	for (size_t i = 0; i < t->nr_rules; i++) {
		const struct seccomp_rule *r = &t->rules[i];
		if (!seccomp_rule_applies(r) || unexercisable(r->syscall))
			continue;
		exercise_rule(r);
	}
}

static int run_child(enum seccomp_role role, bool trap, int forbidden)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct seccomp_params params = role_params(role);
		if (seccomp_install(role, trap, &params) < 0)
			_exit(100);
		if (forbidden < 0)
			exercise_allowlist(role);
		else
			do_forbidden(forbidden);
		syscall(SYS_exit_group, 0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void check_role(enum seccomp_role role)
{
	int status = run_child(role, false, -1);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s: an allowlisted call was refused (status 0x%x, signal %d)",
			 seccomp_table(role)->role, status,
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0);

	for (int call = 0; call < NR_FORBIDDEN; call++) {
		status = run_child(role, false, call);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
			fail_msg("%s: %s was not killed by SIGSYS (status 0x%x)",
				 seccomp_table(role)->role, forbidden_names[call], status);
	}
}

static void test_vcpu_role(void **state)
{
	check_role(SECCOMP_ROLE_VCPU);
}

static void test_vmm_role(void **state)
{
	check_role(SECCOMP_ROLE_VMM);
}

static void test_api_role(void **state)
{
	check_role(SECCOMP_ROLE_API);
}

static void test_trap_mode_logs_and_exits(void **state)
{
	char path[] = "/tmp/ebb-seccomp-log-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(log_set_path(path), 0);
	int status = run_child(SECCOMP_ROLE_VCPU, true, CALL_SOCKET_INET);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 2);

	char buf[512] = { 0 };
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	unlink(path);
	assert_true(n > 0);
	char expect[64];
	snprintf(expect, sizeof(expect), "forbidden syscall %d", SYS_socket);
	assert_non_null(strstr(buf, expect));
}

/* The compiler may drop a malloc whose memory is never used, and its free with it. */
static void keep(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/*
 * Any thread's free() may make malloc trim the heap with brk there and then,
 * and an exiting thread frees its malloc cache. Here a filtered thread frees
 * the chunk at the heap's top while the memory below it is free. Role -1: a
 * filter that forbids brk alone, to show the layout makes the call.
 */
struct heap_trim {
	pthread_barrier_t step;
	int role;
};

static void *thread_that_frees_the_top(void *arg)
{
	struct heap_trim *h = arg;
	if (h->role >= 0) {
		struct seccomp_params p = role_params(h->role);
		if (seccomp_install(h->role, false, &p) < 0)
			_exit(100);
	} else {
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
		if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(brk), 0) < 0 ||
		    seccomp_load(ctx) < 0)
			_exit(100);
		seccomp_release(ctx);
	}
	pthread_barrier_wait(&h->step); /* filtered; the main thread fills the heap */
	pthread_barrier_wait(&h->step);
	void *top = malloc(64 << 10); /* above all that, below the mmap threshold */
	keep(top);
	pthread_barrier_wait(&h->step); /* the main thread frees what it filled */
	pthread_barrier_wait(&h->step);
	free(top);
	return NULL;
}

static int run_heap_trim_child(int role)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		seccomp_prepare_malloc();
		struct heap_trim h = { .role = role };
		pthread_barrier_init(&h.step, NULL, 2);
		pthread_t t;
		if (pthread_create(&t, NULL, thread_that_frees_the_top, &h))
			_exit(101);
		void *blocks[40];
		pthread_barrier_wait(&h.step);
		for (int i = 0; i < 40; i++)
			keep(blocks[i] = malloc(16 << 10));
		pthread_barrier_wait(&h.step);
		pthread_barrier_wait(&h.step);
		for (int i = 0; i < 40; i++)
			free(blocks[i]);
		pthread_barrier_wait(&h.step);
		pthread_join(t, NULL);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void test_free_may_trim_the_heap(void **state)
{
#ifdef __SANITIZE_ADDRESS__
	skip(); /* ASan's allocator never calls brk */
#endif
	int status = run_heap_trim_child(-1);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		fail_msg("the thread's free() did not trim the heap (status 0x%x): nothing is tested",
			 status);
	for (int role = 0; role < SECCOMP_NR_ROLES; role++) {
		status = run_heap_trim_child(role);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("%s: a free() that trims the heap was killed (status 0x%x)",
				 seccomp_table(role)->role, status);
	}
}

static void test_smaller_than_firecracker(void **state)
{
	/* Firecracker's published counts: vmm 50, api 31, vcpu 27 distinct syscalls. */
	struct seccomp_params vmm = role_params(SECCOMP_ROLE_VMM);
	assert_true(seccomp_distinct_syscalls(SECCOMP_ROLE_VMM, &vmm) < 50);
	assert_true(seccomp_distinct_syscalls(SECCOMP_ROLE_API, NULL) < 31);
	assert_true(seccomp_distinct_syscalls(SECCOMP_ROLE_VCPU, NULL) < 27);
	for (int role = 0; role < SECCOMP_NR_ROLES; role++) {
		struct seccomp_params p = role_params(role);
		scmp_filter_ctx ctx = seccomp_build(role, false, &p);
		assert_non_null(ctx);
		seccomp_release(ctx);
	}
}

int main(void)
{
	const struct device_registry *r = device_registry();
	for (unsigned int i = 0; i < r->nr_types; i++) {
		const struct device_type *t = r->types[i];
		if (t->nr_seccomp_rules)
			device_rows[nr_device_rows++] = (struct seccomp_extra){
				.origin = t->name,
				.rules = t->seccomp_rules,
				.nr_rules = t->nr_seccomp_rules
			};
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcpu_role),
		cmocka_unit_test(test_vmm_role),
		cmocka_unit_test(test_api_role),
		cmocka_unit_test(test_trap_mode_logs_and_exits),
		cmocka_unit_test(test_smaller_than_firecracker),
		cmocka_unit_test(test_free_may_trim_the_heap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
