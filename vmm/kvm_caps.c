// SPDX-License-Identifier: GPL-2.0
#include "vmm/kvm_caps.h"

#include <errno.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "base/log.h"

int kvm_require_caps(int kvm_fd, const struct kvm_cap_need *caps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			log_err("KVM lacks %s", caps[i].name);
			return -ENOTSUP;
		}
	}
	return 0;
}
