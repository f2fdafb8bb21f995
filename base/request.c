// SPDX-License-Identifier: GPL-2.0
#include "base/request.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>

void api_ok(struct api_request *req, json_t *body)
{
	req->status = body ? HTTP_OK : HTTP_NO_CONTENT;
	req->response = body;
}

void api_fail(struct api_request *req, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(req->fault, sizeof(req->fault), fmt, ap);
	va_end(ap);
	req->status = status;
	if (req->response) {
		json_decref(req->response);
		req->response = NULL;
	}
}
