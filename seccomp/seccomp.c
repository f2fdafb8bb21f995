// SPDX-License-Identifier: GPL-2.0
#include "seccomp/seccomp.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

/* What the SIGSYS handler may print without calling anything but write(). */
static __thread char thread_name[16];
static __thread int thread_tid;

static void fix_datum(struct scmp_arg_cmp *cmp, const struct seccomp_params *params)
{
	if (cmp->datum_a == SECCOMP_DATUM_KICK_SIGNAL)
		cmp->datum_a = SIGRTMIN;
	else if (cmp->datum_a == SECCOMP_DATUM_API_SOCKET_DIR)
		cmp->datum_a = params ? (uint64_t)params->api_socket_dir_fd : (uint64_t)-1;
}

static int add_rule(scmp_filter_ctx ctx, const struct seccomp_rule *r,
		    const struct seccomp_params *params)
{
	int nr = seccomp_syscall_resolve_name(r->syscall);
	struct scmp_arg_cmp args[SECCOMP_MAX_ARGS];
	memcpy(args, r->args, sizeof(args));
	for (unsigned int a = 0; a < r->nr_args; a++)
		fix_datum(&args[a], params);
	if (nr == __NR_SCMP_ERROR)
		return -EINVAL;
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, r->nr_args, args);
}

bool seccomp_rule_applies(const struct seccomp_rule *r)
{
	return !r->arch || r->arch == seccomp_arch_native();
}

scmp_filter_ctx seccomp_build(enum seccomp_role role, bool trap_and_log,
			      const struct seccomp_params *params)
{
	const struct seccomp_table *t = seccomp_table(role);
	if (!t)
		return NULL;
	scmp_filter_ctx ctx = seccomp_init(trap_and_log ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return NULL;
	for (size_t i = 0; i < t->nr_rules; i++) {
		if (!seccomp_rule_applies(&t->rules[i]))
			continue;
		if (add_rule(ctx, &t->rules[i], params) < 0) {
			log_err("seccomp: %s: cannot add rule for %s", t->role, t->rules[i].syscall);
			seccomp_release(ctx);
			return NULL;
		}
	}
	for (size_t e = 0; params && e < params->nr_extra; e++) {
		const struct seccomp_extra *x = &params->extra[e];
		for (size_t i = 0; i < x->nr_rules; i++) {
			if (!seccomp_rule_applies(&x->rules[i]))
				continue;
			if (add_rule(ctx, &x->rules[i], params) < 0) {
				log_err("seccomp: %s (%s): cannot add rule for %s", t->role, x->origin,
					x->rules[i].syscall);
				seccomp_release(ctx);
				return NULL;
			}
		}
	}
	return ctx;
}

static void format_number(char *buf, size_t len, long v)
{
	char tmp[24];
	int n = 0;
	if (v < 0)
		v = -v;
	do
		tmp[n++] = '0' + v % 10;
	while ((v /= 10) && n < (int)sizeof(tmp));
	size_t i = 0;
	while (n && i + 1 < len)
		buf[i++] = tmp[--n];
	buf[i] = '\0';
}

/* Async-signal-safe: builds the line by hand and writes it once. */
static void sigsys_handler(int sig, siginfo_t *info, void *ucontext)
{
	char line[160] = "ebb: seccomp: thread ";
	char num[24];
	strncat(line, thread_name, sizeof(line) - strlen(line) - 1);
	strncat(line, " (tid ", sizeof(line) - strlen(line) - 1);
	format_number(num, sizeof(num), thread_tid);
	strncat(line, num, sizeof(line) - strlen(line) - 1);
	strncat(line, ") made forbidden syscall ", sizeof(line) - strlen(line) - 1);
	format_number(num, sizeof(num), info->si_syscall);
	strncat(line, num, sizeof(line) - strlen(line) - 1);
	strncat(line, "; see docs/security.md\n", sizeof(line) - strlen(line) - 1);
	ssize_t w = write(log_fd(), line, strlen(line));
	(void)w;
	syscall(SYS_exit_group, 2);
}

void seccomp_prepare_malloc(void)
{
	/*
	 * One arena: a thread arena that shrinks makes glibc open
	 * /proc/sys/vm/overcommit_memory. The main arena only needs brk, which
	 * every role allows, since any thread's free() may trim it.
	 */
	if (mallopt(M_ARENA_MAX, 1) != 1)
		log_warn("seccomp: mallopt(M_ARENA_MAX, 1) failed: a thread may be killed "
			 "when malloc shrinks its heap");
}

int seccomp_install(enum seccomp_role role, bool trap_and_log, const struct seccomp_params *params)
{
	scmp_filter_ctx ctx = seccomp_build(role, trap_and_log, params);
	if (!ctx)
		return -EINVAL;
	if (trap_and_log) {
		prctl(PR_GET_NAME, thread_name);
		thread_tid = gettid();
		struct sigaction sa = { .sa_sigaction = sigsys_handler, .sa_flags = SA_SIGINFO };
		sigemptyset(&sa.sa_mask);
		sigaction(SIGSYS, &sa, NULL);
	}
	int ret = seccomp_load(ctx);
	seccomp_release(ctx);
	if (ret < 0) {
		log_err("seccomp: loading the %s filter: %s", seccomp_table(role)->role,
			strerror(-ret));
		return ret;
	}
	log_debug("seccomp: %s filter installed (%u syscalls)", seccomp_table(role)->role,
		  seccomp_distinct_syscalls(role, params));
	return 0;
}

/*
 * Each row of a role's table and of the extras that is for this
 * architecture, in order, until fn returns true.
 */
static bool each_rule(enum seccomp_role role, const struct seccomp_params *params,
		      bool (*fn)(const struct seccomp_rule *r, const char *origin, void *arg),
		      void *arg)
{
	const struct seccomp_table *t = seccomp_table(role);
	for (size_t i = 0; i < t->nr_rules; i++) {
		if (seccomp_rule_applies(&t->rules[i]) && fn(&t->rules[i], NULL, arg))
			return true;
	}
	for (size_t e = 0; params && e < params->nr_extra; e++) {
		for (size_t i = 0; i < params->extra[e].nr_rules; i++) {
			const struct seccomp_rule *r = &params->extra[e].rules[i];
			if (seccomp_rule_applies(r) && fn(r, params->extra[e].origin, arg))
				return true;
		}
	}
	return false;
}

struct distinct {
	const struct seccomp_rule *rule;
	bool seen;
};

static bool same_syscall(const struct seccomp_rule *r, const char *origin, void *arg)
{
	struct distinct *d = arg;
	if (r == d->rule)
		return true; /* stop at the rule itself: only earlier rows count */
	d->seen = strcmp(r->syscall, d->rule->syscall) == 0;
	return d->seen;
}

struct counting {
	enum seccomp_role role;
	const struct seccomp_params *params;
	unsigned int n;
};

static bool count_new(const struct seccomp_rule *r, const char *origin, void *arg)
{
	struct counting *c = arg;
	struct distinct d = { .rule = r };
	each_rule(c->role, c->params, same_syscall, &d);
	c->n += !d.seen;
	return false;
}

unsigned int seccomp_distinct_syscalls(enum seccomp_role role, const struct seccomp_params *params)
{
	struct counting c = { .role = role, .params = params };
	each_rule(role, params, count_new, &c);
	return c.n;
}

static bool print_rule(const struct seccomp_rule *r, const char *origin, void *arg)
{
	char why[160];
	if (origin)
		snprintf(why, sizeof(why), "%s: %s", origin, r->why);
	fprintf(arg, "  %-16s %-34s # %s\n", r->syscall,
		r->args_text ? r->args_text : "any arguments", origin ? why : r->why);
	return false;
}

void seccomp_print(FILE *out, const struct seccomp_extra *extra, size_t nr_extra)
{
	for (int role = 0; role < SECCOMP_NR_ROLES; role++) {
		struct seccomp_params params = { .extra = extra, .nr_extra = nr_extra };
		const struct seccomp_params *p = role == SECCOMP_ROLE_VMM ? &params : NULL;
		fprintf(out, "%s: %u syscalls, default action: kill the process\n",
			seccomp_table(role)->role, seccomp_distinct_syscalls(role, p));
		each_rule(role, p, print_rule, out);
	}
}
