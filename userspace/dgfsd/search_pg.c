// SPDX-License-Identifier: GPL-2.0
/*
 * A query's tree into one PostgreSQL statement (search_pg.h). Simpler
 * than SQLite's planner (search.c): every file under the prefix is
 * tested against the tree as one boolean expression, each leaf an EXISTS
 * probe by index, and PostgreSQL's planner chooses the order. As on
 * SQLite, each tag leaf's tags are looked up first (with every tag that
 * implies one, transitively) and bound as one bigint[]; a word or phrase
 * becomes a tsquery literal built here from ICU's words (fts_words.h),
 * bound as a parameter, matched against file_text's tsvector. The
 * positive ones, ORed, rank the results with ts_rank (bm25's stand-in:
 * the same files, scores on another scale).
 *
 * Nothing the user typed is part of the SQL text: names, values, numbers
 * and tsquery literals are parameters, and a tsquery literal's lexemes
 * are quoted, so a query cannot use tsquery's own operators either.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgfsd/search_pg.h"
#include "dgfsd/fts_words.h"
#include "dgfsd/meta_tags.h"
#include "dgfsd/pgq.h"
#include "dgfsd/strbuf.h"
#include "tags/tag.h"

#define SPG_PARAMS_MAX	(4 * QUERY_MAX_TERMS + 16)

struct spg {
	PGconn *c;
	const struct query *query;
	struct strbuf sql;		/* the statement */
	char *val[SPG_PARAMS_MAX];	/* owned */
	int vlen[SPG_PARAMS_MAX], fmt[SPG_PARAMS_MAX];
	unsigned int n;
	struct strbuf rank;		/* the positive phrases ORed, a tsquery literal */
	int err;
};

static void spg_free(struct spg *q)
{
	unsigned int i;

	for (i = 0; i < q->n; i++)
		free(q->val[i]);
	free(q->sql.s);
	free(q->rank.s);
}

/* The statement's pieces, under q's one error (strbuf.h). */
static void spg_emit_raw(struct spg *q, const char *text)
{
	strbuf_add(&q->sql, &q->err, text, strlen(text));
}

#define spg_emit(q, ...)	strbuf_printf(&(q)->sql, &(q)->err, __VA_ARGS__)

/* Takes @v (malloc'd, or NULL: out of memory): its number ($N), or 0 on error. */
static unsigned int spg_param_take(struct spg *q, char *v, size_t len, int fmt)
{
	if (!v && !q->err)
		q->err = -ENOMEM;
	if (!q->err && q->n >= SPG_PARAMS_MAX)
		q->err = -E2BIG;
	if (q->err) {
		free(v);
		return 0;
	}
	q->val[q->n] = v;
	q->vlen[q->n] = (int)len;
	q->fmt[q->n++] = fmt;
	return q->n;
}

static unsigned int spg_param_text(struct spg *q, const char *s)
{
	return spg_param_take(q, strdup(s), 0, 0);
}

static unsigned int spg_param_int(struct spg *q, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	return spg_param_text(q, buf);
}

static unsigned int spg_param_bytes(struct spg *q, const void *p, size_t len)
{
	char *v = malloc(len ? len : 1);

	if (v)
		memcpy(v, p, len);
	return spg_param_take(q, v, len, 1);
}

static void spg_rank_add(struct spg *q, const char *ts)
{
	if (q->rank.len)
		strbuf_add(&q->rank, &q->err, " | ", 3);
	strbuf_add(&q->rank, &q->err, "(", 1);
	strbuf_add(&q->rank, &q->err, ts, strlen(ts));
	strbuf_add(&q->rank, &q->err, ")", 1);
}

static const char *const spg_op[] = { "=", "<", "<=", ">", ">=" };

/*
 * The tags leaf @n matches, implied ones included, as a bigint[]
 * parameter: its number, or 0 when there are none (or on error).
 */
static unsigned int spg_tags(struct spg *q, const struct query_node *n)
{
	static const char closure[] = "WITH RECURSIVE c(id) AS (%s UNION SELECT ti.tag_id "
				      "FROM tag_implies ti JOIN c ON ti.implied_id = c.id) "
				      "SELECT id FROM c ORDER BY id";
	char base[256], sql[512], *arr;
	struct pgq p = { .n = 0 };
	size_t at = 0;
	PGresult *res;
	int64_t id;
	int i, rows, err;

	pgq_text(&p, n->name);
	switch (n->kind) {
	case QUERY_WORD:
		snprintf(base, sizeof(base), "SELECT id FROM tags WHERE name = $1::text AND value = ''");
		break;
	case QUERY_TAG:
		snprintf(base, sizeof(base),
			 "SELECT id FROM tags WHERE name = $1::text AND value = $2::text");
		pgq_text(&p, n->value);
		break;
	case QUERY_HAS:
		snprintf(base, sizeof(base), "SELECT id FROM tags WHERE name = $1::text");
		break;
	default:
		/* query_value_number()'s rule: '-'? and 1..18 digits; others never compare. */
		snprintf(base, sizeof(base), "SELECT id FROM tags WHERE name = $1::text AND "
			 "CASE WHEN value ~ '^-?[0-9]{1,18}$' THEN value::bigint END %s $2::bigint",
			 spg_op[n->op]);
		pgq_int(&p, n->num);
	}
	snprintf(sql, sizeof(sql), closure, base);
	res = pgq_exec(q->c, sql, &p, "search: tags", &err);
	if (!res) {
		q->err = q->err ? q->err : err;
		return 0;
	}
	rows = PQntuples(res);
	arr = rows ? malloc((size_t)rows * 21 + 3) : NULL;
	if (rows && !arr)
		q->err = -ENOMEM;
	for (i = 0; arr && i < rows; i++) {
		if (pgq_col_int(res, i, 0, &id)) {
			q->err = -EIO;
			break;
		}
		at += (size_t)sprintf(arr + at, "%c%lld", i ? ',' : '{', (long long)id);
	}
	PQclear(res);
	if (!rows || q->err) {
		free(arr);
		return 0;
	}
	sprintf(arr + at, "}");
	return spg_param_take(q, arr, 0, 0);
}

static bool spg_is_tag_leaf(const struct query_node *n)
{
	return n->kind == QUERY_TAG || ((n->kind == QUERY_HAS || n->kind == QUERY_CMP) &&
					!query_is_pseudo(n->name));
}

static void spg_pred_tags(struct spg *q, unsigned int p)
{
	spg_emit(q, "EXISTS (SELECT 1 FROM file_tags ft WHERE ft.file_id = f.id AND "
	     "ft.tag_id = ANY($%u::bigint[]))", p);
}

static void spg_pred_text(struct spg *q, unsigned int p)
{
	spg_emit(q, "EXISTS (SELECT 1 FROM file_text ft WHERE ft.file_id = f.id AND "
	     "ft.words @@ $%u::tsquery)", p);
}

/* @n as a boolean expression over files f. @negated: under an odd number of NOTs. */
static void spg_pred(struct spg *q, const struct query_node *n, bool negated)
{
	const struct query_node *k;
	unsigned int ptext = 0, ptags = 0;
	char *ts = NULL;
	int err;

	if (q->err)
		return;
	switch (n->kind) {
	case QUERY_NOT:
		spg_emit(q, "(NOT ");
		spg_pred(q, n->child, !negated);
		spg_emit(q, ")");
		return;
	case QUERY_AND:
	case QUERY_OR:
		spg_emit(q, "(");
		for (k = n->child; k; k = k->next) {
			if (k != n->child)
				spg_emit(q, n->kind == QUERY_AND ? " AND " : " OR ");
			spg_pred(q, k, negated);
		}
		spg_emit(q, ")");
		return;
	case QUERY_WORD:
	case QUERY_PHRASE:
		err = fts_tsquery_phrase(n->text, &ts);
		if (err == -ENOMEM) {
			q->err = err;
			return;
		}
		if (ts) {
			ptext = spg_param_text(q, ts);
			if (!negated)
				spg_rank_add(q, ts);
			free(ts);
		}
		if (n->kind == QUERY_WORD && n->name)
			ptags = spg_tags(q, n);
		if (!ptext && !ptags) {
			spg_emit(q, "FALSE");
			return;
		}
		spg_emit(q, "(");
		if (ptext)
			spg_pred_text(q, ptext);
		if (ptext && ptags)
			spg_emit(q, " OR ");
		if (ptags)
			spg_pred_tags(q, ptags);
		spg_emit(q, ")");
		return;
	default:
		if (spg_is_tag_leaf(n)) {
			ptags = spg_tags(q, n);
			if (ptags)
				spg_pred_tags(q, ptags);
			else
				spg_emit(q, "FALSE");
		} else if (n->kind == QUERY_HAS) {
			spg_emit(q, "TRUE");		/* size=*, mtime=*: every file */
		} else {
			/* The name is one of ours (query_is_pseudo), never the user's text. */
			spg_emit(q, "f.%s %s $%u::bigint", !strcmp(n->name, "size") ? "size" : "mtime",
			     spg_op[n->op], spg_param_int(q, n->num));
		}
	}
}

/* The condition on files f that the files @query finds under @prefix meet. */
static void spg_hits(struct spg *q, const char *prefix)
{
	size_t plen = prefix ? strlen(prefix) : 0;

	spg_pred(q, q->query->root, false);
	if (plen) {
		unsigned int a = spg_param_bytes(q, prefix, plen);

		spg_emit(q, " AND substr(f.path, 1, $%u::integer) = $%u::bytea",
		     spg_param_int(q, (int64_t)plen), a);
	}
}

/* Search's spg_deadline (SEARCH_TIME_MAX_MS) for this transaction's statements. */
static int spg_deadline(PGconn *c)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "SET LOCAL statement_timeout = %d", SEARCH_TIME_MAX_MS);
	return pgq_run(c, sql, NULL, "search: deadline", NULL);
}

static PGresult *spg_exec(struct spg *q, const char *what, int *err)
{
	PGresult *res = PQexecParams(q->c, q->sql.s, (int)q->n, NULL, (const char *const *)q->val,
				     q->vlen, q->fmt, 1);

	if (PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK) {
		*err = 0;
		return res;
	}
	*err = pgq_err(q->c, res, what);
	PQclear(res);
	return NULL;
}

/* ---- running a search ---- */

struct spg_run {
	const struct query *query;
	const struct search_page *pg;
	json_t *files;
	char *next;
	size_t next_size;
	bool *more;
};

static const char *spg_source_name(int64_t source)
{
	return source == 1 ? "user" : source == 2 ? "implied" : "auto";
}

/* As GET /files/{path}?tags shows them: implied tags too. */
static json_t *spg_file_tags(PGconn *c, int64_t file_id, int *err)
{
	struct pgq p = { .n = 0 };
	json_t *tags = json_array();
	PGresult *res;
	int64_t src;
	int i, nl = 0, vl = 0;	/* set by pgq_col_bytes(); gcc cannot tell when inlined */

	pgq_int(&p, file_id);
	pgq_int(&p, SEARCH_TAGS_MAX);
	res = pgq_exec(c, "WITH RECURSIVE own(tag_id, source) AS "
		       "(SELECT tag_id, source FROM file_tags WHERE file_id = $1::bigint), "
		       "imp(tag_id) AS (SELECT tag_id FROM own UNION SELECT ti.implied_id "
		       "FROM tag_implies ti JOIN imp ON ti.tag_id = imp.tag_id) "
		       "SELECT t.name, t.value, coalesce(own.source, 2) FROM imp "
		       "JOIN tags t ON t.id = imp.tag_id LEFT JOIN own ON own.tag_id = imp.tag_id "
		       "ORDER BY t.name COLLATE \"C\", t.value COLLATE \"C\" LIMIT $2::bigint",
		       &p, "search: tags", err);
	if (!res) {
		json_decref(tags);
		return NULL;
	}
	for (i = 0; tags && i < PQntuples(res); i++) {
		const char *n = pgq_col_bytes(res, i, 0, &nl);
		const char *v = pgq_col_bytes(res, i, 1, &vl);

		if (!n || !v || pgq_col_int(res, i, 2, &src))
			continue;
		json_array_append_new(tags, vl ?
				      json_pack("{s:s%,s:s%,s:s}", "name", n, (size_t)nl, "value", v,
						(size_t)vl, "source", spg_source_name(src)) :
				      json_pack("{s:s%,s:n,s:s}", "name", n, (size_t)nl, "value", "source",
						spg_source_name(src)));
	}
	PQclear(res);
	if (!tags)
		*err = -ENOMEM;
	return tags;
}

static int spg_run_fn(PGconn *c, void *arg)
{
	struct spg_run *r = arg;
	const struct search_page *pg = r->pg;
	struct spg q = { .c = c, .query = r->query };
	unsigned int a, b, n = 0, rk = 0;
	char num[40];
	PGresult *res = NULL;
	char *where;
	int i, err, plen;

	json_array_clear(r->files);
	*r->more = false;
	err = spg_deadline(c);
	if (err)
		return err;
	/* The predicate first: it makes the ranked phrases. */
	spg_hits(&q, pg->prefix);
	where = q.sql.s;
	q.sql = (struct strbuf){ 0 };
	rk = q.rank.len ? spg_param_text(&q, q.rank.s) : 0;
	spg_emit(&q, "SELECT id, path, score FROM (SELECT f.id AS id, f.path AS path, ");
	if (rk)
		spg_emit(&q, "CASE WHEN t.words @@ $%u::tsquery THEN ts_rank(t.words, $%u::tsquery)"
		     "::float8 ELSE 0::float8 END AS score FROM files f LEFT JOIN file_text t "
		     "ON t.file_id = f.id WHERE ", rk, rk);
	else
		spg_emit(&q, "0::float8 AS score FROM files f WHERE ");
	spg_emit_raw(&q, where ? where : "FALSE");
	free(where);
	spg_emit(&q, ") h");
	if (pg->has_after) {
		snprintf(num, sizeof(num), "%.17g", pg->after_score);
		a = spg_param_text(&q, num);
		b = spg_param_bytes(&q, pg->after_path, strlen(pg->after_path));
		spg_emit(&q, " WHERE score < $%u::float8 OR (score = $%u::float8 AND path > $%u::bytea)",
		     a, a, b);
	}
	/* One more than asked: whether a next page exists. */
	spg_emit(&q, " ORDER BY score DESC, path LIMIT $%u::bigint", spg_param_int(&q, (int64_t)pg->limit + 1));
	err = q.err;
	if (!err)
		res = spg_exec(&q, "search", &err);
	for (i = 0; res && !err && i < PQntuples(res); i++) {
		const char *path = pgq_col_bytes(res, i, 1, &plen);
		int64_t id;
		double score;
		json_t *f;

		if (n == pg->limit) {
			*r->more = true;
			break;
		}
		if (!path || plen <= 0 || plen > META_PATH_MAX || memchr(path, 0, plen) ||
		    pgq_col_int(res, i, 0, &id) || pgq_col_double(res, i, 2, &score))
			continue;
		f = json_pack("{s:s%,s:f}", "path", path, (size_t)plen, "score", score);
		if (!f)
			continue;	/* a path that is not UTF-8: JSON cannot carry it */
		if (pg->with_tags) {
			json_t *tags = spg_file_tags(c, id, &err);

			if (!tags) {
				json_decref(f);
				break;
			}
			json_object_set_new(f, "tags", tags);
		}
		if (json_array_append_new(r->files, f)) {
			err = -ENOMEM;
			break;
		}
		snprintf(r->next, r->next_size, "%a,%.*s", score, plen, path);
		n++;
	}
	PQclear(res);
	spg_free(&q);
	return err;
}

int search_pg_run(struct meta *m, const struct query *q, const struct search_page *pg,
		  json_t *files, char *next, size_t next_size, bool *more)
{
	struct spg_run r = { q, pg, files, next, next_size, more };

	return meta_run_pg(m, false, spg_run_fn, &r);
}

/* ---- bulk tagging ---- */

struct spg_apply {
	const struct query *query;
	const char *prefix;
	const struct tag *add, *remove;
	size_t nadd, nremove;
	uint64_t files;
};

static int spg_tag_exec(PGconn *c, const char *sql, const struct tag *t)
{
	struct pgq p = { .n = 0 };

	pgq_text(&p, t->name);
	pgq_text(&p, t->value);
	return pgq_run(c, sql, &p, "search: apply", NULL);
}

/* As search.c's run_apply(), which says why. */
static int spg_apply_fn(PGconn *c, void *arg)
{
	struct spg_apply *ap = arg;
	struct spg q = { .c = c, .query = ap->query };
	struct pgq p = { .n = 0 };
	PGresult *res;
	int64_t over;
	size_t i;
	int err;

	err = spg_deadline(c);
	err = err ?: pgq_run(c, "CREATE TEMP TABLE IF NOT EXISTS bulk_hits (id bigint PRIMARY KEY) "
			     "ON COMMIT DELETE ROWS", NULL, "search: apply", NULL);
	err = err ?: pgq_run(c, "DELETE FROM bulk_hits", NULL, "search: apply", NULL);
	if (err)
		return err;
	spg_emit(&q, "INSERT INTO bulk_hits (id) SELECT f.id FROM files f WHERE ");
	spg_hits(&q, ap->prefix);
	err = q.err;
	res = err ? NULL : spg_exec(&q, "search: apply", &err);
	if (res)
		ap->files = strtoull(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	spg_free(&q);
	for (i = 0; !err && i < ap->nremove; i++) {
		err = spg_tag_exec(c, "INSERT INTO tags (name, value) VALUES ($1::text, $2::text) "
			       "ON CONFLICT (name, value) DO NOTHING", &ap->remove[i]);
		err = err ?: spg_tag_exec(c, "DELETE FROM file_tags WHERE tag_id = (SELECT id FROM tags "
				      "WHERE name = $1::text AND value = $2::text) "
				      "AND file_id IN (SELECT id FROM bulk_hits)", &ap->remove[i]);
		err = err ?: spg_tag_exec(c, "INSERT INTO file_tags_removed (file_id, tag_id) "
				      "SELECT h.id, t.id FROM bulk_hits h, tags t WHERE "
				      "t.name = $1::text AND t.value = $2::text ON CONFLICT DO NOTHING",
				      &ap->remove[i]);
	}
	for (i = 0; !err && i < ap->nadd; i++) {
		err = spg_tag_exec(c, "INSERT INTO tags (name, value) VALUES ($1::text, $2::text) "
			       "ON CONFLICT (name, value) DO NOTHING", &ap->add[i]);
		err = err ?: spg_tag_exec(c, "INSERT INTO file_tags (file_id, tag_id, source) "
				      "SELECT h.id, t.id, 1 FROM bulk_hits h, tags t WHERE "
				      "t.name = $1::text AND t.value = $2::text "
				      "ON CONFLICT (file_id, tag_id) DO UPDATE SET source = 1",
				      &ap->add[i]);
		err = err ?: spg_tag_exec(c, "DELETE FROM file_tags_removed WHERE tag_id = (SELECT id "
				      "FROM tags WHERE name = $1::text AND value = $2::text) "
				      "AND file_id IN (SELECT id FROM bulk_hits)", &ap->add[i]);
	}
	if (!err && ap->nadd) {
		pgq_int(&p, META_TAGS_USER_MAX);
		err = pgq_one_int(c, "SELECT count(*) FROM file_tags WHERE source = 1 AND "
				  "file_id IN (SELECT id FROM bulk_hits) GROUP BY file_id "
				  "HAVING count(*) > $1::bigint LIMIT 1", &p, "search: apply", &over);
		err = err == -ENOENT ? 0 : err ? err : -E2BIG;
	}
	return err;
}

int search_pg_apply(struct meta *m, const struct query *q, const char *prefix,
		    const struct tag *add, size_t nadd, const struct tag *remove,
		    size_t nremove, uint64_t *files)
{
	struct spg_apply ap = { .query = q, .prefix = prefix, .add = add, .nadd = nadd,
			    .remove = remove, .nremove = nremove };
	int err = meta_run_pg(m, true, spg_apply_fn, &ap);

	if (!err && files)
		*files = ap.files;
	return err;
}
