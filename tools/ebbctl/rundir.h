/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The run directory: one subdirectory per VM, named after it, holding the
 * files below. Names, paths and listing; nothing here talks to a VM.
 */
#ifndef EBBCTL_RUNDIR_H
#define EBBCTL_RUNDIR_H

#include <stddef.h>
#include <sys/types.h>

#define RUNDIR_NAME_MAX 64
/* A unix socket path must fit sockaddr_un.sun_path (108 bytes with the NUL). */
#define RUNDIR_SOCK_PATH_MAX 107

#define RUNDIR_SOCK    "api.sock"
#define RUNDIR_LOG     "ebb.log"
#define RUNDIR_CONSOLE "console.log"
#define RUNDIR_METRICS "metrics.json"
#define RUNDIR_PID     "pid"
#define RUNDIR_EXIT    "exit"

/*
 * A VM name: 1 to 64 of [A-Za-z0-9_.-], starting with a letter or digit. These
 * checks, and the two below that take err, fail with -EINVAL and a message.
 */
int rundir_check_name(const char *name, char *err, size_t errlen);
/* A --name prefix: the same rules (the -N suffix is checked later). */
int rundir_check_prefix(const char *prefix, char *err, size_t errlen);

/*
 * Name i (1-based) of count: PREFIX when count is 1, else PREFIX-i.
 * -ENAMETOOLONG if too long for out.
 */
int rundir_vm_name(char *out, size_t len, const char *prefix, unsigned int i, unsigned int count);

/* The default prefix: the config file's base name without ".json". */
int rundir_prefix_from_config(const char *config, char *out, size_t len, char *err, size_t errlen);

/*
 * Picks the run directory: flag, else env_dir ($EBBCTL_RUN_DIR), else /run/ebb
 * for root, else xdg ($XDG_RUNTIME_DIR)/ebb, else /tmp/ebb-UID. A relative
 * result is made absolute against cwd, and trailing slashes are dropped.
 */
int rundir_resolve(const char *flag, const char *env_dir, const char *xdg, uid_t euid,
		   const char *cwd, char *out, size_t len, char *err, size_t errlen);

/*
 * out = dir/name/file (file may be NULL for dir/name). -ENAMETOOLONG if it
 * does not fit.
 */
int rundir_path(char *out, size_t len, const char *dir, const char *name, const char *file);

/* Natural order: vm-2 before vm-10. */
int rundir_name_cmp(const char *a, const char *b);

/*
 * The VM names under dir (subdirectories with a pid file), sorted. A missing
 * dir is an empty list. Returns 0 or negative errno.
 */
int rundir_list(const char *dir, char ***names, size_t *nr);
void rundir_list_free(char **names, size_t nr);

/* mkdir -p. Returns 0 or negative errno. */
int rundir_mkdir_p(const char *path, mode_t mode);

/*
 * Removes dir/name: the files above, then the directory. Returns 0 or
 * negative errno (-ENOTEMPTY when something else was left in it).
 */
int rundir_remove(const char *dir, const char *name);

#endif
