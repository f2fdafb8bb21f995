// SPDX-License-Identifier: GPL-2.0
#include "vmm/api.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/schema.h"
#include "seccomp/seccomp.h"
#include "base/log.h"
#include "base/thread.h"

#define API_MAX_CONNECTIONS 64
#define API_CONNECTION_TIMEOUT_S 30

struct api_server {
	char *path;
	char *name;     /* the socket's file name, for unlinkat */
	int listen_fd;
	int dir_fd;     /* the socket's directory, kept to remove the socket on exit */
	int stop_fd;
	int epfd;
	struct MHD_Daemon *daemon;
	api_dispatch_fn dispatch;
	void *ctx;
	bool seccomp, seccomp_trap;
	pthread_t thread;
	bool thread_started;
	uint64_t requests;
};

/* Per-request state while the body arrives. */
struct api_conn {
	char *body;
	size_t len;
	bool too_big;
};

/* ---- the listening socket ---- */

/* True when something accepts connections on path. */
static bool socket_is_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return live;
}

static int bind_socket(const char *path, int *out, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return errmsg(err, errlen, -ENAMETOOLONG,
			      "API socket path %s is longer than %zu bytes", path,
			      sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, path);

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return errmsg(err, errlen, -errno, "API socket: %s", strerror(errno));
	int bound = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (bound < 0 && errno == EADDRINUSE) {
		struct stat st;
		if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
			close(fd);
			return errmsg(err, errlen, -EEXIST,
				      "API socket path %s exists and is not a socket", path);
		}
		if (socket_is_live(&sa)) {
			close(fd);
			return errmsg(err, errlen, -EADDRINUSE,
				      "API socket %s is in use by another process", path);
		}
		/* Left behind by a process that died: replace it. */
		log_info("api: replacing stale socket %s", path);
		unlink(path);
		bound = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	if (bound < 0) {
		int e = errno;
		close(fd);
		return errmsg(err, errlen, -e, "API socket %s: %s", path, strerror(e));
	}
	if (listen(fd, API_MAX_CONNECTIONS) < 0) {
		int e = errno;
		close(fd);
		unlink(path);
		return errmsg(err, errlen, -e, "API socket %s: listen: %s", path, strerror(e));
	}
	*out = fd;
	return 0;
}

int api_server_create(const char *path, struct api_server **out, char *err, size_t errlen)
{
	struct api_server *api = calloc(1, sizeof(*api));
	if (!api)
		return errmsg(err, errlen, -ENOMEM, "out of memory");
	api->listen_fd = api->dir_fd = api->stop_fd = api->epfd = -1;
	api->path = strdup(path);
	char *copy = strdup(path), *copy2 = strdup(path);
	if (!api->path || !copy || !copy2) {
		free(copy);
		free(copy2);
		api_server_destroy(api);
		return errmsg(err, errlen, -ENOMEM, "out of memory");
	}
	api->name = strdup(basename(copy));
	api->dir_fd = open(dirname(copy2), O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	free(copy2);
	int ret = api->dir_fd < 0 ? errmsg(err, errlen, -errno, "API socket directory for %s: %s",
					   path, strerror(errno))
				  : bind_socket(path, &api->listen_fd, err, errlen);
	if (ret < 0) {
		api_server_destroy(api);
		return ret;
	}
	*out = api;
	return 0;
}

/* ---- requests ---- */

static enum MHD_Result send_json(struct MHD_Connection *conn, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		text ? strlen(text) : 0, text ? text : (char *)"", MHD_RESPMEM_MUST_COPY);
	free(text);
	if (!resp)
		return MHD_NO;
	if (body)
		MHD_add_response_header(resp, "Content-Type", "application/json");
	enum MHD_Result r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result send_fault(struct MHD_Connection *conn, int status, const char *msg)
{
	json_t *body = json_pack("{s:s}", "fault_message", msg);
	enum MHD_Result r = send_json(conn, status, body);
	json_decref(body);
	return r;
}

static enum MHD_Result handle_request(struct api_server *api, struct MHD_Connection *conn,
				      const char *url, const char *method, struct api_conn *c)
{
	api->requests++;
	if (c->too_big) {
		char msg[128];
		snprintf(msg, sizeof(msg), "request body is larger than %d bytes", API_MAX_BODY);
		return send_fault(conn, MHD_HTTP_CONTENT_TOO_LARGE, msg);
	}
	struct api_request req = { .method = method, .url = url };
	if (c->len) {
		struct schema_error err;
		req.body = schema_json_load(c->body, c->len, &err);
		if (!req.body) {
			char msg[700];
			schema_error_format(&err, NULL, msg, sizeof(msg));
			char full[800];
			snprintf(full, sizeof(full), "bad JSON in the request body: %s", msg);
			return send_fault(conn, MHD_HTTP_BAD_REQUEST, full);
		}
	}
	api->dispatch(api->ctx, &req);
	json_decref(req.body);
	enum MHD_Result r;
	if (req.status >= 400) {
		log_info("api: %s %s -> %d: %s", method, url, req.status, req.fault);
		r = send_fault(conn, req.status, req.fault[0] ? req.fault : "request failed");
	} else {
		log_debug("api: %s %s -> %d", method, url, req.status);
		r = send_json(conn, req.status, req.response);
	}
	json_decref(req.response);
	return r;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **con_cls)
{
	struct api_server *api = cls;
	struct api_conn *c = *con_cls;
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return MHD_NO;
		*con_cls = c;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		if (!c->too_big && c->len + n > API_MAX_BODY) {
			c->too_big = true;
			free(c->body);
			c->body = NULL;
			c->len = 0;
		}
		if (!c->too_big) {
			char *grown = realloc(c->body, c->len + n + 1);
			if (!grown)
				return MHD_NO;
			memcpy(grown + c->len, upload_data, n);
			c->body = grown;
			c->len += n;
			c->body[c->len] = '\0';
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return handle_request(api, conn, url, method, c);
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct api_conn *c = *con_cls;
	if (c) {
		free(c->body);
		free(c);
		*con_cls = NULL;
	}
}

/* ---- the thread ---- */

static void *api_thread(void *arg)
{
	struct api_server *api = arg;
	pthread_setname_np(pthread_self(), "ebb-api");
	if (api->seccomp) {
		struct seccomp_params params = { .api_socket_dir_fd = api->dir_fd };
		int ret = seccomp_install(SECCOMP_ROLE_API, api->seccomp_trap, &params);
		if (ret < 0) {
			log_err("api: seccomp: %s; the API is off", strerror(-ret));
			return NULL;
		}
	}
	for (;;) {
		struct epoll_event ev[4];
		int timeout = -1;
		MHD_UNSIGNED_LONG_LONG mhd_timeout;
		if (MHD_get_timeout(api->daemon, &mhd_timeout) == MHD_YES)
			timeout = mhd_timeout > 60000 ? 60000 : (int)mhd_timeout;
		int n = epoll_wait(api->epfd, ev, 4, timeout);
		if (n < 0 && errno != EINTR) {
			log_err("api: epoll_wait: %s", strerror(errno));
			break;
		}
		bool stop = false;
		for (int i = 0; i < n; i++)
			stop |= ev[i].data.fd == api->stop_fd;
		if (stop)
			break;
		MHD_run(api->daemon);
	}
	MHD_stop_daemon(api->daemon);
	api->daemon = NULL;
	api->listen_fd = -1; /* closed by MHD */
	if (unlinkat(api->dir_fd, api->name, 0) < 0 && errno != ENOENT)
		log_warn("api: removing %s: %s", api->path, strerror(errno));
	return NULL;
}

int api_server_start(struct api_server *api, api_dispatch_fn dispatch, void *ctx, bool seccomp,
		     bool seccomp_trap)
{
	api->dispatch = dispatch;
	api->ctx = ctx;
	api->seccomp = seccomp;
	api->seccomp_trap = seccomp_trap;
	/*
	 * jansson seeds its hash function from /dev/urandom when the first object
	 * is made; a request body parsed first on the filtered API thread would
	 * make that open there. Seed it now, while opening is still allowed.
	 */
	json_object_seed(0);
	api->daemon = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, access_handler, api,
		MHD_OPTION_LISTEN_SOCKET, api->listen_fd, MHD_OPTION_NOTIFY_COMPLETED,
		request_completed, api, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)API_MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)API_CONNECTION_TIMEOUT_S, MHD_OPTION_END);
	if (!api->daemon) {
		log_err("api: libmicrohttpd could not start on %s", api->path);
		return -EIO;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(api->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	api->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	api->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!info || api->stop_fd < 0 || api->epfd < 0)
		return -errno ? -errno : -EIO;
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = info->epoll_fd };
	struct epoll_event stop = { .events = EPOLLIN, .data.fd = api->stop_fd };
	if (epoll_ctl(api->epfd, EPOLL_CTL_ADD, info->epoll_fd, &ev) < 0 ||
	    epoll_ctl(api->epfd, EPOLL_CTL_ADD, api->stop_fd, &stop) < 0)
		return -errno;
	int err = thread_start(&api->thread, api_thread, api);
	if (err)
		return -err;
	api->thread_started = true;
	log_info("api: listening on %s", api->path);
	return 0;
}

void api_server_destroy(struct api_server *api)
{
	if (!api)
		return;
	if (api->thread_started) {
		uint64_t one = 1;
		if (write(api->stop_fd, &one, sizeof(one)) < 0)
			log_warn("api: cannot wake the API thread: %s", strerror(errno));
		pthread_join(api->thread, NULL);
	} else {
		if (api->daemon)
			MHD_stop_daemon(api->daemon);
		else if (api->listen_fd >= 0)
			close(api->listen_fd);
		if (api->listen_fd >= 0 && api->path)
			unlink(api->path);
	}
	if (api->stop_fd >= 0)
		close(api->stop_fd);
	if (api->epfd >= 0)
		close(api->epfd);
	if (api->dir_fd >= 0)
		close(api->dir_fd);
	free(api->path);
	free(api->name);
	free(api);
}
