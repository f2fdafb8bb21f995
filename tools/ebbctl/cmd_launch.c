// SPDX-License-Identifier: GPL-2.0
/*
 * ebbctl launch: start N ebb processes in the background, wait until each
 * one's API answers, print what was started.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/ebbctl/ebbctl.h"
#include "tools/ebbctl/inst.h"
#include "tools/ebbctl/proc.h"
#include "tools/ebbctl/table.h"

#define LOG_TAIL_LINES	10
#define POLL_INTERVAL_S 0.05

enum launch_state { L_PENDING, L_READY, L_FAILED };

struct launch {
	struct inst in;
	enum launch_state state;
	char vmm_state[32]; /* GET / "state" */
	long long vcpus, mem_mib;
	char error[2048];
};

static bool executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* --ebb, else $EBB, else the ebb next to this executable, else $PATH. */
static int find_ebb(const char *flag, char *out, size_t len)
{
	const char *given = flag ? flag : getenv("EBB");
	if (given && *given) {
		if (!executable(given)) {
			bool exists = access(given, F_OK) == 0;
			int ret = exists ? -EACCES : -errno;
			ctl_err("launch: %s %s: %s", flag ? "--ebb" : "$EBB", given,
				exists ? "not an executable file" : strerror(-ret));
			return ret;
		}
		if (!realpath(given, out)) {
			int ret = -errno;
			ctl_err("launch: %s: %s", given, strerror(-ret));
			return ret;
		}
		return 0;
	}

	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char candidate[PATH_MAX];
		if (snprintf(candidate, sizeof(candidate), "%s/ebb", dirname(self)) <
			    (int)sizeof(candidate) &&
		    executable(candidate)) {
			snprintf(out, len, "%s", candidate);
			return 0;
		}
	}

	const char *path = getenv("PATH");
	char *copy = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (char *save = NULL, *dir = copy ? strtok_r(copy, ":", &save) : NULL; dir;
	     dir = strtok_r(NULL, ":", &save)) {
		char candidate[PATH_MAX];
		if (snprintf(candidate, sizeof(candidate), "%s/ebb", *dir ? dir : ".") <
			    (int)sizeof(candidate) &&
		    executable(candidate) && realpath(candidate, out)) {
			free(copy);
			return 0;
		}
	}
	free(copy);
	ctl_err("launch: cannot find the ebb binary (not next to ebbctl, not in $PATH); "
		"pass --ebb PATH or set $EBB");
	return -ENOENT;
}

/* Refuses a name whose VM is still running; clears an exited one's entry. */
static int claim(struct launch *l, const char *run_dir)
{
	struct inst old;
	char err[1024];
	if (inst_load(&old, run_dir, l->in.name, err, sizeof(err)) == 0) {
		if (old.running) {
			ctl_err("%s: already running (pid %d); stop it first or pick another "
				"--name",
				old.name, (int)old.pid);
			return -EBUSY;
		}
		char how[32];
		fmt_exit(how, sizeof(how), old.exit_status);
		fprintf(stderr, "ebbctl: %s: replacing the entry of an exited VM (%s)\n", old.name,
			how);
	}
	int ret = rundir_remove(run_dir, l->in.name);
	if (ret < 0 && ret != -ENOENT) {
		ctl_err("%s: cannot clear %s: %s", l->in.name, l->in.dir, strerror(-ret));
		return ret;
	}
	return 0;
}

/* What ebb starts from: --config-file FILE, or --restore FILE [--restore-mem M] [--restore-paused].
 */
struct source {
	const char *config;
	const char *snapshot;
	const char *mem;
	bool paused;
};

static int start(struct launch *l, const char *ebb, const struct source *src)
{
	int ret = rundir_mkdir_p(l->in.dir, 0755);
	if (ret < 0) {
		snprintf(l->error, sizeof(l->error), "%s: cannot create %s: %s", l->in.name,
			 l->in.dir, strerror(-ret));
		return ret;
	}
	char *argv[16] = {
		(char *)ebb,  "--api-sock", l->in.sock,	      "--id",	     l->in.name,
		"--log-path", l->in.log,    "--metrics-path", l->in.metrics,
	};
	int n = 9;
	if (src->config) {
		argv[n++] = "--config-file";
		argv[n++] = (char *)src->config;
	} else {
		argv[n++] = "--restore";
		argv[n++] = (char *)src->snapshot;
		if (src->mem) {
			argv[n++] = "--restore-mem";
			argv[n++] = (char *)src->mem;
		}
		if (src->paused)
			argv[n++] = "--restore-paused";
	}
	argv[n] = NULL;
	struct spawn_files files = {
		.console = l->in.console,
		.log = l->in.log,
		.pidfile = l->in.pidfile,
		.exitfile = l->in.exitfile,
	};
	char err[512];
	ret = proc_spawn(argv, &files, &l->in.pid, err, sizeof(err));
	if (ret < 0) {
		snprintf(l->error, sizeof(l->error), "%s: %s", l->in.name, err);
		return ret;
	}
	/*
	 * Our own grandchild, not reaped before it ends, so the pid is safe to
	 * open. No identity check here: just after exec /proc/PID/cmdline may
	 * still be empty.
	 */
	l->in.running = true;
	l->in.pidfd = proc_pidfd(l->in.pid);
	return 0;
}

/* One look at a starting VM: ready, died, or not yet. */
static void check(struct launch *l, double deadline, double timeout_s)
{
	if (proc_gone(l->in.pid, l->in.pidfd)) {
		/* The monitor records the status right after ebb ends. */
		for (int i = 0; i < 40 && !inst_read_exit(&l->in); i++)
			proc_sleep(POLL_INTERVAL_S);
		l->in.running = false;
		char how[32];
		fmt_exit(how, sizeof(how), l->in.exit_status);
		snprintf(l->error, sizeof(l->error),
			 "%s: ebb ended while starting (%s); its log %s ends with:", l->in.name,
			 how, l->in.log);
		l->state = L_FAILED;
		return;
	}

	double left = deadline - proc_now();
	long ms = left > 1.0 ? 1000 : left > 0.1 ? (long)(left * 1000) : 100;
	json_t *root;
	char err[1024];
	if (inst_api(&l->in, "GET", "/", NULL, ms, &root, err, sizeof(err)) < 0) {
		if (left <= 0) {
			snprintf(l->error, sizeof(l->error),
				 "%s: the API did not answer within %.0f s (last try: %s); the VM "
				 "is "
				 "still running (pid %d): `ebbctl stop %s` removes it",
				 l->in.name, timeout_s, inst_err_detail(&l->in, err),
				 (int)l->in.pid, l->in.name);
			l->state = L_FAILED;
		}
		return;
	}
	const char *state = json_string_value(json_object_get(root, "state"));
	snprintf(l->vmm_state, sizeof(l->vmm_state), "%s", state ? state : "?");
	json_decref(root);

	json_t *mc;
	l->vcpus = l->mem_mib = -1;
	if (inst_api(&l->in, "GET", "/machine-config", NULL, INST_API_TIMEOUT_MS, &mc, err,
		     sizeof(err)) == 0) {
		json_t *v = json_object_get(mc, "vcpu_count");
		l->vcpus = json_is_integer(v) ? json_integer_value(v) : -1;
		v = json_object_get(mc, "mem_size_mib");
		l->mem_mib = json_is_integer(v) ? json_integer_value(v) : -1;
		json_decref(mc);
	}
	l->state = L_READY;
}

static void print_human(const struct launch *ls, unsigned int n)
{
	static const char *const headers[] = { "NAME",	"PID",	   "STATE",
					       "VCPUS", "MEM MiB", "API SOCKET" };
	struct table *t = table_new(6, headers);
	table_align_right(t, 1);
	table_align_right(t, 3);
	table_align_right(t, 4);
	for (unsigned int i = 0; i < n; i++) {
		const struct launch *l = &ls[i];
		table_row(t);
		table_cell(t, "%s", l->in.name);
		if (l->in.pid > 0)
			table_cell(t, "%d", (int)l->in.pid);
		else
			table_cell(t, "-");
		table_cell(t, "%s", l->state == L_READY ? l->vmm_state : "failed");
		if (l->vcpus >= 0)
			table_cell(t, "%lld", l->vcpus);
		else
			table_cell(t, "-");
		if (l->mem_mib >= 0)
			table_cell(t, "%lld", l->mem_mib);
		else
			table_cell(t, "-");
		table_cell(t, "%s", l->in.sock);
	}
	table_print(t, stdout);
	table_free(t);
}

static void print_json(const struct launch *ls, unsigned int n)
{
	json_t *arr = json_array();
	for (unsigned int i = 0; i < n; i++) {
		const struct launch *l = &ls[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(l->in.name));
		json_object_set_new(o, "pid",
				    l->in.pid > 0 ? json_integer(l->in.pid) : json_null());
		json_object_set_new(o, "started", json_boolean(l->state == L_READY));
		json_object_set_new(o, "state",
				    l->state == L_READY ? json_string(l->vmm_state) : json_null());
		json_object_set_new(o, "vcpu_count", ctl_json_int_or_null(l->vcpus));
		json_object_set_new(o, "mem_size_mib", ctl_json_int_or_null(l->mem_mib));
		json_object_set_new(o, "api_sock", json_string(l->in.sock));
		json_object_set_new(o, "log", json_string(l->in.log));
		json_object_set_new(o, "console", json_string(l->in.console));
		json_object_set_new(o, "metrics", json_string(l->in.metrics));
		json_object_set_new(o, "dir", json_string(l->in.dir));
		json_object_set_new(o, "error",
				    l->state == L_FAILED ? json_string(l->error) : json_null());
		json_array_append_new(arr, o);
	}
	ctl_print_json(arr);
}

int cmd_launch(const struct ctl *ctl)
{
	const struct ctl_args *a = ctl->args;
	char prefix[RUNDIR_NAME_MAX + 1], err[1024];
	char ebb[PATH_MAX], file[PATH_MAX], mem[PATH_MAX];
	bool restore = a->cmd == CMD_RESTORE;
	const char *cmd = restore ? "restore" : "launch", *from = restore ? a->snapshot : a->config;
	struct source src = { .paused = a->paused };

	if (a->prefix) {
		snprintf(prefix, sizeof(prefix), "%s", a->prefix);
	} else if (rundir_prefix_from_config(from, prefix, sizeof(prefix), err, sizeof(err)) < 0) {
		ctl_err("%s: %s", cmd, err);
		return CTL_EXIT_USAGE;
	}
	if (access(from, R_OK) < 0 || !realpath(from, file)) {
		ctl_err("%s: --%s %s: %s", cmd, restore ? "snapshot" : "config", from,
			strerror(errno));
		return CTL_EXIT_USAGE;
	}
	if (restore && a->mem && (access(a->mem, R_OK) < 0 || !realpath(a->mem, mem))) {
		ctl_err("restore: --mem %s: %s", a->mem, strerror(errno));
		return CTL_EXIT_USAGE;
	}
	*(restore ? &src.snapshot : &src.config) = file;
	src.mem = restore && a->mem ? mem : NULL;
	if (find_ebb(a->ebb, ebb, sizeof(ebb)) < 0)
		return CTL_EXIT_USAGE;
	int ret = rundir_mkdir_p(ctl->run_dir, 0755);
	if (ret < 0) {
		ctl_err("%s: cannot create the run directory %s: %s", cmd, ctl->run_dir,
			strerror(-ret));
		return CTL_EXIT_FAIL;
	}

	unsigned int n = a->count;
	struct launch *ls = calloc(n, sizeof(*ls));
	if (!ls) {
		ctl_err("out of memory");
		return CTL_EXIT_FAIL;
	}
	/* Every name is checked before anything starts. */
	int status = CTL_EXIT_OK;
	for (unsigned int i = 0; i < n; i++) {
		char name[RUNDIR_NAME_MAX + 1];
		if (rundir_vm_name(name, sizeof(name), prefix, i + 1, n) < 0 ||
		    rundir_check_name(name, err, sizeof(err)) < 0) {
			ctl_err("%s: name prefix '%s' is too long for %u VMs", cmd, prefix, n);
			status = CTL_EXIT_USAGE;
			goto out;
		}
		if (inst_init(&ls[i].in, ctl->run_dir, name, err, sizeof(err)) < 0) {
			ctl_err("%s", err);
			status = CTL_EXIT_USAGE;
			goto out;
		}
		ls[i].vcpus = ls[i].mem_mib = -1;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (claim(&ls[i], ctl->run_dir) < 0) {
			status = CTL_EXIT_FAIL;
			goto out;
		}
	}

	for (unsigned int i = 0; i < n; i++) {
		if (start(&ls[i], ebb, &src) < 0)
			ls[i].state = L_FAILED;
	}
	double deadline = proc_now() + a->timeout_s;
	for (;;) {
		bool pending = false;
		for (unsigned int i = 0; i < n; i++) {
			if (ls[i].state == L_PENDING)
				check(&ls[i], deadline, a->timeout_s);
			pending |= ls[i].state == L_PENDING;
		}
		if (!pending)
			break;
		proc_sleep(POLL_INTERVAL_S);
	}

	for (unsigned int i = 0; i < n; i++) {
		if (ls[i].state != L_FAILED)
			continue;
		status = CTL_EXIT_FAIL;
		ctl_err("%s", ls[i].error);
		if (ls[i].in.pid > 0 && !ls[i].in.running)
			inst_print_log_tail(&ls[i].in, stderr, LOG_TAIL_LINES);
	}
	if (a->json)
		print_json(ls, n);
	else
		print_human(ls, n);
out:
	for (unsigned int i = 0; i < n; i++)
		inst_close(&ls[i].in);
	free(ls);
	return status;
}
