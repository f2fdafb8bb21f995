/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_X86_SNAPSHOT_H
#define EBB_X86_SNAPSHOT_H

#include <stdbool.h>

#include "base/state.h"

struct arch_vm;

/* struct arch's snapshot hooks for x86_64 (snapshot.c). */
int x86_vcpu_save(struct arch_vm *a, int vcpu_fd, struct state_stream *s);
int x86_vcpu_restore(struct arch_vm *a, int vcpu_fd, struct state_stream *s);
int x86_vm_save(struct arch_vm *a, struct state_stream *s);
int x86_vm_restore(struct arch_vm *a, struct state_stream *s, bool clock_realtime);

#endif
