// SPDX-License-Identifier: GPL-2.0
/*
 * dgfs_rank(): FTS5's bm25 score, dropping the rows that cannot reach a
 * floor (sqlite_rank.h). The score is bm25()'s as SQLite's fts5_aux.c
 * computes it, the same operations in the same order, so the same double:
 *
 *   idf(i)  = log((N - n(i) + 0.5) / (n(i) + 0.5)), at least 1e-6
 *   score   = sum over phrases i of
 *             idf(i) * (f(i) * (k1 + 1)) / (f(i) + k1 * (1 - b + b * D / avgdl))
 *
 * with k1 = 1.2, b = 0.75, N rows, n(i) rows holding phrase i, f(i) its
 * instances in the row, D the row's tokens and avgdl their mean over the
 * table. tests/unit/test_search.c checks the equality on random texts
 * against bm25() itself, so a SQLite that changed its formula would fail
 * there, not rank differently in silence.
 *
 * The bound: every instance of phrase i at token offset o shows the row
 * has at least o + (tokens of i) tokens, so the score computed with that
 * D_min instead of D is never lower (each step of the formula is monotone
 * in D, and IEEE rounding keeps monotone steps monotone). f(i) and the
 * offsets come from the row's position lists, which the MATCH has read
 * already; only D needs %_docsize, and only rows whose bound reaches the
 * floor read it.
 */
#include <math.h>
#include <string.h>

#include "sqlite_rank.h"

/* What is the same for every row of one query: computed on its first row. */
struct rank_query {
	int nphrase;
	int skip, end;			/* phrases skip..end-1 are scored */
	double avgdl;
	double *idf;
	double *freq;		/* the current row's f(i) */
	int *ntok;		/* tokens in phrase i */
};

static int count_row(const Fts5ExtensionApi *api, Fts5Context *fts, void *arg)
{
	(void)api;
	(void)fts;
	(*(sqlite3_int64 *)arg)++;
	return SQLITE_OK;
}

static int rank_query(const Fts5ExtensionApi *api, Fts5Context *fts, int skip, int nscore,
		      struct rank_query **out)
{
	struct rank_query *p = api->xGetAuxdata(fts, 0);
	sqlite3_int64 nrow = 0, ntoken = 0;
	int i, n, rc = SQLITE_OK;

	if (p) {
		*out = p;
		return SQLITE_OK;
	}
	n = api->xPhraseCount(fts);
	p = sqlite3_malloc64(sizeof(*p) + (size_t)n * (2 * sizeof(double) + sizeof(int)));
	if (!p)
		return SQLITE_NOMEM;
	memset(p, 0, sizeof(*p));
	p->nphrase = n;
	p->skip = skip < n ? skip : n;
	p->end = nscore > 0 && nscore < n - p->skip ? p->skip + nscore : n;
	p->idf = (double *)&p[1];
	p->freq = p->idf + n;
	p->ntok = (int *)(p->freq + n);
	rc = api->xRowCount(fts, &nrow);
	if (rc == SQLITE_OK)
		rc = api->xColumnTotalSize(fts, -1, &ntoken);
	if (rc == SQLITE_OK)
		p->avgdl = (double)ntoken / (double)nrow;
	for (i = 0; rc == SQLITE_OK && i < n; i++) {
		sqlite3_int64 nhit = 0;

		p->ntok[i] = api->xPhraseSize(fts, i);
		if (i < p->skip || i >= p->end)
			continue;	/* not scored: its IDF is never read */
		rc = api->xQueryPhrase(fts, i, &nhit, count_row);
		if (rc == SQLITE_OK) {
			/* bm25()'s expression: int64 difference, then doubles. */
			double idf = log((nrow - nhit + 0.5) / (nhit + 0.5));

			p->idf[i] = idf <= 0.0 ? 1e-6 : idf;
		}
	}
	if (rc == SQLITE_OK)
		rc = api->xSetAuxdata(fts, p, sqlite3_free);	/* frees p on failure */
	else
		sqlite3_free(p);
	*out = rc == SQLITE_OK ? p : NULL;
	return rc;
}

/* bm25()'s sum for a row of @d tokens, term by term as fts5_aux.c writes it. */
static double bm25_sum(const struct rank_query *p, double d)
{
	const double k1 = 1.2, b = 0.75;
	double score = 0.0;
	int i;

	for (i = p->skip; i < p->end; i++)
		score += p->idf[i] * ((p->freq[i] * (k1 + 1.0)) /
				      (p->freq[i] + k1 * (1 - b + b * d / p->avgdl)));
	return score;
}

/* Reads the row's f(i) into @p and returns its least possible length. */
static int row_freq(const Fts5ExtensionApi *api, Fts5Context *fts, struct rank_query *p,
		    double *dmin)
{
	int i, rc = SQLITE_OK;

	*dmin = 0.0;
	for (i = 0; rc == SQLITE_OK && i < p->nphrase; i++) {
		Fts5PhraseIter it;
		int col, off, n = 0;

		rc = api->xPhraseFirst(fts, i, &it, &col, &off);
		for (; rc == SQLITE_OK && col >= 0; api->xPhraseNext(fts, &it, &col, &off)) {
			n++;
			if (off + p->ntok[i] > *dmin)
				*dmin = off + p->ntok[i];
		}
		p->freq[i] = n;
	}
	return rc;
}

/*
 * dgfs_rank(file_text, floor): the score, or NULL when it is surely below
 * the floor. dgfs_rank(file_text, floor, 'bound'): 1 when the row may
 * reach the floor, else NULL, without reading the row's length: a WHERE
 * term that lets a row go on to its other tests, the column then scoring
 * it in full. Both ask about the same row in one statement: the floor
 * keeps what the first learned.
 */
static void rank_row(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx,
		     int nval, sqlite3_value **val)
{
	struct rank_floor *fl = nval > 0 ? sqlite3_value_pointer(val[0], RANK_FLOOR_TYPE) : NULL;
	bool bound = nval > 1 && sqlite3_value_type(val[1]) == SQLITE_TEXT &&
		     !strcmp((const char *)sqlite3_value_text(val[1]), "bound");
	sqlite3_int64 rowid = api->xRowid(fts);
	struct rank_query *p;
	double dmin = 0.0, score;
	int rc, ntok = 0;

	if (fl && fl->known && fl->rowid == rowid) {
		if (fl->dropped)
			sqlite3_result_null(ctx);
		else if (bound)
			sqlite3_result_int(ctx, 1);
		else if (fl->scored)
			sqlite3_result_double(ctx, fl->score);
		if (fl->dropped || bound || fl->scored)
			return;
	}
	rc = rank_query(api, fts, fl ? fl->skip : 0, fl ? fl->nscore : 0, &p);
	if (rc == SQLITE_OK)
		rc = row_freq(api, fts, p, &dmin);
	if (rc != SQLITE_OK) {
		sqlite3_result_error_code(ctx, rc);
		return;
	}
	if (fl && !(fl->known && fl->rowid == rowid)) {
		fl->known = true;
		fl->scored = false;
		fl->rowid = rowid;
		fl->dropped = bm25_sum(p, dmin) < fl->floor;
		if (fl->dropped) {
			fl->ndropped++;
			sqlite3_result_null(ctx);
			return;
		}
	}
	if (bound) {
		sqlite3_result_int(ctx, 1);
		return;
	}
	rc = api->xColumnSize(fts, -1, &ntok);
	if (rc != SQLITE_OK) {
		if (fl)
			fl->known = false;
		sqlite3_result_error_code(ctx, rc);
		return;
	}
	score = bm25_sum(p, (double)ntok);
	if (fl) {
		fl->score = score;
		fl->scored = true;
		fl->nscored++;
	}
	sqlite3_result_double(ctx, score);
}

/*
 * dgfs_has(file_text, i): whether the row holds an instance of the
 * MATCH's phrase i. Exact for a phrase that is a child of an OR the row
 * matched through (FTS5 keeps each child of an OR at its first row from
 * the OR's on), which is how search.c uses it: a word's test costs a
 * look at positions the MATCH has read, not a seek of its own.
 */
static void has_row(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx,
		    int nval, sqlite3_value **val)
{
	int i = nval == 1 ? sqlite3_value_int(val[0]) : -1, col = -1, off, rc;
	Fts5PhraseIter it;

	if (i < 0 || i >= api->xPhraseCount(fts)) {
		sqlite3_result_error(ctx, "dgfs_has: no such phrase", -1);
		return;
	}
	rc = api->xPhraseFirst(fts, i, &it, &col, &off);
	if (rc != SQLITE_OK)
		sqlite3_result_error_code(ctx, rc);
	else
		sqlite3_result_int(ctx, col >= 0);
}

int meta_sqlite_rank_init(sqlite3 *db)
{
	fts5_api *fts5 = NULL;
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_pointer(st, 1, &fts5, "fts5_api_ptr", NULL);
	sqlite3_step(st);
	rc = sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return rc;
	if (!fts5 || fts5->iVersion < 2)
		return SQLITE_ERROR;
	rc = fts5->xCreateFunction(fts5, "dgfs_rank", NULL, rank_row, NULL);
	if (rc == SQLITE_OK)
		rc = fts5->xCreateFunction(fts5, "dgfs_has", NULL, has_row, NULL);
	return rc;
}
