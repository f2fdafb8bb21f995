// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU threads: each runs KVM_RUN and sends PIO and MMIO exits to the buses.
 * To stop them, the main thread sets vm->stopping, and for each vCPU sets
 * immediate_exit and sends VCPU_KICK_SIGNAL, so a vCPU both inside and about
 * to enter KVM_RUN comes back out. A pause does the same with vm->paused:
 * each vCPU enters KVM_RUN once more with immediate_exit set, which completes
 * a pending MMIO or port read without running the guest (KVM's rule before
 * reading a vCPU's state), and parks when that returns EINTR.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "seccomp/seccomp.h"
#include "base/log.h"
#include "base/thread.h"
#include "vmm/vm.h"

#define VCPU_KICK_SIGNAL (SIGRTMIN + 0)

static void kick_handler(int sig)
{
	(void)sig; /* only there to interrupt KVM_RUN */
}

int vcpus_create(struct vm *vm, uint64_t entry)
{
	vm->nr_vcpus = vm->cfg->vcpus;
	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].fd = -1;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		v->vm = vm;
		v->id = i;
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, i);
		if (v->fd < 0) {
			int err = -errno;
			log_err("KVM_CREATE_VCPU %u: %s", i, strerror(errno));
			return err;
		}
		v->run = mmap(NULL, vm->run_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			int err = -errno;
			v->run = NULL;
			log_err("mmap kvm_run of vCPU %u: %s", i, strerror(errno));
			return err;
		}
		int ret = vm->arch->vcpu_setup(vm->arch_vm, v->fd, i, vm->nr_vcpus, entry);
		if (ret < 0) {
			log_err("setting up vCPU %u: %s", i, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static void vcpu_fatal(struct vcpu *v, const char *what)
{
	char regs[768];
	v->vm->arch->vcpu_format_regs(v->fd, regs, sizeof(regs));
	vm_request_exit(v->vm, EBB_EXIT_VM_ERROR, "vCPU %u: %s; %s", v->id, what, regs);
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	unsigned int len = run->mmio.len;
	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data);
	if (run->mmio.is_write)
		bus_write(&v->vm->mmio_bus, run->mmio.phys_addr, run->mmio.data, len);
	else
		bus_read(&v->vm->mmio_bus, run->mmio.phys_addr, run->mmio.data, len);
}

/* Returns false when the vCPU must stop. */
static bool handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char what[128];

	if (v->vm->arch->vcpu_exit(v->vm->arch_vm, run))
		return true;
	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		return true;
	case KVM_EXIT_HLT:
		/* The in-kernel LAPIC handles HLT; seeing one means there is nothing left to run. */
		vm_request_exit(v->vm, EBB_EXIT_OK, "vCPU %u halted", v->id);
		return false;
	case KVM_EXIT_SHUTDOWN:
		vcpu_fatal(v, "triple fault (KVM_EXIT_SHUTDOWN)");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm_request_exit(v->vm, EBB_EXIT_OK, "guest shut down");
			return false;
		case KVM_SYSTEM_EVENT_RESET:
			vm_request_exit(v->vm, EBB_EXIT_OK, "guest reset");
			return false;
		default:
			snprintf(what, sizeof(what), "system event %u", run->system_event.type);
			vcpu_fatal(v, what);
			return false;
		}
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof(what), "KVM internal error, suberror %u",
			 run->internal.suberror);
		vcpu_fatal(v, what);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), "VM entry failed, reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vcpu_fatal(v, what);
		return false;
	case KVM_EXIT_INTR:
		return true;
	default:
		snprintf(what, sizeof(what), "unexpected exit reason %u", run->exit_reason);
		vcpu_fatal(v, what);
		return false;
	}
}

/* After a KVM_RUN that returned EINTR: waits here while the VM is paused. */
static void vcpu_park(struct vm *vm)
{
	if (!__atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&vm->pause_lock);
	if (vm->paused && !__atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE)) {
		vm->parked++;
		pthread_cond_broadcast(&vm->pause_cond);
		while (vm->paused && !__atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE))
			pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
		vm->parked--;
	}
	pthread_mutex_unlock(&vm->pause_lock);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;

	sigset_t kick;
	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

	if (!vm->cfg->no_seccomp) {
		int ret = seccomp_install(SECCOMP_ROLE_VCPU, vm->cfg->level == LOG_DEBUG, NULL);
		if (ret < 0) {
			vm_request_exit(vm, EBB_EXIT_VM_ERROR, "vCPU %u: seccomp: %s", v->id,
					strerror(-ret));
			return NULL;
		}
	}

	while (!__atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE))
			__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
		int ret = ioctl(v->fd, KVM_RUN, 0);
		__atomic_add_fetch(&v->exits, 1, __ATOMIC_RELAXED);
		if (ret < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_RELEASE);
				vcpu_park(vm);
				continue;
			}
			char what[128];
			snprintf(what, sizeof(what), "KVM_RUN failed: %s", strerror(errno));
			vcpu_fatal(v, what);
			break;
		}
		if (!handle_exit(v))
			break;
	}
	/*
	 * Where a guest was when ebb stopped: idle, or stuck in a loop of its
	 * own. A stop by a signal is how a hung guest ends (a test's timeout),
	 * so it is logged at any level.
	 */
	bool by_signal = __atomic_load_n(&vm->exit_code, __ATOMIC_ACQUIRE) >= EBB_EXIT_SIGNAL_BASE;
	if (by_signal || log_get_level() >= LOG_DEBUG) {
		char regs[768];
		vm->arch->vcpu_format_regs(v->fd, regs, sizeof(regs));
		log_msg(by_signal ? LOG_INFO : LOG_DEBUG, __FILE__, __LINE__,
			"vCPU %u stopped after %llu exits; %s", v->id,
			(unsigned long long)__atomic_load_n(&v->exits, __ATOMIC_RELAXED), regs);
	}
	return NULL;
}

int vcpus_start(struct vm *vm)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return -errno;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int err = thread_start(&v->thread, vcpu_thread, v);
		if (err) {
			log_err("starting vCPU %u thread: %s", i, strerror(err));
			return -err;
		}
		v->thread_started = true;
		char name[16];
		snprintf(name, sizeof(name), "ebb-vcpu%u", i % 1000);
		pthread_setname_np(v->thread, name);
	}
	return 0;
}

static void kick(struct vcpu *v)
{
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

static unsigned int started(const struct vm *vm)
{
	unsigned int n = 0;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		n += vm->vcpus[i].thread_started;
	return n;
}

int vcpus_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	__atomic_store_n(&vm->paused, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vm->pause_lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].thread_started)
			kick(&vm->vcpus[i]);
	int ret = 0;
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->parked < started(vm)) {
		if (vm_exit_requested(vm)) {
			ret = -ESHUTDOWN;
			break;
		}
		/* A vCPU that died never parks: look at the exit request now and then. */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&vm->pause_cond, &vm->pause_lock, &until);
	}
	pthread_mutex_unlock(&vm->pause_lock);
	return ret;
}

void vcpus_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	__atomic_store_n(&vm->paused, false, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

bool vcpus_paused(struct vm *vm)
{
	return __atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE);
}

void vcpus_stop(struct vm *vm)
{
	__atomic_store_n(&vm->stopping, true, __ATOMIC_RELEASE);
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (v->thread_started)
			kick(v);
	}
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->thread_started)
			continue;
		pthread_join(v->thread, NULL);
		v->thread_started = false;
	}
}
