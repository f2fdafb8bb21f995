// SPDX-License-Identifier: GPL-2.0
/* ebbctl balloon, stats and metrics: one API call each on one VM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ebbctl/ebbctl.h"
#include "tools/ebbctl/inst.h"
#include "tools/ebbctl/table.h"

/* Loads the VM named on the command line and checks that it runs. */
static int load_running(const struct ctl *ctl, struct inst *in)
{
	char err[1024];
	int ret = inst_load(in, ctl->run_dir, ctl->args->names[0], err, sizeof(err));
	if (ret == 0)
		ret = inst_require_running(in, err, sizeof(err));
	if (ret < 0)
		ctl_err("%s", err);
	return ret;
}

/* GET path on the named VM; the answer must be a JSON object. */
static json_t *get_object(const struct ctl *ctl, struct inst *in, const char *path)
{
	char err[1024];
	json_t *j;
	if (load_running(ctl, in) < 0)
		return NULL;
	if (inst_api(in, "GET", path, NULL, INST_API_TIMEOUT_MS, &j, err, sizeof(err)) < 0) {
		ctl_err("%s", err);
		return NULL;
	}
	if (!json_is_object(j)) {
		ctl_err("%s: GET %s: the answer is not a JSON object", in->name, path);
		json_decref(j);
		return NULL;
	}
	return j;
}

static void print_policy(const char *name, json_t *p)
{
	json_t *st = json_object_get(p, "state");
	json_t *in = json_object_get(st, "inputs");
	printf("%s: automatic policy %s, margin %lld MiB\n", name,
	       json_is_true(json_object_get(p, "enabled")) ? "on" : "off",
	       (long long)json_integer_value(json_object_get(p, "margin_mib")));
	if (!st)
		return;
	printf("  target %lld MiB: %s\n",
	       (long long)json_integer_value(json_object_get(st, "target_mib")),
	       json_string_value(json_object_get(st, "reason")) ?: "-");
	printf("  guest: available %lld MiB, free %lld MiB, caches %lld MiB; host pressure: %s\n",
	       (long long)json_integer_value(json_object_get(in, "available_mib")),
	       (long long)json_integer_value(json_object_get(in, "free_mib")),
	       (long long)json_integer_value(json_object_get(in, "disk_caches_mib")),
	       json_is_true(json_object_get(in, "host_pressure")) ? "yes" : "no");
}

/* ebbctl balloon auto NAME [--margin-mib M | --off | --show] */
static int cmd_balloon_auto(const struct ctl *ctl, struct inst *in)
{
	const struct ctl_args *a = ctl->args;
	char err[1024];
	if (!a->show) {
		json_t *body = a->off ? json_pack("{s:b}", "enabled", 0)
			     : a->has_margin ? json_pack("{s:b,s:I}", "enabled", 1, "margin_mib",
							 (json_int_t)a->margin_mib)
					     : json_pack("{s:b}", "enabled", 1);
		int ret = inst_api(in, "PATCH", "/balloon/policy", body, INST_API_TIMEOUT_MS, NULL,
				   err, sizeof(err));
		json_decref(body);
		if (ret < 0) {
			ctl_err("%s", err);
			return CTL_EXIT_FAIL;
		}
	}
	json_t *p;
	if (inst_api(in, "GET", "/balloon/policy", NULL, INST_API_TIMEOUT_MS, &p, err,
		     sizeof(err)) < 0) {
		ctl_err("%s", err);
		return CTL_EXIT_FAIL;
	}
	if (!json_is_object(p)) {
		ctl_err("%s: GET /balloon/policy: the answer is not a JSON object", in->name);
		json_decref(p);
		return CTL_EXIT_FAIL;
	}
	if (a->json) {
		ctl_print_json(p);
		return CTL_EXIT_OK;
	}
	print_policy(in->name, p);
	json_decref(p);
	return CTL_EXIT_OK;
}

int cmd_balloon(const struct ctl *ctl)
{
	struct inst in;
	char err[1024];
	if (load_running(ctl, &in) < 0)
		return CTL_EXIT_FAIL;
	if (ctl->args->balloon_auto)
		return cmd_balloon_auto(ctl, &in);
	json_t *body = json_pack("{s:I}", "amount_mib", (json_int_t)ctl->args->target_mib);
	int ret = inst_api(&in, "PATCH", "/balloon", body, INST_API_TIMEOUT_MS, NULL, err,
			   sizeof(err));
	json_decref(body);
	if (ret < 0) {
		ctl_err("%s", err);
		return CTL_EXIT_FAIL;
	}
	if (ctl->args->json)
		ctl_print_json(json_pack("{s:s,s:I}", "name", in.name, "amount_mib",
					 (json_int_t)ctl->args->target_mib));
	else
		printf("%s: balloon target set to %u MiB\n", in.name, ctl->args->target_mib);
	return CTL_EXIT_OK;
}

int cmd_stats(const struct ctl *ctl)
{
	struct inst in;
	json_t *j = get_object(ctl, &in, "/balloon/statistics");
	if (!j)
		return CTL_EXIT_FAIL;
	if (ctl->args->json) {
		ctl_print_json(j);
		return CTL_EXIT_OK;
	}

	static const char *const headers[] = { "STAT", "VALUE" };
	struct table *t = table_new(2, headers);
	table_align_right(t, 1);
	const char *key;
	json_t *v;
	json_object_foreach(j, key, v)
	{
		char text[64];
		if (json_is_integer(v))
			fmt_balloon_stat(text, sizeof(text), key, json_integer_value(v));
		else if (json_is_null(v))
			snprintf(text, sizeof(text), "-");
		else if (json_is_string(v))
			snprintf(text, sizeof(text), "%s", json_string_value(v));
		else
			snprintf(text, sizeof(text), "(%s)",
				 json_is_object(v) ? "object" : "value");
		table_row(t);
		table_cell(t, "%s", key);
		table_cell(t, "%s", text);
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(j);
	return CTL_EXIT_OK;
}

/* Rows "a.b.c  value" for every leaf of a nested object. */
static void flatten(struct table *t, const char *prefix, json_t *v)
{
	if (json_is_object(v)) {
		const char *key;
		json_t *child;
		json_object_foreach(v, key, child)
		{
			char path[512];
			snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", key);
			flatten(t, path, child);
		}
		return;
	}
	table_row(t);
	table_cell(t, "%s", *prefix ? prefix : "(value)");
	if (json_is_string(v)) {
		table_cell(t, "%s", json_string_value(v));
	} else {
		char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		table_cell(t, "%s", text ? text : "?");
		free(text);
	}
}

int cmd_metrics(const struct ctl *ctl)
{
	struct inst in;
	json_t *j = get_object(ctl, &in, "/metrics");
	if (!j)
		return CTL_EXIT_FAIL;
	if (ctl->args->json) {
		ctl_print_json(j);
		return CTL_EXIT_OK;
	}
	static const char *const headers[] = { "METRIC", "VALUE" };
	struct table *t = table_new(2, headers);
	table_align_right(t, 1);
	flatten(t, "", j);
	table_print(t, stdout);
	table_free(t);
	json_decref(j);
	return CTL_EXIT_OK;
}
