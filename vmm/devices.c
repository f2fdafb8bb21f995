// SPDX-License-Identifier: GPL-2.0
/*
 * The VM's devices, composed from their types' descriptors: slots in a
 * fixed order (registry order, then each type's rank, then configuration
 * order), prepared before KVM exists, created on the MMIO bus and wired
 * into KVM.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "devices/virtio/mmio.h"
#include "vmm/snapshot.h"
#include "vmm/vm.h"

static void instance_name(const struct device_type *t, const void *conf, char *buf, size_t len)
{
	if (t->many)
		snprintf(buf, len, "%s_%s", t->name, device_conf_name(t, conf));
	else
		snprintf(buf, len, "%s", t->name);
}

int vm_plan_devices(struct vm *vm)
{
	const struct device_confs *dc = &vm->cfg->devices;
	const struct device_registry *r = dc->registry;
	unsigned int n = 0;
	vm->nr_devices = 0;
	for (unsigned int ti = 0; ti < r->nr_types; ti++) {
		const struct device_type *t = r->types[ti];
		const void *confs[DEVICE_MAX_CONFS];
		unsigned int indices[DEVICE_MAX_CONFS];
		unsigned int nr = device_confs_of(dc, t, confs, indices);
		/* By rank, lower first; an insertion sort keeps configuration order within a rank.
		 */
		unsigned int rank[DEVICE_MAX_CONFS];
		for (unsigned int i = 0; i < nr; i++) {
			unsigned int rk = t->slot_rank ? t->slot_rank(confs[i]) : 0;
			unsigned int idx = indices[i];
			const void *conf = confs[i];
			unsigned int j = i;
			for (; j > 0 && rank[j - 1] > rk; j--) {
				rank[j] = rank[j - 1];
				indices[j] = indices[j - 1];
				confs[j] = confs[j - 1];
			}
			rank[j] = rk;
			indices[j] = idx;
			confs[j] = conf;
		}
		for (unsigned int i = 0; i < nr; i++, n++) {
			struct device *d = &vm->devices[n];
			*d = (struct device){ .type = t, .conf_index = indices[i] };
			instance_name(t, confs[i], d->name, sizeof(d->name));
			if (vm->arch->device_slot(n, &d->slot) < 0) {
				log_err("too many devices: this machine has device slots for %u",
					n);
				return -ENOSPC;
			}
		}
	}
	vm->nr_devices = n;
	return 0;
}

static const void *conf_of(const struct vm *vm, const struct device *d)
{
	return vm->cfg->devices.list[d->conf_index].conf;
}

int vm_prepare_devices(struct vm *vm, void **prepared)
{
	for (unsigned int i = 0; i < vm->nr_devices; i++) {
		const struct device *d = &vm->devices[i];
		prepared[i] = NULL;
		if (d->type->prepare && d->type->prepare(conf_of(vm, d), &prepared[i]) < 0) {
			vm_unprepare_devices(vm, prepared);
			return -EINVAL;
		}
	}
	return 0;
}

void vm_unprepare_devices(struct vm *vm, void **prepared)
{
	for (unsigned int i = 0; i < vm->nr_devices; i++) {
		const struct device *d = &vm->devices[i];
		if (prepared[i] && d->type->unprepare)
			d->type->unprepare(prepared[i]);
		prepared[i] = NULL;
	}
}

static int create_one(struct vm *vm, struct device *d, void *prepared)
{
	const struct device_type *t = d->type;
	struct device_create_args args = {
		.conf = conf_of(vm, d),
		.settings = device_settings(&vm->cfg->devices, t),
		.prepared = prepared,
		.mem = &vm->mem,
		.loop = &vm->loop,
		.slot = d->slot,
	};
	int ret = t->create(&args, &d->dev);
	struct virtio_mmio *transport = ret == 0 && d->dev ? t->transport(d->dev) : NULL;
	if (transport) {
		ret = bus_register(&vm->mmio_bus, d->slot.addr, d->slot.size, &virtio_mmio_bus_ops,
				   transport, d->name);
		if (ret == 0)
			ret = virtio_mmio_attach_kvm(transport, vm->vm_fd);
	}
	if (ret < 0)
		log_err("creating %s: %s", d->name, strerror(-ret));
	return ret;
}

int vm_create_devices(struct vm *vm, void **prepared)
{
	int ret = 0;
	for (unsigned int i = 0; i < vm->nr_devices; i++) {
		if (ret == 0)
			ret = create_one(vm, &vm->devices[i], prepared[i]);
		else if (prepared[i] && vm->devices[i].type->unprepare)
			vm->devices[i].type->unprepare(prepared[i]);
		prepared[i] = NULL;
	}
	return ret;
}

void vm_destroy_devices(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_devices; i++) {
		struct device *d = &vm->devices[i];
		if (d->dev)
			d->type->destroy(d->dev);
		d->dev = NULL;
	}
	vm->nr_devices = 0;
}

char *vm_build_cmdline(const struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	const struct device_confs *dc = &cfg->devices;
	struct device_slot slots[DEVICE_MAX_CONFS];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fputs(cfg->boot_args ? cfg->boot_args : CONFIG_DEFAULT_BOOT_ARGS, f);
	for (unsigned int i = 0; i < vm->nr_devices; i++)
		slots[i] = vm->devices[i].slot;
	if (vm->arch->cmdline_devices && !cfg->acpi)
		vm->arch->cmdline_devices(f, slots, vm->nr_devices);
	for (unsigned int ti = 0; ti < dc->registry->nr_types; ti++) {
		const struct device_type *t = dc->registry->types[ti];
		const void *confs[DEVICE_MAX_CONFS];
		unsigned int nr = device_confs_of(dc, t, confs, NULL);
		if (t->cmdline)
			t->cmdline(f, device_settings(dc, t), confs, nr);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

unsigned int vm_seccomp_extras(const struct vm_config *cfg, struct seccomp_extra *extra)
{
	const struct device_registry *r = cfg->devices.registry;
	unsigned int n = 0;
	for (unsigned int i = 0; i < r->nr_types; i++) {
		const struct device_type *t = r->types[i];
		if (t->nr_seccomp_rules && device_confs_of(&cfg->devices, t, NULL, NULL))
			extra[n++] = (struct seccomp_extra){ .origin = t->name,
							     .rules = t->seccomp_rules,
							     .nr_rules = t->nr_seccomp_rules };
	}
	return n + snapshot_seccomp_extras(&extra[n]);
}
