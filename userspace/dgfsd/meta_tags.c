// SPDX-License-Identifier: GPL-2.0
/*
 * Tag storage (meta_tags.h) on meta.c's connection, through meta_run():
 * each call is one transaction. Statements are prepared per call: the
 * tagging path runs a few times per upload and the API per request, and
 * SQLite prepares these in microseconds. On PostgreSQL each call, its
 * arguments checked here, goes to meta_tags_pg.c instead.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "meta_tags.h"
#include "meta_tags_pg.h"

/* ---- helpers ---- */

static int mt_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);

	return rc == SQLITE_OK ? 0 : meta_sql_err(db, rc, "prepare");
}

/* Steps @st to its end (no rows expected): 0 or -errno. Finalizes it. */
static int mt_run(sqlite3 *db, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : meta_sql_err(db, rc, what);
}

/* One SQL statement with up to two integer parameters. */
static int mt_exec2(sqlite3 *db, const char *sql, int64_t a, int64_t b, const char *what)
{
	sqlite3_stmt *st;
	int err = mt_prepare(db, sql, &st);

	if (err)
		return err;
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_int64(st, 1, a);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, b);
	return mt_run(db, st, what);
}

/* One integer from @sql (parameter ?1 = @a): 0 with *out, -ENOENT, or -errno. */
static int mt_int(sqlite3 *db, const char *sql, int64_t a, int64_t *out)
{
	sqlite3_stmt *st;
	int err = mt_prepare(db, sql, &st), rc;

	if (err)
		return err;
	if (sqlite3_bind_parameter_count(st) >= 1)
		sqlite3_bind_int64(st, 1, a);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else
		err = rc == SQLITE_DONE ? -ENOENT : meta_sql_err(db, rc, "query");
	sqlite3_finalize(st);
	return err;
}

static int mt_file_id(sqlite3 *db, const char *path, int64_t *id)
{
	sqlite3_stmt *st;
	int err = mt_prepare(db, "SELECT id FROM files WHERE path = ?1", &st), rc;

	if (err)
		return err;
	sqlite3_bind_blob(st, 1, path, (int)strlen(path), SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else
		err = rc == SQLITE_DONE ? -ENOENT : meta_sql_err(db, rc, "file lookup");
	sqlite3_finalize(st);
	return err;
}

/* The tag's id, made if @create and it is new: 0, -ENOENT, or -errno. */
static int mt_tag_id(sqlite3 *db, const struct tag *t, bool create, int64_t *id)
{
	sqlite3_stmt *st;
	int err, rc;

	if (create) {
		err = mt_prepare(db, "INSERT INTO tags (name, value) VALUES (?1, ?2) "
				 "ON CONFLICT (name, value) DO NOTHING", &st);
		if (err)
			return err;
		sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, t->value, -1, SQLITE_STATIC);
		err = mt_run(db, st, "tag add");
		if (err)
			return err;
	}
	err = mt_prepare(db, "SELECT id FROM tags WHERE name = ?1 AND value = ?2", &st);
	if (err)
		return err;
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else
		err = rc == SQLITE_DONE ? -ENOENT : meta_sql_err(db, rc, "tag lookup");
	sqlite3_finalize(st);
	return err;
}

/* A (name, value) row read back: -EIO if it is not a tag this code would write. */
static int mt_column_tag(sqlite3_stmt *st, int col, struct tag *t)
{
	const unsigned char *n = sqlite3_column_text(st, col);
	const unsigned char *v = sqlite3_column_text(st, col + 1);
	int nl = sqlite3_column_bytes(st, col), vl = sqlite3_column_bytes(st, col + 1);

	if (!n || nl <= 0 || nl > TAG_NAME_MAX || vl < 0 || vl > TAG_VALUE_MAX ||
	    memchr(n, 0, nl) || (v && memchr(v, 0, vl))) {
		fprintf(stderr, "dgfsd: meta: a tag row is malformed\n");
		return -EIO;
	}
	memcpy(t->name, n, nl);
	t->name[nl] = 0;
	if (v)
		memcpy(t->value, v, vl);
	t->value[vl] = 0;
	return 0;
}

void meta_tag_list_free(struct meta_tag_list *l)
{
	if (!l)
		return;
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

int meta_tag_list_add(struct meta_tag_list *l, const struct tag *t, enum meta_tag_source src)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		void *v = reallocarray(l->v, cap, sizeof(*l->v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].tag = *t;
	l->v[l->n].source = src;
	l->n++;
	return 0;
}

/* ---- reading ---- */

struct mt_get {
	const char *path;
	struct meta_tag_list *out;
};

/*
 * The file's own tags, then what they imply (transitively; UNION makes
 * the walk end even if a cycle got in) and the file lacks itself.
 */
static const char mt_get_sql[] =
	"WITH RECURSIVE own(tag_id, source) AS ("
	"  SELECT tag_id, source FROM file_tags WHERE file_id = ?1), "
	"imp(tag_id) AS ("
	"  SELECT implied_id FROM tag_implies WHERE tag_id IN (SELECT tag_id FROM own) "
	"  UNION SELECT ti.implied_id FROM tag_implies ti JOIN imp ON ti.tag_id = imp.tag_id) "
	"SELECT t.name, t.value, own.source FROM own JOIN tags t ON t.id = own.tag_id "
	"UNION ALL "
	"SELECT t.name, t.value, 2 FROM imp JOIN tags t ON t.id = imp.tag_id "
	"WHERE imp.tag_id NOT IN (SELECT tag_id FROM own) "
	"ORDER BY 1, 2";

static int mt_get_fn(sqlite3 *db, void *arg)
{
	struct mt_get *g = arg;
	sqlite3_stmt *st;
	struct tag t;
	int64_t id;
	int err, rc = SQLITE_DONE;

	err = mt_file_id(db, g->path, &id);
	if (err)
		return err;
	err = mt_prepare(db, mt_get_sql, &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, id);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int src = sqlite3_column_int(st, 2);

		err = mt_column_tag(st, 0, &t);
		if (!err)
			err = meta_tag_list_add(g->out, &t, src == 1 ? META_TAG_USER :
						src == 2 ? META_TAG_IMPLIED : META_TAG_AUTO);
	}
	if (!err && rc != SQLITE_DONE)
		err = meta_sql_err(db, rc, "tags get");
	sqlite3_finalize(st);
	return err;
}

int meta_tags_get(struct meta *m, const char *path, struct meta_tag_list *out)
{
	struct mt_get g = { path, out };
	int err;

	if (!path || !out)
		return -EINVAL;
	out->n = 0;
	err = meta_has_pg(m) ? meta_tags_pg_get(m, path, out) : meta_run(m, false, mt_get_fn, &g);
	if (err)
		out->n = 0;
	return err;
}

/* ---- user changes ---- */

struct mt_change {
	const char *path;
	const struct tag *add, *rm;
	size_t nadd, nrm;
};

static int mt_change_fn(sqlite3 *db, void *arg)
{
	struct mt_change *c = arg;
	int64_t fid, tid, n;
	size_t i;
	int err;

	err = mt_file_id(db, c->path, &fid);
	for (i = 0; !err && i < c->nrm; i++) {
		err = mt_tag_id(db, &c->rm[i], true, &tid);
		if (!err)
			err = mt_exec2(db, "DELETE FROM file_tags WHERE file_id = ?1 AND tag_id = ?2",
				       fid, tid, "tag remove");
		if (!err)
			err = mt_exec2(db, "INSERT INTO file_tags_removed (file_id, tag_id) "
				       "VALUES (?1, ?2) ON CONFLICT DO NOTHING",
				       fid, tid, "tag remove");
	}
	for (i = 0; !err && i < c->nadd; i++) {
		err = mt_tag_id(db, &c->add[i], true, &tid);
		if (!err)
			err = mt_exec2(db, "INSERT INTO file_tags (file_id, tag_id, source) "
				       "VALUES (?1, ?2, 1) ON CONFLICT (file_id, tag_id) "
				       "DO UPDATE SET source = 1", fid, tid, "tag add");
		if (!err)
			err = mt_exec2(db, "DELETE FROM file_tags_removed "
				       "WHERE file_id = ?1 AND tag_id = ?2", fid, tid, "tag add");
	}
	if (!err && c->nadd) {
		err = mt_int(db, "SELECT count(*) FROM file_tags WHERE file_id = ?1 AND source = 1",
			     fid, &n);
		if (!err && n > META_TAGS_USER_MAX)
			err = -E2BIG;
	}
	return err;
}

int meta_tags_user_change(struct meta *m, const char *path, const struct tag *add, size_t nadd,
			  const struct tag *rm, size_t nrm)
{
	struct mt_change c = { path, add, rm, nadd, nrm };
	size_t i, j;

	if (!path || (nadd && !add) || (nrm && !rm))
		return -EINVAL;
	for (i = 0; i < nadd; i++)
		for (j = 0; j < nrm; j++)
			if (!strcmp(add[i].name, rm[j].name) && !strcmp(add[i].value, rm[j].value))
				return -EINVAL;
	if (meta_has_pg(m))
		return meta_tags_pg_user_change(m, path, add, nadd, rm, nrm);
	return meta_run(m, true, mt_change_fn, &c);
}

/* ---- automatic tags ---- */

struct mt_auto {
	int64_t file_id;
	const char *etag;
	const struct meta_auto_tags *a;
	struct meta_tag_list *kw;
};

/* Adds auto tag @t unless the user removed it (a user tag stays a user tag). */
static int mt_auto_tag(sqlite3 *db, int64_t fid, const struct tag *t)
{
	int64_t tid;
	int err = mt_tag_id(db, t, true, &tid);

	if (err)
		return err;
	return mt_exec2(db, "INSERT INTO file_tags (file_id, tag_id, source) "
			"SELECT ?1, ?2, 0 WHERE NOT EXISTS (SELECT 1 FROM file_tags_removed "
			"WHERE file_id = ?1 AND tag_id = ?2) ON CONFLICT DO NOTHING",
			fid, tid, "auto tag");
}

int mt_scored_cmp(const void *a, const void *b)
{
	const struct mt_scored *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return strcmp(x->term, y->term);
}

double mt_tfidf(double tf, double df, double docs)
{
	return tf * (log((1.0 + docs) / (1.0 + df)) + 1.0);
}

/*
 * The file's keyword tags: its terms ranked by tf * idf, with tf the
 * term's count in the file and idf = ln((1 + N) / (1 + df)) + 1, N the
 * number of files with terms and df the number with this term (both from
 * term_df, this file included); the top @k that make valid tag names
 * become bare auto tags. The keyword tags chosen before go first, and N is
 * kept (file_keywords) so that they are chosen again when it has changed
 * enough (meta_keywords_refresh).
 */
static int mt_keywords(sqlite3 *db, int64_t file_id, unsigned int k, struct meta_tag_list *kw)
{
	struct mt_scored *s = NULL;
	size_t n = 0, cap = 0, i, got = 0;
	sqlite3_stmt *st;
	int64_t docs = 0;
	int err, rc = SQLITE_DONE;

	err = mt_exec2(db, "DELETE FROM file_tags WHERE file_id = ?1 AND source = 0 AND tag_id IN "
		       "(SELECT tag_id FROM file_keyword_tags WHERE file_id = ?1)", file_id, 0,
		       "keywords");
	err = err ?: mt_exec2(db, "DELETE FROM file_keyword_tags WHERE file_id = ?1", file_id, 0,
			      "keywords");
	err = err ?: mt_exec2(db, "DELETE FROM file_keywords WHERE file_id = ?1", file_id, 0,
			      "keywords");
	if (err || !k)
		return err;
	err = mt_int(db, "SELECT df FROM term_df WHERE term = ''", 0, &docs);
	if (err == -ENOENT)
		return 0;	/* no file has terms */
	if (!err)
		err = mt_prepare(db, "SELECT f.term, f.count, d.df FROM file_terms f "
				 "JOIN term_df d ON d.term = f.term WHERE f.file_id = ?1", &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, file_id);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		int len = sqlite3_column_bytes(st, 0);
		double tf = (double)sqlite3_column_int64(st, 1);
		double df = (double)sqlite3_column_int64(st, 2);

		if (!t || len <= 0 || len > META_TERM_MAX)
			continue;
		if (n == cap) {
			void *p = reallocarray(s, cap ? 2 * cap : 64, sizeof(*s));

			if (!p) {
				err = -ENOMEM;
				break;
			}
			s = p;
			cap = cap ? 2 * cap : 64;
		}
		memcpy(s[n].term, t, len);
		s[n].term[len] = 0;
		s[n].score = mt_tfidf(tf, df, (double)docs);
		n++;
	}
	if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = meta_sql_err(db, rc, "keywords");
	sqlite3_finalize(st);
	if (!n) {
		free(s);
		return err;
	}
	if (!err)
		qsort(s, n, sizeof(*s), mt_scored_cmp);
	for (i = 0; !err && i < n && got < k; i++) {
		struct tag t;
		int64_t tid;

		if (tag_make(s[i].term, NULL, &t, NULL))
			continue;	/* not a valid tag name: not a keyword */
		err = mt_auto_tag(db, file_id, &t);
		/*
		 * Only what this added is a keyword tag: a tag the file has
		 * from elsewhere (the tagger, a plugin, a user) is not taken
		 * away when the keywords change; a removed one stays out.
		 */
		if (!err && sqlite3_changes(db)) {
			err = mt_tag_id(db, &t, false, &tid);
			err = err ?: mt_exec2(db, "INSERT INTO file_keyword_tags (file_id, tag_id) "
					      "VALUES (?1, ?2) ON CONFLICT DO NOTHING", file_id, tid,
					      "keywords");
		}
		if (!err && kw)
			err = meta_tag_list_add(kw, &t, META_TAG_AUTO);
		got++;
	}
	free(s);
	return err ?: mt_exec2(db, "INSERT INTO file_keywords (file_id, docs) VALUES (?1, ?2)",
			       file_id, docs, "keywords");
}

static int mt_auto_fn(sqlite3 *db, void *arg)
{
	struct mt_auto *x = arg;
	const struct meta_auto_tags *a = x->a;
	sqlite3_stmt *st, *ins = NULL;
	size_t i;
	int err, rc;

	/* Only the version that was tagged: a newer one has its own job. */
	err = mt_prepare(db, "SELECT 1 FROM files WHERE id = ?1 AND etag = ?2", &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, x->file_id);
	sqlite3_bind_text(st, 2, x->etag, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ESTALE : meta_sql_err(db, rc, "auto tags");

	err = mt_exec2(db, "DELETE FROM file_tags WHERE file_id = ?1 AND source = 0",
		       x->file_id, 0, "auto tags");
	for (i = 0; !err && i < a->ntags && i < META_TAGS_AUTO_MAX; i++)
		err = mt_auto_tag(db, x->file_id, &a->tags[i]);
	if (!err)
		err = mt_exec2(db, "DELETE FROM file_terms WHERE file_id = ?1", x->file_id, 0,
			       "terms");
	if (!err)
		err = mt_prepare(db, "INSERT INTO file_terms (file_id, term, count) VALUES "
				 "(?1, ?2, ?3) ON CONFLICT DO UPDATE SET count = count + excluded.count",
				 &ins);
	for (i = 0; !err && i < a->nterms && i < META_TERMS_MAX; i++) {
		size_t len = strnlen(a->terms[i].term, META_TERM_MAX + 1);

		if (!len || len > META_TERM_MAX || a->terms[i].count <= 0)
			continue;
		sqlite3_bind_int64(ins, 1, x->file_id);
		sqlite3_bind_text(ins, 2, a->terms[i].term, (int)len, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 3, a->terms[i].count);
		rc = sqlite3_step(ins);
		sqlite3_reset(ins);
		if (rc != SQLITE_DONE)
			err = meta_sql_err(db, rc, "terms");
	}
	sqlite3_finalize(ins);
	if (!err)
		err = mt_exec2(db, "DELETE FROM file_text WHERE rowid = ?1", x->file_id, 0, "text");
	if (!err && a->text && a->text_len) {
		err = mt_prepare(db, "INSERT INTO file_text (rowid, text) VALUES (?1, ?2)", &st);
		if (!err) {
			sqlite3_bind_int64(st, 1, x->file_id);
			sqlite3_bind_text(st, 2, a->text,
					  (int)(a->text_len < META_TEXT_MAX ? a->text_len :
						META_TEXT_MAX), SQLITE_STATIC);
			err = mt_run(db, st, "text");
		}
	}
	if (!err)
		err = mt_keywords(db, x->file_id, a->nterms ? a->keywords : 0, x->kw);
	return err;
}

int meta_tags_auto_set(struct meta *m, int64_t file_id, const char *etag,
		       const struct meta_auto_tags *a, struct meta_tag_list *kw)
{
	struct mt_auto x = { file_id, etag, a, kw };
	int err;

	if (!etag || !a || (a->ntags && !a->tags) || (a->nterms && !a->terms))
		return -EINVAL;
	if (kw)
		kw->n = 0;
	err = meta_has_pg(m) ? meta_tags_pg_auto_set(m, file_id, etag, a, kw) :
	      meta_run(m, true, mt_auto_fn, &x);
	if (err && kw)
		kw->n = 0;
	return err;
}

/* ---- keywords as the corpus changes ---- */

struct mt_refresh {
	unsigned int max, done;
};

/*
 * Files whose keywords were chosen when N was at most half or at least
 * twice what it is now, and that have no tagging job pending (the job
 * chooses them anyway): chosen again, at most x->max of them.
 */
static int mt_refresh_fn(sqlite3 *db, void *arg)
{
	struct mt_refresh *x = arg;
	int64_t ids[META_KEYWORDS_REFRESH_MAX], docs = 0;
	sqlite3_stmt *st;
	unsigned int n = 0, i;
	int err, rc;

	x->done = 0;
	err = mt_int(db, "SELECT df FROM term_df WHERE term = ''", 0, &docs);
	if (err == -ENOENT)
		docs = 0, err = 0;
	err = err ?: mt_prepare(db, "SELECT k.file_id FROM file_keywords k WHERE "
				"(k.docs * 2 <= ?1 OR k.docs >= ?1 * 2) AND k.docs != ?1 AND NOT EXISTS "
				"(SELECT 1 FROM tag_jobs j WHERE j.file_id = k.file_id) LIMIT ?2", &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, docs);
	sqlite3_bind_int64(st, 2, x->max);
	while (n < x->max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		ids[n++] = sqlite3_column_int64(st, 0);
	if (n < x->max && rc != SQLITE_DONE)
		err = meta_sql_err(db, rc, "keywords due");
	sqlite3_finalize(st);
	for (i = 0; !err && i < n; i++)
		err = mt_keywords(db, ids[i], META_KEYWORDS, NULL);
	if (!err)
		x->done = n;
	return err;
}

int meta_keywords_refresh(struct meta *m, unsigned int max, unsigned int *done)
{
	struct mt_refresh x = { max < META_KEYWORDS_REFRESH_MAX ? max : META_KEYWORDS_REFRESH_MAX, 0 };
	int err = meta_has_pg(m) ? meta_keywords_pg_refresh(m, x.max, &x.done) :
		  meta_run(m, true, mt_refresh_fn, &x);

	*done = err ? 0 : x.done;
	return err;
}

/* ---- implications ---- */

struct mt_imply {
	const struct tag *a, *b;
	bool add;
};

static int mt_unimply_fn(sqlite3 *db, void *arg)
{
	struct mt_imply *x = arg;
	int64_t a, b;
	int err;

	err = mt_tag_id(db, x->a, false, &a);
	if (!err)
		err = mt_tag_id(db, x->b, false, &b);
	if (!err)
		err = mt_exec2(db, "DELETE FROM tag_implies WHERE tag_id = ?1 AND implied_id = ?2",
			       a, b, "unimply");
	return err ? err : sqlite3_changes(db) ? 0 : -ENOENT;
}

/* a -> b closes a cycle if b already reaches a. */
static int mt_imply_add_fn(sqlite3 *db, void *arg)
{
	struct mt_imply *x = arg;
	sqlite3_stmt *st;
	int64_t a, b;
	int err, rc;

	err = mt_tag_id(db, x->a, true, &a);
	if (!err)
		err = mt_tag_id(db, x->b, true, &b);
	if (err)
		return err;
	err = mt_prepare(db, "WITH RECURSIVE r(id) AS (SELECT ?1 UNION "
			 "SELECT ti.implied_id FROM tag_implies ti JOIN r ON ti.tag_id = r.id) "
			 "SELECT 1 FROM r WHERE id = ?2 LIMIT 1", &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, b);
	sqlite3_bind_int64(st, 2, a);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return -ELOOP;
	if (rc != SQLITE_DONE)
		return meta_sql_err(db, rc, "imply");
	return mt_exec2(db, "INSERT INTO tag_implies (tag_id, implied_id) VALUES (?1, ?2) "
			"ON CONFLICT DO NOTHING", a, b, "imply");
}

int meta_tag_imply(struct meta *m, const struct tag *a, const struct tag *b, bool add)
{
	struct mt_imply x = { a, b, add };

	if (!a || !b)
		return -EINVAL;
	if (!strcmp(a->name, b->name) && !strcmp(a->value, b->value))
		return add ? -ELOOP : -ENOENT;
	if (meta_has_pg(m))
		return meta_tag_pg_imply(m, a, b, add);
	return meta_run(m, true, add ? mt_imply_add_fn : mt_unimply_fn, &x);
}

struct mt_implies_walk {
	int (*cb)(const struct tag *a, const struct tag *b, void *arg);
	void *arg;
};

static int mt_implies_list_fn(sqlite3 *db, void *arg)
{
	struct mt_implies_walk *w = arg;
	sqlite3_stmt *st;
	struct tag a, b;
	int err, rc = SQLITE_DONE;

	err = mt_prepare(db, "SELECT ta.name, ta.value, tb.name, tb.value FROM tag_implies i "
			 "JOIN tags ta ON ta.id = i.tag_id JOIN tags tb ON tb.id = i.implied_id "
			 "ORDER BY 1, 2, 3, 4", &st);
	if (err)
		return err;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = mt_column_tag(st, 0, &a);
		if (!err)
			err = mt_column_tag(st, 2, &b);
		if (!err)
			err = w->cb(&a, &b, w->arg);
	}
	if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = meta_sql_err(db, rc, "implies list");
	sqlite3_finalize(st);
	return err;
}

int meta_tag_implies_list(struct meta *m,
			  int (*cb)(const struct tag *a, const struct tag *b, void *arg),
			  void *arg)
{
	struct mt_implies_walk w = { cb, arg };

	if (!cb)
		return -EINVAL;
	if (meta_has_pg(m))
		return meta_tag_pg_implies_list(m, cb, arg);
	return meta_run(m, false, mt_implies_list_fn, &w);
}

struct mt_starting {
	const char *start, *path_prefix;
	unsigned int limit;
	int (*cb)(const struct tag *t, int64_t files, void *arg);
	void *arg;
};

static int mt_starting_fn(sqlite3 *db, void *arg)
{
	struct mt_starting *w = arg;
	sqlite3_stmt *st;
	struct tag t;
	int err, rc = SQLITE_DONE;

	/* Bytes compared, not characters: both sides are blobs. */
	err = mt_prepare(db, "SELECT t.name, t.value, count(*) AS n FROM tags t "
			 "JOIN file_tags ft ON ft.tag_id = t.id JOIN files f ON f.id = ft.file_id "
			 "WHERE substr(CAST(t.name || CASE WHEN t.value = '' THEN '' "
			 "ELSE '=' || t.value END AS BLOB), 1, ?2) = CAST(?1 AS BLOB) "
			 "AND substr(f.path, 1, ?4) = CAST(?3 AS BLOB) "
			 "GROUP BY t.id ORDER BY n DESC, t.name, t.value LIMIT ?5", &st);
	if (err)
		return err;
	sqlite3_bind_text(st, 1, w->start, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)strlen(w->start));
	sqlite3_bind_text(st, 3, w->path_prefix, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)strlen(w->path_prefix));
	sqlite3_bind_int(st, 5, (int)w->limit);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = mt_column_tag(st, 0, &t);
		if (!err)
			err = w->cb(&t, sqlite3_column_int64(st, 2), w->arg);
	}
	if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = meta_sql_err(db, rc, "tags starting");
	sqlite3_finalize(st);
	return err;
}

int meta_tags_starting(struct meta *m, const char *start, const char *path_prefix,
		       unsigned int limit,
		       int (*cb)(const struct tag *t, int64_t files, void *arg), void *arg)
{
	struct mt_starting w = { start, path_prefix, limit, cb, arg };

	if (!cb || !start || !path_prefix)
		return -EINVAL;
	if (meta_has_pg(m))
		return meta_tags_pg_starting(m, start, path_prefix, limit, cb, arg);
	return meta_run(m, false, mt_starting_fn, &w);
}

/* ---- the queue ---- */

struct mt_job {
	const int64_t *busy;
	size_t nbusy;
	struct meta_tag_job *j;
};

static int mt_job_next_fn(sqlite3 *db, void *arg)
{
	struct mt_job *x = arg;
	struct meta_tag_job *j = x->j;
	sqlite3_stmt *st;
	bool found = false;
	size_t i;
	int err, rc;

	/* Enough rows that one is not busy: each busy id hides at most one. */
	err = mt_prepare(db, "SELECT j.file_id, j.queued, j.attempts, f.path, f.etag, f.size "
			 "FROM tag_jobs j JOIN files f ON f.id = j.file_id "
			 "WHERE j.attempts < ?1 ORDER BY j.queued LIMIT ?2", &st);
	if (err)
		return err;
	sqlite3_bind_int(st, 1, META_TAG_JOB_ATTEMPTS);
	sqlite3_bind_int64(st, 2, (int64_t)x->nbusy + 1);
	while (!found && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t fid = sqlite3_column_int64(st, 0);
		const void *p = sqlite3_column_blob(st, 3);
		int plen = sqlite3_column_bytes(st, 3);
		const unsigned char *e = sqlite3_column_text(st, 4);
		int elen = sqlite3_column_bytes(st, 4);

		for (i = 0; i < x->nbusy && x->busy[i] != fid; i++)
			;
		if (i < x->nbusy)
			continue;
		if (!p || plen <= 0 || plen > META_PATH_MAX || !e || elen > META_ETAG_LEN)
			continue;
		j->file_id = fid;
		j->queued = sqlite3_column_int64(st, 1);
		j->attempts = sqlite3_column_int(st, 2);
		memcpy(j->path, p, plen);
		j->path[plen] = 0;
		memcpy(j->etag, e, elen);
		j->etag[elen] = 0;
		j->size = (uint64_t)sqlite3_column_int64(st, 5);
		found = true;
	}
	if (!found && rc != SQLITE_DONE) {
		err = meta_sql_err(db, rc, "job next");
		sqlite3_finalize(st);
		return err;
	}
	sqlite3_finalize(st);
	if (!found)
		return -ENOENT;
	return mt_exec2(db, "UPDATE tag_jobs SET attempts = attempts + 1 WHERE file_id = ?1",
			j->file_id, 0, "job next");
}

int meta_tag_job_next(struct meta *m, const int64_t *busy, size_t nbusy, struct meta_tag_job *j)
{
	struct mt_job x = { busy, nbusy, j };

	if (!j || (nbusy && !busy))
		return -EINVAL;
	if (meta_has_pg(m))
		return meta_tag_pg_job_next(m, busy, nbusy, j);
	return meta_run(m, true, mt_job_next_fn, &x);
}

static int mt_job_done_fn(sqlite3 *db, void *arg)
{
	const struct meta_tag_job *j = arg;

	return mt_exec2(db, "DELETE FROM tag_jobs WHERE file_id = ?1 AND queued = ?2",
			j->file_id, j->queued, "job done");
}

int meta_tag_job_done(struct meta *m, const struct meta_tag_job *j)
{
	if (!j)
		return -EINVAL;
	if (meta_has_pg(m))
		return meta_tag_pg_job_done(m, j);
	return meta_run(m, true, mt_job_done_fn, (void *)j);
}

int meta_tag_job_release(struct meta *m, const struct meta_tag_job *j)
{
	if (!j)
		return -EINVAL;
	return meta_has_pg(m) ? meta_tag_pg_job_release(m, j) : 0;
}

struct mt_stats {
	uint64_t *pending;
	int64_t *oldest;
};

static int mt_job_stats_fn(sqlite3 *db, void *arg)
{
	struct mt_stats *s = arg;
	sqlite3_stmt *st;
	int err, rc;

	err = mt_prepare(db, "SELECT count(*), coalesce(min(queued), 0) FROM tag_jobs "
			 "WHERE attempts < ?1", &st);
	if (err)
		return err;
	sqlite3_bind_int(st, 1, META_TAG_JOB_ATTEMPTS);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*s->pending = (uint64_t)sqlite3_column_int64(st, 0);
		*s->oldest = sqlite3_column_int64(st, 1);
	} else {
		err = meta_sql_err(db, rc, "job stats");
	}
	sqlite3_finalize(st);
	return err;
}

int meta_tag_job_stats(struct meta *m, uint64_t *pending, int64_t *oldest)
{
	struct mt_stats s = { pending, oldest };

	if (!pending || !oldest)
		return -EINVAL;
	if (meta_has_pg(m))
		return meta_tag_pg_job_stats(m, pending, oldest);
	return meta_run(m, false, mt_job_stats_fn, &s);
}
