// SPDX-License-Identifier: GPL-2.0
/*
 * Tag storage on PostgreSQL (meta_tags_pg.h), through meta_run_pg():
 * each call is one transaction, the same steps as meta_tags.c's on
 * SQLite in this dialect. Every value is a bound parameter. Text is
 * ordered COLLATE "C" (bytes), as SQLite orders it, whatever the
 * database's collation. Unlike SQLite, several dgfsd may change tags at
 * once: inserts that may collide say ON CONFLICT, and storing a file's
 * auto tags first locks its row, so one file is tagged by one writer at
 * a time.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgfsd/meta_tags_pg.h"
#include "dgfsd/fts_words.h"
#include "dgfsd/pgq.h"

/* ---- helpers ---- */

static int mp_exec2(PGconn *c, const char *sql, int64_t a, int64_t b, const char *what,
		    long *changed)
{
	struct pgq p = { .n = 0 };

	pgq_int(&p, a);
	pgq_int(&p, b);
	return pgq_run(c, sql, &p, what, changed);
}

static int mp_exec1(PGconn *c, const char *sql, int64_t a, const char *what)
{
	struct pgq p = { .n = 0 };

	pgq_int(&p, a);
	return pgq_run(c, sql, &p, what, NULL);
}

static int mp_file_id(PGconn *c, const char *path, int64_t *id)
{
	struct pgq p = { .n = 0 };

	pgq_bytes(&p, path, strlen(path));
	return pgq_one_int(c, "SELECT id FROM files WHERE path = $1::bytea", &p, "file lookup", id);
}

/* The tag's id, made if @create and it is new: 0, -ENOENT, or -errno. */
static int mp_tag_id(PGconn *c, const struct tag *t, bool create, int64_t *id)
{
	struct pgq p = { .n = 0 };
	int err;

	pgq_text(&p, t->name);
	pgq_text(&p, t->value);
	if (create) {
		err = pgq_run(c, "INSERT INTO tags (name, value) VALUES ($1::text, $2::text) "
			      "ON CONFLICT (name, value) DO NOTHING", &p, "tag add", NULL);
		if (err)
			return err;
	}
	return pgq_one_int(c, "SELECT id FROM tags WHERE name = $1::text AND value = $2::text",
			   &p, "tag lookup", id);
}

/* A (name, value) row read back: -EIO if it is not a tag this code would write. */
static int mp_col_tag(const PGresult *res, int row, int col, struct tag *t)
{
	int nl = 0, vl = 0;
	const char *n = pgq_col_bytes(res, row, col, &nl);
	const char *v = pgq_col_bytes(res, row, col + 1, &vl);

	if (!n || !v || nl <= 0 || nl > TAG_NAME_MAX || vl < 0 || vl > TAG_VALUE_MAX ||
	    memchr(n, 0, nl) || memchr(v, 0, vl)) {
		fprintf(stderr, "dgfsd: meta: a tag row is malformed\n");
		return -EIO;
	}
	memcpy(t->name, n, nl);
	t->name[nl] = 0;
	memcpy(t->value, v, vl);
	t->value[vl] = 0;
	return 0;
}

/* ---- reading ---- */

struct mp_get {
	const char *path;
	struct meta_tag_list *out;
};

/* As meta_tags.c's mt_get_sql. */
static const char mp_get_sql[] =
	"WITH RECURSIVE own(tag_id, source) AS ("
	"  SELECT tag_id, source FROM file_tags WHERE file_id = $1::bigint), "
	"imp(tag_id) AS ("
	"  SELECT implied_id FROM tag_implies WHERE tag_id IN (SELECT tag_id FROM own) "
	"  UNION SELECT ti.implied_id FROM tag_implies ti JOIN imp ON ti.tag_id = imp.tag_id) "
	"SELECT t.name COLLATE \"C\" AS name, t.value COLLATE \"C\" AS value, own.source "
	"FROM own JOIN tags t ON t.id = own.tag_id "
	"UNION ALL "
	"SELECT t.name, t.value, 2::bigint FROM imp JOIN tags t ON t.id = imp.tag_id "
	"WHERE imp.tag_id NOT IN (SELECT tag_id FROM own) "
	"ORDER BY name, value";

static int mp_get_fn(PGconn *c, void *arg)
{
	struct mp_get *g = arg;
	struct pgq p = { .n = 0 };
	PGresult *res;
	struct tag t;
	int64_t id, src;
	int i, err;

	g->out->n = 0;
	err = mp_file_id(c, g->path, &id);
	if (err)
		return err;
	pgq_int(&p, id);
	res = pgq_exec(c, mp_get_sql, &p, "tags get", &err);
	if (!res)
		return err;
	for (i = 0; !err && i < PQntuples(res); i++) {
		err = mp_col_tag(res, i, 0, &t);
		if (!err && pgq_col_int(res, i, 2, &src))
			err = -EIO;
		if (!err)
			err = meta_tag_list_add(g->out, &t, src == 1 ? META_TAG_USER :
						src == 2 ? META_TAG_IMPLIED : META_TAG_AUTO);
	}
	PQclear(res);
	return err;
}

int meta_tags_pg_get(struct meta *m, const char *path, struct meta_tag_list *out)
{
	struct mp_get g = { path, out };

	return meta_run_pg(m, false, mp_get_fn, &g);
}

/* ---- user changes ---- */

struct mp_change {
	const char *path;
	const struct tag *add, *rm;
	size_t nadd, nrm;
};

static int mp_change_fn(PGconn *c, void *arg)
{
	struct mp_change *x = arg;
	int64_t fid, tid, n;
	struct pgq p = { .n = 0 };
	size_t i;
	int err;

	err = mp_file_id(c, x->path, &fid);
	for (i = 0; !err && i < x->nrm; i++) {
		err = mp_tag_id(c, &x->rm[i], true, &tid);
		err = err ?: mp_exec2(c, "DELETE FROM file_tags WHERE file_id = $1::bigint AND "
				      "tag_id = $2::bigint", fid, tid, "tag remove", NULL);
		err = err ?: mp_exec2(c, "INSERT INTO file_tags_removed (file_id, tag_id) "
				      "VALUES ($1::bigint, $2::bigint) ON CONFLICT DO NOTHING",
				      fid, tid, "tag remove", NULL);
	}
	for (i = 0; !err && i < x->nadd; i++) {
		err = mp_tag_id(c, &x->add[i], true, &tid);
		err = err ?: mp_exec2(c, "INSERT INTO file_tags (file_id, tag_id, source) "
				      "VALUES ($1::bigint, $2::bigint, 1) ON CONFLICT (file_id, tag_id) "
				      "DO UPDATE SET source = 1", fid, tid, "tag add", NULL);
		err = err ?: mp_exec2(c, "DELETE FROM file_tags_removed WHERE file_id = $1::bigint "
				      "AND tag_id = $2::bigint", fid, tid, "tag add", NULL);
	}
	if (!err && x->nadd) {
		pgq_int(&p, fid);
		err = pgq_one_int(c, "SELECT count(*) FROM file_tags WHERE file_id = $1::bigint "
				  "AND source = 1", &p, "tag add", &n);
		if (!err && n > META_TAGS_USER_MAX)
			err = -E2BIG;
	}
	return err;
}

int meta_tags_pg_user_change(struct meta *m, const char *path, const struct tag *add,
			     size_t nadd, const struct tag *rm, size_t nrm)
{
	struct mp_change x = { path, add, rm, nadd, nrm };

	return meta_run_pg(m, true, mp_change_fn, &x);
}

/* ---- automatic tags ---- */

/* Adds auto tag @t unless the user removed it; *added: whether a row came. */
static int mp_auto_tag(PGconn *c, int64_t fid, const struct tag *t, long *added)
{
	int64_t tid;
	int err = mp_tag_id(c, t, true, &tid);

	return err ?: mp_exec2(c, "INSERT INTO file_tags (file_id, tag_id, source) "
			       "SELECT $1::bigint, $2::bigint, 0 WHERE NOT EXISTS (SELECT 1 FROM "
			       "file_tags_removed WHERE file_id = $1::bigint AND tag_id = $2::bigint) "
			       "ON CONFLICT DO NOTHING", fid, tid, "auto tag", added);
}

/* As meta_tags.c's mt_keywords(), which says why. */
static int mp_keywords(PGconn *c, int64_t file_id, unsigned int k, struct meta_tag_list *kw)
{
	struct mt_scored *s = NULL;
	size_t n = 0, i, got = 0;
	struct pgq p = { .n = 0 };
	PGresult *res;
	int64_t docs = 0, tf, df;
	int err, row;

	err = mp_exec1(c, "DELETE FROM file_tags WHERE file_id = $1::bigint AND source = 0 AND "
		       "tag_id IN (SELECT tag_id FROM file_keyword_tags WHERE file_id = $1::bigint)",
		       file_id, "keywords");
	err = err ?: mp_exec1(c, "DELETE FROM file_keyword_tags WHERE file_id = $1::bigint",
			      file_id, "keywords");
	err = err ?: mp_exec1(c, "DELETE FROM file_keywords WHERE file_id = $1::bigint",
			      file_id, "keywords");
	if (err || !k)
		return err;
	err = pgq_one_int(c, "SELECT df FROM term_df WHERE term = ''", NULL, "keywords", &docs);
	if (err == -ENOENT)
		return 0;	/* no file has terms */
	if (err)
		return err;
	pgq_int(&p, file_id);
	res = pgq_exec(c, "SELECT f.term, f.count, d.df FROM file_terms f JOIN term_df d "
		       "ON d.term = f.term WHERE f.file_id = $1::bigint", &p, "keywords", &err);
	if (!res)
		return err;
	n = (size_t)PQntuples(res);
	s = calloc(n ? n : 1, sizeof(*s));
	if (!s)
		err = -ENOMEM;
	for (row = 0, i = 0; !err && row < PQntuples(res); row++) {
		int len = 0;
		const char *t = pgq_col_bytes(res, row, 0, &len);

		if (!t || len <= 0 || len > META_TERM_MAX || pgq_col_int(res, row, 1, &tf) ||
		    pgq_col_int(res, row, 2, &df))
			continue;
		memcpy(s[i].term, t, len);
		s[i].term[len] = 0;
		s[i].score = mt_tfidf((double)tf, (double)df, (double)docs);
		i++;
	}
	PQclear(res);
	n = i;
	if (!err)
		qsort(s, n, sizeof(*s), mt_scored_cmp);
	for (i = 0; !err && i < n && got < k; i++) {
		struct tag t;
		int64_t tid;
		long added = 0;

		if (tag_make(s[i].term, NULL, &t, NULL))
			continue;	/* not a valid tag name: not a keyword */
		err = mp_auto_tag(c, file_id, &t, &added);
		if (!err && added) {
			err = mp_tag_id(c, &t, false, &tid);
			err = err ?: mp_exec2(c, "INSERT INTO file_keyword_tags (file_id, tag_id) "
					      "VALUES ($1::bigint, $2::bigint) ON CONFLICT DO NOTHING",
					      file_id, tid, "keywords", NULL);
		}
		if (!err && kw)
			err = meta_tag_list_add(kw, &t, META_TAG_AUTO);
		got++;
	}
	free(s);
	return err ?: mp_exec2(c, "INSERT INTO file_keywords (file_id, docs) "
			       "VALUES ($1::bigint, $2::bigint)", file_id, docs, "keywords", NULL);
}

struct mp_auto {
	int64_t file_id;
	const char *etag;
	const struct meta_auto_tags *a;
	struct meta_tag_list *kw;
	const char *words;		/* the text's tsvector literal, NULL if none */
};

static int mp_auto_fn(PGconn *c, void *arg)
{
	struct mp_auto *x = arg;
	const struct meta_auto_tags *a = x->a;
	struct pgq p = { .n = 0 };
	PGresult *res;
	size_t i;
	int err;

	if (x->kw)
		x->kw->n = 0;
	/*
	 * Only the version that was tagged: a newer one has its own job. The
	 * row stays locked, so neither a new upload nor another dgfsd's
	 * tagging of it interleaves with this.
	 */
	pgq_int(&p, x->file_id);
	pgq_bytes(&p, x->etag, strlen(x->etag));
	res = pgq_exec(c, "SELECT id FROM files WHERE id = $1::bigint AND etag = $2::bytea "
		       "FOR UPDATE", &p, "auto tags", &err);
	if (!res)
		return err;
	err = PQntuples(res) ? 0 : -ESTALE;
	PQclear(res);
	err = err ?: mp_exec1(c, "DELETE FROM file_tags WHERE file_id = $1::bigint AND source = 0",
			      x->file_id, "auto tags");
	for (i = 0; !err && i < a->ntags && i < META_TAGS_AUTO_MAX; i++)
		err = mp_auto_tag(c, x->file_id, &a->tags[i], NULL);
	err = err ?: mp_exec1(c, "DELETE FROM file_terms WHERE file_id = $1::bigint",
			      x->file_id, "terms");
	for (i = 0; !err && i < a->nterms && i < META_TERMS_MAX; i++) {
		size_t len = strnlen(a->terms[i].term, META_TERM_MAX + 1);
		char term[META_TERM_MAX + 1];

		if (!len || len > META_TERM_MAX || a->terms[i].count <= 0)
			continue;
		memcpy(term, a->terms[i].term, len);
		term[len] = 0;
		p.n = 0;
		pgq_int(&p, x->file_id);
		pgq_text(&p, term);
		pgq_int(&p, a->terms[i].count);
		err = pgq_run(c, "INSERT INTO file_terms AS f (file_id, term, count) VALUES "
			      "($1::bigint, $2::text, $3::bigint) ON CONFLICT (file_id, term) "
			      "DO UPDATE SET count = f.count + excluded.count", &p, "terms", NULL);
	}
	err = err ?: mp_exec1(c, "DELETE FROM file_text WHERE file_id = $1::bigint",
			      x->file_id, "text");
	if (!err && x->words && x->words[0]) {
		p.n = 0;
		pgq_int(&p, x->file_id);
		pgq_text(&p, x->words);
		err = pgq_run(c, "INSERT INTO file_text (file_id, words) "
			      "VALUES ($1::bigint, $2::text::tsvector)", &p, "text", NULL);
	}
	return err ?: mp_keywords(c, x->file_id, a->nterms ? a->keywords : 0, x->kw);
}

int meta_tags_pg_auto_set(struct meta *m, int64_t file_id, const char *etag,
			  const struct meta_auto_tags *a, struct meta_tag_list *kw)
{
	struct mp_auto x = { file_id, etag, a, kw, NULL };
	char *words = NULL;
	int err = 0;

	/* The words are cut before the transaction: ICU, not the database, does that. */
	if (a->text && a->text_len)
		err = fts_tsvector(a->text, a->text_len < META_TEXT_MAX ? a->text_len :
				   META_TEXT_MAX, &words);
	if (err == -EINVAL)
		err = 0;	/* not UTF-8: no text to search, as SQLite's FTS5 would find none */
	if (err)
		return err;
	x.words = words;
	err = meta_run_pg(m, true, mp_auto_fn, &x);
	free(words);
	return err;
}

/* ---- keywords as the corpus changes ---- */

struct mp_refresh {
	unsigned int max, done;
};

static int mp_refresh_fn(PGconn *c, void *arg)
{
	struct mp_refresh *x = arg;
	int64_t ids[META_KEYWORDS_REFRESH_MAX], docs = 0;
	struct pgq p = { .n = 0 };
	PGresult *res;
	unsigned int n = 0, i;
	int err;

	x->done = 0;
	err = pgq_one_int(c, "SELECT df FROM term_df WHERE term = ''", NULL, "keywords", &docs);
	if (err == -ENOENT)
		docs = 0, err = 0;
	if (err)
		return err;
	pgq_int(&p, docs);
	pgq_int(&p, x->max);
	res = pgq_exec(c, "SELECT k.file_id FROM file_keywords k WHERE "
		       "(k.docs * 2 <= $1::bigint OR k.docs >= $1::bigint * 2) AND k.docs != $1::bigint "
		       "AND NOT EXISTS (SELECT 1 FROM tag_jobs j WHERE j.file_id = k.file_id) "
		       "LIMIT $2::bigint", &p, "keywords due", &err);
	if (!res)
		return err;
	for (i = 0; (int)i < PQntuples(res) && n < x->max; i++)
		if (!pgq_col_int(res, (int)i, 0, &ids[n]))
			n++;
	PQclear(res);
	for (i = 0; !err && i < n; i++)
		err = mp_keywords(c, ids[i], META_KEYWORDS, NULL);
	if (!err)
		x->done = n;
	return err;
}

int meta_keywords_pg_refresh(struct meta *m, unsigned int max, unsigned int *done)
{
	struct mp_refresh x = { max, 0 };
	int err = meta_run_pg(m, true, mp_refresh_fn, &x);

	*done = err ? 0 : x.done;
	return err;
}

/* ---- implications ---- */

struct mp_imply {
	const struct tag *a, *b;
};

static int mp_unimply_fn(PGconn *c, void *arg)
{
	struct mp_imply *x = arg;
	int64_t a, b;
	long changed = 0;
	int err;

	err = mp_tag_id(c, x->a, false, &a);
	err = err ?: mp_tag_id(c, x->b, false, &b);
	err = err ?: mp_exec2(c, "DELETE FROM tag_implies WHERE tag_id = $1::bigint AND "
			      "implied_id = $2::bigint", a, b, "unimply", &changed);
	return err ? err : changed ? 0 : -ENOENT;
}

/*
 * a -> b closes a cycle if b already reaches a. The table is locked
 * first: two dgfsd adding a -> b and b -> a at once would each see no
 * cycle.
 */
static int mp_imply_add_fn(PGconn *c, void *arg)
{
	struct mp_imply *x = arg;
	struct pgq p = { .n = 0 };
	int64_t a, b, one;
	int err;

	err = pgq_run(c, "LOCK TABLE tag_implies IN SHARE ROW EXCLUSIVE MODE", NULL, "imply", NULL);
	err = err ?: mp_tag_id(c, x->a, true, &a);
	err = err ?: mp_tag_id(c, x->b, true, &b);
	if (err)
		return err;
	pgq_int(&p, b);
	pgq_int(&p, a);
	err = pgq_one_int(c, "WITH RECURSIVE r(id) AS (SELECT $1::bigint UNION "
			  "SELECT ti.implied_id FROM tag_implies ti JOIN r ON ti.tag_id = r.id) "
			  "SELECT 1::bigint FROM r WHERE id = $2::bigint LIMIT 1", &p, "imply", &one);
	if (!err)
		return -ELOOP;
	if (err != -ENOENT)
		return err;
	return mp_exec2(c, "INSERT INTO tag_implies (tag_id, implied_id) VALUES "
			"($1::bigint, $2::bigint) ON CONFLICT DO NOTHING", a, b, "imply", NULL);
}

int meta_tag_pg_imply(struct meta *m, const struct tag *a, const struct tag *b, bool add)
{
	struct mp_imply x = { a, b };

	return meta_run_pg(m, true, (add ? mp_imply_add_fn :
									   mp_unimply_fn), &x);
}

struct mp_implies_walk {
	int (*cb)(const struct tag *a, const struct tag *b, void *arg);
	void *arg;
};

static int mp_implies_list_fn(PGconn *c, void *arg)
{
	struct mp_implies_walk *w = arg;
	PGresult *res;
	struct tag a, b;
	int i, err;

	res = pgq_exec(c, "SELECT ta.name, ta.value, tb.name, tb.value FROM tag_implies i "
		       "JOIN tags ta ON ta.id = i.tag_id JOIN tags tb ON tb.id = i.implied_id "
		       "ORDER BY ta.name COLLATE \"C\", ta.value COLLATE \"C\", "
		       "tb.name COLLATE \"C\", tb.value COLLATE \"C\"",
		       NULL, "implies list", &err);
	if (!res)
		return err;
	for (i = 0; !err && i < PQntuples(res); i++) {
		err = mp_col_tag(res, i, 0, &a);
		err = err ?: mp_col_tag(res, i, 2, &b);
		err = err ?: w->cb(&a, &b, w->arg);
	}
	PQclear(res);
	return err;
}

int meta_tag_pg_implies_list(struct meta *m,
			     int (*cb)(const struct tag *a, const struct tag *b, void *arg),
			     void *arg)
{
	struct mp_implies_walk w = { cb, arg };

	return meta_run_pg(m, false, mp_implies_list_fn, &w);
}

struct mp_starting {
	const char *start, *path_prefix;
	unsigned int limit;
	int (*cb)(const struct tag *t, int64_t files, void *arg);
	void *arg;
};

static int mp_starting_fn(PGconn *c, void *arg)
{
	struct mp_starting *w = arg;
	struct pgq p = { .n = 0 };
	PGresult *res;
	struct tag t;
	int64_t n;
	int i, err;

	/* Bytes compared, not characters, as on SQLite. */
	pgq_bytes(&p, w->start, strlen(w->start));
	pgq_int(&p, (int64_t)strlen(w->start));
	pgq_bytes(&p, w->path_prefix, strlen(w->path_prefix));
	pgq_int(&p, (int64_t)strlen(w->path_prefix));
	pgq_int(&p, w->limit);
	res = pgq_exec(c, "SELECT t.name, t.value, count(*) AS n FROM tags t "
		       "JOIN file_tags ft ON ft.tag_id = t.id JOIN files f ON f.id = ft.file_id "
		       "WHERE substr(convert_to(t.name || CASE WHEN t.value = '' THEN '' "
		       "ELSE '=' || t.value END, 'UTF8'), 1, $2::integer) = $1::bytea "
		       "AND substr(f.path, 1, $4::integer) = $3::bytea "
		       "GROUP BY t.id ORDER BY n DESC, t.name COLLATE \"C\", t.value COLLATE \"C\" "
		       "LIMIT $5::bigint", &p, "tags starting", &err);
	if (!res)
		return err;
	for (i = 0; !err && i < PQntuples(res); i++) {
		err = mp_col_tag(res, i, 0, &t);
		if (!err && pgq_col_int(res, i, 2, &n))
			err = -EIO;
		err = err ?: w->cb(&t, n, w->arg);
	}
	PQclear(res);
	return err;
}

int meta_tags_pg_starting(struct meta *m, const char *start, const char *path_prefix,
			  unsigned int limit,
			  int (*cb)(const struct tag *t, int64_t files, void *arg), void *arg)
{
	struct mp_starting w = { start, path_prefix, limit, cb, arg };

	return meta_run_pg(m, false, mp_starting_fn, &w);
}

/* ---- the queue ---- */

/*
 * A job is claimed across hosts with a session-level advisory lock on its
 * file id ("dgft" in the high half, the id's low 32 bits in the low: two
 * ids that share them only wait for each other), held by the host's
 * connection while one of its workers tags the file: another host skips
 * the job, and a host that dies (its session ends) lets it go. A lock
 * taken in a transaction that is then run again stays held (advisory
 * locks ignore rollback), so one this session holds already counts as
 * taken, not taken twice. Without this, each host took the oldest job
 * and hosts tagged the same files again (41 jobs for 16 files).
 */
#define MP_JOB_LOCK	"(x'6467667400000000'::bigint | ($1::bigint & 4294967295))"
#define MP_JOB_LOCK_CLASS_SQL	"1684498036"

/* Rows looked at for a job: this host's busy ones, and other hosts'. */
#define MP_JOB_CANDIDATES	64

struct mp_job {
	const int64_t *busy;
	size_t nbusy;
	struct meta_tag_job *j;
};

static int mp_job_unlock(PGconn *c, int64_t file_id)
{
	return mp_exec1(c, "SELECT pg_advisory_unlock(" MP_JOB_LOCK ")", file_id, "job release");
}

/*
 * Claims @j for this host: *claimed, its lock held and its attempts
 * counted, or not (another host tags it, or its row went or changed since
 * it was read: it was done, or queued again for a newer version).
 */
static int mp_job_claim(PGconn *c, const struct meta_tag_job *j, bool *claimed)
{
	struct pgq p = { .n = 0 };
	int64_t got;
	long changed = 0;
	int err;

	*claimed = false;
	pgq_int(&p, j->file_id);
	err = pgq_one_int(c, "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks "
			  "WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database "
			  "WHERE datname = current_database()) AND classid = " MP_JOB_LOCK_CLASS_SQL
			  " AND objid = ($1::bigint & 4294967295)::oid AND objsubid = 1 "
			  "AND pid = pg_backend_pid()) THEN 1::bigint "
			  "WHEN pg_try_advisory_lock(" MP_JOB_LOCK ") THEN 1::bigint ELSE 0::bigint END",
			  &p, "job claim", &got);
	if (err || !got)
		return err;
	err = mp_exec2(c, "UPDATE tag_jobs SET attempts = attempts + 1 "
		       "WHERE file_id = $1::bigint AND queued = $2::bigint",
		       j->file_id, j->queued, "job next", &changed);
	if (!err && changed == 1) {
		*claimed = true;
		return 0;
	}
	return err ? err : mp_job_unlock(c, j->file_id);
}

static int mp_job_next_fn(PGconn *c, void *arg)
{
	struct mp_job *x = arg;
	struct meta_tag_job *j = x->j;
	struct pgq p = { .n = 0 };
	PGresult *res;
	bool found = false;
	int64_t fid, v;
	size_t i;
	int row, err, plen, elen;

	/* Enough rows that one is free: each busy id, here or on another host, hides one. */
	pgq_int(&p, META_TAG_JOB_ATTEMPTS);
	pgq_int(&p, (int64_t)x->nbusy + MP_JOB_CANDIDATES);
	res = pgq_exec(c, "SELECT j.file_id, j.queued, j.attempts, f.path, f.etag, f.size "
		       "FROM tag_jobs j JOIN files f ON f.id = j.file_id "
		       "WHERE j.attempts < $1::bigint ORDER BY j.queued LIMIT $2::bigint",
		       &p, "job next", &err);
	if (!res)
		return err;
	for (row = 0; !found && row < PQntuples(res); row++) {
		const char *path = pgq_col_bytes(res, row, 3, &plen);
		const char *etag = pgq_col_bytes(res, row, 4, &elen);

		if (pgq_col_int(res, row, 0, &fid))
			continue;
		for (i = 0; i < x->nbusy && x->busy[i] != fid; i++)
			;
		if (i < x->nbusy)
			continue;
		if (!path || plen <= 0 || plen > META_PATH_MAX || memchr(path, 0, plen) ||
		    !etag || elen > META_ETAG_LEN || memchr(etag, 0, elen))
			continue;
		j->file_id = fid;
		if (pgq_col_int(res, row, 1, &j->queued) || pgq_col_int(res, row, 2, &v) ||
		    pgq_col_int(res, row, 5, (int64_t *)&j->size))
			continue;
		j->attempts = (int)v;
		memcpy(j->path, path, plen);
		j->path[plen] = 0;
		memcpy(j->etag, etag, elen);
		j->etag[elen] = 0;
		err = mp_job_claim(c, j, &found);
		if (err) {
			PQclear(res);
			return err;
		}
	}
	PQclear(res);
	return found ? 0 : -ENOENT;
}

int meta_tag_pg_job_next(struct meta *m, const int64_t *busy, size_t nbusy,
			 struct meta_tag_job *j)
{
	struct mp_job x = { busy, nbusy, j };

	return meta_run_pg(m, true, mp_job_next_fn, &x);
}

static int mp_job_done_fn(PGconn *c, void *arg)
{
	const struct meta_tag_job *j = arg;

	return mp_exec2(c, "DELETE FROM tag_jobs WHERE file_id = $1::bigint AND queued = $2::bigint",
			j->file_id, j->queued, "job done", NULL);
}

int meta_tag_pg_job_done(struct meta *m, const struct meta_tag_job *j)
{
	return meta_run_pg(m, true, mp_job_done_fn, (void *)j);
}

static int mp_job_release_fn(PGconn *c, void *arg)
{
	return mp_job_unlock(c, ((const struct meta_tag_job *)arg)->file_id);
}

int meta_tag_pg_job_release(struct meta *m, const struct meta_tag_job *j)
{
	return meta_run_pg(m, true, mp_job_release_fn, (void *)j);
}

struct mp_stats {
	uint64_t *pending;
	int64_t *oldest;
};

static int mp_job_stats_fn(PGconn *c, void *arg)
{
	struct mp_stats *s = arg;
	struct pgq p = { .n = 0 };
	PGresult *res;
	int64_t n;
	int err;

	pgq_int(&p, META_TAG_JOB_ATTEMPTS);
	res = pgq_exec(c, "SELECT count(*), coalesce(min(queued), 0)::bigint FROM tag_jobs "
		       "WHERE attempts < $1::bigint", &p, "job stats", &err);
	if (!res)
		return err;
	if (PQntuples(res) != 1 || pgq_col_int(res, 0, 0, &n) || pgq_col_int(res, 0, 1, s->oldest))
		err = -EIO;
	else
		*s->pending = (uint64_t)n;
	PQclear(res);
	return err;
}

int meta_tag_pg_job_stats(struct meta *m, uint64_t *pending, int64_t *oldest)
{
	struct mp_stats s = { pending, oldest };

	return meta_run_pg(m, false, mp_job_stats_fn, &s);
}
