// SPDX-License-Identifier: GPL-2.0
/*
 * The PostgreSQL backend's schema (meta/pg.c) and its migrations.
 *
 * The version lives in schema_version (one row), changed in the same
 * transaction as the schema it names. Every dgfsd of a cluster may start
 * at once against one database, so the check and the upgrade run under a
 * transaction-level advisory lock: one upgrades, the others wait and then
 * find the work done. A database newer than this code is refused, and
 * left untouched (the transaction is rolled back).
 *
 * Versions are this backend's own, not SQLite's (meta/sqlite_schema.c):
 * the two schemas say the same things in their own dialects and grow
 * apart as each needs.
 *
 * Strings are bytea, not text: paths, content types and key names are
 * whatever bytes the callers gave (SQLite's BLOBs), and a text column
 * would refuse those that are not valid in the database's encoding.
 * bytea compares memcmp-then-length, the byte order listings promise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>

#include "pg_schema.h"

/*
 * Version 1: files, chunks, API keys; tag_jobs too, so that files stored
 * before tagging comes to this backend are tagged when it does.
 * file_chunks.chunk_id's foreign key is deferred, as on SQLite: within a
 * put or delete the chunk rows and the list change in whatever order is
 * convenient, and COMMIT checks the result.
 */
static const char pg_schema_v1[] =
	"CREATE TABLE files (\n"
	"	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
	"	path bytea NOT NULL UNIQUE,\n"
	"	size bigint NOT NULL CHECK (size >= 0),\n"
	"	etag bytea NOT NULL,\n"
	"	mtime bigint NOT NULL,\n"
	"	content_type bytea NOT NULL,\n"
	"	nchunks bigint NOT NULL CHECK (nchunks >= 0)\n"
	");\n"
	"CREATE TABLE chunks (\n"
	"	id bytea PRIMARY KEY CHECK (length(id) = 32),\n"
	"	size bigint NOT NULL CHECK (size >= 0),\n"
	"	refs bigint NOT NULL CHECK (refs >= 0)\n"
	");\n"
	"CREATE TABLE file_chunks (\n"
	"	file_id bigint NOT NULL REFERENCES files(id) ON DELETE CASCADE,\n"
	"	idx bigint NOT NULL,\n"
	"	chunk_id bytea NOT NULL REFERENCES chunks(id) DEFERRABLE INITIALLY DEFERRED,\n"
	"	\"offset\" bigint NOT NULL,\n"
	"	size bigint NOT NULL,\n"
	"	PRIMARY KEY (file_id, idx)\n"
	");\n"
	"CREATE INDEX file_chunks_chunk ON file_chunks(chunk_id);\n"
	/* An identity never gives an id twice: the access log's key ids stay unambiguous. */
	"CREATE TABLE keys (\n"
	"	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
	"	hash bytea NOT NULL CHECK (length(hash) = 32),\n"
	"	scope text NOT NULL CHECK (scope IN ('read', 'write', 'admin')),\n"
	"	prefix bytea NOT NULL,\n"
	"	name bytea NOT NULL,\n"
	"	created bigint NOT NULL,\n"
	"	revoked bigint\n"
	");\n"
	"CREATE TABLE tag_jobs (\n"
	"	file_id bigint PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,\n"
	"	queued bigint NOT NULL,\n"
	"	attempts bigint NOT NULL DEFAULT 0\n"
	");\n"
	"CREATE INDEX tag_jobs_queued ON tag_jobs(queued);\n";

/*
 * Version 2: the cluster's members (cluster.c, docs/CLUSTER.md). Liveness
 * is judged by the database's clock alone (heartbeat against now()), so
 * the hosts' clocks need not agree. session is the backend pid of the
 * host's membership connection, which holds the owner lock when the host
 * owns the cluster's background work; NULL once the host stopped cleanly.
 */
static const char pg_schema_v2[] =
	"CREATE TABLE hosts (\n"
	"	id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._-]{1,63}$'),\n"
	"	addr text NOT NULL,\n"
	"	http_port integer NOT NULL CHECK (http_port BETWEEN 1 AND 65535),\n"
	"	udp_port integer NOT NULL CHECK (udp_port BETWEEN 1 AND 65535),\n"
	"	zone text NOT NULL CHECK (zone ~ '^[A-Za-z0-9._-]{1,63}$'),\n"
	"	capacity bigint NOT NULL CHECK (capacity >= 0),\n"
	"	started timestamptz NOT NULL,\n"
	"	heartbeat timestamptz NOT NULL,\n"
	"	session integer\n"
	");\n";

/*
 * Version 3: where each chunk's copies are (replication, docs/CLUSTER.md).
 * A row says host_id holds chunk_id's file, durably: the host that stores
 * a copy adds it, and removes it when it removes the file. No foreign key
 * to chunks: a copy exists before the file that references the chunk
 * commits (and after a failed upload, until collected).
 */
static const char pg_schema_v3[] =
	"CREATE TABLE chunk_copies (\n"
	"	chunk_id bytea NOT NULL CHECK (length(chunk_id) = 32),\n"
	"	host_id text NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,\n"
	"	PRIMARY KEY (chunk_id, host_id)\n"
	");\n"
	"CREATE INDEX chunk_copies_host ON chunk_copies(host_id);\n";

/*
 * Version 4: a host the operator drains (docs/CLUSTER.md, "Draining a
 * host"): placement passes it over, and repair moves its copies off.
 */
static const char pg_schema_v4[] =
	"ALTER TABLE hosts ADD COLUMN draining boolean NOT NULL DEFAULT false;\n";

/*
 * Version 5: tags, terms and text (docs/TAGS.md; docs/CLUSTER.md, "Tags
 * and search on PostgreSQL"): SQLite's version 3 and 4 tables, said in
 * this dialect. Tag names and values are text (tag.c made them valid
 * UTF-8). term_df is kept by statement-level triggers over transition
 * tables, which see every row a statement (a cascade from files too)
 * added or dropped at once: a row trigger would fire after the whole
 * statement and so misjudge whether a file still has terms. df may reach
 * 0 inside the trigger only, which drops such rows before it returns.
 * Rows are locked '' first, then in term order, so two writers lock them
 * in one order.
 *
 * file_text holds each file's words as a tsvector that dgfsd builds
 * itself (fts_words.c: ICU word breaking, lower case, no diacritics,
 * positions), so PostgreSQL neither stems nor segments it again: CJK is
 * cut where ICU cut it. Searched through its GIN index.
 */
static const char pg_schema_v5[] =
	"CREATE TABLE tags (\n"
	"	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
	"	name text NOT NULL CHECK (length(name) > 0),\n"
	"	value text NOT NULL DEFAULT '',\n"
	"	UNIQUE (name, value)\n"
	");\n"
	"CREATE TABLE file_tags (\n"
	"	file_id bigint NOT NULL REFERENCES files(id) ON DELETE CASCADE,\n"
	"	tag_id bigint NOT NULL REFERENCES tags(id),\n"
	"	source bigint NOT NULL CHECK (source IN (0, 1)),\n"
	"	PRIMARY KEY (file_id, tag_id)\n"
	");\n"
	"CREATE INDEX file_tags_tag ON file_tags(tag_id);\n"
	"CREATE TABLE file_tags_removed (\n"
	"	file_id bigint NOT NULL REFERENCES files(id) ON DELETE CASCADE,\n"
	"	tag_id bigint NOT NULL REFERENCES tags(id),\n"
	"	PRIMARY KEY (file_id, tag_id)\n"
	");\n"
	"CREATE TABLE tag_implies (\n"
	"	tag_id bigint NOT NULL REFERENCES tags(id),\n"
	"	implied_id bigint NOT NULL REFERENCES tags(id),\n"
	"	PRIMARY KEY (tag_id, implied_id),\n"
	"	CHECK (tag_id != implied_id)\n"
	");\n"
	"CREATE INDEX tag_implies_implied ON tag_implies(implied_id);\n"
	"CREATE TABLE file_terms (\n"
	"	file_id bigint NOT NULL REFERENCES files(id) ON DELETE CASCADE,\n"
	"	term text NOT NULL CHECK (length(term) > 0),\n"
	"	count bigint NOT NULL CHECK (count > 0),\n"
	"	PRIMARY KEY (file_id, term)\n"
	");\n"
	"CREATE TABLE term_df (\n"
	"	term text PRIMARY KEY,\n"
	"	df bigint NOT NULL CHECK (df >= 0)\n"
	");\n"
	"CREATE FUNCTION dgfs_terms_added() RETURNS trigger LANGUAGE plpgsql AS $$\n"
	"BEGIN\n"
	/* term_df('') counts the files that have terms: TF-IDF's N. */
	"	INSERT INTO term_df AS d (term, df)\n"
	"		SELECT '', count(*) FROM (SELECT file_id, count(*) AS n FROM new_rows\n"
	"		GROUP BY file_id) a WHERE a.n = (SELECT count(*) FROM file_terms t\n"
	"		WHERE t.file_id = a.file_id) HAVING count(*) > 0\n"
	"		ON CONFLICT (term) DO UPDATE SET df = d.df + excluded.df;\n"
	"	INSERT INTO term_df AS d (term, df)\n"
	"		SELECT term, count(*) FROM new_rows GROUP BY term ORDER BY term\n"
	"		ON CONFLICT (term) DO UPDATE SET df = d.df + excluded.df;\n"
	"	RETURN NULL;\n"
	"END $$;\n"
	/*
	 * Not an upsert of -n: PostgreSQL checks the row it would insert
	 * (df < 0) before it finds the conflict. The rows are locked in term
	 * order first, '' among them, as the upserts above lock them.
	 */
	"CREATE FUNCTION dgfs_terms_dropped() RETURNS trigger LANGUAGE plpgsql AS $$\n"
	"BEGIN\n"
	"	PERFORM 1 FROM term_df WHERE term IN (SELECT term FROM old_rows UNION SELECT '')\n"
	"		ORDER BY term FOR UPDATE;\n"
	"	UPDATE term_df SET df = df - (SELECT count(*) FROM\n"
	"		(SELECT DISTINCT file_id FROM old_rows) o WHERE NOT EXISTS\n"
	"		(SELECT 1 FROM file_terms t WHERE t.file_id = o.file_id)) WHERE term = '';\n"
	"	UPDATE term_df d SET df = d.df - o.n FROM\n"
	"		(SELECT term, count(*) AS n FROM old_rows GROUP BY term) o WHERE d.term = o.term;\n"
	"	DELETE FROM term_df WHERE df <= 0 AND term IN\n"
	"		(SELECT term FROM old_rows UNION ALL SELECT '');\n"
	"	RETURN NULL;\n"
	"END $$;\n"
	"CREATE TRIGGER file_terms_df_add AFTER INSERT ON file_terms\n"
	"	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT\n"
	"	EXECUTE FUNCTION dgfs_terms_added();\n"
	"CREATE TRIGGER file_terms_df_drop AFTER DELETE ON file_terms\n"
	"	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT\n"
	"	EXECUTE FUNCTION dgfs_terms_dropped();\n"
	"CREATE TABLE file_text (\n"
	"	file_id bigint PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,\n"
	"	words tsvector NOT NULL\n"
	");\n"
	"CREATE INDEX file_text_words ON file_text USING gin (words);\n"
	"CREATE TABLE file_keywords (\n"
	"	file_id bigint PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,\n"
	"	docs bigint NOT NULL CHECK (docs >= 0)\n"
	");\n"
	"CREATE INDEX file_keywords_docs ON file_keywords(docs);\n"
	"CREATE TABLE file_keyword_tags (\n"
	"	file_id bigint NOT NULL REFERENCES files(id) ON DELETE CASCADE,\n"
	"	tag_id bigint NOT NULL REFERENCES tags(id),\n"
	"	PRIMARY KEY (file_id, tag_id)\n"
	");\n";

/*
 * Version 6: whether a host serves HTTPS (--tls-cert), so that the
 * others call its internal API over HTTPS (peer.c; docs/CLUSTER.md, "TLS
 * between hosts"). Registered at every start.
 */
static const char pg_schema_v6[] =
	"ALTER TABLE hosts ADD COLUMN tls boolean NOT NULL DEFAULT false;\n";

/* What each version adds, run in order from the database's version on. */
static const char *const pg_migrations[PG_SCHEMA_VERSION] = {
	pg_schema_v1,		/* 0 -> 1 */
	pg_schema_v2,		/* 1 -> 2 */
	pg_schema_v3,		/* 2 -> 3 */
	pg_schema_v4,		/* 3 -> 4 */
	pg_schema_v5,		/* 4 -> 5 */
	pg_schema_v6,		/* 5 -> 6 */
};

/* Runs @sql, which returns no rows; logs and maps a failure. */
static int pg_schema_exec(PGconn *conn, const char *sql, const char *what)
{
	PGresult *res = PQexec(conn, sql);
	int err = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		err = meta_pg_err(conn, res, what);
	PQclear(res);
	return err;
}

static int pg_schema_version(PGconn *conn, int *version)
{
	PGresult *res = PQexec(conn, "SELECT version FROM schema_version");
	int err = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		err = meta_pg_err(conn, res, "schema version");
	else if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
		err = -EIO;
	else
		*version = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return err;
}

int meta_pg_setup(PGconn *conn, const char *where)
{
	char sql[96];
	int version = 0, err;

	err = pg_schema_exec(conn, "BEGIN", "setup");
	if (err)
		return err;
	err = pg_schema_exec(conn, "SELECT pg_advisory_xact_lock(" PG_SCHEMA_LOCK ")", "setup lock");
	if (!err)
		err = pg_schema_exec(conn,
				     "CREATE TABLE IF NOT EXISTS schema_version (\n"
				     "	one boolean PRIMARY KEY DEFAULT true CHECK (one),\n"
				     "	version integer NOT NULL CHECK (version >= 0)\n"
				     ");\n"
				     "INSERT INTO schema_version (version) VALUES (0) "
				     "ON CONFLICT DO NOTHING", "schema version");
	if (!err)
		err = pg_schema_version(conn, &version);
	if (!err && (version < 0 || version > PG_SCHEMA_VERSION)) {
		fprintf(stderr,
			"dgfsd: meta: %s: schema version %d, this dgfsd knows only up to %d\n",
			where, version, PG_SCHEMA_VERSION);
		err = -EPROTO;
	}
	for (; !err && version < PG_SCHEMA_VERSION; version++) {
		err = pg_schema_exec(conn, pg_migrations[version],
				     version ? "upgrade schema" : "create schema");
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d", version + 1);
		if (!err)
			err = pg_schema_exec(conn, sql, "schema version");
	}
	if (!err)
		err = pg_schema_exec(conn, "COMMIT", "create schema");
	if (err)
		PQclear(PQexec(conn, "ROLLBACK"));
	return err;
}
