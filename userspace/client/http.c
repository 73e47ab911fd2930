// SPDX-License-Identifier: GPL-2.0
/* The dgfs client's libcurl wrapper (http.h). */

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "client.h"
#include "http.h"

/* Give up on a server that sends or takes nothing for this long. */
#define HTTP_CONNECT_TIMEOUT_S	10
#define HTTP_STALL_TIMEOUT_S	60

struct http {
	CURL *curl;
	char *base;
	char *auth;		/* "Authorization: Bearer KEY", or NULL */
	/* curl's message, and a hint after it for a certificate it refused. */
	char errbuf[CURL_ERROR_SIZE + 160];
};

static const char *http_cacert;

int http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void http_global_cleanup(void)
{
	curl_global_cleanup();
}

void http_set_cacert(const char *path)
{
	http_cacert = path;
}

struct http *http_new(const char *base, const char *api_key)
{
	struct http *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->curl = curl_easy_init();
	h->base = strdup(base);
	if (api_key && asprintf(&h->auth, "Authorization: Bearer %s", api_key) < 0)
		h->auth = NULL;
	if (!h->curl || !h->base || (api_key && !h->auth)) {
		http_free(h);
		return NULL;
	}
	return h;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h->base);
	if (h->auth)
		explicit_bzero(h->auth, strlen(h->auth));
	free(h->auth);
	free(h);
}

const char *http_base(const struct http *h)
{
	return h->base;
}

const char *http_strerror(const struct http *h)
{
	return h->errbuf;
}

void http_resp_free(struct http_resp *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->len = resp->cap = 0;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct http_resp *resp = ctx;
	uint64_t max = resp->max ? resp->max : HTTP_BODY_MAX;
	size_t n = size * nmemb;

	if (n > max - resp->len) {
		/* Returning short makes curl fail the transfer. */
		resp->too_big = 1;
		return 0;
	}
	if (resp->len + n + 1 > resp->cap) {
		size_t cap = resp->cap ? resp->cap : 4096;
		char *p;

		while (cap < resp->len + n + 1)
			cap *= 2;
		p = realloc(resp->body, cap);
		if (!p)
			return 0;
		resp->body = p;
		resp->cap = cap;
	}
	memcpy(resp->body + resp->len, data, n);
	resp->len += n;
	resp->body[resp->len] = '\0';
	return n;
}

long http_stall_timeout(void)
{
	const char *v = getenv("DGFS_TEST_STALL_TIMEOUT");
	long s = v ? strtol(v, NULL, 10) : 0;

	return s > 0 ? s : HTTP_STALL_TIMEOUT_S;
}

int http_do(struct http *h, const struct http_req *req, struct http_resp *resp)
{
	struct curl_slist *hdrs = NULL, *t;
	char line[256], *url;
	curl_off_t up = 0;
	CURLcode rc;
	int ret = -1;

	http_resp_free(resp);
	resp->status = 0;
	resp->sent = 0;
	resp->too_big = 0;
	h->errbuf[0] = '\0';
	if (asprintf(&url, "%s%s", h->base, req->target) < 0) {
		snprintf(h->errbuf, sizeof(h->errbuf), "out of memory");
		return -1;
	}

	/*
	 * A reset handle keeps its connection cache, so keep-alive survives
	 * while no option of the previous request leaks into this one.
	 */
	curl_easy_reset(h->curl);
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);	/* threads */
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "dgfs/1");
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, (long)HTTP_CONNECT_TIMEOUT_S);
	curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_TIME,
			 req->quiet_s > http_stall_timeout() ? req->quiet_s : http_stall_timeout());
	curl_easy_setopt(h->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, resp);
	/* curl's defaults, said out loud: dgfs has no way to turn them off. */
	curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (http_cacert)
		curl_easy_setopt(h->curl, CURLOPT_CAINFO, http_cacert);

	if (!strcmp(req->method, "POST") || !strcmp(req->method, "PUT")) {
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
		if (strcmp(req->method, "POST"))
			curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, req->method);
	} else if (!strcmp(req->method, "HEAD")) {
		curl_easy_setopt(h->curl, CURLOPT_NOBODY, 1L);
	} else if (strcmp(req->method, "GET")) {
		curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, req->method);
	}

	/* Without a type of ours, curl would claim a form; an empty value drops it. */
	snprintf(line, sizeof(line), "Content-Type:%s%s", req->content_type ? " " : "",
		 req->content_type ? req->content_type : "");
	t = curl_slist_append(hdrs, line);
	if (t)
		hdrs = t;
	if (t && req->content_encoding) {
		snprintf(line, sizeof(line), "Content-Encoding: %s", req->content_encoding);
		t = curl_slist_append(hdrs, line);
	}
	if (t && h->auth)
		t = curl_slist_append(hdrs, h->auth);
	/* curl would wait for a 100 Continue before bodies over 1 MiB: a
	 * round trip per chunk for nothing.
	 */
	if (t)
		t = curl_slist_append(hdrs, "Expect:");
	if (!t) {
		snprintf(h->errbuf, sizeof(h->errbuf), "out of memory");
		goto out;
	}
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);

	rc = curl_easy_perform(h->curl);
	curl_easy_getinfo(h->curl, CURLINFO_SIZE_UPLOAD_T, &up);
	resp->sent = up > 0 ? (uint64_t)up : 0;
	if (rc != CURLE_OK) {
		if (resp->too_big)
			snprintf(h->errbuf, sizeof(h->errbuf), "the answer is larger than expected");
		else if (!h->errbuf[0])
			snprintf(h->errbuf, sizeof(h->errbuf), "%s", curl_easy_strerror(rc));
		if (rc == CURLE_PEER_FAILED_VERIFICATION) {
			size_t n = strlen(h->errbuf);

			snprintf(h->errbuf + n, sizeof(h->errbuf) - n, " (TLS: the server's "
				 "certificate was refused; a CA of your own goes in --cacert FILE or "
				 "$DGFS_CACERT)");
		}
		goto out;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	ret = 0;
out:
	curl_slist_free_all(hdrs);
	free(url);
	return ret;
}

static bool http_transient(int rc, const struct http_resp *resp)
{
	return rc < 0 || resp->status == 502 || resp->status == 503 || resp->status == 504;
}

int http_do_tries(struct http *h, const struct http_req *req, struct http_resp *resp,
		  const _Atomic bool *stop)
{
	uint64_t sent = 0;
	int rc = -1, try;

	for (try = 0; try < HTTP_TRIES; try++) {
		if (try)
			usleep(200000u << (try < 5 ? try : 5));
		rc = http_do(h, req, resp);
		sent += resp->sent;
		if (!http_transient(rc, resp) || (stop && atomic_load(stop)))
			break;
	}
	resp->sent = sent;
	return rc;
}

json_t *http_resp_json(const struct http_resp *resp)
{
	if (!resp->body)
		return NULL;
	return json_loadb(resp->body, resp->len, 0, NULL);
}

int http_fail(const char *cmd, const char *what, const struct http *h,
	      const struct http_resp *resp, int rc)
{
	const char *msg = NULL;
	json_t *j;

	if (rc < 0) {
		fprintf(stderr, "dgfs %s: %s: no answer from %s: %s\n", cmd, what, h->base,
			h->errbuf);
		return DGFS_EXIT_CONNECT;
	}
	j = http_resp_json(resp);
	if (j && json_is_string(json_object_get(j, "error")))
		msg = json_string_value(json_object_get(j, "error"));
	if (msg && resp->status == 401 && !h->auth)
		fprintf(stderr, "dgfs %s: %s: HTTP 401: %s (give the key with --api-key, "
			"$DGFS_API_KEY or ~/.config/dgfs/key)\n", cmd, what, msg);
	else if (msg)
		fprintf(stderr, "dgfs %s: %s: HTTP %ld: %s\n", cmd, what, resp->status, msg);
	else if (resp->status == 404)
		fprintf(stderr, "dgfs %s: %s: HTTP 404: not found\n", cmd, what);
	else
		fprintf(stderr, "dgfs %s: %s: unexpected HTTP %ld from %s\n", cmd, what,
			resp->status, h->base);
	json_decref(j);
	return resp->status == 404 ? DGFS_EXIT_NOTFOUND : DGFS_EXIT_HTTP;
}

char *http_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = malloc(3 * n + 1), *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}
