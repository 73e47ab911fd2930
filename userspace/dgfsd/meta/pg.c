// SPDX-License-Identifier: GPL-2.0
/*
 * dgfsd's metadata (meta.h) on PostgreSQL through libpq: the backend for
 * clusters (backend.h). Its schema and migrations: meta/pg_schema.c.
 *
 * One connection, used by one call at a time (the front's lock). Every
 * statement is prepared once per connection; parameters go as text
 * (numbers) or binary (bytea), results come back binary, and every number
 * a statement returns is a bigint, so one decoder reads them all.
 *
 * The same rules as on SQLite (meta/sqlite.c): chunk rows are counted
 * references, a version's chunks are referenced before the old version's
 * are dropped (a shared chunk never reaches 0), and a change is one
 * transaction. Unlike SQLite, several dgfsd may write at once: a put or
 * delete first takes a transaction-level advisory lock on its path's
 * hash, so two changes of one path run one after the other (two paths
 * that collide merely wait for each other), and row locks order the
 * chunk counts: a change locks the existing chunk rows it will touch in
 * id order first, and adds rows in id order. Should two writers still
 * deadlock (a row another writer added meanwhile), PostgreSQL ends one of
 * them, which runs again (pg_change()).
 *
 * A connection that broke (the server restarted) is re-established at
 * the next call; the call that saw it break failed with -EIO and changed
 * nothing, since its transaction died with the connection.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pg_schema.h"
#include "dgfsd/pgq.h"

enum pg_stmt {
	PG_PATH_LOCK,
	PG_CHUNKS_LOCK,
	PG_FILE_ID,
	PG_FILE_GET,
	PG_FILE_CHUNKS,
	PG_CHUNK_REF,
	PG_CHUNK_UNREF,
	PG_CHUNK_REAP,
	PG_FC_DELETE,
	PG_FILE_UPSERT,
	PG_FC_INSERT,
	PG_FILE_DELETE,
	PG_LIST_GE,
	PG_LIST_GT,
	PG_CHUNK_GET,
	PG_STATS,
	PG_KEY_ADD,
	PG_KEY_ADD_FIRST,
	PG_KEY_GET,
	PG_KEY_ALL,
	PG_KEY_REVOKE,
	PG_KEY_DELETE,
	PG_CHUNK_UNDER,
	PG_JOB_QUEUE,
	PG_COUNT
};

#define PG_FILE_COLUMNS "size, etag, mtime, content_type, nchunks"
#define PG_KEY_COLUMNS "id, hash, scope, prefix, name, created, revoked"

static const char *const pg_sql[PG_COUNT] = {
	/* The key: "dgfs" in the high half would be nice, but a hash needs all 64 bits. */
	[PG_PATH_LOCK] = "SELECT 0::bigint FROM pg_advisory_xact_lock("
			 "hashtextextended(encode($1::bytea, 'hex'), 0))",
	/*
	 * Every existing chunk row a change will touch, locked in id order up
	 * front: the new version's ids (concatenated in $2) and the old
	 * version's list (of file $1). LockRows runs above the sort, so the
	 * rows are locked in the order returned.
	 */
	[PG_CHUNKS_LOCK] =
		"SELECT 0::bigint FROM chunks WHERE id IN ("
		"SELECT substring($2::bytea FROM i * 32 + 1 FOR 32) "
		"FROM generate_series(0, length($2::bytea) / 32 - 1) AS i "
		"UNION SELECT chunk_id FROM file_chunks WHERE file_id = $1::bigint) "
		"ORDER BY id FOR UPDATE",
	[PG_FILE_ID] = "SELECT id FROM files WHERE path = $1",
	[PG_FILE_GET] = "SELECT id, " PG_FILE_COLUMNS " FROM files WHERE path = $1",
	[PG_FILE_CHUNKS] =
		"SELECT chunk_id, \"offset\", size FROM file_chunks WHERE file_id = $1 ORDER BY idx",
	/* A known id with another size is left alone: no row changes, the caller is told. */
	[PG_CHUNK_REF] =
		"INSERT INTO chunks AS c (id, size, refs) VALUES ($1, $2, 1) "
		"ON CONFLICT (id) DO UPDATE SET refs = c.refs + 1 WHERE c.size = excluded.size",
	[PG_CHUNK_UNREF] =
		"UPDATE chunks SET refs = chunks.refs - old.n FROM "
		"(SELECT chunk_id, count(*) AS n FROM file_chunks WHERE file_id = $1 "
		"GROUP BY chunk_id) AS old WHERE chunks.id = old.chunk_id",
	[PG_CHUNK_REAP] =
		"DELETE FROM chunks WHERE refs = 0 AND id IN "
		"(SELECT chunk_id FROM file_chunks WHERE file_id = $1) RETURNING id",
	[PG_FC_DELETE] = "DELETE FROM file_chunks WHERE file_id = $1",
	[PG_FILE_UPSERT] =
		"INSERT INTO files (path, " PG_FILE_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6) "
		"ON CONFLICT (path) DO UPDATE SET size = excluded.size, etag = excluded.etag, "
		"mtime = excluded.mtime, content_type = excluded.content_type, "
		"nchunks = excluded.nchunks RETURNING id",
	[PG_FC_INSERT] =
		"INSERT INTO file_chunks (file_id, idx, chunk_id, \"offset\", size) "
		"VALUES ($1, $2, $3, $4, $5)",
	[PG_FILE_DELETE] = "DELETE FROM files WHERE id = $1",
	[PG_LIST_GE] =
		"SELECT path, " PG_FILE_COLUMNS " FROM files WHERE path >= $1 AND path < $2 "
		"ORDER BY path LIMIT $3",
	[PG_LIST_GT] =
		"SELECT path, " PG_FILE_COLUMNS " FROM files WHERE path > $1 AND path < $2 "
		"ORDER BY path LIMIT $3",
	[PG_CHUNK_GET] = "SELECT size FROM chunks WHERE id = $1",
	/* One statement, one snapshot: the four numbers agree. */
	[PG_STATS] =
		"SELECT (SELECT count(*) FROM files), (SELECT coalesce(sum(size), 0)::bigint FROM files), "
		"(SELECT count(*) FROM chunks), (SELECT coalesce(sum(size), 0)::bigint FROM chunks)",
	[PG_KEY_ADD] =
		"INSERT INTO keys (hash, scope, prefix, name, created) VALUES ($1, $2, $3, $4, $5) "
		"RETURNING id",
	/* Run with the table locked (pg_key_add): two first starts add one key. */
	[PG_KEY_ADD_FIRST] =
		"INSERT INTO keys (hash, scope, prefix, name, created) "
		"SELECT $1::bytea, $2::text, $3::bytea, $4::bytea, $5::bigint "
		"WHERE NOT EXISTS (SELECT 1 FROM keys) RETURNING id",
	[PG_KEY_GET] = "SELECT " PG_KEY_COLUMNS " FROM keys WHERE id = $1",
	[PG_KEY_ALL] = "SELECT " PG_KEY_COLUMNS " FROM keys ORDER BY id",
	[PG_KEY_REVOKE] = "UPDATE keys SET revoked = $2 WHERE id = $1 AND revoked IS NULL",
	[PG_KEY_DELETE] = "DELETE FROM keys WHERE id = $1",
	[PG_CHUNK_UNDER] =
		"SELECT 0::bigint FROM file_chunks JOIN files ON files.id = file_chunks.file_id "
		"WHERE file_chunks.chunk_id = $1 AND files.path >= $2 AND files.path < $3 LIMIT 1",
	[PG_JOB_QUEUE] =
		"INSERT INTO tag_jobs AS j (file_id, queued) VALUES ($1, $2) ON CONFLICT (file_id) "
		"DO UPDATE SET queued = greatest(excluded.queued, j.queued + 1), attempts = 0",
};

/* How many chunk rows a walk fetches at a time (bounded memory). */
#define PG_FETCH_ROWS	"1000"

struct pg_meta {
	struct meta base;
	PGconn *conn;
	bool prepared;		/* on this connection */
};

static const struct meta_ops pg_meta_ops;

static struct pg_meta *to_pg(struct meta *base)
{
	return (struct pg_meta *)base;
}

int meta_pg_err(PGconn *conn, const PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : "";
	size_t len;

	if (!msg || !*msg)
		msg = PQerrorMessage(conn);
	len = strlen(msg);
	/* libpq's messages end in a newline (sometimes two lines). */
	while (len && msg[len - 1] == '\n')
		len--;
	fprintf(stderr, "dgfsd: meta: %s: %.*s\n", what, (int)len, msg);
	if (state && !strcmp(state, "53100"))
		return -ENOSPC;
	if (state && !strcmp(state, "53200"))
		return -ENOMEM;
	/* deadlock_detected, serialization_failure: the transaction may simply run again. */
	if (state && (!strcmp(state, "40P01") || !strcmp(state, "40001")))
		return -EAGAIN;
	return -EIO;
}

/* Prepares every statement on the (new) connection. */
static int pg_prepare(struct pg_meta *m)
{
	char name[16];
	PGresult *res;
	int i, err = 0;

	for (i = 0; i < PG_COUNT && !err; i++) {
		snprintf(name, sizeof(name), "dgfs%d", i);
		res = PQprepare(m->conn, name, pg_sql[i], 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			err = meta_pg_err(m->conn, res, "prepare");
		PQclear(res);
	}
	m->prepared = !err;
	return err;
}

/* A live connection with the statements prepared, re-established if it broke. */
static int pg_ready(struct pg_meta *m)
{
	if (!pgq_alive(m->conn)) {
		fprintf(stderr, "dgfsd: meta: the PostgreSQL connection broke, connecting again\n");
		m->prepared = false;
		PQreset(m->conn);
		if (PQstatus(m->conn) != CONNECTION_OK)
			return meta_pg_err(m->conn, NULL, "reconnect");
	}
	return m->prepared ? 0 : pg_prepare(m);
}

/*
 * Runs statement @s: its result (rows or none) or NULL with *err set. The
 * caller PQclear()s a result.
 */
static PGresult *pg_run(struct pg_meta *m, enum pg_stmt s, const struct pgq *p,
			const char *what, int *err)
{
	static const struct pgq none;
	PGresult *res;
	char name[16];

	if (!p)
		p = &none;
	snprintf(name, sizeof(name), "dgfs%d", (int)s);
	res = PQexecPrepared(m->conn, name, p->n, p->val, p->len, p->fmt, 1);
	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
		*err = 0;
		return res;
	default:
		*err = meta_pg_err(m->conn, res, what);
		PQclear(res);
		return NULL;
	}
}

/*
 * One statement on its own, outside a transaction: the session connected
 * again first if it broke (inside a transaction a reconnect would lose
 * it, so those call pg_ready() once at their start).
 */
static PGresult *pg_query(struct pg_meta *m, enum pg_stmt s, const struct pgq *p,
			  const char *what, int *err)
{
	*err = pg_ready(m);
	return *err ? NULL : pg_run(m, s, p, what, err);
}

/* A statement whose rows, if any, are not wanted: 0 or -errno; *changed, rows it changed. */
static int pg_exec(struct pg_meta *m, enum pg_stmt s, const struct pgq *p,
		   const char *what, long *changed)
{
	PGresult *res;
	int err;

	res = pg_run(m, s, p, what, &err);
	if (res && changed)
		*changed = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return err;
}

/* Plain SQL without parameters or rows (BEGIN, COMMIT, ...). */
static int pg_simple(struct pg_meta *m, const char *sql)
{
	PGresult *res = PQexec(m->conn, sql);
	int err = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		err = meta_pg_err(m->conn, res, sql);
	PQclear(res);
	return err;
}

static void pg_rollback(struct pg_meta *m)
{
	/* Quietly: after a broken connection there is nothing left to roll back. */
	if (PQtransactionStatus(m->conn) != PQTRANS_IDLE)
		PQclear(PQexec(m->conn, "ROLLBACK"));
}

/* A bigint column (binary: 8 bytes, big-endian). */
static int pg_col_int(const PGresult *res, int row, int col, int64_t *v)
{
	uint64_t be;

	if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 8)
		return -EIO;
	memcpy(&be, PQgetvalue(res, row, col), 8);
	*v = (int64_t)be64toh(be);
	return 0;
}

/* A bytea or text column into a buffer of @size, NUL-terminated, no NUL inside. */
static int pg_col_str(const PGresult *res, int row, int col, char *buf, size_t size)
{
	int len = PQgetlength(res, row, col);
	const char *v = PQgetvalue(res, row, col);

	if (PQgetisnull(res, row, col) || len < 0 || (size_t)len >= size || memchr(v, 0, len))
		return -EIO;
	memcpy(buf, v, len);
	buf[len] = 0;
	return 0;
}

/* A bytea column of exactly @len bytes. */
static int pg_col_id(const PGresult *res, int row, int col, uint8_t *buf, int len)
{
	if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != len)
		return -EIO;
	memcpy(buf, PQgetvalue(res, row, col), len);
	return 0;
}

/* The columns PG_FILE_COLUMNS from @col on into @f. */
static int pg_col_file(const PGresult *res, int row, int col, struct meta_file *f)
{
	int64_t size, mtime, nchunks;

	if (pg_col_int(res, row, col, &size) || size < 0 ||
	    pg_col_str(res, row, col + 1, f->etag, sizeof(f->etag)) ||
	    pg_col_int(res, row, col + 2, &mtime) ||
	    pg_col_str(res, row, col + 3, f->content_type, sizeof(f->content_type)) ||
	    pg_col_int(res, row, col + 4, &nchunks) || nchunks < 0 || nchunks > UINT32_MAX) {
		fprintf(stderr, "dgfsd: meta: a file row is malformed\n");
		return -EIO;
	}
	f->size = size;
	f->mtime = mtime;
	f->nchunks = nchunks;
	f->chunks = NULL;
	return 0;
}

static int pg_read_chunks(struct pg_meta *m, int64_t file_id, struct meta_file *f)
{
	struct pgq p = { .n = 0 };
	struct meta_chunk *c = NULL;
	int64_t off, size;
	PGresult *res;
	int i, n, err;

	pgq_int(&p, file_id);
	res = pg_run(m, PG_FILE_CHUNKS, &p, "file get chunks", &err);
	if (!res)
		return err;
	n = PQntuples(res);
	if ((uint32_t)n != f->nchunks) {
		fprintf(stderr, "dgfsd: meta: a file lists %d chunks of %u\n", n, f->nchunks);
		err = -EIO;
	} else if (n) {
		c = calloc(n, sizeof(*c));
		if (!c)
			err = -ENOMEM;
	}
	for (i = 0; !err && i < n; i++) {
		if (pg_col_id(res, i, 0, c[i].id, META_ID_LEN) || pg_col_int(res, i, 1, &off) ||
		    pg_col_int(res, i, 2, &size) || off < 0 || size < 0 || size > UINT32_MAX) {
			fprintf(stderr, "dgfsd: meta: a file's chunk list is malformed\n");
			err = -EIO;
			break;
		}
		c[i].offset = off;
		c[i].size = size;
	}
	PQclear(res);
	if (err) {
		free(c);
		return err;
	}
	f->chunks = c;
	return 0;
}

static int pg_file_get(struct meta *base, const char *path, size_t len, struct meta_file *f,
		       bool with_chunks)
{
	struct pg_meta *m = to_pg(base);
	struct pgq p = { .n = 0 };
	int64_t file_id = 0;
	PGresult *res;
	int err;

	err = pg_ready(m);
	if (err)
		return err;
	/* The row and the chunk list from one snapshot. */
	err = pg_simple(m, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (err)
		return err;
	pgq_bytes(&p, path, len);
	res = pg_run(m, PG_FILE_GET, &p, "file get", &err);
	if (res) {
		if (!PQntuples(res))
			err = -ENOENT;
		else if (pg_col_int(res, 0, 0, &file_id))
			err = -EIO;
		else
			err = pg_col_file(res, 0, 1, f);
		PQclear(res);
	}
	if (!err && with_chunks)
		err = pg_read_chunks(m, file_id, f);
	if (!err)
		err = pg_simple(m, "COMMIT");
	if (err) {
		pg_rollback(m);
		free(f->chunks);
		f->chunks = NULL;
	}
	return err;
}

/* Serialises changes of one path across every dgfsd (see the top). */
static int pg_lock_path(struct pg_meta *m, const char *path, size_t len)
{
	struct pgq p = { .n = 0 };

	pgq_bytes(&p, path, len);
	return pg_exec(m, PG_PATH_LOCK, &p, "path lock", NULL);
}

/*
 * Locks the chunk rows a change of file @file_id (0: none yet) to @f
 * (NULL: a delete) will touch, in one order for every writer: two changes
 * sharing chunks then wait for each other instead of deadlocking.
 */
static int pg_lock_chunks(struct pg_meta *m, int64_t file_id, const struct meta_file *f)
{
	struct pgq p = { .n = 0 };
	uint8_t (*ids)[META_ID_LEN] = NULL;
	uint32_t i, n = f ? f->nchunks : 0;
	int err;

	if (n) {
		ids = calloc(n, sizeof(*ids));
		if (!ids)
			return -ENOMEM;
		for (i = 0; i < n; i++)
			memcpy(ids[i], f->chunks[i].id, META_ID_LEN);
	}
	pgq_int(&p, file_id);
	pgq_bytes(&p, ids, (size_t)n * META_ID_LEN);
	err = pg_exec(m, PG_CHUNKS_LOCK, &p, "chunk lock", NULL);
	free(ids);
	return err;
}

/* The id of the file at @path in *id, or -ENOENT. */
static int pg_file_id(struct pg_meta *m, const char *path, size_t len, int64_t *id)
{
	struct pgq p = { .n = 0 };
	PGresult *res;
	int err;

	pgq_bytes(&p, path, len);
	res = pg_run(m, PG_FILE_ID, &p, "file lookup", &err);
	if (!res)
		return err;
	if (!PQntuples(res))
		err = -ENOENT;
	else if (pg_col_int(res, 0, 0, id))
		err = -EIO;
	PQclear(res);
	return err;
}

/* As meta/sqlite.c's meta_unref_version(). */
static int pg_unref_version(struct pg_meta *m, int64_t file_id, struct meta_idlist *freed)
{
	struct pgq p = { .n = 0 };
	uint8_t id[META_ID_LEN];
	PGresult *res;
	int i, err;

	pgq_int(&p, file_id);
	err = pg_exec(m, PG_CHUNK_UNREF, &p, "chunk unref", NULL);
	if (err)
		return err;
	res = pg_run(m, PG_CHUNK_REAP, &p, "chunk reap", &err);
	if (!res)
		return err;
	for (i = 0; !err && i < PQntuples(res); i++) {
		if (pg_col_id(res, i, 0, id, META_ID_LEN)) {
			fprintf(stderr, "dgfsd: meta: a chunk id is malformed\n");
			err = -EIO;
		} else if (freed) {
			err = meta_idlist_add(freed, id);
		}
	}
	PQclear(res);
	if (err)
		return err;
	return pg_exec(m, PG_FC_DELETE, &p, "file chunks delete", NULL);
}

static int pg_chunk_cmp(const void *a, const void *b)
{
	return memcmp((*(const struct meta_chunk *const *)a)->id,
		      (*(const struct meta_chunk *const *)b)->id, META_ID_LEN);
}

/*
 * One more reference to each chunk of @f's list, in id order: writers
 * that lock rows in one order do not deadlock on them (those that still
 * do, through the old versions' rows, run again: pg_change()).
 */
static int pg_ref_chunks(struct pg_meta *m, const struct meta_file *f)
{
	const struct meta_chunk **order;
	struct pgq p;
	long changed = 0;
	uint32_t i;
	int err = 0;

	order = malloc((f->nchunks ? f->nchunks : 1) * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (i = 0; i < f->nchunks; i++)
		order[i] = &f->chunks[i];
	qsort(order, f->nchunks, sizeof(*order), pg_chunk_cmp);
	for (i = 0; i < f->nchunks && !err; i++) {
		p.n = 0;
		pgq_bytes(&p, order[i]->id, META_ID_LEN);
		pgq_int(&p, order[i]->size);
		err = pg_exec(m, PG_CHUNK_REF, &p, "chunk ref", &changed);
		if (!err && changed != 1)
			err = -EINVAL;		/* known with another size */
	}
	free(order);
	return err;
}

static int pg_upsert_file(struct pg_meta *m, const struct meta_file *f, int64_t *id)
{
	struct pgq p = { .n = 0 };
	PGresult *res;
	int err;

	pgq_bytes(&p, f->path, strlen(f->path));
	pgq_int(&p, f->size);
	pgq_bytes(&p, f->etag, strlen(f->etag));
	pgq_int(&p, f->mtime);
	pgq_bytes(&p, f->content_type, strlen(f->content_type));
	pgq_int(&p, f->nchunks);
	res = pg_run(m, PG_FILE_UPSERT, &p, "file upsert", &err);
	if (!res)
		return err;
	if (PQntuples(res) != 1 || pg_col_int(res, 0, 0, id))
		err = -EIO;
	PQclear(res);
	return err;
}

static int pg_insert_chunks(struct pg_meta *m, int64_t file_id, const struct meta_file *f)
{
	const struct meta_chunk *c;
	struct pgq p;
	uint32_t i;
	int err;

	for (i = 0; i < f->nchunks; i++) {
		c = &f->chunks[i];
		p.n = 0;
		pgq_int(&p, file_id);
		pgq_int(&p, i);
		pgq_bytes(&p, c->id, META_ID_LEN);
		pgq_int(&p, c->offset);
		pgq_int(&p, c->size);
		err = pg_exec(m, PG_FC_INSERT, &p, "file chunks insert", NULL);
		if (err)
			return err;
	}
	return 0;
}

static int pg_queue_tagging(struct pg_meta *m, int64_t file_id)
{
	struct pgq p = { .n = 0 };

	pgq_int(&p, file_id);
	pgq_int(&p, meta_now_ms());
	return pg_exec(m, PG_JOB_QUEUE, &p, "tag job queue", NULL);
}

static int pg_put_once(struct pg_meta *m, const struct meta_file *f, struct meta_idlist *freed,
		       bool *replaced)
{
	size_t len = strlen(f->path);
	int64_t old_id = 0, new_id = 0;
	bool had;
	int err;

	err = pg_ready(m);
	if (!err)
		err = pg_simple(m, "BEGIN");
	if (err)
		return err;
	err = pg_lock_path(m, f->path, len);
	if (!err)
		err = pg_file_id(m, f->path, len, &old_id);
	had = !err;
	if (err == -ENOENT)
		err = 0;
	if (!err)
		err = pg_lock_chunks(m, had ? old_id : 0, f);
	/* New references first: a chunk both versions list never reaches 0. */
	if (!err)
		err = pg_ref_chunks(m, f);
	if (!err && had)
		err = pg_unref_version(m, old_id, freed);
	if (!err)
		err = pg_upsert_file(m, f, &new_id);
	if (!err)
		err = pg_insert_chunks(m, new_id, f);
	if (!err)
		err = pg_queue_tagging(m, new_id);
	if (!err)
		err = pg_simple(m, "COMMIT");
	if (err)
		pg_rollback(m);
	else
		*replaced = had;
	return err;
}

static int pg_delete_once(struct pg_meta *m, const char *path, size_t len,
			  struct meta_idlist *freed)
{
	struct pgq p = { .n = 0 };
	int64_t id = 0;
	int err;

	err = pg_ready(m);
	if (!err)
		err = pg_simple(m, "BEGIN");
	if (err)
		return err;
	err = pg_lock_path(m, path, len);
	if (!err)
		err = pg_file_id(m, path, len, &id);
	if (!err)
		err = pg_lock_chunks(m, id, NULL);
	if (!err)
		err = pg_unref_version(m, id, freed);
	if (!err) {
		pgq_int(&p, id);
		err = pg_exec(m, PG_FILE_DELETE, &p, "file delete", NULL);
	}
	if (!err)
		err = pg_simple(m, "COMMIT");
	if (err)
		pg_rollback(m);
	return err;
}

/* How often a put or delete that lost a deadlock runs again. */
#define PG_CHANGE_TRIES	8

/*
 * A put (@f) or delete (@path), run again while PostgreSQL ends it to
 * break a deadlock with another writer (rolled back: nothing of it
 * stays, and what it freed is forgotten).
 */
static int pg_change(struct meta *base, const struct meta_file *f, const char *path, size_t len,
		     struct meta_idlist *freed, bool *replaced)
{
	struct pg_meta *m = to_pg(base);
	size_t freed_n = freed ? freed->n : 0;
	int err = -EAGAIN, tries;

	for (tries = 0; err == -EAGAIN && tries < PG_CHANGE_TRIES; tries++) {
		if (freed)
			freed->n = freed_n;
		err = f ? pg_put_once(m, f, freed, replaced) : pg_delete_once(m, path, len, freed);
	}
	return err == -EAGAIN ? -EIO : err;
}

static int pg_file_put(struct meta *base, const struct meta_file *f, struct meta_idlist *freed,
		       bool *replaced)
{
	return pg_change(base, f, NULL, 0, freed, replaced);
}

static int pg_file_delete(struct meta *base, const char *path, size_t len,
			  struct meta_idlist *freed)
{
	return pg_change(base, NULL, path, len, freed, NULL);
}

static int pg_file_list(struct meta *base, const struct meta_range *r, unsigned int limit,
			meta_file_cb cb, void *arg, bool *more, struct meta_file *f)
{
	struct pg_meta *m = to_pg(base);
	struct pgq p = { .n = 0 };
	PGresult *res;
	int i, n, len, err;

	err = pg_ready(m);
	if (err)
		return err;
	pgq_bytes(&p, r->lo, r->lo_len);
	pgq_bytes(&p, r->hi, r->hi_len);
	/* One row past the limit tells whether more follow. */
	pgq_int(&p, (int64_t)limit + 1);
	res = pg_run(m, r->lo_incl ? PG_LIST_GE : PG_LIST_GT, &p, "file list", &err);
	if (!res)
		return err;
	n = PQntuples(res);
	if ((unsigned int)n > limit) {
		*more = true;
		n = limit;
	}
	for (i = 0; i < n; i++) {
		len = PQgetlength(res, i, 0);
		if (!len || pg_col_str(res, i, 0, f->path, sizeof(f->path))) {
			fprintf(stderr, "dgfsd: meta: a file's path is malformed\n");
			err = -EIO;
			break;
		}
		err = pg_col_file(res, i, 1, f);
		if (!err)
			err = cb(f, arg);
		if (err) {
			/* Stopped by the caller: still say whether more follow. */
			if (i + 1 < PQntuples(res))
				*more = true;
			break;
		}
	}
	PQclear(res);
	return err;
}

static int pg_chunk_get(struct meta *base, const uint8_t id[META_ID_LEN], uint32_t *size)
{
	struct pg_meta *m = to_pg(base);
	struct pgq p = { .n = 0 };
	PGresult *res;
	int64_t v;
	int err;

	pgq_bytes(&p, id, META_ID_LEN);
	res = pg_query(m, PG_CHUNK_GET, &p, "chunk lookup", &err);
	if (!res)
		return err;
	if (!PQntuples(res))
		err = -ENOENT;
	else if (pg_col_int(res, 0, 0, &v) || v < 0 || v > UINT32_MAX)
		err = -EIO;
	else if (size)
		*size = v;
	PQclear(res);
	return err;
}

/*
 * Every chunk through a cursor, PG_FETCH_ROWS at a time, in one
 * snapshot: the table may hold millions of rows.
 */
static int pg_chunk_foreach(struct meta *base, meta_chunk_cb cb, void *arg)
{
	struct pg_meta *m = to_pg(base);
	uint8_t id[META_ID_LEN];
	PGresult *res;
	int64_t size;
	int i, n, err;

	err = pg_ready(m);
	if (!err)
		err = pg_simple(m, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (!err)
		err = pg_simple(m, "DECLARE dgfs_chunks NO SCROLL CURSOR FOR "
			       "SELECT id, size FROM chunks ORDER BY id");
	while (!err) {
		res = PQexecParams(m->conn, "FETCH " PG_FETCH_ROWS " FROM dgfs_chunks", 0, NULL,
				   NULL, NULL, NULL, 1);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			err = meta_pg_err(m->conn, res, "chunk foreach");
			PQclear(res);
			break;
		}
		n = PQntuples(res);
		for (i = 0; !err && i < n; i++) {
			if (pg_col_id(res, i, 0, id, META_ID_LEN) || pg_col_int(res, i, 1, &size) ||
			    size < 0 || size > UINT32_MAX) {
				fprintf(stderr, "dgfsd: meta: a chunk row is malformed\n");
				err = -EIO;
				break;
			}
			err = cb(id, (uint32_t)size, arg);
		}
		PQclear(res);
		if (!n)
			break;
	}
	/* Read only: rolling back ends it as well as a commit would. */
	pg_rollback(m);
	return err;
}

static int pg_stats(struct meta *base, struct meta_stats *st)
{
	struct pg_meta *m = to_pg(base);
	int64_t v[4];
	PGresult *res;
	int i, err;

	res = pg_query(m, PG_STATS, NULL, "stats", &err);
	if (!res)
		return err;
	for (i = 0; !err && i < 4; i++)
		if (PQntuples(res) != 1 || pg_col_int(res, 0, i, &v[i]) || v[i] < 0)
			err = -EIO;
	PQclear(res);
	if (err)
		return err;
	st->files = v[0];
	st->logical_bytes = v[1];
	st->chunks = v[2];
	st->stored_bytes = v[3];
	return 0;
}

/* A row of PG_KEY_COLUMNS into @k. */
static int pg_col_key(const PGresult *res, int row, struct meta_key *k)
{
	char scope[8];

	memset(k, 0, sizeof(*k));
	if (pg_col_int(res, row, 0, &k->id) ||
	    pg_col_id(res, row, 1, k->hash, META_KEY_HASH_LEN) ||
	    pg_col_str(res, row, 2, scope, sizeof(scope)) || meta_scope_parse(scope, &k->scope) ||
	    pg_col_str(res, row, 3, k->prefix, sizeof(k->prefix)) ||
	    pg_col_str(res, row, 4, k->name, sizeof(k->name)) ||
	    pg_col_int(res, row, 5, &k->created) ||
	    (!PQgetisnull(res, row, 6) && pg_col_int(res, row, 6, &k->revoked))) {
		fprintf(stderr, "dgfsd: meta: key %lld's row is malformed\n", (long long)k->id);
		return -EIO;
	}
	return 0;
}

static int pg_key_add(struct meta *base, struct meta_key *k, bool first)
{
	struct pg_meta *m = to_pg(base);
	struct pgq p = { .n = 0 };
	PGresult *res;
	int err;

	err = pg_ready(m);
	if (!err)
		err = pg_simple(m, "BEGIN");
	/* Keeps out another dgfsd's first key between the look and the insert. */
	if (!err && first)
		err = pg_simple(m, "LOCK TABLE keys IN SHARE ROW EXCLUSIVE MODE");
	if (err) {
		pg_rollback(m);
		return err;
	}
	pgq_bytes(&p, k->hash, META_KEY_HASH_LEN);
	pgq_text(&p, meta_scope_name(k->scope));
	pgq_bytes(&p, k->prefix, strlen(k->prefix));
	pgq_bytes(&p, k->name, strlen(k->name));
	pgq_int(&p, k->created);
	res = pg_run(m, first ? PG_KEY_ADD_FIRST : PG_KEY_ADD, &p, "key add", &err);
	if (res) {
		if (!PQntuples(res))
			err = -EEXIST;		/* first: the table had keys */
		else if (pg_col_int(res, 0, 0, &k->id))
			err = -EIO;
		PQclear(res);
	}
	if (!err)
		err = pg_simple(m, "COMMIT");
	if (err)
		pg_rollback(m);
	return err;
}

static int pg_key_get(struct meta *base, int64_t id, struct meta_key *k)
{
	struct pg_meta *m = to_pg(base);
	struct pgq p = { .n = 0 };
	PGresult *res;
	int err;

	pgq_int(&p, id);
	res = pg_query(m, PG_KEY_GET, &p, "key get", &err);
	if (!res)
		return err;
	err = PQntuples(res) ? pg_col_key(res, 0, k) : -ENOENT;
	PQclear(res);
	return err;
}

static int pg_key_list(struct meta *base, meta_key_cb cb, void *arg, struct meta_key *k)
{
	struct pg_meta *m = to_pg(base);
	PGresult *res;
	int i, err;

	res = pg_query(m, PG_KEY_ALL, NULL, "key list", &err);
	if (!res)
		return err;
	for (i = 0; !err && i < PQntuples(res); i++) {
		err = pg_col_key(res, i, k);
		if (!err)
			err = cb(k, arg);
	}
	PQclear(res);
	return err;
}

static int pg_key_change(struct pg_meta *m, enum pg_stmt s, const struct pgq *p,
			 const char *what)
{
	long changed = 0;
	int err;

	err = pg_ready(m);
	if (!err)
		err = pg_exec(m, s, p, what, &changed);
	if (!err && changed != 1)
		err = -ENOENT;
	return err;
}

static int pg_key_revoke(struct meta *base, int64_t id, int64_t when)
{
	struct pgq p = { .n = 0 };

	pgq_int(&p, id);
	pgq_int(&p, when);
	return pg_key_change(to_pg(base), PG_KEY_REVOKE, &p, "key revoke");
}

static int pg_key_delete(struct meta *base, int64_t id)
{
	struct pgq p = { .n = 0 };

	pgq_int(&p, id);
	return pg_key_change(to_pg(base), PG_KEY_DELETE, &p, "key delete");
}

static int pg_chunk_under(struct meta *base, const uint8_t id[META_ID_LEN], const char *prefix,
			  size_t plen, const char *end, size_t elen)
{
	struct pg_meta *m = to_pg(base);
	struct pgq p = { .n = 0 };
	PGresult *res;
	int err;

	pgq_bytes(&p, id, META_ID_LEN);
	pgq_bytes(&p, prefix, plen);
	pgq_bytes(&p, end, elen);
	res = pg_query(m, PG_CHUNK_UNDER, &p, "chunk under prefix", &err);
	if (!res)
		return err;
	err = PQntuples(res) ? 1 : 0;
	PQclear(res);
	return err;
}

/*
 * meta_run_pg(): @fn in one transaction on the connection, run again
 * while it loses a deadlock or a serialization failure to another writer
 * (-EAGAIN: rolled back, nothing of it stays).
 */
static int pg_run_fn(struct meta *base, bool write, int (*fn)(PGconn *conn, void *arg),
		     void *arg)
{
	struct pg_meta *m = to_pg(base);
	int err = -EAGAIN, tries;

	for (tries = 0; err == -EAGAIN && tries < PG_CHANGE_TRIES; tries++) {
		err = pg_ready(m);
		if (!err)
			err = pg_simple(m, write ? "BEGIN" :
					"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
		if (err)
			break;
		err = fn(m->conn, arg);
		if (!err)
			err = pg_simple(m, "COMMIT");
		if (err)
			pg_rollback(m);
	}
	return err == -EAGAIN ? -EIO : err;
}

/* Notices ("relation exists, skipping") are no news to an operator. */
static void pg_quiet(void *arg, const PGresult *res)
{
	(void)arg;
	(void)res;
}

static void pg_meta_close(struct meta *base)
{
	struct pg_meta *m = to_pg(base);

	PQfinish(m->conn);
	free(m);
}

int meta_pg_open(const char *conninfo, struct meta **out)
{
	struct pg_meta *m;
	char where[96];
	int err;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->base.ops = &pg_meta_ops;
	m->conn = PQconnectdb(conninfo);
	if (!m->conn) {
		err = -ENOMEM;
		goto fail;
	}
	if (PQstatus(m->conn) != CONNECTION_OK) {
		/* Not the URI itself: it may hold a password. */
		err = meta_pg_err(m->conn, NULL, "connect to PostgreSQL");
		goto fail;
	}
	PQsetNoticeReceiver(m->conn, pg_quiet, NULL);
	snprintf(where, sizeof(where), "PostgreSQL database %s", PQdb(m->conn));
	err = meta_pg_setup(m->conn, where);
	if (!err)
		err = pg_prepare(m);
	if (err)
		goto fail;
	*out = &m->base;
	return 0;

fail:
	pg_meta_close(&m->base);
	return err;
}

static const struct meta_ops pg_meta_ops = {
	.name = "postgresql",
	.close = pg_meta_close,
	.file_get = pg_file_get,
	.file_put = pg_file_put,
	.file_delete = pg_file_delete,
	.file_list = pg_file_list,
	.chunk_get = pg_chunk_get,
	.chunk_foreach = pg_chunk_foreach,
	.stats = pg_stats,
	.key_add = pg_key_add,
	.key_get = pg_key_get,
	.key_list = pg_key_list,
	.key_revoke = pg_key_revoke,
	.key_delete = pg_key_delete,
	.chunk_under = pg_chunk_under,
	.run = NULL,
	.run_pg = pg_run_fn,
};
