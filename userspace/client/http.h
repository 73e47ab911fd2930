/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small libcurl wrapper for the dgfs client's talk with dgfsd's HTTP API
 * (docs/HTTP.md): one handle per thread, whole answers in memory (bounded),
 * the error text of a JSON error body, and percent-encoding of file paths.
 */
#ifndef DGFS_CLIENT_HTTP_H
#define DGFS_CLIENT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The largest answer taken unless a request says otherwise (a manifest). */
#define HTTP_BODY_MAX		(1024ull << 20)

struct http;

struct http_resp {
	long status;		/* 0 when no answer came */
	char *body;		/* NUL-terminated; NULL if the answer had none */
	size_t len;
	size_t cap;
	uint64_t max;		/* refuse longer answers; 0: HTTP_BODY_MAX */
	uint64_t sent;		/* request body bytes that went out (all tries) */
	int too_big;		/* the answer passed max */
};

/* Once per process, before any thread starts: 0 or -1. */
int http_global_init(void);
void http_global_cleanup(void);
/*
 * The CA certificates (a PEM file) every handle trusts for https:// from
 * now on, instead of the system's; NULL: the system's. Before any thread
 * starts. Certificates and host names are always verified.
 */
void http_set_cacert(const char *path);

/*
 * A handle for the server at @base ("http://host:port", no trailing '/');
 * every request sends "Authorization: Bearer @api_key" unless it is NULL.
 */
struct http *http_new(const char *base, const char *api_key);
void http_free(struct http *h);		/* NULL is fine */
const char *http_base(const struct http *h);

struct http_req {
	const char *method;	/* "GET", "POST", "PUT", "DELETE" */
	const char *target;	/* after the base: "/files/a%20b?manifest" */
	const char *content_type;
	const char *content_encoding;
	const void *body;	/* for POST and PUT; may be empty */
	size_t len;
	/* Seconds the server may send nothing (it works first); 0: the default. */
	long quiet_s;
};

/*
 * The seconds a request may go without a byte in either direction: 60, or
 * $DGFS_TEST_STALL_TIMEOUT (tests of slow servers only).
 */
long http_stall_timeout(void);

/*
 * Sends one request and waits for the whole answer. 0 when an answer came
 * (any status: see resp->status), -1 when none did (the reason is in
 * http_strerror()). @resp is reset first; release it with http_resp_free().
 */
int http_do(struct http *h, const struct http_req *req, struct http_resp *resp);
const char *http_strerror(const struct http *h);
void http_resp_free(struct http_resp *resp);

/*
 * http_do(), tried again after a failure that may pass (no answer, 502,
 * 503, 504: the server may be restarting or busy), up to HTTP_TRIES tries
 * in all with a growing pause before each new one, unless *@stop (NULL:
 * never) is set by then. What the last try returned and answered.
 */
#define HTTP_TRIES	3
int http_do_tries(struct http *h, const struct http_req *req, struct http_resp *resp,
		  const _Atomic bool *stop);

/* The answer as JSON, NULL if it is not JSON. */
json_t *http_resp_json(const struct http_resp *resp);

/*
 * Reports a failed request on stderr, "dgfs CMD: WHAT: HTTP 404: no such
 * file" (the status and the server's {"error": ...} text), or why no answer
 * came; returns the exit code: NOTFOUND for 404, HTTP for other statuses,
 * CONNECT when no answer came. @rc is http_do()'s return value.
 */
int http_fail(const char *cmd, const char *what, const struct http *h,
	      const struct http_resp *resp, int rc);

/*
 * @s with every byte outside RFC 3986's unreserved set and '/' written as
 * %XX: a file path for /files/{path}, or a query value. malloc'd; NULL
 * when out of memory.
 */
char *http_escape(const char *s);

#endif /* DGFS_CLIENT_HTTP_H */
