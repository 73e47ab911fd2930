// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of dgfsd's metadata layer (userspace/dgfsd/meta/) on both
 * backends: real SQLite databases in a temporary directory, then the same
 * tests on a PostgreSQL server the test starts itself (pg_server.h; one
 * schema per database name): files and their chunk lists,
 * reference counting (shared chunks, a chunk listed twice, replacements
 * that keep some chunks), argument checking, byte-order listing and
 * paging, statistics and chunk walks against a model kept here, reopening,
 * schema versions (SQLite's user_version and the upgrade of version 1 and
 * 2 databases; PostgreSQL's schema_version), API keys (add,
 * the first-start add, get, list, revoke, delete) and chunks under a
 * prefix, failures injected midway through a change (a trigger, a full
 * SQLite database, a chunk with a conflicting size, a PostgreSQL session
 * ended by the server), and four threads changing
 * files at once. One line per check, PASS or FAIL; the exit
 * status is non-zero if any check failed.
 */

/* expect-checks: 341 (tests/run-all.sh: a run that prints fewer fails) */

#include "meta_sources.h"

#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#include "check.h"
#include "pg_server.h"

static char tmpdir[64];

/* Which backend the common tests run on: SQLite first, then PostgreSQL. */
static bool on_pg;
static struct pg_server pgs;
/* A connection of the test's own to the PostgreSQL server, to look at tables. */
static PGconn *pg_peek;

/* The SQLite connection behind @m, for checks that look at the tables themselves. */
static sqlite3 *sq_db(struct meta *m)
{
	return to_sqlite(m)->db;
}

/* Runs @sql on the peek connection: 0 if it worked. */
static int peek_exec(const char *sql)
{
	PGresult *res = PQexec(pg_peek, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "peek: %s: %s", sql, PQerrorMessage(pg_peek));
	PQclear(res);
	return ok ? 0 : -1;
}

/*
 * Each database name is a schema of its own on the test's server; the
 * peek connection looks at the schema of the last one opened (the tests
 * look at one database at a time).
 */
static void pg_schema_of(const char *name, char *buf, size_t size)
{
	size_t i;

	snprintf(buf, size, "t_%s", name);
	for (i = 0; buf[i]; i++)
		if (!((buf[i] >= 'a' && buf[i] <= 'z') || (buf[i] >= '0' && buf[i] <= '9')))
			buf[i] = '_';
}

static int pg_use(const char *name, char *uri, size_t size)
{
	char schema[32], sql[128];

	pg_schema_of(name, schema, sizeof(schema));
	snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS %s; SET search_path = %s",
		 schema, schema);
	snprintf(uri, size, "%s&options=-csearch_path%%3D%s", pgs.uri_base, schema);
	return peek_exec(sql);
}

/* A one-number query, on whichever backend @m is: the number, or -1. */
static int64_t db_int(struct meta *m, const char *sql)
{
	sqlite3_stmt *st;
	PGresult *res;
	int64_t n = -1;

	if (on_pg) {
		res = PQexec(pg_peek, sql);
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		    !PQgetisnull(res, 0, 0))
			n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		else
			fprintf(stderr, "peek: %s: %s", sql, PQerrorMessage(pg_peek));
		PQclear(res);
		return n;
	}
	if (sqlite3_prepare_v2(sq_db(m), sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void db_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

static struct meta *open_db(const char *name)
{
	char path[256];
	struct meta *m = NULL;

	if (on_pg) {
		if (pg_use(name, path, sizeof(path)))
			path[0] = 0;
	} else {
		db_path(path, sizeof(path), name);
	}
	if (!path[0] || meta_open(path, &m)) {
		printf("FAIL: open %s (%s:%d)\n", path, __FILE__, __LINE__);
		failures++;
		return NULL;
	}
	return m;
}

/*
 * Chunks are named by small numbers here: the number big-endian in the
 * first four bytes of the id, a fixed pattern after it, and a size that
 * depends only on the number (as a content hash's would).
 */
static void mkid(uint32_t n, uint8_t id[META_ID_LEN])
{
	int i;

	id[0] = n >> 24;
	id[1] = n >> 16;
	id[2] = n >> 8;
	id[3] = n;
	for (i = 4; i < META_ID_LEN; i++)
		id[i] = (uint8_t)(0xc5 ^ i);
}

static uint32_t idnum(const uint8_t id[META_ID_LEN])
{
	return (uint32_t)id[0] << 24 | (uint32_t)id[1] << 16 | (uint32_t)id[2] << 8 | id[3];
}

static uint32_t csize(uint32_t n)
{
	return 1000 + (n * 37) % 5000;
}

#define MAXCH 16

/* A meta_file whose chunk list is the chunks @ids, laid end to end. */
static void mkfile(struct meta_file *f, struct meta_chunk *c, const char *path,
		   const uint32_t *ids, uint32_t n)
{
	uint32_t i;

	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", path);
	for (i = 0; i < n; i++) {
		mkid(ids[i], c[i].id);
		c[i].offset = f->size;
		c[i].size = csize(ids[i]);
		f->size += c[i].size;
	}
	snprintf(f->etag, sizeof(f->etag), "%064x", n);
	snprintf(f->content_type, sizeof(f->content_type), "application/x-test-%u", n);
	f->mtime = 1700000000 + n;
	f->nchunks = n;
	f->chunks = n ? c : NULL;
}

static int put_ids(struct meta *m, const char *path, const uint32_t *ids, uint32_t n,
		   struct meta_idlist *freed, bool *replaced)
{
	struct meta_chunk c[MAXCH];
	struct meta_file f;

	mkfile(&f, c, path, ids, n);
	return meta_file_put(m, &f, freed, replaced);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Whether the ids in @l from @from on are exactly @want (any order, no repeats). */
static bool freed_is(const struct meta_idlist *l, size_t from, const uint32_t *want, size_t n)
{
	uint32_t got[64], exp[64];
	size_t i;

	if (l->n - from != n || n > 64)
		return false;
	for (i = 0; i < n; i++) {
		got[i] = idnum(l->ids[from + i]);
		exp[i] = want[i];
	}
	qsort(got, n, sizeof(*got), cmp_u32);
	qsort(exp, n, sizeof(*exp), cmp_u32);
	return !memcmp(got, exp, n * sizeof(*got));
}

/* The refs column of chunk @n, 0 if it has no row; read from the database itself. */
static int64_t db_refs(struct meta *m, uint32_t n)
{
	char sql[160], hex[2 * META_ID_LEN + 1];
	uint8_t id[META_ID_LEN];
	int i;

	mkid(n, id);
	for (i = 0; i < META_ID_LEN; i++)
		sprintf(hex + 2 * i, "%02x", id[i]);
	snprintf(sql, sizeof(sql), on_pg ?
		 "SELECT coalesce((SELECT refs FROM chunks WHERE id = '\\x%s'::bytea), 0)" :
		 "SELECT coalesce((SELECT refs FROM chunks WHERE id = X'%s'), 0)", hex);
	return db_int(m, sql);
}

/*
 * Everything in the database as one string, to compare before and after
 * a change that must not have happened.
 */
static char *snapshot(struct meta *m)
{
	static const char *const sql =
		"SELECT 'f', hex(path), size, etag, mtime, content_type, nchunks, id "
		"FROM files UNION ALL "
		"SELECT 'c', hex(id), size, refs, '', '', '', '' FROM chunks UNION ALL "
		"SELECT 'l', file_id, idx, hex(chunk_id), \"offset\", size, '', '' "
		"FROM file_chunks ORDER BY 1, 2, 3";
	static const char *const pg_sql =
		"SELECT 'f', encode(path, 'hex'), size::text, encode(etag, 'hex'), mtime::text, "
		"encode(content_type, 'hex'), nchunks::text, id::text FROM files UNION ALL "
		"SELECT 'c', encode(id, 'hex'), size::text, refs::text, '', '', '', '' FROM chunks "
		"UNION ALL SELECT 'l', file_id::text, idx::text, encode(chunk_id, 'hex'), "
		"\"offset\"::text, size::text, '', '' FROM file_chunks ORDER BY 1, 2, 3";
	char *buf = NULL;
	size_t len = 0;
	sqlite3_stmt *st;
	PGresult *res;
	FILE *out;
	int i, r;

	out = open_memstream(&buf, &len);
	if (!out)
		return NULL;
	if (on_pg) {
		res = PQexec(pg_peek, pg_sql);
		if (PQresultStatus(res) == PGRES_TUPLES_OK) {
			for (r = 0; r < PQntuples(res); r++) {
				for (i = 0; i < 8; i++)
					fprintf(out, "%s|", PQgetvalue(res, r, i));
				fputc('\n', out);
			}
		} else {
			fputs("(no snapshot)", out);
		}
		PQclear(res);
	} else if (sqlite3_prepare_v2(sq_db(m), sql, -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			for (i = 0; i < 8; i++)
				fprintf(out, "%s|", (const char *)sqlite3_column_text(st, i));
			fputc('\n', out);
		}
		sqlite3_finalize(st);
	} else {
		fputs("(no snapshot)", out);
	}
	fclose(out);
	return buf;
}

static bool same_snapshot(struct meta *m, const char *before)
{
	char *now = snapshot(m);
	bool same = now && before && !strcmp(now, before);

	free(now);
	return same;
}

/* Whether the connection's pragma reads back as @want. */
static bool pragma_is(struct meta *m, const char *sql, const char *want)
{
	sqlite3_stmt *st;
	bool same = false;

	if (sqlite3_prepare_v2(sq_db(m), sql, -1, &st, NULL) != SQLITE_OK)
		return false;
	if (sqlite3_step(st) == SQLITE_ROW)
		same = !strcmp((const char *)sqlite3_column_text(st, 0), want);
	sqlite3_finalize(st);
	return same;
}

static int no_sql(sqlite3 *db, void *arg)
{
	(void)db;
	(void)arg;
	return 0;
}

/*
 * A failure injected into statements on @table (PostgreSQL): a trigger,
 * named @name, raising an error when @when holds; NULL drops it.
 */
static void pg_inject(const char *name, const char *table, const char *event, const char *when)
{
	char sql[512];

	if (!when) {
		snprintf(sql, sizeof(sql), "DROP TRIGGER %s ON %s", name, table);
		peek_exec(sql);
		return;
	}
	snprintf(sql, sizeof(sql),
		 "CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS "
		 "$$BEGIN RAISE EXCEPTION 'test: injected failure'; END$$; "
		 "CREATE TRIGGER %s BEFORE %s ON %s FOR EACH ROW WHEN (%s) EXECUTE FUNCTION %s()",
		 name, name, event, table, when, name);
	peek_exec(sql);
}

static void test_basic(void)
{
	static const uint32_t ids[] = { 1, 2, 3 };
	struct meta_chunk c[MAXCH];
	struct meta_idlist freed = { 0 };
	struct meta_file f, g = { .chunks = NULL };
	bool replaced = true, ok;
	uint32_t size, i;
	struct meta *m;

	m = open_db("basic.db");
	if (!m)
		return;
	if (on_pg)
		CHECK("open: the backend is postgresql, schema version 5, tags through meta_run_pg",
		      !strcmp(meta_backend_name(m), "postgresql") &&
		      db_int(m, "SELECT version FROM schema_version") == PG_SCHEMA_VERSION &&
		      PG_SCHEMA_VERSION == 6 && !meta_has_sql(m) && meta_has_pg(m) &&
		      meta_has_tags(m) &&
		      meta_run(m, false, NULL, NULL) == -EINVAL &&
		      meta_run(m, false, no_sql, NULL) == -EOPNOTSUPP);
	else
		CHECK("open: WAL, synchronous=FULL, foreign keys on, a busy timeout",
		      !strcmp(meta_backend_name(m), "sqlite") && meta_has_sql(m) &&
		      pragma_is(m, "PRAGMA journal_mode", "wal") &&
		      pragma_is(m, "PRAGMA synchronous", "2") &&
		      pragma_is(m, "PRAGMA foreign_keys", "1") &&
		      pragma_is(m, "PRAGMA busy_timeout", "5000"));
	mkfile(&f, c, "dir/a.txt", ids, 3);
	CHECK("put: a new file", !meta_file_put(m, &f, &freed, &replaced));
	CHECK("put: a new file is not a replacement and frees nothing",
	      !replaced && freed.n == 0);

	memset(&g, 0x5a, sizeof(g));
	CHECK("get: with chunks", !meta_file_get(m, "dir/a.txt", &g, true));
	ok = !strcmp(g.path, "dir/a.txt") && g.size == f.size && !strcmp(g.etag, f.etag) &&
	     g.mtime == f.mtime && !strcmp(g.content_type, f.content_type) &&
	     g.nchunks == 3 && g.chunks;
	for (i = 0; ok && i < 3; i++)
		ok = !memcmp(g.chunks[i].id, c[i].id, META_ID_LEN) &&
		     g.chunks[i].offset == c[i].offset && g.chunks[i].size == c[i].size;
	CHECK("get: every field and the chunk list in order as put", ok);
	meta_file_release(&g);
	CHECK("get: release clears chunks", g.chunks == NULL);

	memset(&g, 0x5a, sizeof(g));
	CHECK("get: without chunks",
	      !meta_file_get(m, "dir/a.txt", &g, false) && !g.chunks && g.nchunks == 3 &&
	      g.size == f.size);
	/* The path argument may be the struct's own path field. */
	CHECK("get: into the struct holding the path",
	      !meta_file_get(m, g.path, &g, false) && !strcmp(g.path, "dir/a.txt"));

	memset(&g, 0x5a, sizeof(g));
	CHECK("get: a missing file is -ENOENT and leaves f alone",
	      meta_file_get(m, "dir/b.txt", &g, true) == -ENOENT &&
	      ((unsigned char *)&g)[0] == 0x5a);
	CHECK("get: a prefix of a file's path is not the file",
	      meta_file_get(m, "dir/a", &g, false) == -ENOENT);

	CHECK("chunk known: with its size",
	      meta_chunk_known(m, c[1].id, &size) && size == csize(2) &&
	      meta_chunk_known(m, c[0].id, NULL));
	mkid(99, c[5].id);
	CHECK("chunk known: an unknown one", !meta_chunk_known(m, c[5].id, &size));
	size = 0;
	CHECK("chunk get: a known one is 0 with its size, an unknown one -ENOENT",
	      !meta_chunk_get(m, c[2].id, &size) && size == csize(3) &&
	      meta_chunk_get(m, c[5].id, NULL) == -ENOENT &&
	      meta_chunk_get(m, NULL, NULL) == -EINVAL);
	CHECK("refs: one each", db_refs(m, 1) == 1 && db_refs(m, 2) == 1 && db_refs(m, 3) == 1);

	mkfile(&f, c, "empty", NULL, 0);
	CHECK("put: an empty file with no chunks",
	      !meta_file_put(m, &f, NULL, NULL) &&
	      !meta_file_get(m, "empty", &g, true) && g.size == 0 && g.nchunks == 0 &&
	      !g.chunks);
	meta_idlist_free(&freed);
	meta_close(m);
}

static void test_refcounts(void)
{
	static const uint32_t a1[] = { 1, 2, 3 }, a2[] = { 3, 4 };
	static const uint32_t x[] = { 10, 11 }, y[] = { 11, 12 };
	static const uint32_t z1[] = { 20, 20, 21 }, z2[] = { 20 };
	static const uint32_t w1[] = { 30, 31, 31, 32 }, w2[] = { 31, 33, 34 };
	static const uint32_t fr12[] = { 1, 2 }, fr10[] = { 10 }, fr11_12[] = { 11, 12 };
	static const uint32_t fr21[] = { 21 }, fr20[] = { 20 }, fr30_32[] = { 30, 32 };
	struct meta_idlist freed = { 0 };
	bool replaced = false;
	struct meta_file g = { .chunks = NULL };
	size_t mark;
	char *before;
	struct meta *m;

	m = open_db("refs.db");
	if (!m)
		return;

	put_ids(m, "a", a1, 3, &freed, NULL);
	mark = freed.n;
	CHECK("replace: returns replaced",
	      !put_ids(m, "a", a2, 2, &freed, &replaced) && replaced);
	CHECK("replace: frees exactly the chunks no longer referenced",
	      freed_is(&freed, mark, fr12, 2));
	CHECK("replace: the kept chunk keeps one ref, the new one has one",
	      db_refs(m, 3) == 1 && db_refs(m, 4) == 1 && db_refs(m, 1) == 0);
	CHECK("replace: get sees the new version",
	      !meta_file_get(m, "a", &g, true) && g.nchunks == 2 && g.size == csize(3) + csize(4) &&
	      idnum(g.chunks[0].id) == 3 && idnum(g.chunks[1].id) == 4);
	meta_file_release(&g);

	/* The same version again: every chunk is shared with the old one. */
	mark = freed.n;
	CHECK("replace: with an identical version frees nothing",
	      !put_ids(m, "a", a2, 2, &freed, &replaced) && replaced && freed.n == mark &&
	      db_refs(m, 3) == 1 && db_refs(m, 4) == 1);

	put_ids(m, "x", x, 2, &freed, NULL);
	put_ids(m, "y", y, 2, &freed, NULL);
	CHECK("shared: a chunk in two files has refs 2", db_refs(m, 11) == 2);
	mark = freed.n;
	CHECK("shared: deleting one file frees only its own chunk",
	      !meta_file_delete(m, "x", &freed) && freed_is(&freed, mark, fr10, 1) &&
	      db_refs(m, 11) == 1);
	mark = freed.n;
	CHECK("shared: deleting the other frees the shared chunk too",
	      !meta_file_delete(m, "y", &freed) && freed_is(&freed, mark, fr11_12, 2) &&
	      db_refs(m, 11) == 0 && db_refs(m, 12) == 0);

	put_ids(m, "z", z1, 3, &freed, NULL);
	CHECK("twice: a chunk listed twice has refs 2", db_refs(m, 20) == 2 && db_refs(m, 21) == 1);
	CHECK("twice: get returns both entries",
	      !meta_file_get(m, "z", &g, true) && g.nchunks == 3 &&
	      idnum(g.chunks[0].id) == 20 && idnum(g.chunks[1].id) == 20 &&
	      g.chunks[1].offset == csize(20) && idnum(g.chunks[2].id) == 21);
	meta_file_release(&g);
	mark = freed.n;
	CHECK("twice: replaced by a version listing it once",
	      !put_ids(m, "z", z2, 1, &freed, NULL) && freed_is(&freed, mark, fr21, 1) &&
	      db_refs(m, 20) == 1);
	mark = freed.n;
	CHECK("twice: deleting frees it once",
	      !meta_file_delete(m, "z", &freed) && freed_is(&freed, mark, fr20, 1));

	put_ids(m, "w", w1, 4, &freed, NULL);
	mark = freed.n;
	CHECK("partial share: frees exactly the chunks the new version drops",
	      !put_ids(m, "w", w2, 3, &freed, &replaced) && replaced &&
	      freed_is(&freed, mark, fr30_32, 2));
	CHECK("partial share: refs of the kept and new chunks",
	      db_refs(m, 31) == 1 && db_refs(m, 33) == 1 && db_refs(m, 34) == 1);

	/* No freed list at all is fine. */
	CHECK("put: without a freed list", !put_ids(m, "w", a1, 3, NULL, NULL) &&
	      db_refs(m, 31) == 0 && db_refs(m, 1) == 1);

	before = snapshot(m);
	mark = freed.n;
	CHECK("delete: a missing file is -ENOENT",
	      meta_file_delete(m, "nope", &freed) == -ENOENT && freed.n == mark);
	CHECK("delete: a missing file changes nothing", same_snapshot(m, before));
	free(before);

	meta_idlist_free(&freed);
	meta_close(m);
}

static int count_cb(const struct meta_file *f, void *arg)
{
	(void)f;
	(*(int *)arg)++;
	return 0;
}

static void test_invalid(void)
{
	static const uint32_t ids[] = { 1, 2, 3 };
	struct meta_idlist freed = { 0 };
	struct meta_chunk c[MAXCH];
	char longpath[META_PATH_MAX + 2];
	struct meta_file f, g = { .chunks = NULL };
	struct meta_stats st;
	struct meta *m, *m2;
	char *before;
	int n = 0;
	bool more;

	m = open_db("inval.db");
	if (!m)
		return;
	put_ids(m, "keep", ids, 3, NULL, NULL);
	before = snapshot(m);
	memset(longpath, 'p', META_PATH_MAX + 1);
	longpath[META_PATH_MAX + 1] = 0;

	CHECK("invalid: NULL meta", put_ids(NULL, "x", ids, 3, NULL, NULL) == -EINVAL &&
	      meta_file_get(NULL, "keep", &g, false) == -EINVAL &&
	      meta_file_delete(NULL, "keep", NULL) == -EINVAL &&
	      meta_stats(NULL, &st) == -EINVAL && !meta_chunk_known(NULL, c[0].id, NULL));
	CHECK("invalid: NULL file", meta_file_put(m, NULL, &freed, NULL) == -EINVAL);
	CHECK("invalid: NULL or empty path to get and delete",
	      meta_file_get(m, NULL, &g, false) == -EINVAL &&
	      meta_file_get(m, "", &g, false) == -EINVAL &&
	      meta_file_get(m, "keep", NULL, false) == -EINVAL &&
	      meta_file_delete(m, NULL, &freed) == -EINVAL &&
	      meta_file_delete(m, "", &freed) == -EINVAL);
	CHECK("invalid: a path one byte over META_PATH_MAX to get and delete",
	      meta_file_get(m, longpath, &g, false) == -EINVAL &&
	      meta_file_delete(m, longpath, &freed) == -EINVAL);

	mkfile(&f, c, "", ids, 3);
	CHECK("invalid: put with an empty path", meta_file_put(m, &f, &freed, NULL) == -EINVAL);
	mkfile(&f, c, "x", ids, 3);
	memset(f.path, 'q', sizeof(f.path));		/* no NUL anywhere */
	CHECK("invalid: put with an unterminated path (over META_PATH_MAX)",
	      meta_file_put(m, &f, &freed, NULL) == -EINVAL);
	mkfile(&f, c, "x", ids, 3);
	f.path[META_PATH_MAX] = 0;
	memset(f.path, 'q', META_PATH_MAX);
	CHECK("valid: a path of exactly META_PATH_MAX bytes",
	      !meta_file_put(m, &f, NULL, NULL) && !meta_file_get(m, f.path, &g, false) &&
	      strlen(g.path) == META_PATH_MAX && !meta_file_delete(m, f.path, NULL));

	mkfile(&f, c, "x", ids, 3);
	f.chunks = NULL;
	CHECK("invalid: nchunks > 0 and no chunks", meta_file_put(m, &f, &freed, NULL) == -EINVAL);
	mkfile(&f, c, "x", ids, 3);
	c[1].offset++;
	CHECK("invalid: a gap between chunks", meta_file_put(m, &f, &freed, NULL) == -EINVAL);
	mkfile(&f, c, "x", ids, 3);
	c[2].offset--;
	CHECK("invalid: overlapping chunks", meta_file_put(m, &f, &freed, NULL) == -EINVAL);
	mkfile(&f, c, "x", ids, 3);
	c[0].offset = 1;
	CHECK("invalid: a first chunk not at 0", meta_file_put(m, &f, &freed, NULL) == -EINVAL);
	mkfile(&f, c, "x", ids, 3);
	f.size++;
	CHECK("invalid: chunks shorter than the file",
	      meta_file_put(m, &f, &freed, NULL) == -EINVAL);
	mkfile(&f, c, "x", ids, 3);
	f.size--;
	CHECK("invalid: chunks longer than the file",
	      meta_file_put(m, &f, &freed, NULL) == -EINVAL);
	mkfile(&f, c, "x", NULL, 0);
	f.size = 5;
	CHECK("invalid: a non-empty file without chunks",
	      meta_file_put(m, &f, &freed, NULL) == -EINVAL);
	mkfile(&f, c, "x", ids, 3);
	memset(f.etag, 'e', sizeof(f.etag));
	CHECK("invalid: an unterminated etag", meta_file_put(m, &f, &freed, NULL) == -EINVAL);
	mkfile(&f, c, "x", ids, 3);
	memset(f.content_type, 't', sizeof(f.content_type));
	CHECK("invalid: an unterminated content type",
	      meta_file_put(m, &f, &freed, NULL) == -EINVAL);
	mkfile(&f, c, "keep", ids, 3);
	c[2].size++;
	c[2].offset = c[0].size + c[1].size;
	f.size++;
	CHECK("invalid: a known chunk with another size",
	      meta_file_put(m, &f, &freed, NULL) == -EINVAL);

	CHECK("invalid: list without a callback",
	      meta_file_list(m, "", NULL, 10, NULL, NULL, &more) == -EINVAL);
	CHECK("invalid: list with a prefix or cursor over META_PATH_MAX",
	      meta_file_list(m, longpath, NULL, 10, count_cb, &n, &more) == -EINVAL &&
	      meta_file_list(m, "", longpath, 10, count_cb, &n, &more) == -EINVAL && n == 0);
	CHECK("invalid: foreach without a callback", meta_chunk_foreach(m, NULL, NULL) == -EINVAL);
	CHECK("invalid: stats without a result", meta_stats(m, NULL) == -EINVAL);
	CHECK("invalid: open with no path or nowhere to put the handle",
	      meta_open(NULL, &m2) == -EINVAL && meta_open("", &m2) == -EINVAL &&
	      meta_open("x.db", NULL) == -EINVAL);

	CHECK("invalid: nothing changed and nothing freed",
	      same_snapshot(m, before) && freed.n == 0);
	free(before);
	meta_idlist_free(&freed);
	meta_close(m);
}

/* ---- listing ------------------------------------------------------------- */

struct collect {
	char **paths;
	size_t n, cap;
	int stop_after;		/* return 1 from the callback after this many; 0: never */
};

static int collect_cb(const struct meta_file *f, void *arg)
{
	struct collect *c = arg;

	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->paths = realloc(c->paths, c->cap * sizeof(*c->paths));
		if (!c->paths)
			abort();
	}
	c->paths[c->n++] = strdup(f->path);
	if (c->stop_after && (int)c->n == c->stop_after)
		return 7;
	return 0;
}

static void collect_free(struct collect *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->paths[i]);
	free(c->paths);
	memset(c, 0, sizeof(*c));
}

/* strcmp compares as unsigned char: byte order, as the listing promises. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether @c holds exactly the paths of @all (sorted) that start with @prefix, in order. */
static bool listed_is(const struct collect *c, char **all, size_t nall, const char *prefix)
{
	size_t i, k = 0, plen = strlen(prefix);

	for (i = 0; i < nall; i++) {
		if (strncmp(all[i], prefix, plen))
			continue;
		if (k >= c->n || strcmp(c->paths[k], all[i]))
			return false;
		k++;
	}
	return k == c->n;
}

/* Lists everything under @prefix page by page, each page starting after the last. */
static int list_paged(struct meta *m, const char *prefix, unsigned int limit,
		      struct collect *c, int *pages, bool *more_ok)
{
	char after[META_PATH_MAX + 1] = "";
	bool more = true;
	size_t before;
	int err;

	*pages = 0;
	*more_ok = true;
	while (more) {
		before = c->n;
		err = meta_file_list(m, prefix, after, limit, collect_cb, c, &more);
		if (err)
			return err;
		(*pages)++;
		/* Only a full page may say more follow. */
		if (more && c->n - before != limit)
			*more_ok = false;
		if (c->n == before)
			break;
		snprintf(after, sizeof(after), "%s", c->paths[c->n - 1]);
		if (*pages > 100000)
			return -ELOOP;
	}
	return 0;
}

static void test_bytes(void)
{
	static const char *const names[] = {
		"a b", "a%b", "a%", "a_b", "ab", "a", "a\x7f", "a\x80", "a\xc3\xa9",
		"a\xff", "a\xff\xff", "a\xff\xff\x7a", "a\xff\x62", "b", "\xff", "\xff\xff",
		"\xff\xfe", "\x80 %", " lead", "%%", "dir/x y.txt", "dir/\xe2\x82\xac",
		"\x01", "\x01\xff",
	};
	static const char *const prefixes[] = {
		"a\xff", "\xff", "\xff\xff", "a%", "a_", "a", "a ", "dir/", "\x01\xff", "zz", "",
	};
	size_t n = ARRAY_SIZE(names), i;
	static const uint32_t ids[] = { 5 };
	char *sorted[ARRAY_SIZE(names)];
	struct collect c = { 0 };
	struct meta_file g = { .chunks = NULL };
	struct meta *m;
	bool ok = true, more;
	char name[80];

	m = open_db("bytes.db");
	if (!m)
		return;
	for (i = 0; i < n; i++) {
		ok &= !put_ids(m, names[i], ids, 1, NULL, NULL);
		sorted[i] = (char *)names[i];
	}
	CHECK("bytes: put paths with spaces, %, _, 0x01, 0x7f..0xff", ok);
	for (i = 0; ok && i < n; i++)
		ok = !meta_file_get(m, names[i], &g, false) && !strcmp(g.path, names[i]);
	CHECK("bytes: each path reads back as the same bytes", ok);
	CHECK("bytes: shared chunk counted once per file", db_refs(m, 5) == (int64_t)n);
	qsort(sorted, n, sizeof(*sorted), cmp_str);

	CHECK("bytes: list all is in byte order",
	      !meta_file_list(m, NULL, NULL, 1000, collect_cb, &c, &more) && !more &&
	      listed_is(&c, sorted, n, ""));
	collect_free(&c);
	for (i = 0; i < ARRAY_SIZE(prefixes); i++) {
		int k;

		snprintf(name, sizeof(name), "bytes: prefix \"");
		for (k = 0; prefixes[i][k]; k++)
			snprintf(name + strlen(name), sizeof(name) - strlen(name),
				 (unsigned char)prefixes[i][k] >= 0x7f ||
				 (unsigned char)prefixes[i][k] < 0x20 ? "\\x%02x" : "%c",
				 (unsigned char)prefixes[i][k]);
		snprintf(name + strlen(name), sizeof(name) - strlen(name),
			 "\" lists exactly its files");
		CHECK(name, !meta_file_list(m, prefixes[i], NULL, 1000, collect_cb, &c, &more) &&
		      !more && listed_is(&c, sorted, n, prefixes[i]));
		collect_free(&c);
	}

	CHECK("bytes: prefix ending in 0xff with the cursor inside it",
	      !meta_file_list(m, "a\xff", "a\xff\x62", 1000, collect_cb, &c, &more) &&
	      !more && c.n == 2 && !strcmp(c.paths[0], "a\xff\xff") &&
	      !strcmp(c.paths[1], "a\xff\xff\x7a"));
	collect_free(&c);
	CHECK("bytes: cursor before the prefix starts at the prefix",
	      !meta_file_list(m, "b", "a", 1000, collect_cb, &c, &more) &&
	      c.n == 1 && !strcmp(c.paths[0], "b"));
	collect_free(&c);
	CHECK("bytes: cursor past the prefix lists nothing",
	      !meta_file_list(m, "a", "a\xff\xff\xff", 1000, collect_cb, &c, &more) &&
	      c.n == 0 && !more);
	collect_free(&c);
	CHECK("bytes: the cursor is exclusive, even equal to the prefix",
	      !meta_file_list(m, "a", "a", 1000, collect_cb, &c, &more) &&
	      c.n > 0 && strcmp(c.paths[0], "a"));
	collect_free(&c);
	CHECK("bytes: limit 0 lists nothing but says more follow",
	      !meta_file_list(m, "", NULL, 0, collect_cb, &c, &more) && c.n == 0 && more);
	collect_free(&c);
	c.stop_after = 3;
	CHECK("bytes: a callback's non-zero stops the walk and is returned",
	      meta_file_list(m, "", NULL, 1000, collect_cb, &c, &more) == 7 && c.n == 3 && more);
	collect_free(&c);
	meta_close(m);
}

static void test_paging(void)
{
	enum { NFILES = 2500 };
	static const uint32_t ids[] = { 7, 8 };
	char **all = calloc(NFILES, sizeof(*all));
	struct collect c = { 0 };
	struct meta *m;
	bool ok = true, more_ok;
	int i, pages, err;
	char path[64];

	m = open_db("paging.db");
	if (!m || !all) {
		free(all);
		meta_close(m);
		return;
	}
	/*
	 * Names whose byte order differs from insertion order and from any
	 * locale's, with high bytes and a directory prefix for some.
	 */
	for (i = 0; i < NFILES; i++) {
		unsigned int h = (unsigned int)i * 2654435761u;

		snprintf(path, sizeof(path), "%s%c%08x-%d", i % 3 ? "d/" : "",
			 (char)(0x41 + (h >> 28) * 12), h, i);
		all[i] = strdup(path);
	}
	/* An fsync per commit is not what this tests: it would only make it slow. */
	if (!on_pg)
		sqlite3_exec(sq_db(m), "PRAGMA synchronous=OFF", NULL, NULL, NULL);
	for (i = 0; i < NFILES; i++)
		ok &= !put_ids(m, all[i], ids, 2, NULL, NULL);
	if (!on_pg)
		sqlite3_exec(sq_db(m), "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	CHECK("paging: 2500 files in", ok);
	qsort(all, NFILES, sizeof(*all), cmp_str);

	err = list_paged(m, "", 97, &c, &pages, &more_ok);
	CHECK("paging: all 2500, 97 a page, every file once in byte order",
	      !err && c.n == NFILES && listed_is(&c, all, NFILES, ""));
	CHECK("paging: more set on every page but the last", more_ok && pages == 26);
	collect_free(&c);

	err = list_paged(m, "d/", 100, &c, &pages, &more_ok);
	CHECK("paging: under a prefix, every file once in byte order",
	      !err && c.n == NFILES - (NFILES + 2) / 3 && listed_is(&c, all, NFILES, "d/") &&
	      more_ok);
	collect_free(&c);

	err = list_paged(m, "", 2500, &c, &pages, &more_ok);
	CHECK("paging: a limit of exactly the count is one page without more",
	      !err && c.n == NFILES && pages == 1 && more_ok);
	collect_free(&c);
	err = list_paged(m, "", 1, &c, &pages, &more_ok);
	CHECK("paging: one at a time", !err && c.n == NFILES && pages == NFILES &&
	      listed_is(&c, all, NFILES, "") && more_ok);
	collect_free(&c);

	CHECK("paging: refs of the shared chunks count every file",
	      db_refs(m, 7) == NFILES && db_refs(m, 8) == NFILES);
	for (i = 0; i < NFILES; i++)
		free(all[i]);
	free(all);
	meta_close(m);
}

/* ---- a model ------------------------------------------------------------- */

#define MODEL_FILES 40
#define MODEL_CHUNKS 60

struct model {
	bool present[MODEL_FILES];
	uint32_t n[MODEL_FILES];
	uint32_t ids[MODEL_FILES][MAXCH];
};

static void model_path(char *buf, size_t size, int i)
{
	snprintf(buf, size, "m/%c%d", 'a' + i % 7, i);
}

/* Each chunk's reference count in the model. */
static void model_refs(const struct model *md, uint32_t refs[MODEL_CHUNKS])
{
	uint32_t k;
	int i;

	memset(refs, 0, MODEL_CHUNKS * sizeof(*refs));
	for (i = 0; i < MODEL_FILES; i++)
		for (k = 0; md->present[i] && k < md->n[i]; k++)
			refs[md->ids[i][k]]++;
}

static void model_stats(const struct model *md, struct meta_stats *st)
{
	uint32_t refs[MODEL_CHUNKS], k;
	int i;

	memset(st, 0, sizeof(*st));
	model_refs(md, refs);
	for (i = 0; i < MODEL_FILES; i++) {
		if (!md->present[i])
			continue;
		st->files++;
		for (k = 0; k < md->n[i]; k++)
			st->logical_bytes += csize(md->ids[i][k]);
	}
	for (k = 0; k < MODEL_CHUNKS; k++) {
		if (refs[k]) {
			st->chunks++;
			st->stored_bytes += csize(k);
		}
	}
}

struct walk {
	uint32_t seen[MODEL_CHUNKS];
	int bad;
	int calls;
};

static int walk_cb(const uint8_t id[META_ID_LEN], uint32_t size, void *arg)
{
	struct walk *w = arg;
	uint8_t want[META_ID_LEN];
	uint32_t n = idnum(id);

	w->calls++;
	mkid(n, want);
	if (n >= MODEL_CHUNKS || memcmp(id, want, META_ID_LEN) || size != csize(n))
		w->bad++;
	else
		w->seen[n]++;
	return 0;
}

static int stop_cb(const uint8_t id[META_ID_LEN], uint32_t size, void *arg)
{
	(void)id;
	(void)size;
	return ++*(int *)arg == 2 ? -42 : 0;
}

static int reenter_cb(const uint8_t id[META_ID_LEN], uint32_t size, void *arg)
{
	struct meta_stats st;

	(void)id;
	(void)size;
	return meta_stats(arg, &st);
}

static int reenter_get_cb(const uint8_t id[META_ID_LEN], uint32_t size, void *arg)
{
	(void)size;
	return meta_chunk_get(arg, id, NULL);
}

static void test_model(void)
{
	struct meta_stats want, got;
	uint32_t refs[MODEL_CHUNKS], i, k, sz;
	struct model md = { 0 };
	unsigned int seed = 12345;
	struct walk w = { 0 };
	uint8_t id[META_ID_LEN];
	bool ok = true, replaced, refs_ok = true, known_ok = true;
	struct meta *m;
	char path[32], *before;
	int op, j, calls;

	m = open_db("model.db");
	if (!m)
		return;
	CHECK("stats: an empty database is all zero",
	      !meta_stats(m, &got) && !got.files && !got.logical_bytes && !got.chunks &&
	      !got.stored_bytes);

	for (op = 0; op < 400; op++) {
		j = rand_r(&seed) % MODEL_FILES;
		model_path(path, sizeof(path), j);
		if (rand_r(&seed) % 4 == 0) {
			int err = meta_file_delete(m, path, NULL);

			ok &= md.present[j] ? !err : err == -ENOENT;
			md.present[j] = false;
		} else {
			uint32_t n = rand_r(&seed) % 6, ids[MAXCH];

			for (i = 0; i < n; i++)
				ids[i] = rand_r(&seed) % MODEL_CHUNKS;
			ok &= !put_ids(m, path, ids, n, NULL, &replaced) &&
			      replaced == md.present[j];
			md.present[j] = true;
			md.n[j] = n;
			memcpy(md.ids[j], ids, n * sizeof(*ids));
		}
		if (op % 50 == 49) {
			model_refs(&md, refs);
			for (k = 0; k < MODEL_CHUNKS; k++)
				refs_ok &= db_refs(m, k) == refs[k];
		}
	}
	CHECK("model: 400 random puts and deletes succeed as expected", ok);
	CHECK("model: refs agree with the model along the way", refs_ok);
	model_stats(&md, &want);
	CHECK("stats: equal the model's numbers",
	      !meta_stats(m, &got) && got.files == want.files &&
	      got.logical_bytes == want.logical_bytes && got.chunks == want.chunks &&
	      got.stored_bytes == want.stored_bytes);

	model_refs(&md, refs);
	for (k = 0; k < MODEL_CHUNKS; k++) {
		mkid(k, id);
		sz = 0;
		known_ok &= meta_chunk_known(m, id, &sz) == !!refs[k] &&
			    (!refs[k] || sz == csize(k));
	}
	CHECK("chunk known: agrees with the model for every chunk", known_ok);
	ok = !meta_chunk_foreach(m, walk_cb, &w) && !w.bad;
	for (k = 0; k < MODEL_CHUNKS; k++)
		ok &= w.seen[k] == (refs[k] ? 1 : 0);
	CHECK("chunk foreach: each referenced chunk once with its size, nothing else", ok);
	calls = 0;
	CHECK("chunk foreach: a callback's non-zero stops it and is returned",
	      meta_chunk_foreach(m, stop_cb, &calls) == -42 && calls == 2);
	CHECK("chunk foreach: a callback calling meta gets -EDEADLK, not a hang",
	      meta_chunk_foreach(m, reenter_cb, m) == -EDEADLK);
	CHECK("chunk get: a lookup that cannot be made is an error, not -ENOENT",
	      meta_chunk_foreach(m, reenter_get_cb, m) == -EDEADLK);
	CHECK("chunk foreach: meta works after that", !meta_stats(m, &got));

	/* Closing and opening again: same content, same numbers. */
	before = snapshot(m);
	meta_close(m);
	m = open_db("model.db");
	if (!m) {
		free(before);
		return;
	}
	CHECK("reopen: the database holds the same content", same_snapshot(m, before));
	CHECK("reopen: stats equal the model's numbers",
	      !meta_stats(m, &got) && got.files == want.files &&
	      got.logical_bytes == want.logical_bytes && got.chunks == want.chunks &&
	      got.stored_bytes == want.stored_bytes);
	for (j = 0, ok = true; j < MODEL_FILES; j++) {
		struct meta_file g = { .chunks = NULL };

		model_path(path, sizeof(path), j);
		if (!md.present[j]) {
			ok &= meta_file_get(m, path, &g, true) == -ENOENT;
			continue;
		}
		ok &= !meta_file_get(m, path, &g, true) && g.nchunks == md.n[j];
		for (k = 0; ok && k < md.n[j]; k++)
			ok &= idnum(g.chunks[k].id) == md.ids[j][k];
		meta_file_release(&g);
	}
	CHECK("reopen: every file's chunk list as the model has it", ok);
	free(before);
	meta_close(m);
}

static void test_version(void)
{
	struct meta *m = NULL;
	char path[128];
	sqlite3 *db;
	int v = -1;

	db_path(path, sizeof(path), "future.db");
	if (sqlite3_open(path, &db) == SQLITE_OK) {
		sqlite3_exec(db, "PRAGMA user_version = 5", NULL, NULL, NULL);
		sqlite3_close(db);
	}
	CHECK("version: a newer schema version is refused with -EPROTO",
	      meta_open(path, &m) == -EPROTO && !m);
	if (sqlite3_open(path, &db) == SQLITE_OK) {
		meta_pragma_int(db, "PRAGMA user_version", &v);
		sqlite3_close(db);
	}
	CHECK("version: the newer database is left as it was", v == 5);

	m = open_db("version.db");
	meta_close(m);
	db_path(path, sizeof(path), "version.db");
	v = -1;
	if (sqlite3_open(path, &db) == SQLITE_OK) {
		meta_pragma_int(db, "PRAGMA user_version", &v);
		sqlite3_close(db);
	}
	CHECK("version: a new database gets version 4", v == 4);

	db_path(path, sizeof(path), "junk.db");
	{
		FILE *f = fopen(path, "w");

		if (f) {
			fputs("this is not an SQLite database, not even close to one........"
			      "................................................................",
			      f);
			fclose(f);
		}
	}
	m = NULL;
	CHECK("open: a file that is not a database is -EIO", meta_open(path, &m) == -EIO && !m);
	db_path(path, sizeof(path), "no/such/dir/x.db");
	CHECK("open: a directory that does not exist fails", meta_open(path, &m) < 0 && !m);
}

/*
 * A database as dgfsd with schema version 1 left it (no keys table), with a
 * file in it: opening it upgrades it to version 2 in place, the file kept.
 */
static void test_upgrade(void)
{
	struct meta_file f = { .chunks = NULL };
	struct meta_key k = { .scope = META_SCOPE_READ };
	struct meta *m = NULL;
	uint8_t id[META_ID_LEN];
	sqlite3_stmt *st;
	char path[128];
	sqlite3 *db;
	int v = -1, ok = 0;

	db_path(path, sizeof(path), "v1.db");
	mkid(7, id);
	if (sqlite3_open(path, &db) == SQLITE_OK) {
		ok = sqlite3_exec(db, meta_schema, NULL, NULL, NULL) == SQLITE_OK &&
		     sqlite3_exec(db, "PRAGMA user_version = 1; "
				  "INSERT INTO files VALUES (1, CAST('old/f' AS BLOB), 1000, "
				  "'ab', 5, 'text/plain', 1)", NULL, NULL, NULL) == SQLITE_OK &&
		     sqlite3_prepare_v2(db, "INSERT INTO chunks VALUES (?1, 1000, 1); "
					"", -1, &st, NULL) == SQLITE_OK;
		if (ok) {
			sqlite3_bind_blob(st, 1, id, META_ID_LEN, SQLITE_STATIC);
			ok = sqlite3_step(st) == SQLITE_DONE;
			sqlite3_finalize(st);
		}
		if (ok && sqlite3_prepare_v2(db, "INSERT INTO file_chunks VALUES (1, 0, ?1, 0, 1000)",
					     -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_blob(st, 1, id, META_ID_LEN, SQLITE_STATIC);
			ok = sqlite3_step(st) == SQLITE_DONE;
			sqlite3_finalize(st);
		}
		sqlite3_close(db);
	}
	CHECK("upgrade: a version 1 database with a file is made", ok);
	m = open_db("v1.db");
	if (!m)
		return;
	CHECK("upgrade: its file is still there, with its chunk",
	      !meta_file_get(m, "old/f", &f, true) && f.size == 1000 && f.nchunks == 1 &&
	      idnum(f.chunks[0].id) == 7);
	meta_file_release(&f);
	CHECK("upgrade: keys can be added", !meta_key_add(m, &k, false) && k.id == 1);
	meta_close(m);
	if (sqlite3_open(path, &db) == SQLITE_OK) {
		meta_pragma_int(db, "PRAGMA user_version", &v);
		sqlite3_close(db);
	}
	CHECK("upgrade: the database is version 4 now", v == 4);
}

/* The number of rows @sql (one count) finds in @m's database, or -1. */
static int64_t count_rows(struct meta *m, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	if (sqlite3_prepare_v2(sq_db(m), sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * A database as dgfsd with schema version 2 left it (files and keys, no
 * tags), made with version 2's own SQL: opening it upgrades it to version
 * 3 in place, its file and its key kept, and the tag tables work,
 * term_df's triggers and file_text's among them.
 */
static void test_upgrade_v2(void)
{
	struct meta_file f = { .chunks = NULL };
	struct meta_key k;
	struct meta *m = NULL;
	char path[128];
	sqlite3 *db;
	int v = -1, ok = 0;

	db_path(path, sizeof(path), "v2.db");
	if (sqlite3_open(path, &db) == SQLITE_OK) {
		ok = sqlite3_exec(db, meta_schema, NULL, NULL, NULL) == SQLITE_OK &&
		     sqlite3_exec(db, meta_schema_v2, NULL, NULL, NULL) == SQLITE_OK &&
		     sqlite3_exec(db, "PRAGMA user_version = 2; "
				  "INSERT INTO files VALUES (5, CAST('docs/a' AS BLOB), 0, "
				  "'cd', 9, 'text/plain', 0); "
				  "INSERT INTO keys (hash, scope, prefix, name, created) VALUES "
				  "(zeroblob(32), 'write', CAST('docs/' AS BLOB), 'old key', 77)",
				  NULL, NULL, NULL) == SQLITE_OK;
		sqlite3_close(db);
	}
	CHECK("upgrade v2: a version 2 database with a file and a key is made", ok);
	m = open_db("v2.db");
	if (!m)
		return;
	CHECK("upgrade v2: its file is still there",
	      !meta_file_get(m, "docs/a", &f, true) && f.size == 0 && f.mtime == 9 &&
	      !strcmp(f.etag, "cd"));
	meta_file_release(&f);
	CHECK("upgrade v2: its key is still there",
	      !meta_key_get(m, 1, &k) && k.scope == META_SCOPE_WRITE &&
	      !strcmp(k.prefix, "docs/") && !strcmp(k.name, "old key") && k.created == 77);
	ok = sqlite3_exec(sq_db(m),
			  "INSERT INTO tags (id, name, value) VALUES (1, 'cat', ''); "
			  "INSERT INTO file_tags VALUES (5, 1, 1); "
			  "INSERT INTO file_terms VALUES (5, 'cat', 3), (5, 'dog', 1); "
			  "INSERT INTO file_text (rowid, text) VALUES (5, 'the cat sat'); "
			  "INSERT INTO tag_jobs (file_id, queued) VALUES (5, 1)",
			  NULL, NULL, NULL) == SQLITE_OK;
	CHECK("upgrade v2: the tag tables take rows", ok);
	CHECK("upgrade v2: term_df counts the file's terms",
	      count_rows(m, "SELECT sum(df) FROM term_df WHERE term IN ('cat', 'dog')") == 2);
	CHECK("upgrade v2: term_df('') counts one file with terms",
	      count_rows(m, "SELECT df FROM term_df WHERE term = ''") == 1);
	CHECK("upgrade v2: file_text finds the text",
	      count_rows(m, "SELECT count(*) FROM file_text WHERE file_text MATCH 'cat'") == 1);
	CHECK("upgrade v2: deleting the file drops its tags, terms, text and job",
	      !meta_file_delete(m, "docs/a", NULL) &&
	      count_rows(m, "SELECT count(*) FROM file_tags") == 0 &&
	      count_rows(m, "SELECT count(*) FROM file_terms") == 0 &&
	      count_rows(m, "SELECT count(*) FROM term_df") == 0 &&
	      count_rows(m, "SELECT count(*) FROM file_text WHERE file_text MATCH 'cat'") == 0 &&
	      count_rows(m, "SELECT count(*) FROM tag_jobs") == 0);
	meta_close(m);
	if (sqlite3_open(path, &db) == SQLITE_OK) {
		meta_pragma_int(db, "PRAGMA user_version", &v);
		sqlite3_close(db);
	}
	CHECK("upgrade v2: the database is version 4 now", v == 4);
}

static int count_key(const struct meta_key *k, void *arg)
{
	int64_t *ids = arg;

	ids[ids[0] < 8 ? ++ids[0] : 0] = k->id;
	return 0;
}

static void test_keys(void)
{
	struct meta_key *k = calloc(1, sizeof(*k)), *g = calloc(1, sizeof(*g));
	uint8_t id[META_ID_LEN], other[META_ID_LEN];
	int64_t ids[9] = { 0 };
	struct meta *m = open_db("keys.db");

	if (!m || !k || !g)
		goto out;
	memset(k->hash, 0xab, sizeof(k->hash));
	k->scope = META_SCOPE_ADMIN;
	snprintf(k->name, sizeof(k->name), "first");
	k->created = 1000;
	CHECK("keys: the first-start key goes into an empty table",
	      !meta_key_add(m, k, true) && k->id == 1);
	CHECK("keys: a second first-start key is refused with -EEXIST",
	      meta_key_add(m, k, true) == -EEXIST);
	k->scope = META_SCOPE_READ;
	snprintf(k->prefix, sizeof(k->prefix), "a/b/");
	snprintf(k->name, sizeof(k->name), "reader");
	CHECK("keys: another key gets id 2", !meta_key_add(m, k, false) && k->id == 2);
	CHECK("keys: get returns what was stored",
	      !meta_key_get(m, 2, g) && g->id == 2 && g->scope == META_SCOPE_READ &&
	      !strcmp(g->prefix, "a/b/") && !strcmp(g->name, "reader") && g->created == 1000 &&
	      !g->revoked && !memcmp(g->hash, k->hash, sizeof(g->hash)));
	CHECK("keys: an unknown id is -ENOENT", meta_key_get(m, 99, g) == -ENOENT);
	k->scope = 0;
	CHECK("keys: a key without a scope is refused", meta_key_add(m, k, false) == -EINVAL);
	k->scope = 4;
	CHECK("keys: a key with an unknown scope is refused", meta_key_add(m, k, false) == -EINVAL);
	CHECK("keys: revoke", !meta_key_revoke(m, 2, 2000));
	CHECK("keys: a revoked key reads as revoked, with its time",
	      !meta_key_get(m, 2, g) && g->revoked == 2000);
	CHECK("keys: revoking it again is -EALREADY", meta_key_revoke(m, 2, 3000) == -EALREADY);
	CHECK("keys: revoking an unknown key is -ENOENT", meta_key_revoke(m, 42, 3000) == -ENOENT);
	CHECK("keys: delete", !meta_key_delete(m, 2) && meta_key_get(m, 2, g) == -ENOENT);
	k->scope = META_SCOPE_WRITE;
	CHECK("keys: ids are not given twice (AUTOINCREMENT)",
	      !meta_key_add(m, k, false) && k->id == 3);
	CHECK("keys: list walks every key in id order",
	      !meta_key_list(m, count_key, ids) && ids[0] == 2 && ids[1] == 1 && ids[2] == 3);
	mkid(10, id);
	CHECK("keys: the scope names go both ways",
	      !strcmp(meta_scope_name(META_SCOPE_WRITE), "write") &&
	      !meta_scope_parse("admin", &k->scope) && k->scope == META_SCOPE_ADMIN &&
	      meta_scope_parse("root", &k->scope) == -EINVAL &&
	      meta_scope_parse(NULL, &k->scope) == -EINVAL);

	/* Chunks under a prefix: files "p/x" lists chunks 10 and 11, "q" lists 11. */
	CHECK("chunk under: put p/x", !put_ids(m, "p/x", (uint32_t[]){ 10, 11 }, 2, NULL, NULL));
	CHECK("chunk under: put q", !put_ids(m, "q", (uint32_t[]){ 11 }, 1, NULL, NULL));
	CHECK("chunk under: chunk 10 is under p/", meta_chunk_under(m, id, "p/") == 1);
	CHECK("chunk under: ... and under \"\"", meta_chunk_under(m, id, "") == 1);
	CHECK("chunk under: ... not under q/", meta_chunk_under(m, id, "q/") == 0);
	CHECK("chunk under: ... not under pp/", meta_chunk_under(m, id, "pp/") == 0);
	mkid(11, other);
	CHECK("chunk under: chunk 11 is under q (file q)", meta_chunk_under(m, other, "q") == 1);
	mkid(12, other);
	CHECK("chunk under: an unknown chunk is under nothing", meta_chunk_under(m, other, "") == 0);
out:
	free(k);
	free(g);
	meta_close(m);
}

/* ---- failures midway ----------------------------------------------------- */

/*
 * PostgreSQL: the server ends the backend's session (as a restart would)
 * just before a put: the put fails with -EIO and changes nothing; the
 * next call connects again and works.
 */
static void test_atomic_pg_lost(struct meta *m, const char *before, struct meta_idlist *freed)
{
	static const uint32_t f3[] = { 46, 47 };
	char sql[96];

	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)",
		 PQbackendPID(to_pg(m)->conn));
	CHECK("atomic: the server ends the backend's session", !peek_exec(sql));
	CHECK("atomic: a put on the lost connection is -EIO and changes nothing",
	      put_ids(m, "h", f3, 2, freed, NULL) == -EIO && same_snapshot(m, before) &&
	      freed->n == 1);
	CHECK("atomic: the next call connects again",
	      meta_chunk_get(m, (uint8_t[META_ID_LEN]){ 0 }, NULL) == -ENOENT &&
	      PQstatus(to_pg(m)->conn) == CONNECTION_OK);

	/*
	 * The server ends a put to break a deadlock (as it would between two
	 * writers): the put runs again and succeeds, once. A sequence counts
	 * the tries, since a rolled back transaction keeps no row.
	 */
	peek_exec("CREATE SEQUENCE tries; "
		  "CREATE FUNCTION deadlock_once() RETURNS trigger LANGUAGE plpgsql AS "
		  "$$BEGIN IF nextval('tries') = 1 THEN RAISE EXCEPTION 'test: deadlock' "
		  "USING ERRCODE = 'deadlock_detected'; END IF; RETURN NEW; END$$; "
		  "CREATE TRIGGER deadlock_once BEFORE INSERT ON file_chunks "
		  "FOR EACH ROW WHEN (NEW.idx = 0) EXECUTE FUNCTION deadlock_once()");
	CHECK("atomic: a put the server ends for a deadlock runs again and succeeds",
	      !put_ids(m, "h", f3, 2, freed, NULL) && freed->n == 1 &&
	      db_int(m, "SELECT last_value FROM tries") == 2 && db_refs(m, 46) == 1 &&
	      db_int(m, "SELECT count(*) FROM file_chunks") == 5);
	peek_exec("DROP TRIGGER deadlock_once ON file_chunks; DROP SEQUENCE tries");
	CHECK("atomic: ... and a delete of it works", !meta_file_delete(m, "h", freed) &&
	      db_refs(m, 46) == 0 && freed_is(freed, 1, f3, 2));
	freed->n = 1;
}

static void test_atomic(void)
{
	static const uint32_t f1[] = { 40, 41 }, f2[] = { 43, 44, 45 };
	static const uint32_t fr41[] = { 41 };
	uint8_t sentinel[META_ID_LEN];
	struct meta_idlist freed = { 0 };
	struct meta_chunk c[MAXCH];
	struct meta_file f, g = { .chunks = NULL };
	bool replaced = false;
	char *before;
	struct meta *m;
	int err, i;

	m = open_db("atomic.db");
	if (!m)
		return;
	put_ids(m, "f", f1, 2, NULL, NULL);
	put_ids(m, "other", f1, 1, NULL, NULL);
	memset(sentinel, 0xee, sizeof(sentinel));
	meta_idlist_add(&freed, sentinel);
	before = snapshot(m);

	/* The third chunk conflicts with a known one: refs were already raised for two. */
	mkfile(&f, c, "f", f2, 3);
	mkid(40, c[2].id);
	err = meta_file_put(m, &f, &freed, &replaced);
	CHECK("atomic: a chunk conflicting midway fails with -EINVAL",
	      err == -EINVAL && !replaced);
	CHECK("atomic: ... and changes nothing", same_snapshot(m, before) && freed.n == 1);

	/*
	 * A trigger fails the insert of the new list's second entry: by then
	 * the old version's chunks were unreferenced, reaped into freed and
	 * its row rewritten.
	 */
	if (on_pg)
		pg_inject("fail_fc", "file_chunks", "INSERT", "NEW.idx = 1");
	else
		sqlite3_exec(sq_db(m),
			     "CREATE TEMP TRIGGER fail_fc BEFORE INSERT ON main.file_chunks "
			     "WHEN NEW.idx = 1 BEGIN SELECT RAISE(ABORT, 'test: injected failure'); END",
			     NULL, NULL, NULL);
	err = put_ids(m, "f", f2, 3, &freed, &replaced);
	CHECK("atomic: a put failing at its last step is -EIO", err == -EIO && !replaced);
	CHECK("atomic: ... changes nothing", same_snapshot(m, before));
	CHECK("atomic: ... and leaves freed as it was",
	      freed.n == 1 && !memcmp(freed.ids[0], sentinel, META_ID_LEN));
	CHECK("atomic: ... and the old version still reads back",
	      !meta_file_get(m, "f", &g, true) && g.nchunks == 2 &&
	      idnum(g.chunks[0].id) == 40 && idnum(g.chunks[1].id) == 41);
	meta_file_release(&g);
	err = put_ids(m, "g", f2, 3, &freed, &replaced);
	CHECK("atomic: a failing new file is not created",
	      err == -EIO && meta_file_get(m, "g", &g, false) == -ENOENT &&
	      same_snapshot(m, before) && freed.n == 1);
	if (on_pg) {
		pg_inject("fail_fc", "file_chunks", NULL, NULL);
		pg_inject("fail_del", "files", "DELETE", "true");
	} else {
		sqlite3_exec(sq_db(m), "DROP TRIGGER fail_fc", NULL, NULL, NULL);
		sqlite3_exec(sq_db(m),
			     "CREATE TEMP TRIGGER fail_del BEFORE DELETE ON main.files "
			     "BEGIN SELECT RAISE(ABORT, 'test: injected failure'); END",
			     NULL, NULL, NULL);
	}
	err = meta_file_delete(m, "f", &freed);
	CHECK("atomic: a delete failing at its last step is -EIO, changes nothing",
	      err == -EIO && same_snapshot(m, before) && freed.n == 1);
	if (on_pg)
		pg_inject("fail_del", "files", NULL, NULL);
	else
		sqlite3_exec(sq_db(m), "DROP TRIGGER fail_del", NULL, NULL, NULL);

	if (on_pg) {
		test_atomic_pg_lost(m, before, &freed);
		goto again;
	}

	/*
	 * A full database: no page may be added, so a put that needs new
	 * pages fails with SQLITE_FULL, which SQLite answers by rolling back
	 * on its own.
	 */
	sqlite3_exec(sq_db(m), "PRAGMA max_page_count = 1", NULL, NULL, NULL);
	{
		static uint32_t many[MAXCH];
		char big[META_PATH_MAX + 1];

		for (i = 0; i < MAXCH; i++)
			many[i] = 1000 + i;
		memset(big, 'B', META_PATH_MAX);
		big[META_PATH_MAX] = 0;
		for (i = 0, err = 0; i < 40 && !err; i++) {
			big[0] = 'A' + i;
			err = put_ids(m, big, many, MAXCH, &freed, NULL);
			if (!err) {
				/* It fitted in a page's free space: keep it, add more. */
				free(before);
				before = snapshot(m);
			}
		}
	}
	CHECK("atomic: a full database is -ENOSPC", err == -ENOSPC);
	CHECK("atomic: ... and changes nothing", same_snapshot(m, before) && freed.n == 1);
	sqlite3_exec(sq_db(m), "PRAGMA max_page_count = 1073741823", NULL, NULL, NULL);

again:
	err = put_ids(m, "f", f2, 3, &freed, &replaced);
	CHECK("atomic: the same put works once the failure is gone",
	      !err && replaced && db_refs(m, 40) == 1 && db_refs(m, 41) == 0 &&
	      db_refs(m, 43) == 1);
	CHECK("atomic: ... and frees only the chunk no other file holds",
	      freed_is(&freed, 1, fr41, 1) &&
	      !memcmp(freed.ids[0], sentinel, META_ID_LEN));
	free(before);
	meta_idlist_free(&freed);
	meta_close(m);
}

/* ---- threads ------------------------------------------------------------- */

#define THREADS 4
#define THREAD_FILES 16
#define THREAD_OPS 300
#define THREAD_CHUNKS 24

struct worker {
	pthread_t tid;
	struct meta *m;
	int t;
	int errors;
	bool present[THREAD_FILES];
	uint32_t n[THREAD_FILES];
	uint32_t ids[THREAD_FILES][MAXCH];
	struct meta_idlist freed;
};

static void worker_path(char *buf, size_t size, int t, int i)
{
	snprintf(buf, size, "t%d/\xf0%02d", t, i);
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	unsigned int seed = 777 + w->t;
	bool replaced;
	char path[32];
	int op, j, err;
	uint32_t i;

	for (op = 0; op < THREAD_OPS; op++) {
		j = rand_r(&seed) % THREAD_FILES;
		worker_path(path, sizeof(path), w->t, j);
		if (rand_r(&seed) % 3 == 0) {
			err = meta_file_delete(w->m, path, &w->freed);
			if (w->present[j] ? err : err != -ENOENT)
				w->errors++;
			w->present[j] = false;
		} else {
			uint32_t n = 1 + rand_r(&seed) % 5, ids[MAXCH];

			for (i = 0; i < n; i++)
				ids[i] = rand_r(&seed) % THREAD_CHUNKS;
			err = put_ids(w->m, path, ids, n, &w->freed, &replaced);
			if (err || replaced != w->present[j])
				w->errors++;
			w->present[j] = true;
			w->n[j] = n;
			memcpy(w->ids[j], ids, n * sizeof(*ids));
		}
	}
	return NULL;
}

/*
 * Four threads changing files at once: through one struct meta (one
 * connection, calls one at a time), or with @own_conn each through its
 * own (as several dgfsd would: the database orders them, and on
 * PostgreSQL transactions really overlap).
 */
#define TCHECK(name, cond) do {						\
	char name_[160];						\
									\
	snprintf(name_, sizeof(name_), "threads%s: %s",			\
		 own_conn ? " (a connection each)" : "", name);		\
	CHECK(name_, cond);						\
} while (0)

static void test_threads(bool own_conn)
{
	static struct worker w[THREADS];
	uint32_t want[THREAD_CHUNKS] = { 0 }, got[THREAD_CHUNKS] = { 0 };
	struct collect c = { 0 };
	struct walk wk = { 0 };
	bool ok = true, files_ok = true;
	int t, j, errors = 0, nfiles = 0, started = 0;
	struct meta *m;
	size_t i;
	uint32_t k;
	bool more;

	m = open_db(own_conn ? "threads_own.db" : "threads.db");
	if (!m)
		return;

	/* The threads' commits need not reach the disk for this test; each still commits. */
	if (!on_pg)
		sqlite3_exec(sq_db(m), "PRAGMA synchronous=OFF", NULL, NULL, NULL);
	for (t = 0; t < THREADS; t++) {
		memset(&w[t], 0, sizeof(w[t]));
		w[t].m = own_conn ? open_db("threads_own.db") : m;
		w[t].t = t;
		if (!w[t].m)
			ok = false;
		else if (own_conn && !on_pg)
			sqlite3_exec(sq_db(w[t].m), "PRAGMA synchronous=OFF", NULL, NULL, NULL);
	}
	for (started = 0; ok && started < THREADS; started++)
		if (pthread_create(&w[started].tid, NULL, worker_run, &w[started]))
			break;
	ok &= started == THREADS;
	for (t = 0; t < started; t++)
		pthread_join(w[t].tid, NULL);
	for (t = 0; own_conn && t < THREADS; t++)
		meta_close(w[t].m);
	if (!on_pg)
		sqlite3_exec(sq_db(m), "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	for (t = 0; t < THREADS; t++)
		errors += w[t].errors;
	TCHECK("4 x 300 puts and deletes, each as its thread expected", ok && !errors);

	/* What the threads' own records say must be there. */
	for (t = 0; t < THREADS; t++) {
		for (j = 0; j < THREAD_FILES; j++) {
			struct meta_file g = { .chunks = NULL };
			char path[32];

			if (!w[t].present[j])
				continue;
			nfiles++;
			worker_path(path, sizeof(path), t, j);
			files_ok &= !meta_file_get(m, path, &g, true) && g.nchunks == w[t].n[j];
			for (k = 0; files_ok && k < g.nchunks; k++)
				files_ok &= idnum(g.chunks[k].id) == w[t].ids[j][k];
			meta_file_release(&g);
			for (k = 0; k < w[t].n[j]; k++)
				want[w[t].ids[j][k]]++;
		}
	}
	TCHECK("every remaining file has the chunk list its thread put last", files_ok);
	TCHECK("no other files",
	      !meta_file_list(m, "", NULL, 1000, collect_cb, &c, &more) && !more &&
	      c.n == (size_t)nfiles);

	/* Refs in the database against the references of the files listed from it. */
	for (i = 0; i < c.n; i++) {
		struct meta_file g = { .chunks = NULL };

		if (meta_file_get(m, c.paths[i], &g, true)) {
			ok = false;
			continue;
		}
		for (k = 0; k < g.nchunks; k++)
			got[idnum(g.chunks[k].id) % THREAD_CHUNKS]++;
		meta_file_release(&g);
	}
	collect_free(&c);
	for (k = 0; k < THREAD_CHUNKS; k++)
		ok &= got[k] == want[k] && db_refs(m, k) == want[k];
	{
		uint32_t total = 0, distinct = 0;

		for (k = 0; k < THREAD_CHUNKS; k++) {
			total += want[k];
			distinct += !!want[k];
		}
		ok &= db_int(m, "SELECT count(*) FROM chunks") == distinct &&
		      db_int(m, "SELECT coalesce(sum(refs), 0) FROM chunks") == total &&
		      db_int(m, "SELECT coalesce(min(refs), 1) FROM chunks") >= 1;
	}
	TCHECK("refs equal the references counted over the remaining files", ok);

	ok = !meta_chunk_foreach(m, walk_cb, &wk);
	for (k = 0; k < THREAD_CHUNKS; k++)
		ok &= wk.seen[k] == !!want[k];
	TCHECK("foreach walks exactly the referenced chunks", ok);

	ok = true;
	for (t = 0; t < THREADS; t++)
		for (i = 0; i < w[t].freed.n; i++)
			ok &= idnum(w[t].freed.ids[i]) < THREAD_CHUNKS;
	TCHECK("freed lists hold only the threads' chunk ids", ok);
	for (t = 0; t < THREADS; t++)
		meta_idlist_free(&w[t].freed);
	meta_close(m);
}

/*
 * meta_run() without write on a reader of its own (SQLite, WAL): a search
 * runs while a commit holds the writer's lock, and sees the last commit.
 * The writer waits at most 10 s to be let go: a read that queued behind
 * its lock returns only after that, and the first check fails.
 */
struct holder {
	struct meta *m;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state;		/* 0 starting, 1 inside the write, 2 let go, 3 gave up */
	int err;
};

static int holder_wait(struct holder *h, int until)
{
	struct timespec end;
	int err = 0;

	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += 10;
	while (h->state < until && err != ETIMEDOUT)
		err = pthread_cond_timedwait(&h->cv, &h->mu, &end);
	return h->state >= until ? 0 : -ETIMEDOUT;
}

static int hold_fn(sqlite3 *db, void *arg)
{
	struct holder *h = arg;
	int rc = sqlite3_exec(db, "INSERT INTO t_hold VALUES (1)", NULL, NULL, NULL);

	pthread_mutex_lock(&h->mu);
	h->state = 1;
	pthread_cond_broadcast(&h->cv);
	if (holder_wait(h, 2))
		h->state = 3;
	pthread_mutex_unlock(&h->mu);
	return rc == SQLITE_OK ? 0 : -EIO;
}

static void *holder_run(void *arg)
{
	struct holder *h = arg;

	h->err = meta_run(h->m, true, hold_fn, h);
	return NULL;
}

static int exec_fn(sqlite3 *db, void *arg)
{
	return sqlite3_exec(db, arg, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int count_fn(sqlite3 *db, void *arg)
{
	sqlite3_stmt *st;
	int64_t *n = arg;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM t_hold", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	*n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	return 0;
}

static void test_run_readers(void)
{
	struct holder h = { .state = 0 };
	int64_t during = -1, after = -1;
	bool inside, still = false;
	int err = -1, werr;
	pthread_t tid;

	h.m = open_db("run_readers.db");
	if (!h.m)
		return;
	pthread_mutex_init(&h.mu, NULL);
	pthread_cond_init(&h.cv, NULL);
	CHECK("readers: a table made in a write run",
	      !meta_run(h.m, true, exec_fn, "CREATE TABLE t_hold (x INTEGER)"));
	werr = pthread_create(&tid, NULL, holder_run, &h);
	pthread_mutex_lock(&h.mu);
	inside = !werr && !holder_wait(&h, 1);
	pthread_mutex_unlock(&h.mu);
	if (inside) {
		err = meta_run(h.m, false, count_fn, &during);
		pthread_mutex_lock(&h.mu);
		still = h.state == 1;
		h.state = h.state == 1 ? 2 : h.state;
		pthread_cond_broadcast(&h.cv);
		pthread_mutex_unlock(&h.mu);
	}
	if (!werr)
		pthread_join(tid, NULL);
	CHECK("readers: a read-only run returns while a write run holds the lock",
	      inside && !err && still);
	CHECK("readers: it sees the last commit, not the write in progress", during == 0);
	CHECK("readers: the write run commits once let go",
	      !werr && !h.err && !meta_run(h.m, false, count_fn, &after) && after == 1);
	CHECK("readers: a read-only run cannot write",
	      meta_run(h.m, false, exec_fn, "INSERT INTO t_hold VALUES (2)") == -EIO &&
	      !meta_run(h.m, false, count_fn, &after) && after == 1);
	pthread_cond_destroy(&h.cv);
	pthread_mutex_destroy(&h.mu);
	meta_close(h.m);
}

static void test_idlist(void)
{
	struct meta_idlist l = { 0 };
	uint8_t id[META_ID_LEN];
	bool ok = true;
	uint32_t i;

	for (i = 0; i < 1000; i++) {
		mkid(i, id);
		ok &= !meta_idlist_add(&l, id);
	}
	for (i = 0; i < 1000; i++)
		ok &= idnum(l.ids[i]) == i;
	CHECK("idlist: 1000 ids in order", ok && l.n == 1000 && l.cap >= 1000);
	meta_idlist_free(&l);
	CHECK("idlist: free empties it", !l.ids && !l.n && !l.cap);
	meta_idlist_free(NULL);
	meta_close(NULL);
	meta_file_release(NULL);
}

/* What both backends must do alike. */
/*
 * A file read, then replaced or deleted, reads as it is now: the files
 * the front keeps after a read (SQLite: meta/file_cache.c) are forgotten
 * at each put and delete of their path.
 */
static void test_reread(void)
{
	static const uint32_t v1[] = { 11, 12 }, v2[] = { 13 };
	struct meta_chunk c[MAXCH];
	struct meta_idlist freed = { 0 };
	struct meta_file f, g = { .chunks = NULL };
	struct meta *m;
	int i;

	m = open_db("reread.db");
	if (!m)
		return;
	mkfile(&f, c, "r/f", v1, 2);
	CHECK("reread: put version 1", !meta_file_put(m, &f, &freed, NULL));
	for (i = 0; i < 2; i++) {
		CHECK("reread: get version 1 (twice)", !meta_file_get(m, "r/f", &g, true) &&
		      g.nchunks == 2 && g.size == f.size && !memcmp(g.chunks[1].id, c[1].id, META_ID_LEN));
		meta_file_release(&g);
	}
	mkfile(&f, c, "r/f", v2, 1);
	snprintf(f.etag, sizeof(f.etag), "%064d", 2);
	CHECK("reread: put version 2", !meta_file_put(m, &f, &freed, NULL));
	CHECK("reread: get after the put is version 2, chunks and all",
	      !meta_file_get(m, "r/f", &g, true) && g.nchunks == 1 && g.size == f.size &&
	      !strcmp(g.etag, f.etag) && !memcmp(g.chunks[0].id, c[0].id, META_ID_LEN));
	meta_file_release(&g);
	CHECK("reread: ... also without its chunks",
	      !meta_file_get(m, "r/f", &g, false) && g.nchunks == 1 && !g.chunks &&
	      !strcmp(g.etag, f.etag));
	CHECK("reread: delete", !meta_file_delete(m, "r/f", &freed));
	CHECK("reread: get after the delete is -ENOENT", meta_file_get(m, "r/f", &g, true) == -ENOENT);
	meta_idlist_free(&freed);
	meta_close(m);
}

static void test_common(void)
{
	test_basic();
	test_reread();
	test_refcounts();
	test_invalid();
	test_bytes();
	test_paging();
	test_model();
	test_keys();
	test_atomic();
	test_threads(false);
	test_threads(true);
}

/*
 * PostgreSQL's schema versions (meta/pg_schema.c): a newer one is
 * refused and left as it was; a new one gets the latest; a server that is
 * not there is an error.
 */
static void test_pg_version(void)
{
	struct meta *m = NULL;
	char uri[256];

	if (!pg_use("future", uri, sizeof(uri)))
		peek_exec("CREATE TABLE schema_version (one boolean PRIMARY KEY DEFAULT true, "
			  "version integer NOT NULL); INSERT INTO schema_version VALUES (true, 9)");
	CHECK("version: a newer schema version is refused with -EPROTO",
	      meta_open(uri, &m) == -EPROTO && !m);
	CHECK("version: the newer database is left as it was",
	      db_int(NULL, "SELECT version FROM schema_version") == 9 &&
	      db_int(NULL, "SELECT count(*) FROM pg_tables WHERE schemaname = 't_future'") == 1);

	m = open_db("version");
	CHECK("version: a new database gets version 6 in schema_version",
	      m && db_int(m, "SELECT version FROM schema_version") == 6 &&
	      db_int(m, "SELECT count(*) FROM schema_version") == 1);
	meta_close(m);
	m = open_db("version");
	CHECK("version: opening it again keeps it at 6, one row",
	      m && db_int(m, "SELECT version FROM schema_version") == 6 &&
	      db_int(m, "SELECT count(*) FROM schema_version") == 1);
	meta_close(m);
	/*
	 * Version 2 (before chunk_copies, hosts.draining, the tag tables and
	 * hosts.tls), as a cluster ran it: upgraded in place, through 3, 4
	 * and 5 to 6.
	 */
	peek_exec("DROP TABLE chunk_copies, file_keyword_tags, file_keywords, file_text, term_df, "
		  "file_terms, tag_implies, file_tags_removed, file_tags, tags; "
		  "DROP FUNCTION dgfs_terms_added, dgfs_terms_dropped; "
		  "ALTER TABLE hosts DROP COLUMN draining, DROP COLUMN tls; "
		  "UPDATE schema_version SET version = 2");
	m = open_db("version");
	CHECK("version: a version 2 database gets chunk_copies, hosts.draining, the tag tables, "
	      "hosts.tls and version 6",
	      m && db_int(m, "SELECT version FROM schema_version") == 6 &&
	      db_int(m, "SELECT count(*) FROM pg_tables WHERE tablename IN ('chunk_copies', "
		     "'tags', 'file_text', 'term_df') AND schemaname = current_schema()") == 4 &&
	      db_int(m, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'hosts' "
		     "AND column_name IN ('draining', 'tls') AND table_schema = current_schema()") == 2);
	meta_close(m);

	m = NULL;
	snprintf(uri, sizeof(uri), "postgresql:///postgres?host=%s/nowhere&user=dgfs", pgs.dir);
	CHECK("open: a server that is not there is -EIO", meta_open(uri, &m) == -EIO && !m);
	snprintf(uri, sizeof(uri), "%s&user=nobody_here", pgs.uri_base);
	CHECK("open: a role the server does not know is -EIO", meta_open(uri, &m) == -EIO && !m);
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

int main(void)
{
	/* Line by line even into a pipe: a crash must not swallow the lines before it. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_meta.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		printf("FAIL: mkdtemp (%s:%d)\n", __FILE__, __LINE__);
		return 1;
	}
	test_idlist();
	test_common();
	test_version();
	test_upgrade();
	test_upgrade_v2();
	test_run_readers();
	CHECK("cleanup: temporary directory removed",
	      !nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS));

	/* The same again on PostgreSQL: a server that does not start is a failure. */
	check_prefix = "pg: ";
	on_pg = true;
	CHECK("a PostgreSQL server of our own starts (initdb, pg_ctl, unix socket only)",
	      !pg_server_start(&pgs));
	if (pgs.started) {
		pg_peek = PQconnectdb(pgs.uri_base);
		CHECK("the test's own connection to it",
		      PQstatus(pg_peek) == CONNECTION_OK);
		if (PQstatus(pg_peek) == CONNECTION_OK) {
			PQsetNoticeReceiver(pg_peek, pg_quiet, NULL);
			test_common();
			test_pg_version();
		}
		PQfinish(pg_peek);
	}
	CHECK("the server stops and its directory goes", !pg_server_stop(&pgs));
	return failures ? 1 : 0;
}
