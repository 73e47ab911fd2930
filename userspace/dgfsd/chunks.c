// SPDX-License-Identifier: GPL-2.0
/*
 * The chunk endpoints under /chunks/ (docs/HTTP.md, "Chunks"): a chunk's
 * bytes, chunk uploads (zstd or raw, checked against their id), and the
 * dedup question "which of these do you lack?". http.c's routing table
 * calls the exported handlers once the caller may.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "proto/sha256.h"
#include "dgfsd.h"
#include "http.h"
#include "httputil.h"
#include "repl.h"

_Static_assert(DGFS_CHUNK_ID_LEN == 32, "dgfsd_ids_first takes 32-byte ids");

/* From a replica (repl_fetch checks its hash), held for this answer only. */
static enum MHD_Result get_remote(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	struct MHD_Response *resp;
	uint8_t *buf;
	long n;

	if (!http_budget_take(d, r, DGFSD_MAX_CHUNK))
		return http_send_error(c, r, 503, "too many request bodies at once; try again");
	buf = malloc(DGFSD_MAX_CHUNK);
	if (!buf)
		return http_send_error(c, r, 503, "out of memory");
	n = repl_fetch(d, r->id, buf, DGFSD_MAX_CHUNK);
	if (n < 0) {
		free(buf);
		return http_send_error(c, r, 503, "no host that holds the chunk answered");
	}
	resp = MHD_create_response_from_buffer((size_t)n, buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
	return http_queue(c, r, 200, resp, (uint64_t)n);
}

enum MHD_Result chunks_get(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
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
	/* A chunk of the cluster's that lives on other hosts (dgfs get's HTTP fallback). */
	if (fd == -ENOENT && repl_on(d))
		return get_remote(d, c, r);
	if (fd < 0)
		return http_send_error(c, r, 404, "no such chunk");
	return chunk_send_fd(c, r, fd);
}

enum MHD_Result chunk_send_fd(struct MHD_Connection *c, struct request *r, int fd)
{
	struct MHD_Response *resp;
	struct stat st;

	if (fstat(fd, &st)) {
		close(fd);
		return http_send_error(c, r, 500, "cannot read the chunk");
	}
	resp = http_fd_response(c, fd, 0, (uint64_t)st.st_size);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
	return http_queue(c, r, 200, resp, (uint64_t)st.st_size);
}

static enum MHD_Result post_missing(struct dgfsd *d, struct MHD_Connection *c,
				    struct request *r)
{
	struct meta_idlist missing = { 0 };
	uint8_t (*ids)[DGFS_CHUNK_ID_LEN] = NULL;
	size_t i, n, *keep;
	bool too_big;
	long nkeep;
	json_t *j;

	j = dgfsd_json_parse(r->body, r->body_len, 0, dgfsd_json_allowance(r->body_len),
			     &too_big);
	if (too_big)
		return http_send_error(c, r, 413, "request body too complex: nested deeper "
				       "than %d or parsed into more than %zu bytes",
				       DGFSD_JSON_DEPTH_MAX, dgfsd_json_allowance(r->body_len));
	if (!j || chunks_parse_ids(json_object_get(j, "ids"), DGFSD_MISSING_MAX, &ids, &n)) {
		json_decref(j);
		return http_send_error(c, r, 400, "expected {\"ids\": [up to %d chunk ids]}",
				       DGFSD_MISSING_MAX);
	}
	json_decref(j);
	/* Each distinct id once, in the order given (sorted aside: n log n). */
	keep = malloc((n ? n : 1) * sizeof(*keep));
	nkeep = keep ? dgfsd_ids_first((const uint8_t (*)[32])ids, n, keep) : -1;
	for (i = 0; nkeep >= 0 && i < (size_t)nkeep; i++) {
		if (chunkstore_wanted(d->cs, ids[keep[i]]))
			continue;
		if (meta_idlist_add(&missing, ids[keep[i]]))
			nkeep = -1;
	}
	free(keep);
	free(ids);
	if (nkeep < 0) {
		meta_idlist_free(&missing);
		return http_send_error(c, r, 503, "out of memory");
	}
	j = json_pack("{s:o}", "missing",
		      chunks_id_array((const uint8_t (*)[DGFS_CHUNK_ID_LEN])missing.ids, missing.n));
	meta_idlist_free(&missing);
	return http_send_json(c, r, 200, j);
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
		if (!http_budget_take(d, r, DGFSD_MAX_CHUNK))
			return http_send_error(c, r, 503, "too many request bodies at once; "
					       "try again");
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

enum MHD_Result chunks_missing(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	(void)d;
	(void)c;
	r->finish = post_missing;
	r->json_body = true;
	r->body_max = HTTP_JSON_BODY_MAX;
	return MHD_YES;
}

enum MHD_Result chunks_put(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	const char *v = http_header(c, MHD_HTTP_HEADER_CONTENT_ENCODING);

	(void)d;
	if (v && strcasecmp(v, "zstd") && strcasecmp(v, "identity"))
		return http_send_error(c, r, 415, "Content-Encoding: zstd or none");
	r->zstd = v && !strcasecmp(v, "zstd");
	r->finish = put_chunk;
	/* A zstd frame of a 4 MiB chunk is at most a little larger. */
	r->body_max = r->zstd ? ZSTD_compressBound(DGFSD_MAX_CHUNK) : DGFSD_MAX_CHUNK;
	return MHD_YES;
}
