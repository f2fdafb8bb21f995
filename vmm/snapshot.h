/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_SNAPSHOT_H
#define EBB_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/request.h"
#include "base/snapfile.h"

/*
 * Snapshots (docs/snapshot.md): pause and resume, a state file plus a
 * sparse memory file, and a restore that maps the memory file MAP_PRIVATE.
 *
 *   snapshot.c       the VM's lifecycle pieces: attach/detach, pause, create
 *   snapshot_mem.c   the memory file: which pages, written how; KVM's dirty log
 *   snapshot_conf.c  the configuration a restore rebuilds the VM from (JSON)
 *   snapshot_load.c  restore: read, check, build, set every state, start
 *   snapshot_api.c   PATCH /vm, PUT /snapshot/create, PUT /snapshot/load
 */

struct vm;
struct vmm;
struct vm_config;
struct json_t;

/* Section tags of the state file. */
#define SNAP_META   SNAPFILE_TAG('M', 'E', 'T', 'A') /* JSON: what the snapshot is */
#define SNAP_CONFIG SNAPFILE_TAG('C', 'O', 'N', 'F') /* JSON: the VM's configuration */
#define SNAP_ARCH   SNAPFILE_TAG('A', 'R', 'V', 'M') /* the architecture's VM state */
#define SNAP_VCPU   SNAPFILE_TAG('V', 'C', 'P', 'U') /* index: vCPU id */
#define SNAP_DEVICE SNAPFILE_TAG('D', 'E', 'V', ' ') /* index: slot order */

/* What a VM keeps for snapshots while it lives. */
struct vmm_snapshot {
	bool restored;	      /* made from a snapshot */
	unsigned int created; /* snapshots written */
};

struct seccomp_extra;
/* The rows snapshots add to the event loop's (vmm role's) allowlist: at most 2 extras. */
#define SNAPSHOT_SECCOMP_EXTRAS 2
unsigned int snapshot_seccomp_extras(struct seccomp_extra *extra);

/* After the VM exists, before its threads run: the dirty log source. */
int snapshot_attach(struct vmm *vmm);

enum snapshot_type {
	SNAPSHOT_FULL,
	SNAPSHOT_DIFF,
};

struct snapshot_create_args {
	enum snapshot_type type;
	const char *snapshot_path;
	const char *mem_file_path;
};

/* What the last create did, for its log line and the benchmark. */
struct snapshot_mem_stats {
	uint64_t pages_written;
	uint64_t pages_hinted_out; /* resident, hinted free and clean: left out */
	uint64_t bytes_allocated;  /* the memory file's blocks afterwards */
	uint64_t ns;
};

/* On the thread that owns the running VM, which must be paused. 400-style errors in err. */
int snapshot_create(struct vmm *vmm, const struct snapshot_create_args *args, char *err,
		    size_t errlen);

struct snapshot_load_args {
	const char *snapshot_path;
	const char *mem_file_path; /* NULL: the path the snapshot names */
	bool resume_vm;
	bool track_dirty_pages;
	bool clock_realtime;
	/* Checked by the API; NULL: none. */
	struct json_t *network_overrides; /* [{iface_id, host_dev_name}] */
	struct json_t *vsock_override;	  /* {uds_path} */
};

/*
 * Builds the VM from a snapshot in a process that has configured nothing
 * yet and starts its threads (paused unless args->resume_vm). Returns 0, or
 * EBB_EXIT_USAGE with nothing left behind (the file, the memory file or a
 * drive is wrong: err says which), or EBB_EXIT_VM_ERROR once KVM objects
 * exist.
 */
int snapshot_load(struct vmm *vmm, const struct snapshot_load_args *args, char *err, size_t errlen);

/* --restore: snapshot_load() from the command line's settings; logs its error. */
int snapshot_restore_cli(struct vmm *vmm);

/* snapshot_mem.c */
int snapshot_mem_attach(struct vmm *vmm);
/*
 * Writes guest RAM to path: a Full snapshot into a new file (only resident
 * pages, the rest holes), a Diff into the file in place (only pages written
 * since the last snapshot). fd is open for writing.
 */
int snapshot_mem_write(struct vmm *vmm, int fd, enum snapshot_type type,
		       struct snapshot_mem_stats *st, char *err, size_t errlen);

/* snapshot_conf.c: the configuration as a config document, and back. */
struct json_t *snapshot_config_json(const struct vm_config *cfg);
/* Applies the snapshot's document onto cfg, through every rule; err on failure. */
int snapshot_config_apply(struct vm_config *cfg, const char *text, size_t len, char *err,
			  size_t errlen);

/* snapshot_api.c: the routes. */
void snapshot_route_patch_vm(struct vmm *vmm, struct api_request *req);
void snapshot_route_create(struct vmm *vmm, struct api_request *req);
void snapshot_route_load(struct vmm *vmm, struct api_request *req);
/* "Running", "Paused" or "Not started", for GET /. */
const char *snapshot_vm_state(struct vmm *vmm);

/* snapshot.c: files are replaced whole: written next to the target, then renamed. */
int snapshot_open_new(const char *path, char *tmp, size_t tmplen, char *err, size_t errlen);
int snapshot_commit(int fd, const char *tmp, const char *path, char *err, size_t errlen);

#endif
