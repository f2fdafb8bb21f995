/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_ARCH_H
#define EBB_ARCH_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "base/bus.h"
#include "base/memory.h"
#include "base/state.h"
#include "devices/device.h"

/*
 * What the generic VM code asks of an architecture. Each one lives in
 * vmm/arch/<arch>/ and defines host_arch; CMake compiles only the host's.
 * Nothing outside that folder knows a register, a port or a boot table.
 */

struct arch_vm; /* the architecture's own state of one VM */
struct boot_plan;
struct serial;

/* What the VM lends the architecture's platform devices. */
struct arch_platform {
	struct guest_memory *mem;
	struct bus *mmio_bus;
	int vm_fd;
	const struct timespec *start_time; /* for the boot timer */
	bool boot_timer;
	/* The guest reset or powered off: ebb ends with status 0. */
	void (*guest_exit)(void *opaque, const char *why);
	void *opaque;
};

/* Where the kernel comes from, and the machine it must fit. */
struct boot_source {
	const char *kernel_path;
	const char *initrd_path;
	uint64_t ram_size;
	unsigned int nr_vcpus;
	/* The device slots, and whether firmware tables (ACPI) describe them. */
	const struct device_slot *slots;
	unsigned int nr_slots;
	bool acpi;
	/* ebb.memory.share_kernel: the kernel's pages mapped from its file, not copied. */
	bool share_kernel;
};

/* What the guest is told at boot besides the kernel: its command line and devices. */
struct boot_devices {
	const char *cmdline;
	const struct device_slot *slots;
	unsigned int nr_slots;
};

struct arch {
	const char *name;
	/* The most vCPUs the architecture's boot tables can describe. */
	unsigned int max_vcpus;
	/*
	 * Where KVM keeps the page tables of guest memory given back (it empties
	 * them) until any memory slot is deleted, a guest-physical page that no
	 * RAM or device uses: a slot made there and deleted frees them. 0 where
	 * KVM frees them with the memory.
	 */
	uint64_t spare_slot_gpa;

	/* Checks KVM for what the architecture needs; makes its per-VM state. */
	int (*probe)(int kvm_fd, struct arch_vm **out);
	void (*destroy)(struct arch_vm *a);

	/* Guest RAM regions for ram_size bytes; returns how many. */
	unsigned int (*ram_layout)(uint64_t ram_size, struct mem_region *regions);
	/* The i-th device slot (MMIO window and interrupt); -ENOSPC past the last. */
	int (*device_slot)(unsigned int index, struct device_slot *slot);

	/* Interrupt controllers, timers and helper pages; before any vCPU. */
	int (*create_irqchip)(struct arch_vm *a, int vm_fd);
	/* Optional: once every vCPU exists (arm64's vGIC is initialised then). */
	int (*vcpus_created)(struct arch_vm *a, unsigned int nr_vcpus);
	/* The console UART, the reset path and the boot timer. */
	int (*create_platform)(struct arch_vm *a, const struct arch_platform *p);
	struct serial *(*console)(struct arch_vm *a);
	/* Asks the guest to shut down (Ctrl+Alt+Del on x86); -ENOTSUP, -EBUSY. */
	int (*request_shutdown)(struct arch_vm *a);
	/* The port I/O bus, for its counters; NULL where there is none. */
	const struct bus *(*io_bus)(const struct arch_vm *a);

	/* How devices are announced on the kernel command line when no tables describe them. */
	void (*cmdline_devices)(FILE *f, const struct device_slot *slots, unsigned int nr);
	/*
	 * Opens and checks the kernel and initrd against the machine, and the
	 * command line against the kernel's limit, before KVM is touched. On
	 * failure it logs one line naming the problem.
	 */
	int (*boot_check)(const struct boot_source *src, const char *cmdline,
			  struct boot_plan **out);
	/* Copies kernel, initrd and boot tables into guest memory; the boot vCPU's entry. */
	int (*boot_load)(const struct boot_plan *plan, struct arch_vm *a, struct guest_memory *mem,
			 const struct boot_devices *devs, uint64_t *entry);
	void (*boot_free)(struct boot_plan *plan);

	/* CPUID, MSRs, FPU, interrupt pins; the boot registers on vCPU 0. */
	int (*vcpu_setup)(struct arch_vm *a, int vcpu_fd, unsigned int id, unsigned int nr_vcpus,
			  uint64_t entry);
	/* An exit only this architecture has (port I/O): true when handled. */
	bool (*vcpu_exit)(struct arch_vm *a, struct kvm_run *run);
	void (*vcpu_format_regs)(int vcpu_fd, char *buf, size_t len);
	/*
	 * Snapshots: a vCPU's whole state (its thread parked outside KVM_RUN),
	 * and the VM's (interrupt controllers, timers, clock, the platform
	 * devices). NULL where the architecture has no snapshots yet: ebb then
	 * refuses them and says so. Restore runs on a VM built like the saved one,
	 * the VM's state before its vCPUs'; clock_realtime moves the guest's clock
	 * on by the time the snapshot spent on disk, where KVM can.
	 */
	int (*vcpu_save)(struct arch_vm *a, int vcpu_fd, struct state_stream *s);
	int (*vcpu_restore)(struct arch_vm *a, int vcpu_fd, struct state_stream *s);
	int (*vm_save)(struct arch_vm *a, struct state_stream *s);
	int (*vm_restore)(struct arch_vm *a, struct state_stream *s, bool clock_realtime);
	/* What saving that state adds to the event loop's seccomp allowlist. */
	const struct seccomp_rule *snapshot_seccomp;
	size_t nr_snapshot_seccomp;
};

extern const struct arch host_arch;

#endif
