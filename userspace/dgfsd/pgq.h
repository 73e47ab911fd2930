/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers for the SQL that tags and search run on PostgreSQL
 * (meta_tags_pg.c, search_pg.c) inside meta_run_pg(): parameters bound,
 * never spliced into the text (numbers and text as text, bytes as
 * binary), results binary, every number a statement returns a bigint or
 * a double precision.
 */
#ifndef DGFSD_PGQ_H
#define DGFSD_PGQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#define PGQ_MAX		8

struct pgq {
	const char *val[PGQ_MAX];
	int len[PGQ_MAX];
	int fmt[PGQ_MAX];
	char num[PGQ_MAX][32];
	int n;
};

void pgq_int(struct pgq *p, int64_t v);
void pgq_text(struct pgq *p, const char *s);		/* valid UTF-8, no NUL */
void pgq_bytes(struct pgq *p, const void *v, size_t len);	/* a bytea */

/*
 * Runs @sql with @p (NULL: none): its result, or NULL with *err set
 * (meta_pg_err()'s mapping: -EAGAIN for a deadlock, -ETIME for a
 * statement_timeout, else -EIO...). PQclear() it.
 */
PGresult *pgq_exec(PGconn *c, const char *sql, const struct pgq *p, const char *what, int *err);
/* The same for a statement whose rows are not wanted; *changed (may be NULL): rows it changed. */
int pgq_run(PGconn *c, const char *sql, const struct pgq *p, const char *what, long *changed);
/* One bigint: 0 with *out, -ENOENT (no row), or -errno. */
int pgq_one_int(PGconn *c, const char *sql, const struct pgq *p, const char *what,
		int64_t *out);

/* Binary columns: a bigint, a double precision, raw bytes (text or bytea). */
int pgq_col_int(const PGresult *res, int row, int col, int64_t *v);
int pgq_col_double(const PGresult *res, int row, int col, double *v);
const char *pgq_col_bytes(const PGresult *res, int row, int col, int *len);

/*
 * Whether @c may be used: false once it broke, also when the server
 * ended the session while the connection sat idle (PostgreSQL restarted,
 * pg_terminate_backend), which libpq learns only by reading. The caller
 * then connects again (PQreset) before it runs anything, instead of
 * failing the next statement on a dead session.
 */
bool pgq_alive(PGconn *c);

/* The error mapping of meta_pg_err(), plus -ETIME for a statement cancelled by statement_timeout. */
int pgq_err(PGconn *c, const PGresult *res, const char *what);

#endif /* DGFSD_PGQ_H */
