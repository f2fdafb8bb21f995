/* SPDX-License-Identifier: GPL-2.0 */
/* HTTP/1.1 over a unix socket, through libcurl: one request per call. */
#ifndef EBBCTL_HTTP_H
#define EBBCTL_HTTP_H

#include <stddef.h>

struct http_reply {
	long status; /* HTTP status code */
	char *body;  /* NUL-terminated, "" when there was none */
	size_t len;
};

int http_init(void);
void http_cleanup(void);

/*
 * Sends METHOD PATH to the server on unix socket sock, with a JSON body
 * unless body is NULL, and waits at most timeout_ms for the whole exchange.
 * Returns 0 when an HTTP answer came, whatever its status; when none did, a
 * negative errno (-ECONNREFUSED, -ETIMEDOUT, -EFBIG for an answer over the
 * limit, -EIO, -ENOMEM) with the cause in err ("connection refused", "no
 * answer within 2.0 s"...).
 */
int http_request(const char *sock, const char *method, const char *path, const char *body,
		 long timeout_ms, struct http_reply *reply, char *err, size_t errlen);
void http_reply_free(struct http_reply *reply);

#endif
