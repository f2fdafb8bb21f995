/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The initrd, for every architecture: opened and sized when the boot is
 * planned (before KVM), read into guest memory when it is loaded.
 */
#ifndef EBB_INITRD_H
#define EBB_INITRD_H

#include <stdint.h>

#include "base/memory.h"

struct initrd {
	int fd; /* -1: none */
	uint64_t size;
};

#define INITRD_NONE ((struct initrd){ .fd = -1 })

/* Opens path, a regular, non-empty file. 0, or negative errno after a log line. */
int initrd_open(struct initrd *rd, const char *path);
/* Reads it to guest-physical gpa. 0 or negative errno. */
int initrd_load(const struct initrd *rd, struct guest_memory *mem, uint64_t gpa);
void initrd_close(struct initrd *rd);

#endif
