// SPDX-License-Identifier: GPL-2.0
/*
 * A query's tree into one SQL statement (search.h). Every leaf becomes a
 * set of file ids and the tree set algebra over them: AND is INTERSECT
 * (EXCEPT for its negated members), OR is UNION, NOT is what remains of
 * all files. Tag leaves match a tag or any tag that implies it
 * (tag_implies, followed transitively by a recursive CTE); free words and
 * phrases go to the FTS5 table file_text, and the positive ones together
 * rank the results by bm25.
 *
 * Nothing the user typed is ever part of the SQL text: names, values,
 * numbers and FTS5 expressions are bound as parameters. The FTS5
 * expressions themselves are built here from ICU-segmented words, each
 * phrase one FTS5 string with its quotes doubled, so a query cannot use
 * FTS5's own syntax either.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>
#include <unicode/ubrk.h>
#include <unicode/ustring.h>

#include "dgfsd/search.h"
#include "dgfsd/meta_tags.h"
#include "tags/tag.h"

/* ---- words ---- */

int search_segment(const char *s, char *out, size_t size)
{
	UErrorCode ec = U_ZERO_ERROR;
	UChar *u = NULL;
	UBreakIterator *brk = NULL;
	int32_t n, start, end, olen;
	size_t o = 0;
	int err = 0;

	if (!s || !out || !size)
		return -EINVAL;
	out[0] = 0;
	u_strFromUTF8(NULL, 0, &n, s, -1, &ec);
	if (ec != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(ec))
		return -EINVAL;
	u = malloc(((size_t)n + 1) * sizeof(*u));
	if (!u)
		return -ENOMEM;
	ec = U_ZERO_ERROR;
	u_strFromUTF8(u, n + 1, &n, s, -1, &ec);
	if (U_FAILURE(ec)) {
		err = -EINVAL;
		goto out;
	}
	/* The root locale's rules, as dgfs-tagger's words.c: ICU's CJK dictionaries. */
	brk = ubrk_open(UBRK_WORD, "", u, n, &ec);
	if (U_FAILURE(ec)) {
		err = -ENOMEM;
		goto out;
	}
	start = ubrk_first(brk);
	for (end = ubrk_next(brk); end != UBRK_DONE; start = end, end = ubrk_next(brk)) {
		if (ubrk_getRuleStatus(brk) < UBRK_WORD_NUMBER)
			continue;	/* spaces and punctuation */
		if (o && o + 1 < size)
			out[o++] = ' ';
		ec = U_ZERO_ERROR;
		u_strToUTF8(out + o, (int32_t)(size - o), &olen, u + start, end - start, &ec);
		if (U_FAILURE(ec) || ec == U_STRING_NOT_TERMINATED_WARNING ||
		    o + (size_t)olen + 1 > size) {
			err = -ENOSPC;
			goto out;
		}
		o += (size_t)olen;
	}
	out[o] = 0;
out:
	ubrk_close(brk);
	free(u);
	if (err)
		out[0] = 0;
	return err;
}

/* ---- the statement being built ---- */

enum param_kind { P_TEXT, P_BLOB, P_INT, P_DOUBLE };

struct param {
	enum param_kind kind;
	const void *p;			/* P_TEXT, P_BLOB: the caller's or owned */
	size_t len;
	int64_t i;
	double d;
	bool owned;
};

#define SEARCH_PARAMS_MAX	(8 * QUERY_MAX_TERMS + 16)

struct sql {
	char *s;
	size_t len, cap;
	struct param params[SEARCH_PARAMS_MAX];
	unsigned int nparams;
	unsigned int ntagsets;		/* CTEs t0, t1, ...: tags */
	unsigned int nsets;		/* CTEs s0, s1, ...: files */
	char *ctes;			/* the CTEs' text, built beside */
	size_t ctes_len, ctes_cap;
	char *rank;			/* the positive text terms, ORed, for bm25 */
	size_t rank_len, rank_cap;
	unsigned int nrank;		/* phrases in rank */
	/* The root AND's merged text terms (a parameter), and how many. */
	unsigned int root_fts, root_fts_n;
	unsigned int nalias;		/* a0, a1, ...: an AND's candidate files */
	sqlite3 *db;			/* to ask which words can only be text, and estimate */
	const struct query *query;
	/* Per node: files of its text, then of its tags (-1 unknown); the caps they were counted to. */
	int64_t *est, *est_cap;
	int err;
};

static void buf_add(struct sql *q, char **s, size_t *len, size_t *cap, const char *add,
		    size_t n)
{
	char *ns;

	if (q->err)
		return;
	if (*len + n + 1 > *cap) {
		size_t nc = *cap ? *cap * 2 : 1024;

		while (nc < *len + n + 1)
			nc *= 2;
		ns = realloc(*s, nc);
		if (!ns) {
			q->err = -ENOMEM;
			return;
		}
		*s = ns;
		*cap = nc;
	}
	memcpy(*s + *len, add, n);
	*len += n;
	(*s)[*len] = 0;
}

static void __attribute__((format(printf, 2, 3))) emit(struct sql *q, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		q->err = q->err ? q->err : -EINVAL;
		return;
	}
	buf_add(q, &q->s, &q->len, &q->cap, tmp, (size_t)n);
}

static void __attribute__((format(printf, 2, 3))) emit_cte(struct sql *q, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		q->err = q->err ? q->err : -EINVAL;
		return;
	}
	buf_add(q, &q->ctes, &q->ctes_len, &q->ctes_cap, tmp, (size_t)n);
}

/* Adds a parameter: its number (?N) for the SQL text, or 0 when full. */
static unsigned int param(struct sql *q, struct param p)
{
	if (q->nparams >= SEARCH_PARAMS_MAX) {
		q->err = q->err ? q->err : -E2BIG;
		if (p.owned)
			free((void *)p.p);
		return 0;
	}
	q->params[q->nparams++] = p;
	return q->nparams;
}

static unsigned int param_text(struct sql *q, const char *s)
{
	return param(q, (struct param){ .kind = P_TEXT, .p = s, .len = strlen(s) });
}

static unsigned int param_int(struct sql *q, int64_t v)
{
	return param(q, (struct param){ .kind = P_INT, .i = v });
}

static void sql_free(struct sql *q)
{
	unsigned int i;

	for (i = 0; i < q->nparams; i++)
		if (q->params[i].owned)
			free((void *)q->params[i].p);
	free(q->s);
	free(q->ctes);
	free(q->rank);
	free(q->est);
	free(q->est_cap);
}

/*
 * One FTS5 string for @text: its ICU words joined by spaces, in double
 * quotes with quotes doubled (a phrase: the words in this order). NULL
 * when the text has no word (nothing in the text can match it).
 */
static char *fts_phrase(struct sql *q, const char *text)
{
	size_t n = strlen(text), i, o = 0;
	char *words, *s;

	words = malloc(2 * n + 2);
	if (!words) {
		q->err = -ENOMEM;
		return NULL;
	}
	if (search_segment(text, words, 2 * n + 2) || !words[0]) {
		free(words);
		return NULL;
	}
	n = strlen(words);
	s = malloc(2 * n + 3);
	if (!s) {
		free(words);
		q->err = -ENOMEM;
		return NULL;
	}
	s[o++] = '"';
	for (i = 0; i < n; i++) {
		if (words[i] == '"')
			s[o++] = '"';
		s[o++] = words[i];
	}
	s[o++] = '"';
	s[o] = 0;
	free(words);
	return s;
}

/* A tag set CTE tN(id): @base's tags and, transitively, every tag implying one. */
static unsigned int tagset(struct sql *q, const char *base)
{
	unsigned int t = q->ntagsets++;

	emit_cte(q, "%st%u(id) AS (%s UNION SELECT ti.tag_id FROM tag_implies ti "
		 "JOIN t%u ON ti.implied_id = t%u.id)", q->ctes_len ? ",\n" : "", t, base, t, t);
	return t;
}

static const char *const sql_op[] = { "=", "<", "<=", ">", ">=" };

/*
 * A tag value that comparisons read as a number: query_value_number()'s
 * rule ('-'? and 1..18 digits) in SQL.
 */
#define SQL_NUMERIC(v)							\
	"(length(" v ") BETWEEN 1 AND 19 AND "				\
	"(" v " GLOB '[0-9]*' OR (" v " GLOB '-[0-9]*' AND length(" v ") > 1)) AND " \
	"substr(" v ", 2) NOT GLOB '*[^0-9]*' AND " v " NOT GLOB '[0-9]??????????????????*')"


/* The positive text terms rank the results together. */
static void rank_add(struct sql *q, const char *fts)
{
	if (q->err)
		return;
	if (q->rank_len)
		buf_add(q, &q->rank, &q->rank_len, &q->rank_cap, " OR ", 4);
	buf_add(q, &q->rank, &q->rank_len, &q->rank_cap, fts, strlen(fts));
	q->nrank++;
}

/* @fts (owned) as a parameter: its number. */
static unsigned int param_fts(struct sql *q, char *fts)
{
	return param(q, (struct param){ .kind = P_TEXT, .p = fts, .len = strlen(fts),
					.owned = true });
}

static void text_leaf(struct sql *q, const struct query_node *n, bool negated, char *fts)
{
	if (!negated)
		rank_add(q, fts);
	emit(q, "SELECT rowid AS id FROM file_text WHERE file_text MATCH ?%u", param_fts(q, fts));
	(void)n;
}

/*
 * The SELECT of the tags tag leaf @n names (a bare word's tag, name=value,
 * name=*, a comparison), with its name as parameter ?@a and its value or
 * number as ?@b.
 */
static void tag_base(const struct query_node *n, unsigned int a, unsigned int b, char *base,
		     size_t size)
{
	switch (n->kind) {
	case QUERY_WORD:
		snprintf(base, size, "SELECT id FROM tags WHERE name = ?%u AND value = ''", a);
		break;
	case QUERY_TAG:
		snprintf(base, size, "SELECT id FROM tags WHERE name = ?%u AND value = ?%u", a, b);
		break;
	case QUERY_HAS:
		snprintf(base, size, "SELECT id FROM tags WHERE name = ?%u", a);
		break;
	default:
		snprintf(base, size, "SELECT id FROM tags WHERE name = ?%u AND "
			 SQL_NUMERIC("value") " AND CAST(value AS INTEGER) %s ?%u",
			 a, sql_op[n->op], b);
	}
}

/* tag_base() for @n with its parameters in this statement: the tag set's number. */
static unsigned int tag_leaf_set(struct sql *q, const struct query_node *n)
{
	char base[1024];
	unsigned int a, b = 0;

	a = param_text(q, n->name);
	if (n->kind == QUERY_TAG)
		b = param_text(q, n->value);
	else if (n->kind == QUERY_CMP)
		b = param_int(q, n->num);
	tag_base(n, a, b, base, sizeof(base));
	return tagset(q, base);
}

static void tag_files(struct sql *q, unsigned int t)
{
	emit(q, "SELECT file_id AS id FROM file_tags WHERE tag_id IN (SELECT id FROM t%u)", t);
}

static bool is_tag_leaf(const struct query_node *n)
{
	return n->kind == QUERY_TAG || ((n->kind == QUERY_HAS || n->kind == QUERY_CMP) &&
					!query_is_pseudo(n->name));
}

static void leaf(struct sql *q, const struct query_node *n, bool negated)
{
	char *fts;

	switch (n->kind) {
	case QUERY_WORD:
		/* The bare tag of that name, or the word in the text. */
		fts = fts_phrase(q, n->text);
		if (!fts && !n->name) {
			emit(q, "SELECT id FROM files WHERE 0");
			break;
		}
		if (fts)
			text_leaf(q, n, negated, fts);
		if (n->name) {
			if (fts)
				emit(q, " UNION ");
			tag_files(q, tag_leaf_set(q, n));
		}
		break;
	case QUERY_PHRASE:
		fts = fts_phrase(q, n->text);
		if (fts)
			text_leaf(q, n, negated, fts);
		else
			emit(q, "SELECT id FROM files WHERE 0");
		break;
	case QUERY_HAS:
		if (query_is_pseudo(n->name))
			emit(q, "SELECT id FROM files");
		else
			tag_files(q, tag_leaf_set(q, n));
		break;
	case QUERY_CMP:
		if (query_is_pseudo(n->name)) {
			/* The name is one of ours (query_is_pseudo), never the user's text. */
			emit(q, "SELECT id FROM files WHERE %s %s ?%u",
			     !strcmp(n->name, "size") ? "size" : "mtime", sql_op[n->op],
			     param_int(q, n->num));
			break;
		}
		tag_files(q, tag_leaf_set(q, n));
		break;
	case QUERY_TAG:
		tag_files(q, tag_leaf_set(q, n));
		break;
	default:
		q->err = -EINVAL;
	}
}

/*
 * Whether @n can match only through the text: a phrase, or a word with no
 * bare tag of its name in the store (nothing can then imply one either).
 */
static bool text_only(struct sql *q, const struct query_node *n)
{
	sqlite3_stmt *st;
	bool found = true;

	if (n->kind == QUERY_PHRASE)
		return true;
	if (n->kind != QUERY_WORD)
		return false;
	if (!n->name)
		return true;
	if (!q->db || sqlite3_prepare_v2(q->db, "SELECT 1 FROM tags WHERE name = ?1 AND "
					 "value = ''", -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, n->name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return !found;
}

/*
 * The positive text-only members of an AND as one FTS5 query ("a" AND
 * "b c"): FTS5 intersects its doclists far faster than SQL can intersect
 * their rowid sets. Marks them in @done; the expression (to free), or
 * NULL when fewer than two (which gain nothing). *@count: how many.
 */
static char *merge_text(struct sql *q, const struct query_node *n, bool negated, bool *done,
			unsigned int *count)
{
	const struct query_node *k;
	char *fts[QUERY_MAX_TERMS], *all;
	unsigned int nf = 0, i, idx[QUERY_MAX_TERMS];
	size_t len = 1;

	*count = 0;
	for (k = n->child, i = 0; k; k = k->next, i++) {
		if (nf == QUERY_MAX_TERMS || k->kind == QUERY_NOT || !text_only(q, k))
			continue;
		fts[nf] = fts_phrase(q, k->text);
		if (!fts[nf])
			continue;
		len += strlen(fts[nf]) + 5;
		idx[nf++] = i;
	}
	if (nf < 2) {
		for (i = 0; i < nf; i++)
			free(fts[i]);
		return NULL;
	}
	all = malloc(len);
	if (all) {
		all[0] = 0;
		for (i = 0; i < nf; i++) {
			strcat(all, i ? " AND " : "");
			strcat(all, fts[i]);
		}
	}
	for (i = 0; i < nf; i++) {
		/* Each still ranks on its own. */
		if (!negated)
			rank_add(q, fts[i]);
		free(fts[i]);
		done[idx[i]] = true;
	}
	if (!all)
		q->err = -ENOMEM;
	*count = nf;
	return all;
}

/*
 * Moves the SELECT built in q->s into a new CTE sN(id): every node of the
 * tree gets its own, so the statement stays flat however deep the query
 * nests (SQLite's parser has a bounded stack). Its number, N.
 */
static unsigned int set_cte(struct sql *q)
{
	unsigned int n = q->nsets++;

	emit_cte(q, "%ss%u(id) AS (", q->ctes_len ? ",\n" : "", n);
	if (q->s)
		buf_add(q, &q->ctes, &q->ctes_len, &q->ctes_cap, q->s, q->len);
	emit_cte(q, ")");
	q->len = 0;
	if (q->s)
		q->s[0] = 0;
	return n;
}

/* ---- estimates: which member of an AND to start from ---- */

/*
 * For tests/unit/test_search.c only, which includes this file: 1 always
 * probes and starts an AND from its commonest member, 2 never probes and
 * starts from its last; 0 (dgfsd) goes by the estimates. Results must not
 * change, only their cost.
 */
static int plan_test;

/*
 * Counting stops at a cap: an estimate only has to tell the rare from the
 * common, and counting a common tag's 10^5 rows in full would cost more
 * than it saves. An AND counts its members to 64 files, then 512, ...,
 * until one is under the cap (at most EST_CAP), so the counting costs
 * a few times the rarest member's size.
 */
#define EST_CAP_FIRST	64
#define EST_CAP		262144

static int64_t est_rows(struct sql *q, const char *sql, const struct query_node *tag,
			  const char *fts, int64_t cap)
{
	sqlite3_stmt *st;
	int64_t c = cap;

	if (!q->db || sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK)
		return c;	/* unknown: as common as can be; the statement proper reports */
	if (fts) {
		sqlite3_bind_text(st, 1, fts, -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_text(st, 1, tag->name, -1, SQLITE_STATIC);
		if (tag->kind == QUERY_TAG)
			sqlite3_bind_text(st, 2, tag->value, -1, SQLITE_STATIC);
		else if (tag->kind == QUERY_CMP)
			sqlite3_bind_int64(st, 2, tag->num);
	}
	sqlite3_bind_int64(st, 3, cap);
	if (sqlite3_step(st) == SQLITE_ROW)
		c = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return c;
}

/* Files whose text matches @fts, up to @cap. */
static int64_t count_text(struct sql *q, const char *fts, int64_t cap)
{
	return est_rows(q, "SELECT count(*) FROM (SELECT 1 FROM file_text "
			  "WHERE file_text MATCH ?1 LIMIT ?3)", NULL, fts, cap);
}

/* Files with tag leaf @n's tags (implied ones too), up to @cap. */
static int64_t count_tags(struct sql *q, const struct query_node *n, int64_t cap)
{
	char base[1024], sql[1536];

	tag_base(n, 1, 2, base, sizeof(base));
	snprintf(sql, sizeof(sql), "WITH RECURSIVE t(id) AS (%s UNION SELECT ti.tag_id FROM "
		 "tag_implies ti JOIN t ON ti.implied_id = t.id) SELECT count(*) FROM (SELECT 1 "
		 "FROM file_tags WHERE tag_id IN (SELECT id FROM t) LIMIT ?3)", base);
	return est_rows(q, sql, n, NULL, cap);
}

/* Leaf @n's files through its text (@text) or its tags, up to @cap; cached per node. */
static int64_t leaf_count(struct sql *q, const struct query_node *n, bool text, int64_t cap)
{
	size_t i;
	char *fts;

	if (!q->est) {
		q->est = malloc(2 * QUERY_MAX_NODES * sizeof(*q->est));
		q->est_cap = malloc(2 * QUERY_MAX_NODES * sizeof(*q->est_cap));
		if (!q->est || !q->est_cap) {
			free(q->est);
			q->est = NULL;
			return cap;
		}
		for (i = 0; i < 2 * QUERY_MAX_NODES; i++)
			q->est[i] = -1;
	}
	i = 2 * (size_t)(n - q->query->nodes) + !text;
	/* Known: counted in full (under its cap), or to this cap or past it. */
	if (q->est[i] >= 0 && (q->est[i] < q->est_cap[i] || q->est_cap[i] >= cap))
		return q->est[i] < cap ? q->est[i] : cap;
	if (text) {
		fts = fts_phrase(q, n->text);
		q->est[i] = fts ? count_text(q, fts, cap) : 0;
		free(fts);
	} else {
		q->est[i] = count_tags(q, n, cap);
	}
	q->est_cap[i] = cap;
	return q->est[i];
}

/* About how many files @n finds, up to @cap: a heuristic only. */
static int64_t estimate(struct sql *q, const struct query_node *n, int64_t cap)
{
	const struct query_node *k;
	int64_t e = 0, m = cap;

	switch (n->kind) {
	case QUERY_WORD:
		e = leaf_count(q, n, true, cap);
		if (n->name && e < cap)
			e += leaf_count(q, n, false, cap - e);
		break;
	case QUERY_PHRASE:
		e = leaf_count(q, n, true, cap);
		break;
	case QUERY_TAG:
	case QUERY_HAS:
	case QUERY_CMP:
		e = is_tag_leaf(n) ? leaf_count(q, n, false, cap) : cap;
		break;
	case QUERY_OR:
		for (k = n->child; k && e < cap; k = k->next)
			e += estimate(q, k, cap - e);
		break;
	case QUERY_AND:
		for (k = n->child; k; k = k->next)
			if (k->kind != QUERY_NOT && (e = estimate(q, k, m)) < m)
				m = e;
		e = m;
		break;
	default:
		e = cap;
	}
	return e < cap ? e : cap;
}

/* ---- AND: the rarest member's files, each tested against the others ---- */

/*
 * Whether to test each of @d candidate files against a set of about @t
 * files one by one (an index probe) rather than list the set once. A
 * probe of file_tags' primary key costs about as much as listing two of
 * a tag's files; an FTS5 probe (a MATCH with rowid =) about thirty.
 */
static bool probe(int64_t d, int64_t t, bool text)
{
	if (plan_test)
		return plan_test == 1;
	return text ? d * 30 <= t : d <= 2 * t;
}

static void pred_text(char *p, size_t size, const char *x, unsigned int fts, int64_t d,
		      int64_t t)
{
	if (probe(d, t, true))
		snprintf(p, size, "EXISTS (SELECT 1 FROM file_text WHERE file_text MATCH ?%u "
			 "AND rowid = %s)", fts, x);
	else
		snprintf(p, size, "%s IN (SELECT rowid FROM file_text WHERE file_text MATCH ?%u)",
			 x, fts);
}

static void pred_tags(struct sql *q, char *p, size_t size, const char *x,
		      const struct query_node *n, int64_t d)
{
	unsigned int t = tag_leaf_set(q, n);

	/* +tag_id: walk the file's few tags by the primary key, not every tag in tN. */
	if (probe(d, leaf_count(q, n, false, d + 1), false))
		snprintf(p, size, "EXISTS (SELECT 1 FROM file_tags WHERE file_id = %s AND "
			 "+tag_id IN (SELECT id FROM t%u))", x, t);
	else
		snprintf(p, size, "%s IN (SELECT file_id FROM file_tags WHERE tag_id IN "
			 "(SELECT id FROM t%u))", x, t);
}

static unsigned int set_of(struct sql *q, const struct query_node *n, bool negated);

/*
 * A test that file @x (an SQL expression) is among those @n finds, for
 * an AND starting from about @d files; a new string, NULL on error.
 * Leaves are tested directly, anything else through its own CTE.
 */
static char *member_pred(struct sql *q, const struct query_node *n, bool negated,
			 const char *x, int64_t d)
{
	char p[2048], p2[1024];
	char *fts;

	p[0] = 0;
	switch (n->kind) {
	case QUERY_WORD:
	case QUERY_PHRASE:
		fts = fts_phrase(q, n->text);
		if (!fts && !n->name) {
			snprintf(p, sizeof(p), "0");
			break;
		}
		if (fts) {
			int64_t t = leaf_count(q, n, true, 30 * d + 1);

			if (!negated)
				rank_add(q, fts);
			pred_text(p, sizeof(p), x, param_fts(q, fts), d, t);
		}
		if (n->kind == QUERY_WORD && n->name) {
			pred_tags(q, p2, sizeof(p2), x, n, d);
			if (p[0]) {
				size_t l = strlen(p);

				memmove(p + 1, p, l + 1);
				p[0] = '(';
				snprintf(p + l + 1, sizeof(p) - l - 1, " OR %s)", p2);
			} else {
				snprintf(p, sizeof(p), "%s", p2);
			}
		}
		break;
	case QUERY_TAG:
	case QUERY_HAS:
	case QUERY_CMP:
		if (is_tag_leaf(n))
			pred_tags(q, p, sizeof(p), x, n, d);
		else if (n->kind == QUERY_HAS)
			snprintf(p, sizeof(p), "1");	/* size=*, mtime=*: every file */
		else
			snprintf(p, sizeof(p), "(SELECT %s FROM files WHERE id = %s) %s ?%u",
				 !strcmp(n->name, "size") ? "size" : "mtime", x, sql_op[n->op],
				 param_int(q, n->num));
		break;
	default:
		snprintf(p, sizeof(p), "%s IN (SELECT id FROM s%u)", x, set_of(q, n, negated));
	}
	if (q->err)
		return NULL;
	fts = strdup(p);
	if (!fts)
		q->err = -ENOMEM;
	return fts;
}

struct member {
	const struct query_node *n;	/* NULL: the merged text terms */
	bool neg;			/* an AND's -n */
	int64_t est;
	char *pred;
};

/*
 * An AND: intersecting whole sets costs what the largest costs (a common
 * tag is 10^5 rows), so it starts from the member estimated rarest and
 * tests each candidate against the others, by index probes where the
 * candidates are few (member_pred). The negated members are tests too.
 */
static unsigned int and_set(struct sql *q, const struct query_node *n, bool negated)
{
	const struct query_node *k;
	unsigned int nm = 0, i, j, drv = UINT_MAX, src = 0, alias, merged = 0, nmerged;
	struct member *mem;
	char x[32], *all;
	bool *done, first = true;
	int64_t d = EST_CAP, cap, best;

	mem = calloc(n->nkids + 1, sizeof(*mem));
	done = calloc(n->nkids, sizeof(*done));
	if (!mem || !done) {
		free(mem);
		free(done);
		q->err = -ENOMEM;
		return 0;
	}
	all = merge_text(q, n, negated, done, &nmerged);
	if (all) {
		mem[nm++] = (struct member){ .n = NULL };
		merged = param_fts(q, all);
		if (!merged)
			all = NULL;	/* freed: the statement failed (q->err) */
		if (n == q->query->root && !negated) {
			q->root_fts = merged;
			q->root_fts_n = nmerged;
		}
	}
	for (k = n->child, i = 0; k; k = k->next, i++) {
		if (done[i])
			continue;
		mem[nm].neg = k->kind == QUERY_NOT;
		mem[nm].n = mem[nm].neg ? k->child : k;
		mem[nm].est = EST_CAP;
		nm++;
	}
	/* Each to the best so far: a member past it cannot be the rarest. */
	for (cap = EST_CAP_FIRST, best = cap; nm > 1; cap *= 8, best = cap) {
		for (i = 0; i < nm; i++)
			if (!mem[i].neg) {
				mem[i].est = mem[i].n ? estimate(q, mem[i].n, best) :
					     all ? count_text(q, all, best) : best;
				best = mem[i].est < best ? mem[i].est : best;
			}
		if (best < cap || cap >= EST_CAP)
			break;
	}
	for (i = 0; i < nm; i++)
		if (!mem[i].neg && (drv == UINT_MAX || plan_test == 2 ||
				    (plan_test == 1 ? mem[i].est > mem[drv].est :
				     mem[i].est < mem[drv].est)))
			drv = i;
	if (drv != UINT_MAX)
		d = mem[drv].est;
	alias = q->nalias++;
	snprintf(x, sizeof(x), "a%u.id", alias);
	/* In the members' order, so that the ranked terms keep theirs. */
	for (i = 0; i < nm && !q->err; i++) {
		if (i == drv && !mem[i].n) {
			emit(q, "SELECT rowid AS id FROM file_text WHERE file_text MATCH ?%u", merged);
			src = set_cte(q);
		} else if (i == drv) {
			src = set_of(q, mem[i].n, negated);
		} else if (!mem[i].n) {
			mem[i].pred = malloc(512);
			if (mem[i].pred)
				pred_text(mem[i].pred, 512, x, merged, d,
					  all ? count_text(q, all, 30 * d + 1) : 0);
			else
				q->err = -ENOMEM;
		} else {
			mem[i].pred = member_pred(q, mem[i].n, negated != mem[i].neg, x, d);
		}
	}
	if (drv == UINT_MAX)
		emit(q, "SELECT a%u.id AS id FROM files AS a%u", alias, alias);
	else
		emit(q, "SELECT a%u.id AS id FROM s%u AS a%u", alias, src, alias);
	/* The rarer first: a candidate fails there soonest. Then the negated. */
	for (j = 0; j < nm; j++) {
		unsigned int best = UINT_MAX;

		for (i = 0; i < nm; i++)
			if (mem[i].pred && (best == UINT_MAX || mem[i].neg < mem[best].neg ||
					    (mem[i].neg == mem[best].neg &&
					     mem[i].est < mem[best].est)))
				best = i;
		if (best == UINT_MAX)
			break;
		emit(q, "%s%s(%s)", first ? " WHERE " : " AND ", mem[best].neg ? "NOT " : "",
		     mem[best].pred);
		first = false;
		free(mem[best].pred);
		mem[best].pred = NULL;
	}
	for (i = 0; i < nm; i++)
		free(mem[i].pred);
	free(mem);
	free(done);
	return set_cte(q);
}

/*
 * The set of files node @n matches, as a CTE: its number. @negated: under
 * an odd number of NOTs (its words do not rank).
 */
static unsigned int set_of(struct sql *q, const struct query_node *n, bool negated)
{
	const struct query_node *k;
	unsigned int *kids, nk = 0, i;

	if (q->err)
		return 0;
	switch (n->kind) {
	case QUERY_NOT:
		i = set_of(q, n->child, !negated);
		emit(q, "SELECT id FROM files EXCEPT SELECT id FROM s%u", i);
		return set_cte(q);
	case QUERY_AND:
		return and_set(q, n, negated);
	case QUERY_OR:
		kids = calloc(n->nkids, sizeof(*kids));
		if (!kids) {
			q->err = -ENOMEM;
			return 0;
		}
		for (k = n->child; k && nk < n->nkids; k = k->next)
			kids[nk++] = set_of(q, k, negated);
		for (i = 0; i < nk; i++)
			emit(q, "%sSELECT id FROM s%u", i ? " UNION " : "", kids[i]);
		free(kids);
		return set_cte(q);
	default:
		leaf(q, n, negated);
		return set_cte(q);
	}
}

/* Binds every parameter; 0 or -errno. */
static int bind_all(sqlite3 *db, sqlite3_stmt *st, const struct sql *q)
{
	unsigned int i;
	int rc = SQLITE_OK;

	for (i = 0; i < q->nparams && rc == SQLITE_OK; i++) {
		const struct param *p = &q->params[i];

		switch (p->kind) {
		case P_TEXT:
			rc = sqlite3_bind_text(st, (int)i + 1, p->p, (int)p->len, SQLITE_STATIC);
			break;
		case P_BLOB:
			rc = sqlite3_bind_blob(st, (int)i + 1, p->len ? p->p : "", (int)p->len,
					       SQLITE_STATIC);
			break;
		case P_INT:
			rc = sqlite3_bind_int64(st, (int)i + 1, p->i);
			break;
		case P_DOUBLE:
			rc = sqlite3_bind_double(st, (int)i + 1, p->d);
			break;
		}
	}
	if (rc != SQLITE_OK) {
		fprintf(stderr, "dgfsd: search: bind: %s\n", sqlite3_errmsg(db));
		return -EIO;
	}
	return 0;
}

/*
 * The statement's WITH clause and "hits(id)": the files the query finds,
 * under @prefix. Also "rnk(rid, r)" when free words rank. 0 or -errno.
 */
static int build_hits(struct sql *q, const struct query *query, const char *prefix)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	unsigned int a, b, root;

	/* The sets first: they make the CTEs and parameters they need. */
	q->query = query;
	root = set_of(q, query->root, false);
	if (q->err)
		return q->err;
	free(q->s);
	q->s = NULL;
	q->len = q->cap = 0;
	emit(q, "WITH RECURSIVE ");
	buf_add(q, &q->s, &q->len, &q->cap, q->ctes, q->ctes_len);
	/* IN: a file found twice (two tags of one name) is one hit. */
	emit(q, ",\nhits(id) AS MATERIALIZED (SELECT id FROM files WHERE id IN "
	     "(SELECT id FROM s%u)", root);
	if (plen) {
		a = param(q, (struct param){ .kind = P_BLOB, .p = prefix, .len = plen });
		b = param_int(q, (int64_t)plen);
		emit(q, " AND substr(path, 1, ?%u) = ?%u", b, a);
	}
	emit(q, ")");
	if (q->rank_len) {
		/*
		 * bm25 of the hits only (most of its cost is per row scored;
		 * +rowid: a scan, as FTS5 would work out each phrase's IDF
		 * again for every rowid probe). When every ranked phrase is in
		 * the root's merged AND, that expression has the same phrases
		 * and so gives the same scores, and lists only rows holding
		 * them all.
		 */
		if (q->root_fts && q->root_fts_n == q->nrank) {
			a = q->root_fts;
		} else {
			char *r = strdup(q->rank);

			if (!r)
				return -ENOMEM;
			a = param_fts(q, r);
		}
		emit(q, ",\nrnk(rid, r) AS MATERIALIZED (SELECT rowid, bm25(file_text) "
		     "FROM file_text WHERE file_text MATCH ?%u AND +rowid IN (SELECT id FROM hits))",
		     a);
	}
	return q->err;
}

/* Stops a statement that has run for too long (sqlite3_progress_handler). */
struct deadline {
	struct timespec end;
	bool hit;
};

static int deadline_check(void *arg)
{
	struct deadline *dl = arg;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec > dl->end.tv_sec ||
	    (now.tv_sec == dl->end.tv_sec && now.tv_nsec >= dl->end.tv_nsec)) {
		dl->hit = true;
		return 1;
	}
	return 0;
}

/* SEARCH_TIME_MAX_MS; tests/unit/test_search.c raises it for its forced plans. */
static long deadline_ms = SEARCH_TIME_MAX_MS;

static void deadline_start(sqlite3 *db, struct deadline *dl)
{
	clock_gettime(CLOCK_MONOTONIC, &dl->end);
	dl->end.tv_sec += deadline_ms / 1000;
	dl->end.tv_nsec += (deadline_ms % 1000) * 1000000L;
	if (dl->end.tv_nsec >= 1000000000L) {
		dl->end.tv_sec++;
		dl->end.tv_nsec -= 1000000000L;
	}
	dl->hit = false;
	sqlite3_progress_handler(db, 10000, deadline_check, dl);
}

static int step_err(sqlite3 *db, int rc, const struct deadline *dl, const char *what)
{
	if (dl->hit)
		return -ETIME;
	fprintf(stderr, "dgfsd: search: %s: %s\n", what, sqlite3_errmsg(db));
	return (rc & 0xff) == SQLITE_NOMEM ? -ENOMEM : -EIO;
}

/* ---- running a search ---- */

int search_cursor_parse(const char *s, struct search_page *pg)
{
	const char *comma = s ? strchr(s, ',') : NULL;
	char num[40], *end;
	size_t plen;
	double d;

	if (!comma || (size_t)(comma - s) >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, (size_t)(comma - s));
	num[comma - s] = 0;
	d = strtod(num, &end);
	plen = strlen(comma + 1);
	if (*end || !num[0] || !isfinite(d) || !plen || plen > META_PATH_MAX)
		return -EINVAL;
	pg->has_after = true;
	pg->after_score = d;
	memcpy(pg->after_path, comma + 1, plen + 1);
	return 0;
}

struct run {
	const struct query *q;
	const struct search_page *pg;
	json_t *files;
	char next[SEARCH_CURSOR_MAX];
	bool more;
};

static const char *source_name(int source)
{
	return source == 1 ? "user" : source == 2 ? "implied" : "auto";
}

static json_t *file_tags_json(sqlite3 *db, sqlite3_stmt *st, int64_t file_id)
{
	json_t *tags = json_array();
	int n = 0;

	sqlite3_bind_int64(st, 1, file_id);
	while (tags && n++ < SEARCH_TAGS_MAX && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *value = (const char *)sqlite3_column_text(st, 1);

		json_array_append_new(tags, json_pack("{s:s,s:s?,s:s}", "name", name ? name : "",
						      "value", value && *value ? value : NULL,
						      "source", source_name(sqlite3_column_int(st, 2))));
	}
	sqlite3_reset(st);
	(void)db;
	return tags;
}

static int run_search(sqlite3 *db, void *arg)
{
	struct run *r = arg;
	const struct search_page *pg = r->pg;
	struct sql q = { 0 };
	sqlite3_stmt *st = NULL, *tst = NULL;
	struct deadline dl = { 0 };
	unsigned int a, b, n = 0;
	int rc, err;

	q.db = db;
	/* From here: the estimates that build_hits() counts run under it too. */
	deadline_start(db, &dl);
	err = build_hits(&q, r->q, pg->prefix);
	if (err)
		goto out;
	emit(&q, "\nSELECT id, path, score FROM (SELECT hits.id AS id, files.path AS path, %s "
	     "AS score FROM hits JOIN files ON files.id = hits.id%s)", q.rank_len ?
	     "coalesce(-rnk.r, 0.0)" : "0.0", q.rank_len ? " LEFT JOIN rnk ON rnk.rid = hits.id" : "");
	if (pg->has_after) {
		a = param(&q, (struct param){ .kind = P_DOUBLE, .d = pg->after_score });
		b = param(&q, (struct param){ .kind = P_BLOB, .p = pg->after_path,
					      .len = strlen(pg->after_path) });
		emit(&q, " WHERE score < ?%u OR (score = ?%u AND path > ?%u)", a, a, b);
	}
	/* One more than asked: whether a next page exists. */
	a = param_int(&q, (int64_t)pg->limit + 1);
	emit(&q, " ORDER BY score DESC, path LIMIT ?%u", a);
	err = q.err;
	if (err)
		goto out;
	rc = sqlite3_prepare_v2(db, q.s, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "dgfsd: search: prepare: %s\n", sqlite3_errmsg(db));
		err = -EIO;
		goto out;
	}
	err = bind_all(db, st, &q);
	if (err)
		goto out;
	if (pg->with_tags) {
		/* As GET /files/{path}?tags shows them: implied tags too (source 2). */
		rc = sqlite3_prepare_v2(db, "WITH RECURSIVE own(tag_id, source) AS "
					"(SELECT tag_id, source FROM file_tags WHERE file_id = ?1), "
					"imp(tag_id) AS (SELECT tag_id FROM own UNION SELECT "
					"ti.implied_id FROM tag_implies ti JOIN imp ON "
					"ti.tag_id = imp.tag_id) SELECT t.name, t.value, "
					"coalesce(own.source, 2) FROM imp CROSS JOIN tags t ON "
					"t.id = imp.tag_id LEFT JOIN own ON own.tag_id = imp.tag_id "
					"ORDER BY 1, 2", -1, &tst, NULL);
		if (rc != SQLITE_OK) {
			err = step_err(db, rc, &dl, "prepare tags");
			goto out;
		}
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *path = sqlite3_column_blob(st, 1);
		int plen = sqlite3_column_bytes(st, 1);
		double score = sqlite3_column_double(st, 2);
		json_t *f;

		if (n == pg->limit) {
			r->more = true;
			break;
		}
		if (!path || plen <= 0 || plen > META_PATH_MAX || memchr(path, 0, plen))
			continue;
		f = json_pack("{s:s%,s:f}", "path", (const char *)path, (size_t)plen,
			      "score", score);
		if (f && tst)
			json_object_set_new(f, "tags", file_tags_json(db, tst,
								     sqlite3_column_int64(st, 0)));
		if (!f)
			continue;	/* a path that is not UTF-8: JSON cannot carry it */
		if (json_array_append_new(r->files, f)) {
			err = -ENOMEM;
			goto out;
		}
		snprintf(r->next, sizeof(r->next), "%a,%.*s", score, plen, (const char *)path);
		n++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = step_err(db, rc, &dl, "step");
out:
	sqlite3_progress_handler(db, 0, NULL, NULL);
	sqlite3_finalize(st);
	sqlite3_finalize(tst);
	sql_free(&q);
	return err;
}

int search_run(struct meta *m, const struct query *q, const struct search_page *pg,
	       json_t **out)
{
	struct run r = { .q = q, .pg = pg };
	int err;

	*out = NULL;
	if (!q || !q->root || !pg || !pg->limit || pg->limit > SEARCH_LIMIT_MAX)
		return -EINVAL;
	r.files = json_array();
	if (!r.files)
		return -ENOMEM;
	err = meta_run(m, false, run_search, &r);
	if (!err) {
		*out = json_pack("{s:o,s:o}", "files", r.files, "next",
				 r.more ? json_string(r.next) : json_null());
		if (!*out)
			err = -ENOMEM;
	} else {
		json_decref(r.files);
	}
	return err;
}

/* ---- bulk tagging ---- */

struct apply {
	const struct query *q;
	const char *prefix;
	const struct tag *add, *remove;
	size_t nadd, nremove;
	uint64_t files;
};

static int exec_sql(sqlite3 *db, const char *sql, const struct tag *t, struct deadline *dl)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return step_err(db, rc, dl, "prepare apply");
	if (t) {
		sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, t->value, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : step_err(db, rc, dl, "apply");
}

static int run_apply(sqlite3 *db, void *arg)
{
	struct apply *ap = arg;
	struct sql q = { 0 };
	sqlite3_stmt *st = NULL;
	struct deadline dl = { 0 };
	size_t i;
	int rc, err;

	deadline_start(db, &dl);
	err = exec_sql(db, "CREATE TEMP TABLE IF NOT EXISTS bulk_hits (id INTEGER PRIMARY KEY)",
		       NULL, &dl);
	if (!err)
		err = exec_sql(db, "DELETE FROM temp.bulk_hits", NULL, &dl);
	q.db = db;
	if (!err)
		err = build_hits(&q, ap->q, ap->prefix);
	if (err)
		goto out;
	emit(&q, "\nINSERT INTO temp.bulk_hits (id) SELECT id FROM hits");
	if (q.err) {
		err = q.err;
		goto out;
	}
	rc = sqlite3_prepare_v2(db, q.s, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		err = step_err(db, rc, &dl, "prepare apply");
		goto out;
	}
	err = bind_all(db, st, &q);
	if (!err) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			err = step_err(db, rc, &dl, "apply hits");
	}
	if (err)
		goto out;
	ap->files = (uint64_t)sqlite3_changes64(db);
	/*
	 * As meta_tags.c changes one file: removed tags are remembered as
	 * removed (so tagging again does not bring an auto tag back), added
	 * ones become user tags (an auto tag already there too) and are no
	 * longer remembered as removed.
	 */
	for (i = 0; !err && i < ap->nremove; i++) {
		err = exec_sql(db, "INSERT INTO tags (name, value) VALUES (?1, ?2) "
			       "ON CONFLICT (name, value) DO NOTHING", &ap->remove[i], &dl);
		if (!err)
			err = exec_sql(db, "DELETE FROM file_tags WHERE tag_id = "
				       "(SELECT id FROM tags WHERE name = ?1 AND value = ?2) "
				       "AND file_id IN (SELECT id FROM temp.bulk_hits)",
				       &ap->remove[i], &dl);
		if (!err)
			err = exec_sql(db, "INSERT INTO file_tags_removed (file_id, tag_id) "
				       "SELECT h.id, t.id FROM temp.bulk_hits h, tags t "
				       "WHERE t.name = ?1 AND t.value = ?2 ON CONFLICT DO NOTHING",
				       &ap->remove[i], &dl);
	}
	for (i = 0; !err && i < ap->nadd; i++) {
		err = exec_sql(db, "INSERT INTO tags (name, value) VALUES (?1, ?2) "
			       "ON CONFLICT (name, value) DO NOTHING", &ap->add[i], &dl);
		if (!err)
			err = exec_sql(db, "INSERT INTO file_tags (file_id, tag_id, source) "
				       "SELECT h.id, t.id, 1 FROM temp.bulk_hits h, tags t "
				       "WHERE t.name = ?1 AND t.value = ?2 "
				       "ON CONFLICT (file_id, tag_id) DO UPDATE SET source = 1",
				       &ap->add[i], &dl);
		if (!err)
			err = exec_sql(db, "DELETE FROM file_tags_removed WHERE tag_id = "
				       "(SELECT id FROM tags WHERE name = ?1 AND value = ?2) "
				       "AND file_id IN (SELECT id FROM temp.bulk_hits)",
				       &ap->add[i], &dl);
	}
	if (!err && ap->nadd) {
		sqlite3_stmt *cs;

		/* meta_tags.c's bound on one file's user tags holds for each. */
		rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM file_tags WHERE source = 1 AND "
					"file_id IN (SELECT id FROM temp.bulk_hits) GROUP BY file_id "
					"HAVING count(*) > ?1 LIMIT 1", -1, &cs, NULL);
		if (rc != SQLITE_OK) {
			err = step_err(db, rc, &dl, "prepare apply");
		} else {
			sqlite3_bind_int(cs, 1, META_TAGS_USER_MAX);
			rc = sqlite3_step(cs);
			err = rc == SQLITE_ROW ? -E2BIG : rc == SQLITE_DONE ? 0 :
			      step_err(db, rc, &dl, "apply");
			sqlite3_finalize(cs);
		}
	}
	if (!err)
		err = exec_sql(db, "DELETE FROM temp.bulk_hits", NULL, &dl);
out:
	sqlite3_progress_handler(db, 0, NULL, NULL);
	sqlite3_finalize(st);
	sql_free(&q);
	return err;
}

int search_apply(struct meta *m, const struct query *q, const char *prefix,
		 const struct tag *add, size_t nadd, const struct tag *remove, size_t nremove,
		 uint64_t *files)
{
	struct apply ap = { .q = q, .prefix = prefix, .add = add, .nadd = nadd,
			    .remove = remove, .nremove = nremove };
	int err;

	size_t i, j;

	if (!q || !q->root || (nadd && !add) || (nremove && !remove))
		return -EINVAL;
	for (i = 0; i < nadd; i++)
		for (j = 0; j < nremove; j++)
			if (!strcmp(add[i].name, remove[j].name) &&
			    !strcmp(add[i].value, remove[j].value))
				return -EINVAL;
	err = meta_run(m, true, run_apply, &ap);
	if (!err && files)
		*files = ap.files;
	return err;
}
