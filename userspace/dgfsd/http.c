// SPDX-License-Identifier: GPL-2.0
/*
 * The HTTP service (docs/HTTP.md) on libmicrohttpd, one thread per
 * connection: an upload blocks on fsync and SQLite commits, and a thread of
 * its own keeps that from stalling other clients.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include "http.h"
#include "httputil.h"

#define JSON_BODY_MAX	(8u << 20)	/* /chunks/missing: 100000 ids fit */
#define STREAM_BLOCK	(256u << 10)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- responses ---- */

/* Queues @resp (@size body bytes, for the access log) and drops our reference. */
static enum MHD_Result queue(struct MHD_Connection *c, struct request *r, unsigned int status,
			     struct MHD_Response *resp, uint64_t size)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	r->status = status;
	r->bytes = strcmp(r->method, "HEAD") ? (int64_t)size : 0;
	ret = MHD_queue_response(c, status, resp);
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

	return queue(c, r, status, resp, len);
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

static struct MHD_Response *empty_response(void)
{
	return MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
}

enum MHD_Result http_send_empty(struct MHD_Connection *c, struct request *r,
				unsigned int status)
{
	return queue(c, r, status, empty_response(), 0);
}

/* ---- the connection's addresses ---- */

static int client_addr(struct MHD_Connection *c, uint8_t addr[DGFS_ADDR_LEN])
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return -1;
	return dgfs_addr_from_sockaddr(ci->client_addr, addr);
}

/* The address the client reached us at: the fast path's host by default. */
static void local_host(struct MHD_Connection *c, char *buf, size_t len)
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

/* ---- downloads ---- */

/*
 * A range over several chunks, read chunk after chunk. Its chunks are
 * pinned for the response's life: an overwrite or a delete of the file
 * meanwhile leaves them in place until the last byte is out.
 */
struct stream {
	struct dgfsd *d;
	struct meta_chunk *chunks;
	uint32_t nchunks;
	uint32_t pin_first, pin_end;	/* pinned: [pin_first, pin_end) */
	uint64_t first;		/* file offset of the response's byte 0 */
	uint32_t cur;		/* chunk whose fd is open */
	int fd;
};

static uint32_t chunk_at(const struct meta_chunk *chunks, uint32_t n, uint64_t off)
{
	uint32_t lo = 0, hi = n;

	/* The last chunk starting at or before off. */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (chunks[mid].offset <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	uint64_t off = s->first + pos;
	uint32_t i = chunk_at(s->chunks, s->nchunks, off);
	const struct meta_chunk *ch = &s->chunks[i];
	uint64_t in_chunk = off - ch->offset;
	size_t want = max;
	ssize_t n;

	if (in_chunk >= ch->size)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (want > ch->size - in_chunk)
		want = (size_t)(ch->size - in_chunk);
	if (s->fd < 0 || s->cur != i) {
		if (s->fd >= 0)
			close(s->fd);
		s->cur = i;
		s->fd = chunkstore_open_chunk(s->d->cs, ch->id);
		if (s->fd < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	do {
		n = pread(s->fd, buf, want, (off_t)in_chunk);
	} while (n < 0 && errno == EINTR);
	/* A chunk shorter than the metadata says: cut the response. */
	return n > 0 ? n : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls)
{
	struct stream *s = cls;
	uint32_t i;

	if (s->fd >= 0)
		close(s->fd);
	for (i = s->pin_first; i < s->pin_end; i++)
		chunkstore_unpin(s->d->cs, s->chunks[i].id, false);
	free(s->chunks);
	free(s);
}

/*
 * The body for bytes [first, first + len) of @f; takes f->chunks for a
 * stream. NULL with *again set when a chunk went away between reading the
 * metadata and opening or pinning it (the file was overwritten or deleted
 * just then): the caller reads the metadata again.
 */
static struct MHD_Response *range_response(struct dgfsd *d, struct meta_file *f,
					   uint64_t first, uint64_t len, bool *again)
{
	struct MHD_Response *resp;
	struct stream *s;
	uint32_t i, last;

	*again = false;
	if (!len)
		return empty_response();
	i = chunk_at(f->chunks, f->nchunks, first);
	if (first + len <= f->chunks[i].offset + f->chunks[i].size) {
		/*
		 * Inside one chunk file: sendfile() from the page cache. The
		 * open file outlives an unlink, so no pin is needed.
		 */
		int fd = chunkstore_open_chunk(d->cs, f->chunks[i].id);

		if (fd < 0) {
			*again = fd == -ENOENT;
			return NULL;
		}
		resp = MHD_create_response_from_fd_at_offset64(len, fd,
							       first - f->chunks[i].offset);
		if (!resp)
			close(fd);
		return resp;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->d = d;
	s->chunks = f->chunks;
	s->nchunks = f->nchunks;
	s->first = first;
	s->fd = -1;
	s->pin_first = s->pin_end = i;
	last = chunk_at(f->chunks, f->nchunks, first + len - 1);
	for (; s->pin_end <= last; s->pin_end++) {
		if (chunkstore_pin_existing(d->cs, s->chunks[s->pin_end].id, NULL)) {
			*again = true;
			while (s->pin_end-- > s->pin_first)
				chunkstore_unpin(d->cs, s->chunks[s->pin_end].id, false);
			free(s);	/* f->chunks stays the caller's */
			return NULL;
		}
	}
	f->chunks = NULL;
	resp = MHD_create_response_from_callback(len, STREAM_BLOCK, stream_read, s, stream_free);
	if (!resp)
		stream_free(s);
	return resp;
}

static void file_headers(struct MHD_Response *resp, const struct meta_file *f)
{
	char etag[META_ETAG_LEN + 3], date[64];

	snprintf(etag, sizeof(etag), "\"%s\"", f->etag);
	dgfsd_http_date((time_t)f->mtime, date, sizeof(date));
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, date);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
}

static enum MHD_Result get_file(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	const char *range_hdr, *inm;
	struct MHD_Response *resp;
	struct meta_file f;
	uint64_t first = 0, last = 0;
	enum dgfsd_range_result rr;
	unsigned int status, attempt;
	bool again = false;
	char cr[96];
	int ret;

	/* A file overwritten or deleted under us: read its metadata again. */
	for (attempt = 0; attempt < 3; attempt++) {
		ret = meta_file_get(d->meta, r->path, &f, true);
		if (ret == -ENOENT)
			return http_send_error(c, r, 404, "no such file");
		if (ret)
			return http_send_error(c, r, 500, "cannot read the metadata");
		inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						  MHD_HTTP_HEADER_IF_NONE_MATCH);
		if (inm && dgfsd_etag_matches(inm, f.etag)) {
			resp = empty_response();
			if (resp)
				file_headers(resp, &f);
			meta_file_release(&f);
			return queue(c, r, 304, resp, 0);
		}
		range_hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
		rr = dgfsd_range_parse(range_hdr, f.size, &first, &last);
		if (rr == DGFSD_RANGE_UNSATISFIABLE) {
			snprintf(cr, sizeof(cr), "bytes */%" PRIu64, f.size);
			meta_file_release(&f);
			resp = empty_response();
			if (resp)
				MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
			return queue(c, r, 416, resp, 0);
		}
		status = 200;
		if (rr == DGFSD_RANGE_OK) {
			status = 206;
			snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first,
				 last, f.size);
		} else {
			first = 0;
			last = f.size ? f.size - 1 : 0;
		}
		resp = range_response(d, &f, first, f.size ? last - first + 1 : 0, &again);
		if (resp) {
			file_headers(resp, &f);
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
						f.content_type);
			if (status == 206)
				MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
			meta_file_release(&f);
			return queue(c, r, status, resp, f.size ? last - first + 1 : 0);
		}
		meta_file_release(&f);
		if (!again)
			break;
	}
	if (again)
		return http_send_error(c, r, 503, "the file keeps changing; try again");
	return http_send_error(c, r, 500, "cannot open the file's chunks");
}

static enum MHD_Result get_manifest(struct dgfsd *d, struct MHD_Connection *c,
				    struct request *r)
{
	uint8_t addr[DGFS_ADDR_LEN], token[DGFS_TOKEN_LEN] = { 0 };
	char host[sizeof(d->cfg.public_host)], hex[2 * DGFS_CHUNK_ID_LEN + 1];
	json_t *j, *chunks;
	struct meta_file f;
	uint32_t expiry, i;
	int ret;

	ret = meta_file_get(d->meta, r->path, &f, true);
	if (ret == -ENOENT)
		return http_send_error(c, r, 404, "no such file");
	if (ret)
		return http_send_error(c, r, 500, "cannot read the metadata");
	if (client_addr(c, addr)) {
		meta_file_release(&f);
		return http_send_error(c, r, 500, "unknown client address");
	}
	if (d->cfg.public_host[0])
		snprintf(host, sizeof(host), "%s", d->cfg.public_host);
	else
		local_host(c, host, sizeof(host));
	expiry = dgfs_expiry_from_now(d->cfg.token_ttl);
	chunks = json_array();
	for (i = 0; i < f.nchunks; i++) {
		char tok[2 * DGFS_TOKEN_LEN + 1];

		if (d->cfg.auth)
			dgfs_token_mint(d->key, f.chunks[i].id, expiry, addr, token);
		dgfs_hex_encode(f.chunks[i].id, DGFS_CHUNK_ID_LEN, hex);
		dgfs_hex_encode(token, DGFS_TOKEN_LEN, tok);
		json_array_append_new(chunks, json_pack("{s:s,s:I,s:I,s:s}", "id", hex,
							"offset", (json_int_t)f.chunks[i].offset,
							"size", (json_int_t)f.chunks[i].size,
							"token", tok));
	}
	j = json_pack("{s:s,s:I,s:s,s:I,s:s,s:{s:s,s:i,s:I,s:I,s:s},s:o}",
		      "path", f.path, "size", (json_int_t)f.size, "etag", f.etag,
		      "mtime", (json_int_t)f.mtime, "content_type", f.content_type,
		      "fastpath", "host", host, "port", d->cfg.udp_port,
		      "expiry", (json_int_t)expiry, "max_read", (json_int_t)d->cfg.max_read,
		      "server", d->kmod ? "kernel" : "userspace", "chunks", chunks);
	meta_file_release(&f);
	return http_send_json(c, r, 200, j);
}

struct listing {
	json_t *files;
	char last[META_PATH_MAX + 1];
};

static int list_one(const struct meta_file *f, void *arg)
{
	struct listing *l = arg;

	json_array_append_new(l->files, json_pack("{s:s,s:I,s:s,s:I,s:s}", "path", f->path,
						  "size", (json_int_t)f->size, "etag", f->etag,
						  "mtime", (json_int_t)f->mtime,
						  "content_type", f->content_type));
	snprintf(l->last, sizeof(l->last), "%s", f->path);
	return 0;
}

static enum MHD_Result list_files(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	char prefix[DGFSD_PATH_MAX + 1], want[DGFSD_PATH_MAX + 1] = "";
	char after[DGFSD_PATH_MAX + 1] = "";
	const char *v, *why;
	struct listing l;
	unsigned long limit = 1000;
	bool more = false;
	int ret;

	v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "prefix");
	if (v && (why = dgfsd_path_decode(v, want, sizeof(want), true)))
		return http_send_error(c, r, 400, "bad prefix: %s", why);
	/* A key limited to a prefix lists only under it. */
	if (auth_list_prefix(r->who.prefix, want, prefix, sizeof(prefix)))
		return http_send_error(c, r, 403, "this key reaches only %s", r->who.prefix);
	v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
	if (v && dgfsd_url_decode(v, after, sizeof(after)))
		return http_send_error(c, r, 400, "bad after");
	v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	if (v) {
		char *end;

		errno = 0;
		limit = strtoul(v, &end, 10);
		if (errno || *end || !*v || !limit || limit > 10000)
			return http_send_error(c, r, 400, "bad limit (1 .. 10000)");
	}
	l.files = json_array();
	l.last[0] = '\0';
	ret = meta_file_list(d->meta, prefix, after, (unsigned int)limit, list_one, &l, &more);
	if (ret) {
		json_decref(l.files);
		return http_send_error(c, r, 500, "cannot list the files");
	}
	return http_send_json(c, r, 200, json_pack("{s:o,s:o}", "files", l.files, "next",
					      more ? json_string(l.last) : json_null()));
}

static enum MHD_Result get_chunk(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	struct MHD_Response *resp;
	struct stat st;
	int fd;

	/*
	 * A key limited to a prefix reads a chunk only if a file under it
	 * lists the chunk: its id alone must not open other files' content.
	 */
	if (r->who.prefix[0]) {
		int under = meta_chunk_under(d->meta, r->id, r->who.prefix);

		if (under < 0)
			return http_send_error(c, r, 500, "cannot read the metadata");
		if (!under)
			return http_send_error(c, r, 403, "no file under %s lists this chunk",
					       r->who.prefix);
	}
	if (!chunkstore_has(d->cs, r->id))
		return http_send_error(c, r, 404, "no such chunk");
	fd = chunkstore_open_chunk(d->cs, r->id);
	if (fd < 0)
		return http_send_error(c, r, 404, "no such chunk");
	if (fstat(fd, &st)) {
		close(fd);
		return http_send_error(c, r, 500, "cannot read the chunk");
	}
	resp = MHD_create_response_from_fd64((uint64_t)st.st_size, fd);
	if (!resp) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
	return queue(c, r, 200, resp, (uint64_t)st.st_size);
}

/* ---- uploads ---- */

static enum MHD_Result upload_done(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	uint64_t new_bytes = 0;
	uint32_t new_chunks = 0;
	struct meta_file f;
	unsigned int status;
	const char *why = "upload failed";

	(void)d;
	status = upload_finish(r->up, &f, &new_chunks, &new_bytes, &why);
	if (status >= 300)
		return http_send_error(c, r, status, "%s", why);
	return http_send_json(c, r, status,
			 json_pack("{s:s,s:I,s:s,s:I,s:I,s:I}", "path", f.path,
				   "size", (json_int_t)f.size, "etag", f.etag,
				   "chunks", (json_int_t)f.nchunks, "new_chunks",
				   (json_int_t)new_chunks, "new_bytes", (json_int_t)new_bytes));
}

static int parse_ids(json_t *arr, uint8_t (**out)[DGFS_CHUNK_ID_LEN], size_t *n)
{
	uint8_t (*ids)[DGFS_CHUNK_ID_LEN];
	size_t i, count;

	if (!json_is_array(arr))
		return -1;
	count = json_array_size(arr);
	if (count > DGFSD_MISSING_MAX)
		return -1;
	ids = calloc(count ? count : 1, DGFS_CHUNK_ID_LEN);
	if (!ids)
		return -1;
	for (i = 0; i < count; i++) {
		const char *s = json_string_value(json_array_get(arr, i));

		if (!s || strlen(s) != 2 * DGFS_CHUNK_ID_LEN ||
		    dgfs_hex_decode(s, ids[i], DGFS_CHUNK_ID_LEN)) {
			free(ids);
			return -1;
		}
	}
	*out = ids;
	*n = count;
	return 0;
}

static json_t *id_array(const uint8_t (*ids)[DGFS_CHUNK_ID_LEN], size_t n)
{
	char hex[2 * DGFS_CHUNK_ID_LEN + 1];
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++) {
		dgfs_hex_encode(ids[i], DGFS_CHUNK_ID_LEN, hex);
		json_array_append_new(a, json_string(hex));
	}
	return a;
}

static enum MHD_Result post_missing(struct dgfsd *d, struct MHD_Connection *c,
				    struct request *r)
{
	struct meta_idlist missing = { 0 };
	uint8_t (*ids)[DGFS_CHUNK_ID_LEN] = NULL;
	json_error_t jerr;
	json_t *j;
	size_t i, n;

	j = json_loadb((const char *)r->body, r->body_len, 0, &jerr);
	if (!j || parse_ids(json_object_get(j, "ids"), &ids, &n)) {
		json_decref(j);
		return http_send_error(c, r, 400, "expected {\"ids\": [up to %d chunk ids]}",
				  DGFSD_MISSING_MAX);
	}
	json_decref(j);
	for (i = 0; i < n; i++) {
		size_t k;

		if (chunkstore_has(d->cs, ids[i]))
			continue;
		for (k = 0; k < missing.n; k++)
			if (!memcmp(missing.ids[k], ids[i], DGFS_CHUNK_ID_LEN))
				break;
		if (k == missing.n && meta_idlist_add(&missing, ids[i])) {
			free(ids);
			meta_idlist_free(&missing);
			return http_send_error(c, r, 503, "out of memory");
		}
	}
	free(ids);
	j = json_pack("{s:o}", "missing", id_array((const uint8_t (*)[DGFS_CHUNK_ID_LEN])missing.ids,
						   missing.n));
	meta_idlist_free(&missing);
	return http_send_json(c, r, 200, j);
}

static enum MHD_Result post_commit(struct dgfsd *d, struct MHD_Connection *c,
				   struct request *r)
{
	struct meta_idlist missing = { 0 };
	uint8_t (*ids)[DGFS_CHUNK_ID_LEN] = NULL;
	const char *ctype = NULL, *why = "commit failed";
	struct meta_file f;
	json_error_t jerr;
	unsigned int status;
	bool replaced = false;
	json_t *j, *jt;
	size_t n;

	j = json_loadb((const char *)r->body, r->body_len, 0, &jerr);
	if (!j || parse_ids(json_object_get(j, "chunks"), &ids, &n)) {
		json_decref(j);
		return http_send_error(c, r, 400, "expected {\"chunks\": [chunk ids]}");
	}
	jt = json_object_get(j, "content_type");
	if (jt) {
		ctype = json_string_value(jt);
		if (!ctype || strlen(ctype) > META_CTYPE_MAX || strpbrk(ctype, "\r\n")) {
			json_decref(j);
			free(ids);
			return http_send_error(c, r, 400, "bad content_type");
		}
	}
	memset(&f, 0, sizeof(f));
	status = upload_commit_list(d, r->path, ctype, (const uint8_t (*)[DGFS_CHUNK_ID_LEN])ids,
				    n, &f, &missing, &replaced, &why);
	json_decref(j);
	free(ids);
	if (status == 409) {
		j = json_pack("{s:s,s:o}", "error", why, "missing",
			      id_array((const uint8_t (*)[DGFS_CHUNK_ID_LEN])missing.ids,
				       missing.n));
		meta_idlist_free(&missing);
		return http_send_json(c, r, 409, j);
	}
	meta_idlist_free(&missing);
	if (status >= 300)
		return http_send_error(c, r, status, "%s", why);
	return http_send_json(c, r, status,
			 json_pack("{s:s,s:I,s:s,s:I,s:I,s:I}", "path", f.path,
				   "size", (json_int_t)f.size, "etag", f.etag,
				   "chunks", (json_int_t)f.nchunks, "new_chunks", 0,
				   "new_bytes", 0));
}

static enum MHD_Result put_chunk(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	uint8_t got[DGFS_SHA256_BYTES];
	const uint8_t *data = r->body;
	size_t len = r->body_len;
	uint8_t *plain = NULL;
	const char *why;
	bool created;
	int ret;

	if (r->zstd) {
		unsigned long long dsize = ZSTD_getFrameContentSize(r->body, r->body_len);
		size_t n;

		/* A frame that does not say its size is decompressed with the bound. */
		if (dsize == ZSTD_CONTENTSIZE_ERROR)
			return http_send_error(c, r, 400, "not a zstd frame");
		if (dsize != ZSTD_CONTENTSIZE_UNKNOWN && dsize > DGFSD_MAX_CHUNK)
			return http_send_error(c, r, 413, "chunk larger than %u bytes",
					  DGFSD_MAX_CHUNK);
		plain = malloc(DGFSD_MAX_CHUNK);
		if (!plain)
			return http_send_error(c, r, 503, "out of memory");
		n = ZSTD_decompress(plain, DGFSD_MAX_CHUNK, r->body, r->body_len);
		if (ZSTD_isError(n)) {
			free(plain);
			if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall)
				return http_send_error(c, r, 413, "chunk larger than %u bytes",
						  DGFSD_MAX_CHUNK);
			return http_send_error(c, r, 400, "bad zstd data: %s", ZSTD_getErrorName(n));
		}
		data = plain;
		len = n;
	}
	if (len > DGFSD_MAX_CHUNK) {
		free(plain);
		return http_send_error(c, r, 413, "chunk larger than %u bytes", DGFSD_MAX_CHUNK);
	}
	dgfs_sha256(got, data, len);
	if (memcmp(got, r->id, sizeof(got))) {
		free(plain);
		return http_send_error(c, r, 400, "the bytes' SHA-256 is not the chunk id");
	}
	if (!len) {
		free(plain);
		return http_send_error(c, r, 400, "empty chunk");
	}
	ret = chunkstore_put(d->cs, r->id, data, (uint32_t)len, &created);
	free(plain);
	if (ret) {
		unsigned int status = dgfsd_errno_status(ret, &why);

		return http_send_error(c, r, status, "%s", why);
	}
	/* Kept until committed into a file, or collected at the next start. */
	chunkstore_unpin(d->cs, r->id, false);
	return http_send_json(c, r, created ? 201 : 200,
			 json_pack("{s:b}", "created", created));
}

/* ---- the smaller endpoints ---- */

static enum MHD_Result healthz(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	char *text = strdup("ok\n");

	(void)d;
	if (!text)
		return MHD_NO;
	return queue(c, r, 200, text_response("text/plain", text, 3), 3);
}

static enum MHD_Result metrics_page(struct dgfsd *d, struct MHD_Connection *c,
				    struct request *r)
{
	size_t len;
	char *text = metrics_render(d, &len);

	if (!text)
		return http_send_error(c, r, 503, "out of memory");
	return queue(c, r, 200, text_response("text/plain; version=0.0.4", text, len), len);
}

static enum MHD_Result method_not_allowed(struct MHD_Connection *c, struct request *r,
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
	return queue(c, r, 405, resp, len);
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

static const char *header_value(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static enum MHD_Result get_file_or_manifest(struct dgfsd *d, struct MHD_Connection *c,
					    struct request *r)
{
	return http_has_arg(c, "manifest") ? get_manifest(d, c, r) : get_file(d, c, r);
}

static enum MHD_Result delete_file(struct dgfsd *d, struct MHD_Connection *c,
				   struct request *r)
{
	int ret = chunkstore_delete_file(d->cs, r->path);

	if (ret == -ENOENT)
		return http_send_error(c, r, 404, "no such file");
	if (ret)
		return http_send_error(c, r, 500, "cannot delete: %s", strerror(-ret));
	return http_send_empty(c, r, 204);
}

/* ---- requests with a body: readied here, answered once it is in ---- */

static enum MHD_Result put_file(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	const char *v = header_value(c, MHD_HTTP_HEADER_CONTENT_LENGTH);

	if (v) {
		char *end;
		unsigned long long n;

		errno = 0;
		n = strtoull(v, &end, 10);
		if (!errno && !*end && n > d->cfg.max_file_size)
			return http_send_error(c, r, 413, "file larger than %" PRIu64 " bytes",
					       d->cfg.max_file_size);
	}
	v = header_value(c, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (v && (strlen(v) > META_CTYPE_MAX || strpbrk(v, "\r\n")))
		return http_send_error(c, r, 400, "bad Content-Type");
	r->up = upload_start(d, r->path, v);
	if (!r->up)
		return http_send_error(c, r, 503, errno == EBUSY ? "too many uploads at once" :
				       "out of memory");
	r->finish = upload_done;
	return MHD_YES;
}

static enum MHD_Result commit_file(struct dgfsd *d, struct MHD_Connection *c,
				   struct request *r)
{
	(void)d;
	if (!http_has_arg(c, "commit"))
		return method_not_allowed(c, r, "GET, HEAD, PUT, DELETE, POST");
	r->finish = post_commit;
	r->body_max = JSON_BODY_MAX;
	return MHD_YES;
}

static enum MHD_Result find_missing(struct dgfsd *d, struct MHD_Connection *c,
				    struct request *r)
{
	(void)d;
	(void)c;
	r->finish = post_missing;
	r->body_max = JSON_BODY_MAX;
	return MHD_YES;
}

static enum MHD_Result upload_chunk(struct dgfsd *d, struct MHD_Connection *c,
				    struct request *r)
{
	const char *v = header_value(c, MHD_HTTP_HEADER_CONTENT_ENCODING);

	(void)d;
	if (v && strcasecmp(v, "zstd") && strcasecmp(v, "identity"))
		return http_send_error(c, r, 415, "Content-Encoding: zstd or none");
	r->zstd = v && !strcasecmp(v, "zstd");
	r->finish = put_chunk;
	/* A zstd frame of a 4 MiB chunk is at most a little larger. */
	r->body_max = r->zstd ? ZSTD_compressBound(DGFSD_MAX_CHUNK) : DGFSD_MAX_CHUNK;
	return MHD_YES;
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
	/* A key limited to a prefix lists only under it (list_files). */
	{ "/files/", ARG_NONE, "GET, HEAD", {
		{ "GET", META_SCOPE_READ, R_PUBLIC_READ, list_files } } },
	{ "/files", ARG_NONE, "GET, HEAD", {
		{ "GET", META_SCOPE_READ, R_PUBLIC_READ, list_files } } },
	/* Dedup answers whether content is stored: writers only. */
	{ "/chunks/missing", ARG_NONE, "POST", {
		{ "POST", META_SCOPE_WRITE, 0, find_missing } } },
	{ "/keys", ARG_NONE, "GET, HEAD, POST", {
		{ "GET", META_SCOPE_ADMIN, R_WHOLE, keys_api_list },
		{ "POST", META_SCOPE_ADMIN, R_WHOLE, keys_api_add } } },
	/* Any key, for what it may do itself (keys_api_presign checks). */
	{ "/presign", ARG_NONE, "POST", {
		{ "POST", META_SCOPE_READ, 0, keys_api_presign } } },
	/* The manifest (?manifest) and its fast-path tokens go to readers only. */
	{ "/files/", ARG_FILE, "GET, HEAD, PUT, DELETE, POST", {
		{ "GET", META_SCOPE_READ, R_PUBLIC_READ | R_PRESIGN | R_PREFIX, get_file_or_manifest },
		{ "PUT", META_SCOPE_WRITE, R_PRESIGN | R_PREFIX, put_file },
		{ "DELETE", META_SCOPE_WRITE, R_PRESIGN | R_PREFIX, delete_file },
		{ "POST", META_SCOPE_WRITE, R_PREFIX, commit_file } } },
	/* A prefix key reads a chunk only if a file under it lists it (get_chunk). */
	{ "/chunks/", ARG_CHUNK, "GET, HEAD, PUT", {
		{ "GET", META_SCOPE_READ, R_PUBLIC_READ, get_chunk },
		{ "PUT", META_SCOPE_WRITE, 0, upload_chunk } } },
	{ "/keys/", ARG_KEY, "DELETE", {
		{ "DELETE", META_SCOPE_ADMIN, R_WHOLE, keys_api_revoke } } },
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
	return queue(c, r, status, resp, len);
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
	const char *hdr = header_value(c, MHD_HTTP_HEADER_AUTHORIZATION);
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

	if (!(res && (res->routes[0].flags & R_OPEN)) && !identify(d, c, r, res, rt, url, &ret))
		return ret;
	if (!res)
		return http_send_error(c, r, 404, "no such resource");
	why = parse_arg(r, res, url);
	if (why)
		return http_send_error(c, r, 400, res->arg == ARG_FILE ? "bad path: %s" : "%s",
				       why);
	if (!rt)
		return method_not_allowed(c, r, res->allow);
	if (r->who.scope < rt->scope)
		return http_send_error(c, r, 403, "this needs a %s key; this one is %s",
				       meta_scope_name(rt->scope), meta_scope_name(r->who.scope));
	if (r->who.prefix[0] && (rt->flags & R_WHOLE))
		return http_send_error(c, r, 403, "this key reaches only %s", r->who.prefix);
	if ((rt->flags & R_PREFIX) && !auth_path_allowed(r->who.prefix, r->path))
		return http_send_error(c, r, 403, "this key reaches only %s", r->who.prefix);
	return rt->handler(d, c, r);
}

static void body_append(struct request *r, const char *data, size_t len)
{
	uint8_t *nb;
	size_t cap;

	if (r->body_too_big)
		return;
	if (r->body_len + len > r->body_max) {
		r->body_too_big = true;
		return;
	}
	cap = r->body_len + len;
	nb = realloc(r->body, cap ? cap : 1);
	if (!nb) {
		r->body_too_big = true;
		return;
	}
	memcpy(nb + r->body_len, data, len);
	r->body = nb;
	r->body_len += len;
}

static enum MHD_Result finish(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	if (!r->finish)
		return MHD_NO;
	/* An upload streams its body; the others keep it whole, bounded. */
	if (!r->up && r->body_too_big)
		return http_send_error(c, r, 413, "request body larger than %zu bytes",
				       r->body_max);
	return r->finish(d, c, r);
}

static void client_str(struct MHD_Connection *c, char *buf, size_t len)
{
	uint8_t addr[DGFS_ADDR_LEN];

	if (client_addr(c, addr))
		snprintf(buf, len, "-");
	else
		dgfs_addr_str(addr, buf, len);
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
		*req_cls = r;
		return begin(d, c, r, url, method);
	}
	if (r->status)
		return MHD_YES;		/* answered already; the body is ignored */
	if (*upload_data_size) {
		if (r->up)
			upload_feed(r->up, upload_data, *upload_data_size);
		else
			body_append(r, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return finish(d, c, r);
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct dgfsd *d = cls;
	struct request *r = *req_cls;
	bool ok = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
	uint64_t took;

	(void)c;
	if (!r)
		return;
	took = now_ns() - r->start_ns;
	/* Cut off before its answer: status 0 counts as such in the metrics. */
	metrics_record(r->method, ok ? r->status : 0, took);
	accesslog_write(d->alog, &(struct accesslog_entry){
		.client = r->client, .key_id = r->who.id, .presigned = r->presigned,
		.method = r->method, .path = r->url, .status = r->status,
		.bytes = ok ? r->bytes : -1, .duration_ns = took });
	upload_free(r->up);	/* uncommitted: its new chunks go */
	free(r->body);
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

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
	struct dgfsd *d = cls;

	if (!d->cfg.verbose)
		return;
	fprintf(stderr, "dgfsd: http: ");
	vfprintf(stderr, fmt, ap);
}

int http_start(struct dgfsd *d)
{
	struct sockaddr_storage ss;
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			     MHD_USE_ERROR_LOG;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	bool have_addr = false;

	memset(&ss, 0, sizeof(ss));
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
		have_addr = true;
	} else {
		flags |= MHD_USE_DUAL_STACK;
	}
	d->mhd = MHD_start_daemon(flags, d->cfg.http_port, NULL, NULL, access_handler, d,
				  MHD_OPTION_NOTIFY_COMPLETED, completed, d,
				  MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
				  MHD_OPTION_CONNECTION_LIMIT, d->cfg.max_connections,
				  MHD_OPTION_CONNECTION_TIMEOUT, 120u,
				  /* Bounds a request's headers (431 past it). */
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64u << 10),
				  MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1u << 20),
				  MHD_OPTION_EXTERNAL_LOGGER, log_mhd, d,
				  have_addr ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END,
				  (struct sockaddr *)&ss, MHD_OPTION_END);
	if (!d->mhd) {
		fprintf(stderr, "dgfsd: cannot listen on HTTP port %u\n", d->cfg.http_port);
		return -EADDRINUSE;
	}
	return 0;
}

void http_stop(struct dgfsd *d)
{
	if (d->mhd)
		MHD_stop_daemon(d->mhd);
	d->mhd = NULL;
}
