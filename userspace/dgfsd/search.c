// SPDX-License-Identifier: GPL-2.0
/*
 * A query's tree into one SQL statement (search.h). Before the SQL is
 * written, each tag leaf's tags are looked up once (with every tag that
 * implies one, through tag_implies) and bound as one parameter, a JSON
 * array read by json_each(); free words and phrases become FTS5 strings
 * for the table file_text, and the positive ones together rank the
 * results by bm25. The statement then lists candidate files once (the
 * files of the rarest member of an AND, of every member of an OR; every
 * file when a NOT or a pseudo-tag leaves nothing narrower) and tests each
 * against the whole tree as one boolean expression, each leaf either
 * listed once or probed by index: its cost is about candidates x leaves.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>
#include <unicode/ustring.h>

#include "dgfsd/search.h"
#include "dgfsd/meta_tags.h"
#include "dgfsd/meta/sqlite_rank.h"
#include "dgfsd/search_pg.h"
#include "dgfsd/strbuf.h"
#include "dgfsd/word_break.h"
#include "tags/tag.h"

/* ---- words ---- */

struct segment {
	char *out;
	size_t size, o;
};

/* One word of search_segment()'s, after a space: -ENOSPC when @size is too small. */
static int segment_word(const UChar *w, int32_t n, void *arg)
{
	struct segment *g = arg;
	UErrorCode ec = U_ZERO_ERROR;
	int32_t olen;

	if (g->o && g->o + 1 < g->size)
		g->out[g->o++] = ' ';
	u_strToUTF8(g->out + g->o, (int32_t)(g->size - g->o), &olen, w, n, &ec);
	if (U_FAILURE(ec) || ec == U_STRING_NOT_TERMINATED_WARNING ||
	    g->o + (size_t)olen + 1 > g->size)
		return -ENOSPC;
	g->o += (size_t)olen;
	return 0;
}

int search_segment(const char *s, char *out, size_t size)
{
	struct segment g = { .out = out, .size = size };
	int err;

	if (!s || !out || !size)
		return -EINVAL;
	out[0] = 0;
	err = word_break(s, -1, segment_word, &g);
	out[err ? 0 : g.o] = 0;
	return err;
}

/* ---- the statement being built ---- */

enum param_kind { P_TEXT, P_BLOB, P_INT, P_DOUBLE, P_FLOOR };

struct param {
	enum param_kind kind;
	const void *p;			/* P_TEXT, P_BLOB: the caller's or owned; P_FLOOR */
	size_t len;
	int64_t i;
	double d;
	bool owned;
};

#define SEARCH_PARAMS_MAX	(8 * QUERY_MAX_TERMS + 16)

/* The small statements that plan a query, prepared once per query. */
enum plan_stmt {
	PS_WORD, PS_TAG, PS_HAS, PS_CMP,		/* + the comparison (sql_op) */
	PS_COUNT_TAGS = PS_CMP + 5, PS_COUNT_TEXT, PS_N
};

/* What a node of the query is found to be before its SQL is written. */
struct node_info {
	/* Leaves: the words as one FTS5 phrase (?fts), NULL when none. */
	char *fts;
	unsigned int fts_param;
	int rank_idx;			/* its phrase's place in q->rank, or -1 */
	int extra_idx;			/* else in q->extra (a ranked scan's), or -1 */
	/* Tag leaves and words: the ids of the tags they match, implied ones too. */
	char *tags;			/* as a JSON array, for json_each() */
	int64_t tag;			/* the first id */
	unsigned int ntags, tags_param;	/* ?tags_param: the array, or the id when only one */
	/* Files of its text [0] and its tags [1], counted to est_cap (-1: not yet). */
	int64_t est[2], est_cap[2];
	/* Whether it lists candidates of its own (has_gen()). */
	bool gen;
	/* An AND: its positive text-only members merged into one FTS5 AND (?merged). */
	char *merged;
	unsigned int merged_param, nmerged;
	uint64_t merged_kids;		/* bit i: child i is in it */
	/* An AND whose candidates are listed: the member they come from (DRV_*). */
	int drv;
	/* As a member of an AND: its estimate, so that the rarer are tested first. */
	int64_t order;
};

#define DRV_NONE	-1
#define DRV_MERGED	-2

struct sql {
	struct strbuf s;		/* the statement */
	struct strbuf ctes;		/* its CTEs, built beside */
	struct param params[SEARCH_PARAMS_MAX];
	unsigned int nparams;
	unsigned int nsets;		/* CTEs s0, s1, ...: files of a deep subtree */
	unsigned int nalias;		/* f0, f1, ...: the files a set tests */
	struct strbuf rank;		/* the positive text terms, ORed, for bm25 */
	struct strbuf scan;		/* a ranked scan's SELECT (scan_fts) */
	unsigned int nrank;		/* phrases in rank */
	/* The root AND's merged text terms (a parameter), and how many. */
	unsigned int root_fts, root_fts_n;
	/*
	 * A ranked scan (scan_hits()): the statement lists the hits with their
	 * scores straight from the ranking's FTS5 expression (?scan_fts, the
	 * string scan_s), dgfs_rank() dropping those under floor.
	 */
	unsigned int scan_fts;
	const char *scan_s;
	/*
	 * The scan's rows all hold the root AND's required text (its merged
	 * AND, or its one text-only member): that member, req_drv (DRV_*), is
	 * never tested, and the scan is "R AND (ranked OR)" when the ranked
	 * OR holds more (floor.skip: R's phrases, not scored).
	 */
	bool scan_req;
	int req_drv;
	/*
	 * The scan is "R AND (ranked OR extra)" (scan_or): each text leaf's
	 * phrase is in the OR, the ranked ones' scored and the others (under
	 * a NOT: extra) only tested, by the row's positions (dgfs_has).
	 */
	bool scan_or;
	struct strbuf extra;
	unsigned int nextra;
	struct rank_floor floor;
	sqlite3 *db;			/* to find tags and estimate */
	const struct query *query;
	struct node_info *info;		/* per node of query */
	sqlite3_stmt *plan[PS_N];
	int err;
};

/* The pieces of q's statements, under its one error (strbuf.h). */
#define buf_add(q, b, add, n)	strbuf_add(b, &(q)->err, add, n)
#define bprintf(q, b, ...)	strbuf_printf(b, &(q)->err, __VA_ARGS__)
#define emit(q, ...)		bprintf(q, &(q)->s, __VA_ARGS__)

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
	for (i = 0; q->info && q->query && i < q->query->nnodes; i++) {
		free(q->info[i].fts);
		free(q->info[i].tags);
		free(q->info[i].merged);
	}
	for (i = 0; i < PS_N; i++)
		sqlite3_finalize(q->plan[i]);
	free(q->info);
	free(q->s.s);
	free(q->ctes.s);
	free(q->rank.s);
	free(q->scan.s);
	free(q->extra.s);
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
	if (q->rank.len)
		buf_add(q, &q->rank, " OR ", 4);
	buf_add(q, &q->rank, fts, strlen(fts));
	q->nrank++;
}

static bool is_tag_leaf(const struct query_node *n)
{
	return n->kind == QUERY_TAG || ((n->kind == QUERY_HAS || n->kind == QUERY_CMP) &&
					!query_is_pseudo(n->name));
}

/* Whether an AND's child @i is in its merged FTS5 AND (an AND has at most 64). */
static bool merged_kid(const struct node_info *ni, unsigned int i)
{
	return i < 64 && (ni->merged_kids >> i & 1);
}

static struct node_info *info(struct sql *q, const struct query_node *n)
{
	return &q->info[n - q->query->nodes];
}

/* ---- planning: each leaf's tags, once, and how common things are ---- */

/*
 * For tests/unit/test_search.c only, which includes this file: 1 always
 * probes and starts an AND from its commonest member, 2 never probes and
 * starts from its last; 0 (dgfsd) goes by the estimates. Results must not
 * change, only their cost.
 */
static int plan_test;
/*
 * Also for the unit test: scan_test 1 never ranks by a scan (scores every
 * hit and sorts them all, as before the scan existed), so the two can be
 * compared page by page; scans counts the searches that did.
 */
static int scan_test;
static unsigned long scans;

/* Planning statement @i, prepared on first use in this query; NULL on error (q->err). */
static sqlite3_stmt *plan_stmt(struct sql *q, enum plan_stmt i)
{
	/* A tag leaf's tags and, transitively, every tag implying one of them. */
	static const char closure[] = "WITH RECURSIVE c(id) AS (%s UNION SELECT ti.tag_id "
				      "FROM tag_implies ti JOIN c ON ti.implied_id = c.id) "
				      "SELECT id FROM c";
	char base[512], sql[1024];

	if (q->plan[i]) {
		sqlite3_reset(q->plan[i]);
		return q->plan[i];
	}
	switch (i) {
	case PS_WORD:
		snprintf(base, sizeof(base), "SELECT id FROM tags WHERE name = ?1 AND value = ''");
		break;
	case PS_TAG:
		snprintf(base, sizeof(base), "SELECT id FROM tags WHERE name = ?1 AND value = ?2");
		break;
	case PS_HAS:
		snprintf(base, sizeof(base), "SELECT id FROM tags WHERE name = ?1");
		break;
	case PS_COUNT_TAGS:
		base[0] = 0;
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM (SELECT 1 FROM file_tags WHERE "
			 "tag_id IN (SELECT value FROM json_each(?1)) LIMIT ?2)");
		break;
	case PS_COUNT_TEXT:
		base[0] = 0;
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM (SELECT 1 FROM file_text "
			 "WHERE file_text MATCH ?1 LIMIT ?2)");
		break;
	default:
		snprintf(base, sizeof(base), "SELECT id FROM tags WHERE name = ?1 AND "
			 SQL_NUMERIC("value") " AND CAST(value AS INTEGER) %s ?2",
			 sql_op[i - PS_CMP]);
	}
	if (base[0])
		snprintf(sql, sizeof(sql), closure, base);
	if (sqlite3_prepare_v2(q->db, sql, -1, &q->plan[i], NULL) != SQLITE_OK) {
		fprintf(stderr, "dgfsd: search: prepare plan: %s\n", sqlite3_errmsg(q->db));
		q->err = q->err ? q->err : -EIO;
		q->plan[i] = NULL;
	}
	return q->plan[i];
}

/*
 * The tags tag leaf (or bare word) @n matches, implied ones included,
 * into its node_info: looked up once here, then bound as one parameter,
 * instead of a recursive CTE per leaf in the statement.
 */
static void resolve_tags(struct sql *q, const struct query_node *n, struct node_info *ni)
{
	struct strbuf ids = { 0 };
	sqlite3_stmt *st;
	int rc;

	switch (n->kind) {
	case QUERY_WORD:
		st = plan_stmt(q, PS_WORD);
		break;
	case QUERY_TAG:
		st = plan_stmt(q, PS_TAG);
		if (st)
			sqlite3_bind_text(st, 2, n->value, -1, SQLITE_STATIC);
		break;
	case QUERY_HAS:
		st = plan_stmt(q, PS_HAS);
		break;
	default:
		st = plan_stmt(q, PS_CMP + n->op);
		if (st)
			sqlite3_bind_int64(st, 2, n->num);
	}
	if (!st)
		return;
	sqlite3_bind_text(st, 1, n->name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);

		if (!ni->ntags++)
			ni->tag = id;
		bprintf(q, &ids, "%s%lld", ids.len ? "," : "[", (long long)id);
	}
	if (rc != SQLITE_DONE) {
		q->err = q->err ? q->err : -EIO;	/* run_search tells a deadline */
		fprintf(stderr, "dgfsd: search: tags: %s\n", sqlite3_errmsg(q->db));
	}
	bprintf(q, &ids, "%s]", ids.len ? "" : "[");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (q->err) {
		free(ids.s);
		return;
	}
	ni->tags = ids.s;
	if (ni->ntags == 1)
		ni->tags_param = param_int(q, ni->tag);
	else if (ni->ntags > 1)
		ni->tags_param = param_text(q, ni->tags);
}

/*
 * Resolves every leaf (its FTS5 phrase, its tags), merges each AND's
 * positive text-only members into one FTS5 AND (FTS5 intersects doclists
 * far faster than SQL intersects rowid sets) and notes which nodes list
 * candidates of their own. @negated: under an odd number of NOTs (its
 * words do not rank).
 */
static void prepare_node(struct sql *q, const struct query_node *n, bool negated)
{
	struct node_info *ni = info(q, n);
	const struct query_node *k;
	unsigned int i;

	ni->est[0] = ni->est[1] = -1;
	ni->drv = DRV_NONE;
	ni->order = -1;
	ni->rank_idx = -1;
	ni->extra_idx = -1;
	switch (n->kind) {
	case QUERY_WORD:
	case QUERY_PHRASE:
		ni->fts = fts_phrase(q, n->text);
		if (ni->fts) {
			ni->fts_param = param_text(q, ni->fts);
			if (!negated) {
				ni->rank_idx = (int)q->nrank;
				rank_add(q, ni->fts);
			}
		}
		if (n->kind == QUERY_WORD && n->name)
			resolve_tags(q, n, ni);
		ni->gen = true;
		break;
	case QUERY_TAG:
	case QUERY_HAS:
	case QUERY_CMP:
		if (is_tag_leaf(n))
			resolve_tags(q, n, ni);
		ni->gen = is_tag_leaf(n);	/* a pseudo-tag: every file is a candidate */
		break;
	case QUERY_NOT:
		prepare_node(q, n->child, !negated);
		ni->gen = false;
		break;
	case QUERY_OR:
		ni->gen = true;
		for (k = n->child; k; k = k->next) {
			prepare_node(q, k, negated);
			ni->gen = ni->gen && info(q, k)->gen;
		}
		break;
	case QUERY_AND: {
		struct strbuf all = { 0 };

		ni->gen = false;
		for (k = n->child, i = 0; k; k = k->next, i++) {
			struct node_info *ki = info(q, k);

			prepare_node(q, k, negated);
			ni->gen = ni->gen || (k->kind != QUERY_NOT && ki->gen);
			/* Text only: a phrase, or a word that no tag is (nor implies). */
			if (i < 64 && ki->fts && (k->kind == QUERY_PHRASE ||
						  (k->kind == QUERY_WORD && !ki->ntags))) {
				if (all.len)
					buf_add(q, &all, " AND ", 5);
				buf_add(q, &all, ki->fts, strlen(ki->fts));
				ni->merged_kids |= 1ull << i;
				ni->nmerged++;
			}
		}
		if (ni->nmerged < 2) {
			/* One gains nothing. */
			ni->merged_kids = 0;
			ni->nmerged = 0;
			free(all.s);
			break;
		}
		ni->merged = all.s;
		if (!q->err)
			ni->merged_param = param_text(q, ni->merged);
		ni->gen = true;
		if (n == q->query->root && !negated) {
			q->root_fts = ni->merged_param;
			q->root_fts_n = ni->nmerged;
		}
		break;
	}
	}
}

/*
 * Counting stops at a cap: an estimate only has to tell the rare from the
 * common, and counting a common tag's 10^5 rows in full would cost more
 * than it saves. An AND counts its members to 64 files, then 512, ...,
 * until one is under the cap (at most EST_CAP), so the counting costs
 * a few times the rarest member's size. Every estimate stays within
 * 0..EST_CAP, so sums and products of a few never overflow.
 */
#define EST_CAP_FIRST	64
#define EST_CAP		262144

static int64_t est_min(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* Rows of planning statement @i for @arg, up to @cap. */
static int64_t plan_count(struct sql *q, enum plan_stmt i, const char *arg, int64_t cap)
{
	sqlite3_stmt *st = plan_stmt(q, i);
	int64_t c = cap;	/* unknown: as common as can be */

	if (!st)
		return c;
	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, cap);
	if (sqlite3_step(st) == SQLITE_ROW)
		c = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return est_min(c, cap);
}

/*
 * Files through @ni's text (@text: @fts) or its tags, up to @cap (at most
 * EST_CAP); cached per node.
 */
static int64_t counted(struct sql *q, struct node_info *ni, bool text, const char *fts,
		       int64_t cap)
{
	int i = !text;

	cap = est_min(cap, EST_CAP);
	if (text ? !fts : !ni->ntags)
		return 0;
	/* Known: counted in full (under its cap), or to this cap or past it. */
	if (ni->est[i] >= 0 && (ni->est[i] < ni->est_cap[i] || ni->est_cap[i] >= cap))
		return est_min(ni->est[i], cap);
	ni->est[i] = text ? plan_count(q, PS_COUNT_TEXT, fts, cap) :
			    plan_count(q, PS_COUNT_TAGS, ni->tags, cap);
	ni->est_cap[i] = cap;
	return ni->est[i];
}

/* About how many candidates @n lists (has_gen), up to @cap: a heuristic only. */
static int64_t estimate(struct sql *q, const struct query_node *n, int64_t cap)
{
	struct node_info *ni = info(q, n);
	const struct query_node *k;
	int64_t e = 0, m;
	unsigned int i;

	cap = est_min(cap, EST_CAP);
	if (!ni->gen)
		return cap;
	switch (n->kind) {
	case QUERY_WORD:
	case QUERY_PHRASE:
		e = counted(q, ni, true, ni->fts, cap);
		if (e < cap)
			e += counted(q, ni, false, NULL, cap - e);
		break;
	case QUERY_TAG:
	case QUERY_HAS:
	case QUERY_CMP:
		e = counted(q, ni, false, NULL, cap);
		break;
	case QUERY_OR:
		for (k = n->child; k && e < cap; k = k->next)
			e += estimate(q, k, cap - e);
		break;
	case QUERY_AND:
		m = ni->merged ? counted(q, ni, true, ni->merged, cap) : cap;
		for (k = n->child, i = 0; k; k = k->next, i++)
			if (k->kind != QUERY_NOT && !merged_kid(ni, i) && info(q, k)->gen)
				m = est_min(m, estimate(q, k, m));
		e = m;
		break;
	default:
		e = cap;
	}
	return est_min(e, cap);
}

/*
 * Which member each AND that lists candidates (on the way from @n down
 * through ORs and the chosen members) lists them from: the member
 * estimated rarest. The estimates are kept to order an AND's tests.
 */
static void plan_gen(struct sql *q, const struct query_node *n)
{
	struct node_info *ni = info(q, n);
	const struct query_node *k, *kid[QUERY_MAX_TERMS + 1];
	int idx[QUERY_MAX_TERMS + 1];
	int64_t est[QUERY_MAX_TERMS + 1], cap, best;
	unsigned int i, j, nm = 0, drv = 0;

	if (q->err || !ni->gen)
		return;
	if (n->kind == QUERY_OR) {
		for (k = n->child; k; k = k->next)
			plan_gen(q, k);
		return;
	}
	if (n->kind != QUERY_AND || ni->drv != DRV_NONE)
		return;
	if (ni->merged) {
		kid[nm] = NULL;
		est[nm] = EST_CAP;
		idx[nm++] = DRV_MERGED;
	}
	for (k = n->child, i = 0; k && nm <= QUERY_MAX_TERMS; k = k->next, i++)
		if (k->kind != QUERY_NOT && !merged_kid(ni, i) &&
		    info(q, k)->gen) {
			kid[nm] = k;
			est[nm] = EST_CAP;
			idx[nm++] = (int)i;
		}
	if (!nm)
		return;		/* cannot be: ni->gen */
	/* Each to the best so far: a member past it cannot be the rarest. */
	for (cap = EST_CAP_FIRST, best = cap; nm > 1; cap *= 8, best = cap) {
		for (j = 0; j < nm; j++) {
			est[j] = kid[j] ? estimate(q, kid[j], best) :
				 counted(q, ni, true, ni->merged, best);
			best = est_min(best, est[j]);
		}
		if (best < cap || cap >= EST_CAP)
			break;
	}
	for (j = 1; j < nm; j++)
		if (plan_test == 2 || (plan_test == 1 ? est[j] > est[drv] : est[j] < est[drv]))
			drv = j;
	for (j = 0; j < nm; j++)
		if (kid[j])
			info(q, kid[j])->order = est[j];
	ni->drv = idx[drv];
	if (kid[drv])
		plan_gen(q, kid[drv]);
}

/* About how many candidates gen_sql() lists for @n (planned), up to @cap. */
static int64_t gen_est(struct sql *q, const struct query_node *n, int64_t cap)
{
	struct node_info *ni = info(q, n);
	const struct query_node *k;
	int64_t e = 0;
	int i;

	cap = est_min(cap, EST_CAP);
	switch (n->kind) {
	case QUERY_OR:
		for (k = n->child; k && e < cap; k = k->next)
			e += gen_est(q, k, cap - e);
		return est_min(e, cap);
	case QUERY_AND:
		if (ni->drv == DRV_MERGED)
			return counted(q, ni, true, ni->merged, cap);
		for (k = n->child, i = 0; k && i < ni->drv; k = k->next, i++)
			;
		return k && ni->drv >= 0 ? gen_est(q, k, cap) : cap;
	default:
		return estimate(q, n, cap);
	}
}

/* ---- the SQL: candidates listed once, each tested against the whole tree ---- */

/* SELECTs of a tag leaf's files, and of a text leaf's. */
static void tag_files(struct sql *q, struct strbuf *b, const struct node_info *ni)
{
	if (ni->ntags == 1)
		bprintf(q, b, "SELECT file_id FROM file_tags WHERE tag_id = ?%u", ni->tags_param);
	else
		bprintf(q, b, "SELECT file_id FROM file_tags WHERE tag_id IN "
			"(SELECT value FROM json_each(?%u))", ni->tags_param);
}

static void text_files(struct sql *q, struct strbuf *b, unsigned int fts)
{
	bprintf(q, b, "SELECT rowid FROM file_text WHERE file_text MATCH ?%u", fts);
}

/*
 * The candidates of @n (has_gen): a compound SELECT of leaves' files, a
 * superset of what @n finds: an OR's are its members', an AND's its
 * chosen member's (plan_gen). Flat however deep the tree.
 */
static void gen_sql(struct sql *q, struct strbuf *b, const struct query_node *n)
{
	const struct node_info *ni = info(q, n);
	const struct query_node *k;
	size_t start = b->len;
	int i;

	switch (n->kind) {
	case QUERY_OR:
		for (k = n->child; k; k = k->next) {
			if (b->len > start)
				bprintf(q, b, " UNION ALL ");
			gen_sql(q, b, k);
		}
		return;
	case QUERY_AND:
		if (ni->drv == DRV_MERGED) {
			text_files(q, b, ni->merged_param);
			return;
		}
		for (k = n->child, i = 0; k && i < ni->drv; k = k->next, i++)
			;
		if (k)
			gen_sql(q, b, k);
		else
			q->err = q->err ? q->err : -EINVAL;
		return;
	default:
		if (ni->fts)
			text_files(q, b, ni->fts_param);
		if (ni->ntags) {
			if (b->len > start)
				bprintf(q, b, " UNION ALL ");
			tag_files(q, b, ni);
		}
		if (b->len == start)
			bprintf(q, b, "SELECT 0 WHERE 0");
	}
}

/*
 * The FTS5 string whose rows are exactly @n's candidates (gen_sql() lists
 * one text leaf's, or one AND's merged, files), or NULL.
 */
static const char *gen_fts(struct sql *q, const struct query_node *n)
{
	const struct node_info *ni = info(q, n);
	const struct query_node *k;
	int i;

	switch (n->kind) {
	case QUERY_AND:
		if (ni->drv == DRV_MERGED)
			return ni->merged;
		for (k = n->child, i = 0; k && i < ni->drv; k = k->next, i++)
			;
		return k && ni->drv >= 0 ? gen_fts(q, k) : NULL;
	case QUERY_WORD:
	case QUERY_PHRASE:
		return ni->ntags ? NULL : ni->fts;
	default:
		return NULL;
	}
}

/*
 * Whether every file @n finds (not under a NOT) holds one of its positive
 * words or phrases in its text, so is a row of the ranking's FTS5
 * expression (the OR of them all, or the root's merged AND, which only
 * holds such words): a text-only leaf, an AND with such a member, an OR
 * of such members. A word that is also a tag finds files by the tag too.
 */
static bool ranked_only(struct sql *q, const struct query_node *n)
{
	const struct node_info *ni = info(q, n);
	const struct query_node *k;

	switch (n->kind) {
	case QUERY_WORD:
	case QUERY_PHRASE:
		return ni->fts && !ni->ntags;
	case QUERY_AND:
		for (k = n->child; k; k = k->next)
			if (k->kind != QUERY_NOT && ranked_only(q, k))
				return true;
		return false;
	case QUERY_OR:
		for (k = n->child; k; k = k->next)
			if (!ranked_only(q, k))
				return false;
		return true;
	default:
		return false;
	}
}

/*
 * The candidates a test runs on: about @d files, or every file (@all).
 * @d is counted (gen_est of @n) only when a test asks: a statement that
 * probes nothing need not count its candidates, and counting a common
 * word's files to the cap costs as much as listing them.
 */
struct cands {
	bool all;
	/*
	 * Few reach the tests: a ranked scan's rows past its score bound
	 * (scan_req), once the page is full a small share of the rows.
	 */
	bool few;
	/*
	 * The test runs on a row of the ranked scan "R AND (ranked OR)":
	 * a ranked word's test looks at the row's positions (dgfs_has).
	 */
	bool scan_row;
	int64_t d;			/* -1: not counted yet */
	const struct query_node *n;
};

static int64_t cands_d(struct sql *q, struct cands *c)
{
	if (c->d < 0)
		c->d = gen_est(q, c->n, EST_CAP);
	return c->d;
}

/*
 * Whether to test each candidate against a leaf by an index probe rather
 * than list the leaf's files once and look candidates up. A probe of
 * file_tags' primary key costs about as much as listing two of a tag's
 * files; an FTS5 probe (a MATCH with rowid =) about thirty. With every
 * file a candidate, listing is never dearer: the leaf has at most as many.
 */
static bool probe(struct sql *q, struct node_info *ni, bool text, const char *fts,
		  struct cands *c)
{
	int64_t d;

	if (plan_test)
		return plan_test == 1;
	if (c->few)
		return true;
	if (c->all)
		return false;
	d = cands_d(q, c);
	if (text)
		return d <= EST_CAP / 30 && d * 30 <= counted(q, ni, true, fts, d * 30 + 1);
	return d <= 2 * counted(q, ni, false, NULL, d / 2 + 1);
}

static void pred_text(struct sql *q, struct strbuf *b, struct node_info *ni, const char *fts,
		      unsigned int p, const char *x, struct cands *c)
{
	if (c->scan_row && q->scan_or && fts == ni->fts && ni->rank_idx >= 0)
		bprintf(q, b, "dgfs_has(ft.file_text, %d)", q->floor.skip + ni->rank_idx);
	else if (c->scan_row && q->scan_or && fts == ni->fts && ni->extra_idx >= 0)
		bprintf(q, b, "dgfs_has(ft.file_text, %u)",
			(unsigned int)q->floor.skip + q->nrank + (unsigned int)ni->extra_idx);
	else if (probe(q, ni, true, fts, c))
		bprintf(q, b, "EXISTS (SELECT 1 FROM file_text WHERE file_text MATCH ?%u "
			"AND rowid = %s)", p, x);
	else
		bprintf(q, b, "%s IN (SELECT rowid FROM file_text WHERE file_text MATCH ?%u)", x, p);
}

static void pred_tags(struct sql *q, struct strbuf *b, struct node_info *ni, const char *x,
		      struct cands *c)
{
	if (!probe(q, ni, false, NULL, c)) {
		bprintf(q, b, "%s IN (", x);
		tag_files(q, b, ni);
		bprintf(q, b, ")");
	} else if (ni->ntags == 1) {
		bprintf(q, b, "EXISTS (SELECT 1 FROM file_tags WHERE file_id = %s AND tag_id = ?%u)",
			x, ni->tags_param);
	} else {
		/* +tag_id: walk the file's few tags by the primary key. */
		bprintf(q, b, "EXISTS (SELECT 1 FROM file_tags WHERE file_id = %s AND +tag_id IN "
			"(SELECT value FROM json_each(?%u)))", x, ni->tags_param);
	}
}

/*
 * SQL nests an expression this deep at most: SQLite's parser has a fixed
 * stack (about 35 levels of parentheses), so a deeper subtree gets a CTE
 * of its own, listing its files.
 */
#define PRED_DEPTH_MAX	12

static unsigned int files_cte(struct sql *q, const struct query_node *n, const char *prefix);

/* Whether AND member @a is tested before @b: the positive first, then the rarer. */
static bool member_before(struct sql *q, const struct query_node *a, const struct query_node *b)
{
	int64_t ea = info(q, a)->order, eb = info(q, b)->order;
	bool na = a->kind == QUERY_NOT, nb = b->kind == QUERY_NOT;

	if (na != nb)
		return nb;
	return (ea < 0 ? EST_CAP + 1 : ea) < (eb < 0 ? EST_CAP + 1 : eb);
}

/*
 * A test that file @a (an alias of files) is among those @n finds, for
 * candidates @c; @in_gen: each candidate is among @n's own (gen_sql), so
 * a leaf holds and need not be tested. Whether it wrote a test (else it
 * holds for every candidate).
 */
static bool pred(struct sql *q, struct strbuf *b, const struct query_node *n, const char *a,
		 struct cands *c, bool in_gen, unsigned int depth)
{
	struct node_info *ni = info(q, n);
	const struct query_node *k;
	char x[32];
	unsigned int i, j, nk = 0;

	/*
	 * On the scan's FTS5 row (ft: a name no subquery's own file_text
	 * hides), a test needs no seek in files first.
	 */
	if (c->scan_row)
		snprintf(x, sizeof(x), "ft.rowid");
	else
		snprintf(x, sizeof(x), "%s.id", a);
	if (depth > PRED_DEPTH_MAX &&
	    (n->kind == QUERY_AND || n->kind == QUERY_OR || n->kind == QUERY_NOT)) {
		bprintf(q, b, "%s IN (SELECT id FROM s%u)", x, files_cte(q, n, NULL));
		return true;
	}
	switch (n->kind) {
	case QUERY_NOT:
		bprintf(q, b, "NOT ");
		if (!pred(q, b, n->child, a, c, false, depth + 1))
			bprintf(q, b, "1");
		return true;
	case QUERY_OR:
		bprintf(q, b, "(");
		for (k = n->child; k; k = k->next) {
			bprintf(q, b, "%s", k == n->child ? "" : " OR ");
			if (!pred(q, b, k, a, c, false, depth + 1))
				bprintf(q, b, "1");
		}
		bprintf(q, b, ")");
		return true;
	case QUERY_AND: {
		const struct query_node *kids[QUERY_MAX_TERMS];
		bool drv[QUERY_MAX_TERMS], used[QUERY_MAX_TERMS] = { false }, any = false;
		size_t open = b->len;

		bprintf(q, b, "(");
		if (ni->merged && !(in_gen && ni->drv == DRV_MERGED)) {
			pred_text(q, b, ni, ni->merged, ni->merged_param, x, c);
			any = true;
		}
		for (k = n->child, i = 0; k && nk < QUERY_MAX_TERMS; k = k->next, i++)
			if (!merged_kid(ni, i)) {
				drv[nk] = in_gen && ni->drv == (int)i;
				kids[nk++] = k;
			}
		/* The rarer first: a candidate fails there soonest. Then the negated. */
		for (j = 0; j < nk; j++) {
			unsigned int best = nk;
			size_t at = b->len;

			for (i = 0; i < nk; i++)
				if (!used[i] && (best == nk || member_before(q, kids[i], kids[best])))
					best = i;
			used[best] = true;
			if (any)
				bprintf(q, b, " AND ");
			if (pred(q, b, kids[best], a, c, drv[best], depth + 1))
				any = true;
			else if (!q->err)
				b->s[b->len = at] = 0;	/* it holds for every candidate */
		}
		if (!any && !q->err) {
			b->s[b->len = open] = 0;
			return false;
		}
		bprintf(q, b, ")");
		return true;
	}
	case QUERY_WORD:
	case QUERY_PHRASE:
		if (in_gen)
			return false;
		if (!ni->fts && !ni->ntags) {
			bprintf(q, b, "0");
			return true;
		}
		/* The tags first: a probe of them costs a fifteenth of the text's. */
		if (ni->fts && ni->ntags)
			bprintf(q, b, "(");
		if (ni->ntags)
			pred_tags(q, b, ni, x, c);
		if (ni->fts && ni->ntags)
			bprintf(q, b, " OR ");
		if (ni->fts)
			pred_text(q, b, ni, ni->fts, ni->fts_param, x, c);
		if (ni->fts && ni->ntags)
			bprintf(q, b, ")");
		return true;
	default:
		if (in_gen)
			return false;
		if (is_tag_leaf(n)) {
			if (ni->ntags)
				pred_tags(q, b, ni, x, c);
			else
				bprintf(q, b, "0");
		} else if (n->kind == QUERY_HAS) {
			return false;		/* size=*, mtime=*: every file */
		} else {
			/* The name is one of ours (query_is_pseudo), never the user's text. */
			bprintf(q, b, "%s.%s %s ?%u", a, !strcmp(n->name, "size") ? "size" : "mtime",
				sql_op[n->op], param_int(q, n->num));
		}
		return true;
	}
}

/* The test that file alias @a lies under @prefix (none for no prefix). */
static void prefix_test(struct sql *q, struct strbuf *b, const char *a, const char *prefix)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	unsigned int pa, pb;

	if (!plen)
		return;
	pa = param(q, (struct param){ .kind = P_BLOB, .p = prefix, .len = plen });
	pb = param_int(q, (int64_t)plen);
	bprintf(q, b, " AND substr(%s.path, 1, ?%u) = ?%u", a, pb, pa);
}

/*
 * A ranked scan's member whose files are few enough to list (under
 * SCAN_LIST_MAX), the fewest: a row not among them stops at a lookup in
 * that list, before its score bound and its probes. Leaves only (their
 * files are listed without planning); counting stops at the cap.
 */
#define SCAN_LIST_MAX	4096

static const struct query_node *rare_member(struct sql *q, const struct query_node *root)
{
	const struct node_info *ni = info(q, root);
	const struct query_node *k, *best = NULL;
	int64_t cap = SCAN_LIST_MAX, e;
	int i;

	if (root->kind != QUERY_AND)
		return NULL;
	for (k = root->child, i = 0; k; k = k->next, i++) {
		if (i == q->req_drv || merged_kid(ni, (unsigned int)i) || !info(q, k)->gen ||
		    k->kind == QUERY_NOT || k->kind == QUERY_AND || k->kind == QUERY_OR)
			continue;
		e = estimate(q, k, cap);
		if (e < cap) {
			best = k;
			cap = e;
		}
	}
	return best;
}

/*
 * A CTE listing the files @n finds: its candidates (gen_sql), or every
 * file when it has none, each tested against @n (pred). The root's is
 * "hits", under @prefix; a deep subtree's sN, for a test of its parent:
 * its number.
 */
static unsigned int files_cte(struct sql *q, const struct query_node *n, const char *prefix)
{
	struct node_info *ni = info(q, n);
	struct strbuf body = { 0 };
	struct cands c = { .all = !ni->gen, .d = -1, .n = n };
	bool root = n == q->query->root;
	unsigned int alias = q->nalias++, s = 0, fp = 0;
	char a[16];

	if (q->err)
		return 0;
	snprintf(a, sizeof(a), "f%u", alias);
	if (root && q->scan_fts && q->scan_req) {
		const struct query_node *rare;

		/*
		 * Rows holding the required text, each with its score bound
		 * first (on the FTS5 row, before any seek in files): once the
		 * page is full most rows stop there, so what remains is tested
		 * by probes, not by lists of every file a leaf has. The
		 * required member is not tested again (in_gen).
		 */
		fp = param(q, (struct param){ .kind = P_FLOOR, .p = &q->floor });
		bprintf(q, &body, "SELECT %s.id, %s.path, dgfs_rank(ft.file_text, ?%u) FROM "
			"file_text AS ft CROSS JOIN files AS %s ON %s.id = ft.rowid WHERE "
			"ft.file_text MATCH ?%u", a, a, fp, a, a, q->scan_fts);
		rare = rare_member(q, n);
		if (rare) {
			bprintf(q, &body, " AND +ft.rowid IN (");
			gen_sql(q, &body, rare);
			bprintf(q, &body, ")");
		}
		bprintf(q, &body, " AND dgfs_rank(ft.file_text, ?%u, 'bound') IS NOT NULL", fp);
		if (n->kind == QUERY_AND)
			ni->drv = q->req_drv;
		c.few = true;
		c.scan_row = true;
		bprintf(q, &body, " AND ");
		if (!pred(q, &body, n, a, &c, true, 0))
			bprintf(q, &body, "1");
		prefix_test(q, &body, a, prefix);
		if (body.s)
			buf_add(q, &q->scan, body.s, body.len);
		free(body.s);
		return 0;
	}
	if (root && q->scan_fts) {
		/*
		 * Rows of the ranking's expression (a superset of the hits,
		 * ranked_only()), the candidate test on the FTS5 rowid so that
		 * a row that fails it costs no seek in files, and the score
		 * last: after the cheap tests, before the probes (SQLite
		 * codes correlated subqueries last).
		 */
		bprintf(q, &body, "SELECT %s.id, %s.path, dgfs_rank(file_text, ?%u, %s.id) FROM "
			"file_text CROSS JOIN files AS %s ON %s.id = file_text.rowid WHERE "
			"file_text MATCH ?%u", a, a, fp = param(q, (struct param){
				.kind = P_FLOOR, .p = &q->floor }), a, a, a, q->scan_fts);
		if (ni->gen) {
			const char *g;

			plan_gen(q, n);
			g = gen_fts(q, n);
			if (!g || strcmp(g, q->scan_s)) {
				bprintf(q, &body, " AND +file_text.rowid IN (");
				gen_sql(q, &body, n);
				bprintf(q, &body, ")");
			}	/* else the scan lists exactly the candidates */
		}
		bprintf(q, &body, " AND ");
	} else {
		bprintf(q, &body, "SELECT %s.id AS id FROM files AS %s WHERE ", a, a);
		if (ni->gen) {
			/* IN: a file listed twice (two tags of one name) is one candidate. */
			plan_gen(q, n);
			bprintf(q, &body, "%s.id IN (", a);
			gen_sql(q, &body, n);
			bprintf(q, &body, ") AND ");
		}
	}
	if (!pred(q, &body, n, a, &c, ni->gen, 0))
		bprintf(q, &body, "1");
	prefix_test(q, &body, a, prefix);
	if (root && q->scan_fts) {
		bprintf(q, &body, " AND dgfs_rank(file_text, ?%u, %s.id) IS NOT NULL", fp, a);
		/* The main statement itself, not a CTE. */
		if (body.s)
			buf_add(q, &q->scan, body.s, body.len);
		free(body.s);
		return 0;
	}
	if (root) {
		bprintf(q, &q->ctes, "%shits(id) AS MATERIALIZED (", q->ctes.len ? ",\n" : "");
	} else {
		s = q->nsets++;
		bprintf(q, &q->ctes, "%ss%u(id) AS (", q->ctes.len ? ",\n" : "", s);
	}
	if (body.s)
		buf_add(q, &q->ctes, body.s, body.len);
	bprintf(q, &q->ctes, ")");
	free(body.s);
	return s;
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
		case P_FLOOR:
			rc = sqlite3_bind_pointer(st, (int)i + 1, (void *)p->p, RANK_FLOOR_TYPE, NULL);
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
 * The text every file @root finds holds (its FTS5 string, @n phrases in
 * ?@param), when there is one: a text-only root, or the root AND's merged
 * text-only members, or its one text-only member (@drv: which, DRV_*).
 * Every ranked phrase then sits in a row of it, so a scan of its rows
 * ranks every hit.
 */
static const char *required_text(struct sql *q, const struct query_node *root, int *drv,
				 unsigned int *n, unsigned int *param)
{
	const struct node_info *ni = info(q, root), *ki;
	const struct query_node *k;
	int i;

	*drv = DRV_NONE;
	*n = 1;
	if (root->kind == QUERY_WORD || root->kind == QUERY_PHRASE) {
		*param = ni->fts_param;
		return ni->fts && (root->kind == QUERY_PHRASE || !ni->ntags) ? ni->fts : NULL;
	}
	if (root->kind != QUERY_AND)
		return NULL;
	if (ni->merged) {
		*drv = DRV_MERGED;
		*n = ni->nmerged;
		*param = ni->merged_param;
		return ni->merged;
	}
	for (k = root->child, i = 0; k; k = k->next, i++) {
		ki = info(q, k);
		if (ki->fts && (k->kind == QUERY_PHRASE || (k->kind == QUERY_WORD && !ki->ntags))) {
			*drv = i;
			*param = ki->fts_param;
			return ki->fts;
		}
	}
	return NULL;
}

/*
 * The statement's WITH clause and "hits(id)": the files the query finds,
 * under @prefix. Also "rnk(rid, r)" when free words rank. 0 or -errno.
 */
static int build_hits(struct sql *q, const struct query *query, const char *prefix, bool scan)
{
	unsigned int a, nreq = 0, req_param = 0;
	const char *req;
	char *both;

	q->query = query;
	q->info = calloc(query->nnodes ? query->nnodes : 1, sizeof(*q->info));
	if (!q->info)
		return -ENOMEM;
	prepare_node(q, query->root, false);
	/*
	 * Every hit is a row of the ranking's expression: list its rows with
	 * their scores, and rank (and drop) in run_search() as they come,
	 * instead of scoring every hit and sorting them all.
	 */
	if (scan && scan_test != 1 && q->rank.len && !q->err &&
	    (req = required_text(q, query->root, &q->req_drv, &nreq, &req_param))) {
		scans++;
		q->scan_req = true;
		for (a = 0; a < query->nnodes; a++) {
			const struct query_node *n = &query->nodes[a];
			struct node_info *ni = info(q, n);

			if ((n->kind == QUERY_WORD || n->kind == QUERY_PHRASE) && ni->fts &&
			    ni->rank_idx < 0) {
				bprintf(q, &q->extra, " OR %s", ni->fts);
				ni->extra_idx = (int)q->nextra++;
			}
		}
		if (nreq == q->nrank && !q->nextra) {
			/* The same phrases (R holds every ranked one): the same scores. */
			q->scan_fts = req_param;
			q->scan_s = req;
		} else if (asprintf(&both, "(%s) AND (%s%s)", req, q->rank.s,
				    q->extra.s ? q->extra.s : "") < 0) {
			q->err = -ENOMEM;
		} else {
			q->scan_fts = param(q, (struct param){ .kind = P_TEXT, .p = both,
							       .len = strlen(both), .owned = true });
			q->scan_s = both;
			q->scan_or = true;
			q->floor.skip = (int)nreq;
			q->floor.nscore = (int)q->nrank;
		}
	} else if (scan && scan_test != 1 && q->rank.len && !q->err && ranked_only(q, query->root)) {
		scans++;
		q->scan_fts = param_text(q, q->rank.s);
		q->scan_s = q->rank.s;
	}
	/* The sets first: they make the CTEs and parameters they need. */
	files_cte(q, query->root, prefix);
	if (q->err)
		return q->err;
	if (q->scan_fts) {
		if (q->ctes.len) {
			emit(q, "WITH ");
			buf_add(q, &q->s, q->ctes.s, q->ctes.len);
			emit(q, "\n");
		}
		buf_add(q, &q->s, q->scan.s, q->scan.len);
		return q->err;
	}
	emit(q, "WITH ");
	buf_add(q, &q->s, q->ctes.s, q->ctes.len);
	if (q->rank.len) {
		/*
		 * bm25 of the hits only (most of its cost is per row scored;
		 * +rowid: a scan, as FTS5 would work out each phrase's IDF
		 * again for every rowid probe). When every ranked phrase is in
		 * the root's merged AND, that expression has the same phrases
		 * and so gives the same scores, and lists only rows holding
		 * them all.
		 */
		if (q->root_fts && q->root_fts_n == q->nrank)
			a = q->root_fts;
		else
			a = param_text(q, q->rank.s);
		emit(q, ",\nrnk(rid, r) AS MATERIALIZED (SELECT rowid, bm25(file_text) "
		     "FROM file_text WHERE file_text MATCH ?%u AND +rowid IN (SELECT id FROM hits))",
		     a);
	}
	return q->err;
}

/* SEARCH_TIME_MAX_MS; tests/unit/test_search.c raises it for its forced plans. */
static long deadline_ms = SEARCH_TIME_MAX_MS;
/*
 * Wall-clock time for dgfsd (what a client waits). The unit test counts
 * its thread's CPU time instead: there a busy host's run queue must not
 * fail a query, while a query that costs the deadline in CPU still does.
 */
static clockid_t deadline_clock = CLOCK_MONOTONIC;

/* Stops a statement that has run for too long (sqlite3_progress_handler). */
struct deadline {
	struct timespec end;
	bool hit;
};

static int deadline_check(void *arg)
{
	struct deadline *dl = arg;
	struct timespec now;

	clock_gettime(deadline_clock, &now);
	if (now.tv_sec > dl->end.tv_sec ||
	    (now.tv_sec == dl->end.tv_sec && now.tv_nsec >= dl->end.tv_nsec)) {
		dl->hit = true;
		return 1;
	}
	return 0;
}

static void deadline_start(sqlite3 *db, struct deadline *dl)
{
	clock_gettime(deadline_clock, &dl->end);
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

/* One result: its file id, path (not NUL-terminated) and score. */
struct hit {
	int64_t id;
	const void *path;
	int plen;
	double score;
};

/* As GET /files/{path}?tags shows them: implied tags too (source 2). */
static int tags_stmt(sqlite3 *db, sqlite3_stmt **tst, struct deadline *dl)
{
	int rc = sqlite3_prepare_v2(db, "WITH RECURSIVE own(tag_id, source) AS "
				    "(SELECT tag_id, source FROM file_tags WHERE file_id = ?1), "
				    "imp(tag_id) AS (SELECT tag_id FROM own UNION SELECT "
				    "ti.implied_id FROM tag_implies ti JOIN imp ON "
				    "ti.tag_id = imp.tag_id) SELECT t.name, t.value, "
				    "coalesce(own.source, 2) FROM imp CROSS JOIN tags t ON "
				    "t.id = imp.tag_id LEFT JOIN own ON own.tag_id = imp.tag_id "
				    "ORDER BY 1, 2", -1, tst, NULL);

	return rc == SQLITE_OK ? 0 : step_err(db, rc, dl, "prepare tags");
}

/*
 * Appends @h to the page (with its tags when @tst) and counts it in *n;
 * a path JSON cannot carry is left out, uncounted. 0 or -ENOMEM.
 */
static int page_add(sqlite3 *db, sqlite3_stmt *tst, struct run *r, const struct hit *h,
		    unsigned int *n)
{
	json_t *f;

	if (!h->path || h->plen <= 0 || h->plen > META_PATH_MAX || memchr(h->path, 0, h->plen))
		return 0;
	f = json_pack("{s:s%,s:f}", "path", (const char *)h->path, (size_t)h->plen,
		      "score", h->score);
	if (f && tst)
		json_object_set_new(f, "tags", file_tags_json(db, tst, h->id));
	if (!f)
		return 0;	/* a path that is not UTF-8: JSON cannot carry it */
	if (json_array_append_new(r->files, f))
		return -ENOMEM;
	snprintf(r->next, sizeof(r->next), "%a,%.*s", h->score, h->plen, (const char *)h->path);
	(*n)++;
	return 0;
}

/* <0 when @a comes before @b: ORDER BY score DESC, path (BLOBs: memcmp, then length). */
static int hit_cmp(const struct hit *a, const struct hit *b)
{
	int c;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	c = memcmp(a->path, b->path, (size_t)(a->plen < b->plen ? a->plen : b->plen));
	return c ? c : a->plen - b->plen;
}

static int hit_qsort_cmp(const void *a, const void *b)
{
	return hit_cmp(a, b);
}

/* The kept hits as a heap, the last in ranked order on top (heap[0]). */
static void heap_down(struct hit *heap, unsigned int n, unsigned int i)
{
	for (;;) {
		unsigned int l = 2 * i + 1, m = i;
		struct hit t;

		if (l < n && hit_cmp(&heap[l], &heap[m]) > 0)
			m = l;
		if (l + 1 < n && hit_cmp(&heap[l + 1], &heap[m]) > 0)
			m = l + 1;
		if (m == i)
			return;
		t = heap[i];
		heap[i] = heap[m];
		heap[m] = t;
		i = m;
	}
}

static void heap_up(struct hit *heap, unsigned int i)
{
	while (i && hit_cmp(&heap[i], &heap[(i - 1) / 2]) > 0) {
		struct hit t = heap[i];

		heap[i] = heap[(i - 1) / 2];
		heap[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

/*
 * A ranked scan (build_hits(), scan_fts): the statement gives every hit
 * with its score in rowid order; the best limit + 1 after the cursor are
 * kept in a heap, and once it is full the lowest kept score is
 * dgfs_rank()'s floor, so a row that surely scores below it is dropped
 * before its length is read (meta/sqlite_rank.h). Then the kept ones are
 * sorted and paged as the ORDER BY ... LIMIT of the other statement
 * would: the same files in the same order.
 */
static int run_scan(sqlite3 *db, struct sql *q, struct run *r, struct deadline *dl)
{
	const struct search_page *pg = r->pg;
	unsigned int k = pg->limit + 1, nk = 0, i, n = 0;
	struct hit after = { .score = pg->after_score, .path = pg->after_path,
			     .plen = (int)strlen(pg->after_path) };
	sqlite3_stmt *st = NULL, *tst = NULL;
	struct hit *heap;
	int rc, err;

	heap = calloc(k, sizeof(*heap));
	if (!heap)
		return -ENOMEM;
	q->floor.floor = -INFINITY;
	rc = sqlite3_prepare_v2(db, q->s.s, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "dgfsd: search: prepare: %s\n", sqlite3_errmsg(db));
		err = -EIO;
		goto out;
	}
	err = bind_all(db, st, q);
	if (err)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hit h = { .id = sqlite3_column_int64(st, 0),
				 .path = sqlite3_column_blob(st, 1),
				 .plen = sqlite3_column_bytes(st, 1),
				 .score = sqlite3_column_double(st, 2) };
		void *copy;

		if (sqlite3_column_type(st, 2) == SQLITE_NULL)
			continue;	/* dropped (the WHERE already did) */
		/* The cursor: WHERE score < ?a OR (score = ?a AND path > ?b). */
		if (pg->has_after && hit_cmp(&h, &after) <= 0)
			continue;
		if (nk == k && hit_cmp(&h, &heap[0]) >= 0)
			continue;
		copy = malloc((size_t)h.plen + 1);
		if (!copy) {
			err = -ENOMEM;
			goto out;
		}
		if (h.plen > 0)
			memcpy(copy, h.path, (size_t)h.plen);
		h.path = copy;
		if (nk == k) {
			free((void *)heap[0].path);
			heap[0] = h;
			heap_down(heap, nk, 0);
		} else {
			heap[nk] = h;
			heap_up(heap, nk++);
		}
		if (nk == k)
			q->floor.floor = heap[0].score;
	}
	if (rc != SQLITE_DONE) {
		err = step_err(db, rc, dl, "step");
		goto out;
	}
	qsort(heap, nk, sizeof(*heap), hit_qsort_cmp);
	if (pg->with_tags && (err = tags_stmt(db, &tst, dl)))
		goto out;
	for (i = 0; i < nk && !err; i++) {
		if (n == pg->limit) {
			r->more = true;
			break;
		}
		err = page_add(db, tst, r, &heap[i], &n);
	}
out:
	for (i = 0; i < nk; i++)
		free((void *)heap[i].path);
	free(heap);
	sqlite3_finalize(st);
	sqlite3_finalize(tst);
	return err;
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
	err = build_hits(&q, r->q, pg->prefix, true);
	if (err) {
		err = dl.hit ? -ETIME : err;	/* a planning statement interrupted */
		goto out;
	}
	if (q.scan_fts) {
		err = run_scan(db, &q, r, &dl);
		goto out;
	}
	emit(&q, "\nSELECT id, path, score FROM (SELECT hits.id AS id, files.path AS path, %s "
	     "AS score FROM hits JOIN files ON files.id = hits.id%s)", q.rank.len ?
	     "coalesce(-rnk.r, 0.0)" : "0.0", q.rank.len ? " LEFT JOIN rnk ON rnk.rid = hits.id" : "");
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
	rc = sqlite3_prepare_v2(db, q.s.s, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "dgfsd: search: prepare: %s\n", sqlite3_errmsg(db));
		err = -EIO;
		goto out;
	}
	err = bind_all(db, st, &q);
	if (err)
		goto out;
	if (pg->with_tags && (err = tags_stmt(db, &tst, &dl)))
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hit h = { .id = sqlite3_column_int64(st, 0),
				 .path = sqlite3_column_blob(st, 1),
				 .plen = sqlite3_column_bytes(st, 1),
				 .score = sqlite3_column_double(st, 2) };

		if (n == pg->limit) {
			r->more = true;
			break;
		}
		err = page_add(db, tst, r, &h, &n);
		if (err)
			goto out;
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
	/* PostgreSQL's statement is search_pg.c's. */
	err = meta_has_pg(m) ? search_pg_run(m, q, pg, r.files, r.next, sizeof(r.next), &r.more) :
	      meta_run(m, false, run_search, &r);
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
		err = build_hits(&q, ap->q, ap->prefix, false);
	if (err) {
		err = dl.hit ? -ETIME : err;
		goto out;
	}
	emit(&q, "\nINSERT INTO temp.bulk_hits (id) SELECT id FROM hits");
	if (q.err) {
		err = q.err;
		goto out;
	}
	rc = sqlite3_prepare_v2(db, q.s.s, -1, &st, NULL);
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
	if (meta_has_pg(m))
		return search_pg_apply(m, q, prefix, add, nadd, remove, nremove, files);
	err = meta_run(m, true, run_apply, &ap);
	if (!err && files)
		*files = ap.files;
	return err;
}
