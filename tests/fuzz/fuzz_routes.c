// SPDX-License-Identifier: GPL-2.0
/*
 * The API router: routes_handle() with any method, URL and body, the way
 * vmm/api.c hands them over (a body that is not JSON never gets that far),
 * on a microVM that has not started and on one that runs, with a balloon
 * and two drives created on fake guest memory (no KVM). The input is one
 * byte of options, then records separated by a line "%%": "METHOD URL" on
 * the first line, the body after it (none when empty).
 *
 * What would reach outside the process is tamed: a log_path is dropped, a
 * metrics_path becomes /dev/null, a drive's path_on_host the harness's own
 * image (a memfd), and InstanceStart meets an architecture whose
 * boot_check refuses, after the rest of vmm_boot()'s checks ran; snapshot
 * create and load meet one without snapshots, after their bodies parsed.
 *
 * Besides ASan and UBSan: every request gets a status, every error a
 * message, every response body serialises, and an accepted request leaves
 * a configuration that passes every rule.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"
#include "tests/fuzz/support/fuzz_env.h"
#include "tests/fuzz/support/fuzz_input.h"
#include "vmm/config/sections.h"
#include "vmm/routes.h"
#include "vmm/vmm.h"

#define MAX_REQUESTS 16
#define RAM_SIZE     (2ull << 20)

static struct arch fuzz_arch;
static struct vm_config configured; /* a balloon and two drives, before boot */
static struct guest_memory ram;
static char image_path[64];

static int refuse_boot(const struct boot_source *src, const char *cmdline, struct boot_plan **out)
{
	log_err("fuzz: no kernel is ever loaded here");
	return -EINVAL;
}

static int refuse_shutdown(struct arch_vm *a)
{
	return -EBUSY;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_env_init();
	fuzz_arch = host_arch;
	fuzz_arch.boot_check = refuse_boot;
	fuzz_arch.request_shutdown = refuse_shutdown;
	/* No snapshot may write the host's files or build a VM from them. */
	fuzz_arch.vm_save = NULL;
	fuzz_arch.vm_restore = NULL;

	int image = memfd_create("fuzz-routes-image", MFD_CLOEXEC);
	if (image < 0 || ftruncate(image, 1 << 20) < 0)
		fuzz_fail("cannot make the image");
	snprintf(image_path, sizeof(image_path), "/proc/self/fd/%d", image);
	const struct mem_region layout[] = { { .gpa = 0, .size = RAM_SIZE } };
	if (mem_init(&ram, MEM_BACKING_ANON, MEM_THP_NEVER, layout, 1) < 0)
		fuzz_fail("mem_init failed");

	char text[1024];
	snprintf(text, sizeof(text),
		 "{\"boot-source\": {\"kernel_image_path\": \"/nonexistent/vmlinux\"},"
		 " \"balloon\": {\"amount_mib\": 16, \"deflate_on_oom\": true,"
		 "  \"stats_polling_interval_s\": 1, \"free_page_reporting\": true},"
		 " \"drives\": [{\"drive_id\": \"rootfs\", \"path_on_host\": \"%s\","
		 "  \"is_root_device\": true, \"is_read_only\": false},"
		 " {\"drive_id\": \"data\", \"path_on_host\": \"%s\", \"is_root_device\": false,"
		 "  \"is_read_only\": true, \"cache_type\": \"Writeback\"}]}",
		 image_path, image_path);
	struct schema_error err;
	config_init(&configured);
	if (config_load_buffer(text, strlen(text), &configured, &err) < 0)
		fuzz_fail("the harness's own configuration: %s: %s", err.path, err.message);
	return 0;
}

/* The devices of cfg, created as vm_create_devices() would, without KVM. */
static void create_devices(struct vm *vm, struct event_loop *loop)
{
	if (vm_plan_devices(vm) < 0)
		fuzz_fail("vm_plan_devices failed");
	for (unsigned int i = 0; i < vm->nr_devices; i++) {
		struct device *d = &vm->devices[i];
		const struct device_type *t = d->type;
		struct device_create_args args = {
			.conf = vm->cfg->devices.list[d->conf_index].conf,
			.settings = device_settings(&vm->cfg->devices, t),
			.mem = &ram,
			.loop = loop,
			.slot = d->slot,
		};
		if ((t->prepare && t->prepare(args.conf, &args.prepared) < 0) ||
		    t->create(&args, &d->dev) < 0)
			fuzz_fail("creating %s failed", d->name);
	}
}

/* Keeps the request inside the process (see the top of the file). */
static void tame(json_t *body)
{
	if (!json_is_object(body))
		return;
	json_object_del(body, "log_path");
	if (json_is_string(json_object_get(body, "metrics_path")))
		json_object_set_new(body, "metrics_path", json_string("/dev/null"));
	if (json_is_string(json_object_get(body, "path_on_host")))
		json_object_set_new(body, "path_on_host", json_string(image_path));
}

static void check_rules(const struct vm_config *cfg, const char *method, const char *url)
{
	struct schema_error err;
	struct schema_ctx c;
	schema_ctx_init(&c, &err, NULL, 0);
	if (config_check(&c, cfg, -1) < 0)
		fuzz_fail("%s %s was accepted but broke a rule: %s: %s", method, url, err.path,
			  err.message);
	schema_ctx_release(&c);
}

static void request(struct vmm *vmm, char *rec, size_t len)
{
	char *nl = memchr(rec, '\n', len);
	const char *body_text = nl ? nl + 1 : rec + len;
	size_t body_len = rec + len - body_text;
	if (nl)
		*nl = '\0';
	char *url = strchr(rec, ' ');
	if (url)
		*url++ = '\0';
	struct api_request req = { .method = rec, .url = url ? url : "" };
	if (body_len) {
		struct schema_error err;
		req.body = schema_json_load(body_text, body_len, &err);
		if (!req.body) {
			char msg[1024];
			schema_error_format(&err, NULL, msg, sizeof(msg));
			fuzz_trace("%s %s -> 400 bad JSON in the request body: %s", req.method,
				   req.url, msg);
			return; /* api.c answers 400 itself */
		}
		tame(req.body);
	}
	routes_handle(vmm, &req);
	fuzz_trace("%s %s -> %d %s", req.method, req.url, req.status, req.fault);
	json_decref(req.body);
	if (req.status < 200 || req.status > 599)
		fuzz_fail("%s %s: no status (%d)", req.method, req.url, req.status);
	if (req.status >= 400 && !req.fault[0])
		fuzz_fail("%s %s: %d without a message", req.method, req.url, req.status);
	if (req.response) {
		char *text = json_dumps(req.response, JSON_COMPACT);
		if (!text)
			fuzz_fail("%s %s: the response does not serialise", req.method, req.url);
		free(text);
		json_decref(req.response);
	}
	if (req.status < 400)
		check_rules(vmm->cfg, req.method, req.url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in;
	struct vm_config cfg;
	struct event_loop loop;
	fz_init(&in, data, size);
	uint8_t opts = fz_u8(&in);
	fuzz_env_begin(opts & 1);
	bool running = opts & 2;
	if (running || (opts & 4)) {
		if (config_copy(&cfg, &configured) < 0)
			fuzz_fail("config_copy failed");
	} else {
		config_init(&cfg);
	}
	struct vmm *vmm = calloc(1, sizeof(*vmm));
	if (!vmm || event_loop_init(&loop) < 0)
		fuzz_fail("out of memory");
	vmm->cfg = &cfg;
	vmm->vm.arch = &fuzz_arch;
	vmm->vm.cfg = &cfg;
	vmm->vm.kvm_fd = vmm->vm.vm_fd = vmm->vm.exit_fd = -1;
	vmm->metrics_fd = -1;
	if (running) {
		create_devices(&vmm->vm, &loop);
		vmm->running = true;
	}

	char *rec;
	size_t len;
	for (int i = 0; i < MAX_REQUESTS && (rec = fz_record(&in, &len)); i++) {
		request(vmm, rec, len);
		free(rec);
	}

	for (unsigned int i = 0; i < vmm->vm.nr_devices; i++)
		if (vmm->vm.devices[i].dev)
			vmm->vm.devices[i].type->destroy(vmm->vm.devices[i].dev);
	if (vmm->metrics_fd >= 0)
		close(vmm->metrics_fd);
	free(vmm->vm.cmdline);
	free(vmm);
	event_loop_destroy(&loop);
	config_free(&cfg);
	fuzz_env_end();
	return 0;
}
