// SPDX-License-Identifier: GPL-2.0
/*
 * dgfs get REMOTE LOCAL: a download over the fast path (docs/CLIENT.md).
 *
 * The manifest (GET /files/{path}?manifest) lists the chunks with their
 * offsets and read tokens. Up to -j workers each take the next chunk and
 * read it whole with the windowed reader on a UDP socket of their own
 * (which checks it against its id), falling back to GET /chunks/{id} when
 * the fast path fails, and pwrite it at its offset into a temporary file
 * beside LOCAL (.LOCAL.dgfs-XXXXXX, made with O_EXCL: never a file or a
 * link someone else put there). The whole file is then read back and
 * checked against the manifest's etag before it is synced and renamed to
 * LOCAL: LOCAL is either the old file or the complete, verified new one;
 * on a failure the temporary file is removed. LOCAL "-": an unlinked
 * temporary file in $TMPDIR instead, copied to stdout once verified.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "proto/sha256.h"
#include "client.h"
#include "http.h"
#include "proto/dgfs_proto.h"
#include "proto/net.h"
#include "proto/reader.h"
#include "remote.h"

#define DEFAULT_TIMEOUT_MS	5000	/* without a new byte: a silent host's cost */
#define MIN_TIMEOUT_MS		20
#define DEFAULT_RETRIES		8
/* Requests no larger than this when the manifest names no max_read. */
#define DEFAULT_REQ_SIZE	(256u << 10)
#define MIN_REQ_SIZE		(64u << 10)
#define MAX_WINDOW		16
/* A chunk larger than this in a manifest is nonsense (FastCDC cuts at 4 MiB). */
#define MAX_CHUNK		(64u << 20)
#define VERIFY_BLOCK		(1u << 20)

struct gchunk {
	uint64_t offset;
	uint32_t size;
	uint8_t id[DGFS_CHUNK_ID_LEN];
	uint8_t token[DGFS_TOKEN_LEN];
};

struct get {
	const char *remote_path;
	const char *local;
	const char *stats_json;
	const char *server;		/* resolved once, before the workers start */
	const char *api_key;		/* the same */
	bool no_fallback, http_only, verbose;
	uint64_t timeout_ms, retries;
	char *target;			/* "/files/<escaped REMOTE>" */
	char *tmp;			/* the temporary file's name */
	bool to_stdout;			/* LOCAL is "-" */
	int fd;

	uint64_t size;
	uint8_t etag[DGFS_SHA256_BYTES];
	struct gchunk *chunks;
	size_t n;

	/* The fast path; fast is false when it is not to be used at all. */
	bool fast;
	char fast_host[256];
	uint16_t fast_port;
	uint32_t expiry;
	uint32_t req_size;
	struct sockaddr_storage sa;
	socklen_t salen;
	_Atomic bool fast_down;		/* a failure that will hit every chunk */
	_Atomic bool fast_warned;
	_Atomic uint64_t fast_progress;	/* the last new fast-path byte (reader.h) */

	_Atomic size_t next;
	_Atomic bool failed;
	_Atomic bool reported;
	pthread_mutex_t lock;
	int err;
	_Atomic uint64_t fallbacks;
	struct progress prog;
};

struct gworker {
	struct get *g;
	struct http *h;			/* for fallbacks, made on first use */
	int fd;				/* the UDP socket, -1 until first use */
	uint8_t local[DGFS_ADDR_LEN];
	unsigned int window;
	uint32_t req_size;
	uint64_t srtt_ns, rttvar_ns;	/* the last read's round-trip estimate */
};

static void get_usage(FILE *f)
{
	fprintf(f,
		"Usage: dgfs get [OPTIONS] REMOTE LOCAL\n"
		"  Downloads REMOTE into LOCAL over the fast path (UDP), chunk by chunk,\n"
		"  falling back to HTTP for chunks the fast path fails to bring.\n"
		"  LOCAL \"-\" writes the file to stdout once it is verified.\n"
		"      --no-fallback     a fast-path failure is an error (no HTTP fallback)\n"
		"      --http-only       skip the fast path, fetch everything over HTTP\n"
		"      --timeout MS      fast path: give up on a chunk after MS without a new\n"
		"                        byte of it (default %d)\n"
		"      --retries N       fast path: fruitless re-requests of a range, after\n"
		"                        which it is only waited for (default %d)\n"
		"      --stats-json FILE write {\"chunks\",\"fallback\",\"size\"} there\n"
		"  -v, --verbose         say why each fallback happened\n"
		REMOTE_OPTS_HELP,
		DEFAULT_TIMEOUT_MS, DEFAULT_RETRIES);
}

static void get_fail(struct get *g, int code)
{
	pthread_mutex_lock(&g->lock);
	if (!g->err)
		g->err = code;
	atomic_store(&g->failed, true);
	pthread_mutex_unlock(&g->lock);
}

/* Whether the caller is the one to explain the failure: one message, not -j. */
static bool first_failure(struct get *g)
{
	return !atomic_exchange(&g->reported, true);
}

/* ---- the manifest ------------------------------------------------------------ */

static bool json_u64(json_t *v, uint64_t max, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static const char *parse_chunks(struct get *g, json_t *list)
{
	uint64_t pos = 0, v;
	json_t *c;
	size_t i;

	if (!json_is_array(list))
		return "no \"chunks\" list";
	g->n = json_array_size(list);
	g->chunks = calloc(g->n ? g->n : 1, sizeof(*g->chunks));
	if (!g->chunks)
		return "out of memory";
	json_array_foreach(list, i, c) {
		struct gchunk *gc = &g->chunks[i];
		const char *token = json_string_value(json_object_get(c, "token"));

		if (!remote_is_hex(json_string_value(json_object_get(c, "id")), 64))
			return "a chunk without a valid id";
		dgfs_hex_decode(json_string_value(json_object_get(c, "id")), gc->id,
				sizeof(gc->id));
		if (!json_u64(json_object_get(c, "offset"), UINT64_MAX, &gc->offset) ||
		    gc->offset != pos)
			return "chunk offsets that do not follow each other";
		if (!json_u64(json_object_get(c, "size"), MAX_CHUNK, &v))
			return "a chunk without a valid size";
		gc->size = (uint32_t)v;
		pos += v;
		/* No token: a host with auth off takes zeros. */
		if (token && dgfs_hex_decode(token, gc->token, sizeof(gc->token)))
			return "a chunk with a token that is not 16 hex digits";
	}
	if (pos != g->size)
		return "chunks whose sizes do not add up to the file's";
	return NULL;
}

static const char *parse_fastpath(struct get *g, json_t *fp)
{
	const char *host = json_string_value(json_object_get(fp, "host"));
	uint64_t port = 0, expiry = 0, max_read = 0;

	if (!json_is_object(fp))
		return NULL;		/* none offered: fast stays false */
	if (json_object_get(fp, "port") &&
	    !json_u64(json_object_get(fp, "port"), 65535, &port))
		return "a bad fastpath.port";
	if (json_object_get(fp, "expiry") &&
	    !json_u64(json_object_get(fp, "expiry"), UINT32_MAX, &expiry))
		return "a bad fastpath.expiry";
	if (json_object_get(fp, "max_read") &&
	    !json_u64(json_object_get(fp, "max_read"), UINT32_MAX, &max_read))
		return "a bad fastpath.max_read";
	if (remote.fast_host)
		host = remote.fast_host;
	if (!host || !*host)
		return NULL;
	snprintf(g->fast_host, sizeof(g->fast_host), "%s", host);
	g->fast_port = remote.fast_port ? remote.fast_port :
		       port ? (uint16_t)port : DGFS_DEFAULT_PORT;
	g->expiry = (uint32_t)expiry;
	/* A request past the host's max read is dropped unanswered. */
	g->req_size = max_read ? (uint32_t)max_read : DEFAULT_REQ_SIZE;
	if (g->req_size > DGFS_MAX_READ_LIMIT)
		g->req_size = DGFS_MAX_READ_LIMIT;
	g->fast = true;
	return NULL;
}

static int get_manifest(struct get *g, struct http *h)
{
	struct http_resp resp = { 0 };
	struct http_req req = { .method = "GET" };
	const char *why = NULL, *etag;
	uint64_t size;
	char *target;
	json_t *j = NULL;
	int rc, ret = 0, tries;

	if (asprintf(&target, "%s?manifest", g->target) < 0) {
		fprintf(stderr, "dgfs get: out of memory\n");
		return DGFS_EXIT_LOCAL;
	}
	req.target = target;
	for (tries = 0; tries < HTTP_TRIES; tries++) {
		if (tries)
			http_backoff(tries);
		rc = http_do(h, &req, &resp);
		if (!http_transient(rc, &resp))
			break;
	}
	free(target);
	if (rc || resp.status != 200) {
		ret = http_fail("get", g->remote_path, h, &resp, rc);
		goto out;
	}
	j = http_resp_json(&resp);
	etag = json_string_value(json_object_get(j, "etag"));
	if (!json_is_object(j))
		why = "not JSON";
	else if (!json_u64(json_object_get(j, "size"), INT64_MAX, &size))
		why = "no valid size";
	else if (!remote_is_hex(etag, 64))
		why = "no valid etag";
	if (!why) {
		g->size = size;
		dgfs_hex_decode(etag, g->etag, sizeof(g->etag));
		why = parse_chunks(g, json_object_get(j, "chunks"));
	}
	if (!why && !g->http_only)
		why = parse_fastpath(g, json_object_get(j, "fastpath"));
	if (why) {
		fprintf(stderr, "dgfs get: the manifest of %s has %s\n", g->remote_path, why);
		ret = DGFS_EXIT_CONNECT;
	}
out:
	json_decref(j);
	http_resp_free(&resp);
	return ret;
}

/* ---- writing the temporary file ------------------------------------------------ */

static int write_at(struct get *g, const uint8_t *data, uint32_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(g->fd, data, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (first_failure(g))
				fprintf(stderr, "dgfs get: cannot write %s: %s\n", g->tmp,
					strerror(errno));
			get_fail(g, DGFS_EXIT_LOCAL);
			return -1;
		}
		data += n;
		len -= (uint32_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* ---- the fast path -------------------------------------------------------------- */

/* Why a fast-path read failed, as fetch would say it, and its exit code. */
struct fast_err {
	int code;
	bool hostwide;		/* every other chunk would fail the same way */
	char msg[512];
};

static void fast_explain(const struct get *g, const struct dgfs_reader *r, int state,
			 unsigned int refused, struct fast_err *e)
{
	struct dgfs_reader_stats st;

	e->hostwide = false;
	switch (state) {
	case DGFS_READ_ERR_STATUS:
		switch (dgfs_reader_status(r)) {
		case DGFS_STATUS_ACCES:
			e->code = DGFS_EXIT_ACCES;
			/* Tokens are all minted for one address and expiry. */
			e->hostwide = true;
			break;
		case DGFS_STATUS_NOENT:
			e->code = DGFS_EXIT_NOENT;
			break;
		case DGFS_STATUS_RANGE:
			e->code = DGFS_EXIT_RANGE;
			break;
		case DGFS_STATUS_AGAIN:
			e->code = DGFS_EXIT_AGAIN;
			break;
		default:
			e->code = DGFS_EXIT_IO;
			break;
		}
		snprintf(e->msg, sizeof(e->msg), "%s (%s)",
			 dgfs_status_name(dgfs_reader_status(r)),
			 dgfs_status_desc(dgfs_reader_status(r)));
		return;
	case DGFS_READ_ERR_TIMEOUT:
		dgfs_reader_get_stats(r, &st);
		e->code = DGFS_EXIT_TIMEOUT;
		e->hostwide = !st.datagrams;
		if (!st.datagrams && refused)
			snprintf(e->msg, sizeof(e->msg), "timed out: nothing listens on %s UDP "
				 "port %u (ICMP port unreachable)", g->fast_host, g->fast_port);
		else if (!st.datagrams)
			snprintf(e->msg, sizeof(e->msg), "timed out: no reply at all from %s "
				 "UDP port %u", g->fast_host, g->fast_port);
		else
			snprintf(e->msg, sizeof(e->msg), "timed out: no new byte for %llu ms "
				 "(%llu re-requests, RTO up to %llu ms; %llu datagrams, %llu "
				 "bytes twice, %llu misfits; the client paused up to %llu ms)",
				 (unsigned long long)g->timeout_ms,
				 (unsigned long long)st.rerequests,
				 (unsigned long long)(st.rto_max_ns / 1000000),
				 (unsigned long long)st.datagrams,
				 (unsigned long long)st.dup_bytes,
				 (unsigned long long)st.misfit,
				 (unsigned long long)(st.pause_max_ns / 1000000));
		return;
	case DGFS_READ_ERR_VERIFY:
		e->code = DGFS_EXIT_VERIFY;
		snprintf(e->msg, sizeof(e->msg), "SHA-256 mismatch: the bytes received do not "
			 "hash to the chunk id");
		return;
	case DGFS_READ_ERR_TOO_BIG:
		e->code = DGFS_EXIT_VERIFY;
		snprintf(e->msg, sizeof(e->msg), "the host's chunk is larger than the "
			 "manifest says");
		return;
	case DGFS_READ_ERR_NOMEM:
		e->code = DGFS_EXIT_LOCAL;
		snprintf(e->msg, sizeof(e->msg), "out of memory");
		return;
	default:
		e->code = DGFS_EXIT_LOCAL;
		e->hostwide = true;
		snprintf(e->msg, sizeof(e->msg), "cannot send to %s: %s", g->fast_host,
			 strerror(errno));
		return;
	}
}

/*
 * The receive buffer bounds what may be in flight: a window of replies
 * larger than it overflows and is lost, again and again. Fit the window,
 * and if need be the request size, to what the kernel granted.
 */
static void fit_window(struct gworker *w)
{
	uint32_t budget, req = w->g->req_size;
	socklen_t len = sizeof(int);
	int rcvbuf = 0;

	/* The kernel reports twice what it counts against payload. */
	if (getsockopt(w->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len) || rcvbuf <= 0)
		rcvbuf = DGFS_NET_RCVBUF;
	budget = (uint32_t)rcvbuf / 2;
	if (req > budget)
		req = budget > MIN_REQ_SIZE ? budget : MIN_REQ_SIZE;
	w->req_size = req;
	w->window = budget / req;
	if (w->window < 1)
		w->window = 1;
	if (w->window > MAX_WINDOW)
		w->window = MAX_WINDOW;
}

/* The estimate a read ends with, for the worker's next one. */
static void keep_rtt(struct gworker *w, const struct dgfs_reader *r)
{
	struct dgfs_reader_stats st;

	dgfs_reader_get_stats(r, &st);
	if (st.srtt_ns) {
		w->srtt_ns = st.srtt_ns;
		w->rttvar_ns = st.rttvar_ns;
	}
}

/* 0 when the chunk was read, verified and written; -1 with @e filled in. */
static int fast_read(struct gworker *w, const struct gchunk *c, struct fast_err *e)
{
	struct get *g = w->g;
	struct dgfs_reader_config cfg;
	struct dgfs_reader *r;
	const uint8_t *data;
	unsigned int refused;
	uint64_t len;
	int state;

	if (w->fd < 0) {
		w->fd = dgfs_net_connect((struct sockaddr *)&g->sa, g->salen, DGFS_NET_RCVBUF,
					 w->local);
		if (w->fd < 0) {
			e->code = DGFS_EXIT_LOCAL;
			e->hostwide = true;
			snprintf(e->msg, sizeof(e->msg), "cannot reach %s: %s", g->fast_host,
				 strerror(errno));
			return -1;
		}
		fit_window(w);
	}
	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.chunk, c->id, sizeof(cfg.chunk));
	memcpy(cfg.token, c->token, sizeof(cfg.token));
	cfg.expiry = g->expiry;
	cfg.req_size = w->req_size;
	cfg.window = w->window;
	cfg.timeout_ns = g->timeout_ms * 1000000;
	cfg.min_timeout_ns = MIN_TIMEOUT_MS * 1000000ull;
	cfg.retries = (unsigned int)g->retries;
	/* The host is the same from chunk to chunk: start from the round
	 * trip measured so far rather than guess (a chunk of one request
	 * measures none of its own).
	 */
	cfg.srtt_ns = w->srtt_ns;
	cfg.rttvar_ns = w->rttvar_ns;
	/* Refuse to buffer a chunk larger than the manifest says it is. */
	cfg.max_bytes = c->size ? c->size : 1;
	randombytes_buf(&cfg.req_id_seed, sizeof(cfg.req_id_seed));
	cfg.send = dgfs_net_send;
	cfg.send_ctx = &w->fd;
	/* The jobs share one host: a chunk waiting its turn there while the
	 * host serves the others is not a silent host.
	 */
	cfg.host_progress = &g->fast_progress;
	r = dgfs_reader_create(&cfg);
	if (!r) {
		e->code = DGFS_EXIT_LOCAL;
		snprintf(e->msg, sizeof(e->msg), "out of memory");
		return -1;
	}
	state = dgfs_net_read(w->fd, r, &refused);
	keep_rtt(w, r);
	if (state < 0) {
		e->code = DGFS_EXIT_LOCAL;
		e->hostwide = true;
		snprintf(e->msg, sizeof(e->msg), "receiving from %s: %s", g->fast_host,
			 strerror(errno));
		goto fail;
	}
	if (state != DGFS_READ_DONE) {
		fast_explain(g, r, state, refused, e);
		goto fail;
	}
	data = dgfs_reader_data(r, &len);
	if (len != c->size || !dgfs_reader_verified(r)) {
		e->code = DGFS_EXIT_VERIFY;
		e->hostwide = false;
		snprintf(e->msg, sizeof(e->msg), "the host's chunk has %llu bytes, the manifest "
			 "says %u", (unsigned long long)len, c->size);
		goto fail;
	}
	if (len && write_at(g, data, c->size, c->offset)) {
		dgfs_reader_destroy(r);
		return 1;	/* a local failure, not the fast path's */
	}
	dgfs_reader_destroy(r);
	return 0;
fail:
	dgfs_reader_destroy(r);
	return -1;
}

/* ---- the fallback ------------------------------------------------------------------ */

static int http_read(struct gworker *w, const struct gchunk *c)
{
	struct get *g = w->g;
	uint8_t digest[DGFS_SHA256_BYTES];
	char target[16 + 2 * DGFS_CHUNK_ID_LEN];
	struct http_req req = { .method = "GET", .target = target };
	struct http_resp resp = { .max = c->size ? c->size : 1 };
	int rc = -1, tries, ret = -1;

	if (!w->h) {
		w->h = http_new(g->server, g->api_key);
		if (!w->h) {
			if (first_failure(g))
				fprintf(stderr, "dgfs get: out of memory\n");
			get_fail(g, DGFS_EXIT_LOCAL);
			return -1;
		}
	}
	memcpy(target, "/chunks/", 8);
	dgfs_hex_encode(c->id, DGFS_CHUNK_ID_LEN, target + 8);
	for (tries = 0; tries < HTTP_TRIES; tries++) {
		if (tries)
			http_backoff(tries);
		rc = http_do(w->h, &req, &resp);
		if (!http_transient(rc, &resp) || atomic_load(&g->failed))
			break;
	}
	if (rc || resp.status != 200) {
		char what[32 + 2 * DGFS_CHUNK_ID_LEN];

		snprintf(what, sizeof(what), "fetching chunk %s", target + 8);
		if (first_failure(g))
			get_fail(g, http_fail("get", what, w->h, &resp, rc));
		else
			get_fail(g, rc ? DGFS_EXIT_CONNECT : DGFS_EXIT_HTTP);
		goto out;
	}
	dgfs_sha256(digest, (const uint8_t *)resp.body, resp.len);
	if (resp.len != c->size || memcmp(digest, c->id, sizeof(digest))) {
		if (first_failure(g))
			fprintf(stderr, "dgfs get: chunk %s from %s: %zu bytes that do not hash "
				"to its id\n", target + 8, http_base(w->h), resp.len);
		get_fail(g, DGFS_EXIT_VERIFY);
		goto out;
	}
	if (resp.len && write_at(g, (const uint8_t *)resp.body, c->size, c->offset))
		goto out;
	ret = 0;
out:
	http_resp_free(&resp);
	return ret;
}

/* ---- the workers --------------------------------------------------------------- */

static int fetch_chunk(struct gworker *w, const struct gchunk *c)
{
	struct get *g = w->g;
	struct fast_err e = { 0 };
	char id[2 * DGFS_CHUNK_ID_LEN + 1];
	int ret;

	if (g->fast && !atomic_load(&g->fast_down)) {
		ret = fast_read(w, c, &e);
		if (ret >= 0)
			return ret ? -1 : 0;
		dgfs_hex_encode(c->id, DGFS_CHUNK_ID_LEN, id);
		if (g->no_fallback) {
			if (first_failure(g))
				fprintf(stderr, "dgfs get: fast path, chunk %s from %s port %u: %s\n",
					id, g->fast_host, g->fast_port, e.msg);
			get_fail(g, e.code);
			return -1;
		}
		if (e.hostwide)
			atomic_store(&g->fast_down, true);
		/* Say why once (or every time with -v): the summary has the count. */
		if (g->verbose || (!remote.quiet && !atomic_exchange(&g->fast_warned, true)))
			fprintf(stderr, "%sdgfs get: fast path, chunk %s: %s; fetching %s over "
				"HTTP\n", g->prog.on ? "\r\033[K" : "", id, e.msg,
				e.hostwide ? "it and the rest" : "it");
	}
	/* Whatever the reason (failure, no fast path offered, --http-only). */
	atomic_fetch_add(&g->fallbacks, 1);
	return http_read(w, c);
}

static void *get_main(void *arg)
{
	struct gworker *w = arg;
	struct get *g = w->g;

	while (!atomic_load(&g->failed)) {
		size_t i = atomic_fetch_add(&g->next, 1);

		if (i >= g->n || fetch_chunk(w, &g->chunks[i]))
			break;
		progress_add(&g->prog, g->chunks[i].size);
	}
	return NULL;
}

static int fetch_all(struct get *g)
{
	size_t nw = remote.jobs < g->n ? remote.jobs : g->n, i, started = 0;
	struct gworker *ws;
	pthread_t *tids;

	if (!g->n)
		return 0;
	ws = calloc(nw, sizeof(*ws));
	tids = calloc(nw, sizeof(*tids));
	if (!ws || !tids) {
		free(ws);
		free(tids);
		fprintf(stderr, "dgfs get: out of memory\n");
		return DGFS_EXIT_LOCAL;
	}
	progress_begin(&g->prog, "fetching", g->size);
	for (i = 0; i < nw; i++) {
		ws[i].g = g;
		ws[i].fd = -1;
		if (pthread_create(&tids[i], NULL, get_main, &ws[i])) {
			if (first_failure(g))
				fprintf(stderr, "dgfs get: cannot start a thread\n");
			get_fail(g, DGFS_EXIT_LOCAL);
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	progress_end(&g->prog);
	for (i = 0; i < nw; i++) {
		http_free(ws[i].h);
		if (ws[i].fd >= 0)
			close(ws[i].fd);
	}
	free(ws);
	free(tids);
	return g->err;
}

/* ---- the end: verify, sync, rename ------------------------------------------------ */

/* Chunks were checked one by one; this checks they make the file the manifest names. */
static int verify_file(struct get *g)
{
	uint8_t digest[DGFS_SHA256_BYTES], *buf = malloc(VERIFY_BLOCK);
	dgfs_sha256_state sha;
	uint64_t pos = 0;

	if (!buf) {
		fprintf(stderr, "dgfs get: out of memory\n");
		return DGFS_EXIT_LOCAL;
	}
	dgfs_sha256_init(&sha);
	while (pos < g->size) {
		ssize_t n = pread(g->fd, buf, VERIFY_BLOCK, (off_t)pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "dgfs get: cannot read back %s: %s\n", g->tmp,
				n ? strerror(errno) : "file shrank");
			free(buf);
			return DGFS_EXIT_LOCAL;
		}
		dgfs_sha256_update(&sha, buf, (size_t)n);
		pos += (uint64_t)n;
	}
	free(buf);
	dgfs_sha256_final(&sha, digest);
	if (memcmp(digest, g->etag, sizeof(digest))) {
		char want[65], got[65];

		dgfs_hex_encode(g->etag, sizeof(g->etag), want);
		dgfs_hex_encode(digest, sizeof(digest), got);
		fprintf(stderr, "dgfs get: SHA-256 mismatch: %s hashes to %s, the manifest's "
			"etag is %s\n", g->remote_path, got, want);
		return DGFS_EXIT_VERIFY;
	}
	return 0;
}

/* The verified file to stdout. */
static int copy_out(struct get *g)
{
	uint8_t *buf = malloc(VERIFY_BLOCK);
	uint64_t pos = 0;

	if (!buf) {
		fprintf(stderr, "dgfs get: out of memory\n");
		return DGFS_EXIT_LOCAL;
	}
	while (pos < g->size) {
		ssize_t n = pread(g->fd, buf, VERIFY_BLOCK, (off_t)pos), w, done = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "dgfs get: cannot read back %s: %s\n", g->tmp,
				n ? strerror(errno) : "file shrank");
			free(buf);
			return DGFS_EXIT_LOCAL;
		}
		while (done < n) {
			w = write(STDOUT_FILENO, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				fprintf(stderr, "dgfs get: cannot write to stdout: %s\n",
					strerror(errno));
				free(buf);
				return DGFS_EXIT_LOCAL;
			}
			done += w;
		}
		pos += (uint64_t)n;
	}
	free(buf);
	return 0;
}

/*
 * The file the download is written to: beside LOCAL, or (LOCAL "-")
 * unlinked in $TMPDIR. Made exclusively; 0 or an exit code (said).
 */
static int open_tmp(struct get *g)
{
	const char *tmpdir = getenv("TMPDIR");
	char *copy, *base;
	mode_t mask;

	if (g->to_stdout) {
		if (!tmpdir || !*tmpdir)
			tmpdir = "/tmp";
		if (asprintf(&g->tmp, "%s/dgfs-get-XXXXXX", tmpdir) < 0) {
			g->tmp = NULL;
			fprintf(stderr, "dgfs get: out of memory\n");
			return DGFS_EXIT_LOCAL;
		}
		g->fd = mkostemp(g->tmp, O_CLOEXEC);
		if (g->fd < 0) {
			fprintf(stderr, "dgfs get: cannot create %s: %s\n", g->tmp, strerror(errno));
			return DGFS_EXIT_LOCAL;
		}
		unlink(g->tmp);		/* nobody else sees it; it goes with us */
		return 0;
	}
	copy = strdup(g->local);
	base = copy ? strdup(g->local) : NULL;
	if (!base || asprintf(&g->tmp, "%s/.%s.dgfs-XXXXXX", dirname(copy), basename(base)) < 0) {
		g->tmp = NULL;
		free(copy);
		free(base);
		fprintf(stderr, "dgfs get: out of memory\n");
		return DGFS_EXIT_LOCAL;
	}
	free(copy);
	free(base);
	/* O_EXCL with a random name, mode 0600 until it is whole. */
	g->fd = mkostemp(g->tmp, O_CLOEXEC);
	if (g->fd < 0) {
		fprintf(stderr, "dgfs get: cannot create %s: %s\n", g->tmp, strerror(errno));
		return DGFS_EXIT_LOCAL;
	}
	/* LOCAL gets the mode a new file would (0666 less the umask). */
	mask = umask(0);
	umask(mask);
	if (fchmod(g->fd, 0666 & ~mask)) {
		fprintf(stderr, "dgfs get: cannot chmod %s: %s\n", g->tmp, strerror(errno));
		return DGFS_EXIT_LOCAL;
	}
	return 0;
}

static int finish(struct get *g)
{
	char *copy, *dir;
	int dfd, ret;

	ret = verify_file(g);
	if (ret)
		return ret;
	if (fsync(g->fd)) {
		fprintf(stderr, "dgfs get: cannot sync %s: %s\n", g->tmp, strerror(errno));
		return DGFS_EXIT_LOCAL;
	}
	if (g->to_stdout)
		return copy_out(g);
	if (rename(g->tmp, g->local)) {
		fprintf(stderr, "dgfs get: cannot rename %s to %s: %s\n", g->tmp, g->local,
			strerror(errno));
		return DGFS_EXIT_LOCAL;
	}
	/* The rename is durable only once the directory is synced too. */
	copy = strdup(g->local);
	dir = copy ? dirname(copy) : NULL;
	dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(copy);
	return 0;
}

static int setup_fast(struct get *g)
{
	char err[256];

	if (!g->fast) {
		if (g->no_fallback) {
			fprintf(stderr, "dgfs get: the manifest of %s offers no fast path\n",
				g->remote_path);
			return DGFS_EXIT_CONNECT;
		}
		return 0;
	}
	if (dgfs_net_resolve(g->fast_host, g->fast_port, &g->sa, &g->salen, err, sizeof(err))) {
		if (g->no_fallback) {
			fprintf(stderr, "dgfs get: fast path: %s\n", err);
			return DGFS_EXIT_LOCAL;
		}
		if (!remote.quiet)
			fprintf(stderr, "dgfs get: fast path: %s; fetching over HTTP\n", err);
		g->fast = false;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct get *g)
{
	enum { O_NO_FALLBACK = REMOTE_OPT_END, O_HTTP_ONLY, O_TIMEOUT, O_RETRIES,
	       O_STATS_JSON };
	static const struct option opts[] = {
		REMOTE_LONG_OPTS,
		{ "no-fallback", no_argument, NULL, O_NO_FALLBACK },
		{ "http-only", no_argument, NULL, O_HTTP_ONLY },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "retries", required_argument, NULL, O_RETRIES },
		{ "stats-json", required_argument, NULL, O_STATS_JSON },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, ret;

	g->timeout_ms = DEFAULT_TIMEOUT_MS;
	g->retries = DEFAULT_RETRIES;
	while ((c = getopt_long(argc, argv, REMOTE_SHORT_OPTS "vh", opts, NULL)) != -1) {
		ret = remote_opt("get", c, optarg);
		if (ret <= 0) {
			if (ret)
				return ret;
			continue;
		}
		switch (c) {
		case O_NO_FALLBACK:
			g->no_fallback = true;
			break;
		case O_HTTP_ONLY:
			g->http_only = true;
			break;
		case O_TIMEOUT:
			if (dgfs_parse_size(optarg, &g->timeout_ms) || !g->timeout_ms ||
			    g->timeout_ms > 3600000) {
				fprintf(stderr, "dgfs get: bad --timeout \"%s\" (milliseconds)\n",
					optarg);
				return DGFS_EXIT_USAGE;
			}
			break;
		case O_RETRIES:
			if (dgfs_parse_size(optarg, &g->retries) || g->retries > 1000) {
				fprintf(stderr, "dgfs get: bad --retries \"%s\" (0 .. 1000)\n",
					optarg);
				return DGFS_EXIT_USAGE;
			}
			break;
		case O_STATS_JSON:
			g->stats_json = optarg;
			break;
		case 'v':
			g->verbose = true;
			break;
		case 'h':
			get_usage(stdout);
			return -1;
		default:
			get_usage(stderr);
			return DGFS_EXIT_USAGE;
		}
	}
	if (optind != argc - 2) {
		get_usage(stderr);
		return DGFS_EXIT_USAGE;
	}
	if (g->no_fallback && g->http_only) {
		fprintf(stderr, "dgfs get: --no-fallback and --http-only exclude each other\n");
		return DGFS_EXIT_USAGE;
	}
	g->remote_path = argv[optind];
	g->local = argv[optind + 1];
	g->to_stdout = !strcmp(g->local, "-");
	if (!*g->remote_path || !*g->local) {
		get_usage(stderr);
		return DGFS_EXIT_USAGE;
	}
	return 0;
}

int dgfs_cmd_get(int argc, char **argv)
{
	struct get g = { .fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };
	struct http *h;
	int ret;

	ret = parse_args(argc, argv, &g);
	if (ret)
		return ret < 0 ? DGFS_EXIT_OK : ret;
	h = remote_http_open("get");
	if (!h)
		return DGFS_EXIT_LOCAL;
	g.server = remote_server();
	g.api_key = remote_api_key(NULL);
	g.target = remote_file_target(g.remote_path, "");
	if (!g.target) {
		fprintf(stderr, "dgfs get: out of memory\n");
		ret = DGFS_EXIT_LOCAL;
		goto out;
	}
	ret = get_manifest(&g, h);
	if (!ret)
		ret = setup_fast(&g);
	if (ret)
		goto out;

	ret = open_tmp(&g);
	if (ret) {
		if (g.fd >= 0 && !g.to_stdout)
			unlink(g.tmp);
		goto out;
	}
	/* The full size up front: the workers' writes land anywhere in it. */
	if (ftruncate(g.fd, (off_t)g.size)) {
		fprintf(stderr, "dgfs get: cannot size %s: %s\n", g.tmp, strerror(errno));
		ret = DGFS_EXIT_LOCAL;
	}
	if (!ret)
		ret = fetch_all(&g);
	if (!ret)
		ret = finish(&g);
	if (ret) {
		if (!g.to_stdout)
			unlink(g.tmp);	/* the failed download leaves nothing */
		goto out;
	}

	if (!remote.quiet)
		fprintf(stderr, "get %s: %llu bytes, %zu chunks, %llu via HTTP fallback\n",
			g.remote_path, (unsigned long long)g.size, g.n,
			(unsigned long long)atomic_load(&g.fallbacks));
	if (g.stats_json) {
		char json[128];

		snprintf(json, sizeof(json), "{\"chunks\":%zu,\"fallback\":%llu,\"size\":%llu}",
			 g.n, (unsigned long long)atomic_load(&g.fallbacks),
			 (unsigned long long)g.size);
		if (remote_write_stats("get", g.stats_json, json))
			ret = DGFS_EXIT_LOCAL;
	}
out:
	if (g.fd >= 0)
		close(g.fd);
	free(g.chunks);
	free(g.target);
	free(g.tmp);
	http_free(h);
	http_global_cleanup();
	return ret;
}
