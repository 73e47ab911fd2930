// SPDX-License-Identifier: GPL-2.0
/*
 * Uploads. PUT /files streams: body bytes go through FastCDC into a chunk
 * buffer (at most FASTCDC_MAX_SIZE, so an upload's memory is bounded
 * whatever the file's size); at each cut the chunk is hashed and handed to
 * the chunk store, which writes it only if it is new. The file's SHA-256
 * (its ETag) is computed on the way. Only when the last byte is in is the
 * file committed, in one transaction; an upload that ends early commits
 * nothing, and the chunks it alone wrote are removed.
 *
 * POST ?commit builds a file from chunks the client uploaded one by one
 * (client-side dedup): every chunk is pinned, read once to compute the
 * file's SHA-256, and the file is committed.
 */
#include <errno.h>
#include <magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "proto/sha256.h"
#include "dgfsd.h"
#include "repl.h"
#include "tags.h"

struct upload {
	struct dgfsd *d;
	char path[META_PATH_MAX + 1];
	char content_type[META_CTYPE_MAX + 1];
	struct fastcdc cdc;
	dgfs_sha256_state file_hash;
	uint8_t *buf;			/* the current chunk */
	uint32_t buf_len;
	uint64_t size;
	struct meta_chunk *chunks;	/* stored (and pinned) so far */
	bool *created;			/* ... and whether we wrote each */
	bool *pinned;			/* ... and whether it is pinned here (a replica) */
	uint32_t nchunks, cap;
	uint32_t new_chunks;
	uint64_t new_bytes;
	struct dgfsd_precond pre;	/* If-Match, If-None-Match */
	unsigned int error;		/* HTTP status once failed */
	const char *why;
	bool committed;
};

unsigned int dgfsd_errno_status(int err, const char **why)
{
	switch (err) {
	case -ENOSPC:
	case -EDQUOT:
		*why = "the store is full";
		return 507;
	case -ENOMEM:
		*why = "out of memory";
		return 503;
	case -ECANCELED:
		*why = "precondition failed: the file's ETag is not what If-Match or "
		       "If-None-Match asked";
		return 412;
	default:
		*why = "cannot write to the store";
		return 500;
	}
}

struct upload *upload_start(struct dgfsd *d, const char *path, const char *content_type,
			    const struct dgfsd_precond *pre)
{
	struct upload *u;

	if (atomic_fetch_add(&d->uploads, 1) >= d->cfg.max_uploads) {
		atomic_fetch_sub(&d->uploads, 1);
		errno = EBUSY;
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (u)
		u->buf = malloc(DGFSD_MAX_CHUNK);
	if (!u || !u->buf) {
		free(u);
		atomic_fetch_sub(&d->uploads, 1);
		errno = ENOMEM;
		return NULL;
	}
	u->d = d;
	snprintf(u->path, sizeof(u->path), "%s", path);
	if (content_type)
		snprintf(u->content_type, sizeof(u->content_type), "%s", content_type);
	if (pre)
		u->pre = *pre;
	fastcdc_init(&u->cdc, &fastcdc_default_params);
	dgfs_sha256_init(&u->file_hash);
	return u;
}

static int add_chunk(struct upload *u, const uint8_t id[DGFS_CHUNK_ID_LEN], uint32_t size,
		     bool created, bool pinned)
{
	if (u->nchunks == u->cap) {
		uint32_t cap = u->cap ? 2 * u->cap : 16;
		struct meta_chunk *c = realloc(u->chunks, cap * sizeof(*c));
		bool *cr;

		if (!c)
			return -ENOMEM;
		u->chunks = c;
		cr = realloc(u->created, cap * sizeof(*cr));
		if (!cr)
			return -ENOMEM;
		u->created = cr;
		cr = realloc(u->pinned, cap * sizeof(*cr));
		if (!cr)
			return -ENOMEM;
		u->pinned = cr;
		u->cap = cap;
	}
	memcpy(u->chunks[u->nchunks].id, id, DGFS_CHUNK_ID_LEN);
	u->chunks[u->nchunks].offset = u->size - size;
	u->chunks[u->nchunks].size = size;
	u->created[u->nchunks] = created;
	u->pinned[u->nchunks] = pinned;
	u->nchunks++;
	return 0;
}

/* The buffer holds a whole chunk: store it. */
static unsigned int flush_chunk(struct upload *u)
{
	uint8_t id[DGFS_CHUNK_ID_LEN];
	bool created, pinned = true;
	unsigned int status;
	int ret;

	if (!u->buf_len)
		return 0;
	if (!u->nchunks && !u->content_type[0])
		dgfsd_guess_type(u->buf, u->buf_len, u->content_type, sizeof(u->content_type));
	dgfs_sha256(id, u->buf, u->buf_len);
	if (repl_on(u->d)) {
		/* On its owners, this host maybe not among them; W copies or the upload fails. */
		status = repl_store(u->d, id, u->buf, u->buf_len, &pinned, &created, &u->why);
		if (status)
			return status;
	} else {
		ret = chunkstore_put(u->d->cs, id, u->buf, u->buf_len, &created);
		if (ret)
			return dgfsd_errno_status(ret, &u->why);
	}
	ret = add_chunk(u, id, u->buf_len, created, pinned);
	if (ret) {
		if (pinned)
			chunkstore_unpin(u->d->cs, id, created);
		return dgfsd_errno_status(ret, &u->why);
	}
	if (created) {
		u->new_chunks++;
		u->new_bytes += u->buf_len;
	}
	u->buf_len = 0;
	return 0;
}

unsigned int upload_feed(struct upload *u, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (u->error)
		return u->error;
	if (u->size + len > u->d->cfg.max_file_size) {
		u->why = "file too large";
		return u->error = 413;
	}
	dgfs_sha256_update(&u->file_hash, p, len);
	while (len) {
		bool cut;
		size_t n = fastcdc_feed(&u->cdc, p, len, &cut);

		/* fastcdc cuts at FASTCDC_MAX_SIZE at the latest: n fits. */
		memcpy(u->buf + u->buf_len, p, n);
		u->buf_len += (uint32_t)n;
		u->size += n;
		p += n;
		len -= n;
		if (cut) {
			u->error = flush_chunk(u);
			if (u->error)
				return u->error;
		}
	}
	return 0;
}

unsigned int upload_finish(struct upload *u, struct meta_file *f, uint32_t *new_chunks,
			   uint64_t *new_bytes, const char **why)
{
	uint8_t digest[DGFS_SHA256_BYTES];
	bool replaced;
	int ret;

	if (!u->error)
		u->error = flush_chunk(u);
	if (u->error) {
		*why = u->why;
		return u->error;
	}
	dgfs_sha256_final(&u->file_hash, digest);
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", u->path);
	f->size = u->size;
	dgfs_hex_encode(digest, sizeof(digest), f->etag);
	f->mtime = time(NULL);
	snprintf(f->content_type, sizeof(f->content_type), "%s",
		 u->content_type[0] ? u->content_type : "application/octet-stream");
	f->nchunks = u->nchunks;
	f->chunks = u->chunks;
	ret = chunkstore_commit(u->d->cs, f, &u->pre, &replaced);
	f->chunks = NULL;
	if (ret) {
		return u->error = dgfsd_errno_status(ret, why);
	}
	u->committed = true;
	tagging_kick(u->d->tagging);
	*new_chunks = u->new_chunks;
	*new_bytes = u->new_bytes;
	return replaced ? 200 : 201;
}

void upload_free(struct upload *u)
{
	uint32_t i;

	if (!u)
		return;
	/* Committed: the file holds the chunks. Not: those we wrote go. */
	for (i = 0; i < u->nchunks; i++)
		if (u->pinned[i])
			chunkstore_unpin(u->d->cs, u->chunks[i].id, !u->committed && u->created[i]);
	atomic_fetch_sub(&u->d->uploads, 1);
	free(u->chunks);
	free(u->created);
	free(u->pinned);
	free(u->buf);
	free(u);
}

/* Reads a whole pinned chunk into @buf and checks it against its id. */
static int read_chunk(struct dgfsd *d, const uint8_t id[DGFS_CHUNK_ID_LEN], uint8_t *buf,
		      uint32_t size)
{
	uint8_t got[DGFS_SHA256_BYTES];
	uint32_t done = 0;
	int fd = chunkstore_open_chunk(d->cs, id);

	if (fd < 0)
		return fd;
	while (done < size) {
		ssize_t n = pread(fd, buf + done, size - done, done);

		if (n <= 0) {
			close(fd);
			return n < 0 ? -errno : -EIO;
		}
		done += (uint32_t)n;
	}
	close(fd);
	dgfs_sha256(got, buf, size);
	return memcmp(got, id, sizeof(got)) ? -EIO : 0;
}

/*
 * Tests of slow commits only: $DGFSD_TEST_COMMIT_DELAY_MS milliseconds more
 * per chunk hashed, standing for a slow disk under a large file.
 */
static unsigned int test_commit_delay_ms(void)
{
	const char *v = getenv("DGFSD_TEST_COMMIT_DELAY_MS");
	unsigned long ms = v ? strtoul(v, NULL, 10) : 0;

	return ms < 10000 ? (unsigned int)ms : 10000;
}

unsigned int upload_commit_list(struct dgfsd *d, const char *path, const char *content_type,
				const struct dgfsd_precond *pre,
				const uint8_t (*ids)[DGFS_CHUNK_ID_LEN], size_t n,
				struct meta_file *f, struct meta_idlist *missing, bool *replaced,
				const char **why)
{
	dgfs_sha256_state hash;
	uint8_t digest[DGFS_SHA256_BYTES];
	struct meta_chunk *chunks;
	unsigned int status = 0;
	uint8_t *buf = NULL;
	size_t i, pinned = 0;
	unsigned int delay_ms;
	uint64_t size = 0;
	int ret;

	chunks = calloc(n ? n : 1, sizeof(*chunks));
	buf = malloc(DGFSD_MAX_CHUNK);
	if (!chunks || !buf) {
		*why = "out of memory";
		status = 503;
		goto out;
	}
	for (i = 0; i < n; i++) {
		uint32_t csize;

		if (chunkstore_pin_file(d->cs, ids[i], &csize)) {
			if (meta_idlist_add(missing, ids[i])) {
				*why = "out of memory";
				status = 503;
				goto out;
			}
			continue;
		}
		memcpy(chunks[pinned].id, ids[i], DGFS_CHUNK_ID_LEN);
		chunks[pinned].offset = size;
		chunks[pinned].size = csize;
		pinned++;
		size += csize;
	}
	if (missing->n) {
		*why = "some chunks are not on the host";
		status = 409;
		goto out;
	}
	if (size > d->cfg.max_file_size) {
		*why = "file too large";
		status = 413;
		goto out;
	}
	/* The ETag is the content's SHA-256: read it all, checking every chunk. */
	dgfs_sha256_init(&hash);
	delay_ms = test_commit_delay_ms();
	for (i = 0; i < pinned; i++) {
		if (delay_ms)
			usleep(delay_ms * 1000);
		if (chunks[i].size > DGFSD_MAX_CHUNK ||
		    read_chunk(d, chunks[i].id, buf, chunks[i].size)) {
			*why = "a stored chunk does not match its id";
			status = 500;
			goto out;
		}
		if (!i && !content_type)
			dgfsd_guess_type(buf, chunks[i].size, f->content_type,
					 sizeof(f->content_type));
		/* Uploaded here with PUT /chunks: onto its owners before the file commits. */
		if (repl_on(d) && (status = repl_spread(d, chunks[i].id, buf, chunks[i].size, why)))
			goto out;
		dgfs_sha256_update(&hash, buf, chunks[i].size);
	}
	dgfs_sha256_final(&hash, digest);
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->size = size;
	dgfs_hex_encode(digest, sizeof(digest), f->etag);
	f->mtime = time(NULL);
	if (content_type)
		snprintf(f->content_type, sizeof(f->content_type), "%s", content_type);
	if (!f->content_type[0])
		snprintf(f->content_type, sizeof(f->content_type), "application/octet-stream");
	f->nchunks = (uint32_t)pinned;
	f->chunks = chunks;
	ret = chunkstore_commit(d->cs, f, pre, replaced);
	f->chunks = NULL;
	if (ret) {
		status = dgfsd_errno_status(ret, why);
		goto out;
	}
	tagging_kick(d->tagging);
	status = *replaced ? 200 : 201;
out:
	for (i = 0; i < pinned; i++)
		chunkstore_unpin(d->cs, chunks[i].id, false);
	free(chunks);
	free(buf);
	return status;
}

/* libmagic handles are not thread-safe: one, behind a mutex. */
static pthread_mutex_t magic_lock = PTHREAD_MUTEX_INITIALIZER;
static magic_t magic;
static bool magic_tried;

void dgfsd_guess_type(const void *data, size_t len, char *out, size_t outlen)
{
	const char *t = NULL;

	pthread_mutex_lock(&magic_lock);
	if (!magic_tried) {
		magic_tried = true;
		magic = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
		if (magic && magic_load(magic, NULL)) {
			magic_close(magic);
			magic = NULL;
		}
	}
	if (magic && len)
		t = magic_buffer(magic, data, len < 65536 ? len : 65536);
	snprintf(out, outlen, "%s", t ? t : "application/octet-stream");
	pthread_mutex_unlock(&magic_lock);
}
