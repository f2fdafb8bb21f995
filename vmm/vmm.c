// SPDX-License-Identifier: GPL-2.0
/*
 * The life of one microVM: check everything that can be checked before KVM
 * is touched, build the VM, run the event loop and vCPU threads, and wait
 * for the first exit request (guest reset, fatal vCPU exit or a signal).
 * With an API socket and nothing to boot yet, wait to be configured first.
 */
#include "vmm/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "devices/serial.h"
#include "seccomp/seccomp.h"

/* Firecracker writes metrics every 60 s. */
#define METRICS_PERIOD_S 60

/* ---- signals ---- */

static void on_signal(void *opaque, uint32_t events)
{
	struct vmm *vmm = opaque;
	struct signalfd_siginfo si;
	if (read(vmm->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	vm_request_exit(&vmm->vm, EBB_EXIT_SIGNAL_BASE + si.ssi_signo, "received %s",
			strsignal(si.ssi_signo));
}

static int watch_signals(struct vmm *vmm, struct event_loop *loop)
{
	if (vmm->signal_fd < 0) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGHUP);
		vmm->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
		if (vmm->signal_fd < 0)
			return -errno;
	}
	if (vmm->signal_src)
		event_loop_remove(vmm->signal_loop, vmm->signal_src);
	vmm->signal_loop = loop;
	return event_loop_add(loop, vmm->signal_fd, EPOLLIN, on_signal, vmm, &vmm->signal_src);
}

/* ---- building the VM ---- */

/* The vmm role's filter, with the rows of every configured device type. */
static int install_vmm_filter(const struct vm_config *cfg)
{
	struct seccomp_extra extra[DEVICE_MAX_TYPES + SNAPSHOT_SECCOMP_EXTRAS];
	struct seccomp_params params = { .api_socket_dir_fd = -1, .extra = extra };
	params.nr_extra = vm_seccomp_extras(cfg, extra);
	return seccomp_install(SECCOMP_ROLE_VMM, cfg->level == LOG_DEBUG, &params);
}

static void loop_thread_setup(void *arg)
{
	struct vm *vm = arg;
	pthread_setname_np(pthread_self(), "ebb-events");
	if (vm->cfg->no_seccomp)
		return;
	int ret = install_vmm_filter(vm->cfg);
	if (ret < 0)
		vm_request_exit(vm, EBB_EXIT_VM_ERROR, "event loop: seccomp: %s", strerror(-ret));
}

static int check_config(const struct vm_config *cfg)
{
	if (!cfg->kernel_path) {
		log_err("no kernel to boot: set boot-source.kernel_image_path (or --kernel)");
		return -EINVAL;
	}
	return 0;
}

static int check_vcpus(const struct vm *vm)
{
	unsigned int limit = vm->max_vcpus < vm->arch->max_vcpus ? vm->max_vcpus : vm->arch->max_vcpus;
	if (vm->cfg->vcpus == 0 || vm->cfg->vcpus > limit) {
		log_err("%u vCPUs requested; this host allows 1 to %u", vm->cfg->vcpus, limit);
		return -EINVAL;
	}
	return 0;
}

/*
 * Everything that can fail because of the configuration, before any VM
 * exists; nothing is left behind on failure, so an API client can fix the
 * configuration and try again.
 */
static int vmm_check(struct vmm *vmm, struct boot_plan **plan, void **prepared)
{
	struct vm *vm = &vmm->vm;
	struct vm_config *cfg = vm->cfg;
	if (check_config(cfg) < 0 || vm_plan_devices(vm) < 0)
		return EBB_EXIT_USAGE;
	if (vm_prepare_devices(vm, prepared) < 0)
		return EBB_EXIT_USAGE;
	free(vm->cmdline);
	vm->cmdline = vm_build_cmdline(vm);
	if (!vm->cmdline) {
		log_err("building the kernel command line: out of memory");
		return EBB_EXIT_VM_ERROR;
	}
	struct device_slot slots[DEVICE_MAX_CONFS];
	for (unsigned int i = 0; i < vm->nr_devices; i++)
		slots[i] = vm->devices[i].slot;
	struct boot_source src = { .kernel_path = cfg->kernel_path,
				   .initrd_path = cfg->initrd_path,
				   .ram_size = MiB(cfg->mem_mib),
				   .nr_vcpus = cfg->vcpus,
				   .slots = slots,
				   .nr_slots = vm->nr_devices,
				   .acpi = cfg->acpi,
				   .share_kernel = cfg->share_kernel };
	if (vm->arch->boot_check(&src, vm->cmdline, plan) < 0)
		return EBB_EXIT_USAGE;
	if (vm->kvm_fd < 0 && vm_open_kvm(vm) < 0)
		return EBB_EXIT_VM_ERROR;
	if (check_vcpus(vm) < 0)
		return EBB_EXIT_USAGE;
	if (vm_map_memory(vm) < 0)
		return EBB_EXIT_USAGE;
	return 0;
}

static int vmm_create(struct vmm *vmm, const struct boot_plan *plan, void **prepared)
{
	struct vm *vm = &vmm->vm;
	struct device_slot slots[DEVICE_MAX_CONFS];
	if (vm_create_kvm(vm) < 0)
		return EBB_EXIT_VM_ERROR;
	for (unsigned int i = 0; i < vm->nr_devices; i++)
		slots[i] = vm->devices[i].slot; /* planned by vm_plan_devices() */
	struct boot_devices devs = { .cmdline = vm->cmdline,
				     .slots = slots,
				     .nr_slots = vm->nr_devices };
	uint64_t entry;
	if (vm->arch->boot_load(plan, vm->arch_vm, &vm->mem, &devs, &entry) < 0)
		return EBB_EXIT_VM_ERROR;
	if (vcpus_create(vm, entry) < 0)
		return EBB_EXIT_VM_ERROR;
	if (vm->arch->vcpus_created && vm->arch->vcpus_created(vm->arch_vm, vm->nr_vcpus) < 0)
		return EBB_EXIT_VM_ERROR;
	/* After the vCPUs: arm64 KVM takes irqfds only once its vGIC is initialised. */
	if (vm_create_devices(vm, prepared) < 0)
		return EBB_EXIT_VM_ERROR;
	return vmm_attach_loop(vmm);
}

int vmm_attach_loop(struct vmm *vmm)
{
	struct vm *vm = &vmm->vm;
	if (console_init(&vmm->console, &vm->loop, vm->arch->console(vm->arch_vm), STDIN_FILENO) <
		    0 ||
	    watch_signals(vmm, &vm->loop) < 0) {
		log_err("setting up the event loop: %s", strerror(errno));
		return EBB_EXIT_VM_ERROR;
	}
	return snapshot_attach(vmm) < 0 ? EBB_EXIT_VM_ERROR : 0;
}

/* ---- metrics ---- */

static void metrics_timer_fired(void *opaque, uint32_t events)
{
	struct vmm *vmm = opaque;
	uint64_t n;
	if (read(vmm->metrics_timer_fd, &n, sizeof(n)) == sizeof(n))
		vmm_flush_metrics(vmm);
}

static int start_metrics_timer(struct vmm *vmm)
{
	if (vmm->metrics_fd < 0)
		return 0;
	return event_loop_add_periodic(&vmm->vm.loop, METRICS_PERIOD_S, metrics_timer_fired, vmm,
				       &vmm->metrics_timer_fd);
}

int vmm_flush_metrics(struct vmm *vmm)
{
	if (vmm->metrics_fd < 0)
		return -ENOENT;
	json_t *m = vmm_metrics_json(vmm);
	char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;
	json_decref(m);
	if (!text)
		return -ENOMEM;
	size_t len = strlen(text);
	text[len] = '\n';
	ssize_t w = write(vmm->metrics_fd, text, len + 1);
	free(text);
	return w == (ssize_t)(len + 1) ? 0 : -EIO;
}

/* ---- booting ---- */

int vmm_boot(struct vmm *vmm)
{
	struct vm *vm = &vmm->vm;
	struct vm_config *cfg = vm->cfg;
	struct boot_plan *plan = NULL;
	void *prepared[DEVICE_MAX_CONFS] = { NULL };

	int status = vmm_check(vmm, &plan, prepared);
	if (status == 0)
		status = vmm_create(vmm, plan, prepared);
	if (plan)
		vm->arch->boot_free(plan);
	vm_unprepare_devices(vm, prepared);
	if (status != 0) {
		/* Nothing is left behind, so an API client may fix the config and retry. */
		if (status == EBB_EXIT_USAGE)
			vm_destroy_devices(vm);
		return status;
	}

	log_info("booting %s: %u vCPU(s), %u MiB (%s), cmdline \"%s\"", cfg->kernel_path,
		 cfg->vcpus, cfg->mem_mib, mem_backing_name(cfg->backing), vm->cmdline);
	return vmm_start_threads(vmm);
}

int vmm_start_threads(struct vmm *vmm)
{
	struct vm *vm = &vmm->vm;
	if (start_metrics_timer(vmm) < 0 || vm_start_quiet_tick(vm) < 0 ||
	    event_loop_start_thread(&vm->loop, loop_thread_setup, vm) < 0 || vcpus_start(vm) < 0) {
		log_err("starting the VM's threads: %s", strerror(errno));
		return EBB_EXIT_VM_ERROR;
	}
	__atomic_store_n(&vmm->dispatch, &vm->loop, __ATOMIC_RELEASE);
	__atomic_store_n(&vmm->running, true, __ATOMIC_RELEASE);
	return 0;
}

/* Before boot, with only an API socket: answer requests until InstanceStart or a signal. */
static int wait_to_be_configured(struct vmm *vmm)
{
	struct vm *vm = &vmm->vm;
	if (event_loop_init(&vmm->ctl) < 0 || watch_signals(vmm, &vmm->ctl) < 0) {
		log_err("setting up the control loop: %s", strerror(errno));
		return EBB_EXIT_VM_ERROR;
	}
	vmm->ctl_ready = true;
	/* This thread runs the control loop itself, so requests may be queued from now on. */
	__atomic_store_n(&vmm->ctl.running, true, __ATOMIC_RELEASE);
	__atomic_store_n(&vmm->dispatch, &vmm->ctl, __ATOMIC_RELEASE);
	log_info("waiting for configuration on the API socket %s", vm->cfg->api_sock);
	while (!__atomic_load_n(&vmm->running, __ATOMIC_ACQUIRE) && !vm_exit_requested(vm)) {
		if (event_loop_run_once(&vmm->ctl, -1) < 0)
			break;
	}
	/* A request queued after the last wakeup (a signal ended it) would wait for ever. */
	event_loop_close_calls(&vmm->ctl);
	return 0;
}

static int wait_for_exit(struct vm *vm)
{
	uint64_t v;
	while (read(vm->exit_fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
	return __atomic_load_n(&vm->exit_code, __ATOMIC_ACQUIRE);
}

int vmm_open_metrics(struct vmm *vmm)
{
	if (!vmm->cfg->metrics_path)
		return 0;
	vmm->metrics_fd = open(vmm->cfg->metrics_path,
			       O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
	if (vmm->metrics_fd < 0) {
		log_err("metrics file %s: %s", vmm->cfg->metrics_path, strerror(errno));
		return -errno;
	}
	return 0;
}

bool vmm_is_running(struct vmm *vmm)
{
	return __atomic_load_n(&vmm->running, __ATOMIC_ACQUIRE);
}

struct route_call {
	struct vmm *vmm;
	struct api_request *req;
};

static int run_route(void *arg)
{
	struct route_call *call = arg;
	call->vmm->route(call->vmm, call->req);
	return 0;
}

/* On the API thread: hands a request to the loop that owns the VM and waits. */
static void dispatch(void *ctx, struct api_request *req)
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

static int start_api(struct vmm *vmm)
{
	if (!vmm->api)
		return 0;
	struct vm_config *cfg = vmm->cfg;
	return api_server_start(vmm->api, dispatch, vmm, !cfg->no_seccomp,
				cfg->level == LOG_DEBUG);
}

static void teardown(struct vmm *vmm)
{
	struct vm *vm = &vmm->vm;
	vcpus_stop(vm);
	event_loop_stop(&vm->loop);
	event_loop_join(&vm->loop);
	vm_log_page_table_trims(vm);
	vm_log_zero_sweeps(vm);
	if (vmm->metrics_fd >= 0) {
		vmm_flush_metrics(vmm);
		close(vmm->metrics_fd);
	}
	if (vmm->metrics_timer_fd >= 0)
		close(vmm->metrics_timer_fd);
	/* The API thread stops after the VM, so late requests are refused, not lost. */
	api_server_destroy(vmm->api);
	console_restore(&vmm->console);
	if (vmm->signal_fd >= 0)
		close(vmm->signal_fd);
	if (vmm->ctl_ready)
		event_loop_destroy(&vmm->ctl);
	vm_destroy(vm);
}

int vmm_run(struct vm_config *cfg, const struct timespec *start, vmm_route_fn route)
{
	struct vmm *vmm = calloc(1, sizeof(*vmm));
	if (!vmm) {
		log_err("out of memory");
		return EBB_EXIT_VM_ERROR;
	}
	vmm->cfg = cfg;
	vmm->route = route;
	vmm->signal_fd = vmm->metrics_fd = vmm->metrics_timer_fd = -1;
	vmm->console.saved_flags = -1;
	vmm->console.space_fd = -1;
	struct vm *vm = &vmm->vm;
	int status = 0;

	if (vm_init(vm, cfg, start) < 0) {
		log_err("initialising: %s", strerror(errno));
		free(vmm);
		return EBB_EXIT_VM_ERROR;
	}
	if (cfg->api_sock && !cfg->no_api) {
		char err[256];
		if (api_server_create(cfg->api_sock, &vmm->api, err, sizeof(err)) < 0) {
			log_err("%s", err);
			status = EBB_EXIT_USAGE;
			goto out;
		}
	}
	if (vmm_open_metrics(vmm) < 0) {
		status = EBB_EXIT_USAGE;
		goto out;
	}

	if (cfg->restore_path) {
		status = snapshot_restore_cli(vmm);
		if (status == 0 && start_api(vmm) < 0)
			status = EBB_EXIT_VM_ERROR;
	} else if (cfg->kernel_path || !vmm->api) {
		status = vmm_boot(vmm);
		if (status == 0 && start_api(vmm) < 0)
			status = EBB_EXIT_VM_ERROR;
	} else if (start_api(vmm) < 0) {
		status = EBB_EXIT_VM_ERROR;
	} else {
		status = wait_to_be_configured(vmm);
	}
	if (status != 0 || !__atomic_load_n(&vmm->running, __ATOMIC_ACQUIRE)) {
		if (status == 0)
			status = __atomic_load_n(&vm->exit_code, __ATOMIC_ACQUIRE);
		goto out;
	}

	if (!cfg->no_seccomp) {
		/* Setup is over: from here the main thread only waits and tears down. */
		int ret = install_vmm_filter(cfg);
		if (ret < 0)
			vm_request_exit(vm, EBB_EXIT_VM_ERROR, "main thread: seccomp: %s",
					strerror(-ret));
	} else {
		log_warn("seccomp is OFF (--no-seccomp): a compromised device could make any syscall");
	}
	status = wait_for_exit(vm);
out:
	teardown(vmm);
	free(vmm);
	return status < 0 ? EBB_EXIT_VM_ERROR : status;
}
