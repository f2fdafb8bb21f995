/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_API_H
#define EBB_API_H

#include <stdbool.h>
#include <stddef.h>

#include "base/request.h"

/*
 * The HTTP API server: libmicrohttpd on a unix socket, on its own thread,
 * under the api seccomp filter. It parses HTTP and JSON and nothing else:
 * every request is handed to the dispatch function, which forwards it to
 * the thread that owns the VM and waits for the answer.
 */

/* Firecracker's default limit for a request body. */
#define API_MAX_BODY 51200

typedef void (*api_dispatch_fn)(void *ctx, struct api_request *req);

struct api_server;

/*
 * Binds and listens on path. A stale socket (nobody answers on it) is
 * replaced; a live one, or a path that is not a socket, is an error.
 * Returns negative errno with a one-line reason in err.
 */
int api_server_create(const char *path, struct api_server **out, char *err, size_t errlen);
/* Starts the API thread; dispatch runs on it for each complete request. */
int api_server_start(struct api_server *api, api_dispatch_fn dispatch, void *ctx,
		     bool seccomp, bool seccomp_trap);
/* Stops the thread, closes the socket and removes its file. */
void api_server_destroy(struct api_server *api);

#endif
