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
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/balloon.h"
#include "devices/virtio/block.h"
#include "seccomp/seccomp.h"
#include "vmm/arch.h"
#include "vmm/boot.h"
#include "vmm/cmdline.h"
#include "vmm/log.h"
#include "vmm/vmm_internal.h"

/* The most APIC ids an MP table can describe, leaving one for the IOAPIC. */
#define MPTABLE_MAX_VCPUS 254
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

static void loop_thread_setup(void *arg)
{
	struct vm *vm = arg;
	pthread_setname_np(pthread_self(), "ebb-events");
	if (vm->cfg->no_seccomp)
		return;
	int ret = seccomp_install(SECCOMP_ROLE_VMM, vm->cfg->level == LOG_DEBUG, NULL);
	if (ret < 0)
		vm_request_exit(vm, EBB_EXIT_VM_ERROR, "event loop: seccomp: %s", strerror(-ret));
}

/*
 * The drives in the order the guest sees them: the root drive first (so it is
 * /dev/vda, as root=/dev/vda says), then the others as configured.
 */
static unsigned int drive_order(const struct vm_config *cfg, unsigned int order[])
{
	unsigned int n = 0;
	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		if (cfg->drives[i].is_root_device)
			order[n++] = i;
	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		if (!cfg->drives[i].is_root_device)
			order[n++] = i;
	return n;
}

/*
 * Device slots in a fixed order (balloon, then drives, the root drive first),
 * so the command line is known early.
 */
static int plan_devices(const struct vm_config *cfg, struct device_slot *slots,
			unsigned int *nr)
{
	*nr = 0;
	if (cfg->balloon.present && vm_device_slot((*nr)++, &slots[0]) < 0)
		return -ENOSPC;
	for (unsigned int i = 0; i < cfg->nr_drives; i++) {
		if (*nr >= VM_MAX_VIRTIO || vm_device_slot(*nr, &slots[*nr]) < 0)
			return -ENOSPC;
		(*nr)++;
	}
	return 0;
}

/* The drives' backing files, opened before any VM exists; fd -1 once handed over. */
struct drive_image {
	unsigned int cfg_index;
	int fd;
	uint64_t sectors;
};

static void close_images(struct drive_image *images, unsigned int nr)
{
	for (unsigned int i = 0; i < nr; i++) {
		if (images[i].fd >= 0)
			close(images[i].fd);
		images[i].fd = -1;
	}
}

static int open_images(const struct vm_config *cfg, struct drive_image *images)
{
	unsigned int order[CONFIG_MAX_DRIVES];
	unsigned int n = drive_order(cfg, order);
	for (unsigned int i = 0; i < n; i++)
		images[i] = (struct drive_image){ .cfg_index = order[i], .fd = -1 };
	for (unsigned int i = 0; i < n; i++) {
		const struct drive_config *d = &cfg->drives[order[i]];
		char err[512];
		if (block_open_image(d->path_on_host, d->is_read_only, &images[i].fd,
				     &images[i].sectors, err, sizeof(err)) < 0) {
			log_err("drive %s: %s", d->drive_id, err);
			close_images(images, n);
			return -EINVAL;
		}
	}
	return 0;
}

static int create_balloon(struct vm *vm, const struct device_slot *slot)
{
	const struct vm_config *cfg = vm->cfg;
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

static int create_block(struct vm *vm, const struct device_slot *slot, struct drive_image *image)
{
	const struct drive_config *d = &vm->cfg->drives[image->cfg_index];
	struct block_params params = {
		.drive_id = d->drive_id,
		.fd = image->fd,
		.sectors = image->sectors,
		.read_only = d->is_read_only,
		.writeback = d->cache_writeback,
	};
	struct block *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	image->fd = -1; /* the device owns it now */
	int ret = block_init(b, &params, &vm->mem, &vm->loop, slot->addr, slot->gsi);
	vm->blocks[vm->nr_blocks++] = b;
	if (ret == 0)
		ret = bus_register(&vm->mmio_bus, slot->addr, slot->size, &virtio_mmio_bus_ops,
				   &b->transport, "virtio-block");
	if (ret == 0)
		ret = virtio_mmio_attach_kvm(&b->transport, vm->vm_fd);
	if (ret < 0)
		log_err("creating drive %s: %s", d->drive_id, strerror(-ret));
	else
		log_info("drive %s: %s, %llu MiB, %s%s%s", d->drive_id, d->path_on_host,
			 (unsigned long long)(image->sectors * BLOCK_SECTOR_SIZE >> 20),
			 d->is_read_only ? "read-only" : "read-write",
			 d->cache_writeback ? ", cache Writeback" : ", cache Unsafe",
			 d->is_root_device ? ", root device" : "");
	return ret;
}

static int check_config(const struct vm_config *cfg)
{
	if (!cfg->kernel_path) {
		log_err("no kernel to boot: set boot-source.kernel_image_path (or --kernel)");
		return -EINVAL;
	}
	if (cfg->mem_mib == 0) {
		log_err("guest memory size must be at least 1 MiB, got 0");
		return -EINVAL;
	}
	if (cfg->balloon.present && cfg->balloon.amount_mib > cfg->mem_mib) {
		log_err("balloon target %u MiB is larger than guest RAM (%u MiB)",
			cfg->balloon.amount_mib, cfg->mem_mib);
		return -ERANGE;
	}
	for (unsigned int i = 0; i < cfg->nr_drives; i++) {
		const char *u = cfg->drives[i].partuuid;
		/* It goes on the kernel command line as one word. */
		if (u && u[strcspn(u, " \t\n\"\\")]) {
			log_err("drive %s: partuuid \"%s\" may not hold blanks, quotes or \\",
				cfg->drives[i].drive_id, u);
			return -EINVAL;
		}
	}
	if (cfg->backing == MEM_BACKING_HUGETLBFS && cfg->mem_mib % 2) {
		log_err("hugetlbfs memory must be a multiple of 2 MiB, got %u MiB", cfg->mem_mib);
		return -EINVAL;
	}
	return 0;
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

/*
 * Everything that can fail because of the configuration, before any VM
 * exists; nothing is left behind on failure, so an API client can fix the
 * configuration and try again.
 */
static int vmm_check(struct vmm *vmm, struct device_slot *slots, unsigned int *nr_slots,
		     struct boot_plan **plan, struct drive_image *images)
{
	struct vm *vm = &vmm->vm;
	struct vm_config *cfg = vm->cfg;
	if (check_config(cfg) < 0)
		return EBB_EXIT_USAGE;
	if (plan_devices(cfg, slots, nr_slots) < 0) {
		log_err("too many devices");
		return EBB_EXIT_USAGE;
	}
	if (open_images(cfg, images) < 0)
		return EBB_EXIT_USAGE;
	free(vm->cmdline);
	vm->cmdline = cmdline_build(cfg, slots, *nr_slots);
	if (!vm->cmdline) {
		log_err("building the kernel command line: out of memory");
		return EBB_EXIT_VM_ERROR;
	}
	if (boot_plan_create(cfg, vm->cmdline, plan) < 0)
		return EBB_EXIT_USAGE;
	if (vm->kvm_fd < 0 && vm_open_kvm(vm) < 0)
		return EBB_EXIT_VM_ERROR;
	if (check_vcpus(vm) < 0)
		return EBB_EXIT_USAGE;
	if (vm_map_memory(vm) < 0)
		return EBB_EXIT_USAGE;
	return 0;
}

static int vmm_create(struct vmm *vmm, const struct device_slot *slots,
		      const struct boot_plan *plan, struct drive_image *images)
{
	struct vm *vm = &vmm->vm;
	struct vm_config *cfg = vm->cfg;
	if (vm_create_kvm(vm) < 0)
		return EBB_EXIT_VM_ERROR;
	if (arch_register_legacy_devices(vm) < 0)
		return EBB_EXIT_VM_ERROR;
	unsigned int next = 0;
	if (cfg->balloon.present && create_balloon(vm, &slots[next++]) < 0)
		return EBB_EXIT_VM_ERROR;
	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		if (create_block(vm, &slots[next++], &images[i]) < 0)
			return EBB_EXIT_VM_ERROR;
	uint64_t entry;
	if (boot_plan_load(vm, plan, &entry) < 0)
		return EBB_EXIT_VM_ERROR;
	if (vcpus_create(vm, entry) < 0)
		return EBB_EXIT_VM_ERROR;
	if (console_init(&vmm->console, &vm->loop, &vm->serial, STDIN_FILENO) < 0 ||
	    watch_signals(vmm, &vm->loop) < 0) {
		log_err("setting up the event loop: %s", strerror(errno));
		return EBB_EXIT_VM_ERROR;
	}
	return 0;
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
	vmm->metrics_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (vmm->metrics_timer_fd < 0)
		return -errno;
	struct itimerspec its = { .it_value = { METRICS_PERIOD_S, 0 },
				  .it_interval = { METRICS_PERIOD_S, 0 } };
	if (timerfd_settime(vmm->metrics_timer_fd, 0, &its, NULL) < 0)
		return -errno;
	return event_loop_add(&vmm->vm.loop, vmm->metrics_timer_fd, EPOLLIN, metrics_timer_fired,
			      vmm, NULL);
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
	struct device_slot slots[VM_MAX_VIRTIO] = { 0 };
	unsigned int nr_slots = 0;
	struct boot_plan *plan = NULL;
	struct drive_image images[CONFIG_MAX_DRIVES];
	for (unsigned int i = 0; i < CONFIG_MAX_DRIVES; i++)
		images[i].fd = -1;

	int status = vmm_check(vmm, slots, &nr_slots, &plan, images);
	if (status == 0)
		status = vmm_create(vmm, slots, plan, images);
	boot_plan_free(plan);
	close_images(images, CONFIG_MAX_DRIVES);
	if (status != 0)
		return status;

	log_info("booting %s: %u vCPU(s), %u MiB (%s), cmdline \"%s\"", cfg->kernel_path,
		 cfg->vcpus, cfg->mem_mib, mem_backing_name(cfg->backing), vm->cmdline);
	if (start_metrics_timer(vmm) < 0 ||
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

static int start_api(struct vmm *vmm)
{
	if (!vmm->api)
		return 0;
	struct vm_config *cfg = vmm->cfg;
	return api_server_start(vmm->api, vmm_api_dispatch, vmm, !cfg->no_seccomp,
				cfg->level == LOG_DEBUG);
}

static void teardown(struct vmm *vmm)
{
	struct vm *vm = &vmm->vm;
	vcpus_stop(vm);
	event_loop_stop(&vm->loop);
	event_loop_join(&vm->loop);
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

int vmm_run(struct vm_config *cfg, const struct timespec *start)
{
	struct vmm *vmm = calloc(1, sizeof(*vmm));
	if (!vmm) {
		log_err("out of memory");
		return EBB_EXIT_VM_ERROR;
	}
	vmm->cfg = cfg;
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

	if (cfg->kernel_path || !vmm->api) {
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
		int ret = seccomp_install(SECCOMP_ROLE_VMM, cfg->level == LOG_DEBUG, NULL);
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
