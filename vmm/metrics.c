// SPDX-License-Identifier: GPL-2.0
/* The metrics document: the process's counters, then each device's from its type's table. */
#include <jansson.h>
#include <time.h>

#include "base/util.h"
#include "devices/virtio/mmio.h"
#include "vmm/vmm.h"

/* Every virtio device's transport counts the same things. */
static const struct metric_field transport_metrics[] = {
	METRIC(struct virtio_mmio, interrupts_raised),
	METRIC(struct virtio_mmio, needs_reset_events),
	METRIC(struct virtio_mmio, bad_register_accesses),
	METRIC(struct virtio_mmio, budget_deferrals),
};

static void add_metrics(json_t *o, const void *counters, const struct metric_field *f, size_t nr)
{
	for (size_t i = 0; o && counters && i < nr; i++)
		json_object_set_new(o, f[i].name,
				    json_integer((json_int_t)metric_value(counters, &f[i])));
}

static json_t *device_metrics(struct device *d)
{
	const struct device_type *t = d->type;
	json_t *o = json_object();
	add_metrics(o, t->counters(d->dev), t->metrics, t->nr_metrics);
	if (t->transport)
		add_metrics(o, t->transport(d->dev), transport_metrics,
			    ARRAY_SIZE(transport_metrics));
	return o;
}

static json_t *bus_metrics(const struct bus *io, const struct bus *mmio)
{
	json_t *b = json_object();
	if (b && io) {
		json_object_set_new(b, "pio_unhandled_reads",
				    json_integer((json_int_t)io->unhandled_reads));
		json_object_set_new(b, "pio_unhandled_writes",
				    json_integer((json_int_t)io->unhandled_writes));
	}
	if (b) {
		json_object_set_new(b, "mmio_unhandled_reads",
				    json_integer((json_int_t)mmio->unhandled_reads));
		json_object_set_new(b, "mmio_unhandled_writes",
				    json_integer((json_int_t)mmio->unhandled_writes));
	}
	return b;
}

json_t *vmm_metrics_json(struct vmm *vmm)
{
	struct vm *vm = &vmm->vm;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t exits = 0;
	for (unsigned int i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		exits += __atomic_load_n(&vm->vcpus[i].exits, __ATOMIC_RELAXED);
	const struct bus *io =
		vm->arch_vm && vm->arch->io_bus ? vm->arch->io_bus(vm->arch_vm) : NULL;
	json_t *m = json_pack(
		"{s:I, s:{s:I, s:I}, s:{s:I}, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		"s:I}}",
		"utc_timestamp_ms", (json_int_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, "api",
		"requests", (json_int_t)vmm->api_requests, "errors", (json_int_t)vmm->api_errors,
		"vcpu", "exits", (json_int_t)exits, "bus", bus_metrics(io, &vm->mmio_bus), "memory",
		"size_bytes", (json_int_t)vm->mem.ram_size, "discarded_bytes",
		(json_int_t)vm->mem.discard_stats.bytes_discarded, "discard_errors",
		(json_int_t)vm->mem.discard_stats.errors, "thp_split_requests",
		(json_int_t)vm->mem.discard_stats.thp_split_requests, "thp_split_errors",
		(json_int_t)vm->mem.discard_stats.thp_split_errors, "blocks_remapped",
		(json_int_t)vm->mem.discard_stats.blocks_remapped, "kvm_page_table_trims",
		(json_int_t)__atomic_load_n(&vm->table_trim.trims, __ATOMIC_RELAXED),
		"zero_page_sweeps",
		(json_int_t)__atomic_load_n(&vm->zero_sweep.sweeps, __ATOMIC_RELAXED),
		"zero_pages_freed_bytes",
		(json_int_t)__atomic_load_n(&vm->zero_sweep.bytes_freed, __ATOMIC_RELAXED));
	for (unsigned int i = 0; m && i < vm->nr_devices; i++) {
		struct device *d = &vm->devices[i];
		if (d->dev && d->type->counters)
			json_object_set_new(m, d->name, device_metrics(d));
	}
	return m;
}
