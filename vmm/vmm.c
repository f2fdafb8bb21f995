// SPDX-License-Identifier: GPL-2.0
/*
 * The life of one microVM: check everything that can be checked before KVM
 * is touched, build the VM, run the event loop and vCPU threads, and wait
 * for the first exit request (guest reset, fatal vCPU exit or a signal).
 */
#include "vmm/vmm.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "devices/virtio/balloon.h"
#include "seccomp/seccomp.h"
#include "vmm/arch.h"
#include "vmm/boot.h"
#include "vmm/cmdline.h"
#include "vmm/console.h"
#include "vmm/log.h"
#include "vmm/vm.h"

/* The most APIC ids an MP table can describe, leaving one for the IOAPIC. */
#define MPTABLE_MAX_VCPUS 254

struct vmm {
	struct vm vm;
	struct console console;
	int signal_fd;
};

static void on_signal(void *opaque, uint32_t events)
{
	struct vmm *vmm = opaque;
	struct signalfd_siginfo si;
	if (read(vmm->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	vm_request_exit(&vmm->vm, EBB_EXIT_SIGNAL_BASE + si.ssi_signo, "received %s",
			strsignal(si.ssi_signo));
}

static int watch_signals(struct vmm *vmm)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	vmm->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vmm->signal_fd < 0)
		return -errno;
	return event_loop_add(&vmm->vm.loop, vmm->signal_fd, EPOLLIN, on_signal, vmm, NULL);
}

static void loop_thread_setup(void *arg)
{
	struct vm *vm = arg;
	pthread_setname_np(pthread_self(), "ebb-events");
	if (vm->cfg->no_seccomp)
		return;
	int ret = seccomp_install(SECCOMP_ROLE_VMM, vm->cfg->level == LOG_DEBUG);
	if (ret < 0)
		vm_request_exit(vm, EBB_EXIT_VM_ERROR, "event loop: seccomp: %s", strerror(-ret));
}

/* Device slots in a fixed order (balloon, then drives), so the command line is known early. */
static int plan_devices(const struct vm_config *cfg, struct device_slot *slots,
			unsigned int *nr)
{
	*nr = 0;
	if (cfg->balloon.present && vm_device_slot((*nr)++, &slots[0]) < 0)
		return -ENOSPC;
	return 0;
}

static int create_balloon(struct vm *vm, const struct device_slot *slot)
{
	const struct vm_config *cfg = vm->cfg;
	if (cfg->balloon.amount_mib > cfg->mem_mib) {
		log_err("balloon target %u MiB is larger than guest RAM (%u MiB)",
			cfg->balloon.amount_mib, cfg->mem_mib);
		return -ERANGE;
	}
	struct balloon_params params = {
		.target_mib = cfg->balloon.amount_mib,
		.deflate_on_oom = cfg->balloon.deflate_on_oom,
		.stats_interval_s = cfg->balloon.stats_polling_interval_s,
		.reporting = cfg->balloon.free_page_reporting,
		.reporting_queue_size = cfg->reporting_queue_size,
	};
	vm->balloon = calloc(1, sizeof(*vm->balloon));
	if (!vm->balloon)
		return -ENOMEM;
	int ret = balloon_init(vm->balloon, &params, &vm->mem, &vm->loop, slot->addr, slot->gsi);
	if (ret == 0)
		ret = bus_register(&vm->mmio_bus, slot->addr, slot->size, &virtio_mmio_bus_ops,
				   &vm->balloon->transport, "virtio-balloon");
	if (ret == 0)
		ret = virtio_mmio_attach_kvm(&vm->balloon->transport, vm->vm_fd);
	if (ret < 0)
		log_err("creating the balloon: %s", strerror(-ret));
	return ret;
}

static int check_vcpus(const struct vm *vm)
{
	unsigned int limit = vm->max_vcpus < MPTABLE_MAX_VCPUS ? vm->max_vcpus : MPTABLE_MAX_VCPUS;
	if (vm->cfg->vcpus == 0 || vm->cfg->vcpus > limit) {
		log_err("%u vCPUs requested; this host allows 1 to %u", vm->cfg->vcpus, limit);
		return -EINVAL;
	}
	return 0;
}

/* Everything up to a runnable VM. Returns an EBB_EXIT_* status on failure, 0 on success. */
static int vmm_build(struct vmm *vmm, struct boot_plan **plan)
{
	struct vm *vm = &vmm->vm;
	struct vm_config *cfg = vm->cfg;

	if (cfg->mem_mib == 0) {
		log_err("guest memory size must be at least 1 MiB, got 0");
		return EBB_EXIT_USAGE;
	}
	struct device_slot slots[VM_MAX_VIRTIO] = { 0 };
	unsigned int nr_slots = 0;
	if (plan_devices(cfg, slots, &nr_slots) < 0) {
		log_err("too many devices");
		return EBB_EXIT_USAGE;
	}
	vm->cmdline = cmdline_build(cfg, slots, nr_slots);
	if (!vm->cmdline) {
		log_err("building the kernel command line: out of memory");
		return EBB_EXIT_VM_ERROR;
	}
	if (boot_plan_create(cfg, vm->cmdline, plan) < 0)
		return EBB_EXIT_USAGE;
	if (vm_open_kvm(vm) < 0)
		return EBB_EXIT_VM_ERROR;
	if (check_vcpus(vm) < 0)
		return EBB_EXIT_USAGE;

	int ret = vm_create_kvm(vm);
	if (ret < 0)
		return vm->mem_ready ? EBB_EXIT_VM_ERROR : EBB_EXIT_USAGE;
	if (arch_register_legacy_devices(vm) < 0)
		return EBB_EXIT_VM_ERROR;
	if (cfg->balloon.present && create_balloon(vm, &slots[0]) < 0)
		return EBB_EXIT_VM_ERROR;

	uint64_t entry;
	if (boot_plan_load(vm, *plan, &entry) < 0)
		return EBB_EXIT_VM_ERROR;
	if (vcpus_create(vm, entry) < 0)
		return EBB_EXIT_VM_ERROR;
	if (console_init(&vmm->console, &vm->loop, &vm->serial, STDIN_FILENO) < 0 ||
	    watch_signals(vmm) < 0) {
		log_err("setting up the event loop: %s", strerror(errno));
		return EBB_EXIT_VM_ERROR;
	}
	log_info("booting %s: %u vCPU(s), %u MiB (%s), cmdline \"%s\"", cfg->kernel_path,
		 cfg->vcpus, cfg->mem_mib, mem_backing_name(cfg->backing), vm->cmdline);
	return 0;
}

static int wait_for_exit(struct vm *vm)
{
	uint64_t v;
	while (read(vm->exit_fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
	return __atomic_load_n(&vm->exit_code, __ATOMIC_ACQUIRE);
}

int vmm_run(struct vm_config *cfg, const struct timespec *start)
{
	struct vmm *vmm = calloc(1, sizeof(*vmm));
	if (!vmm) {
		log_err("out of memory");
		return EBB_EXIT_VM_ERROR;
	}
	vmm->signal_fd = -1;
	vmm->console.saved_flags = -1;
	vmm->console.space_fd = -1;
	struct vm *vm = &vmm->vm;
	struct boot_plan *plan = NULL;
	int status;

	if (vm_init(vm, cfg, start) < 0) {
		log_err("initialising: %s", strerror(errno));
		free(vmm);
		return EBB_EXIT_VM_ERROR;
	}

	status = vmm_build(vmm, &plan);
	boot_plan_free(plan);
	if (status != 0)
		goto out;

	if (event_loop_start_thread(&vm->loop, loop_thread_setup, vm) < 0 ||
	    vcpus_start(vm) < 0) {
		vm_request_exit(vm, EBB_EXIT_VM_ERROR, "cannot start threads");
	} else if (!cfg->no_seccomp) {
		/* Setup is over: from here the main thread only waits and tears down. */
		int ret = seccomp_install(SECCOMP_ROLE_VMM, cfg->level == LOG_DEBUG);
		if (ret < 0)
			vm_request_exit(vm, EBB_EXIT_VM_ERROR, "main thread: seccomp: %s",
					strerror(-ret));
	} else {
		log_warn("seccomp is OFF (--no-seccomp): a compromised device could make any syscall");
	}
	status = wait_for_exit(vm);

	vcpus_stop(vm);
	event_loop_stop(&vm->loop);
	event_loop_join(&vm->loop);
out:
	console_restore(&vmm->console);
	if (vmm->signal_fd >= 0)
		close(vmm->signal_fd);
	vm_destroy(vm);
	free(vmm);
	return status;
}
