/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_VMM_INTERNAL_H
#define EBB_VMM_INTERNAL_H

#include <stdbool.h>

#include "vmm/api.h"
#include "vmm/console.h"
#include "vmm/event_loop.h"
#include "vmm/vm.h"

/*
 * The process: one VM and what drives it. Before the VM boots, the main
 * thread runs the control loop and answers API requests itself (it is still
 * in setup: it may open files and create the VM). From InstanceStart on,
 * requests go to the device event loop, and main only waits.
 */
struct vmm {
	struct vm_config *cfg;
	struct vm vm;
	bool running; /* atomic */

	struct event_loop ctl;
	bool ctl_ready;
	struct event_loop *dispatch; /* atomic: the loop API requests run on */

	struct console console;
	int signal_fd;
	struct event_source *signal_src;
	struct event_loop *signal_loop;

	struct api_server *api;
	int metrics_fd;
	int metrics_timer_fd;
	uint64_t api_requests;
	uint64_t api_errors;
};

/* Builds and starts the VM from vmm->cfg. Returns 0 or an EBB_EXIT_* status. */
int vmm_boot(struct vmm *vmm);
/* Opens cfg->metrics_path for appending, if set; logs and returns -errno on failure. */
int vmm_open_metrics(struct vmm *vmm);
/* Writes one line of metrics to the metrics file, if there is one. */
int vmm_flush_metrics(struct vmm *vmm);
struct json_t *vmm_metrics_json(struct vmm *vmm);

/* vmm_api.c: the routes, run on the loop that owns the VM. */
void vmm_api_route(struct vmm *vmm, struct api_request *req);
/* On the API thread: forwards a request to that loop and waits. */
void vmm_api_dispatch(void *ctx, struct api_request *req);

#endif
