// SPDX-License-Identifier: GPL-2.0
/*
 * A device type added without touching vmm/: the echo device of
 * tests/unit/echo/ is registered with one line (the registry below, as
 * devices/registry.c would have it), and from then on the config file,
 * the rules, the API router, slot planning, metrics and state all know it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/echo/echo.h"
#include "tests/unit/support/fake_driver.h"
#include "vmm/routes.h"
#include "vmm/vmm.h"

/* ebb's types and one more line: echo. */
static const struct device_type *types[DEVICE_MAX_TYPES];
static struct device_registry registry = { .types = types };

static void register_echo(void)
{
	const struct device_registry *ebb = device_registry();
	for (unsigned int i = 0; i < ebb->nr_types; i++)
		types[registry.nr_types++] = ebb->types[i];
	types[registry.nr_types++] = &echo_device_type;
}

static char *dq(const char *s)
{
	char *t = strdup(s);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	return t;
}

static int load(struct vm_config *cfg, const char *json, struct schema_error *err)
{
	char *text = dq(json);
	int ret = config_load_buffer(text, strlen(text), cfg, err);
	free(text);
	return ret;
}

static const struct echo_conf *echo_conf_of(const struct vm_config *cfg)
{
	int i = device_confs_find(&cfg->devices, &echo_device_type, NULL);
	return i < 0 ? NULL : cfg->devices.list[i].conf;
}

static void test_config_section(void **state)
{
	struct vm_config cfg;
	struct schema_error err;

	/* Without the registry line, "echo" is an unknown key. */
	config_init(&cfg);
	assert_int_equal(load(&cfg, "{'echo': {'greeting': 7}}", &err), -EINVAL);
	assert_non_null(strstr(err.message, "unknown key \"echo\""));
	config_free(&cfg);

	config_init_with(&cfg, &registry);
	assert_int_equal(load(&cfg, "{'echo': {'greeting': 7}}", &err), 0);
	assert_int_equal(echo_conf_of(&cfg)->greeting, 7);

	/* Its schema, with positions, and its rule against the machine. */
	assert_int_equal(load(&cfg, "{\n 'echo': {'greeting': 0}\n}", &err), -EINVAL);
	assert_string_equal(err.path, "echo.greeting");
	assert_int_equal(err.line, 2);
	assert_string_equal(err.message, "must be 1..1000000, got 0");
	assert_int_equal(load(&cfg, "{'echo': {'greeting': 500}}", &err), -EINVAL);
	assert_string_equal(err.path, "echo.greeting");
	assert_string_equal(err.message, "500 is more than the guest's 128 MiB");
	assert_int_equal(echo_conf_of(&cfg)->greeting, 7);
	/* A machine change that breaks its rule is refused too. */
	assert_int_equal(
		load(&cfg, "{'machine-config': {'vcpu_count': 1, 'mem_size_mib': 4}}", &err),
		-EINVAL);
	assert_string_equal(err.path, "echo.greeting");
	assert_int_equal(cfg.mem_mib, 128);
	config_free(&cfg);
}

static int request(struct vmm *vmm, const char *method, const char *url, const char *json,
		   json_t **response)
{
	struct api_request req = { .method = method, .url = url };
	char *text = json ? dq(json) : NULL;
	req.body = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	routes_handle(vmm, &req);
	json_decref(req.body);
	if (response)
		*response = req.response;
	else
		json_decref(req.response);
	if (req.status >= 400)
		print_message("%s %s: %d %s\n", method, url, req.status, req.fault);
	return req.status;
}

static struct vmm *make_vmm(struct vm_config *cfg)
{
	struct vmm *vmm = calloc(1, sizeof(*vmm));
	assert_non_null(vmm);
	vmm->cfg = cfg;
	vmm->vm.arch = &host_arch;
	vmm->vm.cfg = cfg;
	vmm->metrics_fd = -1;
	return vmm;
}

static void test_routes_before_boot(void **state)
{
	struct vm_config cfg;
	json_t *r;
	config_init_with(&cfg, &registry);
	struct vmm *vmm = make_vmm(&cfg);

	assert_int_equal(request(vmm, "GET", "/echo", NULL, NULL), 400);
	/* The generic configuration route every type gets. */
	assert_int_equal(request(vmm, "PUT", "/echo", "{'greeting': 3}", NULL), 204);
	assert_int_equal(request(vmm, "PUT", "/echo", "{'greeting': 'x'}", NULL), 400);
	assert_int_equal(request(vmm, "GET", "/echo", NULL, &r), 200);
	assert_int_equal(json_integer_value(json_object_get(r, "greeting")), 3);
	assert_int_equal(json_integer_value(json_object_get(r, "chains")), -1);
	json_decref(r);
	/* Its own route, through the same rules. */
	assert_int_equal(request(vmm, "PATCH", "/echo", "{'greeting': 9}", NULL), 204);
	assert_int_equal(echo_conf_of(&cfg)->greeting, 9);
	assert_int_equal(request(vmm, "PATCH", "/echo", "{'greeting': 999}", NULL), 400);
	assert_int_equal(echo_conf_of(&cfg)->greeting, 9);
	assert_int_equal(request(vmm, "DELETE", "/echo", NULL, NULL), 405);
	assert_int_equal(request(vmm, "GET", "/echo/more", NULL, NULL), 404);
	/* ebb's own types still route as before. */
	assert_int_equal(request(vmm, "GET", "/balloon", NULL, NULL), 400);
	free(vmm);
	config_free(&cfg);
}

/* Plans, creates and runs the echo device as the VMM would, on a fake driver. */
static void test_running_device(void **state)
{
	struct vm_config cfg;
	struct schema_error err;
	struct fake_driver fd;
	json_t *r;
	config_init_with(&cfg, &registry);
	assert_int_equal(load(&cfg,
			      "{'balloon': {'amount_mib': 0, 'deflate_on_oom': false},"
			      " 'echo': {'greeting': 5}}",
			      &err),
			 0);
	struct vmm *vmm = make_vmm(&cfg);
	struct vm *vm = &vmm->vm;
	assert_int_equal(vm_plan_devices(vm), 0);
	assert_int_equal(vm->nr_devices, 2);
	assert_string_equal(vm->devices[1].name, "echo");
	assert_true(vm->devices[1].slot.addr > vm->devices[0].slot.addr);

	fake_init(&fd);
	struct device *d = &vm->devices[1];
	struct device_create_args args = {
		.conf = echo_conf_of(&cfg), .mem = &fd.mem, .loop = &fd.loop, .slot = d->slot
	};
	assert_int_equal(d->type->create(&args, &d->dev), 0);
	struct echo_dev *e = d->dev;
	fake_attach(&fd, d->type->transport(d->dev));
	assert_int_equal(fake_read_reg(&fd, VIRTIO_MMIO_DEVICE_ID), ECHO_DEVICE_ID);
	assert_true(fake_negotiate(&fd, 1ull << VIRTIO_F_VERSION_1) & VIRTIO_CONFIG_S_FEATURES_OK);
	assert_int_equal(fake_setup_queue(&fd, 0, 16), 1);
	fake_driver_ok(&fd);

	uint64_t in = fake_alloc(&fd, 64, 8), out = fake_alloc(&fd, 64, 8);
	memcpy(fake_ptr(&fd, in, 5), "hello", 5);
	struct fake_buf bufs[] = { { in, 5, false }, { out, 64, true } };
	uint16_t head = fake_add_chain(&fd, 0, bufs, 2);
	fake_kick(&fd, 0);
	uint32_t id, len;
	assert_true(fake_get_used(&fd, 0, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 5);
	assert_memory_equal(fake_ptr(&fd, out, 5), "hello", 5);

	/* Running: its route reads the device, the metrics writer its counters. */
	vm->devices[0].dev = NULL;
	vmm->running = true;
	assert_int_equal(request(vmm, "GET", "/echo", NULL, &r), 200);
	assert_int_equal(json_integer_value(json_object_get(r, "chains")), 1);
	json_decref(r);
	assert_int_equal(request(vmm, "PATCH", "/echo", "{'greeting': 6}", NULL), 204);
	assert_int_equal(e->greeting, 6);
	assert_int_equal(request(vmm, "PUT", "/echo", "{'greeting': 3}", NULL), 400);
	json_t *m = vmm_metrics_json(vmm);
	json_t *em = json_object_get(m, "echo");
	assert_non_null(em);
	assert_int_equal(json_integer_value(json_object_get(em, "chains")), 1);
	assert_int_equal(json_integer_value(json_object_get(em, "bytes")), 5);
	/* The transport's counters come with every virtio device's own. */
	assert_true(json_is_integer(json_object_get(em, "needs_reset_events")));
	assert_true(json_is_integer(json_object_get(em, "budget_deferrals")));
	json_decref(m);

	/* Its state: saved, restored into a new instance, which carries on. */
	struct state_stream s;
	state_writer_init(&s);
	assert_int_equal(d->type->save(d->dev, &s), 0);
	void *copy;
	args.conf = echo_conf_of(&cfg); /* the PATCH made a new configuration */
	assert_int_equal(d->type->create(&args, &copy), 0);
	struct state_stream rd;
	state_reader_init(&rd, s.data, s.len);
	assert_int_equal(d->type->restore(copy, &rd), 0);
	assert_true(state_at_end(&rd));
	assert_int_equal(((struct echo_dev *)copy)->greeting, 6);
	assert_int_equal(((struct echo_dev *)copy)->counters.chains, 1);
	fake_attach(&fd, d->type->transport(copy));
	memcpy(fake_ptr(&fd, in, 3), "abc", 3);
	bufs[0].len = 3;
	fake_add_chain(&fd, 0, bufs, 2);
	fake_kick(&fd, 0);
	assert_true(fake_get_used(&fd, 0, &id, &len));
	assert_int_equal(len, 3);
	assert_int_equal(((struct echo_dev *)copy)->counters.chains, 2);
	state_free(&s);
	d->type->destroy(copy);
	d->type->destroy(d->dev);
	vm->nr_devices = 0;
	fake_destroy(&fd);
	free(vmm);
	config_free(&cfg);
}

int main(void)
{
	register_echo();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_section),
		cmocka_unit_test(test_routes_before_boot),
		cmocka_unit_test(test_running_device),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
