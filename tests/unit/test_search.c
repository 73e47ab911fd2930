// SPDX-License-Identifier: GPL-2.0
/*
 * Search against brute force (userspace/dgfsd/search.c): random files
 * with random tags (some implying others, a cycle among them), sizes,
 * mtimes and texts go into a real metadata database (meta_open on a temp
 * file, schema v3); random queries, written as text by a generator here,
 * are parsed and run through search_run() page by page, and the files
 * found must be exactly those this file's own evaluator finds by walking
 * every file with the same tree. Also: the ranking order, prefixes,
 * paging cursors, CJK words cut by ICU, bulk tagging (search_apply) and
 * its refusal to change anything on a bad tag set.
 *
 * Cost: the search's deadline counts this thread's CPU time (a busy host
 * does not fail a query), and no random query may cost over
 * COST_RATIO_MAX times a control, a fixed QUERY_MAX_TERMS-term query
 * measured in the same run, in CPU per page. SEARCH_COSTS=1 prints each
 * query's cost.
 *
 *   build/unit/test_search [SEED [QUERIES]]
 */

/* expect-checks: 18 (tests/run-all.sh: a run that prints fewer fails) */

#include "tags/tag.c"
#include "tags/query.c"
#include "meta_sources.h"
#include "dgfsd/search.c"
#include "dgfsd/search_pg.c"
#include "dgfsd/strbuf.c"
#include "dgfsd/fts_words.c"
#include "dgfsd/word_break.c"

#include <ctype.h>
#include <unistd.h>

#include "check.h"

#define NFILES		300
#define NTAGS		40
#define MAXWORDS	10

static const char *const words[] = { "alpha", "beta", "gamma", "delta", "eps", "zeta", "cat" };
#define NWORDS (sizeof(words) / sizeof(words[0]))

struct tdef {
	char name[16], value[24];	/* value "" for bare */
};

static struct tdef tags[NTAGS];
static bool implies[NTAGS][NTAGS];	/* direct */
static bool reaches[NTAGS][NTAGS];	/* reflexive, transitive */

static struct file {
	char path[64];
	int64_t size, mtime;
	bool tag[NTAGS];
	int nwords;
	int word[MAXWORDS];
	bool has_text;
} files[NFILES];

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* ---- the data ---- */

static void make_tags(void)
{
	static const char *const bare[] = { "alpha", "cat", "animal", "gps", "warm", "x-y" };
	static const char *const colors[] = { "red", "green", "Blue", "two words" };
	int i = 0, k, j;
	size_t b;

	for (b = 0; b < sizeof(bare) / sizeof(bare[0]); b++)
		snprintf(tags[i++].name, 16, "%s", bare[b]);
	for (b = 0; b < 4; b++) {
		snprintf(tags[i].name, 16, "color");
		snprintf(tags[i++].value, 24, "%s", colors[b]);
	}
	while (i < NTAGS - 6) {
		snprintf(tags[i].name, 16, "year");
		snprintf(tags[i++].value, 24, "%d", 1990 + (int)rnd(40));
	}
	/* Values comparisons must not read as numbers, and ones they must. */
	snprintf(tags[i].name, 16, "year");
	snprintf(tags[i++].value, 24, "unknown");
	snprintf(tags[i].name, 16, "year");
	snprintf(tags[i++].value, 24, "0020x");
	snprintf(tags[i].name, 16, "n");
	snprintf(tags[i++].value, 24, "-7");
	snprintf(tags[i].name, 16, "n");
	snprintf(tags[i++].value, 24, "3");
	snprintf(tags[i].name, 16, "n");
	snprintf(tags[i++].value, 24, "-");
	snprintf(tags[i].name, 16, "n");
	snprintf(tags[i++].value, 24, "12345678901234567890");
	/* Duplicate (name, value) pairs from the random years are made distinct. */
	for (k = 0; k < NTAGS; k++)
		for (j = 0; j < k; j++)
			if (!strcmp(tags[k].name, tags[j].name) &&
			    !strcmp(tags[k].value, tags[j].value))
				snprintf(tags[k].value, 24, "%d", 3000 + k);
	/* cat -> animal; color=red -> warm; alpha <-> gps (a cycle); and some at random. */
	implies[1][2] = true;
	implies[6][4] = true;
	implies[0][3] = implies[3][0] = true;
	for (k = 0; k < 5; k++) {
		i = (int)rnd(NTAGS);
		j = (int)rnd(NTAGS);
		if (i != j)
			implies[i][j] = true;
	}
	for (i = 0; i < NTAGS; i++)
		reaches[i][i] = true;
	for (k = 0; k < NTAGS; k++)	/* Warshall */
		for (i = 0; i < NTAGS; i++)
			for (j = 0; j < NTAGS; j++)
				if ((reaches[i][k] || implies[i][k]) &&
				    (reaches[k][j] || implies[k][j]))
					reaches[i][j] = true;
	for (i = 0; i < NTAGS; i++)
		for (j = 0; j < NTAGS; j++)
			reaches[i][j] |= implies[i][j];
}

static void make_files(void)
{
	int i, k;

	for (i = 0; i < NFILES; i++) {
		struct file *f = &files[i];

		snprintf(f->path, sizeof(f->path), "dir%u/f%03d", rnd(4), i);
		f->size = rnd(5) ? rnd(5000) : (int64_t)rnd(4) << 20;
		f->mtime = 1700000000 + rnd(1000);
		for (k = 0; k < NTAGS; k++)
			f->tag[k] = rnd(7) == 0;
		f->has_text = rnd(4) != 0;
		f->nwords = f->has_text ? (int)rnd(MAXWORDS + 1) : 0;
		for (k = 0; k < f->nwords; k++)
			f->word[k] = (int)rnd(NWORDS);
	}
}

struct fill {
	int err;
};

static int fill_tags(sqlite3 *db, void *arg)
{
	char sql[512];
	int i, k, rc = SQLITE_OK;

	(void)arg;
	for (i = 0; i < NTAGS && rc == SQLITE_OK; i++) {
		char *s = sqlite3_mprintf("INSERT INTO tags (id, name, value) VALUES (%d, %Q, %Q)",
					  i + 1, tags[i].name, tags[i].value);

		rc = sqlite3_exec(db, s, NULL, NULL, NULL);
		sqlite3_free(s);
	}
	for (i = 0; i < NTAGS && rc == SQLITE_OK; i++)
		for (k = 0; k < NTAGS && rc == SQLITE_OK; k++)
			if (implies[i][k]) {
				snprintf(sql, sizeof(sql), "INSERT INTO tag_implies VALUES (%d, %d)",
					 i + 1, k + 1);
				rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
			}
	for (i = 0; i < NFILES && rc == SQLITE_OK; i++) {
		char text[MAXWORDS * 8 + 1] = "";

		for (k = 0; k < NTAGS && rc == SQLITE_OK; k++)
			if (files[i].tag[k]) {
				snprintf(sql, sizeof(sql), "INSERT INTO file_tags SELECT id, %d, %d "
					 "FROM files WHERE path = CAST('%s' AS BLOB)", k + 1,
					 (int)rnd(2), files[i].path);
				rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
			}
		if (!files[i].has_text || rc != SQLITE_OK)
			continue;
		for (k = 0; k < files[i].nwords; k++) {
			/* Capitals sometimes: FTS5 folds case, so must the words' search. */
			strcat(text, k ? " " : "");
			strcat(text, words[files[i].word[k]]);
			if (rnd(5) == 0)
				text[strlen(text) - 1] = (char)toupper(text[strlen(text) - 1]);
		}
		snprintf(sql, sizeof(sql), "INSERT INTO file_text (rowid, text) SELECT id, '%s' "
			 "FROM files WHERE path = CAST('%s' AS BLOB)", text, files[i].path);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK)
		fprintf(stderr, "fill: %s\n", sqlite3_errmsg(db));
	return rc == SQLITE_OK ? 0 : -EIO;
}

static int put_files(struct meta *m)
{
	int i, err;

	for (i = 0; i < NFILES; i++) {
		struct meta_chunk c = { .offset = 0, .size = (uint32_t)files[i].size };
		struct meta_file f = { .size = (uint64_t)files[i].size, .mtime = files[i].mtime,
				       .nchunks = files[i].size ? 1 : 0, .chunks = &c };

		snprintf(f.path, sizeof(f.path), "%s", files[i].path);
		snprintf(f.etag, sizeof(f.etag), "%064d", i);
		snprintf(f.content_type, sizeof(f.content_type), "text/plain");
		memcpy(c.id, &i, sizeof(i));
		err = meta_file_put(m, &f, NULL, NULL);
		if (err)
			return err;
	}
	return 0;
}

/* ---- the evaluator ---- */

static int word_index(const char *w)
{
	size_t i;

	for (i = 0; i < NWORDS; i++)
		if (!strcasecmp(words[i], w))
			return (int)i;
	return -1;
}

/* Whether the file's text holds the words of @text (space-separated) in a row. */
static bool text_has(const struct file *f, const char *text)
{
	int seq[QUERY_MAX_LEN], n = 0, i, k;
	char buf[QUERY_MAX_LEN + 1], *tok, *save;

	snprintf(buf, sizeof(buf), "%s", text);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		seq[n] = word_index(tok);
		if (seq[n++] < 0)
			return false;	/* a word no text has */
	}
	if (!n)
		return false;
	for (i = 0; i + n <= f->nwords; i++) {
		for (k = 0; k < n && f->word[i + k] == seq[k]; k++)
			;
		if (k == n)
			return true;
	}
	return false;
}

/* The evaluator's own reading of a numeric value: '-'? and 1..18 digits. */
static bool numeric(const char *v, int64_t *out)
{
	const char *d = v[0] == '-' ? v + 1 : v;
	size_t n = strlen(d);
	char *end;

	if (!n || n > 18 || strspn(d, "0123456789") != n)
		return false;
	*out = strtoll(v, &end, 10);
	return true;
}

static bool cmp(int64_t a, enum query_op op, int64_t b)
{
	switch (op) {
	case QUERY_EQ: return a == b;
	case QUERY_LT: return a < b;
	case QUERY_LE: return a <= b;
	case QUERY_GT: return a > b;
	case QUERY_GE: return a >= b;
	}
	return false;
}

/* Whether the file has a tag that is, or implies, one that @want accepts. */
static bool has_tag(const struct file *f, const struct query_node *n,
		    bool (*want)(const struct tdef *t, const struct query_node *n))
{
	int i, k;

	for (i = 0; i < NTAGS; i++) {
		if (!f->tag[i])
			continue;
		for (k = 0; k < NTAGS; k++)
			if (reaches[i][k] && want(&tags[k], n))
				return true;
	}
	return false;
}

/* The tags here are ASCII: tag.c's folding is tolower for them. */
static bool name_is(const char *tag_name, const char *query_name)
{
	return !strcasecmp(tag_name, query_name);
}

static bool want_bare(const struct tdef *t, const struct query_node *n)
{
	return name_is(t->name, n->name) && !t->value[0];
}

static bool want_tag(const struct tdef *t, const struct query_node *n)
{
	return name_is(t->name, n->name) && !strcmp(t->value, n->value);
}

static bool want_any(const struct tdef *t, const struct query_node *n)
{
	return name_is(t->name, n->name);
}

static bool want_cmp(const struct tdef *t, const struct query_node *n)
{
	int64_t v;

	return name_is(t->name, n->name) && numeric(t->value, &v) && cmp(v, n->op, n->num);
}

static bool eval(const struct file *f, const struct query_node *n)
{
	const struct query_node *k;

	switch (n->kind) {
	case QUERY_AND:
		for (k = n->child; k; k = k->next)
			if (!eval(f, k))
				return false;
		return true;
	case QUERY_OR:
		for (k = n->child; k; k = k->next)
			if (eval(f, k))
				return true;
		return false;
	case QUERY_NOT:
		return !eval(f, n->child);
	case QUERY_WORD:
		return text_has(f, n->text) || (n->name && has_tag(f, n, want_bare));
	case QUERY_PHRASE:
		return text_has(f, n->text);
	case QUERY_TAG:
		return has_tag(f, n, want_tag);
	case QUERY_HAS:
		return !strcmp(n->name, "size") || !strcmp(n->name, "mtime") ||
		       has_tag(f, n, want_any);
	case QUERY_CMP:
		if (!strcmp(n->name, "size"))
			return cmp(f->size, n->op, n->num);
		if (!strcmp(n->name, "mtime"))
			return cmp(f->mtime, n->op, n->num);
		return has_tag(f, n, want_cmp);
	}
	return false;
}

/* ---- the query generator ---- */

static void gen_term(char *q, size_t size)
{
	static const char *const ops[] = { "=", "<", "<=", ">", ">=" };
	size_t l = strlen(q);
	const struct tdef *t = &tags[rnd(NTAGS)];

	switch (rnd(9)) {
	case 0: case 1:		/* a word, sometimes a bare tag's name, sometimes in capitals */
		snprintf(q + l, size - l, "%s", rnd(3) ? words[rnd(NWORDS)] :
			 rnd(2) ? "ANIMAL" : tags[rnd(6)].name);
		break;
	case 2:
		snprintf(q + l, size - l, "\"%s %s\"", words[rnd(NWORDS)], words[rnd(NWORDS)]);
		break;
	case 3:
		if (t->value[0] && !strchr(t->value, ' '))
			snprintf(q + l, size - l, "%s=%s", rnd(2) ? t->name : "Color", t->value);
		else
			snprintf(q + l, size - l, "%s=\"%s\"", t->name, t->value[0] ? t->value : "x");
		break;
	case 4:
		snprintf(q + l, size - l, "%s=*", rnd(3) ? t->name : rnd(2) ? "size" : "nope");
		break;
	case 5:
		snprintf(q + l, size - l, "year%s%d", ops[rnd(5)], 1990 + (int)rnd(45));
		break;
	case 6:
		snprintf(q + l, size - l, "n%s%d", ops[rnd(5)], (int)rnd(21) - 10);
		break;
	case 7:
		snprintf(q + l, size - l, "size%s%u%s", ops[rnd(5)], rnd(5000),
			 rnd(4) ? "" : "K");
		break;
	default:
		snprintf(q + l, size - l, "mtime%s%d", ops[rnd(5)], 1700000000 + (int)rnd(1000));
	}
}

static int gen_terms;	/* so far in this query: at most QUERY_MAX_TERMS */

static void gen(char *q, size_t size, int depth)
{
	size_t l;
	int n, i;

	if (depth > 3 || rnd(3) == 0 || gen_terms > QUERY_MAX_TERMS - 16) {
		gen_terms++;
		l = strlen(q);
		if (rnd(4) == 0)
			snprintf(q + l, size - l, "%s", rnd(2) ? "-" : "NOT ");
		gen_term(q, size);
		return;
	}
	l = strlen(q);
	snprintf(q + l, size - l, "%s(", rnd(5) == 0 ? "-" : "");
	n = 2 + (int)rnd(3);
	for (i = 0; i < n; i++) {
		if (i) {
			l = strlen(q);
			snprintf(q + l, size - l, "%s", rnd(2) ? " OR " : rnd(2) ? " " : " AND ");
		}
		gen(q, size, depth + 1);
	}
	l = strlen(q);
	snprintf(q + l, size - l, ")");
}

/*
 * A query nested as deep as the language allows (QUERY_MAX_DEPTH levels
 * of parentheses and negations), deeper than search.c writes one SQL
 * expression.
 */
static void gen_deep(char *q, size_t size)
{
	struct query_error e;
	struct query *pq;
	int levels, i;
	size_t l;

	for (levels = QUERY_MAX_DEPTH; levels > 0; levels--) {
		q[0] = 0;
		for (i = 0; i < levels; i++) {
			l = strlen(q);
			snprintf(q + l, size - l, "%s", rnd(3) ? "(" : "-(");
			gen_term(q, size);
			l = strlen(q);
			snprintf(q + l, size - l, "%s", rnd(2) ? " OR " : " ");
		}
		gen_term(q, size);
		for (i = 0; i < levels; i++) {
			l = strlen(q);
			snprintf(q + l, size - l, ")");
		}
		if (!query_parse(q, strlen(q), &pq, &e)) {
			query_free(pq);
			return;
		}
	}
}

/* ---- running both ---- */

/*
 * The CPU time this thread spent in search_run(), and the pages it ran:
 * a busy host's wait for a CPU is not in it (tests/run-all.sh runs beside
 * builds), so a cost bound on it means the same under load.
 */
static int64_t search_cpu_ns;
static int search_pages;

static int64_t thread_cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Every page of @q under @prefix: the paths found, in order; -1 on error. */
static int search_all(struct meta *m, const struct query *q, const char *prefix,
		      char found[][64], double *scores, bool *ordered)
{
	struct search_page pg = { .prefix = prefix, .limit = 1 + rnd(100) };
	int n = 0, pages = 0;
	double last_score = INFINITY;
	char last_path[64] = "";

	*ordered = true;
	for (;;) {
		json_t *res, *arr, *f;
		const char *next;
		size_t i;

		int64_t t0 = thread_cpu_ns();

		if (search_run(m, q, &pg, &res))
			return -1;
		search_cpu_ns += thread_cpu_ns() - t0;
		search_pages++;
		arr = json_object_get(res, "files");
		json_array_foreach(arr, i, f) {
			const char *p = json_string_value(json_object_get(f, "path"));
			double s = json_real_value(json_object_get(f, "score"));

			if (n >= NFILES || !p) {
				json_decref(res);
				return -1;
			}
			if (s > last_score || (s == last_score && strcmp(p, last_path) <= 0))
				*ordered = false;
			last_score = s;
			snprintf(last_path, sizeof(last_path), "%s", p);
			snprintf(found[n], 64, "%s", p);
			scores[n++] = s;
		}
		next = json_string_value(json_object_get(res, "next"));
		if (!next || ++pages > NFILES + 1) {
			json_decref(res);
			return next ? -1 : n;
		}
		if (search_cursor_parse(next, &pg)) {
			json_decref(res);
			return -1;
		}
		json_decref(res);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Runs one query both ways: true when they agree. */
static bool agree(struct meta *m, const char *text, const char *prefix, int *hits,
		  bool *ordered)
{
	static char found[NFILES][64], want[NFILES][64];
	static double scores[NFILES];
	struct query_error e;
	struct query *q;
	int n, nw = 0, i;

	if (query_parse(text, strlen(text), &q, &e)) {
		printf("  query %s refused at %zu: %s\n", text, e.pos, e.msg);
		return false;
	}
	n = search_all(m, q, prefix, found, scores, ordered);
	for (i = 0; i < NFILES; i++)
		if ((!prefix || !strncmp(files[i].path, prefix, strlen(prefix))) &&
		    eval(&files[i], q->root))
			snprintf(want[nw++], 64, "%s", files[i].path);
	query_free(q);
	*hits = n;
	if (n < 0) {
		printf("  query %s: search failed\n", text);
		return false;
	}
	qsort(found, (size_t)n, 64, cmp_str);
	qsort(want, (size_t)nw, 64, cmp_str);
	for (i = 0; i < n && i < nw && !strcmp(found[i], want[i]); i++)
		;
	if (n != nw || i != n) {
		printf("  query %s%s%s: search %d files, brute force %d; first difference: "
		       "%s / %s\n", text, prefix ? " under " : "", prefix ? prefix : "", n, nw,
		       i < n ? found[i] : "-", i < nw ? want[i] : "-");
		return false;
	}
	return true;
}

static struct query *parse(const char *s)
{
	struct query_error e;
	struct query *q = NULL;

	if (query_parse(s, strlen(s), &q, &e))
		printf("  %s refused at %zu: %s\n", s, e.pos, e.msg);
	return q;
}

/* How many files a search finds (all pages). */
static int count_search(struct meta *m, const char *text)
{
	static char found[NFILES][64];
	static double scores[NFILES];
	struct query *q;
	bool ordered;
	int n;

	q = parse(text);
	n = q ? search_all(m, q, NULL, found, scores, &ordered) : -1;
	query_free(q);
	return n;
}

static int count_rows(sqlite3 *db, void *arg)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM file_tags) * 1000000 + "
			       "(SELECT count(*) FROM file_tags_removed) * 1000 + "
			       "(SELECT count(*) FROM tags)", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	*(int64_t *)arg = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	return 0;
}

/*
 * dgfs_rank() (meta/sqlite_rank.c) against FTS5's own bm25() on the test's
 * texts: the same double, negated, for every row of random FTS5
 * expressions (phrases of the test's words, ANDed or ORed, a word twice);
 * and with a floor, NULL only for rows whose score is below it.
 */
struct rank_check {
	int rows, differ, dropped, wrongly_dropped;
};

static int rank_vs_bm25(sqlite3 *db, void *arg)
{
	struct rank_check *rc = arg;
	sqlite3_stmt *st;
	int e, i, n;

	if (sqlite3_prepare_v2(db, "SELECT -bm25(file_text), dgfs_rank(file_text), "
			       "dgfs_rank(file_text, ?2) FROM file_text WHERE file_text MATCH ?1",
			       -1, &st, NULL) != SQLITE_OK) {
		printf("  prepare: %s\n", sqlite3_errmsg(db));
		return -EIO;
	}
	for (e = 0; e < 200; e++) {
		struct rank_floor fl = { .floor = 0.3 * rnd(8) };
		char expr[256] = "";

		for (i = 0, n = 1 + (int)rnd(4); i < n; i++) {
			const char *w = words[rnd(NWORDS)];

			snprintf(expr + strlen(expr), sizeof(expr) - strlen(expr), "%s\"%s%s%s\"",
				 i ? (rnd(2) ? " OR " : " AND ") : "", w, rnd(4) ? "" : " ",
				 rnd(4) ? "" : words[rnd(NWORDS)]);
		}
		sqlite3_bind_text(st, 1, expr, -1, SQLITE_TRANSIENT);
		sqlite3_bind_pointer(st, 2, &fl, RANK_FLOOR_TYPE, NULL);
		while (sqlite3_step(st) == SQLITE_ROW) {
			double bm = sqlite3_column_double(st, 0), r = sqlite3_column_double(st, 1);

			rc->rows++;
			if (memcmp(&bm, &r, sizeof(bm)) || sqlite3_column_type(st, 1) != SQLITE_FLOAT) {
				if (rc->differ++ < 3)
					printf("  %s: bm25 %.17g, dgfs_rank %.17g\n", expr, bm, r);
			}
			if (sqlite3_column_type(st, 2) == SQLITE_NULL) {
				rc->dropped++;
				rc->wrongly_dropped += !(bm < fl.floor);
			} else if (sqlite3_column_double(st, 2) != bm) {
				rc->differ++;
			}
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return 0;
}

/* Every page of @q (limit @limit) as JSON, tags and cursors included; NULL on error. */
static char *pages_json(struct meta *m, const struct query *q, const char *prefix,
			unsigned int limit)
{
	struct search_page pg = { .prefix = prefix, .limit = limit, .with_tags = true };
	size_t len = 0;
	char *all = NULL;
	int pages;

	for (pages = 0; pages <= NFILES + 1; pages++) {
		const char *next;
		json_t *res;
		char *d, *na;

		if (search_run(m, q, &pg, &res))
			break;
		d = json_dumps(res, JSON_COMPACT | JSON_REAL_PRECISION(17));
		na = d ? realloc(all, len + strlen(d) + 2) : NULL;
		if (!na) {
			free(d);
			json_decref(res);
			break;
		}
		all = na;
		len += (size_t)sprintf(all + len, "%s\n", d);
		free(d);
		next = json_string_value(json_object_get(res, "next"));
		if (!next || search_cursor_parse(next, &pg)) {
			json_decref(res);
			return next ? (free(all), NULL) : all;
		}
		json_decref(res);
	}
	free(all);
	return NULL;
}

/*
 * A query's pages ranked by a scan (scores as the rows come, rows that
 * cannot reach the page dropped) and by scoring every hit and sorting:
 * byte for byte the same. Counts queries that were scanned in *scanned.
 */
static bool scan_agrees(struct meta *m, const char *text, const char *prefix, int *scanned)
{
	struct query *q = parse(text);
	unsigned int limit = 1 + rnd(20);
	unsigned long before = scans;
	char *a, *b;
	bool ok;

	if (!q)
		return false;
	scan_test = 0;
	a = pages_json(m, q, prefix, limit);
	*scanned += scans != before;
	scan_test = 1;
	b = pages_json(m, q, prefix, limit);
	scan_test = 0;
	query_free(q);
	ok = a && b && !strcmp(a, b);
	if (!ok)
		printf("  query %s (limit %u): a scan %s, sorting all %s\n", text, limit,
		       a ? "pages" : "failed", b ? (a && strcmp(a, b) ? "differs" : "pages") :
		       "failed");
	free(a);
	free(b);
	return ok;
}

/*
 * A query may cost at most this many times the control (gen_flat) in CPU
 * per page: a plan gone pathological (quadratic in the files, a set
 * listed again for every candidate) costs far more, while the machine's
 * speed and load and the sanitizers slow both alike.
 */
#define COST_RATIO_MAX	10
#define STR_(x)		#x
#define STR(x)		STR_(x)

/* Per page, the least CPU time of a few runs of @text: a control for the random queries' cost. */
static int64_t control_ns(struct meta *m, const char *text)
{
	struct query *q = parse(text);
	int64_t best = INT64_MAX, t;
	json_t *res;
	int r;

	for (r = 0; q && r < 9; r++) {
		t = thread_cpu_ns();
		if (search_run(m, q, &(struct search_page){ .limit = 50 }, &res))
			break;
		t = thread_cpu_ns() - t;
		json_decref(res);
		best = t < best ? t : best;
	}
	query_free(q);
	/* A control that failed, or took no time to measure, bounds nothing (and must not overflow). */
	return best > 0 && best < INT64_MAX / COST_RATIO_MAX ? best : -1;
}

/* A control as large as a query gets: QUERY_MAX_TERMS terms, ORs of ANDs of the generator's. */
static void gen_flat(char *q, size_t size)
{
	uint64_t saved = rng_state;
	size_t l;
	int i;

	rng_state = 0x5eed;
	q[0] = 0;
	for (i = 0; i < QUERY_MAX_TERMS; i++) {
		l = strlen(q);
		snprintf(q + l, size - l, "%s", !i ? "" : i % 4 ? " " : " OR ");
		gen_term(q, size);
	}
	rng_state = saved;
}

/*
 * After agree() ran @text: its CPU per page against @ctl; the costliest
 * so far into @worst. A page over the bound is measured twice more and
 * the least counts (a neighbour may have taken the CPU's caches). 1 when
 * it stays over.
 */
static int too_costly(struct meta *m, const char *text, const char *prefix, int64_t ctl,
		      int64_t *worst_ns, char *worst, size_t size)
{
	int64_t cost = search_pages ? search_cpu_ns / search_pages : 0;
	int r, hits;
	bool ordered;

	uint64_t rng = rng_state;	/* agree() draws page sizes: the run stays repeatable */

	for (r = 0; ctl > 0 && r < 2 && cost > COST_RATIO_MAX * ctl; r++) {
		search_cpu_ns = 0;
		search_pages = 0;
		agree(m, text, prefix, &hits, &ordered);
		if (search_pages && search_cpu_ns / search_pages < cost)
			cost = search_cpu_ns / search_pages;
	}
	rng_state = rng;
	if (getenv("SEARCH_COSTS"))
		printf("cost %.3f ms/page %d pages: %s\n", cost / 1e6, search_pages, text);
	if (cost > *worst_ns) {
		*worst_ns = cost;
		snprintf(worst, size, "%s", text);
	}
	if (ctl <= 0 || cost <= COST_RATIO_MAX * ctl)
		return 0;	/* no control: its own check failed */
	printf("  query %s: %.2f ms of CPU a page, the control %.3f ms\n", text, cost / 1e6,
	       ctl / 1e6);
	return 1;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/test_search.XXXXXX", path[64], qtext[QUERY_MAX_LEN];
	unsigned long seed = argc > 1 ? strtoul(argv[1], NULL, 0) : (unsigned long)time(NULL);
	int nqueries = argc > 2 ? atoi(argv[2]) : 300;
	int i, bad = 0, unordered = 0, nonempty = 0, hits, n;
	int64_t worst_ns = 0, ctl;
	int slow = 0;
	char worst[QUERY_MAX_LEN] = "";
	struct meta *m = NULL;
	bool ordered;
	json_t *res;
	struct query *q;

	printf("seed %lu (build/unit/test_search %lu to repeat)\n", seed, seed);
	deadline_clock = CLOCK_THREAD_CPUTIME_ID;
	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/meta.db", dir);
	make_tags();
	make_files();
	CHECK("open a metadata database", !meta_open(path, &m));
	if (!m)
		return 1;
	CHECK("files and tags stored", !put_files(m) && !meta_run(m, true, fill_tags, NULL));
	gen_flat(qtext, sizeof(qtext));
	ctl = control_ns(m, qtext);
	CHECK("the control query runs", ctl > 0);
	printf("CPU per page: one term %.3f ms, the control (%d terms) %.3f ms\n",
	       control_ns(m, "alpha") / 1e6, QUERY_MAX_TERMS, ctl / 1e6);

	/*
	 * Random queries, all files and under a prefix; every tenth again
	 * with search.c's plans forced (an AND from its commonest member with
	 * every test an index probe, then from its last with none), which
	 * this small store would seldom pick by itself.
	 */
	for (i = 0; i < nqueries; i++) {
		const char *prefix = rnd(4) == 0 ? "dir2/" : NULL;
		bool ok = true;

		qtext[0] = 0;
		gen_terms = 0;
		gen(qtext, sizeof(qtext), 0);
		for (plan_test = i % 10 ? 0 : 2; plan_test >= 0; plan_test--) {
			/* A forced plan may be slow on purpose (a busy host, ASan). */
			deadline_ms = plan_test ? 600000 : SEARCH_TIME_MAX_MS;
			search_cpu_ns = 0;
			search_pages = 0;
			if (!agree(m, qtext, prefix, &hits, &ordered)) {
				printf("  (plan %d)\n", plan_test);
				ok = false;
			}
			if (!plan_test)
				slow += too_costly(m, qtext, prefix, ctl, &worst_ns, worst,
						   sizeof(worst));
			unordered += !ordered;
		}
		nonempty += hits > 0 && hits < NFILES;
		if (!ok && ++bad > 10)
			break;
	}
	plan_test = 0;
	printf("%d queries, %d with some but not all files\n", i, nonempty);
	printf("CPU per page: the costliest query %.2f ms (x%.2f the control): %.300s\n",
	       worst_ns / 1e6, (double)worst_ns / ctl, worst);
	CHECK("random queries agree with brute force", !bad);
	CHECK("no query costs over " STR(COST_RATIO_MAX) "x the control in CPU per page", !slow);
	CHECK("results ranked: score down, then path up", !unordered);
	/* A generator that only made empty or full answers would prove little. */
	CHECK("most queries find some files but not all", nonempty > nqueries / 3);

	/* Fixed cases the generator may miss. */
	CHECK("implied tags and a cycle", agree(m, "animal", NULL, &hits, &ordered) &&
	      agree(m, "warm -cat", NULL, &hits, &ordered) &&
	      agree(m, "gps alpha=*", NULL, &hits, &ordered));
	/* A phrase near the query's length bound, merged with a word into one FTS5 AND. */
	snprintf(qtext, sizeof(qtext), "\"");
	for (i = 0; i < 640; i++)
		strcat(qtext, "alpha ");
	strcat(qtext, "beta\" eps");
	CHECK("a long phrase", strlen(qtext) > QUERY_MAX_LEN * 9 / 10 &&
	      agree(m, qtext, NULL, &hits, &ordered));
	for (i = 0, n = 0; i < 20; i++) {
		gen_deep(qtext, sizeof(qtext));
		n += agree(m, qtext, rnd(4) ? NULL : "dir2/", &hits, &ordered);
	}
	CHECK("queries nested as deep as allowed agree with brute force", n == 20);
	q = parse("alpha OR beta");
	n = 0;
	if (q && !search_run(m, q, &(struct search_page){ .limit = NFILES }, &res)) {
		json_t *f;
		size_t k;

		/* Text hits rank above files found only by the tag "alpha". */
		json_array_foreach(json_object_get(res, "files"), k, f) {
			double s = json_real_value(json_object_get(f, "score"));

			n += (s > 0) ? (n == (int)k) : 0;
		}
		json_decref(res);
	}
	query_free(q);
	CHECK("free words rank by bm25 before tag-only hits", n > 0);

	/* Ranking by a scan (search.c run_scan, meta/sqlite_rank.c) changes nothing. */
	{
		struct rank_check rc = { 0 };
		int scanned = 0, same = 0, tried = 0;

		CHECK("dgfs_rank() is bm25() bit for bit", !meta_run(m, false, rank_vs_bm25, &rc) &&
		      rc.rows > 1000 && !rc.differ);
		printf("  %d rows, %d dropped under a floor\n", rc.rows, rc.dropped);
		CHECK("dgfs_rank() drops only rows under its floor", rc.dropped > 0 &&
		      !rc.wrongly_dropped);
		for (i = 0; i < 120; i++) {
			/* Free words first, so that most queries rank by a scan. */
			snprintf(qtext, sizeof(qtext), "%s ", words[rnd(NWORDS)]);
			gen_terms = 1;
			gen(qtext + strlen(qtext), sizeof(qtext) - strlen(qtext), 1);
			tried++;
			same += scan_agrees(m, qtext, rnd(4) ? NULL : "dir2/", &scanned);
		}
		same += scan_agrees(m, "alpha beta", NULL, &scanned) +
			scan_agrees(m, "alpha OR beta OR \"gamma delta\"", NULL, &scanned) +
			scan_agrees(m, "alpha alpha -beta", "dir1/", &scanned);
		tried += 3;
		printf("  %d of %d queries ranked by a scan\n", scanned, tried);
		CHECK("a ranked scan pages as sorting every hit does", same == tried &&
		      scanned > tried / 3);
	}

	/* CJK: the query's words are cut by ICU as dgfs-tagger cut the text. */
	{
		char seg[128];

		CHECK("ICU segments Chinese", !search_segment("\xe4\xb8\xad\xe6\x96\x87\xe6\x90\x9c"
							      "\xe7\xb4\xa2\xef\xbc\x81", seg,
							      sizeof(seg)) &&
		      !strcmp(seg, "\xe4\xb8\xad\xe6\x96\x87 \xe6\x90\x9c\xe7\xb4\xa2"));
	}

	/* Bulk tagging: what a query finds gets a tag, and loses it again. */
	{
		struct tag add[2], rm[1];
		uint64_t nf = 0, nf2 = 0;
		int64_t before = 0, after = 0;
		int h1 = -1, h2 = -2;

		tag_parse("Bulk=yes", 8, &add[0], NULL);
		tag_parse("gps", 3, &add[1], NULL);
		q = parse("year>=2010 -cat");
		CHECK("bulk add", q && agree(m, "year>=2010 -cat", NULL, &h1, &ordered) &&
		      !search_apply(m, q, NULL, add, 2, NULL, 0, &nf) &&
		      (h2 = count_search(m, "bulk=yes")) == h1 && (uint64_t)h1 == nf && nf > 0);
		/* The evaluator learns the change to check the next steps against. */
		for (i = 0; i < NFILES; i++)
			if (eval(&files[i], q->root))
				files[i].tag[3] = true;
		query_free(q);
		tag_parse("gps", 3, &rm[0], NULL);
		q = parse("color=* OR cat");
		meta_run(m, false, count_rows, &before);
		CHECK("bulk remove under a prefix", q &&
		      !search_apply(m, q, "dir1/", NULL, 0, rm, 1, &nf2) &&
		      !meta_run(m, false, count_rows, &after) && after != before);
		for (i = 0; i < NFILES; i++)
			if (!strncmp(files[i].path, "dir1/", 5) && eval(&files[i], q->root))
				files[i].tag[3] = false;
		query_free(q);
		CHECK("searches agree after bulk tagging", agree(m, "gps", NULL, &hits, &ordered) &&
		      agree(m, "alpha", NULL, &hits, &ordered) &&
		      agree(m, "(gps OR warm) -year<2000", "dir1/", &hits, &ordered));
	}
	meta_close(m);
	snprintf(qtext, sizeof(qtext), "rm -rf %s", dir);
	if (system(qtext))
		return 1;
	return failures ? 1 : 0;
}
