/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_SECCOMP_H
#define EBB_SECCOMP_H

#include <stdbool.h>
#include <stdio.h>

/* One allowlist per thread role; see docs/security.md. */
enum seccomp_role {
	SECCOMP_ROLE_VMM,  /* main thread and the device event loop */
	SECCOMP_ROLE_VCPU, /* KVM_RUN loops */
	SECCOMP_ROLE_API,  /* the HTTP API thread */
	SECCOMP_NR_ROLES,
};

/*
 * Installs the calling thread's filter. With trap_and_log, a forbidden call
 * logs its number and thread before the process dies instead of dying silently.
 */
int seccomp_install(enum seccomp_role role, bool trap_and_log);

#endif
