// SPDX-License-Identifier: GPL-2.0
#include "vmm/initrd.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

int initrd_open(struct initrd *rd, const char *path)
{
	*rd = INITRD_NONE;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = -errno;
		log_err("initrd %s: %s", path, strerror(errno));
		return err;
	}
	struct stat st;
	int ret = 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_err("initrd %s: not a regular file", path);
		ret = -EINVAL;
	} else if (st.st_size == 0) {
		log_err("initrd %s: file is empty", path);
		ret = -EINVAL;
	}
	if (ret < 0) {
		close(fd);
		return ret;
	}
	rd->fd = fd;
	rd->size = (uint64_t)st.st_size;
	return 0;
}

int initrd_load(const struct initrd *rd, struct guest_memory *mem, uint64_t gpa)
{
	uint8_t *dst = mem_gpa_to_hva(mem, gpa, rd->size);
	if (!dst)
		return -EFAULT;
	uint64_t done = 0;
	while (done < rd->size) {
		ssize_t n = pread(rd->fd, dst + done, rd->size - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (uint64_t)n;
	}
	return 0;
}

void initrd_close(struct initrd *rd)
{
	if (rd->fd >= 0)
		close(rd->fd);
	*rd = INITRD_NONE;
}
