// SPDX-License-Identifier: GPL-2.0
/*
 * The file endpoints under /files/ (docs/HTTP.md, "Files"): downloads
 * (whole, ranges from one chunk file by sendfile, ranges over several
 * chunks streamed), manifests with fast-path tokens, listings, uploads,
 * commits of chunk lists, deletes. http.c's routing table calls the
 * exported handlers once the caller may (scope, prefix).
 */
#include <errno.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "dgfsd.h"
#include "http.h"
#include "tags_api.h"
#include "httputil.h"
#include "offload.h"
#include "repl.h"
#include "replicas.h"

#define STREAM_BLOCK	(256u << 10)

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
	/* A chunk this host lacks, fetched from a replica (repl.h) and checked. */
	uint8_t *remote;	/* DGFSD_MAX_CHUNK bytes, or NULL */
	uint32_t remote_idx;	/* which chunk it holds; valid while remote_len >= 0 */
	long remote_len;
	/*
	 * The fetch runs on a thread of its own (offload.h) while the
	 * connection is suspended: it may take REPL_FETCH_DEADLINE_MS, and on
	 * the event thread it would stall every other client of that thread.
	 */
	struct MHD_Connection *c;
	struct offload *off;	/* made at the first fetch */
	uint32_t fetch_idx;	/* the chunk of the last fetch handed over */
	int fetch_err;		/* its result once done: 0 or -errno */
	bool fetched;		/* a fetch of fetch_idx was handed over and is done */
};

/* Chunk @i into s->remote from a replica: 0, or -errno. */
static int stream_fetch(struct stream *s, uint32_t i)
{
	long n;

	if (s->remote_len >= 0 && s->remote_idx == i)
		return 0;
	if (!s->remote && !(s->remote = malloc(DGFSD_MAX_CHUNK)))
		return -ENOMEM;
	s->remote_len = -1;
	n = repl_fetch(s->d, s->chunks[i].id, s->remote, DGFSD_MAX_CHUNK);
	if (n < 0) {
		fprintf(stderr, "dgfsd: no replica gave a chunk of a file being read: %s\n",
			strerror((int)-n));
		return (int)n;
	}
	if ((uint64_t)n != s->chunks[i].size)
		return -EIO;
	s->remote_idx = i;
	s->remote_len = n;
	return 0;
}

/* On the stream's thread: the fetch stream_read handed over. */
static void stream_fetch_work(void *arg)
{
	struct stream *s = arg;

	s->fetch_err = stream_fetch(s, s->fetch_idx);
	s->fetched = true;
}

/*
 * Chunk @i from a replica, off the event thread: 0 once it is in
 * s->remote; 1 when the fetch was handed over (the connection is then
 * suspended until it is done, and the caller returns 0 bytes so that
 * libmicrohttpd asks again once it is resumed); -errno.
 */
static int stream_fetch_offloaded(struct stream *s, uint32_t i)
{
	if (s->remote_len >= 0 && s->remote_idx == i)
		return 0;
	if (s->fetched && s->fetch_idx == i) {
		s->fetched = false;
		return s->fetch_err ? s->fetch_err : -EIO;
	}
	if (!s->off && !(s->off = offload_new(s->c, 1u << 20)))
		return stream_fetch(s, i);	/* no thread: here, slow beats none */
	s->fetch_idx = i;
	s->fetched = false;
	return http_hand_over(s->off, stream_fetch_work, s) ? 1 : -ESHUTDOWN;
}

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

/*
 * This host's file of a chunk of @size bytes: fd or -errno. With
 * replication a file of another size (cut short, a disk that lost it) is
 * -ENOENT, so the chunk is read from a replica instead of cutting the
 * response short; alone, the file is all there is.
 */
static int open_local(struct dgfsd *d, const uint8_t *id, uint32_t size)
{
	int fd = chunkstore_open_chunk(d->cs, id);
	struct stat st;

	if (fd >= 0 && repl_on(d) && (fstat(fd, &st) || (uint64_t)st.st_size != size)) {
		close(fd);
		fd = -ENOENT;
	}
	return fd;
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
		s->fd = open_local(s->d, ch->id, ch->size);
		/* Not here: another host has it (each chunk lives on --replicas hosts). */
		if (s->fd == -ENOENT && repl_on(s->d)) {
			int ret = stream_fetch_offloaded(s, i);

			if (ret > 0)
				return 0;	/* suspended: asked again when resumed */
			if (ret < 0)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			memcpy(buf, s->remote + in_chunk, want);
			return (ssize_t)want;
		}
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
		chunkstore_read_unpin(s->d->cs, s->chunks[i].id);
	offload_free(s->off);	/* idle: its connection was resumed */
	free(s->remote);
	free(s->chunks);
	free(s);
}

/*
 * A body of at most SMALL_BODY bytes is read into memory and sent with
 * the headers in one send(): from a file, libmicrohttpd sends the headers
 * alone first, then the body with sendfile(), each pushing a TCP segment
 * of its own (its delivery and the reader's wake-up were a quarter of a
 * 4 KiB GET's CPU: docs/BENCHMARKS.md). Copying this little costs less.
 */
#define SMALL_BODY	(64u << 10)

/*
 * Bytes [off, off + len) of chunk @id as a body (its file often kept open:
 * chunkstore_read_fd()); NULL with *err set on error (-ENOENT: no file).
 */
static struct MHD_Response *small_response(struct dgfsd *d, const uint8_t *id, uint64_t off,
					   size_t len, int *err)
{
	struct MHD_Response *resp;
	size_t got = 0;
	ssize_t n;
	char *buf;
	int fd;

	fd = chunkstore_read_fd(d->cs, id);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	*err = -EIO;
	buf = malloc(len);
	while (buf && got < len) {
		n = pread(fd, buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;		/* shorter than the metadata says */
		got += (size_t)n;
	}
	chunkstore_read_fd_done(d->cs, id, fd);
	if (!buf || got < len) {
		/* Cut short here: with replication a replica has it (the stream fetches). */
		if (buf && repl_on(d))
			*err = -ENOENT;
		free(buf);
		return NULL;
	}
	resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		free(buf);
	return resp;
}

/*
 * The body for bytes [first, first + len) of @f; takes f->chunks for a
 * stream. NULL with *again set when a chunk went away between reading the
 * metadata and opening or pinning it (the file was overwritten or deleted
 * just then): the caller reads the metadata again.
 */
static struct MHD_Response *range_response(struct dgfsd *d, struct MHD_Connection *c,
					   struct meta_file *f, uint64_t first, uint64_t len,
					   bool *again)
{
	struct MHD_Response *resp;
	struct stream *s;
	uint32_t i, last;

	*again = false;
	if (!len)
		return http_empty_response();
	i = chunk_at(f->chunks, f->nchunks, first);
	if (first + len <= f->chunks[i].offset + f->chunks[i].size) {
		/*
		 * Inside one chunk file: sendfile() from the page cache, or a
		 * small body read into memory. The open file outlives an
		 * unlink, so no pin is needed.
		 */
		int fd;

		if (len <= SMALL_BODY) {
			resp = small_response(d, f->chunks[i].id, first - f->chunks[i].offset,
					      (size_t)len, &fd);
			if (resp)
				return resp;
		} else {
			fd = open_local(d, f->chunks[i].id, f->chunks[i].size);
			if (fd >= 0)
				return http_fd_response(c, fd, first - f->chunks[i].offset, len);
		}
		/* On other hosts: the stream below fetches it. */
		if (fd != -ENOENT || !repl_on(d)) {
			*again = fd == -ENOENT;
			return NULL;
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->d = d;
	s->c = c;
	s->chunks = f->chunks;
	s->nchunks = f->nchunks;
	s->first = first;
	s->fd = -1;
	s->remote_len = -1;
	s->pin_first = s->pin_end = i;
	last = chunk_at(f->chunks, f->nchunks, first + len - 1);
	for (; s->pin_end <= last; s->pin_end++) {
		/*
		 * Read pins: an event thread must not wait for the store
		 * lock. In a cluster a chunk not here is read from a replica.
		 */
		if (chunkstore_read_pin(d->cs, s->chunks[s->pin_end].id, !repl_on(d))) {
			*again = true;
			while (s->pin_end-- > s->pin_first)
				chunkstore_read_unpin(d->cs, s->chunks[s->pin_end].id);
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
			resp = http_empty_response();
			if (resp)
				file_headers(resp, &f);
			meta_file_release(&f);
			return http_queue(c, r, 304, resp, 0);
		}
		range_hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
		rr = dgfsd_range_parse(range_hdr, f.size, &first, &last);
		/* A Range for another version of the file: the whole file instead. */
		if (!dgfsd_if_range_ok(http_header(c, MHD_HTTP_HEADER_IF_RANGE), f.etag))
			rr = DGFSD_RANGE_NONE;
		if (rr == DGFSD_RANGE_UNSATISFIABLE) {
			snprintf(cr, sizeof(cr), "bytes */%" PRIu64, f.size);
			meta_file_release(&f);
			resp = http_empty_response();
			if (resp)
				MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
			return http_queue(c, r, 416, resp, 0);
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
		resp = range_response(d, c, &f, first, f.size ? last - first + 1 : 0, &again);
		if (resp) {
			file_headers(resp, &f);
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
						f.content_type);
			/*
			 * Files share the origin with the web UI: one that a
			 * browser would run (HTML, SVG, XML, JavaScript...) is
			 * saved, never shown, and no file runs scripts.
			 */
			if (!dgfsd_ctype_inline_safe(f.content_type))
				MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION,
							"attachment");
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY,
						"default-src 'none'; sandbox");
			if (status == 206)
				MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
			meta_file_release(&f);
			return http_queue(c, r, status, resp, f.size ? last - first + 1 : 0);
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
	json_t *j, *chunks, *fastpath;
	struct meta_file f;
	uint32_t expiry, i;
	int ret;

	ret = meta_file_get(d->meta, r->path, &f, true);
	if (ret == -ENOENT)
		return http_send_error(c, r, 404, "no such file");
	if (ret)
		return http_send_error(c, r, 500, "cannot read the metadata");
	if (http_client_addr(c, addr)) {
		meta_file_release(&f);
		return http_send_error(c, r, 500, "unknown client address");
	}
	if (d->cfg.public_host[0])
		snprintf(host, sizeof(host), "%s", d->cfg.public_host);
	else
		http_local_host(c, host, sizeof(host));
	expiry = dgfs_expiry_from_now(d->cfg.token_ttl);
	chunks = json_array();
	for (i = 0; i < f.nchunks; i++) {
		char tok[2 * DGFS_TOKEN_LEN + 1];

		/* With a cluster secret the key is the cluster's: the token is good on every replica. */
		if (d->cfg.auth)
			dgfs_token_mint(d->key, f.chunks[i].id, expiry, addr, token);
		dgfs_hex_encode(f.chunks[i].id, DGFS_CHUNK_ID_LEN, hex);
		dgfs_hex_encode(token, DGFS_TOKEN_LEN, tok);
		json_array_append_new(chunks, json_pack("{s:s,s:I,s:I,s:s}", "id", hex,
							"offset", (json_int_t)f.chunks[i].offset,
							"size", (json_int_t)f.chunks[i].size,
							"token", tok));
	}
	fastpath = json_pack("{s:s,s:i,s:I,s:I,s:s}", "host", host, "port", d->cfg.udp_port,
			     "expiry", (json_int_t)expiry, "max_read", (json_int_t)d->cfg.max_read,
			     "server", d->kmod ? "kernel" : "userspace");
	/*
	 * Every replica of each chunk, for the fast path. Without them (the
	 * database is away) the manifest is the single host's: the client
	 * gets what this host lacks through its HTTP fallback.
	 */
	if (fastpath && chunks && repl_on(d)) {
		ret = replicas_add(d, &f, host, fastpath, chunks);
		if (ret)
			fprintf(stderr, "dgfsd: the manifest of %s lists no replicas: %s\n", f.path,
				strerror(-ret));
	}
	j = json_pack("{s:s,s:I,s:s,s:I,s:s,s:o,s:o}",
		      "path", f.path, "size", (json_int_t)f.size, "etag", f.etag,
		      "mtime", (json_int_t)f.mtime, "content_type", f.content_type,
		      "fastpath", fastpath, "chunks", chunks);
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

enum MHD_Result files_list(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
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

/*
 * A write's If-Match and If-None-Match into @pre, and whether they hold
 * now (they are checked again under the store lock at the write itself).
 * true to go on; otherwise the answer (400, 412, 500) is queued in *ret.
 */
static bool precond_read(struct dgfsd *d, struct MHD_Connection *c, struct request *r,
			 struct dgfsd_precond *pre, enum MHD_Result *ret)
{
	const char *im = http_header(c, MHD_HTTP_HEADER_IF_MATCH);
	const char *inm = http_header(c, MHD_HTTP_HEADER_IF_NONE_MATCH);
	int err;

	memset(pre, 0, sizeof(*pre));
	if ((im && strlen(im) >= sizeof(pre->if_match)) ||
	    (inm && strlen(inm) >= sizeof(pre->if_none_match))) {
		*ret = http_send_error(c, r, 400, "If-Match or If-None-Match too long");
		return false;
	}
	if (im)
		snprintf(pre->if_match, sizeof(pre->if_match), "%s", im);
	if (inm)
		snprintf(pre->if_none_match, sizeof(pre->if_none_match), "%s", inm);
	err = chunkstore_precond(d->cs, r->path, pre);
	if (err == -ECANCELED)
		*ret = http_send_error(c, r, 412, "precondition failed: the file's ETag is not "
				       "what If-Match or If-None-Match asked");
	else if (err)
		*ret = http_send_error(c, r, 500, "cannot read the metadata");
	return !err;
}

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

/*
 * The most chunks a commit may list: what the largest file allows (every
 * chunk but the last is at least FastCDC's minimum), unless
 * --max-commit-chunks says otherwise. The list scales with the file.
 */
static uint64_t commit_max_chunks(const struct dgfsd *d)
{
	uint64_t n = d->cfg.max_commit_chunks;

	if (!n)
		n = d->cfg.max_file_size / FASTCDC_MIN_SIZE + 1;
	return n < UINT32_MAX ? n : UINT32_MAX;
}

static enum MHD_Result post_commit(struct dgfsd *d, struct MHD_Connection *c,
				   struct request *r)
{
	struct meta_idlist missing = { 0 };
	uint8_t (*ids)[DGFS_CHUNK_ID_LEN] = NULL;
	const char *ctype = NULL, *why = "commit failed";
	struct dgfsd_precond pre;
	enum MHD_Result answer;
	struct meta_file f;
	unsigned int status;
	bool replaced = false, too_big;
	json_t *j, *jt;
	size_t n;
	int ret;

	j = dgfsd_json_parse(r->body, r->body_len, 0, dgfsd_json_allowance(r->body_len),
			     &too_big);
	if (too_big)
		return http_send_error(c, r, 413, "request body too complex: nested deeper "
				       "than %d or parsed into more than %zu bytes",
				       DGFSD_JSON_DEPTH_MAX, dgfsd_json_allowance(r->body_len));
	ret = j ? chunks_parse_ids(json_object_get(j, "chunks"), commit_max_chunks(d), &ids, &n) :
	      -EINVAL;
	json_decref(ret ? j : NULL);
	if (ret == -E2BIG)
		return http_send_error(c, r, 413, "more than %" PRIu64 " chunks in one file "
				       "(--max-commit-chunks)", commit_max_chunks(d));
	if (ret)
		return http_send_error(c, r, 400, "expected {\"chunks\": [chunk ids]}");
	jt = json_object_get(j, "content_type");
	if (jt) {
		const char *bad = "not a string";

		ctype = json_string_value(jt);
		if (!ctype || (bad = dgfsd_ctype_check(ctype, META_CTYPE_MAX))) {
			json_decref(j);
			free(ids);
			return http_send_error(c, r, 400, "bad content_type: %s", bad);
		}
	}
	if (!precond_read(d, c, r, &pre, &answer)) {
		json_decref(j);
		free(ids);
		return answer;
	}
	memset(&f, 0, sizeof(f));
	status = upload_commit_list(d, r->path, ctype, &pre,
				    (const uint8_t (*)[DGFS_CHUNK_ID_LEN])ids, n, &f, &missing,
				    &replaced, &why);
	json_decref(j);
	free(ids);
	if (status == 409) {
		j = json_pack("{s:s,s:o}", "error", why, "missing",
			      chunks_id_array((const uint8_t (*)[DGFS_CHUNK_ID_LEN])missing.ids,
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

enum MHD_Result files_get(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	if (http_has_arg(c, "tags"))
		return meta_has_tags(d->meta) ? tags_api_get(d, c, r) : http_no_sql(c, r);
	if (http_has_arg(c, "related"))
		return meta_has_tags(d->meta) ? graph_api_related(d, c, r) : http_no_sql(c, r);
	return http_has_arg(c, "manifest") ? get_manifest(d, c, r) : get_file(d, c, r);
}

enum MHD_Result files_delete(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	struct dgfsd_precond pre;
	enum MHD_Result answer;
	int ret;

	if (!precond_read(d, c, r, &pre, &answer))
		return answer;
	ret = chunkstore_delete_file(d->cs, r->path, &pre);
	if (ret == -ECANCELED)
		return http_send_error(c, r, 412, "precondition failed: the file changed");
	if (ret == -ENOENT)
		return http_send_error(c, r, 404, "no such file");
	if (ret)
		return http_send_error(c, r, 500, "cannot delete: %s", strerror(-ret));
	return http_send_empty(c, r, 204);
}

enum MHD_Result files_put(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	const char *v = http_header(c, MHD_HTTP_HEADER_CONTENT_LENGTH), *why;
	struct dgfsd_precond pre;
	enum MHD_Result answer;

	if (v) {
		char *end;
		unsigned long long n;

		errno = 0;
		n = strtoull(v, &end, 10);
		if (!errno && !*end && n > d->cfg.max_file_size)
			return http_send_error(c, r, 413, "file larger than %" PRIu64 " bytes",
					       d->cfg.max_file_size);
	}
	/* Stored as given: listings and manifests must be able to carry it. */
	v = http_header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (v && (why = dgfsd_ctype_check(v, META_CTYPE_MAX)))
		return http_send_error(c, r, 400, "bad Content-Type: %s", why);
	/* Refused before the body comes when it fails already (and again at the commit). */
	if (!precond_read(d, c, r, &pre, &answer))
		return answer;
	/* Its chunk buffer is a body held in memory too. */
	if (!http_budget_take(d, r, DGFSD_MAX_CHUNK))
		return http_send_error(c, r, 503, "too many request bodies at once; try again");
	r->up = upload_start(d, r->path, v, &pre);
	if (!r->up)
		return http_send_error(c, r, 503, errno == EBUSY ? "too many uploads at once" :
				       "out of memory");
	r->finish = upload_done;
	return MHD_YES;
}

enum MHD_Result files_commit(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	if (http_has_arg(c, "tags"))
		return meta_has_tags(d->meta) ? tags_api_post(d, c, r) : http_no_sql(c, r);
	if (!http_has_arg(c, "commit"))
		return http_method_not_allowed(c, r, "GET, HEAD, PUT, DELETE, POST");
	r->finish = post_commit;
	r->json_body = true;
	/*
	 * Proportional to the list: an id is 66 bytes and a comma in compact
	 * JSON; 96 leaves room for pretty-printing, 64 KiB for the rest.
	 */
	r->body_max = commit_max_chunks(d) * 96 + (64u << 10);
	return MHD_YES;
}
