// SPDX-License-Identifier: GPL-2.0
/*
 * The HTTP service (docs/HTTP.md) on libmicrohttpd's epoll event threads
 * (--http-threads), each serving many connections. Downloads run on them;
 * a request whose work may block (an upload's fsyncs, SQLite commits, the
 * metadata's lock) runs on a thread of its own (offload.h), so that it
 * stalls no other client.
 *
 * Every request goes through one routing table (resources[] below): each
 * route names its method, the scope a key needs for it (auth.h), whether
 * a key limited to a prefix must reach the URL's file, whether
 * --public-read or a presigned URL may stand in for a key, and its
 * handler. begin() identifies the caller (401 without a valid key, except
 * /healthz), then checks the URL (404, 400), the method (405), the scope
 * and prefix (403), and only then calls the handler.
 *
 * The access handler is called once when the headers are in, then once per
 * piece of body, then once more with no data: a request's state lives in
 * struct request (*req_cls, http.h) from the first call to the completion
 * callback, which also ends an upload that was cut off (committing
 * nothing), records the request's metrics and writes its access log line.
 *
 * URLs are not unescaped by libmicrohttpd (the unescape callback is the
 * identity): dgfsd decodes paths itself so that %00 and %2e%2e are seen
 * and refused rather than silently turned into something else, before any
 * prefix is compared.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "proto/sha256.h"
#include "dgfsd.h"
#include "header_with_body.h"
#include "http.h"
#include "httputil.h"
#include "offload.h"
#include "repl.h"
#include "tags_api.h"


static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- responses ---- */

/* Queues @resp (@size body bytes, for the access log) and drops our reference. */
enum MHD_Result http_queue(struct MHD_Connection *c, struct request *r, unsigned int status,
			   struct MHD_Response *resp, uint64_t size)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	r->status = status;
	r->bytes = strcmp(r->method, "HEAD") ? (int64_t)size : 0;
	/* An answer that carries a secret: no cache, shared or private, keeps it. */
	if (r->no_store)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	/* Every answer: a browser takes the Content-Type as given, never guesses. */
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	/* A file's bytes to send: its header goes with them (header_with_body.c). */
	if ((status == MHD_HTTP_OK || status == MHD_HTTP_PARTIAL_CONTENT) && strcmp(r->method, "HEAD"))
		header_with_body_arm(c, resp);
	ret = MHD_queue_response(c, status, resp);
	if (ret != MHD_YES)
		header_with_body_done(c);	/* not sent: not armed either */
	MHD_destroy_response(resp);
	return ret;
}

static struct MHD_Response *text_response(const char *type, char *text, size_t len)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return NULL;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	return resp;
}

/* @j (taken) as one line of JSON; *status becomes 500 if it cannot be built. */
static struct MHD_Response *json_response(json_t *j, unsigned int *status, size_t *len)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (!text) {
		/* Out of memory, or a string jansson refused: still answer. */
		text = strdup("{\"error\":\"cannot build the answer\"}");
		*status = 500;
		if (!text)
			return NULL;
	}
	/* One line: curl and scripts print it nicely. */
	*len = strlen(text);
	text = realloc(text, *len + 2);
	if (!text)
		return NULL;
	text[(*len)++] = '\n';
	text[*len] = '\0';
	return text_response("application/json", text, *len);
}

enum MHD_Result http_send_json(struct MHD_Connection *c, struct request *r, unsigned int status,
			       json_t *j)
{
	size_t len = 0;
	struct MHD_Response *resp = json_response(j, &status, &len);

	return http_queue(c, r, status, resp, len);
}

static json_t *error_json(const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	return json_pack("{s:s}", "error", msg);
}

enum MHD_Result http_send_error(struct MHD_Connection *c, struct request *r, unsigned int status,
				const char *fmt, ...)
{
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	j = error_json(fmt, ap);
	va_end(ap);
	return http_send_json(c, r, status, j);
}

struct MHD_Response *http_empty_response(void)
{
	return MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
}

enum MHD_Result http_send_empty(struct MHD_Connection *c, struct request *r,
				unsigned int status)
{
	return http_queue(c, r, status, http_empty_response(), 0);
}

/* ---- the connection's addresses ---- */

/* --trusted-proxy's networks (set at start, read-only after). */
static const struct proxy_trust *http_trust;

static int tcp_peer(struct MHD_Connection *c, uint8_t addr[DGFS_ADDR_LEN])
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return -1;
	return dgfs_addr_from_sockaddr(ci->client_addr, addr);
}

/* Every X-Forwarded-For header of the request, joined with ",", in order. */
static enum MHD_Result xff_join(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *value)
{
	char **all = cls, *more;

	(void)kind;
	if (strcasecmp(key, "X-Forwarded-For") || !value)
		return MHD_YES;
	if (asprintf(&more, "%s%s%s", *all ? *all : "", *all ? "," : "", value) < 0) {
		free(*all);
		*all = strdup("");	/* no memory: malformed, so the peer counts */
		return MHD_NO;
	}
	free(*all);
	*all = more;
	return MHD_YES;
}

/* @s for a log line: printable ASCII but '%' kept, the rest as %XX; cut. */
static void log_escape(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s && o + 4 < len; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch >= 0x20 && ch < 0x7f && ch != '%')
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, len - o, "%%%02X", ch);
	}
	out[o] = '\0';
}

/*
 * The request's client: the TCP peer, or the address a trusted proxy
 * names (proxy.h). @log: say when a trusted proxy's header was malformed.
 */
static int resolve_client(struct MHD_Connection *c, uint8_t addr[DGFS_ADDR_LEN], bool log)
{
	uint8_t peer[DGFS_ADDR_LEN];
	char *xff = NULL;

	if (tcp_peer(c, peer))
		return -1;
	memcpy(addr, peer, DGFS_ADDR_LEN);
	if (!http_trust || !http_trust->n || !proxy_trusted(http_trust, peer))
		return 0;
	MHD_get_connection_values(c, MHD_HEADER_KIND, xff_join, &xff);
	switch (proxy_client(http_trust, peer, xff, addr)) {
	case PROXY_PEER:
	case PROXY_FORWARDED:
		break;
	case PROXY_MALFORMED:
		memcpy(addr, peer, DGFS_ADDR_LEN);
		if (log) {
			char from[INET6_ADDRSTRLEN], text[256];

			dgfs_addr_str(peer, from, sizeof(from));
			log_escape(xff, text, sizeof(text));
			fprintf(stderr, "dgfsd: ignoring a malformed X-Forwarded-For from trusted "
				"proxy %s: \"%s\"\n", from, text);
		}
		break;
	}
	free(xff);
	return 0;
}

int http_client_addr(struct MHD_Connection *c, uint8_t addr[DGFS_ADDR_LEN])
{
	return resolve_client(c, addr, false);
}

const char *http_scheme(struct dgfsd *d, struct MHD_Connection *c)
{
	uint8_t peer[DGFS_ADDR_LEN];
	const char *proto;

	if (d->tls.cert_pem)
		return "https";
	/* A trusted proxy that took the client's TLS says so. */
	proto = http_header(c, "X-Forwarded-Proto");
	if (proto && !strcasecmp(proto, "https") && http_trust && !tcp_peer(c, peer) &&
	    proxy_trusted(http_trust, peer))
		return "https";
	return "http";
}

/* The address the client reached us at: the fast path's host by default. */
void http_local_host(struct MHD_Connection *c, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci;
	struct sockaddr_storage ss;
	socklen_t slen = sizeof(ss);
	uint8_t addr[DGFS_ADDR_LEN];

	snprintf(buf, len, "127.0.0.1");
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci || getsockname(ci->connect_fd, (struct sockaddr *)&ss, &slen))
		return;
	if (dgfs_addr_from_sockaddr((struct sockaddr *)&ss, addr))
		return;
	dgfs_addr_str(addr, buf, len);
}

/* ---- the smaller endpoints ---- */

static enum MHD_Result healthz(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	char *text = strdup("ok\n");

	(void)d;
	if (!text)
		return MHD_NO;
	return http_queue(c, r, 200, text_response("text/plain", text, 3), 3);
}

static enum MHD_Result metrics_page(struct dgfsd *d, struct MHD_Connection *c,
				    struct request *r)
{
	size_t len;
	char *text = metrics_render(d, &len);

	if (!text)
		return http_send_error(c, r, 503, "out of memory");
	return http_queue(c, r, 200, text_response("text/plain; version=0.0.4", text, len), len);
}

enum MHD_Result http_method_not_allowed(struct MHD_Connection *c, struct request *r,
					const char *allow)
{
	struct MHD_Response *resp;
	char *text = strdup("{\"error\":\"method not allowed\"}\n");
	size_t len;

	if (!text)
		return MHD_NO;
	len = strlen(text);
	resp = text_response("application/json", text, len);
	if (resp)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	return http_queue(c, r, 405, resp, len);
}

bool http_has_arg(struct MHD_Connection *c, const char *key)
{
	return MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, key, strlen(key), NULL,
					     NULL) == MHD_YES;
}

static const char *query_value(struct MHD_Connection *c, const char *key)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

const char *http_header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* ---- the routing table ---- */

enum route_arg {
	ARG_NONE,	/* the URL is the resource */
	ARG_FILE,	/* a file path follows: decoded and checked (400) */
	ARG_CHUNK,	/* a chunk id follows: 64 hex digits (400) */
	ARG_KEY,	/* a key id follows (400) */
};

enum route_flags {
	R_OPEN = 1 << 0,		/* no key at all (health checks) */
	R_PUBLIC_READ = 1 << 1,		/* no key needed with --public-read */
	R_PUBLIC_METRICS = 1 << 2,	/* no key needed with --public-metrics */
	R_PRESIGN = 1 << 3,		/* a presigned URL may stand for the key */
	R_PREFIX = 1 << 4,		/* the file must lie under the key's prefix */
	R_WHOLE = 1 << 5,		/* a key limited to a prefix may not */
	R_CLUSTER = 1 << 7,		/* hosts only: the cluster's signature, no key */
	R_TAGS = 1 << 8,		/* tags, search, graph: a backend with them (meta_has_tags) */
};

struct route {
	const char *method;		/* "GET" takes HEAD too */
	enum meta_scope scope;		/* the least scope that may call it */
	unsigned int flags;
	http_handler handler;
};

struct resource {
	const char *url;		/* the whole URL; its start for an ARG_* */
	enum route_arg arg;
	const char *allow;		/* the Allow header of a 405 */
	struct route routes[4];
};

/*
 * Every route, and what it takes (docs/HTTP.md, "Access"). Exact URLs come
 * before the prefixes they share a start with.
 */
static const struct resource resources[] = {
	{ "/healthz", ARG_NONE, "GET, HEAD", {
		{ "GET", META_SCOPE_NONE, R_OPEN, healthz } } },
	{ "/metrics", ARG_NONE, "GET, HEAD", {
		{ "GET", META_SCOPE_READ, R_PUBLIC_METRICS, metrics_page } } },
	/* A key limited to a prefix lists only under it (files_list). */
	{ "/files/", ARG_NONE, "GET, HEAD", {
		{ "GET", META_SCOPE_READ, R_PUBLIC_READ, files_list } } },
	{ "/files", ARG_NONE, "GET, HEAD", {
		{ "GET", META_SCOPE_READ, R_PUBLIC_READ, files_list } } },
	/* Dedup answers whether content is stored: writers only. */
	{ "/chunks/missing", ARG_NONE, "POST", {
		{ "POST", META_SCOPE_WRITE, 0, chunks_missing } } },
	{ "/keys", ARG_NONE, "GET, HEAD, POST", {
		{ "GET", META_SCOPE_ADMIN, R_WHOLE, keys_api_list },
		{ "POST", META_SCOPE_ADMIN, R_WHOLE, keys_api_add } } },
	{ "/cluster/hosts", ARG_NONE, "GET, HEAD", {
		{ "GET", META_SCOPE_ADMIN, R_WHOLE, cluster_api_hosts } } },
	{ "/cluster/repair", ARG_NONE, "GET, HEAD", {
		{ "GET", META_SCOPE_ADMIN, R_WHOLE, cluster_api_repair } } },
	{ "/cluster/drain", ARG_NONE, "POST", {
		{ "POST", META_SCOPE_ADMIN, R_WHOLE, cluster_api_drain } } },
	/* Any key, for what it may do itself (keys_api_presign checks). */
	{ "/presign", ARG_NONE, "POST", {
		{ "POST", META_SCOPE_READ, 0, keys_api_presign } } },
	/* The manifest (?manifest) and its fast-path tokens go to readers only. */
	{ "/files/", ARG_FILE, "GET, HEAD, PUT, DELETE, POST", {
		{ "GET", META_SCOPE_READ, R_PUBLIC_READ | R_PRESIGN | R_PREFIX, files_get },
		{ "PUT", META_SCOPE_WRITE, R_PRESIGN | R_PREFIX, files_put },
		{ "DELETE", META_SCOPE_WRITE, R_PRESIGN | R_PREFIX, files_delete },
		{ "POST", META_SCOPE_WRITE, R_PREFIX, files_commit } } },
	/* A prefix key reads a chunk only if a file under it lists it (chunks_get). */
	{ "/chunks/", ARG_CHUNK, "GET, HEAD, PUT", {
		{ "GET", META_SCOPE_READ, R_PUBLIC_READ, chunks_get },
		{ "PUT", META_SCOPE_WRITE, 0, chunks_put } } },
	/* Between hosts: the cluster secret's signature, never a key (internal_api.c). */
	{ "/internal/chunks/", ARG_CHUNK, "GET, HEAD, PUT, DELETE", {
		{ "GET", META_SCOPE_NONE, R_CLUSTER, internal_chunk_get },
		{ "PUT", META_SCOPE_NONE, R_CLUSTER, internal_chunk_put },
		{ "DELETE", META_SCOPE_NONE, R_CLUSTER, internal_chunk_delete } } },
	/* An implication reaches every file: no prefix key may change one. */
	/* A prefix key finds and tags only under its prefix (search_api.c, graph.c). */
	{ "/search", ARG_NONE, "GET, HEAD, POST", {
		{ "GET", META_SCOPE_READ, R_PUBLIC_READ | R_TAGS, search_api_get },
		{ "POST", META_SCOPE_WRITE, R_TAGS, search_api_post } } },
	{ "/graph", ARG_NONE, "GET, HEAD", {
		{ "GET", META_SCOPE_READ, R_PUBLIC_READ | R_TAGS, graph_api_get } } },
	/* Completion: a prefix key sees only the tags of files under it. */
	{ "/tags", ARG_NONE, "GET, HEAD", {
		{ "GET", META_SCOPE_READ, R_PUBLIC_READ | R_TAGS, tags_api_list } } },
	{ "/tags/implies", ARG_NONE, "GET, HEAD, POST", {
		{ "GET", META_SCOPE_READ, R_PUBLIC_READ | R_TAGS, tags_api_implies_list },
		{ "POST", META_SCOPE_WRITE, R_WHOLE | R_TAGS, tags_api_implies_post } } },
	{ "/keys/", ARG_KEY, "DELETE", {
		{ "DELETE", META_SCOPE_ADMIN, R_WHOLE, keys_api_revoke } } },
	/* The web UI's page and assets (web.c): the page asks for a key itself. */
	{ "/", ARG_NONE, "GET, HEAD", { { "GET", META_SCOPE_NONE, R_OPEN, web_get } } },
	{ "/assets/", ARG_FILE, "GET, HEAD", { { "GET", META_SCOPE_NONE, R_OPEN, web_get } } },
};

static const struct resource *find_resource(const char *url)
{
	size_t i;

	for (i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
		const struct resource *res = &resources[i];

		if (res->arg == ARG_NONE ? !strcmp(url, res->url) :
		    !strncmp(url, res->url, strlen(res->url)))
			return res;
	}
	return NULL;
}

static const struct route *find_route(const struct resource *res, const char *method)
{
	size_t i;

	if (!strcmp(method, "HEAD"))
		method = "GET";
	for (i = 0; i < sizeof(res->routes) / sizeof(res->routes[0]) && res->routes[i].method; i++)
		if (!strcmp(method, res->routes[i].method))
			return &res->routes[i];
	return NULL;
}

/* The URL's argument into the request: NULL, or why it is refused (400). */
static const char *parse_arg(struct request *r, const struct resource *res, const char *url)
{
	const char *arg = url + strlen(res->url), *why;
	char *end;

	if (r->arg_parsed)
		return NULL;
	switch (res->arg) {
	case ARG_NONE:
		break;
	case ARG_FILE:
		why = dgfsd_path_decode(arg, r->path, sizeof(r->path), false);
		if (why)
			return why;
		break;
	case ARG_CHUNK:
		if (strlen(arg) != 2 * DGFS_CHUNK_ID_LEN ||
		    dgfs_hex_decode(arg, r->id, DGFS_CHUNK_ID_LEN))
			return "a chunk id is 64 hex digits";
		break;
	case ARG_KEY:
		errno = 0;
		r->key_id = strtoll(arg, &end, 10);
		if (errno || *end || !*arg || *arg < '1' || *arg > '9' || r->key_id <= 0)
			return "a key id is a positive number";
		break;
	}
	r->arg_parsed = true;
	return NULL;
}

static enum MHD_Result unauthorized(struct MHD_Connection *c, struct request *r,
				    const char *why)
{
	unsigned int status = 401;
	struct MHD_Response *resp;
	size_t len = 0;

	resp = json_response(json_pack("{s:s}", "error", why), &status, &len);
	/* RFC 6750: tells a client which scheme to retry with. */
	if (resp)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"dgfsd\"");
	return http_queue(c, r, status, resp, len);
}

/*
 * Who is asking: a key (Authorization: Bearer), a presigned URL (which
 * acts for the key that signed it, for its method and file only), or
 * nobody, which only the routes --public-read and --public-metrics open
 * let through. true to go on; false when an answer is queued in *ret.
 */
static bool identify(struct dgfsd *d, struct MHD_Connection *c, struct request *r,
		     const struct resource *res, const struct route *rt, const char *url,
		     enum MHD_Result *ret)
{
	const char *hdr = http_header(c, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *sig = query_value(c, "sig"), *why;
	int64_t key_id;
	int err;

	if (hdr) {
		/* A bad key is refused, even where no key is needed. */
		err = auth_check_bearer(d->keys, hdr, &r->who, &why);
		if (err)
			memset(&r->who, 0, sizeof(r->who));	/* logged as nobody */
		if (err == -EIO)
			*ret = http_send_error(c, r, 503, "%s", why);
		else if (err)
			*ret = unauthorized(c, r, why);
		return !err;
	}
	if (sig) {
		if (!rt || !(rt->flags & R_PRESIGN)) {
			*ret = http_send_error(c, r, 403, "a presigned URL is for GET, HEAD, "
					       "PUT or DELETE of a file");
			return false;
		}
		why = parse_arg(r, res, url);
		if (why) {
			*ret = http_send_error(c, r, 400, "bad path: %s", why);
			return false;
		}
		err = auth_presign_check(d->presign_secret, r->method, r->path,
					 query_value(c, "expires"), query_value(c, "keyid"), sig,
					 (int64_t)time(NULL), &key_id, &why);
		if (!err) {
			err = meta_key_get(d->keys, key_id, &r->who);
			why = err == -ENOENT ? "no key signed this URL" : "cannot read the keys";
			if (!err && r->who.revoked) {
				err = -EACCES;
				why = "the key that signed this URL was revoked";
			}
			if (err && err != -ENOENT && err != -EACCES) {
				memset(&r->who, 0, sizeof(r->who));
				*ret = http_send_error(c, r, 503, "%s", why);
				return false;
			}
		}
		if (err) {
			memset(&r->who, 0, sizeof(r->who));
			*ret = http_send_error(c, r, 403, "%s", why);
			return false;
		}
		r->presigned = true;
		return true;
	}
	if (rt && (((rt->flags & R_PUBLIC_READ) && d->cfg.public_read) ||
		   ((rt->flags & R_PUBLIC_METRICS) && d->cfg.public_metrics))) {
		r->who.scope = META_SCOPE_READ;		/* id 0, no prefix */
		return true;
	}
	*ret = unauthorized(c, r, "an API key is needed: \"Authorization: Bearer KEY\"");
	return false;
}

/* The first call for a request: route it, and answer it unless a body follows. */
static enum MHD_Result begin(struct dgfsd *d, struct MHD_Connection *c, struct request *r,
			     const char *url, const char *method)
{
	const struct resource *res = find_resource(url);
	const struct route *rt = res ? find_route(res, method) : NULL;
	enum MHD_Result ret;
	const char *why;

	if (res && (res->routes[0].flags & R_CLUSTER)) {
		if (!internal_api_allowed(d, c, r, url, &ret))
			return ret;
	} else if (!(res && (res->routes[0].flags & R_OPEN)) &&
		   !identify(d, c, r, res, rt, url, &ret)) {
		return ret;
	}
	if (!res)
		return http_send_error(c, r, 404, "no such resource");
	why = parse_arg(r, res, url);
	if (why)
		return http_send_error(c, r, 400, res->arg == ARG_FILE ? "bad path: %s" : "%s",
				       why);
	if (!rt)
		return http_method_not_allowed(c, r, res->allow);
	if (r->who.scope < rt->scope)
		return http_send_error(c, r, 403, "this needs a %s key; this one is %s",
				       meta_scope_name(rt->scope), meta_scope_name(r->who.scope));
	if (r->who.prefix[0] && (rt->flags & R_WHOLE))
		return http_send_error(c, r, 403, "this key reaches only %s", r->who.prefix);
	if ((rt->flags & R_PREFIX) && !auth_path_allowed(r->who.prefix, r->path))
		return http_send_error(c, r, 403, "this key reaches only %s", r->who.prefix);
	if ((rt->flags & R_TAGS) && !meta_has_tags(d->meta))
		return http_no_sql(c, r);
	return rt->handler(d, c, r);
}

enum MHD_Result http_no_sql(struct MHD_Connection *c, struct request *r)
{
	return http_send_error(c, r, 501, "tags, search and the graph need SQLite or "
			       "PostgreSQL metadata");
}

bool http_budget_take(struct dgfsd *d, struct request *r, uint64_t n)
{
	uint64_t cur = atomic_load(&d->body_memory);

	do {
		if (n > d->cfg.max_body_memory || cur > d->cfg.max_body_memory - n)
			return false;
	} while (!atomic_compare_exchange_weak(&d->body_memory, &cur, cur + n));
	r->budget_held += n;
	return true;
}

/*
 * A body kept whole grows by doubling (up to its route's limit), each
 * step paid from the global budget first: however many clients send
 * bodies at once, together they hold at most --max-body-memory.
 */
static void body_append(struct dgfsd *d, struct request *r, const char *data, size_t len)
{
	size_t need = r->body_len + len, cap;
	uint8_t *nb;

	if (r->body_too_big || r->body_no_memory)
		return;
	if (len > r->body_max - r->body_len) {
		r->body_too_big = true;
		return;
	}
	if (need > r->body_cap) {
		cap = r->body_cap ? r->body_cap : r->body_max < (64u << 10) ? r->body_max : 64u << 10;
		while (cap < need)
			cap = cap > r->body_max / 2 ? r->body_max : 2 * cap;
		if (!http_budget_take(d, r, cap - r->body_cap)) {
			r->body_no_memory = true;
			return;
		}
		nb = realloc(r->body, cap);
		if (!nb) {
			r->body_no_memory = true;
			return;
		}
		r->body = nb;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
}

static enum MHD_Result finish(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	if (!r->finish)
		return MHD_NO;
	/* An upload streams its body; the others keep it whole, bounded. */
	if (!r->up && r->body_no_memory)
		return http_send_error(c, r, 503, "too many request bodies at once; try again");
	if (!r->up && r->body_too_big)
		return http_send_error(c, r, 413, "request body larger than %zu bytes",
				       r->body_max);
	if (r->json_body && !http_budget_take(d, r, dgfsd_json_allowance(r->body_len)))
		return http_send_error(c, r, 503, "too many request bodies at once; try again");
	return r->finish(d, c, r);
}

static void client_str(struct MHD_Connection *c, char *buf, size_t len)
{
	uint8_t addr[DGFS_ADDR_LEN];

	if (resolve_client(c, addr, true))
		snprintf(buf, len, "-");
	else
		dgfs_addr_str(addr, buf, len);
}

/* Whether a body follows the request's headers (RFC 9112, 6.3). */
static bool has_body(struct MHD_Connection *c)
{
	const char *len = http_header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);

	return http_header(c, MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
	       (len && strspn(len, "0") != strlen(len));
}

/* One call of the access handler for a request under way (not its first). */
static enum MHD_Result handle(struct dgfsd *d, struct MHD_Connection *c, struct request *r,
			      const char *url, const char *method, const char *upload_data,
			      size_t *upload_data_size)
{
	if (!r->routed) {
		enum MHD_Result ret;

		r->routed = true;
		ret = begin(d, c, r, url, method);
		if (ret != MHD_YES || r->status)
			return ret;
	}
	if (r->status)
		return MHD_YES;		/* answered already; the body is ignored */
	if (*upload_data_size) {
		if (r->up)
			upload_feed(r->up, upload_data, *upload_data_size);
		else
			body_append(d, r, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return finish(d, c, r);
}

/*
 * Whether a request's work may block (an upload's fsyncs, a commit's
 * hashing and transaction, a delete, anything that takes the metadata's
 * lock, which a writer may hold for long): then it runs on a thread of
 * its own (offload.h). File downloads and manifests read the metadata
 * without that lock (meta.h), health checks and the web UI's files not
 * at all, so they stay on the event thread; but a manifest that lists
 * replicas asks chunk_copies, on a connection uploads share.
 */
static bool http_may_block(const struct dgfsd *d, struct MHD_Connection *c, const char *url,
			   const char *method)
{
	const struct resource *res = find_resource(url);
	const struct route *rt = res ? find_route(res, method) : NULL;

	if (!rt)
		return false;		/* 404, 405: answered at once */
	/* But its tags and graph (SQL), and a cluster's manifest (chunk_copies). */
	if (rt->handler == files_get)
		return http_has_arg(c, "tags") || http_has_arg(c, "related") ||
		       (http_has_arg(c, "manifest") && repl_on(d));
	return rt->handler != healthz && rt->handler != web_get;
}

/* Set by http_stop: no more work is handed over. */
static atomic_bool http_stopping;
/* Access handlers between their look at http_stopping and the hand-over. */
static atomic_uint http_handing_over;

/* On the request's thread: one call's work, the piece of body copied. */
static void offloaded_call(void *arg)
{
	struct request *r = arg;
	size_t len = r->off_len;
	enum MHD_Result ret;

	if (r->off_begin) {
		r->off_begin = false;
		ret = begin(r->off_d, r->off_c, r, r->off_url, r->off_method);
	} else {
		ret = handle(r->off_d, r->off_c, r, r->off_url, r->off_method, r->off_data, &len);
	}
	if (ret != MHD_YES)
		r->off_failed = true;
}

/* The request's thread, made at its first piece of work; false if none. */
static bool offload_prepare(struct dgfsd *d, struct MHD_Connection *c, struct request *r,
			    const char *url, const char *method)
{
	if (r->off)
		return true;
	r->off = offload_new(c, 1u << 20);
	if (!r->off) {
		r->offloaded = false;
		return false;
	}
	r->off_d = d;
	r->off_c = c;
	r->off_url = url;
	r->off_method = method;
	return true;
}

/* Hands the work set up in @r over, unless dgfsd is stopping; MHD_NO then. */
static enum MHD_Result offload_hand_over(struct request *r)
{
	/* http_stop waits for both counts to be 0, so no suspended connection outlives it. */
	atomic_fetch_add(&http_handing_over, 1);
	if (atomic_load(&http_stopping)) {
		atomic_fetch_sub(&http_handing_over, 1);
		return MHD_NO;
	}
	offload_run(r->off, offloaded_call, r);
	atomic_fetch_sub(&http_handing_over, 1);
	return MHD_YES;
}

bool http_hand_over(struct offload *o, offload_fn fn, void *arg)
{
	atomic_fetch_add(&http_handing_over, 1);
	if (atomic_load(&http_stopping)) {
		atomic_fetch_sub(&http_handing_over, 1);
		return false;
	}
	offload_run(o, fn, arg);
	atomic_fetch_sub(&http_handing_over, 1);
	return true;
}

/*
 * The first call of a request with a body whose work may block: routing
 * and the handler's first look (a PUT's If-Match reads the file under the
 * chunk store's lock, which a commit may hold for long) run on the
 * request's thread while the connection is suspended, as the later calls'
 * work does. A refusal queued there goes out before the body is sent
 * (Expect: 100-continue). Without one, libmicrohttpd, once resumed, calls
 * the handler for the first call again (it calls it until the first call
 * leaves an answer or returns with the connection running, 0.9.75's
 * connection.c); that repeat, with no body yet, has nothing to do
 * (off_recall). tests/dgfsd/test_conditional.sh shows both ways.
 */
static enum MHD_Result offload_first_call(struct dgfsd *d, struct MHD_Connection *c,
					  struct request *r, const char *url, const char *method)
{
	if (!offload_prepare(d, c, r, url, method))
		return begin(d, c, r, url, method);	/* no thread: here, slow beats none */
	r->off_begin = true;
	r->off_recall = true;
	r->off_len = 0;
	return offload_hand_over(r);
}

/*
 * A call of a request whose work may block: its work (with a copy of the
 * body's piece) goes to the request's thread while the connection is
 * suspended. libmicrohttpd may call again for more of a chunked body
 * before that work is done: the piece is then left unconsumed, and is
 * offered again once the connection is resumed.
 */
static enum MHD_Result offload_call(struct dgfsd *d, struct MHD_Connection *c, struct request *r,
				    const char *url, const char *method, const char *upload_data,
				    size_t *upload_data_size)
{
	if (r->off_failed)
		return MHD_NO;
	if (r->off && offload_busy(r->off))
		return MHD_YES;
	/* The first call again, after its offloaded work (offload_first_call). */
	if (r->off_recall) {
		r->off_recall = false;
		if (!*upload_data_size)
			return MHD_YES;
	}
	/* The final call's work queued no answer: nothing more will. */
	if (r->off_final)
		return MHD_NO;
	/* No thread: do the work here, as a slow answer beats none. */
	if (!offload_prepare(d, c, r, url, method))
		return handle(d, c, r, url, method, upload_data, upload_data_size);
	if (*upload_data_size > r->off_cap) {
		char *nb = realloc(r->off_data, *upload_data_size);

		if (!nb)
			return MHD_NO;
		r->off_data = nb;
		r->off_cap = *upload_data_size;
	}
	if (*upload_data_size)
		memcpy(r->off_data, upload_data, *upload_data_size);
	else
		r->off_final = true;
	r->off_len = *upload_data_size;
	*upload_data_size = 0;
	return offload_hand_over(r);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *c, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **req_cls)
{
	struct dgfsd *d = cls;
	struct request *r = *req_cls;

	(void)version;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->start_ns = now_ns();
		snprintf(r->method, sizeof(r->method), "%s", method);
		snprintf(r->url, sizeof(r->url), "%s", url);
		client_str(c, r->client, sizeof(r->client));
		r->offloaded = http_may_block(d, c, url, method);
		*req_cls = r;
		/*
		 * A request with a body is routed now, so a refusal goes out
		 * before the client sends the body (Expect: 100-continue); MHD
		 * then closes the connection, as it must with a body unread.
		 * One without waits for MHD's next call, when it has been read
		 * to its end: answered any earlier, MHD could not keep the
		 * connection alive for the client's next request. A request
		 * whose work may block is routed on a thread of its own.
		 */
		if (!has_body(c))
			return MHD_YES;
		r->routed = true;
		if (r->offloaded)
			return offload_first_call(d, c, r, url, method);
		return begin(d, c, r, url, method);
	}
	if (r->offloaded)
		return offload_call(d, c, r, url, method, upload_data, upload_data_size);
	return handle(d, c, r, url, method, upload_data, upload_data_size);
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct dgfsd *d = cls;
	struct request *r = *req_cls;
	bool ok = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
	uint64_t took;

	header_with_body_done(c);
	if (!r)
		return;
	took = now_ns() - r->start_ns;
	/* Cut off before its answer: status 0 counts as such in the metrics. */
	metrics_record(r->method, ok ? r->status : 0, took);
	accesslog_write(d->alog, &(struct accesslog_entry){
		.client = r->client, .key_id = r->who.id, .presigned = r->presigned,
		.method = r->method, .path = r->url, .status = r->status,
		.bytes = ok ? r->bytes : -1, .duration_ns = took });
	offload_free(r->off);	/* idle: the connection is not suspended */
	free(r->off_data);
	upload_free(r->up);	/* uncommitted: its new chunks go */
	free(r->body);
	atomic_fetch_sub(&d->body_memory, r->budget_held);
	free(r);
	*req_cls = NULL;
}

/* Keep URLs as sent: see the top of this file. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

/* Set once the daemon runs: until then libmicrohttpd's reasons are always shown. */
static atomic_bool http_started;

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
	struct dgfsd *d = cls;

	if (!d->cfg.verbose && atomic_load(&http_started))
		return;
	fprintf(stderr, "dgfsd: http: ");
	vfprintf(stderr, fmt, ap);
}

static void notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			      enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	(void)socket_context;
	header_with_body_connection(c, toe == MHD_CONNECTION_NOTIFY_STARTED);
}

int http_start(struct dgfsd *d)
{
	struct sockaddr_storage ss;
	/*
	 * A few event threads (epoll), each serving many connections: a
	 * thread per connection cost a context switch per request, and a
	 * select() each, half of a small download's CPU (docs/BENCHMARKS.md).
	 * Work that may block gets a thread of its own instead (offload.h),
	 * which suspend and resume let run off the event thread.
	 */
	unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
			     MHD_USE_ERROR_LOG;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int threads = d->cfg.http_threads ? d->cfg.http_threads :
			       cpus < 1 ? 1 : cpus > DGFSD_HTTP_THREADS_MAX ? DGFSD_HTTP_THREADS_MAX :
			       (unsigned int)cpus;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	/* What only some starts have: a listen address, HTTPS. */
	struct MHD_OptionItem extra[5];
	unsigned int n = 0;

	memset(&ss, 0, sizeof(ss));
	http_trust = &d->cfg.trusted;
	sendfile_step_set((size_t)d->cfg.http_sendfile_step);
	/* Over TLS libmicrohttpd encrypts file bodies itself: no sendfile(). */
	header_with_body_set(!d->cfg.http_lone_header && !d->tls.cert_pem);
	if (d->cfg.listen[0]) {
		if (inet_pton(AF_INET, d->cfg.listen, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons(d->cfg.http_port);
		} else if (inet_pton(AF_INET6, d->cfg.listen, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(d->cfg.http_port);
			flags |= MHD_USE_IPv6;
		} else {
			fprintf(stderr, "dgfsd: --listen \"%s\" is not an IP address\n",
				d->cfg.listen);
			return -EINVAL;
		}
		extra[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &ss };
	} else {
		flags |= MHD_USE_DUAL_STACK;
	}
	if (d->tls.cert_pem) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			fprintf(stderr, "dgfsd: this libmicrohttpd has no TLS support: HTTPS "
				"(--tls-cert) is not possible with it\n");
			return -EOPNOTSUPP;
		}
		flags |= MHD_USE_TLS;
		extra[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
						       d->tls.cert_pem };
		extra[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
						       d->tls.key_pem };
		/* GnuTLS's defaults without the versions RFC 8996 retired. */
		extra[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
						       (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:"
						       "+VERS-TLS1.2" };
	}
	extra[n] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	d->mhd = MHD_start_daemon(flags, d->cfg.http_port, NULL, NULL, access_handler, d,
				  MHD_OPTION_NOTIFY_COMPLETED, completed, d,
				  MHD_OPTION_NOTIFY_CONNECTION, notify_connection, d,
				  MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
				  MHD_OPTION_CONNECTION_LIMIT, d->cfg.max_connections,
				  /* Slow or silent clients: neither holds a thread for long. */
				  MHD_OPTION_CONNECTION_TIMEOUT, d->cfg.client_timeout,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, d->cfg.max_per_ip,
				  /* Bounds a request's headers (431 past it). */
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64u << 10),
				  MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1u << 20),
				  MHD_OPTION_THREAD_POOL_SIZE, threads,
				  MHD_OPTION_EXTERNAL_LOGGER, log_mhd, d,
				  MHD_OPTION_ARRAY, extra, MHD_OPTION_END);
	if (!d->mhd) {
		fprintf(stderr, "dgfsd: cannot listen on %s port %u\n",
			d->tls.cert_pem ? "HTTPS" : "HTTP", d->cfg.http_port);
		return -EADDRINUSE;
	}
	atomic_store(&http_started, true);
	return 0;
}

void http_stop(struct dgfsd *d)
{
	if (!d->mhd)
		return;
	/*
	 * libmicrohttpd must not be stopped with a connection suspended:
	 * no more work is handed over, and the work under way ends (each
	 * resumes its connection) before the daemon goes.
	 */
	atomic_store(&http_stopping, true);
	while (atomic_load(&http_handing_over) || offload_in_flight_now())
		usleep(10000);
	MHD_stop_daemon(d->mhd);
	d->mhd = NULL;
}
