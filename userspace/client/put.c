// SPDX-License-Identifier: GPL-2.0
/*
 * dgfs put LOCAL REMOTE: a deduplicating upload (docs/CLIENT.md).
 *
 * The file is read twice and never held whole: the first pass cuts it into
 * chunks with FastCDC (the same cuts dgfsd makes) and hashes each; the host
 * says which ids it lacks (POST /chunks/missing); the second pass reads
 * just those chunks again, with pread, and N workers upload them, zstd
 * compressed when that helps (PUT /chunks/{id}). POST /files/{path}?commit
 * then makes the file out of the ordered id list.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <zstd.h>

#include "proto/sha256.h"
#include "cdc/fastcdc.h"
#include "client.h"
#include "http.h"
#include "proto/dgfs_proto.h"
#include "remote.h"

#define READ_BLOCK		(1u << 20)
#define ZSTD_LEVEL		3
#define PROBE_SIZE		(64u << 10)
/* Ids per POST /chunks/missing; the API takes at most 100000. */
#define MISSING_BATCH		50000
#define HEX_ID_LEN		(2 * DGFS_CHUNK_ID_LEN)
/* The slowest a commit may hash the file (bytes/s) before we give up. */
#define COMMIT_MIN_RATE		(1u << 20)

struct chunk {
	uint64_t offset;
	uint32_t size;
	uint8_t id[DGFS_CHUNK_ID_LEN];
};

struct put {
	const char *local;
	const char *remote_path;
	const char *content_type;
	const char *stats_json;
	char *target;			/* "/files/<escaped REMOTE>" */
	int fd;
	uint64_t size;

	struct chunk *chunks;		/* in file order */
	size_t n, cap;
	size_t *byid;			/* one index per distinct id, sorted by id */
	size_t nid;

	/* The upload queue, shared by the workers. */
	size_t *todo;
	size_t ntodo;
	_Atomic size_t next;
	struct remote_failure fail;
	_Atomic uint64_t wire;
	_Atomic uint64_t uploaded;
	struct progress prog;
};

static void put_usage(FILE *f)
{
	fprintf(f,
		"Usage: dgfs put [OPTIONS] LOCAL REMOTE\n"
		"  Uploads file LOCAL (\"-\": stdin) as REMOTE, sending only the chunks the\n"
		"  server does not have.\n"
		"      --content-type T  store T as the file's type (default: the server's guess)\n"
		"      --stats-json FILE write {\"chunks\",\"uploaded\",\"wire_bytes\",\"size\"} there\n"
		REMOTE_OPTS_HELP);
}

/* ---- reading LOCAL --------------------------------------------------------- */

/*
 * A pipe can be read only once; copy it to an unlinked temporary file so
 * that both passes see the same bytes without holding them in memory.
 */
static int spool(int in)
{
	const char *dir = getenv("TMPDIR");
	char *path = NULL;
	uint8_t *buf;
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && asprintf(&path, "%s/dgfs-put.XXXXXX", dir) >= 0) {
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path);
		free(path);
	}
	if (fd < 0)
		return -1;
	buf = malloc(READ_BLOCK);
	if (!buf)
		goto err;
	for (;;) {
		ssize_t n = read(in, buf, READ_BLOCK), w = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				goto err;
			break;
		}
		while (w < n) {
			ssize_t k = write(fd, buf + w, (size_t)(n - w));

			if (k < 0 && errno != EINTR)
				goto err;
			if (k > 0)
				w += k;
		}
	}
	free(buf);
	return fd;
err:
	free(buf);
	close(fd);
	return -1;
}

static int open_local(struct put *p)
{
	struct stat st;
	int fd;

	if (!strcmp(p->local, "-"))
		fd = dup(STDIN_FILENO);
	else
		fd = open(p->local, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "dgfs put: cannot open %s: %s\n", p->local, strerror(errno));
		if (fd >= 0)
			close(fd);
		return DGFS_EXIT_LOCAL;
	}
	if (S_ISDIR(st.st_mode)) {
		fprintf(stderr, "dgfs put: %s is a directory\n", p->local);
		close(fd);
		return DGFS_EXIT_LOCAL;
	}
	if (!S_ISREG(st.st_mode)) {
		int tmp = spool(fd);

		if (tmp < 0) {
			fprintf(stderr, "dgfs put: cannot copy %s to a temporary file: %s\n",
				p->local, strerror(errno));
			close(fd);
			return DGFS_EXIT_LOCAL;
		}
		close(fd);
		fd = tmp;
		if (fstat(fd, &st)) {
			close(fd);
			return DGFS_EXIT_LOCAL;
		}
	}
	p->fd = fd;
	p->size = (uint64_t)st.st_size;	/* for progress; the scan counts for real */
	return 0;
}

static int add_chunk(struct put *p, uint64_t offset, uint32_t size,
		     dgfs_sha256_state *sha)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		struct chunk *c = realloc(p->chunks, cap * sizeof(*c));

		if (!c)
			return -1;
		p->chunks = c;
		p->cap = cap;
	}
	p->chunks[p->n].offset = offset;
	p->chunks[p->n].size = size;
	dgfs_sha256_final(sha, p->chunks[p->n].id);
	p->n++;
	dgfs_sha256_init(sha);
	return 0;
}

/*
 * The first pass: chunk boundaries and ids. No SHA-256 of the whole file:
 * it would double the hashing, and the host checks every chunk against its
 * id and builds the file from our list of ids, so the etag follows.
 */
static int scan(struct put *p)
{
	dgfs_sha256_state chunk_sha;
	uint64_t pos = 0, start = 0;
	struct fastcdc cdc;
	uint8_t *buf;
	int ret = DGFS_EXIT_LOCAL;

	if (fastcdc_init(&cdc, &fastcdc_default_params)) {
		fprintf(stderr, "dgfs put: the chunker refuses its default parameters\n");
		return DGFS_EXIT_LOCAL;
	}
	buf = malloc(READ_BLOCK);
	if (!buf) {
		fprintf(stderr, "dgfs put: out of memory\n");
		return DGFS_EXIT_LOCAL;
	}
	dgfs_sha256_init(&chunk_sha);
	progress_begin(&p->prog, "chunking", p->size);
	for (;;) {
		ssize_t n = pread(p->fd, buf, READ_BLOCK, (off_t)pos);
		size_t off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "dgfs put: cannot read %s: %s\n", p->local,
				strerror(errno));
			goto out;
		}
		if (!n)
			break;
		while (off < (size_t)n) {
			bool cut;
			size_t k = fastcdc_feed(&cdc, buf + off, (size_t)n - off, &cut);

			dgfs_sha256_update(&chunk_sha, buf + off, k);
			off += k;
			if (cut) {
				if (add_chunk(p, start, (uint32_t)(pos + off - start), &chunk_sha))
					goto nomem;
				start = pos + off;
			} else if (!k) {
				/* fastcdc_feed() always takes something; never spin. */
				fprintf(stderr, "dgfs put: the chunker made no progress\n");
				goto out;
			}
		}
		pos += (uint64_t)n;
		progress_add(&p->prog, (uint64_t)n);
	}
	/* The end of the input ends the last chunk. */
	if (pos > start && add_chunk(p, start, (uint32_t)(pos - start), &chunk_sha))
		goto nomem;
	p->size = pos;
	ret = 0;
	goto out;
nomem:
	fprintf(stderr, "dgfs put: out of memory\n");
out:
	progress_end(&p->prog);
	free(buf);
	return ret;
}

/* ---- ids --------------------------------------------------------------------- */

static const struct put *sort_ctx;

static int cmp_byid(const void *a, const void *b)
{
	return memcmp(sort_ctx->chunks[*(const size_t *)a].id,
		      sort_ctx->chunks[*(const size_t *)b].id, DGFS_CHUNK_ID_LEN);
}

/* One index per distinct id, sorted, for the missing lists' look-ups. */
static int index_ids(struct put *p)
{
	size_t i, k = 0;

	p->byid = malloc((p->n ? p->n : 1) * sizeof(*p->byid));
	if (!p->byid)
		return -1;
	for (i = 0; i < p->n; i++)
		p->byid[i] = i;
	sort_ctx = p;
	qsort(p->byid, p->n, sizeof(*p->byid), cmp_byid);
	for (i = 0; i < p->n; i++)
		if (!k || memcmp(p->chunks[p->byid[k - 1]].id, p->chunks[p->byid[i]].id,
				 DGFS_CHUNK_ID_LEN))
			p->byid[k++] = p->byid[i];
	p->nid = k;
	return 0;
}

/* The chunk index for a hex id the server sent; -1 if it is none of ours. */
static ssize_t find_id(const struct put *p, const char *hex)
{
	uint8_t id[DGFS_CHUNK_ID_LEN];
	size_t lo = 0, hi = p->nid;

	if (!hex || dgfs_hex_decode(hex, id, sizeof(id)))
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(p->chunks[p->byid[mid]].id, id, sizeof(id));

		if (!c)
			return (ssize_t)p->byid[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/*
 * {"<key>":["<id>",...]<tail>}: the ids of chunks[idx[i]] (or chunks[i]
 * when @idx is NULL). Built by hand: ids need no escaping, and a
 * million-chunk list would be a million jansson objects.
 */
static char *id_list_json(const struct put *p, const char *key, const size_t *idx,
			  size_t count, const char *tail, size_t *len)
{
	size_t size = strlen(key) + strlen(tail) + 8 + count * (HEX_ID_LEN + 3), i;
	char *s = malloc(size), *o;

	if (!s)
		return NULL;
	o = s + sprintf(s, "{\"%s\":[", key);
	for (i = 0; i < count; i++) {
		*o++ = i ? ',' : '"';
		if (i)
			*o++ = '"';
		dgfs_hex_encode(p->chunks[idx ? idx[i] : i].id, DGFS_CHUNK_ID_LEN, o);
		o += HEX_ID_LEN;
		*o++ = '"';
	}
	o += sprintf(o, "]%s}", tail);
	*len = (size_t)(o - s);
	return s;
}

/*
 * Adds the chunks a {"missing": [...]} answer names to the upload queue;
 * -1 if the answer is not that or names ids we never sent.
 */
static int queue_missing(struct put *p, json_t *j)
{
	json_t *list = json_object_get(j, "missing"), *v;
	size_t i, *t;

	if (!json_is_array(list))
		return -1;
	t = realloc(p->todo, (p->ntodo + json_array_size(list) + 1) * sizeof(*t));
	if (!t)
		return -1;
	p->todo = t;
	json_array_foreach(list, i, v) {
		ssize_t k = find_id(p, json_string_value(v));

		if (k < 0)
			return -1;
		p->todo[p->ntodo++] = (size_t)k;
	}
	return 0;
}

static int ask_missing(struct put *p, struct http *h)
{
	struct http_resp resp = { 0 };
	size_t done, len;
	int ret = 0, rc;

	for (done = 0; done < p->nid && !ret; done += MISSING_BATCH) {
		size_t count = p->nid - done < MISSING_BATCH ? p->nid - done : MISSING_BATCH;
		char *body = id_list_json(p, "ids", p->byid + done, count, "", &len);
		struct http_req req = {
			.method = "POST", .target = "/chunks/missing",
			.content_type = "application/json", .body = body, .len = len,
		};
		json_t *j;

		if (!body) {
			fprintf(stderr, "dgfs put: out of memory\n");
			return DGFS_EXIT_LOCAL;
		}
		rc = http_do(h, &req, &resp);
		free(body);
		if (rc || resp.status != 200) {
			ret = http_fail("put", "asking for missing chunks", h, &resp, rc);
			break;
		}
		j = http_resp_json(&resp);
		if (!j || queue_missing(p, j)) {
			fprintf(stderr, "dgfs put: POST /chunks/missing: the answer is not a "
				"list of our ids\n");
			ret = DGFS_EXIT_CONNECT;
		}
		json_decref(j);
	}
	http_resp_free(&resp);
	return ret;
}

/* ---- uploads ------------------------------------------------------------------ */

struct worker {
	struct put *p;
	struct http *h;
	ZSTD_CCtx *zc;
	uint8_t *buf, *zbuf;
	size_t zcap;
};

static int read_chunk(struct worker *w, const struct chunk *c)
{
	uint8_t digest[DGFS_SHA256_BYTES];
	uint32_t got = 0;

	while (got < c->size) {
		ssize_t n = pread(w->p->fd, w->buf + got, c->size - got,
				  (off_t)(c->offset + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (remote_first_failure(&w->p->fail))
				fprintf(stderr, "dgfs put: cannot read %s: %s\n", w->p->local,
					strerror(errno));
			return -1;
		}
		if (!n)
			break;
		got += (uint32_t)n;
	}
	dgfs_sha256(digest, w->buf, got);
	if (got != c->size || memcmp(digest, c->id, sizeof(digest))) {
		if (remote_first_failure(&w->p->fail))
			fprintf(stderr, "dgfs put: %s changed while being uploaded\n",
				w->p->local);
		return -1;
	}
	return 0;
}

static int upload_chunk(struct worker *w, const struct chunk *c)
{
	struct http_resp resp = { 0 };
	char target[16 + HEX_ID_LEN];
	struct http_req req = { .method = "PUT", .target = target };
	size_t z;
	int rc;

	if (read_chunk(w, c)) {
		remote_fail(&w->p->fail, DGFS_EXIT_LOCAL);
		return -1;
	}
	/*
	 * Send it raw when compressing does not pay (the host takes both). A
	 * fast probe of the first 64 KiB spares compressing a whole chunk of
	 * incompressible data (media, archives) only to throw the result away.
	 */
	z = ZSTD_compressCCtx(w->zc, w->zbuf, w->zcap, w->buf,
			      c->size < PROBE_SIZE ? c->size : PROBE_SIZE, 1);
	if (!ZSTD_isError(z) && z < (c->size < PROBE_SIZE ? c->size : PROBE_SIZE) * 97 / 100)
		z = ZSTD_compressCCtx(w->zc, w->zbuf, w->zcap, w->buf, c->size, ZSTD_LEVEL);
	else
		z = c->size;
	if (!ZSTD_isError(z) && z < c->size) {
		req.body = w->zbuf;
		req.len = z;
		req.content_encoding = "zstd";
	} else {
		req.body = w->buf;
		req.len = c->size;
	}
	req.content_type = "application/octet-stream";
	memcpy(target, "/chunks/", 8);
	dgfs_hex_encode(c->id, DGFS_CHUNK_ID_LEN, target + 8);
	rc = http_do_tries(w->h, &req, &resp, &w->p->fail.failed);
	atomic_fetch_add(&w->p->wire, resp.sent);
	if (rc || (resp.status != 200 && resp.status != 201)) {
		char what[32 + HEX_ID_LEN];

		snprintf(what, sizeof(what), "uploading chunk %s", target + 8);
		remote_fail_http(&w->p->fail, "put", what, w->h, &resp, rc);
		http_resp_free(&resp);
		return -1;
	}
	http_resp_free(&resp);
	atomic_fetch_add(&w->p->uploaded, 1);
	progress_add(&w->p->prog, c->size);
	return 0;
}

static void *upload_main(void *arg)
{
	struct worker *w = arg;
	struct put *p = w->p;

	while (!atomic_load(&p->fail.failed)) {
		size_t i = atomic_fetch_add(&p->next, 1);

		if (i >= p->ntodo || upload_chunk(w, &p->chunks[p->todo[i]]))
			break;
	}
	return NULL;
}

/* Uploads todo[from..ntodo) with up to -j workers. */
static int upload_queue(struct put *p, size_t from)
{
	size_t nw = remote.jobs, i;
	uint64_t bytes = 0;
	struct worker *ws;

	if (from >= p->ntodo)
		return 0;
	if (nw > p->ntodo - from)
		nw = p->ntodo - from;
	for (i = from; i < p->ntodo; i++)
		bytes += p->chunks[p->todo[i]].size;
	atomic_store(&p->next, from);
	ws = calloc(nw, sizeof(*ws));
	if (!ws)
		goto nomem;
	for (i = 0; i < nw; i++) {
		ws[i].p = p;
		ws[i].h = http_new(remote_server(), remote_api_key(NULL));
		ws[i].zc = ZSTD_createCCtx();
		ws[i].buf = malloc(FASTCDC_MAX_SIZE);
		ws[i].zcap = ZSTD_compressBound(FASTCDC_MAX_SIZE);
		ws[i].zbuf = malloc(ws[i].zcap);
		if (!ws[i].h || !ws[i].zc || !ws[i].buf || !ws[i].zbuf)
			goto nomem;
	}
	progress_begin(&p->prog, "uploading", bytes);
	remote_run_workers(&p->fail, "put", upload_main, ws, sizeof(*ws), nw);
	progress_end(&p->prog);
	goto out;
nomem:
	fprintf(stderr, "dgfs put: out of memory\n");
	remote_fail(&p->fail, DGFS_EXIT_LOCAL);
out:
	for (i = 0; ws && i < nw; i++) {
		http_free(ws[i].h);
		ZSTD_freeCCtx(ws[i].zc);
		free(ws[i].buf);
		free(ws[i].zbuf);
	}
	free(ws);
	return p->fail.code;
}

/* ---- the commit --------------------------------------------------------------- */

/* The server's account of the new file must match what was read here. */
static int check_committed(const struct put *p, json_t *j)
{
	json_t *size = json_object_get(j, "size");

	if (json_is_integer(size) && (uint64_t)json_integer_value(size) != p->size) {
		fprintf(stderr, "dgfs put: the server made a file of %lld bytes out of %llu\n",
			(long long)json_integer_value(size), (unsigned long long)p->size);
		return DGFS_EXIT_VERIFY;
	}
	return 0;
}

/* POST ?commit; a 409's missing chunks are uploaded and the commit is tried once more. */
static int commit(struct put *p, struct http *h)
{
	struct http_resp resp = { 0 };
	char *tail = NULL, *body, *target;
	size_t len, from;
	int ret = 0, rc, round;
	json_t *j;

	if (p->content_type) {
		json_t *ct = json_string(p->content_type);
		char *s = ct ? json_dumps(ct, JSON_ENCODE_ANY) : NULL;

		json_decref(ct);
		if (!s || asprintf(&tail, ",\"content_type\":%s", s) < 0)
			tail = NULL;
		free(s);
		if (!tail) {
			fprintf(stderr, "dgfs put: --content-type must be UTF-8\n");
			return DGFS_EXIT_USAGE;
		}
	}
	body = id_list_json(p, "chunks", NULL, p->n, tail ? tail : "", &len);
	free(tail);
	if (!body || asprintf(&target, "%s?commit", p->target) < 0) {
		free(body);
		fprintf(stderr, "dgfs put: out of memory\n");
		return DGFS_EXIT_LOCAL;
	}
	for (round = 0;; round++) {
		struct http_req req = {
			.method = "POST", .target = target,
			.content_type = "application/json", .body = body, .len = len,
			/*
			 * dgfsd reads and hashes the whole file before it
			 * answers: the wait grows with the file.
			 */
			.quiet_s = http_stall_timeout() + (long)(p->size / COMMIT_MIN_RATE),
		};

		rc = http_do(h, &req, &resp);
		if (!rc && (resp.status == 200 || resp.status == 201)) {
			j = http_resp_json(&resp);
			ret = j ? check_committed(p, j) : 0;
			json_decref(j);
			break;
		}
		if (rc || resp.status != 409 || round) {
			ret = http_fail("put", "committing", h, &resp, rc);
			break;
		}
		/* Chunks vanished since /chunks/missing (the host restarted and
		 * collected uncommitted ones, say): send them and try again.
		 */
		from = p->ntodo;
		j = http_resp_json(&resp);
		if (!j || queue_missing(p, j)) {
			json_decref(j);
			fprintf(stderr, "dgfs put: committing: HTTP 409 without a list of our "
				"missing ids\n");
			ret = DGFS_EXIT_CONNECT;
			break;
		}
		json_decref(j);
		ret = upload_queue(p, from);
		if (ret)
			break;
	}
	http_resp_free(&resp);
	free(body);
	free(target);
	return ret;
}

static int parse_args(int argc, char **argv, struct put *p)
{
	enum { O_CONTENT_TYPE = REMOTE_OPT_END, O_STATS_JSON };
	static const struct option opts[] = {
		REMOTE_LONG_OPTS,
		{ "content-type", required_argument, NULL, O_CONTENT_TYPE },
		{ "stats-json", required_argument, NULL, O_STATS_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = remote_getopt("put", argc, argv, REMOTE_SHORT_OPTS "h", opts,
				  put_usage)) != -1) {
		switch (c) {
		case O_CONTENT_TYPE:
			p->content_type = optarg;
			break;
		case O_STATS_JSON:
			p->stats_json = optarg;
			break;
		case REMOTE_OPT_HELP:
			return -1;
		case REMOTE_OPT_BAD:
			return DGFS_EXIT_USAGE;
		default:
			put_usage(stderr);
			return DGFS_EXIT_USAGE;
		}
	}
	if (optind != argc - 2) {
		put_usage(stderr);
		return DGFS_EXIT_USAGE;
	}
	p->local = argv[optind];
	p->remote_path = argv[optind + 1];
	if (!*p->remote_path) {
		fprintf(stderr, "dgfs put: REMOTE is empty\n");
		return DGFS_EXIT_USAGE;
	}
	return 0;
}

int dgfs_cmd_put(int argc, char **argv)
{
	struct put p = { .fd = -1, .fail = REMOTE_FAILURE_INIT };
	struct http *h;
	int ret;

	ret = parse_args(argc, argv, &p);
	if (ret)
		return ret < 0 ? DGFS_EXIT_OK : ret;
	h = remote_http_open_file("put", p.remote_path, "", &p.target);
	if (!h)
		return DGFS_EXIT_LOCAL;
	ret = open_local(&p);
	if (!ret)
		ret = scan(&p);
	if (!ret && index_ids(&p)) {
		fprintf(stderr, "dgfs put: out of memory\n");
		ret = DGFS_EXIT_LOCAL;
	}
	if (!ret)
		ret = ask_missing(&p, h);
	if (!ret)
		ret = upload_queue(&p, 0);
	if (!ret)
		ret = commit(&p, h);
	if (ret)
		goto out;

	if (!remote.quiet)
		fprintf(stderr, "put %s: %llu bytes, %zu chunks, %llu uploaded (%llu bytes on the "
			"wire)\n", p.remote_path, (unsigned long long)p.size, p.n,
			(unsigned long long)atomic_load(&p.uploaded),
			(unsigned long long)atomic_load(&p.wire));
	if (p.stats_json) {
		char json[160];

		snprintf(json, sizeof(json),
			 "{\"chunks\":%zu,\"uploaded\":%llu,\"wire_bytes\":%llu,\"size\":%llu}",
			 p.n, (unsigned long long)atomic_load(&p.uploaded),
			 (unsigned long long)atomic_load(&p.wire), (unsigned long long)p.size);
		if (remote_write_stats("put", p.stats_json, json))
			ret = DGFS_EXIT_LOCAL;
	}
out:
	if (p.fd >= 0)
		close(p.fd);
	free(p.chunks);
	free(p.byid);
	free(p.todo);
	free(p.target);
	http_free(h);
	http_global_cleanup();
	return ret;
}
