// SPDX-License-Identifier: GPL-2.0
/* Placeholder until the per-role allowlists land (issue [4/8]): installs nothing. */
#include "seccomp/seccomp.h"

int seccomp_install(enum seccomp_role role, bool trap_and_log)
{
	(void)role;
	(void)trap_and_log;
	return 0;
}
