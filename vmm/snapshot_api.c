// SPDX-License-Identifier: GPL-2.0
/*
 * Firecracker's snapshot routes: PATCH /vm (pause, resume), PUT
 * /snapshot/create and PUT /snapshot/load, with its bodies and rules.
 */
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "devices/conf.h"
#include "vmm/vmm.h"

/* ---- PATCH /vm ---- */

static const char *const vm_states[] = { "Paused", "Resumed", NULL };

struct vm_stage {
	int state;
};

static const struct schema_field vm_fields[] = {
	{ .name = "state",
	  .type = SCHEMA_CHOICE,
	  .flags = SCHEMA_REQUIRED,
	  .offset = offsetof(struct vm_stage, state),
	  .choices = vm_states },
};

static const struct schema vm_schema = SCHEMA_OF(vm_fields);

const char *snapshot_vm_state(struct vmm *vmm)
{
	if (!vmm_is_running(vmm))
		return "Not started";
	return vcpus_paused(&vmm->vm) ? "Paused" : "Running";
}

void snapshot_route_patch_vm(struct vmm *vmm, struct api_request *req)
{
	struct vm_stage st;
	if (!device_route_parse(req, &vm_schema, &st, sizeof(st)))
		return;
	if (!vmm_is_running(vmm)) {
		api_fail(req, HTTP_BAD_REQUEST, "the microVM is not running yet");
		return;
	}
	struct vm *vm = &vmm->vm;
	if (st.state == 1) {
		if (vcpus_paused(vm))
			log_info("vm: resumed");
		vcpus_resume(vm);
		api_ok(req, NULL);
		return;
	}
	if (vcpus_pause(vm) < 0) {
		api_fail(req, HTTP_BAD_REQUEST, "the microVM is stopping");
		return;
	}
	log_info("vm: paused");
	api_ok(req, NULL);
}

/* ---- PUT /snapshot/create ---- */

static const char *const snapshot_types[] = { "Full", "Diff", NULL };

struct create_stage {
	int type;
	char *snapshot_path;
	char *mem_file_path;
};

static const struct schema_field create_fields[] = {
	{ .name = "snapshot_type",
	  .type = SCHEMA_CHOICE,
	  .offset = offsetof(struct create_stage, type),
	  .choices = snapshot_types },
	{ .name = "snapshot_path",
	  .type = SCHEMA_STRING,
	  .flags = SCHEMA_REQUIRED | SCHEMA_NONEMPTY,
	  .offset = offsetof(struct create_stage, snapshot_path) },
	{ .name = "mem_file_path",
	  .type = SCHEMA_STRING,
	  .flags = SCHEMA_REQUIRED | SCHEMA_NONEMPTY,
	  .offset = offsetof(struct create_stage, mem_file_path) },
};

static const struct schema create_schema = SCHEMA_OF(create_fields);

void snapshot_route_create(struct vmm *vmm, struct api_request *req)
{
	struct create_stage st;
	char err[1024];
	if (!device_route_parse(req, &create_schema, &st, sizeof(st)))
		return;
	if (!vmm_is_running(vmm)) {
		api_fail(req, HTTP_BAD_REQUEST, "no microVM to snapshot: it has not started");
	} else {
		struct snapshot_create_args a = {
			.type = st.type == 1 ? SNAPSHOT_DIFF : SNAPSHOT_FULL,
			.snapshot_path = st.snapshot_path,
			.mem_file_path = st.mem_file_path,
		};
		if (snapshot_create(vmm, &a, err, sizeof(err)) < 0)
			api_fail(req, HTTP_BAD_REQUEST, "snapshot/create: %s", err);
		else
			api_ok(req, NULL);
	}
	schema_free_strings(&create_schema, &st);
}

/* ---- PUT /snapshot/load ---- */

static const char *const backend_types[] = { "File", "Uffd", NULL };
static const char *const load_huge_pages[] = { "Snapshot", "None", "Transparent", "2M", NULL };

struct backend_stage {
	int type;
	char *path;
};

static const struct schema_field backend_fields[] = {
	{ .name = "backend_type",
	  .type = SCHEMA_CHOICE,
	  .flags = SCHEMA_REQUIRED,
	  .offset = offsetof(struct backend_stage, type),
	  .choices = backend_types,
	  .supported = 1,
	  .unsupported = "backend_type \"Uffd\" is not supported by ebb; use \"File\"" },
	{ .name = "backend_path",
	  .type = SCHEMA_STRING,
	  .flags = SCHEMA_REQUIRED | SCHEMA_NONEMPTY,
	  .offset = offsetof(struct backend_stage, path) },
};

static const struct schema backend_schema = SCHEMA_OF(backend_fields);

struct load_stage {
	char *snapshot_path;
	char *mem_file_path;
	char *backend_path;
	bool track_dirty_pages;
	bool enable_diff_snapshots;
	bool resume_vm;
	bool clock_realtime;
	int huge_pages;
	json_t *network_overrides; /* checked; applied to the snapshot's configuration */
	json_t *vsock_override;
};

/* The backend's path goes into the load stage, where the strings are taken. */
static int parse_backend(struct schema_ctx *c, json_t *v, void *stage)
{
	struct load_stage *st = stage;
	struct backend_stage b = { 0 };
	int ret = schema_parse(c, v, &backend_schema, &b, NULL);
	if (ret == 0)
		st->backend_path = b.path;
	return ret;
}

/* A non-empty string member of an override object, or NULL after failing c. */
static const char *override_string(struct schema_ctx *c, json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	const char *s = json_string_value(v);
	if (!v)
		schema_fail(c, SCHEMA_AT_VALUE, "missing \"%s\"", key);
	else if (!s || !*s)
		schema_fail(c, SCHEMA_AT_VALUE, "\"%s\" must be a non-empty string", key);
	return s && *s ? s : NULL;
}

/* Whether obj has only the keys given (NULL-terminated); fails c at the first other. */
static bool only_keys(struct schema_ctx *c, json_t *obj, const char *const *keys)
{
	const char *key;
	json_t *v;
	json_object_foreach (obj, key, v) {
		bool known = false;
		for (unsigned int i = 0; keys[i]; i++)
			known |= !strcmp(key, keys[i]);
		if (!known) {
			schema_fail(c, SCHEMA_AT_VALUE, "unknown key \"%s\"", key);
			return false;
		}
	}
	return true;
}

/* [{"iface_id", "host_dev_name"}, ...]: which tap each restored interface opens. */
static int parse_overrides(struct schema_ctx *c, json_t *v, void *stage)
{
	static const char *const keys[] = { "iface_id", "host_dev_name", NULL };
	struct load_stage *st = stage;
	size_t i, j;
	json_t *o;
	if (!json_is_array(v))
		return schema_fail_type(c, v, "an array of {iface_id, host_dev_name}");
	json_array_foreach (v, i, o) {
		if (!json_is_object(o))
			return schema_fail_type(c, o, "an object {iface_id, host_dev_name}");
		const char *id = override_string(c, o, "iface_id");
		if (!id || !override_string(c, o, "host_dev_name") || !only_keys(c, o, keys))
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (!strcmp(id, json_string_value(
						json_object_get(json_array_get(v, j), "iface_id"))))
				return schema_fail(c, SCHEMA_AT_VALUE,
						   "iface_id \"%s\" is overridden twice", id);
	}
	st->network_overrides = json_incref(v);
	return 0;
}

/* {"uds_path"}: where the restored vsock device listens. */
static int parse_vsock_override(struct schema_ctx *c, json_t *v, void *stage)
{
	static const char *const keys[] = { "uds_path", NULL };
	struct load_stage *st = stage;
	if (!json_is_object(v))
		return schema_fail_type(c, v, "an object {uds_path}");
	if (!override_string(c, v, "uds_path") || !only_keys(c, v, keys))
		return -EINVAL;
	st->vsock_override = json_incref(v);
	return 0;
}

static const struct schema_field load_fields[] = {
	{ .name = "snapshot_path",
	  .type = SCHEMA_STRING,
	  .flags = SCHEMA_REQUIRED | SCHEMA_NONEMPTY,
	  .offset = offsetof(struct load_stage, snapshot_path) },
	{ .name = "mem_file_path",
	  .type = SCHEMA_STRING,
	  .flags = SCHEMA_NONEMPTY,
	  .offset = offsetof(struct load_stage, mem_file_path) },
	{ .name = "mem_backend",
	  .type = SCHEMA_CUSTOM,
	  .flags = SCHEMA_OWNS_STR,
	  .offset = offsetof(struct load_stage, backend_path),
	  .parse = parse_backend },
	{ .name = "track_dirty_pages",
	  .type = SCHEMA_BOOL,
	  .offset = offsetof(struct load_stage, track_dirty_pages) },
	{ .name = "enable_diff_snapshots",
	  .type = SCHEMA_BOOL,
	  .offset = offsetof(struct load_stage, enable_diff_snapshots) },
	{ .name = "resume_vm",
	  .type = SCHEMA_BOOL,
	  .offset = offsetof(struct load_stage, resume_vm) },
	{ .name = "clock_realtime",
	  .type = SCHEMA_BOOL,
	  .offset = offsetof(struct load_stage, clock_realtime) },
	{ .name = "huge_pages",
	  .type = SCHEMA_CHOICE,
	  .offset = offsetof(struct load_stage, huge_pages),
	  .choices = load_huge_pages,
	  .supported = 2,
	  .unsupported = "a restored VM runs from its memory file: huge_pages may only be "
			 "\"Snapshot\" or \"None\"" },
	{ .name = "network_overrides", .type = SCHEMA_CUSTOM, .parse = parse_overrides },
	{ .name = "vsock_override", .type = SCHEMA_CUSTOM, .parse = parse_vsock_override },
};

static const struct schema load_schema = SCHEMA_OF(load_fields);

/* Nothing but the logger and metrics has been configured. */
static bool fresh(const struct vmm *vmm)
{
	const struct vm_config *cfg = vmm->cfg;
	struct vm_config def;
	if (vmm->configured || cfg->config_file || cfg->kernel_path || cfg->initrd_path ||
	    cfg->boot_args || cfg->devices.nr)
		return false;
	config_init(&def);
	bool same = cfg->mem_mib == def.mem_mib && cfg->vcpus == def.vcpus &&
		    cfg->backing == def.backing && cfg->thp == def.thp && cfg->acpi == def.acpi &&
		    cfg->mem_merge == def.mem_merge && cfg->share_kernel == def.share_kernel &&
		    cfg->free_page_tables == def.free_page_tables &&
		    cfg->free_zero_pages == def.free_zero_pages &&
		    cfg->track_dirty_pages == def.track_dirty_pages &&
		    memcmp(cfg->devices.settings, def.devices.settings,
			   sizeof(def.devices.settings)) == 0;
	config_free(&def);
	return same;
}

void snapshot_route_load(struct vmm *vmm, struct api_request *req)
{
	struct load_stage st;
	char err[1024];
	if (!device_route_parse(req, &load_schema, &st, sizeof(st)))
		return;
	if (vmm_is_running(vmm)) {
		api_fail(req, HTTP_BAD_REQUEST,
			 "snapshot/load needs a fresh ebb: this one already runs a microVM");
	} else if (!fresh(vmm)) {
		api_fail(req, HTTP_BAD_REQUEST,
			 "snapshot/load must come before any other configuration (only the "
			 "logger and metrics may be set first)");
	} else if (!st.mem_file_path == !st.backend_path) {
		api_fail(req, HTTP_BAD_REQUEST,
			 "give exactly one of mem_backend and mem_file_path (deprecated)");
	} else {
		struct snapshot_load_args a = {
			.snapshot_path = st.snapshot_path,
			.mem_file_path = st.backend_path ? st.backend_path : st.mem_file_path,
			.resume_vm = st.resume_vm,
			.track_dirty_pages = st.track_dirty_pages || st.enable_diff_snapshots,
			.clock_realtime = st.clock_realtime,
			.network_overrides = st.network_overrides,
			.vsock_override = st.vsock_override,
		};
		log_clear_last_error();
		int status = snapshot_load(vmm, &a, err, sizeof(err));
		if (status == 0) {
			api_ok(req, NULL);
		} else {
			api_fail(req, HTTP_BAD_REQUEST, "snapshot/load: %s", err);
			/* Past KVM's objects there is nothing to retry with. */
			if (status == EBB_EXIT_VM_ERROR)
				vm_request_exit(&vmm->vm, status, "snapshot/load failed: %s", err);
		}
	}
	json_decref(st.network_overrides);
	json_decref(st.vsock_override);
	schema_free_strings(&load_schema, &st);
}
