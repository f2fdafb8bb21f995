// SPDX-License-Identifier: GPL-2.0
/*
 * The snapshot routes' refusals that need no KVM: PATCH /vm and PUT
 * /snapshot/create before a VM runs, bodies Firecracker's schema refuses
 * (an unknown snapshot_type, a Uffd backend, both memory fields, huge_pages
 * other than Snapshot or None, overrides of devices no snapshot has), a
 * load after configuration, and a failed load that leaves ebb fresh so a
 * second load may follow. tests/e2e/25-snapshot.sh covers what needs KVM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/schema.h"
#include "vmm/config/config.h"
#include "vmm/routes.h"
#include "vmm/vmm.h"

struct fixture {
	struct vm_config cfg;
	struct vmm vmm;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	config_init(&f->cfg);
	f->vmm.cfg = &f->cfg;
	f->vmm.vm.arch = &host_arch;
	f->vmm.vm.cfg = &f->cfg;
	f->vmm.vm.kvm_fd = f->vmm.vm.vm_fd = f->vmm.vm.exit_fd = -1;
	f->vmm.metrics_fd = -1;
	f->vmm.vm.exit_code = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	config_free(&f->cfg);
	free(f);
	return 0;
}

/* METHOD URL BODY (JSON, or NULL): the status, and the fault message in *fault. */
static int call(struct fixture *f, const char *method, const char *url, const char *body,
		char *fault, size_t fault_len)
{
	struct api_request req = { .method = method, .url = url };
	if (body) {
		struct schema_error err;
		req.body = schema_json_load(body, strlen(body), &err);
		assert_non_null(req.body);
	}
	routes_handle(&f->vmm, &req);
	json_decref(req.body);
	json_decref(req.response);
	snprintf(fault, fault_len, "%s", req.fault);
	return req.status;
}

static void expect_refusal(struct fixture *f, const char *method, const char *url, const char *body,
			   const char *want)
{
	char fault[512];
	int status = call(f, method, url, body, fault, sizeof(fault));
	if (status != 400 || !strstr(fault, want))
		fail_msg("%s %s %s: %d \"%s\", want 400 with \"%s\"", method, url, body, status,
			 fault, want);
}

#define LOAD(rest) "{\"snapshot_path\": \"/nonexistent/ebb-test.state\", " rest "}"
#define BACKEND \
	"\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"/nonexistent/m\"}"

static void test_not_started(void **state)
{
	struct fixture *f = *state;
	expect_refusal(f, "PATCH", "/vm", "{\"state\": \"Paused\"}", "not running");
	expect_refusal(f, "PATCH", "/vm", "{\"state\": \"Stopped\"}", "Paused");
	expect_refusal(
		f, "PUT", "/snapshot/create",
		"{\"snapshot_path\": \"/nonexistent/s\", \"mem_file_path\": \"/nonexistent/m\"}",
		"has not started");
	expect_refusal(f, "PUT", "/snapshot/create",
		       "{\"snapshot_type\": \"Half\", \"snapshot_path\": \"/nonexistent/s\","
		       " \"mem_file_path\": \"/nonexistent/m\"}",
		       "must be \"Full\" or \"Diff\"");
	expect_refusal(f, "PUT", "/snapshot/create", "{\"snapshot_path\": \"/nonexistent/s\"}",
		       "mem_file_path");
}

static void test_load_bodies(void **state)
{
	struct fixture *f = *state;
	expect_refusal(f, "PUT", "/snapshot/load",
		       LOAD("\"mem_file_path\": \"/nonexistent/m\", " BACKEND),
		       "exactly one of mem_backend and mem_file_path");
	expect_refusal(f, "PUT", "/snapshot/load", LOAD("\"resume_vm\": true"),
		       "exactly one of mem_backend and mem_file_path");
	expect_refusal(
		f, "PUT", "/snapshot/load",
		LOAD("\"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"/x\"}"),
		"\"Uffd\" is not supported");
	expect_refusal(f, "PUT", "/snapshot/load", LOAD(BACKEND ", \"huge_pages\": \"2M\""),
		       "\"Snapshot\" or \"None\"");
	expect_refusal(f, "PUT", "/snapshot/load",
		       LOAD(BACKEND ", \"network_overrides\": {\"iface_id\": \"eth0\"}"),
		       "an array of {iface_id, host_dev_name}");
	expect_refusal(f, "PUT", "/snapshot/load",
		       LOAD(BACKEND ", \"network_overrides\": [{\"iface_id\": \"eth0\"}]"),
		       "missing \"host_dev_name\"");
	expect_refusal(f, "PUT", "/snapshot/load",
		       LOAD(BACKEND ", \"network_overrides\": [{\"iface_id\": \"eth0\","
				    " \"host_dev_name\": \"\"}]"),
		       "\"host_dev_name\" must be a non-empty string");
	expect_refusal(f, "PUT", "/snapshot/load",
		       LOAD(BACKEND ", \"network_overrides\": [{\"iface_id\": \"eth0\","
				    " \"host_dev_name\": \"tap0\", \"mac\": \"x\"}]"),
		       "unknown key \"mac\"");
	expect_refusal(f, "PUT", "/snapshot/load",
		       LOAD(BACKEND ", \"network_overrides\": [{\"iface_id\": \"eth0\","
				    " \"host_dev_name\": \"tap0\"}, {\"iface_id\": \"eth0\","
				    " \"host_dev_name\": \"tap1\"}]"),
		       "iface_id \"eth0\" is overridden twice");
	expect_refusal(f, "PUT", "/snapshot/load", LOAD(BACKEND ", \"vsock_override\": \"/x\""),
		       "an object {uds_path}");
	expect_refusal(f, "PUT", "/snapshot/load",
		       LOAD(BACKEND ", \"vsock_override\": {\"uds_path\": 7}"),
		       "\"uds_path\" must be a non-empty string");
	/* Well-formed overrides pass the parse: the missing state file is what is refused. */
	expect_refusal(f, "PUT", "/snapshot/load",
		       LOAD(BACKEND ", \"network_overrides\": [{\"iface_id\": \"eth0\","
				    " \"host_dev_name\": \"tap0\"}], \"vsock_override\":"
				    " {\"uds_path\": \"/x\"}"),
		       "/nonexistent/ebb-test.state");
}

static void test_failed_load_leaves_it_fresh(void **state)
{
	struct fixture *f = *state;
	/* The file is not there: refused, and the next load is judged on its own. */
	expect_refusal(f, "PUT", "/snapshot/load", LOAD(BACKEND), "/nonexistent/ebb-test.state");
	expect_refusal(f, "PUT", "/snapshot/load", LOAD(BACKEND), "/nonexistent/ebb-test.state");
	assert_int_equal(f->vmm.vm.exit_code, -1); /* ebb goes on: nothing was built */
}

static void test_load_after_configuration(void **state)
{
	struct fixture *f = *state;
	char fault[512];
	assert_int_equal(call(f, "PUT", "/machine-config",
			      "{\"vcpu_count\": 1, \"mem_size_mib\": 256}", fault, sizeof(fault)),
			 204);
	expect_refusal(f, "PUT", "/snapshot/load", LOAD(BACKEND), "before any other configuration");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_not_started, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_bodies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_load_leaves_it_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_after_configuration, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
