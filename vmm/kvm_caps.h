/* SPDX-License-Identifier: GPL-2.0 */
/* KVM capabilities ebb cannot do without, checked by name for the error message. */
#ifndef EBB_KVM_CAPS_H
#define EBB_KVM_CAPS_H

#include <stddef.h>

struct kvm_cap_need {
	int cap;
	const char *name;
};

#define KVM_CAP_NEED(c) \
	{               \
		c, #c   \
	}

/* 0, or -ENOTSUP after logging the first capability kvm_fd lacks. */
int kvm_require_caps(int kvm_fd, const struct kvm_cap_need *caps, size_t n);

#endif
