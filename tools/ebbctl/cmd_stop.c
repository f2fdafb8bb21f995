// SPDX-License-Identifier: GPL-2.0
/*
 * ebbctl stop: ask each guest to reboot (which ends ebb with status 0),
 * fall back to SIGTERM after the timeout and SIGKILL after a grace period,
 * then remove the VM's run-directory entry. All VMs are stopped in parallel.
 */
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ebbctl/ebbctl.h"
#include "tools/ebbctl/inst.h"
#include "tools/ebbctl/proc.h"
#include "tools/ebbctl/table.h"

#define STOP_GRACE_S	 5.0 /* SIGTERM -> SIGKILL, and SIGKILL -> giving up */
#define STOP_EXIT_WAIT_S 2.0 /* for the monitor to record the exit status */
#define STOP_POLL_S	 0.05

enum stop_phase {
	P_ASKED,  /* Ctrl-Alt-Del sent, waiting up to the timeout */
	P_TERMED, /* SIGTERM sent */
	P_KILLED, /* SIGKILL sent */
	P_ENDED,
	P_FAILED,
};

struct stop {
	struct inst in;
	bool loaded;
	enum stop_phase phase;
	const char *ended_by; /* "ctrl-alt-del", "SIGTERM", "SIGKILL", "already exited" */
	char note[1024];      /* why ebbctl fell back, if it did */
	double t0, deadline, seconds;
	bool removed;
	char error[1024];
};

static void set_error(struct stop *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(struct stop *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	s->phase = P_FAILED;
}

/* Says a fallback as it happens, and keeps it for --json. */
static void add_note(struct stop *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_note(struct stop *s, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctl_err("%s: %s", s->in.name, msg);
	size_t len = strlen(s->note);
	snprintf(s->note + len, sizeof(s->note) - len, "%s%s", len ? "; " : "", msg);
}

static void ended(struct stop *s)
{
	static const char *const by[] = {
		[P_ASKED] = "ctrl-alt-del",
		[P_TERMED] = "SIGTERM",
		[P_KILLED] = "SIGKILL",
	};
	s->ended_by = by[s->phase];
	s->seconds = proc_now() - s->t0;
	s->in.running = false;
	s->phase = P_ENDED;
}

/* Sends sig and moves to the phase that waits for it. */
static void escalate(struct stop *s, int sig, enum stop_phase next)
{
	int ret = proc_signal(s->in.pid, s->in.pidfd, sig);
	if (ret == -ESRCH) {
		/* It ended just now; the earlier phase gets the credit. */
		ended(s);
		return;
	}
	if (ret < 0) {
		set_error(s, "%s: cannot send %s to pid %d: %s", s->in.name, sigabbrev_np(sig),
			  (int)s->in.pid, strerror(-ret));
		return;
	}
	s->phase = next;
	s->deadline = proc_now() + STOP_GRACE_S;
}

static void begin(struct stop *s, double timeout_s)
{
	s->t0 = proc_now();
	if (!s->in.running) {
		s->ended_by = "already exited";
		s->phase = P_ENDED;
		return;
	}
	inst_open_pidfd(&s->in);
	if (!s->in.running) {
		s->ended_by = "already exited";
		s->phase = P_ENDED;
		return;
	}
	json_t *body = json_pack("{s:s}", "action_type", "SendCtrlAltDel");
	char err[1024];
	int ret = inst_api(&s->in, "PUT", "/actions", body, INST_API_TIMEOUT_MS, NULL, err,
			   sizeof(err));
	json_decref(body);
	if (ret < 0) {
		/* No way to ask the guest: go straight to SIGTERM. */
		add_note(s, "cannot ask the guest to stop (%s); sending SIGTERM",
			 inst_err_detail(&s->in, err));
		escalate(s, SIGTERM, P_TERMED);
		return;
	}
	s->phase = P_ASKED;
	s->deadline = s->t0 + timeout_s;
}

static void step(struct stop *s, double timeout_s)
{
	if (proc_gone(s->in.pid, s->in.pidfd)) {
		ended(s);
		return;
	}
	if (proc_now() < s->deadline)
		return;
	switch (s->phase) {
	case P_ASKED:
		add_note(s, "still running %.1f s after Ctrl-Alt-Del; sending SIGTERM", timeout_s);
		escalate(s, SIGTERM, P_TERMED);
		break;
	case P_TERMED:
		add_note(s, "still running %.1f s after SIGTERM; sending SIGKILL", STOP_GRACE_S);
		escalate(s, SIGKILL, P_KILLED);
		break;
	case P_KILLED:
		set_error(s, "%s: pid %d is still there %.1f s after SIGKILL", s->in.name,
			  (int)s->in.pid, STOP_GRACE_S);
		break;
	default:
		break;
	}
}

static void finish(struct stop *s, const char *run_dir)
{
	if (s->phase != P_ENDED)
		return;
	/* The monitor records the status right after ebb ends. */
	double until = proc_now() + STOP_EXIT_WAIT_S;
	while (!inst_read_exit(&s->in) && proc_now() < until)
		proc_sleep(STOP_POLL_S);
	inst_close(&s->in);
	int ret = rundir_remove(run_dir, s->in.name);
	if (ret < 0 && ret != -ENOENT)
		snprintf(s->error, sizeof(s->error), "%s: stopped, but cannot remove %s: %s",
			 s->in.name, s->in.dir, strerror(-ret));
	else
		s->removed = true;
}

static void print_human(const struct stop *ss, size_t n)
{
	static const char *const headers[] = { "NAME",	 "PID",	  "ENDED BY",
					       "STATUS", "CLEAN", "SECONDS" };
	struct table *t = table_new(6, headers);
	table_align_right(t, 1);
	table_align_right(t, 5);
	for (size_t i = 0; i < n; i++) {
		const struct stop *s = &ss[i];
		if (!s->loaded)
			continue;
		char how[32];
		fmt_exit(how, sizeof(how), s->in.exit_status);
		table_row(t);
		table_cell(t, "%s", s->in.name);
		table_cell(t, "%d", (int)s->in.pid);
		table_cell(t, "%s", s->phase == P_ENDED ? s->ended_by : "not stopped");
		table_cell(t, "%s", s->phase == P_ENDED ? how : "-");
		table_cell(t, "%s",
			   s->phase != P_ENDED		       ? "-"
			   : fmt_exit_clean(s->in.exit_status) ? "yes"
							       : "no");
		if (s->phase == P_ENDED && strcmp(s->ended_by, "already exited") != 0)
			table_cell(t, "%.1f", s->seconds);
		else
			table_cell(t, "-");
	}
	if (table_rows(t))
		table_print(t, stdout);
	table_free(t);
}

static json_t *stop_json(const struct stop *s)
{
	json_t *o = json_object();
	bool ok = s->phase == P_ENDED;
	bool known = ok && s->in.exit_status != FMT_EXIT_UNKNOWN;
	json_object_set_new(o, "name", json_string(s->in.name));
	json_object_set_new(o, "pid", s->loaded ? json_integer(s->in.pid) : json_null());
	json_object_set_new(o, "stopped", json_boolean(ok));
	json_object_set_new(o, "ended_by", ok ? json_string(s->ended_by) : json_null());
	json_object_set_new(o, "exit_status",
			    known && s->in.exit_status >= 0 ? json_integer(s->in.exit_status)
							    : json_null());
	json_object_set_new(o, "exit_signal",
			    known && s->in.exit_status < 0 ? json_integer(-s->in.exit_status)
							   : json_null());
	json_object_set_new(o, "clean", json_boolean(ok && fmt_exit_clean(s->in.exit_status)));
	json_object_set_new(o, "seconds",
			    ok && strcmp(s->ended_by, "already exited") != 0 ? json_real(s->seconds)
									     : json_null());
	json_object_set_new(o, "removed", json_boolean(s->removed));
	json_object_set_new(o, "note", s->note[0] ? json_string(s->note) : json_null());
	json_object_set_new(o, "error", s->error[0] ? json_string(s->error) : json_null());
	return o;
}

int cmd_stop(const struct ctl *ctl)
{
	const struct ctl_args *a = ctl->args;
	char **listed = NULL;
	size_t n;
	if (a->all) {
		int ret = rundir_list(ctl->run_dir, &listed, &n);
		if (ret < 0) {
			ctl_err("stop: cannot read the run directory %s: %s", ctl->run_dir,
				strerror(-ret));
			return CTL_EXIT_FAIL;
		}
	} else {
		n = a->nr_names;
	}

	struct stop *ss = calloc(n ? n : 1, sizeof(*ss));
	if (!ss) {
		rundir_list_free(listed, a->all ? n : 0);
		ctl_err("out of memory");
		return CTL_EXIT_FAIL;
	}
	for (size_t i = 0; i < n; i++) {
		struct stop *s = &ss[i];
		const char *name = a->all ? listed[i] : a->names[i];
		if (inst_load(&s->in, ctl->run_dir, name, s->error, sizeof(s->error)) < 0) {
			snprintf(s->in.name, sizeof(s->in.name), "%s", name);
			s->phase = P_FAILED;
			continue;
		}
		s->loaded = true;
		begin(s, a->timeout_s);
	}

	for (;;) {
		bool waiting = false;
		for (size_t i = 0; i < n; i++) {
			if (ss[i].phase < P_ENDED) {
				step(&ss[i], a->timeout_s);
				waiting |= ss[i].phase < P_ENDED;
			}
		}
		if (!waiting)
			break;
		proc_sleep(STOP_POLL_S);
	}

	int status = CTL_EXIT_OK;
	for (size_t i = 0; i < n; i++) {
		finish(&ss[i], ctl->run_dir);
		if (ss[i].error[0]) {
			ctl_err("%s", ss[i].error);
			status = CTL_EXIT_FAIL;
		}
	}
	if (a->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, stop_json(&ss[i]));
		ctl_print_json(arr);
	} else if (n == 0) {
		fprintf(stderr, "ebbctl: no VMs in %s\n", ctl->run_dir);
	} else {
		print_human(ss, n);
	}
	for (size_t i = 0; i < n; i++)
		inst_close(&ss[i].in);
	free(ss);
	rundir_list_free(listed, a->all ? n : 0);
	return status;
}
