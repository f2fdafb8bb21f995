/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EBB_REQUEST_H
#define EBB_REQUEST_H

/*
 * One API request as its handler sees it: the HTTP transport (vmm/api.c)
 * fills the first part, a route handler the second. Kept below devices so a
 * device can answer its own routes without knowing the transport.
 */

#define HTTP_OK		 200
#define HTTP_NO_CONTENT	 204
#define HTTP_BAD_REQUEST 400
#define HTTP_NOT_FOUND	 404
#define HTTP_BAD_METHOD	 405
#define HTTP_UNAVAILABLE 503

struct json_t;

struct api_request {
	const char *method; /* "GET", "PUT", "PATCH", ... */
	const char *url;
	struct json_t *body; /* NULL when the request had no body */

	/* Filled by the handler. */
	int status;		 /* HTTP status */
	struct json_t *response; /* a JSON body for 200, or NULL */
	char fault[512];	 /* the fault_message when status >= 400 */
};

/* 200 with body, or 204 when body is NULL; takes the reference. */
void api_ok(struct api_request *req, struct json_t *body);
/* status and Firecracker's fault_message; drops any response set before. */
void api_fail(struct api_request *req, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
