/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_VM_H
#define EBB_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/bus.h"
#include "base/event_loop.h"
#include "base/memory.h"
#include "devices/conf.h"
#include "vmm/arch.h"
#include "vmm/config/config.h"

/* Exit statuses of the ebb process (documented in ebb --help and docs/). */
#define EBB_EXIT_OK	     0	 /* the guest reset or shut down */
#define EBB_EXIT_USAGE	     1	 /* bad command line or configuration; no VM ran */
#define EBB_EXIT_VM_ERROR    2	 /* KVM or the guest failed: triple fault, internal error */
#define EBB_EXIT_SIGNAL_BASE 128 /* 128 + signal number for SIGTERM, SIGINT, SIGHUP */

struct vm;

/* page_tables.c: KVM's page tables of memory given back, freed now and then. */
struct page_table_trim {
	int timer_fd;
	uint64_t discarded_at_tick; /* bytes_discarded at the last tick, */
	uint64_t discarded_at_trim; /* and at the last trim */
	uint64_t trims;		    /* atomic */
	double first_s, last_s;	    /* since ebb started: when the first and last trim ran */
	unsigned int boot_ticks;
	unsigned int ticks_since_trim;
	bool failed;
};

/* zero_pages.c: guest RAM that holds only zeros, given back when the guest is quiet. */
struct zero_sweep {
	struct mem_zero_sweep mem;
	bool on;
	bool sweeping, scanned;
	uint64_t discarded_at_sweep; /* bytes_discarded when the last sweep ended */
	unsigned int ticks_since_sweep;
	/* Guest RAM resident at the last sample, and the sweep's lowest sample. */
	uint64_t resident_last, resident_low;
	unsigned int steady_ticks; /* samples in a row that found RAM not growing */
	uint64_t given_up;	   /* atomic: sweeps stopped because RAM grew */
	uint64_t sweeps;      /* atomic */
	uint64_t bytes_freed; /* atomic */
	double first_s, last_s; /* since ebb started: when the first and last sweep ended */
};

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	uint64_t exits; /* atomic */
};

struct vm {
	const struct arch *arch;
	struct arch_vm *arch_vm;
	struct vm_config *cfg;
	struct timespec start_time;

	int kvm_fd;
	int vm_fd;
	int run_mmap_size;
	unsigned int max_vcpus;

	struct guest_memory mem;
	bool mem_ready;
	struct page_table_trim table_trim;
	struct zero_sweep zero_sweep;
	struct bus mmio_bus;
	struct event_loop loop;

	unsigned int nr_vcpus;
	struct vcpu *vcpus;

	/* In slot order: what vm_plan_devices() decided. */
	unsigned int nr_devices;
	struct device devices[DEVICE_MAX_CONFS];

	char *cmdline;

	/* Pause (vcpu.c): vCPUs park between two KVM_RUNs while paused is set. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	bool paused; /* atomic */
	unsigned int parked;

	/* Exit: the first request wins; main waits on exit_fd. */
	int exit_fd;
	int exit_code; /* atomic; -1 while running */
	bool stopping; /* atomic */
};

/* Process-level setup that needs no KVM: event loop, exit eventfd. */
int vm_init(struct vm *vm, struct vm_config *cfg, const struct timespec *start);
/* Opens /dev/kvm and reads its limits, without creating a VM. */
int vm_open_kvm(struct vm *vm);
/* Maps guest RAM (the configured size and backing). */
int vm_map_memory(struct vm *vm);
/* The smallest block any configured device gives back; 0 when none does. */
uint64_t vm_smallest_discard(const struct vm_config *cfg);
/*
 * Before the event loop's thread starts: one tick a second for what is
 * given back once the guest is quiet, KVM's page tables (where KVM keeps
 * them) and zero pages.
 */
int vm_start_quiet_tick(struct vm *vm);
/* Seconds since ebb started, for the exit lines. */
double vm_uptime_s(const struct vm *vm);
/* At exit, once the event loop has stopped. */
void vm_log_page_table_trims(const struct vm *vm);
/* zero_pages.c */
int vm_zero_sweep_init(struct vm *vm);
void vm_zero_sweep_destroy(struct vm *vm);
/* On the event loop's thread, from the tick: quiet when nothing was given back since the last. */
void vm_zero_sweep_tick(struct vm *vm, bool quiet, uint64_t discarded);
void vm_log_zero_sweeps(const struct vm *vm);
/* Creates the KVM VM: irqchip, memory slots for the mapped RAM, platform devices. */
int vm_create_kvm(struct vm *vm);
void vm_destroy(struct vm *vm);

/* devices.c: the configured devices, in slot order. */
int vm_plan_devices(struct vm *vm);
/* Before KVM: what each device must open (fails on bad configuration). */
int vm_prepare_devices(struct vm *vm, void **prepared);
void vm_unprepare_devices(struct vm *vm, void **prepared);
/* Creates them on the MMIO bus and wires them into KVM; takes prepared. */
int vm_create_devices(struct vm *vm, void **prepared);
void vm_destroy_devices(struct vm *vm);
/* The kernel command line: boot args, then what the arch and each device type add. */
char *vm_build_cmdline(const struct vm *vm);
/*
 * The syscalls the configured device types and snapshots add to the event
 * loop's filter; extra holds DEVICE_MAX_TYPES + SNAPSHOT_SECCOMP_EXTRAS.
 */
unsigned int vm_seccomp_extras(const struct vm_config *cfg, struct seccomp_extra *extra);

/*
 * Asks the process to stop with this status. Only the first request counts.
 * Safe from any thread.
 */
void vm_request_exit(struct vm *vm, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool vm_exit_requested(const struct vm *vm);

/* vcpu.c */
int vcpus_create(struct vm *vm, uint64_t entry);
/* Starts the vCPU threads; with vm->paused set they park before running the guest. */
int vcpus_start(struct vm *vm);
void vcpus_stop(struct vm *vm);
/*
 * Parks every vCPU outside KVM_RUN with its last exit completed, so its
 * state can be read; returns once all are parked (0) or the VM is stopping
 * (-ESHUTDOWN). Resume lets them run again. Both are idempotent.
 */
int vcpus_pause(struct vm *vm);
void vcpus_resume(struct vm *vm);
bool vcpus_paused(struct vm *vm);

#endif
