// SPDX-License-Identifier: GPL-2.0
#include "vmm/vm.h"
#include "vmm/kvm_caps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "devices/serial.h"

int vm_init(struct vm *vm, struct vm_config *cfg, const struct timespec *start)
{
	memset(vm, 0, sizeof(*vm));
	vm->arch = &host_arch;
	vm->cfg = cfg;
	vm->start_time = *start;
	vm->kvm_fd = vm->vm_fd = vm->exit_fd = vm->table_trim.timer_fd = -1;
	vm->exit_code = -1;
	bus_init(&vm->mmio_bus, "mmio");
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	vm->exit_fd = eventfd(0, EFD_CLOEXEC);
	if (vm->exit_fd < 0)
		return -errno;
	return event_loop_init(&vm->loop);
}

int vm_open_kvm(struct vm *vm)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int err = -errno;
		log_err("cannot open /dev/kvm: %s", strerror(errno));
		return err;
	}
	int version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		log_err("/dev/kvm speaks API version %d, ebb needs %d", version, KVM_API_VERSION);
		return -ENOTSUP;
	}
	/* PVM answers like KVM, but a stock guest kernel hangs early in its boot. */
	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		log_warn("/dev/kvm is PVM's (kvm_pvm): it boots only guest kernels "
			 "built as PVM guests; others hang early in their boot");
	static const struct kvm_cap_need required[] = {
		KVM_CAP_NEED(KVM_CAP_IRQCHIP),
		KVM_CAP_NEED(KVM_CAP_IOEVENTFD),
		KVM_CAP_NEED(KVM_CAP_IRQFD),
		KVM_CAP_NEED(KVM_CAP_USER_MEMORY),
	};
	int ret = kvm_require_caps(vm->kvm_fd, required, ARRAY_SIZE(required));
	if (ret < 0)
		return ret;
	int max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	vm->max_vcpus = max > 0 ? (unsigned int)max : 1;
	vm->run_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_mmap_size < (int)sizeof(struct kvm_run)) {
		log_err("KVM_GET_VCPU_MMAP_SIZE failed: %s", strerror(errno));
		return -ENOTSUP;
	}
	return vm->arch->probe(vm->kvm_fd, &vm->arch_vm);
}

static int register_memory(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		const struct mem_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region region = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->hva,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
			int err = -errno;
			log_err("KVM_SET_USER_MEMORY_REGION slot %u (gpa 0x%llx, %llu MiB): %s", i,
				(unsigned long long)r->gpa, (unsigned long long)(r->size >> 20),
				strerror(errno));
			return err;
		}
	}
	return 0;
}

uint64_t vm_smallest_discard(const struct vm_config *cfg)
{
	const struct device_registry *r = cfg->devices.registry;
	uint64_t smallest = 0;
	for (unsigned int i = 0; i < r->nr_types; i++) {
		const struct device_type *t = r->types[i];
		const void *confs[DEVICE_MAX_CONFS];
		unsigned int nr = device_confs_of(&cfg->devices, t, confs, NULL);
		uint64_t g = t->discard_granule ?
				     t->discard_granule(device_settings(&cfg->devices, t), confs, nr) :
				     0;
		if (g && (!smallest || g < smallest))
			smallest = g;
	}
	return smallest;
}

/*
 * A guest that gives back blocks smaller than 2 MiB splits the huge pages
 * around them (base/memory.c), and khugepaged would fill the holes back in
 * wherever the balloon cannot guard them, so such RAM gets no THP unless it
 * was asked for.
 */
static enum mem_thp guest_ram_thp(const struct vm_config *cfg)
{
	if (cfg->thp)
		return MEM_THP_ADVISE;
	uint64_t granule = vm_smallest_discard(cfg);
	if (cfg->backing == MEM_BACKING_ANON && granule && granule < MiB(2))
		return MEM_THP_NEVER;
	return MEM_THP_SYSTEM;
}

int vm_map_memory(struct vm *vm)
{
	struct mem_region layout[MEM_MAX_REGIONS];
	uint64_t ram = MiB(vm->cfg->mem_mib);
	unsigned int nr = vm->arch->ram_layout(ram, layout);
	int ret = mem_init(&vm->mem, vm->cfg->backing, guest_ram_thp(vm->cfg), layout, nr);
	if (ret < 0) {
		if (vm->cfg->backing == MEM_BACKING_HUGETLBFS)
			log_err("cannot map %u MiB of guest RAM (hugetlbfs): %s; it needs %u free 2 MiB "
				"pages (see /proc/sys/vm/nr_hugepages)",
				vm->cfg->mem_mib, strerror(-ret), vm->cfg->mem_mib / 2);
		else
			log_err("cannot map %u MiB of guest RAM (%s backing): %s", vm->cfg->mem_mib,
				mem_backing_name(vm->cfg->backing), strerror(-ret));
		return ret;
	}
	vm->mem_ready = true;
	if (!vm->cfg->free_page_tables)
		vm->mem.remap_discards = false;
	if (vm->cfg->mem_merge) {
		ret = mem_advise_mergeable(&vm->mem);
		if (ret < 0) {
			log_err("ebb.memory.merge: MADV_MERGEABLE on guest RAM: %s (no KSM in this kernel?)",
				strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static void guest_exit(void *opaque, const char *why)
{
	vm_request_exit(opaque, EBB_EXIT_OK, "%s", why);
}

int vm_create_kvm(struct vm *vm)
{
	int ret;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		ret = -errno;
		log_err("KVM_CREATE_VM: %s", strerror(errno));
		return ret;
	}
	ret = vm->arch->create_irqchip(vm->arch_vm, vm->vm_fd);
	if (ret == 0)
		ret = register_memory(vm);
	if (ret < 0)
		return ret;
	struct arch_platform platform = {
		.mem = &vm->mem,
		.mmio_bus = &vm->mmio_bus,
		.vm_fd = vm->vm_fd,
		.start_time = &vm->start_time,
		.boot_timer = vm->cfg->boot_timer,
		.guest_exit = guest_exit,
		.opaque = vm,
	};
	return vm->arch->create_platform(vm->arch_vm, &platform);
}

void vm_destroy(struct vm *vm)
{
	if (vm->vcpus) {
		for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
			if (vm->vcpus[i].run)
				munmap(vm->vcpus[i].run, vm->run_mmap_size);
			if (vm->vcpus[i].fd >= 0)
				close(vm->vcpus[i].fd);
		}
		free(vm->vcpus);
		vm->vcpus = NULL;
	}
	vm_destroy_devices(vm);
	event_loop_destroy(&vm->loop);
	if (vm->table_trim.timer_fd >= 0)
		close(vm->table_trim.timer_fd);
	vm_zero_sweep_destroy(vm);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->exit_fd >= 0)
		close(vm->exit_fd);
	if (vm->mem_ready)
		mem_destroy(&vm->mem);
	vm->arch->destroy(vm->arch_vm);
	vm->arch_vm = NULL;
	free(vm->cmdline);
	vm->vm_fd = vm->kvm_fd = vm->exit_fd = vm->table_trim.timer_fd = -1;
}

void vm_request_exit(struct vm *vm, int code, const char *fmt, ...)
{
	int expected = -1;
	if (!__atomic_compare_exchange_n(&vm->exit_code, &expected, code, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;
	char reason[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (code == EBB_EXIT_OK)
		log_info("%s; exiting with status %d", reason, code);
	else
		log_err("%s; exiting with status %d", reason, code);
	uint64_t one = 1;
	ssize_t n = write(vm->exit_fd, &one, sizeof(one));
	(void)n;
}

bool vm_exit_requested(const struct vm *vm)
{
	return __atomic_load_n(&vm->exit_code, __ATOMIC_ACQUIRE) != -1;
}
