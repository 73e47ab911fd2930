// SPDX-License-Identifier: GPL-2.0
/*
 * dgfsd's metadata (meta.h) on SQLite: the single-host backend
 * (backend.h). Its schema and migrations: meta/sqlite_schema.c.
 *
 * One connection, opened SQLITE_OPEN_NOMUTEX: SQLite's own per-connection
 * mutex would make each sqlite3_* call atomic, but not a sequence of them
 * (step, column, reset; or a whole transaction), so struct meta's mutex
 * (held by the front, meta/meta.c, around every call) guards them instead
 * and SQLite's is redundant. Downloads' and key checks' reads go instead
 * to a pool of read-only connections (struct sqlite_meta, "readers").
 *
 * Paths are bound as BLOBs, never TEXT: SQLite compares BLOBs with memcmp
 * and then by length, which is exactly the byte order the listing
 * promises, whatever the bytes are (no collation, no UTF-8 assumptions).
 *
 * Chunk rows are counted references: a file's version adds one per entry
 * of its chunk list (twice for a chunk it lists twice), and a row whose
 * count reaches 0 is removed in the same transaction that dropped the
 * last reference, its id handed back to the caller to delete the data.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "sqlite_rank.h"
#include "sqlite_schema.h"

#define META_BUSY_TIMEOUT_MS	5000
/*
 * Every connection (the writer, which also runs searches through meta_run,
 * and the readers) maps up to 256 MiB of the database file for its reads
 * (PRAGMA mmap_size) instead of copying each page its 2 MB page cache
 * misses with pread(): a search over 10^5 files misses most pages, and the
 * copies were about 40 % of its CPU (docs/BENCHMARKS.md). Writes still go
 * through write(); pages in the WAL are read from the WAL. The cost is
 * address space; SQLite remaps when it changes the file's size itself, and
 * only a truncation from outside it would turn a mapped read into SIGBUS.
 */
#define META_MMAP_BYTES	"268435456"

enum meta_stmt {
	ST_BEGIN,
	ST_BEGIN_IMMEDIATE,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_FILE_ID,
	ST_FILE_GET,
	ST_FILE_CHUNKS,
	ST_CHUNK_REF,
	ST_CHUNK_UNREF,
	ST_CHUNK_REAP,
	ST_FC_DELETE,
	ST_FILE_UPSERT,
	ST_FC_INSERT,
	ST_FILE_DELETE,
	ST_LIST_GE,
	ST_LIST_GT,
	ST_CHUNK_GET,
	ST_CHUNK_ALL,
	ST_STATS,
	ST_KEY_ADD,
	ST_KEY_ADD_FIRST,
	ST_KEY_GET,
	ST_KEY_ALL,
	ST_KEY_REVOKE,
	ST_KEY_DELETE,
	ST_CHUNK_UNDER,
	ST_JOB_QUEUE,
	ST_COUNT
};

#define FILE_COLUMNS "size, etag, mtime, content_type, nchunks"

static const char *const meta_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN",
	/* Writers take the write lock up front: no upgrade from read can fail midway. */
	[ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_FILE_ID] = "SELECT id FROM files WHERE path = ?1",
	[ST_FILE_GET] = "SELECT id, " FILE_COLUMNS " FROM files WHERE path = ?1",
	[ST_FILE_CHUNKS] =
		"SELECT chunk_id, \"offset\", size FROM file_chunks WHERE file_id = ?1 "
		"ORDER BY idx",
	/*
	 * A chunk id names its content, so a known id with another size is a
	 * caller's mistake: the WHERE leaves the row alone and the caller sees
	 * no change made.
	 */
	[ST_CHUNK_REF] =
		"INSERT INTO chunks (id, size, refs) VALUES (?1, ?2, 1) "
		"ON CONFLICT (id) DO UPDATE SET refs = refs + 1 WHERE size = excluded.size",
	/* One UPDATE per distinct chunk, by how many times the version lists it. */
	[ST_CHUNK_UNREF] =
		"UPDATE chunks SET refs = refs - old.n FROM "
		"(SELECT chunk_id, count(*) AS n FROM file_chunks WHERE file_id = ?1 "
		"GROUP BY chunk_id) AS old WHERE chunks.id = old.chunk_id",
	/*
	 * Only the chunks the old version listed can have reached 0, so only
	 * those are looked at, not the whole table.
	 */
	[ST_CHUNK_REAP] =
		"DELETE FROM chunks WHERE refs = 0 AND id IN "
		"(SELECT chunk_id FROM file_chunks WHERE file_id = ?1) RETURNING id",
	[ST_FC_DELETE] = "DELETE FROM file_chunks WHERE file_id = ?1",
	/* An upsert keeps a replaced file's id. */
	[ST_FILE_UPSERT] =
		"INSERT INTO files (path, " FILE_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
		"ON CONFLICT (path) DO UPDATE SET size = excluded.size, etag = excluded.etag, "
		"mtime = excluded.mtime, content_type = excluded.content_type, "
		"nchunks = excluded.nchunks RETURNING id",
	[ST_FC_INSERT] =
		"INSERT INTO file_chunks (file_id, idx, chunk_id, \"offset\", size) "
		"VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_FILE_DELETE] = "DELETE FROM files WHERE id = ?1",
	/*
	 * Both bounds are on the path index, so a listing reads only the rows
	 * it returns (plus one to know whether more follow).
	 */
	[ST_LIST_GE] =
		"SELECT path, " FILE_COLUMNS " FROM files WHERE path >= ?1 AND path < ?2 "
		"ORDER BY path LIMIT ?3",
	[ST_LIST_GT] =
		"SELECT path, " FILE_COLUMNS " FROM files WHERE path > ?1 AND path < ?2 "
		"ORDER BY path LIMIT ?3",
	[ST_CHUNK_GET] = "SELECT size FROM chunks WHERE id = ?1",
	[ST_CHUNK_ALL] = "SELECT id, size FROM chunks ORDER BY id",
	/* One statement, so one read transaction: the four numbers agree. */
	[ST_STATS] =
		"SELECT (SELECT count(*) FROM files), (SELECT coalesce(sum(size), 0) FROM files), "
		"(SELECT count(*) FROM chunks), (SELECT coalesce(sum(size), 0) FROM chunks)",
	[ST_KEY_ADD] =
		"INSERT INTO keys (hash, scope, prefix, name, created) VALUES (?1, ?2, ?3, ?4, ?5) "
		"RETURNING id",
	/* The first start's admin key: only into a table that never had a key. */
	[ST_KEY_ADD_FIRST] =
		"INSERT INTO keys (hash, scope, prefix, name, created) "
		"SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM keys) RETURNING id",
	[ST_KEY_GET] =
		"SELECT id, hash, scope, prefix, name, created, revoked FROM keys WHERE id = ?1",
	[ST_KEY_ALL] =
		"SELECT id, hash, scope, prefix, name, created, revoked FROM keys ORDER BY id",
	[ST_KEY_REVOKE] = "UPDATE keys SET revoked = ?2 WHERE id = ?1 AND revoked IS NULL",
	[ST_KEY_DELETE] = "DELETE FROM keys WHERE id = ?1",
	/*
	 * Whether a file under a prefix lists the chunk: the chunk's index
	 * finds the (few) files that list it, each checked against the range.
	 */
	[ST_CHUNK_UNDER] =
		"SELECT 1 FROM file_chunks JOIN files ON files.id = file_chunks.file_id "
		"WHERE file_chunks.chunk_id = ?1 AND files.path >= ?2 AND files.path < ?3 LIMIT 1",
	/*
	 * Every stored version is to be tagged (docs/TAGS.md): a job already
	 * pending for the file moves on, so a worker tagging the old version
	 * sees its row changed and leaves it for the new one.
	 */
	[ST_JOB_QUEUE] =
		"INSERT INTO tag_jobs (file_id, queued) VALUES (?1, ?2) ON CONFLICT (file_id) "
		"DO UPDATE SET queued = max(excluded.queued, queued + 1), attempts = 0",
};

struct sqlite_meta {
	struct meta base;
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	/*
	 * Read-only connections for file_get and key_get (a download's and
	 * every key check's reads), taken from and given back to a pool
	 * without the front's lock: in WAL mode each reads its own snapshot,
	 * so readers wait neither for each other nor for a writer's
	 * transaction. Only for a database in WAL mode (not :memory:).
	 */
	char *path;			/* NULL: no readers */
	pthread_mutex_t readers_lock;
	struct sqlite_meta *idle;	/* idle readers, linked by next */
	struct sqlite_meta *next;
	unsigned int nreaders;
};

/* Read-only connections at most; past this a reader uses the locked one. */
#define META_READERS_MAX	32

/* Logs SQLite's message for @rc and turns it into a negative errno. */
static int meta_err(sqlite3 *db, int rc, const char *what)
{
	fprintf(stderr, "dgfsd: meta: %s: %s\n", what,
		db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/*
 * Readies a cached statement for its next use. The bindings are cleared
 * too: they point into the caller's memory (SQLITE_STATIC), which is not
 * ours to keep.
 */
static void meta_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement that returns no rows to its end. */
static int meta_exec(struct sqlite_meta *m, enum meta_stmt s, const char *what)
{
	sqlite3_stmt *st = m->st[s];
	int rc = sqlite3_step(st);
	int err = 0;

	if (rc != SQLITE_DONE)
		err = meta_err(m->db, rc, what);
	meta_done(st);
	return err;
}

/*
 * Abandons the current transaction, if SQLite has not already done so
 * itself (it rolls back on its own after some errors, SQLITE_FULL among
 * them).
 */
static void meta_rollback(struct sqlite_meta *m)
{
	if (!sqlite3_get_autocommit(m->db))
		meta_exec(m, ST_ROLLBACK, "rollback");
}

static int meta_bind_blob(struct sqlite_meta *m, sqlite3_stmt *st, int i, const void *p, size_t len)
{
	/* A NULL pointer would bind SQL NULL, not the empty blob. */
	int rc = sqlite3_bind_blob(st, i, p ? p : "", (int)len, SQLITE_STATIC);

	return rc == SQLITE_OK ? 0 : meta_err(m->db, rc, "bind");
}

static int meta_bind_text(struct sqlite_meta *m, sqlite3_stmt *st, int i, const char *s)
{
	int rc = sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);

	return rc == SQLITE_OK ? 0 : meta_err(m->db, rc, "bind");
}

static int meta_bind_int(struct sqlite_meta *m, sqlite3_stmt *st, int i, int64_t v)
{
	int rc = sqlite3_bind_int64(st, i, v);

	return rc == SQLITE_OK ? 0 : meta_err(m->db, rc, "bind");
}

/*
 * Copies a TEXT column into a fixed buffer of @size bytes; -EIO if it does
 * not fit, which only a database written by something else could cause.
 */
static int meta_column_text(sqlite3_stmt *st, int i, char *buf, size_t size)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	int len = sqlite3_column_bytes(st, i);

	if (!s || (size_t)len >= size || memchr(s, 0, len))
		return -EIO;
	memcpy(buf, s, len);
	buf[len] = 0;
	return 0;
}

/* The columns FILE_COLUMNS, starting at @col, into @f. */
static int meta_column_file(sqlite3_stmt *st, int col, struct meta_file *f)
{
	int64_t size = sqlite3_column_int64(st, col);
	int64_t nchunks = sqlite3_column_int64(st, col + 4);

	if (size < 0 || nchunks < 0 || nchunks > UINT32_MAX ||
	    meta_column_text(st, col + 1, f->etag, sizeof(f->etag)) ||
	    meta_column_text(st, col + 3, f->content_type, sizeof(f->content_type))) {
		fprintf(stderr, "dgfsd: meta: a file row is malformed\n");
		return -EIO;
	}
	f->size = size;
	f->mtime = sqlite3_column_int64(st, col + 2);
	f->nchunks = nchunks;
	f->chunks = NULL;
	return 0;
}

/*
 * Reads the version's chunk list (nchunks already set); the row count
 * must agree with nchunks, or the database is inconsistent.
 */
static int meta_read_chunks(struct sqlite_meta *m, int64_t file_id, struct meta_file *f)
{
	sqlite3_stmt *st = m->st[ST_FILE_CHUNKS];
	struct meta_chunk *c = NULL;
	uint32_t n = 0;
	int err, rc = SQLITE_DONE;

	if (f->nchunks) {
		c = calloc(f->nchunks, sizeof(*c));
		if (!c)
			return -ENOMEM;
	}
	err = meta_bind_int(m, st, 1, file_id);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *id = sqlite3_column_blob(st, 0);
		int64_t off = sqlite3_column_int64(st, 1);
		int64_t size = sqlite3_column_int64(st, 2);

		if (n == f->nchunks || sqlite3_column_bytes(st, 0) != META_ID_LEN || !id ||
		    off < 0 || size < 0 || size > UINT32_MAX) {
			fprintf(stderr, "dgfsd: meta: a file's chunk list is malformed\n");
			err = -EIO;
			break;
		}
		memcpy(c[n].id, id, META_ID_LEN);
		c[n].offset = off;
		c[n].size = size;
		n++;
	}
	if (!err && rc != SQLITE_DONE)
		err = meta_err(m->db, rc, "file get chunks");
	if (!err && n != f->nchunks) {
		fprintf(stderr, "dgfsd: meta: a file lists %u chunks of %u\n", n, f->nchunks);
		err = -EIO;
	}
	meta_done(st);
	if (err) {
		free(c);
		return err;
	}
	f->chunks = c;
	return 0;
}

static int meta_prepare(struct sqlite_meta *m)
{
	int i, rc;

	for (i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(m->db, meta_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&m->st[i], NULL);
		if (rc != SQLITE_OK)
			return meta_err(m->db, rc, "prepare");
	}
	return 0;
}

static const struct meta_ops sqlite_meta_ops;

static struct sqlite_meta *to_sqlite(struct meta *base)
{
	return (struct sqlite_meta *)base;
}

static void sqlite_meta_close(struct meta *base);

static int meta_journal_is_wal(void *arg, int ncol, char **vals, char **names)
{
	(void)names;
	*(bool *)arg = ncol == 1 && vals[0] && !strcasecmp(vals[0], "wal");
	return 0;
}

/* Readers for a database in WAL mode; none otherwise (they need WAL's snapshots). */
static int meta_readers_init(struct sqlite_meta *m, const char *path)
{
	bool wal = false;
	int rc;

	rc = sqlite3_exec(m->db, "PRAGMA journal_mode", meta_journal_is_wal, &wal, NULL);
	if (rc != SQLITE_OK)
		return meta_err(m->db, rc, "journal_mode");
	if (!wal)
		return 0;
	m->path = strdup(path);
	if (!m->path)
		return -ENOMEM;
	pthread_mutex_init(&m->readers_lock, NULL);
	return 0;
}

/* A reader's connection: read-only, its own statements. NULL if it cannot be had. */
static struct sqlite_meta *meta_reader_open(struct sqlite_meta *m)
{
	struct sqlite_meta *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return NULL;
	r->base.ops = m->base.ops;
	rc = sqlite3_open_v2(m->path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(r->db, META_BUSY_TIMEOUT_MS);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(r->db, "PRAGMA mmap_size = " META_MMAP_BYTES,
				  NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = meta_sqlite_rank_init(r->db);	/* searches run here */
	if (rc != SQLITE_OK || meta_prepare(r)) {
		if (rc != SQLITE_OK)
			meta_err(r->db, rc, "open a reader");
		sqlite_meta_close(&r->base);
		return NULL;
	}
	return r;
}

/* An idle reader, a new one, or NULL: then the caller takes the front's lock. */
static struct sqlite_meta *meta_reader_get(struct sqlite_meta *m)
{
	struct sqlite_meta *r;
	bool open_one = false;

	if (!m->path)
		return NULL;
	pthread_mutex_lock(&m->readers_lock);
	r = m->idle;
	if (r)
		m->idle = r->next;
	else if (m->nreaders < META_READERS_MAX)
		open_one = true, m->nreaders++;	/* given back if the open fails */
	pthread_mutex_unlock(&m->readers_lock);
	if (!open_one)
		return r;
	r = meta_reader_open(m);
	if (!r) {
		pthread_mutex_lock(&m->readers_lock);
		m->nreaders--;
		pthread_mutex_unlock(&m->readers_lock);
	}
	return r;
}

static void meta_reader_put(struct sqlite_meta *m, struct sqlite_meta *r)
{
	pthread_mutex_lock(&m->readers_lock);
	r->next = m->idle;
	m->idle = r;
	pthread_mutex_unlock(&m->readers_lock);
}

int meta_sqlite_open(const char *path, struct meta **out)
{
	struct sqlite_meta *m;
	int err, rc;

	/* UPDATE ... FROM (3.33) and RETURNING (3.35). */
	if (sqlite3_libversion_number() < 3035000) {
		fprintf(stderr, "dgfsd: meta: SQLite %s is too old, 3.35 or later is needed\n",
			sqlite3_libversion());
		return -EOPNOTSUPP;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->base.ops = &sqlite_meta_ops;
	rc = sqlite3_open_v2(path, &m->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (!m->db) {
			err = -ENOMEM;
			goto fail;
		}
		fprintf(stderr, "dgfsd: meta: open %s: %s (%s)\n", path, sqlite3_errmsg(m->db),
			strerror(sqlite3_system_errno(m->db)));
		err = (rc & 0xff) == SQLITE_NOMEM ? -ENOMEM : -EIO;
		goto fail;
	}
	rc = sqlite3_busy_timeout(m->db, META_BUSY_TIMEOUT_MS);
	if (rc != SQLITE_OK) {
		err = meta_err(m->db, rc, "busy timeout");
		goto fail;
	}
	rc = sqlite3_exec(m->db, "PRAGMA mmap_size = " META_MMAP_BYTES, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		err = meta_err(m->db, rc, "mmap_size");
		goto fail;
	}
	err = meta_sqlite_setup(m->db, path);
	if (!err && (rc = meta_sqlite_rank_init(m->db)) != SQLITE_OK)
		err = meta_err(m->db, rc, "dgfs_rank");	/* searches run here when readers are busy */
	if (!err)
		err = meta_prepare(m);
	if (!err)
		err = meta_readers_init(m, path);
	if (err)
		goto fail;
	*out = &m->base;
	return 0;

fail:
	sqlite_meta_close(&m->base);
	return err;
}

static void sqlite_meta_close(struct meta *base)
{
	struct sqlite_meta *m = to_sqlite(base), *r;
	int i;

	while ((r = m->idle)) {
		m->idle = r->next;
		sqlite_meta_close(&r->base);
	}
	if (m->path) {
		pthread_mutex_destroy(&m->readers_lock);
		free(m->path);
	}
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(m->st[i]);
	/* The last connection to close checkpoints the WAL into the database. */
	if (m->db && sqlite3_close(m->db) != SQLITE_OK)
		fprintf(stderr, "dgfsd: meta: close: %s\n", sqlite3_errmsg(m->db));
	free(m);
}

static int sqlite_file_get(struct meta *base, const char *path, size_t len,
			   struct meta_file *f, bool with_chunks)
{
	struct sqlite_meta *m = to_sqlite(base);
	sqlite3_stmt *st;
	int64_t file_id = 0;
	int err, rc;

	st = m->st[ST_FILE_GET];
	/* The row and the chunk list from one snapshot. */
	err = meta_exec(m, ST_BEGIN, "file get");
	if (err)
		return err;
	err = meta_bind_blob(m, st, 1, path, len);
	if (!err) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			file_id = sqlite3_column_int64(st, 0);
			err = meta_column_file(st, 1, f);
		} else if (rc == SQLITE_DONE) {
			err = -ENOENT;
		} else {
			err = meta_err(m->db, rc, "file get");
		}
	}
	meta_done(st);
	if (!err && with_chunks)
		err = meta_read_chunks(m, file_id, f);
	if (!err)
		err = meta_exec(m, ST_COMMIT, "file get");
	if (err) {
		meta_rollback(m);
		free(f->chunks);
		f->chunks = NULL;
	}
	return err;
}

/* sqlite_file_get on a reader; -EAGAIN when none is to be had. */
static int sqlite_file_get_unlocked(struct meta *base, const char *path, size_t len,
				    struct meta_file *f, bool with_chunks)
{
	struct sqlite_meta *m = to_sqlite(base), *r = meta_reader_get(m);
	int err;

	if (!r)
		return -EAGAIN;
	err = sqlite_file_get(&r->base, path, len, f, with_chunks);
	meta_reader_put(m, r);
	return err;
}

/* The id of the file at @path in *id, or -ENOENT. */
static int meta_file_id(struct sqlite_meta *m, const char *path, size_t len, int64_t *id)
{
	sqlite3_stmt *st = m->st[ST_FILE_ID];
	int err, rc;

	err = meta_bind_blob(m, st, 1, path, len);
	if (!err) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*id = sqlite3_column_int64(st, 0);
		else if (rc == SQLITE_DONE)
			err = -ENOENT;
		else
			err = meta_err(m->db, rc, "file lookup");
	}
	meta_done(st);
	return err;
}

/*
 * Drops the references of file @file_id's chunk list, removing the chunk
 * rows that no longer have any (their ids go to @freed), and then the list
 * itself. Run after the new version's references were added, so a chunk
 * both versions share never touches 0.
 */
static int meta_unref_version(struct sqlite_meta *m, int64_t file_id, struct meta_idlist *freed)
{
	int err, rc = SQLITE_DONE;
	sqlite3_stmt *st;

	st = m->st[ST_CHUNK_UNREF];
	err = meta_bind_int(m, st, 1, file_id);
	if (!err)
		err = meta_exec(m, ST_CHUNK_UNREF, "chunk unref");
	else
		meta_done(st);
	if (err)
		return err;

	st = m->st[ST_CHUNK_REAP];
	err = meta_bind_int(m, st, 1, file_id);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *id = sqlite3_column_blob(st, 0);

		if (sqlite3_column_bytes(st, 0) != META_ID_LEN || !id) {
			fprintf(stderr, "dgfsd: meta: a chunk id is malformed\n");
			err = -EIO;
		} else if (freed) {
			err = meta_idlist_add(freed, id);
		}
	}
	if (!err && rc != SQLITE_DONE)
		err = meta_err(m->db, rc, "chunk reap");
	meta_done(st);
	if (err)
		return err;

	st = m->st[ST_FC_DELETE];
	err = meta_bind_int(m, st, 1, file_id);
	if (!err)
		return meta_exec(m, ST_FC_DELETE, "file chunks delete");
	meta_done(st);
	return err;
}

/* One more reference to each chunk of @f's list. */
static int meta_ref_chunks(struct sqlite_meta *m, const struct meta_file *f)
{
	sqlite3_stmt *st = m->st[ST_CHUNK_REF];
	uint32_t i;
	int err;

	for (i = 0; i < f->nchunks; i++) {
		err = meta_bind_blob(m, st, 1, f->chunks[i].id, META_ID_LEN);
		if (!err)
			err = meta_bind_int(m, st, 2, f->chunks[i].size);
		if (!err)
			err = meta_exec(m, ST_CHUNK_REF, "chunk ref");
		else
			meta_done(st);
		if (err)
			return err;
		if (sqlite3_changes(m->db) != 1)
			return -EINVAL;		/* known with another size */
	}
	return 0;
}

/* Creates or updates @f's row: its id in *id. */
static int meta_upsert_file(struct sqlite_meta *m, const struct meta_file *f, int64_t *id)
{
	sqlite3_stmt *st = m->st[ST_FILE_UPSERT];
	int err, rc;

	err = meta_bind_blob(m, st, 1, f->path, strlen(f->path));
	if (!err)
		err = meta_bind_int(m, st, 2, f->size);
	if (!err)
		err = meta_bind_text(m, st, 3, f->etag);
	if (!err)
		err = meta_bind_int(m, st, 4, f->mtime);
	if (!err)
		err = meta_bind_text(m, st, 5, f->content_type);
	if (!err)
		err = meta_bind_int(m, st, 6, f->nchunks);
	if (!err) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*id = sqlite3_column_int64(st, 0);
			rc = sqlite3_step(st);
		}
		if (rc != SQLITE_DONE)
			err = meta_err(m->db, rc, "file upsert");
	}
	meta_done(st);
	return err;
}

static int meta_insert_chunks(struct sqlite_meta *m, int64_t file_id, const struct meta_file *f)
{
	sqlite3_stmt *st = m->st[ST_FC_INSERT];
	const struct meta_chunk *c;
	uint32_t i;
	int err;

	for (i = 0; i < f->nchunks; i++) {
		c = &f->chunks[i];
		err = meta_bind_int(m, st, 1, file_id);
		if (!err)
			err = meta_bind_int(m, st, 2, i);
		if (!err)
			err = meta_bind_blob(m, st, 3, c->id, META_ID_LEN);
		if (!err)
			err = meta_bind_int(m, st, 4, c->offset);
		if (!err)
			err = meta_bind_int(m, st, 5, c->size);
		if (!err)
			err = meta_exec(m, ST_FC_INSERT, "file chunks insert");
		else
			meta_done(st);
		if (err)
			return err;
	}
	return 0;
}

static int meta_queue_tagging(struct sqlite_meta *m, int64_t file_id)
{
	sqlite3_stmt *st = m->st[ST_JOB_QUEUE];
	int err;

	err = meta_bind_int(m, st, 1, file_id);
	if (!err)
		err = meta_bind_int(m, st, 2, meta_now_ms());
	if (!err)
		return meta_exec(m, ST_JOB_QUEUE, "tag job queue");
	meta_done(st);
	return err;
}

static int sqlite_file_put(struct meta *base, const struct meta_file *f,
			   struct meta_idlist *freed, bool *replaced)
{
	struct sqlite_meta *m = to_sqlite(base);
	int64_t old_id = 0, new_id = 0;
	bool had;
	int err;

	err = meta_exec(m, ST_BEGIN_IMMEDIATE, "file put");
	if (err)
		return err;

	err = meta_file_id(m, f->path, strlen(f->path), &old_id);
	had = !err;
	if (err == -ENOENT)
		err = 0;
	/* New references first: see meta_unref_version(). */
	if (!err)
		err = meta_ref_chunks(m, f);
	if (!err && had)
		err = meta_unref_version(m, old_id, freed);
	if (!err)
		err = meta_upsert_file(m, f, &new_id);
	if (!err)
		err = meta_insert_chunks(m, new_id, f);
	if (!err)
		err = meta_queue_tagging(m, new_id);
	if (!err)
		err = meta_exec(m, ST_COMMIT, "file put commit");
	if (err)
		meta_rollback(m);	/* the front forgets what it freed */
	else
		*replaced = had;
	return err;
}

static int sqlite_file_delete(struct meta *base, const char *path, size_t len,
			      struct meta_idlist *freed)
{
	struct sqlite_meta *m = to_sqlite(base);
	sqlite3_stmt *st;
	int64_t id = 0;
	int err;

	err = meta_exec(m, ST_BEGIN_IMMEDIATE, "file delete");
	if (err)
		return err;
	err = meta_file_id(m, path, len, &id);
	if (!err)
		err = meta_unref_version(m, id, freed);
	if (!err) {
		st = m->st[ST_FILE_DELETE];
		err = meta_bind_int(m, st, 1, id);
		if (!err)
			err = meta_exec(m, ST_FILE_DELETE, "file delete");
		else
			meta_done(st);
	}
	if (!err)
		err = meta_exec(m, ST_COMMIT, "file delete commit");
	if (err)
		meta_rollback(m);
	return err;
}

/* Paths are BLOBs: SQLite compares them memcmp-then-length, as the range is meant. */
static int sqlite_file_list(struct meta *base, const struct meta_range *r, unsigned int limit,
			    meta_file_cb cb, void *arg, bool *more, struct meta_file *f)
{
	struct sqlite_meta *m = to_sqlite(base);
	unsigned int n = 0;
	int err, rc = SQLITE_DONE;
	sqlite3_stmt *st;

	st = m->st[r->lo_incl ? ST_LIST_GE : ST_LIST_GT];
	err = meta_bind_blob(m, st, 1, r->lo, r->lo_len);
	if (!err)
		err = meta_bind_blob(m, st, 2, r->hi, r->hi_len);
	/* One row past the limit tells whether more follow. */
	if (!err)
		err = meta_bind_int(m, st, 3, (int64_t)limit + 1);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *path = sqlite3_column_blob(st, 0);
		int len = sqlite3_column_bytes(st, 0);

		if (n == limit) {
			*more = true;
			break;
		}
		if (!path || !len || len > META_PATH_MAX || memchr(path, 0, len)) {
			fprintf(stderr, "dgfsd: meta: a file's path is malformed\n");
			err = -EIO;
			break;
		}
		memcpy(f->path, path, len);
		f->path[len] = 0;
		err = meta_column_file(st, 1, f);
		if (err)
			break;
		n++;
		err = cb(f, arg);
		if (err) {
			/* Stopped by the caller: still say whether more follow. */
			if (sqlite3_step(st) == SQLITE_ROW)
				*more = true;
			goto out;
		}
	}
	if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = meta_err(m->db, rc, "file list");
out:
	meta_done(st);
	return err;
}

static int sqlite_chunk_get(struct meta *base, const uint8_t id[META_ID_LEN], uint32_t *size)
{
	struct sqlite_meta *m = to_sqlite(base);
	sqlite3_stmt *st;
	int err, rc;

	st = m->st[ST_CHUNK_GET];
	err = meta_bind_blob(m, st, 1, id, META_ID_LEN);
	if (!err) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			if (size)
				*size = sqlite3_column_int64(st, 0);
		} else if (rc == SQLITE_DONE) {
			err = -ENOENT;
		} else {
			err = meta_err(m->db, rc, "chunk lookup");
		}
	}
	meta_done(st);
	return err;
}

static int sqlite_chunk_foreach(struct meta *base, meta_chunk_cb cb, void *arg)
{
	struct sqlite_meta *m = to_sqlite(base);
	uint8_t id[META_ID_LEN];
	sqlite3_stmt *st;
	int err = 0, rc;

	st = m->st[ST_CHUNK_ALL];
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 0);

		if (!p || sqlite3_column_bytes(st, 0) != META_ID_LEN) {
			fprintf(stderr, "dgfsd: meta: a chunk id is malformed\n");
			err = -EIO;
			break;
		}
		/* The callback gets its own copy, not SQLite's buffer. */
		memcpy(id, p, META_ID_LEN);
		err = cb(id, (uint32_t)sqlite3_column_int64(st, 1), arg);
		if (err)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = meta_err(m->db, rc, "chunk foreach");
	meta_done(st);
	return err;
}

static int sqlite_stats(struct meta *base, struct meta_stats *stats)
{
	struct sqlite_meta *m = to_sqlite(base);
	sqlite3_stmt *st;
	int err = 0, rc;

	st = m->st[ST_STATS];
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		stats->files = sqlite3_column_int64(st, 0);
		stats->logical_bytes = sqlite3_column_int64(st, 1);
		stats->chunks = sqlite3_column_int64(st, 2);
		stats->stored_bytes = sqlite3_column_int64(st, 3);
	} else {
		err = meta_err(m->db, rc, "stats");
	}
	meta_done(st);
	return err;
}

/* ---- keys ---- */

/* A row of ST_KEY_GET / ST_KEY_ALL into @k. */
static int meta_column_key(sqlite3_stmt *st, struct meta_key *k)
{
	const void *hash = sqlite3_column_blob(st, 1);
	const void *prefix = sqlite3_column_blob(st, 3);
	int plen = sqlite3_column_bytes(st, 3);
	char scope[8];

	memset(k, 0, sizeof(*k));
	k->id = sqlite3_column_int64(st, 0);
	if (!hash || sqlite3_column_bytes(st, 1) != META_KEY_HASH_LEN ||
	    plen < 0 || plen > META_PATH_MAX || (plen && memchr(prefix, 0, plen)) ||
	    meta_column_text(st, 2, scope, sizeof(scope)) || meta_scope_parse(scope, &k->scope) ||
	    meta_column_text(st, 4, k->name, sizeof(k->name))) {
		fprintf(stderr, "dgfsd: meta: key %lld's row is malformed\n", (long long)k->id);
		return -EIO;
	}
	memcpy(k->hash, hash, META_KEY_HASH_LEN);
	if (plen)
		memcpy(k->prefix, prefix, plen);
	k->prefix[plen] = 0;
	k->created = sqlite3_column_int64(st, 5);
	k->revoked = sqlite3_column_type(st, 6) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 6);
	return 0;
}

static int sqlite_key_add(struct meta *base, struct meta_key *k, bool first)
{
	enum meta_stmt s = first ? ST_KEY_ADD_FIRST : ST_KEY_ADD;
	struct sqlite_meta *m = to_sqlite(base);
	sqlite3_stmt *st;
	int err, rc;

	st = m->st[s];
	err = meta_bind_blob(m, st, 1, k->hash, META_KEY_HASH_LEN);
	if (!err)
		err = meta_bind_text(m, st, 2, meta_scope_name(k->scope));
	if (!err)
		err = meta_bind_blob(m, st, 3, k->prefix, strlen(k->prefix));
	if (!err)
		err = meta_bind_text(m, st, 4, k->name);
	if (!err)
		err = meta_bind_int(m, st, 5, k->created);
	if (!err) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			k->id = sqlite3_column_int64(st, 0);
			rc = sqlite3_step(st);
			if (rc != SQLITE_DONE)
				err = meta_err(m->db, rc, "key add");
		} else if (rc == SQLITE_DONE) {
			err = -EEXIST;		/* first: the table had keys */
		} else {
			err = meta_err(m->db, rc, "key add");
		}
	}
	meta_done(st);
	return err;
}

static int sqlite_key_get(struct meta *base, int64_t id, struct meta_key *k)
{
	struct sqlite_meta *m = to_sqlite(base);
	sqlite3_stmt *st;
	int err, rc;

	st = m->st[ST_KEY_GET];
	err = meta_bind_int(m, st, 1, id);
	if (!err) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			err = meta_column_key(st, k);
		else if (rc == SQLITE_DONE)
			err = -ENOENT;
		else
			err = meta_err(m->db, rc, "key get");
	}
	meta_done(st);
	return err;
}

static int sqlite_key_get_unlocked(struct meta *base, int64_t id, struct meta_key *k)
{
	struct sqlite_meta *m = to_sqlite(base), *r = meta_reader_get(m);
	int err;

	if (!r)
		return -EAGAIN;
	err = sqlite_key_get(&r->base, id, k);
	meta_reader_put(m, r);
	return err;
}

static int sqlite_key_list(struct meta *base, meta_key_cb cb, void *arg, struct meta_key *k)
{
	struct sqlite_meta *m = to_sqlite(base);
	int err = 0, rc = SQLITE_DONE;
	sqlite3_stmt *st;

	st = m->st[ST_KEY_ALL];
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = meta_column_key(st, k);
		if (!err)
			err = cb(k, arg);
	}
	if (!err && rc != SQLITE_DONE)
		err = meta_err(m->db, rc, "key list");
	meta_done(st);
	return err;
}

static int sqlite_key_revoke(struct meta *base, int64_t id, int64_t when)
{
	struct sqlite_meta *m = to_sqlite(base);
	sqlite3_stmt *st;
	int err;

	st = m->st[ST_KEY_REVOKE];
	err = meta_bind_int(m, st, 1, id);
	if (!err)
		err = meta_bind_int(m, st, 2, when);
	if (!err)
		err = meta_exec(m, ST_KEY_REVOKE, "key revoke");
	else
		meta_done(st);
	if (!err && sqlite3_changes(m->db) != 1)
		err = -ENOENT;
	return err;
}

static int sqlite_key_delete(struct meta *base, int64_t id)
{
	struct sqlite_meta *m = to_sqlite(base);
	sqlite3_stmt *st;
	int err;

	st = m->st[ST_KEY_DELETE];
	err = meta_bind_int(m, st, 1, id);
	if (!err)
		err = meta_exec(m, ST_KEY_DELETE, "key delete");
	else
		meta_done(st);
	if (!err && sqlite3_changes(m->db) != 1)
		err = -ENOENT;
	return err;
}

static int sqlite_chunk_under(struct meta *base, const uint8_t id[META_ID_LEN],
			      const char *prefix, size_t plen, const char *end, size_t elen)
{
	struct sqlite_meta *m = to_sqlite(base);
	sqlite3_stmt *st;
	int err, rc;

	st = m->st[ST_CHUNK_UNDER];
	err = meta_bind_blob(m, st, 1, id, META_ID_LEN);
	if (!err)
		err = meta_bind_blob(m, st, 2, prefix, plen);
	if (!err)
		err = meta_bind_blob(m, st, 3, end, elen);
	if (!err) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			err = 1;
		else if (rc != SQLITE_DONE)
			err = meta_err(m->db, rc, "chunk under prefix");
	}
	meta_done(st);
	return err;
}

static int sqlite_run(struct meta *base, bool write, int (*fn)(struct sqlite3 *db, void *arg),
		      void *arg)
{
	struct sqlite_meta *m = to_sqlite(base);
	int err;

	err = meta_exec(m, write ? ST_BEGIN_IMMEDIATE : ST_BEGIN, "run");
	if (!err) {
		err = fn(m->db, arg);
		if (!err)
			err = meta_exec(m, ST_COMMIT, "run commit");
		if (err)
			meta_rollback(m);
	}
	return err;
}

/*
 * sqlite_run(write = false) on a reader; -EAGAIN when none is to be had.
 * The reader is read-only, so a callback that tried to write would fail
 * (SQLITE_READONLY) rather than write outside the writer's lock.
 */
static int sqlite_run_unlocked(struct meta *base, int (*fn)(struct sqlite3 *db, void *arg),
			       void *arg)
{
	struct sqlite_meta *m = to_sqlite(base), *r = meta_reader_get(m);
	int err;

	if (!r)
		return -EAGAIN;
	err = sqlite_run(&r->base, false, fn, arg);
	meta_reader_put(m, r);
	return err;
}

int meta_sql_err(struct sqlite3 *db, int rc, const char *what)
{
	return meta_err(db, rc, what);
}

static const struct meta_ops sqlite_meta_ops = {
	.name = "sqlite",
	.close = sqlite_meta_close,
	.cache_files = true,
	.file_get = sqlite_file_get,
	.file_get_unlocked = sqlite_file_get_unlocked,
	.file_put = sqlite_file_put,
	.file_delete = sqlite_file_delete,
	.file_list = sqlite_file_list,
	.chunk_get = sqlite_chunk_get,
	.chunk_foreach = sqlite_chunk_foreach,
	.stats = sqlite_stats,
	.key_add = sqlite_key_add,
	.key_get = sqlite_key_get,
	.key_get_unlocked = sqlite_key_get_unlocked,
	.key_list = sqlite_key_list,
	.key_revoke = sqlite_key_revoke,
	.key_delete = sqlite_key_delete,
	.chunk_under = sqlite_chunk_under,
	.run = sqlite_run,
	.run_unlocked = sqlite_run_unlocked,
};
