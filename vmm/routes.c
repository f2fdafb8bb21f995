// SPDX-License-Identifier: GPL-2.0
/*
 * Firecracker's API routes, run on the loop that owns the VM: the main
 * thread before boot, the device event loop after. The machine's routes are
 * here; each device type brings its own (its descriptor), and every type
 * gets the configuration route PUT /<section> (or /<section>/{id}).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "devices/conf.h"
#include "vmm/routes.h"

/* A config parser's verdict: 204, or 400 with its message. */
static void parsed(struct api_request *req, int ret, const struct schema_error *err)
{
	if (ret == 0)
		api_ok(req, NULL);
	else
		device_route_fail(req, err);
}

static bool pre_boot_only(struct vmm *vmm, struct api_request *req, const char *what)
{
	if (!vmm_is_running(vmm))
		return true;
	api_fail(req, HTTP_BAD_REQUEST,
		 "%s can only be set before the microVM starts (it is running)", what);
	return false;
}

/* ---- instance and actions ---- */

static void get_instance(struct vmm *vmm, struct api_request *req)
{
	api_ok(req, json_pack("{s:s, s:s, s:s, s:s}", "id",
			      vmm->cfg->id ? vmm->cfg->id : "anonymous-instance", "state",
			      snapshot_vm_state(vmm), "vmm_version",
			      EBB_VERSION, "app_name", "ebb"));
}

static void get_version(struct vmm *vmm, struct api_request *req)
{
	api_ok(req, json_pack("{s:s}", "firecracker_version", EBB_VERSION));
}

static void start_instance(struct vmm *vmm, struct api_request *req)
{
	if (vmm_is_running(vmm)) {
		api_fail(req, HTTP_BAD_REQUEST, "the microVM is already running");
		return;
	}
	log_clear_last_error();
	int status = vmm_boot(vmm);
	if (status == 0) {
		api_ok(req, NULL);
		return;
	}
	const char *why = log_last_error()[0] ? log_last_error() : "the microVM could not start";
	api_fail(req, HTTP_BAD_REQUEST, "InstanceStart failed: %s", why);
	/* A failure once KVM objects exist leaves nothing to retry with. */
	if (status == EBB_EXIT_VM_ERROR)
		vm_request_exit(&vmm->vm, status, "InstanceStart failed: %s", why);
}

static void put_actions(struct vmm *vmm, struct api_request *req)
{
	json_t *type = json_is_object(req->body) ? json_object_get(req->body, "action_type") : NULL;
	if (!json_is_object(req->body) || json_object_size(req->body) != 1 ||
	    !json_is_string(type)) {
		api_fail(req, HTTP_BAD_REQUEST,
			 "the body must be {\"action_type\": "
			 "\"InstanceStart\"|\"SendCtrlAltDel\"|\"FlushMetrics\"}");
		return;
	}
	const char *action = json_string_value(type);
	if (strcmp(action, "InstanceStart") == 0) {
		start_instance(vmm, req);
	} else if (strcmp(action, "SendCtrlAltDel") == 0) {
		struct vm *vm = &vmm->vm;
		int ret = vmm_is_running(vmm) ? vm->arch->request_shutdown(vm->arch_vm) : -ENODEV;
		if (ret == -ENODEV)
			api_fail(req, HTTP_BAD_REQUEST, "SendCtrlAltDel needs a running microVM");
		else if (ret == -ENOTSUP)
			api_fail(req, HTTP_BAD_REQUEST,
				 "SendCtrlAltDel: this architecture has no keyboard to press it on");
		else if (ret < 0)
			api_fail(req, HTTP_BAD_REQUEST, "the guest is not reading its keyboard");
		else
			api_ok(req, NULL);
	} else if (strcmp(action, "FlushMetrics") == 0) {
		if (vmm_flush_metrics(vmm) < 0)
			api_fail(req, HTTP_BAD_REQUEST,
				 "no metrics file is configured (PUT /metrics)");
		else
			api_ok(req, NULL);
	} else {
		api_fail(req, HTTP_BAD_REQUEST,
			 "unknown action_type \"%s\" (InstanceStart, SendCtrlAltDel, FlushMetrics)",
			 action);
	}
}

/* ---- the machine's configuration ---- */

static void get_machine_config(struct vmm *vmm, struct api_request *req)
{
	const struct vm_config *cfg = vmm->cfg;
	api_ok(req, json_pack("{s:i, s:i, s:b, s:b, s:s}", "vcpu_count", (int)cfg->vcpus,
			      "mem_size_mib", (json_int_t)cfg->mem_mib, "smt", 0,
			      "track_dirty_pages", cfg->track_dirty_pages, "huge_pages",
			      config_huge_pages(cfg)));
}

static void put_machine_config(struct vmm *vmm, struct api_request *req)
{
	struct schema_error err;
	if (pre_boot_only(vmm, req, "machine-config"))
		parsed(req, config_parse_machine_config(req->body, vmm->cfg, &err), &err);
}

static void patch_machine_config(struct vmm *vmm, struct api_request *req)
{
	struct schema_error err;
	if (pre_boot_only(vmm, req, "machine-config"))
		parsed(req, config_parse_machine_config_patch(req->body, vmm->cfg, &err), &err);
}

static void put_boot_source(struct vmm *vmm, struct api_request *req)
{
	struct schema_error err;
	if (pre_boot_only(vmm, req, "boot-source"))
		parsed(req, config_parse_boot_source(req->body, vmm->cfg, &err), &err);
}

static void put_logger(struct vmm *vmm, struct api_request *req)
{
	struct schema_error err;
	if (!pre_boot_only(vmm, req, "the logger"))
		return;
	if (config_parse_logger(req->body, vmm->cfg, &err) < 0) {
		parsed(req, -EINVAL, &err);
		return;
	}
	const struct vm_config *cfg = vmm->cfg;
	if (cfg->log_path) {
		int ret = log_set_path(cfg->log_path);
		if (ret < 0) {
			api_fail(req, HTTP_BAD_REQUEST, "log_path %s: %s", cfg->log_path,
				 strerror(-ret));
			return;
		}
	}
	log_set_level(cfg->level);
	log_set_show_level(cfg->show_level, cfg->show_origin);
	api_ok(req, NULL);
}

static void put_metrics(struct vmm *vmm, struct api_request *req)
{
	struct schema_error err;
	if (!pre_boot_only(vmm, req, "metrics"))
		return;
	if (vmm->metrics_fd >= 0) {
		api_fail(req, HTTP_BAD_REQUEST, "metrics are already configured");
		return;
	}
	if (config_parse_metrics(req->body, vmm->cfg, &err) < 0) {
		parsed(req, -EINVAL, &err);
		return;
	}
	log_clear_last_error();
	if (vmm_open_metrics(vmm) < 0)
		api_fail(req, HTTP_BAD_REQUEST, "%s", log_last_error());
	else
		api_ok(req, NULL);
}

static void get_metrics(struct vmm *vmm, struct api_request *req)
{
	api_ok(req, vmm_metrics_json(vmm));
}

static void unsupported(struct vmm *vmm, struct api_request *req)
{
	api_fail(req, HTTP_BAD_REQUEST, "ebb does not support %s", req->url);
}

struct route {
	const char *path; /* ending in '/' matches a prefix with one more segment */
	const char *method;
	void (*fn)(struct vmm *vmm, struct api_request *req);
};

static const struct route machine_routes[] = {
	{ "/", "GET", get_instance },
	{ "/version", "GET", get_version },
	{ "/actions", "PUT", put_actions },
	{ "/machine-config", "GET", get_machine_config },
	{ "/machine-config", "PUT", put_machine_config },
	{ "/machine-config", "PATCH", patch_machine_config },
	{ "/boot-source", "PUT", put_boot_source },
	{ "/logger", "PUT", put_logger },
	{ "/metrics", "PUT", put_metrics },
	{ "/metrics", "GET", get_metrics },
	{ "/vm", "PATCH", snapshot_route_patch_vm },
	{ "/snapshot/create", "PUT", snapshot_route_create },
	{ "/snapshot/load", "PUT", snapshot_route_load },
};

/* Firecracker's features ebb does not have: a clear refusal, not a 404. */
static const struct route unsupported_routes[] = {
	{ "/mmds", NULL, unsupported },
	{ "/mmds/", NULL, unsupported },
	{ "/snapshot/", NULL, unsupported },
	{ "/vm/config", NULL, unsupported },
	{ "/cpu-config", NULL, unsupported },
	{ "/entropy", NULL, unsupported },
	{ "/serial", NULL, unsupported },
	{ "/pmem/", NULL, unsupported },
	{ "/hotplug/memory", NULL, unsupported },
};

/* ---- devices ---- */

static int set_conf(const struct device_route_ctx *ctx, int index, void *conf,
		    struct schema_error *err)
{
	struct vmm *vmm = ctx->vmm;
	return config_set_device(ctx->type, index, conf, vmm->cfg, err);
}

static void put_device(const struct device_route_ctx *ctx, struct api_request *req)
{
	struct vmm *vmm = ctx->vmm;
	struct schema_error err;
	char what[80];
	snprintf(what, sizeof(what), ctx->type->many ? "a %s" : "the %s", ctx->type->noun);
	if (pre_boot_only(vmm, req, what))
		parsed(req, config_put_device(ctx->type, ctx->id, req->body, vmm->cfg, &err), &err);
}

/*
 * A device route's URL: "/<section><path>", or for "{id}" routes
 * "/<section>/<id><rest>" with id one segment. Returns true and sets *id.
 */
static bool match_device(const struct device_type *t, const char *route_path, const char *url,
			 char *id, size_t id_len)
{
	size_t n = strlen(t->section);
	if (url[0] != '/' || strncmp(url + 1, t->section, n) != 0)
		return false;
	const char *rest = url + 1 + n;
	if (strncmp(route_path, "{id}", 4) != 0)
		return strcmp(rest, route_path) == 0;
	if (rest[0] != '/' || !rest[1])
		return false;
	const char *end = strchr(rest + 1, '/');
	size_t len = end ? (size_t)(end - rest - 1) : strlen(rest + 1);
	if (len >= id_len || strcmp(end ? end : "", route_path + 4) != 0)
		return false;
	memcpy(id, rest + 1, len);
	id[len] = '\0';
	return true;
}

static const struct device_route put_route[] = {
	{ "PUT", "", put_device },
	{ "PUT", "{id}", put_device },
};

/* True when route handled the request; *path_known when its URL matched. */
static bool try_route(struct vmm *vmm, const struct device_type *t,
		      const struct device_route *route, struct api_request *req, bool *path_known)
{
	char id[128];
	if (!match_device(t, route->path, req->url, id, sizeof(id)))
		return false;
	*path_known = true;
	if (strcmp(route->method, req->method) != 0)
		return false;
	struct vm *vm = &vmm->vm;
	struct device_route_ctx ctx = {
		.type = t,
		.id = strncmp(route->path, "{id}", 4) == 0 ? id : NULL,
		.running = vmm_is_running(vmm),
		.confs = &vmm->cfg->devices,
		.devices = vm->devices,
		.nr_devices = vm->nr_devices,
		.vmm = vmm,
		.set_conf = set_conf,
	};
	route->handle(&ctx, req);
	return true;
}

static bool route_device(struct vmm *vmm, const struct device_type *t, struct api_request *req,
			 bool *path_known)
{
	for (const struct device_route *r = t->routes; r && r->method; r++) {
		if (try_route(vmm, t, r, req, path_known))
			return true;
	}
	return try_route(vmm, t, &put_route[t->many ? 1 : 0], req, path_known);
}

/* A prefix route ('/' at the end) matches one more segment. */
static bool match(const struct route *r, const char *url)
{
	size_t n = strlen(r->path);
	if (r->path[n - 1] == '/' && n > 1)
		return strncmp(url, r->path, n) == 0 && url[n] && !strchr(url + n, '/');
	return strcmp(url, r->path) == 0;
}

static bool route_table(struct vmm *vmm, const struct route *routes, size_t n,
			struct api_request *req, bool *path_known)
{
	for (size_t i = 0; i < n; i++) {
		if (!match(&routes[i], req->url))
			continue;
		*path_known = true;
		if (routes[i].method && strcmp(routes[i].method, req->method) != 0)
			continue;
		routes[i].fn(vmm, req);
		return true;
	}
	return false;
}

/* Routes that may come before PUT /snapshot/load (and the load itself). */
static bool only_process_settings(const char *url)
{
	return !strcmp(url, "/logger") || !strcmp(url, "/metrics") || !strcmp(url, "/actions") ||
	       !strncmp(url, "/snapshot/", 10) || !strcmp(url, "/vm");
}

void routes_handle(struct vmm *vmm, struct api_request *req)
{
	const struct device_registry *r = vmm->cfg->devices.registry;
	bool path_known = false, done;
	vmm->api_requests++;
	done = route_table(vmm, machine_routes, sizeof(machine_routes) / sizeof(machine_routes[0]),
			   req, &path_known);
	for (unsigned int i = 0; !done && i < r->nr_types; i++)
		done = route_device(vmm, r->types[i], req, &path_known);
	if (!done && !path_known)
		done = route_table(vmm, unsupported_routes,
				   sizeof(unsupported_routes) / sizeof(unsupported_routes[0]), req,
				   &path_known);
	if (done) {
		if (req->status >= 400)
			vmm->api_errors++;
		else if (strcmp(req->method, "GET") != 0 && !only_process_settings(req->url))
			vmm->configured = true; /* too late for snapshot/load */
		return;
	}
	vmm->api_errors++;
	if (path_known)
		api_fail(req, HTTP_BAD_METHOD, "%s is not allowed on %s", req->method, req->url);
	else
		api_fail(req, HTTP_NOT_FOUND, "no such route: %s %s", req->method, req->url);
}
