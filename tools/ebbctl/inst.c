// SPDX-License-Identifier: GPL-2.0
#include "tools/ebbctl/inst.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/ebbctl/http.h"
#include "tools/ebbctl/proc.h"
#include "tools/ebbctl/table.h"

int inst_init(struct inst *in, const char *run_dir, const char *name, char *err, size_t errlen)
{
	memset(in, 0, sizeof(*in));
	in->pidfd = -1;
	in->exit_status = FMT_EXIT_UNKNOWN;
	snprintf(in->name, sizeof(in->name), "%s", name);
	char sock[PATH_MAX];
	if (rundir_path(sock, sizeof(sock), run_dir, name, RUNDIR_SOCK) < 0 ||
	    strlen(sock) > RUNDIR_SOCK_PATH_MAX) {
		snprintf(err, errlen,
			 "%s: API socket path %s/%s/%s is %zu bytes, more than the %d a unix "
			 "socket allows; use a shorter --run-dir",
			 name, run_dir, name, RUNDIR_SOCK,
			 strlen(run_dir) + strlen(name) + 2 + strlen(RUNDIR_SOCK),
			 RUNDIR_SOCK_PATH_MAX);
		return -ENAMETOOLONG;
	}
	struct {
		char *buf;
		const char *file;
	} paths[] = {
		{ in->dir, NULL },
		{ in->sock, RUNDIR_SOCK },
		{ in->log, RUNDIR_LOG },
		{ in->console, RUNDIR_CONSOLE },
		{ in->metrics, RUNDIR_METRICS },
		{ in->pidfile, RUNDIR_PID },
		{ in->exitfile, RUNDIR_EXIT },
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		/* Cannot fail: none is longer than the socket path by more than a few bytes. */
		if (rundir_path(paths[i].buf, INST_PATH_MAX, run_dir, name, paths[i].file) < 0) {
			snprintf(err, errlen, "%s: run directory path %s is too long", name,
				 run_dir);
			return -ENAMETOOLONG;
		}
	}
	return 0;
}

static int read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

bool inst_read_exit(struct inst *in)
{
	char text[64];
	int status;
	if (read_text(in->exitfile, text, sizeof(text)) < 0 || proc_parse_exit(text, &status) < 0)
		return false;
	in->exit_status = status;
	return true;
}

int inst_load(struct inst *in, const char *run_dir, const char *name, char *err, size_t errlen)
{
	int ret = inst_init(in, run_dir, name, err, errlen);
	if (ret < 0)
		return ret;
	char text[64];
	ret = read_text(in->pidfile, text, sizeof(text));
	if (ret == -ENOENT) {
		snprintf(err, errlen, "%s: no such VM in %s", name, run_dir);
		return ret;
	}
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s: %s", name, in->pidfile, strerror(-ret));
		return ret;
	}
	char *end;
	long pid = strtol(text, &end, 10);
	if (pid <= 0 || pid > INT32_MAX || (*end != '\n' && *end != '\0')) {
		snprintf(err, errlen, "%s: %s does not hold a pid", name, in->pidfile);
		return -EINVAL;
	}
	in->pid = (pid_t)pid;
	in->running = proc_is_ebb(in->pid, in->sock);
	if (!in->running)
		inst_read_exit(in);
	return 0;
}

void inst_open_pidfd(struct inst *in)
{
	if (in->pidfd >= 0 || !in->running)
		return;
	in->pidfd = proc_pidfd(in->pid);
	/* The pid may have been reused between the check and the open. */
	if (in->pidfd >= 0 && !proc_is_ebb(in->pid, in->sock)) {
		close(in->pidfd);
		in->pidfd = -1;
		in->running = false;
		inst_read_exit(in);
	}
}

void inst_close(struct inst *in)
{
	if (in->pidfd >= 0)
		close(in->pidfd);
	in->pidfd = -1;
}

int inst_require_running(const struct inst *in, char *err, size_t errlen)
{
	if (in->running)
		return 0;
	char how[32];
	fmt_exit(how, sizeof(how), in->exit_status);
	snprintf(err, errlen, "%s: not running (ebb ended: %s); see %s", in->name, how, in->log);
	return -ESRCH;
}

/* The fault_message of an error answer, or the raw body. */
static void fault_of(const char *body, char *out, size_t len)
{
	json_t *j = json_loads(body, JSON_DISABLE_EOF_CHECK, NULL);
	const char *msg = j ? json_string_value(json_object_get(j, "fault_message")) : NULL;
	if (msg) {
		snprintf(out, len, "%s", msg);
	} else {
		snprintf(out, len, "%s", body[0] ? body : "(no details)");
		/* One line only. */
		for (char *p = out; *p; p++) {
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		}
	}
	json_decref(j);
}

int inst_api(const struct inst *in, const char *method, const char *path, json_t *body,
	     long timeout_ms, json_t **answer, char *err, size_t errlen)
{
	if (answer)
		*answer = NULL;
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	if (body && !text) {
		snprintf(err, errlen, "%s: out of memory", in->name);
		return -ENOMEM;
	}

	struct http_reply reply;
	char why[256];
	int ret = http_request(in->sock, method, path, text, timeout_ms, &reply, why, sizeof(why));
	free(text);
	if (ret < 0) {
		snprintf(err, errlen, "%s: API socket %s: %s (is it running? see %s)", in->name,
			 in->sock, why, in->log);
		return ret;
	}
	if (reply.status < 200 || reply.status > 299) {
		fault_of(reply.body, why, sizeof(why));
		snprintf(err, errlen, "%s: %s %s: HTTP %ld: %s", in->name, method, path,
			 reply.status, why);
		http_reply_free(&reply);
		return -EPROTO;
	}
	ret = 0;
	if (answer && reply.len > 0) {
		json_error_t jerr;
		*answer = json_loads(reply.body, 0, &jerr);
		if (!*answer) {
			snprintf(err, errlen, "%s: %s %s: the answer is not JSON: %s", in->name,
				 method, path, jerr.text);
			ret = -EBADMSG;
		}
	}
	http_reply_free(&reply);
	return ret;
}

const char *inst_err_detail(const struct inst *in, const char *err)
{
	size_t n = strlen(in->name);
	if (strncmp(err, in->name, n) == 0 && strncmp(err + n, ": ", 2) == 0)
		return err + n + 2;
	return err;
}

void inst_print_log_tail(const struct inst *in, FILE *out, unsigned int lines)
{
	FILE *f = fopen(in->log, "re");
	if (!f) {
		fprintf(out, "    (no log at %s)\n", in->log);
		return;
	}
	/* Keep the last `lines` lines in a ring. */
	char **ring = calloc(lines, sizeof(*ring));
	unsigned int next = 0, count = 0;
	char *line = NULL;
	size_t cap = 0;
	while (ring && getline(&line, &cap, f) >= 0) {
		free(ring[next]);
		ring[next] = line;
		line = NULL;
		cap = 0;
		next = (next + 1) % lines;
		if (count < lines)
			count++;
	}
	free(line);
	fclose(f);
	if (count == 0)
		fprintf(out, "    (%s is empty)\n", in->log);
	for (unsigned int i = 0; ring && i < count; i++) {
		char *l = ring[(next + lines - count + i) % lines];
		size_t n = strlen(l);
		fprintf(out, "    | %s%s", l, n && l[n - 1] == '\n' ? "" : "\n");
	}
	for (unsigned int i = 0; ring && i < lines; i++)
		free(ring[i]);
	free(ring);
}
