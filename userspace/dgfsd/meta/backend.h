/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The metadata backends behind meta.h. The front (meta/meta.c) checks
 * every argument and holds struct meta's lock around each call, so a
 * backend sees valid arguments only, one call at a time, and keeps one
 * connection (but for the optional *_unlocked reads, below). A backend embeds struct meta first in its own struct.
 *
 *   meta/sqlite.c, meta/sqlite_schema.c   SQLite (the single-host default)
 *   meta/pg.c, meta/pg_schema.c           PostgreSQL through libpq
 */
#ifndef DGFSD_META_BACKEND_H
#define DGFSD_META_BACKEND_H

#include <pthread.h>
#include <string.h>

#include "../meta.h"

struct meta_ops;

struct meta_file_cache;

struct meta {
	const struct meta_ops *ops;
	pthread_mutex_t lock;
	struct meta_file_cache *files;	/* NULL unless ops->cache_files */
};

/*
 * A listing's bounds on the path: from @lo (inclusive when @lo_incl) up
 * to @hi (exclusive), both byte strings compared as memcmp-then-length.
 */
struct meta_range {
	const char *lo;
	size_t lo_len;
	bool lo_incl;
	const char *hi;
	size_t hi_len;
};

typedef int (*meta_file_cb)(const struct meta_file *f, void *arg);
typedef int (*meta_chunk_cb)(const uint8_t id[META_ID_LEN], uint32_t size, void *arg);
typedef int (*meta_key_cb)(const struct meta_key *k, void *arg);

/* What meta.h's calls of the same names do, unless said otherwise. */
struct meta_ops {
	const char *name;
	/*
	 * Files change only through this process (no other host shares the
	 * database), so the front may keep recently read files (file_cache.h).
	 */
	bool cache_files;
	void (*close)(struct meta *m);		/* frees the backend's struct */
	int (*file_get)(struct meta *m, const char *path, size_t len, struct meta_file *f,
			bool with_chunks);
	/*
	 * Optional: file_get and key_get called without the front's lock
	 * (each on a connection of its own, so that reads wait neither for
	 * each other nor for a writer); -EAGAIN: do it the locked way.
	 */
	int (*file_get_unlocked)(struct meta *m, const char *path, size_t len,
				 struct meta_file *f, bool with_chunks);
	int (*key_get_unlocked)(struct meta *m, int64_t id, struct meta_key *k);
	int (*file_put)(struct meta *m, const struct meta_file *f, struct meta_idlist *freed,
			bool *replaced);
	int (*file_delete)(struct meta *m, const char *path, size_t len,
			   struct meta_idlist *freed);
	/* @f: scratch for each row (big, so the front allocates it). */
	int (*file_list)(struct meta *m, const struct meta_range *r, unsigned int limit,
			 meta_file_cb cb, void *arg, bool *more, struct meta_file *f);
	int (*chunk_get)(struct meta *m, const uint8_t id[META_ID_LEN], uint32_t *size);
	int (*chunk_foreach)(struct meta *m, meta_chunk_cb cb, void *arg);
	int (*stats)(struct meta *m, struct meta_stats *st);
	int (*key_add)(struct meta *m, struct meta_key *k, bool first);
	int (*key_get)(struct meta *m, int64_t id, struct meta_key *k);
	int (*key_list)(struct meta *m, meta_key_cb cb, void *arg, struct meta_key *k);
	/* 0, or -ENOENT when no key in force has that id (the front tells which). */
	int (*key_revoke)(struct meta *m, int64_t id, int64_t when);
	int (*key_delete)(struct meta *m, int64_t id);
	/* Paths in [prefix, end): end as meta_prefix_end() made it. */
	int (*chunk_under)(struct meta *m, const uint8_t id[META_ID_LEN], const char *prefix,
			   size_t plen, const char *end, size_t elen);
	/* NULL: the backend has no SQLite connection to lend (meta_run). */
	int (*run)(struct meta *m, bool write, int (*fn)(struct sqlite3 *db, void *arg),
		   void *arg);
	/*
	 * A read-only run on a connection of its own, without the front's
	 * lock: -EAGAIN when none is to be had (then run() under the lock).
	 */
	int (*run_unlocked)(struct meta *m, int (*fn)(struct sqlite3 *db, void *arg), void *arg);
	/*
	 * The same on a PostgreSQL connection (meta_run_pg); NULL on SQLite.
	 * One transaction, run again while PostgreSQL ends it to break a
	 * deadlock or a serialization failure (@fn returned -EAGAIN).
	 */
	int (*run_pg)(struct meta *m, bool write, int (*fn)(struct pg_conn *conn, void *arg),
		      void *arg);
};

/*
 * Any valid path sorts before this: a path is at most META_PATH_MAX bytes,
 * so it either is a proper prefix of META_PATH_MAX + 1 0xff bytes or has a
 * smaller byte where they first differ. The upper bound of a listing whose
 * prefix has no successor ("" or all 0xff bytes).
 */
#define META_PATH_TOP_LEN	(META_PATH_MAX + 1)

/* Each opens its database and returns its struct meta (ops set): 0 or -errno. */
int meta_sqlite_open(const char *path, struct meta **out);
int meta_pg_open(const char *conninfo, struct meta **out);

/* Whether @s has a NUL within its @size bytes. */
static inline bool meta_terminated(const char *s, size_t size)
{
	return memchr(s, 0, size) != NULL;
}

/* Whether a spec names a PostgreSQL database (a libpq connection URI). */
static inline bool meta_spec_is_pg(const char *spec)
{
	return !strncmp(spec, "postgresql://", 13) || !strncmp(spec, "postgres://", 11);
}

#endif /* DGFSD_META_BACKEND_H */
