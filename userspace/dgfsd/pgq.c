// SPDX-License-Identifier: GPL-2.0
/* PostgreSQL statement helpers for tags and search (pgq.h). */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgfsd/pgq.h"
#include "dgfsd/meta/pg_schema.h"

bool pgq_alive(PGconn *c)
{
	int i;

	/*
	 * An idle session has nothing to say: a readable socket holds the
	 * server's last words (FATAL: terminating connection) or its end of
	 * file. A few reads bring libpq to the end, which marks it bad.
	 */
	for (i = 0; i < 4 && PQstatus(c) == CONNECTION_OK; i++) {
		struct pollfd p = { .fd = PQsocket(c), .events = POLLIN };

		if (p.fd < 0 || poll(&p, 1, 0) <= 0)
			break;
		if (!PQconsumeInput(c))
			break;
	}
	return PQstatus(c) == CONNECTION_OK;
}

void pgq_int(struct pgq *p, int64_t v)
{
	if (p->n >= PGQ_MAX)
		abort();	/* a statement in this code with too many: a bug */
	snprintf(p->num[p->n], sizeof(p->num[p->n]), "%" PRId64, v);
	p->val[p->n] = p->num[p->n];
	p->len[p->n] = 0;
	p->fmt[p->n++] = 0;
}

void pgq_text(struct pgq *p, const char *s)
{
	if (p->n >= PGQ_MAX)
		abort();
	p->val[p->n] = s;
	p->len[p->n] = 0;
	p->fmt[p->n++] = 0;
}

void pgq_bytes(struct pgq *p, const void *v, size_t len)
{
	if (p->n >= PGQ_MAX)
		abort();
	/* A NULL pointer would send SQL NULL, not the empty string. */
	p->val[p->n] = v ? v : "";
	p->len[p->n] = (int)len;
	p->fmt[p->n++] = 1;
}

int pgq_err(PGconn *c, const PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	/* query_canceled: statement_timeout (search's deadline). */
	if (state && !strcmp(state, "57014"))
		return -ETIME;
	return meta_pg_err(c, res, what);
}

PGresult *pgq_exec(PGconn *c, const char *sql, const struct pgq *p, const char *what, int *err)
{
	static const struct pgq none;
	PGresult *res;

	if (!p)
		p = &none;
	res = PQexecParams(c, sql, p->n, NULL, p->val, p->len, p->fmt, 1);
	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
		*err = 0;
		return res;
	default:
		*err = pgq_err(c, res, what);
		PQclear(res);
		return NULL;
	}
}

int pgq_run(PGconn *c, const char *sql, const struct pgq *p, const char *what, long *changed)
{
	PGresult *res;
	int err;

	res = pgq_exec(c, sql, p, what, &err);
	if (res && changed)
		*changed = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return err;
}

int pgq_one_int(PGconn *c, const char *sql, const struct pgq *p, const char *what,
		int64_t *out)
{
	PGresult *res;
	int err;

	res = pgq_exec(c, sql, p, what, &err);
	if (!res)
		return err;
	if (!PQntuples(res))
		err = -ENOENT;
	else if (pgq_col_int(res, 0, 0, out))
		err = -EIO;
	PQclear(res);
	return err;
}

int pgq_col_int(const PGresult *res, int row, int col, int64_t *v)
{
	uint64_t be;

	if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 8)
		return -EIO;
	memcpy(&be, PQgetvalue(res, row, col), 8);
	*v = (int64_t)be64toh(be);
	return 0;
}

int pgq_col_double(const PGresult *res, int row, int col, double *v)
{
	uint64_t be;

	if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 8)
		return -EIO;
	memcpy(&be, PQgetvalue(res, row, col), 8);
	be = be64toh(be);
	memcpy(v, &be, 8);
	return 0;
}

const char *pgq_col_bytes(const PGresult *res, int row, int col, int *len)
{
	if (PQgetisnull(res, row, col))
		return NULL;
	*len = PQgetlength(res, row, col);
	return PQgetvalue(res, row, col);
}
