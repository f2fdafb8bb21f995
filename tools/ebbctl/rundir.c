// SPDX-License-Identifier: GPL-2.0
#include "tools/ebbctl/rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int check(const char *what, const char *name, char *err, size_t errlen)
{
	size_t len = strlen(name);
	if (len == 0)
		return set_err(err, errlen, "%s is empty", what);
	if (len > RUNDIR_NAME_MAX)
		return set_err(err, errlen, "%s '%.20s...' is %zu characters long, the limit is %d",
			       what, name, len, RUNDIR_NAME_MAX);
	if (!is_alnum(name[0]))
		return set_err(err, errlen, "%s '%s' must start with a letter or a digit", what,
			       name);
	for (const char *p = name; *p; p++) {
		if (!is_alnum(*p) && *p != '-' && *p != '_' && *p != '.')
			return set_err(
				err, errlen,
				"%s '%s': only letters, digits, '-', '_' and '.' are allowed", what,
				name);
	}
	return 0;
}

int rundir_check_name(const char *name, char *err, size_t errlen)
{
	return check("VM name", name, err, errlen);
}

int rundir_check_prefix(const char *prefix, char *err, size_t errlen)
{
	return check("name prefix", prefix, err, errlen);
}

int rundir_vm_name(char *out, size_t len, const char *prefix, unsigned int i, unsigned int count)
{
	int n = count == 1 ? snprintf(out, len, "%s", prefix)
			   : snprintf(out, len, "%s-%u", prefix, i);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int rundir_prefix_from_config(const char *config, char *out, size_t len, char *err, size_t errlen)
{
	const char *base = strrchr(config, '/');
	base = base ? base + 1 : config;
	size_t n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".json") == 0)
		n -= 5;
	if (n >= len || n > RUNDIR_NAME_MAX)
		return set_err(err, errlen,
			       "config file name '%s' is too long for a VM name; pass --name",
			       base);
	memcpy(out, base, n);
	out[n] = '\0';
	char why[256];
	if (rundir_check_prefix(out, why, sizeof(why)) < 0)
		return set_err(err, errlen,
			       "cannot name VMs after config file '%s' (%s); pass --name", base,
			       why);
	return 0;
}

int rundir_resolve(const char *flag, const char *env_dir, const char *xdg, uid_t euid,
		   const char *cwd, char *out, size_t len, char *err, size_t errlen)
{
	char buf[4096];
	const char *dir;
	if (flag && *flag) {
		dir = flag;
	} else if (env_dir && *env_dir) {
		dir = env_dir;
	} else if (euid == 0) {
		dir = "/run/ebb";
	} else if (xdg && *xdg) {
		snprintf(buf, sizeof(buf), "%s/ebb", xdg);
		dir = buf;
	} else {
		snprintf(buf, sizeof(buf), "/tmp/ebb-%u", (unsigned int)euid);
		dir = buf;
	}

	int n;
	if (dir[0] == '/')
		n = snprintf(out, len, "%s", dir);
	else if (cwd && cwd[0] == '/')
		n = snprintf(out, len, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, dir);
	else
		return set_err(
			err, errlen,
			"run directory '%s' is relative and the current directory is unknown", dir);
	if (n < 0 || (size_t)n >= len)
		return set_err(err, errlen, "run directory path '%s' is too long", dir);
	/* "a/./b" and "a//b" are left alone; only trailing slashes and "/." go. */
	for (;;) {
		size_t l = strlen(out);
		if (l > 1 && out[l - 1] == '/')
			out[l - 1] = '\0';
		else if (l >= 2 && out[l - 1] == '.' && out[l - 2] == '/')
			out[l - 1] = '\0';
		else
			break;
	}
	return 0;
}

int rundir_path(char *out, size_t len, const char *dir, const char *name, const char *file)
{
	int n = file ? snprintf(out, len, "%s/%s/%s", dir, name, file)
		     : snprintf(out, len, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int rundir_name_cmp(const char *a, const char *b)
{
	return strverscmp(a, b);
}

static int cmp_names(const void *a, const void *b)
{
	return rundir_name_cmp(*(char *const *)a, *(char *const *)b);
}

int rundir_list(const char *dir, char ***names, size_t *nr)
{
	*names = NULL;
	*nr = 0;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;

	size_t cap = 0;
	struct dirent *de;
	int ret = 0;
	while ((de = readdir(d))) {
		char why[8], pid_path[4096];
		struct stat st;
		if (rundir_check_name(de->d_name, why, sizeof(why)) < 0)
			continue;
		if (rundir_path(pid_path, sizeof(pid_path), dir, de->d_name, RUNDIR_PID) < 0 ||
		    stat(pid_path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (*nr == cap) {
			cap = cap ? cap * 2 : 16;
			char **bigger = realloc(*names, cap * sizeof(**names));
			if (!bigger) {
				ret = -ENOMEM;
				break;
			}
			*names = bigger;
		}
		(*names)[*nr] = strdup(de->d_name);
		if (!(*names)[*nr]) {
			ret = -ENOMEM;
			break;
		}
		(*nr)++;
	}
	closedir(d);
	if (ret < 0) {
		rundir_list_free(*names, *nr);
		*names = NULL;
		*nr = 0;
		return ret;
	}
	if (*nr)
		qsort(*names, *nr, sizeof(**names), cmp_names);
	return 0;
}

void rundir_list_free(char **names, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		free(names[i]);
	free(names);
}

int rundir_mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	struct stat st;
	if (stat(buf, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int rundir_remove(const char *dir, const char *name)
{
	static const char *const files[] = {
		RUNDIR_SOCK, RUNDIR_LOG,  RUNDIR_CONSOLE,    RUNDIR_METRICS,
		RUNDIR_PID,  RUNDIR_EXIT, RUNDIR_PID ".tmp", RUNDIR_EXIT ".tmp",
	};
	char path[4096];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (rundir_path(path, sizeof(path), dir, name, files[i]) < 0)
			return -ENAMETOOLONG;
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
	}
	if (rundir_path(path, sizeof(path), dir, name, NULL) < 0)
		return -ENAMETOOLONG;
	if (rmdir(path) < 0 && errno != ENOENT)
		return errno == EEXIST ? -ENOTEMPTY : -errno;
	return 0;
}
