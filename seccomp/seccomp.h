/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_SECCOMP_H
#define EBB_SECCOMP_H

#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * One allowlist per thread role (docs/security.md). A thread installs its
 * role's filter itself, after its setup and before it handles guest- or
 * client-controlled data. Anything not listed kills the whole process.
 */
enum seccomp_role {
	SECCOMP_ROLE_VMM,  /* the main thread after setup, and the device event loop */
	SECCOMP_ROLE_VCPU, /* KVM_RUN loops */
	SECCOMP_ROLE_API,  /* the HTTP API thread */
	SECCOMP_NR_ROLES,
};

#define SECCOMP_MAX_ARGS 2

/* Stand for values only known at run time; see struct seccomp_params. */
#define SECCOMP_DATUM_KICK_SIGNAL    (~0ull - 1)
#define SECCOMP_DATUM_API_SOCKET_DIR (~0ull - 2)

/* Rows another layer adds to a role's table: each device type's, for the event loop. */
struct seccomp_extra {
	const char *origin; /* "balloon": shown beside its rows */
	const struct seccomp_rule *rules;
	size_t nr_rules;
};

struct seccomp_params {
	int api_socket_dir_fd; /* the directory the API socket is removed from */
	const struct seccomp_extra *extra;
	size_t nr_extra;
};

struct seccomp_rule {
	const char *syscall;
	unsigned int nr_args;
	struct scmp_arg_cmp args[SECCOMP_MAX_ARGS];
	const char *args_text; /* the condition in words, NULL when there is none */
	const char *why;
	/* SCMP_ARCH_* the row is for, where a syscall or ioctl exists on one only; 0: every one. */
	uint32_t arch;
};

struct seccomp_table {
	const char *role;
	const struct seccomp_rule *rules;
	size_t nr_rules;
};

/* A rule table's rows. */
#define SECCOMP_ARG_EQ(n, v) { .arg = (n), .op = SCMP_CMP_EQ, .datum_a = (v) }
#define SECCOMP_ARG_BITS_CLEAR(n, m) \
	{ .arg = (n), .op = SCMP_CMP_MASKED_EQ, .datum_a = (m), .datum_b = 0 }
#define SECCOMP_ALLOW(sc, why)		     { #sc, 0, { { 0 } }, NULL, why, 0 }
#define SECCOMP_ALLOW_IF(sc, cmp, text, why) { #sc, 1, { cmp }, text, why, 0 }
#define SECCOMP_IOCTL(req, why) \
	SECCOMP_ALLOW_IF(ioctl, SECCOMP_ARG_EQ(1, req), "request == " #req, why)
/* Rows for one architecture: arm64 has no epoll_wait (glibc calls epoll_pwait). */
#define SECCOMP_ARCH_ALLOW(a, sc, why) { #sc, 0, { { 0 } }, NULL, why, a }
#define SECCOMP_ARCH_IOCTL(a, req, why) \
	{ "ioctl", 1, { SECCOMP_ARG_EQ(1, req) }, "request == " #req, why, a }

/* Whether a row is for the architecture ebb runs on. */
bool seccomp_rule_applies(const struct seccomp_rule *r);

const struct seccomp_table *seccomp_table(enum seccomp_role role);
/* Number of distinct syscalls a role allows, with the extra rows of params (may be NULL). */
unsigned int seccomp_distinct_syscalls(enum seccomp_role role, const struct seccomp_params *params);

/*
 * Installs the calling thread's filter. With trap_and_log, a forbidden call
 * logs its number and the thread before the process exits, instead of the
 * kernel killing it silently. Returns negative errno.
 */
int seccomp_install(enum seccomp_role role, bool trap_and_log, const struct seccomp_params *params);
/*
 * Once, before any thread starts: keeps glibc's malloc to calls every
 * role allows, whatever the heap's history (docs/security.md).
 */
void seccomp_prepare_malloc(void);
/* Builds a role's filter without loading it (for tests). params may be NULL. */
scmp_filter_ctx seccomp_build(enum seccomp_role role, bool trap_and_log,
			      const struct seccomp_params *params);

/* ebb --print-seccomp: every role, and extra rows for the vmm role beside their origin. */
void seccomp_print(FILE *out, const struct seccomp_extra *extra, size_t nr_extra);

#endif
