/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_VMM_H
#define EBB_VMM_H

#include <stdbool.h>
#include <time.h>

#include "base/event_loop.h"
#include "base/request.h"
#include "vmm/api.h"
#include "vmm/config/config.h"
#include "vmm/console.h"
#include "vmm/snapshot.h"
#include "vmm/vm.h"

/*
 * The process: one VM and what drives it. Before the VM boots, the main
 * thread runs the control loop and answers API requests itself (it is still
 * in setup: it may open files and create the VM). From InstanceStart on,
 * requests go to the device event loop, and main only waits.
 */
struct vmm;

/* Answers one API request, on the thread that owns the VM (routes.c). */
typedef void (*vmm_route_fn)(struct vmm *vmm, struct api_request *req);

struct vmm {
	struct vm_config *cfg;
	struct vm vm;
	bool running; /* atomic */
	vmm_route_fn route;

	struct event_loop ctl;
	bool ctl_ready;
	struct event_loop *dispatch; /* atomic: the loop API requests run on */

	struct console console;
	int signal_fd;
	struct event_source *signal_src;
	struct event_loop *signal_loop;

	/* Any configuration besides the logger and metrics: a snapshot may no longer be loaded. */
	bool configured;
	struct vmm_snapshot snapshot;

	struct api_server *api;
	int metrics_fd;
	int metrics_timer_fd;
	uint64_t api_requests;
	uint64_t api_errors;
};

/*
 * Runs one microVM from its configuration until it exits, answering API
 * requests with route, and returns the process exit status (EBB_EXIT_*).
 */
int vmm_run(struct vm_config *cfg, const struct timespec *start, vmm_route_fn route);

/* For route handlers, on the thread that owns the VM. */
bool vmm_is_running(struct vmm *vmm);
/* Builds and starts the VM from vmm->cfg. Returns 0 or an EBB_EXIT_* status. */
int vmm_boot(struct vmm *vmm);
/*
 * What a boot and a restore share once the VM's devices exist: console
 * input, signals and the snapshot hooks on the event loop; then starting
 * the threads. Return 0 or an EBB_EXIT_* status.
 */
int vmm_attach_loop(struct vmm *vmm);
int vmm_start_threads(struct vmm *vmm);
/* Opens cfg->metrics_path for appending, if set; logs and returns -errno on failure. */
int vmm_open_metrics(struct vmm *vmm);
/* Writes one line of metrics to the metrics file, if there is one. */
int vmm_flush_metrics(struct vmm *vmm);

/* metrics.c: every counter as Firecracker-style JSON. */
struct json_t *vmm_metrics_json(struct vmm *vmm);

#endif
