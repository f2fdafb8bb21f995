// SPDX-License-Identifier: GPL-2.0
/* Writes built tables to files, one per table, for `iasl -d` (a debugging aid). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/arch/x86_64/acpi/acpi.h"
#include "base/log.h"

static int write_file(const char *path, const uint8_t *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? -errno : -EIO;
			close(fd);
			return err;
		}
		done += n;
	}
	return close(fd) < 0 ? -errno : 0;
}

int acpi_dump_tables(const void *buf, const struct acpi_layout *l, const char *dir)
{
	for (int i = 0; i < ACPI_NR_TABLES; i++) {
		char name[5], path[4096];
		for (int c = 0; c < 5; c++)
			name[c] = tolower((unsigned char)l->tables[i].name[c]);
		int n = snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
		if (n < 0 || (size_t)n >= sizeof(path))
			return -ENAMETOOLONG;
		int ret = write_file(path, (const uint8_t *)buf + l->tables[i].offset,
				     l->tables[i].length);
		if (ret < 0) {
			log_err("ACPI dump: %s: %s", path, strerror(-ret));
			return ret;
		}
	}
	return 0;
}
