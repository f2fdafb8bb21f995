// SPDX-License-Identifier: GPL-2.0
/*
 * ebbctl snapshot: pause a VM, write its snapshot, resume it (unless asked
 * not to). `ebbctl restore` is `launch` with ebb --restore (cmd_launch.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/ebbctl/ebbctl.h"
#include "tools/ebbctl/inst.h"

/* ebb resolves a relative path from its own working directory: send an absolute one. */
static int absolute(const char *path, char *out, size_t len)
{
	char cwd[PATH_MAX];
	if (path[0] == '/')
		return snprintf(out, len, "%s", path) < (int)len ? 0 : -ENAMETOOLONG;
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	return snprintf(out, len, "%s/%s", cwd, path) < (int)len ? 0 : -ENAMETOOLONG;
}

static int set_state(struct inst *in, const char *state, char *err, size_t errlen)
{
	json_t *body = json_pack("{s:s}", "state", state);
	int ret = inst_api(in, "PATCH", "/vm", body, INST_API_TIMEOUT_MS, NULL, err, errlen);
	json_decref(body);
	return ret;
}

int cmd_snapshot(const struct ctl *ctl)
{
	const struct ctl_args *a = ctl->args;
	char snap[PATH_MAX], mem[PATH_MAX], err[1024], err2[1024];
	struct inst in;
	if (absolute(a->snapshot, snap, sizeof(snap)) < 0 ||
	    absolute(a->mem, mem, sizeof(mem)) < 0) {
		ctl_err("snapshot: the paths are too long");
		return CTL_EXIT_USAGE;
	}
	if (inst_load(&in, ctl->run_dir, a->names[0], err, sizeof(err)) < 0 ||
	    inst_require_running(&in, err, sizeof(err)) < 0) {
		ctl_err("%s", err);
		return CTL_EXIT_FAIL;
	}
	if (set_state(&in, "Paused", err, sizeof(err)) < 0) {
		ctl_err("%s", err);
		inst_close(&in);
		return CTL_EXIT_FAIL;
	}
	const char *type = a->diff ? "Diff" : "Full";
	json_t *body = json_pack("{s:s, s:s, s:s}", "snapshot_type", type, "snapshot_path", snap,
				 "mem_file_path", mem);
	/* Writing a big guest's memory takes a while: wait as long as a launch would. */
	long ms = (long)(a->timeout_s * 1000);
	int ret = inst_api(&in, "PUT", "/snapshot/create", body,
			   ms > INST_API_TIMEOUT_MS ? ms : INST_API_TIMEOUT_MS, NULL, err,
			   sizeof(err));
	json_decref(body);
	int resumed = !a->paused ? set_state(&in, "Resumed", err2, sizeof(err2)) : 1;
	int status = CTL_EXIT_OK;
	if (ret < 0) {
		ctl_err("%s", err);
		status = CTL_EXIT_FAIL;
	}
	if (resumed < 0) {
		ctl_err("%s: could not resume it: %s", in.name, err2);
		status = CTL_EXIT_FAIL;
	}
	if (ret == 0 && a->json)
		ctl_print_json(json_pack("{s:s, s:s, s:s, s:s, s:b}", "name", in.name,
					 "snapshot_type", type, "snapshot_path", snap,
					 "mem_file_path", mem, "paused", resumed != 0));
	else if (ret == 0)
		printf("%s: %s snapshot in %s (memory %s); %s\n", in.name, type, snap, mem,
		       resumed == 0 ? "resumed" : "left paused");
	inst_close(&in);
	return status;
}
