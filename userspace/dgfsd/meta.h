/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dgfsd's metadata: files, their chunk lists and the chunks' reference
 * counts, API keys, tags and search. One
 * interface, two backends (meta/backend.h): SQLite (WAL mode,
 * synchronous=FULL so a commit survives a crash), the single-host
 * default, and PostgreSQL through libpq, for clusters. One connection
 * behind one mutex: every call is atomic with respect to every other, and
 * a file is written in one transaction, so a reader sees all of a file's
 * new version or none of it.
 *
 * Schema (docs/DGFSD.md; PostgreSQL's in meta/pg_schema.c):
 *   files(id INTEGER PRIMARY KEY, path BLOB UNIQUE, size, etag, mtime,
 *         content_type, nchunks)
 *   file_chunks(file_id, idx, chunk_id BLOB(32), offset, size,
 *               PRIMARY KEY(file_id, idx))
 *   chunks(id BLOB(32) PRIMARY KEY, size, refs)
 *   keys(id INTEGER PRIMARY KEY AUTOINCREMENT, hash BLOB(32), scope, prefix,
 *        name, created, revoked)                      (version 2)
 *   tags, file_tags, file_tags_removed, tag_implies, file_terms, term_df,
 *   file_text (FTS5), tag_jobs              (version 3, meta/sqlite_schema.c)
 * A chunk row exists exactly while some file references it (refs >= 1).
 * A chunk referenced twice by the same file counts twice.
 *
 * Errors are negative errnos: -ENOENT (no such file), -EINVAL (bad
 * argument), -ENOSPC (SQLITE_FULL; PostgreSQL's disk_full), -EIO (any
 * other database error, logged to stderr with the database's message; a
 * lost PostgreSQL connection too, tried again on the next call), -ENOMEM
 * (out of memory).
 *
 * Callbacks (meta_file_list, meta_chunk_foreach) run with the lock held,
 * so a walk is one consistent snapshot; a callback must not call meta_*
 * itself (the call would fail with -EDEADLK).
 */
#ifndef DGFSD_META_H
#define DGFSD_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define META_ID_LEN		32
#define META_ETAG_LEN		64	/* hex digits of the SHA-256 */
#define META_PATH_MAX		1024
#define META_CTYPE_MAX		127
#define META_KEY_HASH_LEN	32	/* SHA-256 of the key */
#define META_KEY_NAME_MAX	127

struct meta;

struct meta_chunk {
	uint8_t id[META_ID_LEN];
	uint64_t offset;		/* in the file */
	uint32_t size;
};

struct meta_file {
	char path[META_PATH_MAX + 1];
	uint64_t size;
	char etag[META_ETAG_LEN + 1];
	int64_t mtime;			/* Unix seconds */
	char content_type[META_CTYPE_MAX + 1];
	uint32_t nchunks;
	struct meta_chunk *chunks;	/* nchunks of them, in file order, or NULL */
};

/* A growable list of chunk ids (what a change freed). */
struct meta_idlist {
	uint8_t (*ids)[META_ID_LEN];
	size_t n, cap;
};

struct meta_stats {
	uint64_t files;
	uint64_t logical_bytes;		/* sum of file sizes */
	uint64_t chunks;		/* distinct chunks referenced */
	uint64_t stored_bytes;		/* sum of their sizes */
};

/*
 * Opens the metadata @spec names, creating or upgrading its schema: a
 * PostgreSQL connection URI (postgresql://... or postgres://...) or else
 * the path of a SQLite database (created if need be). 0 or -errno;
 * -EPROTO if its schema version is newer than this code's.
 */
int meta_open(const char *spec, struct meta **out);
void meta_close(struct meta *m);			/* NULL is fine */
/* "sqlite" or "postgresql". */
const char *meta_backend_name(const struct meta *m);
/*
 * Whether meta_run() works (the SQLite backend). Tags, search and the
 * graph keep their own SQL: SQLite's through meta_run(), PostgreSQL's
 * through meta_run_pg() (meta_has_pg()) (docs/CLUSTER.md, "Tags and
 * search on PostgreSQL").
 */
bool meta_has_sql(const struct meta *m);
/* Whether meta_run_pg() works (the PostgreSQL backend). */
bool meta_has_pg(const struct meta *m);
/* Whether tags and search work on this backend (either of the above). */
bool meta_has_tags(const struct meta *m);

/*
 * The file at @path; with @with_chunks also its chunk list (f->chunks is
 * then malloc'd: meta_file_release()). 0 or -ENOENT.
 */
int meta_file_get(struct meta *m, const char *path, struct meta_file *f, bool with_chunks);
void meta_file_release(struct meta_file *f);		/* frees f->chunks */

/*
 * Creates or replaces the file f->path with f's size, etag, mtime,
 * content type and chunk list (f->nchunks may be 0), in one transaction
 * that also queues the file for automatic tagging (tag_jobs):
 * the new chunks' refs go up (rows made as needed, with the given sizes),
 * the old version's go down. Chunk ids whose refs reached 0 (rows removed)
 * are appended to @freed (which may be NULL). *replaced says whether a
 * version existed. 0 or -errno; on error nothing changed (@freed is as it
 * was). -EINVAL also for a chunk id already known with another size: an
 * id names its content, so it has one size.
 */
int meta_file_put(struct meta *m, const struct meta_file *f, struct meta_idlist *freed,
		  bool *replaced);

/* Removes the file; freed as above. 0, -ENOENT or -errno. */
int meta_file_delete(struct meta *m, const char *path, struct meta_idlist *freed);

/*
 * Files whose path starts with @prefix ("" for all) and sorts after
 * @after (NULL or "" for from the start), in byte order, at most @limit
 * of them (without chunks), each passed to @cb; a non-zero return from
 * @cb stops the walk and is returned. *more is set when more files
 * follow the last one given. 0 or -errno.
 */
int meta_file_list(struct meta *m, const char *prefix, const char *after, unsigned int limit,
		   int (*cb)(const struct meta_file *f, void *arg), void *arg, bool *more);

/* Whether a chunk is referenced; its size in *size if so (may be NULL). */
bool meta_chunk_known(struct meta *m, const uint8_t id[META_ID_LEN], uint32_t *size);
/*
 * The same, telling "not referenced" (-ENOENT) from a failure to look
 * (-errno), for callers about to delete a chunk's data because of it:
 * meta_chunk_known() says false for both.
 */
int meta_chunk_get(struct meta *m, const uint8_t id[META_ID_LEN], uint32_t *size);

/* Every referenced chunk, for reconciliation; @cb's non-zero stops it. */
int meta_chunk_foreach(struct meta *m,
		       int (*cb)(const uint8_t id[META_ID_LEN], uint32_t size, void *arg),
		       void *arg);

int meta_stats(struct meta *m, struct meta_stats *st);

/* ---- API keys (docs/DGFSD.md, "Access control") ---- */

/* Ordered: each scope allows what the ones below it do. */
enum meta_scope {
	META_SCOPE_NONE = 0,
	META_SCOPE_READ,
	META_SCOPE_WRITE,
	META_SCOPE_ADMIN,
};

struct meta_key {
	int64_t id;
	uint8_t hash[META_KEY_HASH_LEN];
	enum meta_scope scope;
	char prefix[META_PATH_MAX + 1];		/* "" (everything) or "dir/" */
	char name[META_KEY_NAME_MAX + 1];
	int64_t created;			/* Unix seconds */
	int64_t revoked;			/* 0: in force; else when revoked */
};

/* "read", "write", "admin" ("none" for anything else); and back: 0 or -EINVAL. */
const char *meta_scope_name(enum meta_scope scope);
int meta_scope_parse(const char *name, enum meta_scope *scope);

/*
 * Adds key @k (hash, scope, prefix, name, created); its id goes into
 * k->id. With @first, only into a table that never held a key (the first
 * start's admin key), else -EEXIST. 0 or -errno.
 */
int meta_key_add(struct meta *m, struct meta_key *k, bool first);
/* Key @id, revoked or not: 0 or -ENOENT. */
int meta_key_get(struct meta *m, int64_t id, struct meta_key *k);
/* Every key in id order (revoked ones too); @cb's non-zero stops it. */
int meta_key_list(struct meta *m, int (*cb)(const struct meta_key *k, void *arg), void *arg);
/* Revokes key @id at @when: 0, -ENOENT (no such key) or -EALREADY. */
int meta_key_revoke(struct meta *m, int64_t id, int64_t when);
/*
 * Removes key @id's row: only for a key nobody ever received (the first
 * admin key when admin.key could not be written). 0 or -ENOENT.
 */
int meta_key_delete(struct meta *m, int64_t id);

/*
 * Whether a file under @prefix (every path that starts with it) lists
 * chunk @id: 1, 0, or -errno.
 */
int meta_chunk_under(struct meta *m, const uint8_t id[META_ID_LEN], const char *prefix);

/*
 * Runs @fn on the connection inside one transaction (BEGIN IMMEDIATE when
 * @write), with the lock held: committed if @fn returns 0, else rolled
 * back and its error returned. Without @write, on a read-only connection
 * of its own when one is to be had (a WAL database), not holding the lock:
 * @fn sees the last commit and must not write. For the parts that keep their own SQL on
 * the same database (meta_tags.c, search.c); @fn must not call meta_*.
 * -EOPNOTSUPP on a backend other than SQLite (meta_has_sql()).
 */
struct sqlite3;
int meta_run(struct meta *m, bool write, int (*fn)(struct sqlite3 *db, void *arg), void *arg);
/*
 * meta_run() on the PostgreSQL backend: @fn gets the libpq connection
 * (PGconn, "struct pg_conn" in libpq-fe.h) inside one transaction, READ
 * COMMITTED when @write, else REPEATABLE READ READ ONLY (one snapshot),
 * with the lock held. Committed if @fn returns 0, else rolled back; run
 * again (up to 8 times) when @fn returns -EAGAIN, which meta_pg_err()
 * says for a deadlock or a serialization failure another dgfsd caused.
 * -EOPNOTSUPP on SQLite (meta_has_pg()).
 */
struct pg_conn;
int meta_run_pg(struct meta *m, bool write, int (*fn)(struct pg_conn *conn, void *arg),
		void *arg);
/* SQLite's result @rc as -errno, logged with @what. */
int meta_sql_err(struct sqlite3 *db, int rc, const char *what);
/* Wall-clock milliseconds since the epoch (tag_jobs.queued). */
int64_t meta_now_ms(void);

/* 0, or -ENOMEM. */
int meta_idlist_add(struct meta_idlist *l, const uint8_t id[META_ID_LEN]);
void meta_idlist_free(struct meta_idlist *l);

#endif /* DGFSD_META_H */
