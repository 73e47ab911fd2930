// SPDX-License-Identifier: GPL-2.0
/*
 * The SQLite backend's schema (meta/sqlite.c) and its migrations: each
 * version's SQL, run in order from the database's version on, in one
 * transaction with the new version number (PRAGMA user_version, which
 * lives in the database file itself, so the schema and its number commit
 * together).
 */
#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include <sqlite3.h>

#include "sqlite_schema.h"

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

/* A pragma whose result, if any, is one integer (0 if it returns none). */
static int meta_pragma_int(sqlite3 *db, const char *sql, int *val)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return meta_sql_err(db, rc, sql);
	rc = sqlite3_step(st);
	if (val)
		*val = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : meta_sql_err(db, rc, sql);
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
int meta_sqlite_setup(sqlite3 *db, const char *path)
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
		return meta_sql_err(db, rc, "journal_mode");
	rc = sqlite3_exec(db,
			  "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; BEGIN IMMEDIATE",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return meta_sql_err(db, rc, "setup");
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
			err = meta_sql_err(db, rc, version ? "upgrade schema" : "create schema");
		sqlite3_free(msg);
		msg = NULL;
	}
	if (!err) {
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			err = meta_sql_err(db, rc, "create schema");
	}
	if (err && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

