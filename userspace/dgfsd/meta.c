// SPDX-License-Identifier: GPL-2.0
/*
 * dgfsd's metadata layer (meta.h) on SQLite.
 *
 * One connection, opened SQLITE_OPEN_NOMUTEX: SQLite's own per-connection
 * mutex would make each sqlite3_* call atomic, but not a sequence of them
 * (step, column, reset; or a whole transaction), so struct meta's mutex
 * guards every public call instead and SQLite's is redundant.
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sqlite3.h>

#include "meta.h"

#define META_SCHEMA_VERSION	4
#define META_BUSY_TIMEOUT_MS	5000

/*
 * Any valid path sorts before this: a path is at most META_PATH_MAX bytes,
 * so it either is a proper prefix of META_PATH_MAX + 1 0xff bytes or has a
 * smaller byte where they first differ. The upper bound of a listing whose
 * prefix has no successor ("" or all 0xff bytes).
 */
#define META_PATH_TOP_LEN	(META_PATH_MAX + 1)

/*
 * file_chunks.chunk_id's foreign key is deferred: within a put or delete
 * the chunk rows and the file's chunk list change in whatever order is
 * convenient, and COMMIT checks that no list is left pointing at a removed
 * chunk. Its index makes that check (done for every chunk row deleted) a
 * lookup rather than a scan of every file's chunks.
 */
static const char meta_schema[] =
	"CREATE TABLE IF NOT EXISTS files (\n"
	"	id INTEGER PRIMARY KEY,\n"
	"	path BLOB NOT NULL UNIQUE,\n"
	"	size INTEGER NOT NULL CHECK (size >= 0),\n"
	"	etag TEXT NOT NULL,\n"
	"	mtime INTEGER NOT NULL,\n"
	"	content_type TEXT NOT NULL,\n"
	"	nchunks INTEGER NOT NULL CHECK (nchunks >= 0)\n"
	");\n"
	"CREATE TABLE IF NOT EXISTS chunks (\n"
	"	id BLOB PRIMARY KEY CHECK (length(id) = 32),\n"
	"	size INTEGER NOT NULL CHECK (size >= 0),\n"
	"	refs INTEGER NOT NULL CHECK (refs >= 0)\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE IF NOT EXISTS file_chunks (\n"
	"	file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,\n"
	"	idx INTEGER NOT NULL,\n"
	"	chunk_id BLOB NOT NULL REFERENCES chunks(id) DEFERRABLE INITIALLY DEFERRED,\n"
	"	\"offset\" INTEGER NOT NULL,\n"
	"	size INTEGER NOT NULL,\n"
	"	PRIMARY KEY (file_id, idx)\n"
	") WITHOUT ROWID;\n"
	"CREATE INDEX IF NOT EXISTS file_chunks_chunk ON file_chunks(chunk_id);\n";

/*
 * Version 2: API keys (docs/DGFSD.md, "Access control"). Only a key's
 * SHA-256 is kept. AUTOINCREMENT: an id is never given twice, so the
 * access log's key ids stay unambiguous; a revoked key keeps its row
 * (revoked = when) for the same reason.
 */
static const char meta_schema_v2[] =
	"CREATE TABLE IF NOT EXISTS keys (\n"
	"	id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	"	hash BLOB NOT NULL CHECK (length(hash) = 32),\n"
	"	scope TEXT NOT NULL CHECK (scope IN ('read', 'write', 'admin')),\n"
	"	prefix BLOB NOT NULL,\n"
	"	name TEXT NOT NULL,\n"
	"	created INTEGER NOT NULL,\n"
	"	revoked INTEGER\n"
	");\n";

/*
 * Version 3: tags (docs/TAGS.md). A tag row is (name, value), value ''
 * for a bare tag, both normalised by userspace/tags/tag.c before they get
 * here. A file's tag records its source (0 auto, 1 user); an auto tag the
 * user removed is remembered in file_tags_removed so that tagging the
 * file again does not bring it back. Implications (tag_implies) are not
 * copied into file_tags: readers expand them (meta_tags.c, search.c).
 *
 * file_terms holds each file's stemmed terms and counts (from
 * dgfs-tagger); term_df, how many files have each term, is kept by the
 * triggers below for every way a row comes or goes (files deleted
 * cascade into file_terms, and cascaded deletes fire triggers), and
 * term_df's row for the empty term counts the files that have any term.
 *
 * file_text is an FTS5 table whose rowid is files.id. It keeps its
 * content (not content=''): SQLite 3.40's contentless tables can only
 * delete a row given its original text, which nothing else keeps. A
 * trigger drops a deleted file's row.
 *
 * tag_jobs: files waiting to be tagged automatically, one row per file;
 * a new upload of the same path bumps `queued`, so a job running while
 * the file changes leaves its row for another round. Persisted, so a
 * restart picks up what was pending.
 */
static const char meta_schema_v3[] =
	"CREATE TABLE IF NOT EXISTS tags (\n"
	"	id INTEGER PRIMARY KEY,\n"
	"	name TEXT NOT NULL CHECK (length(name) > 0),\n"
	"	value TEXT NOT NULL DEFAULT '',\n"
	"	UNIQUE (name, value)\n"
	");\n"
	"CREATE TABLE IF NOT EXISTS file_tags (\n"
	"	file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,\n"
	"	tag_id INTEGER NOT NULL REFERENCES tags(id),\n"
	"	source INTEGER NOT NULL CHECK (source IN (0, 1)),\n"
	"	PRIMARY KEY (file_id, tag_id)\n"
	") WITHOUT ROWID;\n"
	"CREATE INDEX IF NOT EXISTS file_tags_tag ON file_tags(tag_id);\n"
	"CREATE TABLE IF NOT EXISTS file_tags_removed (\n"
	"	file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,\n"
	"	tag_id INTEGER NOT NULL REFERENCES tags(id),\n"
	"	PRIMARY KEY (file_id, tag_id)\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE IF NOT EXISTS tag_implies (\n"
	"	tag_id INTEGER NOT NULL REFERENCES tags(id),\n"
	"	implied_id INTEGER NOT NULL REFERENCES tags(id),\n"
	"	PRIMARY KEY (tag_id, implied_id),\n"
	"	CHECK (tag_id != implied_id)\n"
	") WITHOUT ROWID;\n"
	"CREATE INDEX IF NOT EXISTS tag_implies_implied ON tag_implies(implied_id);\n"
	"CREATE TABLE IF NOT EXISTS file_terms (\n"
	"	file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,\n"
	"	term TEXT NOT NULL CHECK (length(term) > 0),\n"
	"	count INTEGER NOT NULL CHECK (count > 0),\n"
	"	PRIMARY KEY (file_id, term)\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE IF NOT EXISTS term_df (\n"
	"	term TEXT PRIMARY KEY,\n"
	"	df INTEGER NOT NULL CHECK (df > 0)\n"
	") WITHOUT ROWID;\n"
	"CREATE TRIGGER IF NOT EXISTS file_terms_df_add AFTER INSERT ON file_terms BEGIN\n"
	"	INSERT INTO term_df (term, df) VALUES (new.term, 1)\n"
	"		ON CONFLICT (term) DO UPDATE SET df = df + 1;\n"
	"END;\n"
	"CREATE TRIGGER IF NOT EXISTS file_terms_df_drop AFTER DELETE ON file_terms BEGIN\n"
	"	DELETE FROM term_df WHERE term = old.term AND df <= 1;\n"
	"	UPDATE term_df SET df = df - 1 WHERE term = old.term;\n"
	"END;\n"
	/* term_df('') counts the files that have terms: TF-IDF's N. */
	"CREATE TRIGGER IF NOT EXISTS file_terms_docs_add AFTER INSERT ON file_terms\n"
	"WHEN NOT EXISTS (SELECT 1 FROM file_terms WHERE file_id = new.file_id AND term != new.term)\n"
	"BEGIN\n"
	"	INSERT INTO term_df (term, df) VALUES ('', 1) ON CONFLICT (term) DO UPDATE SET df = df + 1;\n"
	"END;\n"
	"CREATE TRIGGER IF NOT EXISTS file_terms_docs_drop AFTER DELETE ON file_terms\n"
	"WHEN NOT EXISTS (SELECT 1 FROM file_terms WHERE file_id = old.file_id)\n"
	"BEGIN\n"
	"	DELETE FROM term_df WHERE term = '' AND df <= 1;\n"
	"	UPDATE term_df SET df = df - 1 WHERE term = '';\n"
	"END;\n"
	"CREATE VIRTUAL TABLE IF NOT EXISTS file_text USING fts5(text, tokenize = 'unicode61');\n"
	"CREATE TRIGGER IF NOT EXISTS files_text_drop AFTER DELETE ON files BEGIN\n"
	"	DELETE FROM file_text WHERE rowid = old.id;\n"
	"END;\n"
	"CREATE TABLE IF NOT EXISTS tag_jobs (\n"
	"	file_id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,\n"
	"	queued INTEGER NOT NULL,\n"
	"	attempts INTEGER NOT NULL DEFAULT 0\n"
	");\n"
	"CREATE INDEX IF NOT EXISTS tag_jobs_queued ON tag_jobs(queued);\n";

/*
 * Version 4: keyword tags follow the corpus (docs/TAGS.md, "Keyword
 * tags"). file_keywords keeps, for each file with keywords, N (the number
 * of files with terms) when they were chosen, so that they can be chosen
 * again once N has doubled or halved; file_keyword_tags, which of its auto
 * tags the keyword choice added (and so may take away again). Files tagged
 * before: their bare auto tags that are among their terms count as
 * keywords, chosen at N = 0 (due at once).
 */
static const char meta_schema_v4[] =
	"CREATE TABLE IF NOT EXISTS file_keywords (\n"
	"	file_id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,\n"
	"	docs INTEGER NOT NULL CHECK (docs >= 0)\n"
	");\n"
	"CREATE INDEX IF NOT EXISTS file_keywords_docs ON file_keywords(docs);\n"
	"CREATE TABLE IF NOT EXISTS file_keyword_tags (\n"
	"	file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,\n"
	"	tag_id INTEGER NOT NULL REFERENCES tags(id),\n"
	"	PRIMARY KEY (file_id, tag_id)\n"
	") WITHOUT ROWID;\n"
	"INSERT OR IGNORE INTO file_keywords (file_id, docs)\n"
	"	SELECT DISTINCT file_id, 0 FROM file_terms;\n"
	"INSERT OR IGNORE INTO file_keyword_tags (file_id, tag_id)\n"
	"	SELECT ft.file_id, ft.tag_id FROM file_tags ft JOIN tags t ON t.id = ft.tag_id\n"
	"	JOIN file_terms f ON f.file_id = ft.file_id AND f.term = t.name\n"
	"	WHERE ft.source = 0 AND t.value = '';\n";

/* What each version adds, run in order from the database's version on. */
static const char *const meta_migrations[META_SCHEMA_VERSION] = {
	meta_schema,		/* 0 -> 1 */
	meta_schema_v2,		/* 1 -> 2 */
	meta_schema_v3,		/* 2 -> 3 */
	meta_schema_v4,		/* 3 -> 4 */
};

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

struct meta {
	pthread_mutex_t lock;
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
};

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
 * The mutex is error-checking so that a callback calling back into meta
 * (which would otherwise hang forever) gets -EDEADLK instead.
 */
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
static int meta_exec(struct meta *m, enum meta_stmt s, const char *what)
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
static void meta_rollback(struct meta *m)
{
	if (!sqlite3_get_autocommit(m->db))
		meta_exec(m, ST_ROLLBACK, "rollback");
}

static int meta_bind_blob(struct meta *m, sqlite3_stmt *st, int i, const void *p, size_t len)
{
	/* A NULL pointer would bind SQL NULL, not the empty blob. */
	int rc = sqlite3_bind_blob(st, i, p ? p : "", (int)len, SQLITE_STATIC);

	return rc == SQLITE_OK ? 0 : meta_err(m->db, rc, "bind");
}

static int meta_bind_text(struct meta *m, sqlite3_stmt *st, int i, const char *s)
{
	int rc = sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);

	return rc == SQLITE_OK ? 0 : meta_err(m->db, rc, "bind");
}

static int meta_bind_int(struct meta *m, sqlite3_stmt *st, int i, int64_t v)
{
	int rc = sqlite3_bind_int64(st, i, v);

	return rc == SQLITE_OK ? 0 : meta_err(m->db, rc, "bind");
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

/* Whether @s has a NUL within its @size bytes. */
static bool meta_terminated(const char *s, size_t size)
{
	return memchr(s, 0, size) != NULL;
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
static int meta_read_chunks(struct meta *m, int64_t file_id, struct meta_file *f)
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

static int meta_prepare(struct meta *m)
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

/* A pragma whose result, if any, is one integer (0 if it returns none). */
static int meta_pragma_int(sqlite3 *db, const char *sql, int *val)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return meta_err(db, rc, sql);
	rc = sqlite3_step(st);
	if (val)
		*val = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : meta_err(db, rc, sql);
}

static int meta_check_version(const char *path, int version)
{
	if (version < 0 || version > META_SCHEMA_VERSION) {
		fprintf(stderr,
			"dgfsd: meta: %s: schema version %d, this dgfsd knows only up to %d\n",
			path, version, META_SCHEMA_VERSION);
		return -EPROTO;
	}
	return 0;
}

/*
 * The mode SQLite settled on: it keeps its old one where WAL cannot work
 * (no shared memory on that file system), which is still crash-safe with
 * synchronous=FULL, only slower, so that is worth a word but no refusal.
 */
static int meta_journal_mode(void *arg, int ncol, char **vals, char **names)
{
	(void)names;
	if (ncol == 1 && vals[0] && strcasecmp(vals[0], "wal"))
		fprintf(stderr, "dgfsd: meta: %s: journal mode %s, not WAL\n",
			(const char *)arg, vals[0]);
	return 0;
}

/*
 * Creates the schema of a new database, upgrades an older one, or checks
 * an existing one's version. The version is read again inside the write transaction: another
 * process may have created the schema since the first look.
 */
static int meta_setup(sqlite3 *db, const char *path)
{
	char *msg = NULL;
	int version, err, rc;

	err = meta_pragma_int(db, "PRAGMA user_version", &version);
	if (err)
		return err;
	/* Before anything writes to it: a newer dgfsd's database is left untouched. */
	err = meta_check_version(path, version);
	if (err)
		return err;

	/*
	 * WAL: readers do not wait for the writer, and a commit is one append
	 * and one fsync. The mode is the database's, so it sticks once set.
	 */
	rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", meta_journal_mode, (void *)path, NULL);
	if (rc != SQLITE_OK)
		return meta_err(db, rc, "journal_mode");
	rc = sqlite3_exec(db,
			  "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; BEGIN IMMEDIATE",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return meta_err(db, rc, "setup");
	err = meta_pragma_int(db, "PRAGMA user_version", &version);
	if (!err)
		err = meta_check_version(path, version);
	/* An older database is brought up to date in the same transaction. */
	for (; !err && version < META_SCHEMA_VERSION; version++) {
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
		rc = sqlite3_exec(db, meta_migrations[version], NULL, NULL, &msg);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			err = meta_err(db, rc, version ? "upgrade schema" : "create schema");
		sqlite3_free(msg);
		msg = NULL;
	}
	if (!err) {
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			err = meta_err(db, rc, "create schema");
	}
	if (err && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

int meta_open(const char *path, struct meta **out)
{
	pthread_mutexattr_t attr;
	struct meta *m;
	int err, rc;

	if (!path || !*path || !out)
		return -EINVAL;
	/* UPDATE ... FROM (3.33) and RETURNING (3.35). */
	if (sqlite3_libversion_number() < 3035000) {
		fprintf(stderr, "dgfsd: meta: SQLite %s is too old, 3.35 or later is needed\n",
			sqlite3_libversion());
		return -EOPNOTSUPP;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	rc = pthread_mutex_init(&m->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (rc) {
		free(m);
		return -rc;
	}

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
	err = meta_setup(m->db, path);
	if (!err)
		err = meta_prepare(m);
	if (err)
		goto fail;
	*out = m;
	return 0;

fail:
	meta_close(m);
	return err;
}

void meta_close(struct meta *m)
{
	int i;

	if (!m)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(m->st[i]);
	/* The last connection to close checkpoints the WAL into the database. */
	if (m->db && sqlite3_close(m->db) != SQLITE_OK)
		fprintf(stderr, "dgfsd: meta: close: %s\n", sqlite3_errmsg(m->db));
	pthread_mutex_destroy(&m->lock);
	free(m);
}

int meta_file_get(struct meta *m, const char *path, struct meta_file *f, bool with_chunks)
{
	struct meta_file tmp = { .chunks = NULL };
	sqlite3_stmt *st;
	int64_t file_id = 0;
	int len, err, rc;

	len = meta_path_len(path);
	if (!m || !f || len < 0)
		return -EINVAL;
	/* Filled aside: path may be f->path, and f stays as it was on error. */
	memcpy(tmp.path, path, len + 1);
	err = meta_lock(m);
	if (err)
		return err;
	st = m->st[ST_FILE_GET];
	/* The row and the chunk list from one snapshot. */
	err = meta_exec(m, ST_BEGIN, "file get");
	if (err)
		goto out;
	err = meta_bind_blob(m, st, 1, path, len);
	if (!err) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			file_id = sqlite3_column_int64(st, 0);
			err = meta_column_file(st, 1, &tmp);
		} else if (rc == SQLITE_DONE) {
			err = -ENOENT;
		} else {
			err = meta_err(m->db, rc, "file get");
		}
	}
	meta_done(st);
	if (!err && with_chunks)
		err = meta_read_chunks(m, file_id, &tmp);
	if (!err)
		err = meta_exec(m, ST_COMMIT, "file get");
	if (err) {
		meta_rollback(m);
		free(tmp.chunks);
	}
out:
	meta_unlock(m);
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

/* The id of the file at @path in *id, or -ENOENT. */
static int meta_file_id(struct meta *m, const char *path, size_t len, int64_t *id)
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
static int meta_unref_version(struct meta *m, int64_t file_id, struct meta_idlist *freed)
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
static int meta_ref_chunks(struct meta *m, const struct meta_file *f)
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
static int meta_upsert_file(struct meta *m, const struct meta_file *f, int64_t *id)
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

static int meta_insert_chunks(struct meta *m, int64_t file_id, const struct meta_file *f)
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

/* Milliseconds since the epoch: tag jobs' queue times survive a restart. */
int64_t meta_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int meta_queue_tagging(struct meta *m, int64_t file_id)
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

int meta_file_put(struct meta *m, const struct meta_file *f, struct meta_idlist *freed,
		  bool *replaced)
{
	size_t freed_n = freed ? freed->n : 0;
	int64_t old_id = 0, new_id = 0;
	bool had;
	int err;

	if (!m || !f)
		return -EINVAL;
	err = meta_file_check(f);
	if (err)
		return err;
	err = meta_lock(m);
	if (err)
		return err;
	err = meta_exec(m, ST_BEGIN_IMMEDIATE, "file put");
	if (err)
		goto out;

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
	if (err) {
		meta_rollback(m);
		/* The ids the rolled back transaction freed are referenced again. */
		if (freed)
			freed->n = freed_n;
	} else if (replaced) {
		*replaced = had;
	}
out:
	meta_unlock(m);
	return err;
}

int meta_file_delete(struct meta *m, const char *path, struct meta_idlist *freed)
{
	size_t freed_n = freed ? freed->n : 0;
	sqlite3_stmt *st;
	int64_t id = 0;
	int len, err;

	len = meta_path_len(path);
	if (!m || len < 0)
		return -EINVAL;
	err = meta_lock(m);
	if (err)
		return err;
	err = meta_exec(m, ST_BEGIN_IMMEDIATE, "file delete");
	if (err)
		goto out;
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
	if (err) {
		meta_rollback(m);
		if (freed)
			freed->n = freed_n;
	}
out:
	meta_unlock(m);
	return err;
}

/* SQLite's BLOB order: memcmp over the common length, then the shorter first. */
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
	size_t plen, alen, elen;
	struct meta_file *f;
	unsigned int n = 0;
	int err, rc = SQLITE_DONE;
	sqlite3_stmt *st;

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
	elen = meta_prefix_end(prefix, plen, end);
	/* Big (path alone is 1 KiB): not on the stack of whatever thread lists. */
	f = malloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	err = meta_lock(m);
	if (err)
		goto out_free;

	/*
	 * One lower bound for the index to seek to: the cursor (exclusive) if
	 * it is past the prefix's start, else the prefix (inclusive).
	 */
	if (alen && meta_bytecmp(after, alen, prefix, plen) >= 0) {
		st = m->st[ST_LIST_GT];
		err = meta_bind_blob(m, st, 1, after, alen);
	} else {
		st = m->st[ST_LIST_GE];
		err = meta_bind_blob(m, st, 1, prefix, plen);
	}
	if (!err)
		err = meta_bind_blob(m, st, 2, end, elen);
	/* One row past the limit tells whether more follow. */
	if (!err)
		err = meta_bind_int(m, st, 3, (int64_t)limit + 1);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *path = sqlite3_column_blob(st, 0);
		int len = sqlite3_column_bytes(st, 0);

		if (n == limit) {
			if (more)
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
			if (more && sqlite3_step(st) == SQLITE_ROW)
				*more = true;
			goto out;
		}
	}
	if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = meta_err(m->db, rc, "file list");
out:
	meta_done(st);
	meta_unlock(m);
out_free:
	free(f);
	return err;
}

int meta_chunk_get(struct meta *m, const uint8_t id[META_ID_LEN], uint32_t *size)
{
	sqlite3_stmt *st;
	int err, rc;

	if (!m || !id)
		return -EINVAL;
	err = meta_lock(m);
	if (err)
		return err;
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
	uint8_t id[META_ID_LEN];
	sqlite3_stmt *st;
	int err, rc;

	if (!m || !cb)
		return -EINVAL;
	err = meta_lock(m);
	if (err)
		return err;
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
	meta_unlock(m);
	return err;
}

int meta_stats(struct meta *m, struct meta_stats *stats)
{
	sqlite3_stmt *st;
	int err, rc;

	if (!m || !stats)
		return -EINVAL;
	err = meta_lock(m);
	if (err)
		return err;
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

int meta_key_add(struct meta *m, struct meta_key *k, bool first)
{
	enum meta_stmt s = first ? ST_KEY_ADD_FIRST : ST_KEY_ADD;
	sqlite3_stmt *st;
	int err, rc;

	if (!m || !k || meta_key_check(k))
		return -EINVAL;
	err = meta_lock(m);
	if (err)
		return err;
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
	meta_unlock(m);
	return err;
}

int meta_key_get(struct meta *m, int64_t id, struct meta_key *k)
{
	sqlite3_stmt *st;
	int err, rc;

	if (!m || !k)
		return -EINVAL;
	err = meta_lock(m);
	if (err)
		return err;
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
	meta_unlock(m);
	return err;
}

int meta_key_list(struct meta *m, int (*cb)(const struct meta_key *k, void *arg), void *arg)
{
	struct meta_key *k;
	sqlite3_stmt *st;
	int err, rc = SQLITE_DONE;

	if (!m || !cb)
		return -EINVAL;
	k = malloc(sizeof(*k));
	if (!k)
		return -ENOMEM;
	err = meta_lock(m);
	if (err)
		goto out_free;
	st = m->st[ST_KEY_ALL];
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = meta_column_key(st, k);
		if (!err)
			err = cb(k, arg);
	}
	if (!err && rc != SQLITE_DONE)
		err = meta_err(m->db, rc, "key list");
	meta_done(st);
	meta_unlock(m);
out_free:
	free(k);
	return err;
}

int meta_key_revoke(struct meta *m, int64_t id, int64_t when)
{
	struct meta_key k;
	sqlite3_stmt *st;
	int err;

	if (!m || when <= 0)
		return -EINVAL;
	err = meta_lock(m);
	if (err)
		return err;
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
	meta_unlock(m);
	/* Tell "no such key" from "revoked already". */
	if (err == -ENOENT && !meta_key_get(m, id, &k))
		err = -EALREADY;
	return err;
}

int meta_key_delete(struct meta *m, int64_t id)
{
	sqlite3_stmt *st;
	int err;

	if (!m)
		return -EINVAL;
	err = meta_lock(m);
	if (err)
		return err;
	st = m->st[ST_KEY_DELETE];
	err = meta_bind_int(m, st, 1, id);
	if (!err)
		err = meta_exec(m, ST_KEY_DELETE, "key delete");
	else
		meta_done(st);
	if (!err && sqlite3_changes(m->db) != 1)
		err = -ENOENT;
	meta_unlock(m);
	return err;
}

int meta_chunk_under(struct meta *m, const uint8_t id[META_ID_LEN], const char *prefix)
{
	char end[META_PATH_TOP_LEN];
	size_t plen, elen;
	sqlite3_stmt *st;
	int err, rc;

	if (!m || !id || !prefix)
		return -EINVAL;
	plen = strnlen(prefix, META_PATH_MAX + 1);
	if (plen > META_PATH_MAX)
		return -EINVAL;
	elen = meta_prefix_end(prefix, plen, end);
	err = meta_lock(m);
	if (err)
		return err;
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
	meta_unlock(m);
	return err;
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
	err = meta_lock(m);
	if (err)
		return err;
	err = meta_exec(m, write ? ST_BEGIN_IMMEDIATE : ST_BEGIN, "run");
	if (!err) {
		err = fn(m->db, arg);
		if (!err)
			err = meta_exec(m, ST_COMMIT, "run commit");
		if (err)
			meta_rollback(m);
	}
	meta_unlock(m);
	return err;
}

int meta_sql_err(struct sqlite3 *db, int rc, const char *what)
{
	return meta_err(db, rc, what);
}
