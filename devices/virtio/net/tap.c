// SPDX-License-Identifier: GPL-2.0
/*
 * The host side of virtio-net: an existing tap device, opened before KVM
 * exists. ebb never creates one (TUNSETIFF would, given CAP_NET_ADMIN), so
 * a missing name is a configuration error, not a new interface.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "devices/virtio/net/net.h"

#define TUN_PATH "/dev/net/tun"

/*
 * The interface must exist in ebb's network namespace (if_nametoindex asks
 * it; /sys/class/net may show another one). TUNSETIFF would create a
 * missing one; an existing one that is not a single-queue tap it refuses.
 */
static int check_exists(const char *name, char *err, size_t err_len)
{
	if (if_nametoindex(name))
		return 0;
	snprintf(err, err_len,
		 "there is no network interface %s (create the tap first: ip tuntap add %s mode "
		 "tap)",
		 name, name);
	return -ENODEV;
}

/* "tap NAME: WHAT: strerror" */
static int fail(int ret, char *err, size_t err_len, const char *name, const char *what)
{
	snprintf(err, err_len, "tap %s: %s: %s", name, what, strerror(-ret));
	return ret;
}

int net_tap_open(const char *name, struct net_tap_info *info, char *err, size_t err_len)
{
	info->fd = -1;
	info->ufo = false;
	if (strlen(name) >= IFNAMSIZ) {
		snprintf(err, err_len, "tap name %s is longer than %d characters", name,
			 IFNAMSIZ - 1);
		return -EINVAL;
	}
	int ret = check_exists(name, err, err_len);
	if (ret < 0)
		return ret;
	int fd = open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return fail(-errno, err, err_len, name, "cannot open " TUN_PATH);
	unsigned int features = 0;
	if (ioctl(fd, TUNGETFEATURES, &features) == 0 && !(features & IFF_VNET_HDR)) {
		close(fd);
		snprintf(err, err_len, "tap %s: the host kernel's tun has no IFF_VNET_HDR", name);
		return -EOPNOTSUPP;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		close(fd);
		if (ret == -EPERM || ret == -EACCES)
			return fail(ret, err, err_len, name,
				    "ebb may not open it (make it with ip tuntap add ... user UID, "
				    "or give ebb CAP_NET_ADMIN)");
		if (ret == -EBUSY)
			return fail(ret, err, err_len, name, "another process has it open");
		if (ret == -EINVAL)
			return fail(
				ret, err, err_len, name,
				"not a single-queue tap (a tun, a multi-queue tap, or no tun/tap "
				"at all)");
		return fail(ret, err, err_len, name, "TUNSETIFF");
	}
	int hdr_len = NET_HDR_LEN;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0) {
		ret = -errno;
		close(fd);
		return fail(ret, err, err_len, name, "TUNSETVNETHDRSZ");
	}
	/* Which offloads the tap takes: the ones offered to the guest follow. */
	unsigned int all = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
	if (net_tap_set_offloads(fd, all | TUN_F_UFO) == 0) {
		info->ufo = true;
	} else if ((ret = net_tap_set_offloads(fd, all)) < 0) {
		close(fd);
		return fail(ret, err, err_len, name, "TUNSETOFFLOAD");
	}
	/* Nothing until the guest acks its features. */
	net_tap_set_offloads(fd, 0);
	info->fd = fd;
	return 0;
}

int net_tap_set_offloads(int fd, unsigned int offloads)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)offloads) < 0 ? -errno : 0;
}
