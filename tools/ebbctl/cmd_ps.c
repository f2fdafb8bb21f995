// SPDX-License-Identifier: GPL-2.0
/* ebbctl ps: every VM of the run directory, its state and its memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ebbctl/ebbctl.h"
#include "tools/ebbctl/inst.h"
#include "tools/ebbctl/proc.h"
#include "tools/ebbctl/table.h"

struct ps_row {
	struct inst in;
	long long guest_mib;   /* -1: unknown */
	long long rss_kib;     /* -1: unknown */
	long long private_kib; /* -1: unknown */
	long long balloon_mib; /* -1: no balloon statistics */
};

static void probe(struct ps_row *r)
{
	char err[1024];
	r->guest_mib = r->rss_kib = r->private_kib = r->balloon_mib = -1;
	if (!r->in.running)
		return;

	uint64_t kib;
	if (proc_rss_kib(r->in.pid, &kib) == 0)
		r->rss_kib = (long long)kib;
	if (proc_private_kib(r->in.pid, &kib) == 0)
		r->private_kib = (long long)kib;

	json_t *j;
	if (inst_api(&r->in, "GET", "/machine-config", NULL, INST_API_TIMEOUT_MS, &j, err,
		     sizeof(err)) < 0) {
		/* Running but not answering is worth a word; the row still shows. */
		ctl_err("%s", err);
		return;
	}
	json_t *v = json_object_get(j, "mem_size_mib");
	if (json_is_integer(v))
		r->guest_mib = json_integer_value(v);
	json_decref(j);

	/* No balloon, or no statistics: a 400 that only means "-". */
	if (inst_api(&r->in, "GET", "/balloon/statistics", NULL, INST_API_TIMEOUT_MS, &j, err,
		     sizeof(err)) == 0) {
		v = json_object_get(j, "actual_mib");
		if (json_is_integer(v))
			r->balloon_mib = json_integer_value(v);
		json_decref(j);
	}
}

static void state_text(const struct inst *in, char *buf, size_t len)
{
	if (in->running) {
		snprintf(buf, len, "running");
	} else {
		char how[32];
		fmt_exit(how, sizeof(how), in->exit_status);
		if (strncmp(how, "exit ", 5) == 0)
			snprintf(buf, len, "exited (%s)", how + 5);
		else
			snprintf(buf, len, "exited (%s)", how);
	}
}

static void print_human(const struct ps_row *rows, size_t n)
{
	static const char *const headers[] = { "NAME",	  "PID",	 "STATE",	"GUEST MiB",
					       "RSS MiB", "PRIVATE MiB", "BALLOON MiB" };
	struct table *t = table_new(7, headers);
	for (unsigned int c = 3; c < 7; c++)
		table_align_right(t, c);
	table_align_right(t, 1);
	for (size_t i = 0; i < n; i++) {
		const struct ps_row *r = &rows[i];
		char state[48], rss[32];
		state_text(&r->in, state, sizeof(state));
		table_row(t);
		table_cell(t, "%s", r->in.name);
		table_cell(t, "%d", (int)r->in.pid);
		table_cell(t, "%s", state);
		if (r->guest_mib >= 0)
			table_cell(t, "%lld", r->guest_mib);
		else
			table_cell(t, "-");
		const long long kibs[] = { r->rss_kib, r->private_kib };
		for (size_t k = 0; k < sizeof(kibs) / sizeof(kibs[0]); k++) {
			if (kibs[k] >= 0) {
				fmt_kib_as_mib(rss, sizeof(rss), (uint64_t)kibs[k]);
				table_cell(t, "%s", rss);
			} else {
				table_cell(t, "-");
			}
		}
		if (r->balloon_mib >= 0)
			table_cell(t, "%lld", r->balloon_mib);
		else
			table_cell(t, "-");
	}
	table_print(t, stdout);
	table_free(t);
}

static json_t *row_json(const struct ps_row *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(r->in.name));
	json_object_set_new(o, "pid", json_integer(r->in.pid));
	json_object_set_new(o, "state", json_string(r->in.running ? "running" : "exited"));
	bool ended = !r->in.running && r->in.exit_status != FMT_EXIT_UNKNOWN;
	json_object_set_new(o, "exit_status",
			    ended && r->in.exit_status >= 0 ? json_integer(r->in.exit_status)
							    : json_null());
	json_object_set_new(o, "exit_signal",
			    ended && r->in.exit_status < 0 ? json_integer(-r->in.exit_status)
							   : json_null());
	json_object_set_new(o, "guest_mib", ctl_json_int_or_null(r->guest_mib));
	json_object_set_new(o, "rss_kib", ctl_json_int_or_null(r->rss_kib));
	json_object_set_new(o, "rss_mib",
			    ctl_json_int_or_null(r->rss_kib < 0 ? -1 : (r->rss_kib + 512) / 1024));
	json_object_set_new(o, "private_kib", ctl_json_int_or_null(r->private_kib));
	json_object_set_new(o, "balloon_actual_mib", ctl_json_int_or_null(r->balloon_mib));
	json_object_set_new(o, "api_sock", json_string(r->in.sock));
	json_object_set_new(o, "log", json_string(r->in.log));
	json_object_set_new(o, "console", json_string(r->in.console));
	return o;
}

int cmd_ps(const struct ctl *ctl)
{
	char **names;
	size_t n;
	int ret = rundir_list(ctl->run_dir, &names, &n);
	if (ret < 0) {
		ctl_err("ps: cannot read the run directory %s: %s", ctl->run_dir, strerror(-ret));
		return CTL_EXIT_FAIL;
	}

	struct ps_row *rows = calloc(n ? n : 1, sizeof(*rows));
	if (!rows) {
		rundir_list_free(names, n);
		ctl_err("out of memory");
		return CTL_EXIT_FAIL;
	}
	size_t nr = 0;
	int status = CTL_EXIT_OK;
	for (size_t i = 0; i < n; i++) {
		char err[1024];
		/* An entry can vanish under us: a concurrent stop. Skip it quietly. */
		if (inst_load(&rows[nr].in, ctl->run_dir, names[i], err, sizeof(err)) < 0) {
			if (!strstr(err, "no such VM")) {
				ctl_err("%s", err);
				status = CTL_EXIT_FAIL;
			}
			continue;
		}
		probe(&rows[nr]);
		nr++;
	}

	if (ctl->args->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < nr; i++)
			json_array_append_new(arr, row_json(&rows[i]));
		ctl_print_json(arr);
	} else if (nr == 0) {
		fprintf(stderr, "ebbctl: no VMs in %s\n", ctl->run_dir);
	} else {
		print_human(rows, nr);
	}
	free(rows);
	rundir_list_free(names, n);
	return status;
}
