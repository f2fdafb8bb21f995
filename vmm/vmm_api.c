// SPDX-License-Identifier: GPL-2.0
/*
 * Firecracker's API routes. vmm_api_dispatch() runs on the API thread and
 * only forwards; everything else here runs on the loop that owns the VM:
 * the main thread before boot, the device event loop after.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/virtio/balloon.h"
#include "devices/virtio/block.h"
#include "vmm/config.h"
#include "vmm/log.h"
#include "vmm/vmm_internal.h"

#define HTTP_OK		   200
#define HTTP_NO_CONTENT	   204
#define HTTP_BAD_REQUEST   400
#define HTTP_NOT_FOUND	   404
#define HTTP_BAD_METHOD	   405
#define HTTP_UNAVAILABLE   503

static bool is_running(struct vmm *vmm)
{
	return __atomic_load_n(&vmm->running, __ATOMIC_ACQUIRE);
}

static void ok(struct api_request *req, json_t *body)
{
	req->status = body ? HTTP_OK : HTTP_NO_CONTENT;
	req->response = body;
}

/* A config parser's verdict: 204, or 400 with its message. */
static void parsed(struct api_request *req, int ret, const struct config_error *err)
{
	if (ret == 0) {
		ok(req, NULL);
		return;
	}
	char msg[700];
	config_error_format(err, NULL, msg, sizeof(msg));
	api_fail(req, HTTP_BAD_REQUEST, "%s", msg);
}

static bool pre_boot_only(struct vmm *vmm, struct api_request *req, const char *what)
{
	if (!is_running(vmm))
		return true;
	api_fail(req, HTTP_BAD_REQUEST,
		 "%s can only be set before the microVM starts (it is running)", what);
	return false;
}

/* ---- instance and actions ---- */

static void get_instance(struct vmm *vmm, struct api_request *req, const char *tail)
{
	ok(req, json_pack("{s:s, s:s, s:s, s:s}", "id", vmm->cfg->id ? vmm->cfg->id : "anonymous-instance",
			  "state", is_running(vmm) ? "Running" : "Not started", "vmm_version",
			  EBB_VERSION, "app_name", "ebb"));
}

static void get_version(struct vmm *vmm, struct api_request *req, const char *tail)
{
	ok(req, json_pack("{s:s}", "firecracker_version", EBB_VERSION));
}

static void start_instance(struct vmm *vmm, struct api_request *req)
{
	if (is_running(vmm)) {
		api_fail(req, HTTP_BAD_REQUEST, "the microVM is already running");
		return;
	}
	log_clear_last_error();
	int status = vmm_boot(vmm);
	if (status == 0) {
		ok(req, NULL);
		return;
	}
	const char *why = log_last_error()[0] ? log_last_error() : "the microVM could not start";
	api_fail(req, HTTP_BAD_REQUEST, "InstanceStart failed: %s", why);
	/* A failure once KVM objects exist leaves nothing to retry with. */
	if (status == EBB_EXIT_VM_ERROR)
		vm_request_exit(&vmm->vm, status, "InstanceStart failed: %s", why);
}

static void put_actions(struct vmm *vmm, struct api_request *req, const char *tail)
{
	json_t *type = json_is_object(req->body) ? json_object_get(req->body, "action_type") : NULL;
	if (!json_is_object(req->body) || json_object_size(req->body) != 1 || !json_is_string(type)) {
		api_fail(req, HTTP_BAD_REQUEST,
			 "the body must be {\"action_type\": \"InstanceStart\"|\"SendCtrlAltDel\"|\"FlushMetrics\"}");
		return;
	}
	const char *action = json_string_value(type);
	if (strcmp(action, "InstanceStart") == 0) {
		start_instance(vmm, req);
	} else if (strcmp(action, "SendCtrlAltDel") == 0) {
		if (!is_running(vmm))
			api_fail(req, HTTP_BAD_REQUEST, "SendCtrlAltDel needs a running microVM");
		else if (i8042_send_ctrl_alt_del(&vmm->vm.i8042) < 0)
			api_fail(req, HTTP_BAD_REQUEST, "the guest is not reading its keyboard");
		else
			ok(req, NULL);
	} else if (strcmp(action, "FlushMetrics") == 0) {
		if (vmm_flush_metrics(vmm) < 0)
			api_fail(req, HTTP_BAD_REQUEST, "no metrics file is configured (PUT /metrics)");
		else
			ok(req, NULL);
	} else {
		api_fail(req, HTTP_BAD_REQUEST,
			 "unknown action_type \"%s\" (InstanceStart, SendCtrlAltDel, FlushMetrics)",
			 action);
	}
}

/* ---- configuration ---- */

static void get_machine_config(struct vmm *vmm, struct api_request *req, const char *tail)
{
	const struct vm_config *cfg = vmm->cfg;
	ok(req, json_pack("{s:i, s:i, s:b, s:b, s:s}", "vcpu_count", (int)cfg->vcpus, "mem_size_mib",
			  (json_int_t)cfg->mem_mib, "smt", 0, "track_dirty_pages", 0, "huge_pages",
			  config_huge_pages(cfg)));
}

static void put_machine_config(struct vmm *vmm, struct api_request *req, const char *tail)
{
	struct config_error err;
	if (pre_boot_only(vmm, req, "machine-config"))
		parsed(req, config_parse_machine_config(req->body, vmm->cfg, &err), &err);
}

static void patch_machine_config(struct vmm *vmm, struct api_request *req, const char *tail)
{
	struct config_error err;
	if (pre_boot_only(vmm, req, "machine-config"))
		parsed(req, config_parse_machine_config_patch(req->body, vmm->cfg, &err), &err);
}

static void put_boot_source(struct vmm *vmm, struct api_request *req, const char *tail)
{
	struct config_error err;
	if (pre_boot_only(vmm, req, "boot-source"))
		parsed(req, config_parse_boot_source(req->body, vmm->cfg, &err), &err);
}

static void put_logger(struct vmm *vmm, struct api_request *req, const char *tail)
{
	struct config_error err;
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
			api_fail(req, HTTP_BAD_REQUEST, "log_path %s: %s", cfg->log_path, strerror(-ret));
			return;
		}
	}
	log_set_level(cfg->level);
	log_set_show_level(cfg->show_level, cfg->show_origin);
	ok(req, NULL);
}

static void put_metrics(struct vmm *vmm, struct api_request *req, const char *tail)
{
	struct config_error err;
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
		ok(req, NULL);
}

static void put_drive(struct vmm *vmm, struct api_request *req, const char *id)
{
	struct config_error err;
	if (pre_boot_only(vmm, req, "a drive"))
		parsed(req, config_parse_drive(req->body, id, vmm->cfg, &err), &err);
}

static struct block *find_block(struct vmm *vmm, const char *drive_id)
{
	for (unsigned int i = 0; i < vmm->vm.nr_blocks; i++)
		if (strcmp(vmm->vm.blocks[i]->drive_id, drive_id) == 0)
			return vmm->vm.blocks[i];
	return NULL;
}

/* After boot, a new path_on_host swaps the drive's backing file, as Firecracker does. */
static void patch_drive(struct vmm *vmm, struct api_request *req, const char *id)
{
	struct config_error err;
	unsigned int index;
	char *path = NULL;
	int ret = config_parse_drive_update(req->body, id, vmm->cfg, &index, &path, &err);
	if (ret < 0) {
		parsed(req, ret, &err);
		return;
	}
	struct drive_config *d = &vmm->cfg->drives[index];
	struct block *b = is_running(vmm) ? find_block(vmm, d->drive_id) : NULL;
	if (!b) {
		api_fail(req, HTTP_BAD_REQUEST,
			 "drive %s can only be updated once the microVM runs (before, use PUT)",
			 d->drive_id);
	} else if (path) {
		char msg[600];
		int fd;
		uint64_t sectors;
		if (block_open_image(path, d->is_read_only, &fd, &sectors, msg, sizeof(msg)) < 0) {
			api_fail(req, HTTP_BAD_REQUEST, "drive %s: %s", d->drive_id, msg);
		} else {
			pthread_mutex_lock(&b->transport.lock);
			block_swap_image(b, fd, sectors);
			pthread_mutex_unlock(&b->transport.lock);
			log_info("drive %s: now %s, %llu MiB", d->drive_id, path,
				 (unsigned long long)(sectors * BLOCK_SECTOR_SIZE >> 20));
			free(d->path_on_host);
			d->path_on_host = path;
			path = NULL;
			ok(req, NULL);
		}
	} else {
		ok(req, NULL); /* nothing to change */
	}
	free(path);
}

/* ---- balloon ---- */

static bool have_balloon(struct vmm *vmm, struct api_request *req)
{
	if (vmm->cfg->balloon.present)
		return true;
	api_fail(req, HTTP_BAD_REQUEST, "no balloon device is configured");
	return false;
}

static void get_balloon(struct vmm *vmm, struct api_request *req, const char *tail)
{
	const struct balloon_config *b = &vmm->cfg->balloon;
	if (have_balloon(vmm, req))
		ok(req, json_pack("{s:I, s:b, s:I, s:b, s:b}", "amount_mib", (json_int_t)b->amount_mib,
				  "deflate_on_oom", b->deflate_on_oom, "stats_polling_interval_s",
				  (json_int_t)b->stats_polling_interval_s, "free_page_reporting",
				  b->free_page_reporting, "free_page_hinting", 0));
}

static void put_balloon(struct vmm *vmm, struct api_request *req, const char *tail)
{
	struct config_error err;
	if (pre_boot_only(vmm, req, "the balloon"))
		parsed(req, config_parse_balloon(req->body, vmm->cfg, &err), &err);
}

static void patch_balloon(struct vmm *vmm, struct api_request *req, const char *tail)
{
	struct config_error err;
	int ret = config_parse_balloon_update(req->body, vmm->cfg, &err);
	if (ret < 0 || !is_running(vmm) || !vmm->vm.balloon) {
		parsed(req, ret, &err);
		return;
	}
	struct balloon *b = vmm->vm.balloon;
	pthread_mutex_lock(&b->transport.lock);
	ret = balloon_set_target(b, vmm->cfg->balloon.amount_mib);
	pthread_mutex_unlock(&b->transport.lock);
	if (ret < 0)
		api_fail(req, HTTP_BAD_REQUEST, "amount_mib: %s", strerror(-ret));
	else
		ok(req, NULL);
}

static void get_balloon_stats(struct vmm *vmm, struct api_request *req, const char *tail)
{
	if (!have_balloon(vmm, req))
		return;
	if (!vmm->cfg->balloon.stats_polling_interval_s) {
		api_fail(req, HTTP_BAD_REQUEST,
			 "balloon statistics are not enabled (stats_polling_interval_s is 0)");
		return;
	}
	struct balloon *b = vmm->vm.balloon;
	if (!is_running(vmm) || !b) {
		api_fail(req, HTTP_BAD_REQUEST, "balloon statistics need a running microVM");
		return;
	}
	pthread_mutex_lock(&b->transport.lock);
	json_t *out = json_pack("{s:I, s:I, s:I, s:I}", "target_pages", (json_int_t)b->num_pages,
				"actual_pages", (json_int_t)b->actual, "target_mib",
				(json_int_t)(b->num_pages / BALLOON_PAGES_PER_MIB), "actual_mib",
				(json_int_t)(b->actual / BALLOON_PAGES_PER_MIB));
	for (unsigned int i = 0; out && i < b->nr_stats; i++) {
		const char *name = balloon_stat_name(b->stats[i].tag);
		/* Unknown tags are kept, under their number. */
		char unknown[24];
		if (!name) {
			snprintf(unknown, sizeof(unknown), "tag_%u", b->stats[i].tag);
			name = unknown;
		}
		json_object_set_new(out, name, json_integer((json_int_t)b->stats[i].value));
	}
	pthread_mutex_unlock(&b->transport.lock);
	ok(req, out);
}

static void patch_balloon_stats(struct vmm *vmm, struct api_request *req, const char *tail)
{
	struct config_error err;
	int ret = config_parse_balloon_stats_update(req->body, vmm->cfg, &err);
	if (ret < 0 || !is_running(vmm) || !vmm->vm.balloon) {
		parsed(req, ret, &err);
		return;
	}
	struct balloon *b = vmm->vm.balloon;
	pthread_mutex_lock(&b->transport.lock);
	ret = balloon_set_stats_interval(b, vmm->cfg->balloon.stats_polling_interval_s);
	pthread_mutex_unlock(&b->transport.lock);
	if (ret < 0)
		api_fail(req, HTTP_BAD_REQUEST, "stats_polling_interval_s: %s", strerror(-ret));
	else
		ok(req, NULL);
}

/* ---- metrics ---- */

json_t *vmm_metrics_json(struct vmm *vmm)
{
	struct vm *vm = &vmm->vm;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t exits = 0;
	for (unsigned int i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		exits += __atomic_load_n(&vm->vcpus[i].exits, __ATOMIC_RELAXED);
	json_t *m = json_pack(
		"{s:I, s:{s:I, s:I}, s:{s:I}, s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I}}",
		"utc_timestamp_ms", (json_int_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, "api",
		"requests", (json_int_t)vmm->api_requests, "errors", (json_int_t)vmm->api_errors,
		"vcpu", "exits", (json_int_t)exits, "bus", "pio_unhandled_reads",
		(json_int_t)vm->pio_bus.unhandled_reads, "pio_unhandled_writes",
		(json_int_t)vm->pio_bus.unhandled_writes, "mmio_unhandled_reads",
		(json_int_t)vm->mmio_bus.unhandled_reads, "mmio_unhandled_writes",
		(json_int_t)vm->mmio_bus.unhandled_writes, "memory", "size_bytes",
		(json_int_t)vm->mem.ram_size, "discarded_bytes",
		(json_int_t)vm->mem.discard_stats.bytes_discarded, "discard_errors",
		(json_int_t)vm->mem.discard_stats.errors);
	if (m && vm->balloon) {
		const struct balloon_counters *c = &vm->balloon->counters;
		json_object_set_new(
			m, "balloon",
			json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				  "reports", (json_int_t)c->reports, "report_ranges",
				  (json_int_t)c->report_ranges, "bytes_reported",
				  (json_int_t)c->bytes_reported, "bytes_discarded",
				  (json_int_t)c->bytes_discarded, "bytes_skipped",
				  (json_int_t)c->bytes_skipped, "inflated_pages",
				  (json_int_t)c->inflated_pages, "deflated_pages",
				  (json_int_t)c->deflated_pages, "inflate_ranges",
				  (json_int_t)c->inflate_ranges, "bad_descriptors",
				  (json_int_t)c->bad_descriptors, "discard_ns", (json_int_t)c->discard_ns,
				  "oom_deflates", (json_int_t)c->oom_deflates, "stats_updates",
				  (json_int_t)c->stats_updates));
	}
	for (unsigned int i = 0; m && i < vm->nr_blocks; i++) {
		const struct block *b = vm->blocks[i];
		const struct block_counters *c = &b->counters;
		char name[80];
		snprintf(name, sizeof(name), "block_%s", b->drive_id);
		json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "requests",
				      (json_int_t)c->requests, "reads", (json_int_t)c->reads,
				      "writes", (json_int_t)c->writes, "flushes",
				      (json_int_t)c->flushes, "read_bytes",
				      (json_int_t)c->read_bytes, "write_bytes",
				      (json_int_t)c->write_bytes);
		json_t *e = json_pack("{s:I, s:I, s:I, s:I, s:I}", "bad_requests",
				      (json_int_t)c->bad_requests, "unsupported",
				      (json_int_t)c->unsupported, "io_errors",
				      (json_int_t)c->io_errors, "unanswered",
				      (json_int_t)c->unanswered, "image_swaps",
				      (json_int_t)c->image_swaps);
		if (o && e)
			json_object_update(o, e);
		json_decref(e);
		json_object_set_new(m, name, o);
	}
	return m;
}

static void get_metrics(struct vmm *vmm, struct api_request *req, const char *tail)
{
	ok(req, vmm_metrics_json(vmm));
}

static void unsupported(struct vmm *vmm, struct api_request *req, const char *tail)
{
	api_fail(req, HTTP_BAD_REQUEST, "ebb does not support %s", req->url);
}

/* ---- routing ---- */

typedef void (*route_fn)(struct vmm *vmm, struct api_request *req, const char *tail);

struct route {
	const char *path; /* ending in '/' matches a prefix; the rest is passed as tail */
	const char *method;
	route_fn fn;
};

static const struct route routes[] = {
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
	{ "/drives/", "PUT", put_drive },
	{ "/drives/", "PATCH", patch_drive },
	{ "/balloon", "GET", get_balloon },
	{ "/balloon", "PUT", put_balloon },
	{ "/balloon", "PATCH", patch_balloon },
	{ "/balloon/statistics", "GET", get_balloon_stats },
	{ "/balloon/statistics", "PATCH", patch_balloon_stats },
	/* Firecracker features ebb does not have: a clear refusal, not a 404. */
	{ "/balloon/hinting/", NULL, unsupported },
	{ "/network-interfaces/", NULL, unsupported },
	{ "/vsock", NULL, unsupported },
	{ "/mmds", NULL, unsupported },
	{ "/mmds/", NULL, unsupported },
	{ "/snapshot/", NULL, unsupported },
	{ "/vm", NULL, unsupported },
	{ "/vm/config", NULL, unsupported },
	{ "/cpu-config", NULL, unsupported },
	{ "/entropy", NULL, unsupported },
	{ "/serial", NULL, unsupported },
	{ "/pmem/", NULL, unsupported },
	{ "/hotplug/memory", NULL, unsupported },
};

/* Returns the tail for a prefix route, "" for an exact match, NULL for no match. */
static const char *match(const struct route *r, const char *url)
{
	size_t n = strlen(r->path);
	if (r->path[n - 1] == '/' && n > 1)
		return strncmp(url, r->path, n) == 0 && url[n] && !strchr(url + n, '/') ? url + n :
											      NULL;
	return strcmp(url, r->path) == 0 ? "" : NULL;
}

void vmm_api_route(struct vmm *vmm, struct api_request *req)
{
	bool path_known = false;
	vmm->api_requests++;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const char *tail = match(&routes[i], req->url);
		if (!tail)
			continue;
		path_known = true;
		if (routes[i].method && strcmp(routes[i].method, req->method) != 0)
			continue;
		routes[i].fn(vmm, req, tail);
		if (req->status >= 400)
			vmm->api_errors++;
		return;
	}
	vmm->api_errors++;
	if (path_known)
		api_fail(req, HTTP_BAD_METHOD, "%s is not allowed on %s", req->method, req->url);
	else
		api_fail(req, HTTP_NOT_FOUND, "no such route: %s %s", req->method, req->url);
}

struct route_call {
	struct vmm *vmm;
	struct api_request *req;
};

static int run_route(void *arg)
{
	struct route_call *call = arg;
	vmm_api_route(call->vmm, call->req);
	return 0;
}

void vmm_api_dispatch(void *ctx, struct api_request *req)
{
	struct vmm *vmm = ctx;
	struct route_call call = { .vmm = vmm, .req = req };
	/* The owning loop changes once, at boot; a call refused by the old one goes to the new. */
	for (int attempt = 0; attempt < 2; attempt++) {
		struct event_loop *loop = __atomic_load_n(&vmm->dispatch, __ATOMIC_ACQUIRE);
		if (!loop)
			break;
		if (event_loop_call(loop, run_route, &call) != -ESHUTDOWN)
			return;
	}
	api_fail(req, HTTP_UNAVAILABLE, "the microVM is shutting down");
}
