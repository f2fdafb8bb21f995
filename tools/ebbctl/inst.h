/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One VM as ebbctl sees it: its run-directory entry, its process and its
 * API. Every error message written here starts with the VM's name.
 */
#ifndef EBBCTL_INST_H
#define EBBCTL_INST_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "tools/ebbctl/rundir.h"

/* API calls ebbctl makes in passing (ps) must not hang on one wedged VM. */
#define INST_API_TIMEOUT_MS 3000

/*
 * Every file of a VM sits next to its API socket, whose path must fit a
 * unix socket address, so none of them is long.
 */
#define INST_PATH_MAX 128

struct inst {
	char name[RUNDIR_NAME_MAX + 1];
	char dir[INST_PATH_MAX]; /* RUN_DIR/NAME */
	char sock[INST_PATH_MAX];
	char log[INST_PATH_MAX];
	char console[INST_PATH_MAX];
	char metrics[INST_PATH_MAX];
	char pidfile[INST_PATH_MAX];
	char exitfile[INST_PATH_MAX];
	pid_t pid; /* 0 when there is no pid file */
	int pidfd; /* negative when not open */
	bool running;
	int exit_status; /* once ended: >= 0 exit status, < 0 -signal, FMT_EXIT_UNKNOWN */
};

/*
 * Fills in the paths; fails with -ENAMETOOLONG if the socket path is too long
 * for a unix socket.
 */
int inst_init(struct inst *in, const char *run_dir, const char *name, char *err, size_t errlen);

/*
 * inst_init(), then reads the pid and exit files and checks the process.
 * Fails with -ENOENT and "NAME: no such VM in RUN_DIR" when there is no
 * entry, -EINVAL when the pid file holds no pid.
 */
int inst_load(struct inst *in, const char *run_dir, const char *name, char *err, size_t errlen);

/* Re-reads the exit file; true if it is there (exit_status set). */
bool inst_read_exit(struct inst *in);

/* Opens in->pidfd for a running VM (no-op if open or unsupported). */
void inst_open_pidfd(struct inst *in);
void inst_close(struct inst *in);

/* -ESRCH and "NAME: not running (exit 0); see LOG" in err when the VM is not running. */
int inst_require_running(const struct inst *in, char *err, size_t errlen);

/*
 * One API call. body may be NULL. On a 2xx answer returns 0 with *answer
 * the parsed JSON (NULL for an empty body; may be NULL to ignore it). On
 * anything else returns a negative errno with err naming the VM, the request
 * and the cause: -EPROTO with the API's fault_message for a non-2xx answer,
 * -EBADMSG for one that is not JSON, http_request()'s errno for the socket.
 */
int inst_api(const struct inst *in, const char *method, const char *path, json_t *body,
	     long timeout_ms, json_t **answer, char *err, size_t errlen);

/* An error message of inst_api() without its leading "NAME: ". */
const char *inst_err_detail(const struct inst *in, const char *err);

/* The last lines of the VM's log, each indented, for error reports. */
void inst_print_log_tail(const struct inst *in, FILE *out, unsigned int lines);

#endif
