// SPDX-License-Identifier: GPL-2.0
/*
 * dgfsd's metadata layer (meta.h): the front every caller goes through.
 * It picks the backend from the spec meta_open() is given, checks every
 * argument, and holds the lock around each backend call (but the reads a
 * backend may do on connections of their own: file_get, key_get), so the
 * backends (backend.h) only speak their database's language.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "file_cache.h"

int meta_open(const char *spec, struct meta **out)
{
	pthread_mutexattr_t attr;
	struct meta *m = NULL;
	int err;

	if (!spec || !*spec || !out)
		return -EINVAL;
	err = meta_spec_is_pg(spec) ? meta_pg_open(spec, &m) : meta_sqlite_open(spec, &m);
	if (err)
		return err;
	/*
	 * Error-checking, so that a callback calling back into meta (which
	 * would otherwise hang forever) gets -EDEADLK instead.
	 */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	err = -pthread_mutex_init(&m->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (err) {
		m->ops->close(m);
		return err;
	}
	/* Without it every read goes to the database: slower, still right. */
	if (m->ops->cache_files)
		m->files = file_cache_new();
	*out = m;
	return 0;
}

void meta_close(struct meta *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	file_cache_free(m->files);
	m->ops->close(m);
}

const char *meta_backend_name(const struct meta *m)
{
	return m->ops->name;
}

bool meta_has_sql(const struct meta *m)
{
	return m->ops->run != NULL;
}

bool meta_has_pg(const struct meta *m)
{
	return m->ops->run_pg != NULL;
}

bool meta_has_tags(const struct meta *m)
{
	return meta_has_sql(m) || meta_has_pg(m);
}

static int meta_lock(struct meta *m)
{
	int err = pthread_mutex_lock(&m->lock);

	if (err) {
		fprintf(stderr, "dgfsd: meta: lock: %s%s\n", strerror(err),
			err == EDEADLK ? " (a callback called meta)" : "");
		return -err;
	}
	return 0;
}

static void meta_unlock(struct meta *m)
{
	pthread_mutex_unlock(&m->lock);
}

/* Length of a path argument, or -EINVAL if it is NULL, empty or too long. */
static int meta_path_len(const char *path)
{
	size_t len;

	if (!path)
		return -EINVAL;
	len = strnlen(path, META_PATH_MAX + 1);
	if (!len || len > META_PATH_MAX)
		return -EINVAL;
	return (int)len;
}

static int meta_file_check(const struct meta_file *f)
{
	uint64_t pos = 0;
	uint32_t i;

	if (meta_path_len(f->path) < 0 || f->size > INT64_MAX ||
	    !meta_terminated(f->etag, sizeof(f->etag)) ||
	    !meta_terminated(f->content_type, sizeof(f->content_type)))
		return -EINVAL;
	if (f->nchunks && !f->chunks)
		return -EINVAL;
	/*
	 * The chunks must tile the file exactly, in order: readers find the
	 * chunk for a byte range from these offsets. pos never passes
	 * f->size, so it cannot wrap.
	 */
	for (i = 0; i < f->nchunks; i++) {
		if (f->chunks[i].offset != pos || f->chunks[i].size > f->size - pos)
			return -EINVAL;
		pos += f->chunks[i].size;
	}
	return pos == f->size ? 0 : -EINVAL;
}

int meta_file_get(struct meta *m, const char *path, struct meta_file *f, bool with_chunks)
{
	struct meta_file tmp = { .chunks = NULL };
	unsigned long gen;
	int len, err;

	len = meta_path_len(path);
	if (!m || !f || len < 0)
		return -EINVAL;
	/* Filled aside: path may be f->path, and f stays as it was on error. */
	memcpy(tmp.path, path, len + 1);
	if (m->files && !file_cache_get(m->files, tmp.path, len, &tmp, with_chunks)) {
		*f = tmp;
		return 0;
	}
	gen = m->files ? file_cache_gen(m->files) : 0;
	err = m->ops->file_get_unlocked ?
	      m->ops->file_get_unlocked(m, tmp.path, len, &tmp, with_chunks) : -EAGAIN;
	if (err == -EAGAIN) {
		err = meta_lock(m);
		if (err)
			return err;
		err = m->ops->file_get(m, tmp.path, len, &tmp, with_chunks);
		meta_unlock(m);
	}
	if (!err && with_chunks && m->files)
		file_cache_put(m->files, gen, &tmp);
	if (!err)
		*f = tmp;
	return err;
}

void meta_file_release(struct meta_file *f)
{
	if (!f)
		return;
	free(f->chunks);
	f->chunks = NULL;
}

int meta_file_put(struct meta *m, const struct meta_file *f, struct meta_idlist *freed,
		  bool *replaced)
{
	size_t freed_n = freed ? freed->n : 0;
	bool had = false;
	int err;

	if (!m || !f)
		return -EINVAL;
	err = meta_file_check(f);
	if (err)
		return err;
	err = meta_lock(m);
	if (err)
		return err;
	err = m->ops->file_put(m, f, freed, &had);
	/* Committed or not: a reader finds out from the database. */
	if (m->files)
		file_cache_forget(m->files, f->path, strlen(f->path));
	meta_unlock(m);
	/* The ids a rolled back transaction freed are referenced again. */
	if (err && freed)
		freed->n = freed_n;
	else if (!err && replaced)
		*replaced = had;
	return err;
}

int meta_file_delete(struct meta *m, const char *path, struct meta_idlist *freed)
{
	size_t freed_n = freed ? freed->n : 0;
	int len, err;

	len = meta_path_len(path);
	if (!m || len < 0)
		return -EINVAL;
	err = meta_lock(m);
	if (err)
		return err;
	err = m->ops->file_delete(m, path, len, freed);
	if (m->files)
		file_cache_forget(m->files, path, len);
	meta_unlock(m);
	if (err && freed)
		freed->n = freed_n;
	return err;
}

/* Byte order: memcmp over the common length, then the shorter first. */
static int meta_bytecmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/*
 * The smallest byte string greater than every string starting with
 * @prefix: drop trailing 0xff bytes, add one to the last remaining one. A
 * prefix of only 0xff bytes (or none) has no such string; META_PATH_TOP
 * stands in, since no path reaches it.
 */
static size_t meta_prefix_end(const char *prefix, size_t len, char *buf)
{
	while (len && (unsigned char)prefix[len - 1] == 0xff)
		len--;
	if (!len) {
		memset(buf, 0xff, META_PATH_TOP_LEN);
		return META_PATH_TOP_LEN;
	}
	memcpy(buf, prefix, len);
	buf[len - 1] = (char)((unsigned char)buf[len - 1] + 1);
	return len;
}

int meta_file_list(struct meta *m, const char *prefix, const char *after, unsigned int limit,
		   int (*cb)(const struct meta_file *f, void *arg), void *arg, bool *more)
{
	char end[META_PATH_TOP_LEN];
	struct meta_range r;
	struct meta_file *f;
	size_t plen, alen;
	bool more_ = false;
	int err;

	if (!prefix)
		prefix = "";
	if (!after)
		after = "";
	plen = strnlen(prefix, META_PATH_MAX + 1);
	alen = strnlen(after, META_PATH_MAX + 1);
	if (!m || !cb || plen > META_PATH_MAX || alen > META_PATH_MAX)
		return -EINVAL;
	if (more)
		*more = false;
	/*
	 * One lower bound for the index to seek to: the cursor (exclusive) if
	 * it is past the prefix's start, else the prefix (inclusive).
	 */
	if (alen && meta_bytecmp(after, alen, prefix, plen) >= 0)
		r = (struct meta_range){ .lo = after, .lo_len = alen, .lo_incl = false };
	else
		r = (struct meta_range){ .lo = prefix, .lo_len = plen, .lo_incl = true };
	r.hi = end;
	r.hi_len = meta_prefix_end(prefix, plen, end);
	/* Big (path alone is 1 KiB): not on the stack of whatever thread lists. */
	f = malloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	err = meta_lock(m);
	if (!err) {
		err = m->ops->file_list(m, &r, limit, cb, arg, &more_, f);
		meta_unlock(m);
	}
	free(f);
	if (more)
		*more = more_;
	return err;
}

int meta_chunk_get(struct meta *m, const uint8_t id[META_ID_LEN], uint32_t *size)
{
	int err;

	if (!m || !id)
		return -EINVAL;
	err = meta_lock(m);
	if (err)
		return err;
	err = m->ops->chunk_get(m, id, size);
	meta_unlock(m);
	return err;
}

bool meta_chunk_known(struct meta *m, const uint8_t id[META_ID_LEN], uint32_t *size)
{
	/* A failure was logged; with nowhere to return it, the chunk is reported unknown. */
	return !meta_chunk_get(m, id, size);
}

int meta_chunk_foreach(struct meta *m,
		       int (*cb)(const uint8_t id[META_ID_LEN], uint32_t size, void *arg),
		       void *arg)
{
	int err;

	if (!m || !cb)
		return -EINVAL;
	err = meta_lock(m);
	if (err)
		return err;
	err = m->ops->chunk_foreach(m, cb, arg);
	meta_unlock(m);
	return err;
}

int meta_stats(struct meta *m, struct meta_stats *stats)
{
	int err;

	if (!m || !stats)
		return -EINVAL;
	err = meta_lock(m);
	if (err)
		return err;
	err = m->ops->stats(m, stats);
	meta_unlock(m);
	return err;
}

/* ---- keys ---- */

static const char *const meta_scope_names[] = {
	[META_SCOPE_READ] = "read",
	[META_SCOPE_WRITE] = "write",
	[META_SCOPE_ADMIN] = "admin",
};

const char *meta_scope_name(enum meta_scope scope)
{
	if (scope < META_SCOPE_READ || scope > META_SCOPE_ADMIN)
		return "none";
	return meta_scope_names[scope];
}

int meta_scope_parse(const char *name, enum meta_scope *scope)
{
	int i;

	for (i = META_SCOPE_READ; i <= META_SCOPE_ADMIN; i++) {
		if (name && !strcmp(name, meta_scope_names[i])) {
			*scope = (enum meta_scope)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int meta_key_check(const struct meta_key *k)
{
	if (!meta_terminated(k->prefix, sizeof(k->prefix)) ||
	    !meta_terminated(k->name, sizeof(k->name)) ||
	    k->scope < META_SCOPE_READ || k->scope > META_SCOPE_ADMIN)
		return -EINVAL;
	return 0;
}

int meta_key_add(struct meta *m, struct meta_key *k, bool first)
{
	int err;

	if (!m || !k || meta_key_check(k))
		return -EINVAL;
	err = meta_lock(m);
	if (err)
		return err;
	err = m->ops->key_add(m, k, first);
	meta_unlock(m);
	return err;
}

int meta_key_get(struct meta *m, int64_t id, struct meta_key *k)
{
	int err;

	if (!m || !k)
		return -EINVAL;
	err = m->ops->key_get_unlocked ? m->ops->key_get_unlocked(m, id, k) : -EAGAIN;
	if (err != -EAGAIN)
		return err;
	err = meta_lock(m);
	if (err)
		return err;
	err = m->ops->key_get(m, id, k);
	meta_unlock(m);
	return err;
}

int meta_key_list(struct meta *m, int (*cb)(const struct meta_key *k, void *arg), void *arg)
{
	struct meta_key *k;
	int err;

	if (!m || !cb)
		return -EINVAL;
	k = malloc(sizeof(*k));
	if (!k)
		return -ENOMEM;
	err = meta_lock(m);
	if (!err) {
		err = m->ops->key_list(m, cb, arg, k);
		meta_unlock(m);
	}
	free(k);
	return err;
}

int meta_key_revoke(struct meta *m, int64_t id, int64_t when)
{
	struct meta_key k;
	int err;

	if (!m || when <= 0)
		return -EINVAL;
	err = meta_lock(m);
	if (err)
		return err;
	err = m->ops->key_revoke(m, id, when);
	meta_unlock(m);
	/* Tell "no such key" from "revoked already". */
	if (err == -ENOENT && !meta_key_get(m, id, &k))
		err = -EALREADY;
	return err;
}

int meta_key_delete(struct meta *m, int64_t id)
{
	int err;

	if (!m)
		return -EINVAL;
	err = meta_lock(m);
	if (err)
		return err;
	err = m->ops->key_delete(m, id);
	meta_unlock(m);
	return err;
}

int meta_chunk_under(struct meta *m, const uint8_t id[META_ID_LEN], const char *prefix)
{
	char end[META_PATH_TOP_LEN];
	size_t plen, elen;
	int err;

	if (!m || !id || !prefix)
		return -EINVAL;
	plen = strnlen(prefix, META_PATH_MAX + 1);
	if (plen > META_PATH_MAX)
		return -EINVAL;
	elen = meta_prefix_end(prefix, plen, end);
	err = meta_lock(m);
	if (err)
		return err;
	err = m->ops->chunk_under(m, id, prefix, plen, end, elen);
	meta_unlock(m);
	return err;
}

/* ---- the rest ---- */

/* Milliseconds since the epoch: tag jobs' queue times survive a restart. */
int64_t meta_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int meta_idlist_add(struct meta_idlist *l, const uint8_t id[META_ID_LEN])
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *ids = reallocarray(l->ids, cap, sizeof(*l->ids));

		if (!ids)
			return -ENOMEM;
		l->ids = ids;
		l->cap = cap;
	}
	memcpy(l->ids[l->n++], id, META_ID_LEN);
	return 0;
}

void meta_idlist_free(struct meta_idlist *l)
{
	if (!l)
		return;
	free(l->ids);
	l->ids = NULL;
	l->n = 0;
	l->cap = 0;
}

int meta_run(struct meta *m, bool write, int (*fn)(struct sqlite3 *db, void *arg), void *arg)
{
	int err;

	if (!m || !fn)
		return -EINVAL;
	if (!m->ops->run) {
		fprintf(stderr, "dgfsd: meta: this part of tags, search and the graph needs "
			"the SQLite backend; this is %s\n", m->ops->name);
		return -EOPNOTSUPP;
	}
	/*
	 * Searches, the graph and tag listings only read: on a reader of
	 * their own they neither wait for a commit nor hold up uploads.
	 */
	err = !write && m->ops->run_unlocked ? m->ops->run_unlocked(m, fn, arg) : -EAGAIN;
	if (err != -EAGAIN)
		return err;
	err = meta_lock(m);
	if (err)
		return err;
	err = m->ops->run(m, write, fn, arg);
	meta_unlock(m);
	return err;
}

int meta_run_pg(struct meta *m, bool write, int (*fn)(struct pg_conn *conn, void *arg),
		void *arg)
{
	int err;

	if (!m || !fn)
		return -EINVAL;
	if (!m->ops->run_pg)
		return -EOPNOTSUPP;
	err = meta_lock(m);
	if (err)
		return err;
	err = m->ops->run_pg(m, write, fn, arg);
	meta_unlock(m);
	return err;
}
