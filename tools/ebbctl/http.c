// SPDX-License-Identifier: GPL-2.0
#include "tools/ebbctl/http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An API answer is a small JSON object; anything bigger is not ebb talking. */
#define HTTP_MAX_BODY (4u << 20)

struct body_buf {
	char *data;
	size_t len, cap;
	int too_big;
};

int http_init(void)
{
	return curl_global_init(CURL_GLOBAL_NOTHING) == CURLE_OK ? 0 : -EIO;
}

void http_cleanup(void)
{
	curl_global_cleanup();
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *opaque)
{
	struct body_buf *b = opaque;
	size_t n = size * nmemb;
	if (b->len + n + 1 > HTTP_MAX_BODY) {
		b->too_big = 1;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->data, cap);
		if (!p)
			return 0;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* strerror() text, lower-cased first letter, to sit inside a sentence. */
static void os_error(char *err, size_t errlen, long os_errno)
{
	snprintf(err, errlen, "%s", strerror((int)os_errno));
	if (err[0] && isupper((unsigned char)err[0]) && !isupper((unsigned char)err[1]))
		err[0] = (char)tolower((unsigned char)err[0]);
}

static void describe(CURL *c, CURLcode rc, const char *errbuf, long timeout_ms, char *err,
		     size_t errlen)
{
	long os_errno = 0;
	curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		if (os_errno) {
			os_error(err, errlen, os_errno);
			return;
		}
		snprintf(err, errlen, "cannot connect");
		return;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(err, errlen, "no answer within %.1f s", timeout_ms / 1000.0);
		return;
	case CURLE_GOT_NOTHING:
		snprintf(err, errlen, "the server closed the connection without answering");
		return;
	case CURLE_WRITE_ERROR:
		snprintf(err, errlen, "the answer is too big or memory ran out");
		return;
	default:
		if (os_errno)
			os_error(err, errlen, os_errno);
		else
			snprintf(err, errlen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return;
	}
}

int http_request(const char *sock, const char *method, const char *path, const char *body,
		 long timeout_ms, struct http_reply *reply, char *err, size_t errlen)
{
	memset(reply, 0, sizeof(*reply));
	CURL *c = curl_easy_init();
	if (!c) {
		snprintf(err, errlen, "cannot set up libcurl");
		return -ENOMEM;
	}

	char url[1024];
	snprintf(url, sizeof(url), "http://localhost%s", path);
	char errbuf[CURL_ERROR_SIZE] = "";
	struct body_buf b = { 0 };
	struct curl_slist *headers = NULL;
	headers = curl_slist_append(headers, "Accept: application/json");
	if (body)
		headers = curl_slist_append(headers, "Content-Type: application/json");
	/* No "Expect: 100-continue" round trip for a body. */
	headers = curl_slist_append(headers, "Expect:");

	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");

	CURLcode rc = curl_easy_perform(c);
	int ret = 0;
	if (rc != CURLE_OK) {
		if (b.too_big)
			snprintf(err, errlen, "the answer is larger than %u MiB",
				 HTTP_MAX_BODY >> 20);
		else
			describe(c, rc, errbuf, timeout_ms, err, errlen);
		free(b.data);
		ret = b.too_big			       ? -EFBIG
		      : rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
		      : rc == CURLE_COULDNT_CONNECT    ? -ECONNREFUSED
						       : -EIO;
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply->status);
		reply->body = b.data ? b.data : strdup("");
		reply->len = b.len;
		if (!reply->body) {
			snprintf(err, errlen, "out of memory");
			ret = -ENOMEM;
		}
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	return ret;
}

void http_reply_free(struct http_reply *reply)
{
	free(reply->body);
	reply->body = NULL;
	reply->len = 0;
}
