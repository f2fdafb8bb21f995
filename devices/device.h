/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_DEVICE_H
#define EBB_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/event_loop.h"
#include "base/memory.h"
#include "base/metrics.h"
#include "base/request.h"
#include "base/schema.h"
#include "base/state.h"
#include "seccomp/seccomp.h"

/*
 * A device type, declared once in its own folder: its configuration (the
 * section of the config file and of the API, with its schema), how an
 * instance is created and destroyed, its API routes, its counters, the
 * syscalls its event-loop work needs, and how its state is saved and
 * restored. The VMM composes devices from these descriptors and knows
 * nothing else about them; devices/registry.c lists the types.
 */

struct json_t;
struct virtio_mmio;
struct device_confs;

/* Where a device sits: its MMIO window and the GSI it interrupts on. */
struct device_slot {
	uint64_t addr;
	uint64_t size;
	unsigned int gsi;
};

/* The machine a device configuration is checked against. */
struct machine_facts {
	uint32_t mem_mib;
	uint32_t vcpus;
};

/* What the VMM hands a device it creates. */
struct device_create_args {
	const void *conf;     /* the instance's configuration */
	const void *settings; /* its type's ebb-only settings */
	void *prepared;	      /* what prepare() made; the device owns it from now on */
	struct guest_memory *mem;
	struct event_loop *loop;
	struct device_slot slot;
};

/* A running instance, as the VMM keeps it. */
struct device {
	const struct device_type *type;
	void *dev;		 /* the type's own struct */
	unsigned int conf_index; /* its configuration's place in the VM's list */
	char name[80];		 /* "balloon", "block_rootfs": metrics and logs */
	struct device_slot slot;
};

/*
 * What a route handler may use: the configuration (changed only through
 * the services below, which check every rule), and the running devices of
 * its type. Handlers run on the thread that owns the VM; a handler that
 * touches a running device takes that device's lock.
 */
struct device_route_ctx {
	const struct device_type *type;
	const char *id; /* the {id} of a many-instance route, else NULL */
	bool running;
	const struct device_confs *confs;
	struct device *devices; /* running instances of every type, or NULL before boot */
	unsigned int nr_devices;
	void *vmm;
	/*
	 * Replaces instance index of this type (-1: adds one) with conf, after
	 * every rule passed; conf is taken either way. err->path is relative
	 * to the resource.
	 */
	int (*set_conf)(const struct device_route_ctx *ctx, int index, void *conf,
			struct schema_error *err);
};

struct device_route {
	const char *method;
	const char *path; /* after the section: "" or "/statistics"; "{id}" routes get ctx->id */
	void (*handle)(const struct device_route_ctx *ctx, struct api_request *req);
};

struct device_type {
	const char *name; /* logs and metrics */
	const char *noun; /* one instance in a message: "balloon", "drive" */

	/* ---- configuration ---- */
	const char *section;	     /* its key in the config file, and its API path */
	bool many;		     /* an array of instances keyed by id_field, else one object */
	const char *id_field;	     /* many: the field holding the instance's id */
	unsigned int max_confs;	     /* many: how many instances ebb supports */
	const struct schema *schema; /* one instance; PUT semantics (absent = zero) */
	size_t conf_size;
	/*
	 * Rules of one instance against its type's settings and the machine;
	 * fail at ctx's path (the instance).
	 */
	int (*check)(struct schema_ctx *c, const void *conf, const void *settings,
		     const struct machine_facts *m);
	/*
	 * Rules between the instances of this type and its settings; confs in
	 * configuration order (nr may be 0), changed: the one being set (nr
	 * when none). Fail at the path of the instance to blame, pushed by the
	 * callee (ctx is at the section).
	 */
	int (*check_all)(struct schema_ctx *c, const void *const *confs, unsigned int nr,
			 unsigned int changed, const void *settings);
	/* ebb-only settings of the type, as keys of the config's "ebb" object. */
	const struct schema *settings_schema;
	size_t settings_size;
	void (*settings_init)(void *settings);
	/* Words the guest command line needs (root=, module parameters); confs as above. */
	void (*cmdline)(FILE *f, const void *settings, const void *const *confs, unsigned int nr);
	/* Smallest block the guest may give back, for the RAM's huge page advice; 0: none. */
	uint64_t (*discard_granule)(const void *settings, const void *const *confs,
				    unsigned int nr);
	/* Slot order among instances of the type: lower first, then configuration order. */
	unsigned int (*slot_rank)(const void *conf);
	/* The id an instance is known by in logs and metrics (many), else NULL. */
	const char *(*conf_id)(const void *conf);

	/* ---- life ---- */
	/* Before any KVM object exists: open what the instance needs (fail = bad config). */
	int (*prepare)(const void *conf, void **prepared);
	void (*unprepare)(void *prepared);
	int (*create)(const struct device_create_args *args, void **dev);
	void (*destroy)(void *dev);
	/* Its virtio-mmio transport: the VMM maps it and wires it into KVM. */
	struct virtio_mmio *(*transport)(void *dev);

	/* ---- API ---- */
	const struct device_route *routes; /* ends with { NULL } */

	/* ---- metrics: a counters struct the writer reads ---- */
	const struct metric_field *metrics;
	size_t nr_metrics;
	const void *(*counters)(void *dev);

	/* ---- seccomp: what its event-loop work adds to that thread's allowlist ---- */
	const struct seccomp_rule *seccomp_rules;
	size_t nr_seccomp_rules;

	/* ---- state, for snapshots ---- */
	int (*save)(void *dev, struct state_stream *s);
	int (*restore)(void *dev, struct state_stream *s);
};

#endif
