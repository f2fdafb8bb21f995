/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_VM_H
#define EBB_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "devices/boot_timer.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "vmm/bus.h"
#include "vmm/config.h"
#include "vmm/event_loop.h"
#include "vmm/memory.h"

/* Exit statuses of the ebb process (documented in ebb --help and docs/). */
#define EBB_EXIT_OK	     0	 /* the guest reset or shut down */
#define EBB_EXIT_USAGE	     1	 /* bad command line or configuration; no VM ran */
#define EBB_EXIT_VM_ERROR    2	 /* KVM or the guest failed: triple fault, internal error */
#define EBB_EXIT_SIGNAL_BASE 128 /* 128 + signal number for SIGTERM, SIGINT, SIGHUP */

#define VM_MAX_VIRTIO 32

struct vm;
struct virtio_mmio;
struct balloon;
struct block;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	uint64_t exits; /* atomic */
};

/* A device slot on the MMIO bus and the GSI it interrupts on. */
struct device_slot {
	uint64_t addr;
	uint64_t size;
	unsigned int gsi;
};

struct vm {
	struct vm_config *cfg;
	struct timespec start_time;

	int kvm_fd;
	int vm_fd;
	int run_mmap_size;
	struct kvm_cpuid2 *cpuid;
	bool tsc_deadline;
	unsigned int max_vcpus;

	struct guest_memory mem;
	bool mem_ready;
	struct bus pio_bus;
	struct bus mmio_bus;
	struct event_loop loop;

	unsigned int nr_vcpus;
	struct vcpu *vcpus;

	struct serial serial;
	struct i8042 i8042;
	struct boot_timer boot_timer;
	unsigned int nr_virtio;
	struct virtio_mmio *virtio[VM_MAX_VIRTIO];
	struct balloon *balloon;
	unsigned int nr_blocks;
	struct block *blocks[CONFIG_MAX_DRIVES]; /* in slot order: the root drive first */

	char *cmdline;

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
/* Creates the KVM VM: irqchip, PIT, memory slots for the mapped RAM. */
int vm_create_kvm(struct vm *vm);
void vm_destroy(struct vm *vm);

/* Drive a GSI's level through KVM_IRQ_LINE. */
int vm_irq_line(struct vm *vm, unsigned int gsi, int level);
/* The i-th MMIO device slot (boot timer excluded) and its GSI. */
int vm_device_slot(unsigned int index, struct device_slot *slot);

/*
 * Asks the process to stop with this status. Only the first request counts.
 * Safe from any thread.
 */
void vm_request_exit(struct vm *vm, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool vm_exit_requested(const struct vm *vm);

/* vcpu.c */
int vcpus_create(struct vm *vm, uint64_t entry);
int vcpus_start(struct vm *vm);
void vcpus_stop(struct vm *vm);

#endif
