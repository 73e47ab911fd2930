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
#include "manifest.h"
#include "remote.h"

#define DEFAULT_TIMEOUT_MS	5000	/* without a new byte: a silent host's cost */
#define MIN_TIMEOUT_MS		20
#define DEFAULT_RETRIES		8
/* Requests no larger than this when the manifest names no max_read. */
#define DEFAULT_REQ_SIZE	(256u << 10)
#define MIN_REQ_SIZE		(64u << 10)
#define MAX_WINDOW		16
#define VERIFY_BLOCK		(1u << 20)

/* A fast-path host of the manifest, as this download has found it. */
struct fast_host {
	pthread_mutex_t lock;		/* resolving it (once), why */
	int resolved;			/* 0: not yet; 1: sa is its address; -1: failed */
	char resolve_err[300];		/* ... why (under lock) */
	struct sockaddr_storage sa;
	socklen_t salen;
	/*
	 * Failed in a way every chunk would (no new byte for --timeout, the
	 * token refused, no address): no later chunk tries it.
	 */
	_Atomic bool down;
	int down_code;			/* that failure's exit code (under lock) */
	char why[400];			/* ... and what it was (under lock) */
	_Atomic uint64_t progress;	/* the last new byte from it (reader.h) */
	_Atomic uint64_t srtt_ns, rttvar_ns;	/* its round trip, as measured last */
	_Atomic uint64_t chunks;	/* chunks read from it */
	_Atomic uint64_t failed;	/* reads from it that failed */
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

	/* The manifest: chunks, and m.fast with each chunk's hosts to try. */
	struct manifest m;
	struct fast_host *hosts;		/* m.nhosts of them */
	uint32_t req_size;

	_Atomic size_t next;
	struct remote_failure fail;
	_Atomic bool fast_warned;
	_Atomic uint64_t fallbacks;
	_Atomic uint64_t failovers;	/* reads passed on to a chunk's next replica */
	struct progress prog;
};

struct gworker {
	struct get *g;
	struct http *h;			/* for fallbacks, made on first use */
	int fd;				/* the UDP socket, -1 until first use */
	size_t fd_host;			/* ... connected to this host */
	uint8_t local[DGFS_ADDR_LEN];
	unsigned int window;
	uint32_t req_size;
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
		"      --timeout MS      fast path: give up on a host after MS without a new\n"
		"                        byte from it, and try the chunk's next replica\n"
		"                        (default %d)\n"
		"      --retries N       fast path: fruitless re-requests of a range, after\n"
		"                        which it is only waited for (default %d)\n"
		"      --stats-json FILE write {\"chunks\",\"fallback\",\"failover\",\"size\",\n"
		"                        \"hosts\"} there\n"
		"  -v, --verbose         say why each fallback and failover happened\n"
		REMOTE_OPTS_HELP,
		DEFAULT_TIMEOUT_MS, DEFAULT_RETRIES);
}

/* ---- the manifest ------------------------------------------------------------ */

static int get_manifest(struct get *g, struct http *h)
{
	struct manifest_opts o = { .fast = !g->http_only, .fast_host = remote.fast_host,
				   .fast_port = remote.fast_port };
	struct http_resp resp = { 0 };
	struct http_req req = { .method = "GET" };
	char *target, why[256];
	json_t *j = NULL;
	int rc, ret = 0;
	size_t i;

	if (asprintf(&target, "%s?manifest", g->target) < 0) {
		fprintf(stderr, "dgfs get: out of memory\n");
		return DGFS_EXIT_LOCAL;
	}
	req.target = target;
	rc = http_do_tries(h, &req, &resp, NULL);
	free(target);
	if (rc || resp.status != 200) {
		ret = http_fail("get", g->remote_path, h, &resp, rc);
		goto out;
	}
	j = http_resp_json(&resp);
	if (manifest_parse(j, &o, &g->m, why, sizeof(why))) {
		fprintf(stderr, "dgfs get: the manifest of %s has %s\n", g->remote_path, why);
		ret = DGFS_EXIT_CONNECT;
		goto out;
	}
	g->hosts = calloc(g->m.nhosts ? g->m.nhosts : 1, sizeof(*g->hosts));
	if (!g->hosts) {
		fprintf(stderr, "dgfs get: out of memory\n");
		ret = DGFS_EXIT_LOCAL;
		goto out;
	}
	for (i = 0; i < g->m.nhosts; i++)
		pthread_mutex_init(&g->hosts[i].lock, NULL);
	/* A request past the host's max read is dropped unanswered. */
	g->req_size = g->m.max_read ? g->m.max_read : DEFAULT_REQ_SIZE;
	if (g->req_size > DGFS_MAX_READ_LIMIT)
		g->req_size = DGFS_MAX_READ_LIMIT;
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
			if (remote_first_failure(&g->fail))
				fprintf(stderr, "dgfs get: cannot write %s: %s\n", g->tmp,
					strerror(errno));
			remote_fail(&g->fail, DGFS_EXIT_LOCAL);
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
	bool hostwide;		/* every other chunk would fail the same way there */
	char msg[512];
};

static void fast_explain(const struct get *g, const struct mf_host *h,
			 const struct dgfs_reader *r, int state, unsigned int refused,
			 struct fast_err *e)
{
	struct dgfs_reader_stats st;
	char text[READER_STATS_TEXT_LEN];

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
		reader_stats_text(&st, text, sizeof(text));
		e->code = DGFS_EXIT_TIMEOUT;
		/*
		 * No new byte from the host for --timeout, for this chunk nor
		 * for any other this download reads there (host_progress):
		 * it is silent, not slow, and the other chunks go elsewhere.
		 */
		e->hostwide = true;
		if (!st.datagrams && refused)
			snprintf(e->msg, sizeof(e->msg), "timed out: nothing listens on %s UDP "
				 "port %u (ICMP port unreachable)", h->host, h->port);
		else if (!st.datagrams)
			snprintf(e->msg, sizeof(e->msg), "timed out: no reply at all from %s "
				 "UDP port %u", h->host, h->port);
		else
			snprintf(e->msg, sizeof(e->msg), "timed out: no new byte for %llu ms (%s)",
				 (unsigned long long)g->timeout_ms, text);
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
		snprintf(e->msg, sizeof(e->msg), "cannot send to %s: %s", h->host,
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

/* The estimate a read ends with, for the next read from the same host. */
static void keep_rtt(struct fast_host *hs, const struct dgfs_reader *r)
{
	struct dgfs_reader_stats st;

	dgfs_reader_get_stats(r, &st);
	if (st.srtt_ns) {
		atomic_store(&hs->srtt_ns, st.srtt_ns);
		atomic_store(&hs->rttvar_ns, st.rttvar_ns);
	}
}

/* Host @k's address, looked up by the first read that needs it: 0, or -1 with @e. */
static int resolve(struct get *g, size_t k, struct fast_err *e)
{
	struct fast_host *hs = &g->hosts[k];
	const struct mf_host *h = &g->m.hosts[k];
	int ret;

	pthread_mutex_lock(&hs->lock);
	if (!hs->resolved)
		hs->resolved = dgfs_net_resolve(h->host, h->port, &hs->sa, &hs->salen,
						hs->resolve_err, sizeof(hs->resolve_err)) ? -1 : 1;
	ret = hs->resolved > 0 ? 0 : -1;
	if (ret) {
		e->code = DGFS_EXIT_LOCAL;
		e->hostwide = true;
		snprintf(e->msg, sizeof(e->msg), "%s", hs->resolve_err);
	}
	pthread_mutex_unlock(&hs->lock);
	return ret;
}

/* 0 when the chunk was read from host @k, verified and written; -1 with @e filled in. */
static int fast_read(struct gworker *w, size_t k, const struct mf_chunk *c, struct fast_err *e)
{
	struct get *g = w->g;
	struct fast_host *hs = &g->hosts[k];
	const struct mf_host *h = &g->m.hosts[k];
	struct dgfs_reader_config cfg;
	struct dgfs_reader *r;
	const uint8_t *data;
	unsigned int refused;
	uint64_t len;
	int state;

	if (resolve(g, k, e))
		return -1;
	/* One socket per worker, connected to the host of its read. */
	if (w->fd >= 0 && w->fd_host != k) {
		close(w->fd);
		w->fd = -1;
	}
	if (w->fd < 0) {
		w->fd = dgfs_net_connect((struct sockaddr *)&hs->sa, hs->salen, DGFS_NET_RCVBUF,
					 w->local);
		if (w->fd < 0) {
			e->code = DGFS_EXIT_LOCAL;
			e->hostwide = true;
			snprintf(e->msg, sizeof(e->msg), "cannot reach %s: %s", h->host,
				 strerror(errno));
			return -1;
		}
		w->fd_host = k;
		fit_window(w);
	}
	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.chunk, c->id, sizeof(cfg.chunk));
	memcpy(cfg.token, c->token, sizeof(cfg.token));
	cfg.expiry = g->m.expiry;
	cfg.req_size = w->req_size;
	cfg.window = w->window;
	cfg.timeout_ns = g->timeout_ms * 1000000;
	cfg.min_timeout_ns = MIN_TIMEOUT_MS * 1000000ull;
	cfg.retries = (unsigned int)g->retries;
	/* Start from the round trip measured to this host so far rather
	 * than guess (a chunk of one request measures none of its own).
	 */
	cfg.srtt_ns = atomic_load(&hs->srtt_ns);
	cfg.rttvar_ns = atomic_load(&hs->rttvar_ns);
	/* Refuse to buffer a chunk larger than the manifest says it is. */
	cfg.max_bytes = c->size ? c->size : 1;
	randombytes_buf(&cfg.req_id_seed, sizeof(cfg.req_id_seed));
	cfg.send = dgfs_net_send;
	cfg.send_ctx = &w->fd;
	/* The jobs that read from one host: a chunk waiting its turn there
	 * while the host serves the others is not a silent host.
	 */
	cfg.host_progress = &hs->progress;
	r = dgfs_reader_create(&cfg);
	if (!r) {
		e->code = DGFS_EXIT_LOCAL;
		snprintf(e->msg, sizeof(e->msg), "out of memory");
		return -1;
	}
	state = dgfs_net_read(w->fd, r, &refused);
	keep_rtt(hs, r);
	if (state < 0) {
		e->code = DGFS_EXIT_LOCAL;
		e->hostwide = true;
		snprintf(e->msg, sizeof(e->msg), "receiving from %s: %s", h->host,
			 strerror(errno));
		goto fail;
	}
	if (state != DGFS_READ_DONE) {
		fast_explain(g, h, r, state, refused, e);
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

static int http_read(struct gworker *w, const struct mf_chunk *c)
{
	struct get *g = w->g;
	uint8_t digest[DGFS_SHA256_BYTES];
	char target[16 + 2 * DGFS_CHUNK_ID_LEN];
	struct http_req req = { .method = "GET", .target = target };
	struct http_resp resp = { .max = c->size ? c->size : 1 };
	int rc, ret = -1;

	if (!w->h) {
		w->h = http_new(g->server, g->api_key);
		if (!w->h) {
			if (remote_first_failure(&g->fail))
				fprintf(stderr, "dgfs get: out of memory\n");
			remote_fail(&g->fail, DGFS_EXIT_LOCAL);
			return -1;
		}
	}
	memcpy(target, "/chunks/", 8);
	dgfs_hex_encode(c->id, DGFS_CHUNK_ID_LEN, target + 8);
	rc = http_do_tries(w->h, &req, &resp, &g->fail.failed);
	if (rc || resp.status != 200) {
		char what[32 + 2 * DGFS_CHUNK_ID_LEN];

		snprintf(what, sizeof(what), "fetching chunk %s", target + 8);
		remote_fail_http(&g->fail, "get", what, w->h, &resp, rc);
		goto out;
	}
	dgfs_sha256(digest, (const uint8_t *)resp.body, resp.len);
	if (resp.len != c->size || memcmp(digest, c->id, sizeof(digest))) {
		if (remote_first_failure(&g->fail))
			fprintf(stderr, "dgfs get: chunk %s from %s: %zu bytes that do not hash "
				"to its id\n", target + 8, http_base(w->h), resp.len);
		remote_fail(&g->fail, DGFS_EXIT_VERIFY);
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

/* "h2 (198.18.0.2 port 9100)", or "198.18.0.2 port 9100" for a host without an id. */
static void host_name(const struct mf_host *h, char *buf, size_t len)
{
	if (h->id[0])
		snprintf(buf, len, "%s (%s port %u)", h->id, h->host, h->port);
	else
		snprintf(buf, len, "%s port %u", h->host, h->port);
}

/* Host @k failed as every chunk would there: no later chunk tries it. Said once. */
static void host_down(struct get *g, size_t k, const struct fast_err *e)
{
	struct fast_host *hs = &g->hosts[k];
	char name[400];

	pthread_mutex_lock(&hs->lock);
	if (atomic_load(&hs->down)) {
		pthread_mutex_unlock(&hs->lock);
		return;
	}
	hs->down_code = e->code;
	/* Cut to fit: it goes into "passed over (WHY)" lines. */
	memcpy(hs->why, e->msg, strnlen(e->msg, sizeof(hs->why) - 1));
	hs->why[strnlen(e->msg, sizeof(hs->why) - 1)] = '\0';
	atomic_store(&hs->down, true);
	pthread_mutex_unlock(&hs->lock);
	/* With one host, the fallback's own line says it (fetch_chunk). */
	if (g->m.lists && !remote.quiet) {
		host_name(&g->m.hosts[k], name, sizeof(name));
		fprintf(stderr, "%sdgfs get: fast path: %s: %s; the other chunks pass it over\n",
			g->prog.on ? "\r\033[K" : "", name, e->msg);
	}
}

/* Appends "NAME: MSG" to the list of what the replicas of a chunk said. */
static void note_failure(char *buf, size_t len, const struct mf_host *h, const char *msg)
{
	size_t at = strlen(buf);
	char name[400];

	host_name(h, name, sizeof(name));
	if (at < len)
		snprintf(buf + at, len - at, "%s%s: %s", at ? "; " : "", name, msg);
}

/*
 * Chunk @c over the fast path from its replicas in the manifest's order,
 * each passed over when it fails; then, unless --no-fallback, over HTTP.
 */
static int fetch_chunk(struct gworker *w, const struct mf_chunk *c)
{
	struct get *g = w->g;
	struct fast_err e = { .code = DGFS_EXIT_NOENT };
	char id[2 * DGFS_CHUNK_ID_LEN + 1], name[400], said[2048] = "";
	unsigned int i;
	int ret;

	if (g->m.fast) {
		dgfs_hex_encode(c->id, DGFS_CHUNK_ID_LEN, id);
		if (!c->nrep)
			snprintf(e.msg, sizeof(e.msg), "the manifest names no host that holds it");
		for (i = 0; i < c->nrep; i++) {
			size_t k = g->m.reps[c->rep + i];
			struct fast_host *hs = &g->hosts[k];

			if (atomic_load(&hs->down)) {
				/* Passed over at once: an earlier chunk found it failed. */
				pthread_mutex_lock(&hs->lock);
				e.code = hs->down_code;
				snprintf(e.msg, sizeof(e.msg), "passed over (%s)", hs->why);
				pthread_mutex_unlock(&hs->lock);
			} else {
				ret = fast_read(w, k, c, &e);
				if (ret == 0) {
					atomic_fetch_add(&hs->chunks, 1);
					return 0;
				}
				if (ret > 0)
					return -1;	/* a local failure, said */
				atomic_fetch_add(&hs->failed, 1);
				if (e.hostwide)
					host_down(g, k, &e);
				if (g->verbose && g->m.lists) {
					host_name(&g->m.hosts[k], name, sizeof(name));
					fprintf(stderr, "%sdgfs get: fast path, chunk %s from %s: %s; %s\n",
						g->prog.on ? "\r\033[K" : "", id, name, e.msg,
						i + 1 < c->nrep ? "trying its next replica" :
						"no replica left");
				}
			}
			note_failure(said, sizeof(said), &g->m.hosts[k], e.msg);
			if (i + 1 < c->nrep)
				atomic_fetch_add(&g->failovers, 1);
		}
		if (g->no_fallback) {
			if (remote_first_failure(&g->fail)) {
				if (!g->m.lists)
					fprintf(stderr, "dgfs get: fast path, chunk %s from %s port %u: "
						"%s\n", id, g->m.hosts[0].host, g->m.hosts[0].port,
						e.msg);
				else if (!c->nrep)
					fprintf(stderr, "dgfs get: fast path, chunk %s: %s\n", id,
						e.msg);
				else
					fprintf(stderr, "dgfs get: fast path, chunk %s: none of its %u "
						"replicas gave it: %s\n", id, c->nrep, said);
			}
			remote_fail(&g->fail, e.code);
			return -1;
		}
		/* Say why once (or every time with -v): the summary has the count. */
		if (g->verbose || (!remote.quiet && !atomic_exchange(&g->fast_warned, true)))
			fprintf(stderr, "%sdgfs get: fast path, chunk %s: %s; fetching %s over "
				"HTTP\n", g->prog.on ? "\r\033[K" : "", id,
				g->m.lists ? (c->nrep ? "no replica gave it" : e.msg) : e.msg,
				!g->m.lists && e.hostwide ? "it and the rest" : "it");
	}
	/* Whatever the reason (failure, no fast path offered, --http-only). */
	atomic_fetch_add(&g->fallbacks, 1);
	return http_read(w, c);
}

static void *get_main(void *arg)
{
	struct gworker *w = arg;
	struct get *g = w->g;

	while (!atomic_load(&g->fail.failed)) {
		size_t i = atomic_fetch_add(&g->next, 1);

		if (i >= g->m.n || fetch_chunk(w, &g->m.chunks[i]))
			break;
		progress_add(&g->prog, g->m.chunks[i].size);
	}
	return NULL;
}

static int fetch_all(struct get *g)
{
	size_t nw = remote.jobs < g->m.n ? remote.jobs : g->m.n, i;
	struct gworker *ws;

	if (!g->m.n)
		return 0;
	ws = calloc(nw, sizeof(*ws));
	if (!ws) {
		fprintf(stderr, "dgfs get: out of memory\n");
		return DGFS_EXIT_LOCAL;
	}
	for (i = 0; i < nw; i++) {
		ws[i].g = g;
		ws[i].fd = -1;
	}
	progress_begin(&g->prog, "fetching", g->m.size);
	remote_run_workers(&g->fail, "get", get_main, ws, sizeof(*ws), nw);
	progress_end(&g->prog);
	for (i = 0; i < nw; i++) {
		http_free(ws[i].h);
		if (ws[i].fd >= 0)
			close(ws[i].fd);
	}
	free(ws);
	return g->fail.code;
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
	while (pos < g->m.size) {
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
	if (memcmp(digest, g->m.etag, sizeof(digest))) {
		char want[65], got[65];

		dgfs_hex_encode(g->m.etag, sizeof(g->m.etag), want);
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
	while (pos < g->m.size) {
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

/* The hosts' addresses are looked up as their first reads need them (resolve()). */
static int setup_fast(struct get *g)
{
	if (!g->m.fast && g->no_fallback) {
		fprintf(stderr, "dgfs get: the manifest of %s offers no fast path\n",
			g->remote_path);
		return DGFS_EXIT_CONNECT;
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
	int c;

	g->timeout_ms = DEFAULT_TIMEOUT_MS;
	g->retries = DEFAULT_RETRIES;
	while ((c = remote_getopt("get", argc, argv, REMOTE_SHORT_OPTS "vh", opts,
				  get_usage)) != -1) {
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
		case REMOTE_OPT_HELP:
			return -1;
		case REMOTE_OPT_BAD:
			return DGFS_EXIT_USAGE;
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

/*
 * --stats-json: the counts, and what each fast-path host did:
 * {"chunks","fallback","failover","size","hosts":[{"id","host","port",
 * "chunks","failed","passed_over"}]}.
 */
static int write_stats(struct get *g)
{
	json_t *j, *hosts = json_array();
	char *text = NULL;
	size_t i;
	int ret = -1;

	for (i = 0; hosts && i < g->m.nhosts; i++) {
		const struct mf_host *h = &g->m.hosts[i];
		struct fast_host *hs = &g->hosts[i];

		json_array_append_new(hosts, json_pack("{s:s,s:s,s:i,s:I,s:I,s:b}", "id", h->id,
					"host", h->host, "port", h->port,
					"chunks", (json_int_t)atomic_load(&hs->chunks),
					"failed", (json_int_t)atomic_load(&hs->failed),
					"passed_over", (int)atomic_load(&hs->down)));
	}
	j = json_pack("{s:I,s:I,s:I,s:I,s:o}", "chunks", (json_int_t)g->m.n,
		      "fallback", (json_int_t)atomic_load(&g->fallbacks),
		      "failover", (json_int_t)atomic_load(&g->failovers),
		      "size", (json_int_t)g->m.size, "hosts", hosts);
	if (j)
		text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text)
		ret = remote_write_stats("get", g->stats_json, text);
	else
		fprintf(stderr, "dgfs get: out of memory\n");
	free(text);
	json_decref(j);
	return ret;
}

int dgfs_cmd_get(int argc, char **argv)
{
	struct get g = { .fd = -1, .fail = REMOTE_FAILURE_INIT };
	struct http *h;
	int ret;

	ret = parse_args(argc, argv, &g);
	if (ret)
		return ret < 0 ? DGFS_EXIT_OK : ret;
	h = remote_http_open_file("get", g.remote_path, "", &g.target);
	if (!h)
		return DGFS_EXIT_LOCAL;
	g.server = remote_server();
	g.api_key = remote_api_key(NULL);
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
	if (ftruncate(g.fd, (off_t)g.m.size)) {
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

	if (!remote.quiet) {
		fprintf(stderr, "get %s: %llu bytes, %zu chunks, %llu via HTTP fallback",
			g.remote_path, (unsigned long long)g.m.size, g.m.n,
			(unsigned long long)atomic_load(&g.fallbacks));
		if (g.m.lists)
			fprintf(stderr, ", %llu failovers to a next replica",
				(unsigned long long)atomic_load(&g.failovers));
		fputc('\n', stderr);
	}
	if (g.stats_json && write_stats(&g))
		ret = DGFS_EXIT_LOCAL;
out:
	if (g.fd >= 0)
		close(g.fd);
	for (size_t i = 0; g.hosts && i < g.m.nhosts; i++)
		pthread_mutex_destroy(&g.hosts[i].lock);
	free(g.hosts);
	manifest_free(&g.m);
	free(g.target);
	free(g.tmp);
	http_free(h);
	http_global_cleanup();
	return ret;
}
