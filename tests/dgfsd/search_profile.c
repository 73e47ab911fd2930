// SPDX-License-Identifier: GPL-2.0
/*
 * Numbers, not a test: what each search costs inside dgfsd, without HTTP
 * (docs/BENCHMARKS.md, "Search"). Links search.c as the unit tests do and
 * calls search_run() on a bench store (DGFSD_BENCH_STATE=DIR
 * tests/dgfsd/bench_search.sh keeps one; BENCH_QUERIES=FILE writes its
 * queries), for each input line "KIND<TAB>QUERY": the thread's CPU time
 * and the SQLite VM steps of every statement it ran (FTS5's own included),
 * per query (-v: each statement of 1000 steps or more, with its
 * parameters) and per kind. VM steps do not change
 * with the host's load, CPU time barely, wall-clock time a lot.
 * -o FILE writes each answer's first two pages as JSON, to compare two
 * builds' results byte for byte.
 *
 *   make build/search_profile
 *   build/search_profile [-q] [-v] [-o FILE] [-l LIMIT] META_DB < queries
 */
#include "tags/tag.c"
#include "tags/query.c"
#include "../unit/meta_sources.h"
#include "dgfsd/search.c"
#include "dgfsd/search_pg.c"
#include "dgfsd/strbuf.c"
#include "dgfsd/fts_words.c"
#include "dgfsd/word_break.c"

#include <unistd.h>

static uint64_t steps;
static bool verbose;	/* -v: each statement's steps, time and SQL */

static int count_steps(unsigned int type, void *ctx, void *p, void *x)
{
	int s;

	(void)ctx;
	if (type != SQLITE_TRACE_PROFILE)
		return 0;
	s = sqlite3_stmt_status(p, SQLITE_STMTSTATUS_VM_STEP, 1);
	steps += (uint64_t)s;
	if (verbose && s >= 1000) {
		/* The costly ones, with their parameters, to paste into sqlite3. */
		char *sql = sqlite3_expanded_sql(p);

		printf("  %9d steps %8.3f ms  %s\n", s, *(sqlite3_uint64 *)x / 1e6,
		       sql ? sql : sqlite3_sql(p));
		sqlite3_free(sql);
	}
	return 0;
}

/* On every connection opened, the readers a search runs on too. */
static int trace_on(sqlite3 *db, char **err, const struct sqlite3_api_routines *api)
{
	(void)err;
	(void)api;
	sqlite3_trace_v2(db, SQLITE_TRACE_PROFILE, count_steps, NULL);
	return SQLITE_OK;
}

static double thread_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

struct kind {
	char name[32];
	unsigned int n;
	double ms;
	uint64_t steps;
};

int main(int argc, char **argv)
{
	struct kind kinds[8] = { 0 };
	unsigned int nk = 0, i, limit = 50;
	bool quiet = false;
	FILE *out = NULL;
	struct meta *m;
	char line[QUERY_MAX_LEN + 64];
	int opt;

	while ((opt = getopt(argc, argv, "o:l:vq")) != -1) {
		if (opt == 'o' && !(out = fopen(optarg, "w")))
			return 1;
		if (opt == 'v')
			verbose = true;
		if (opt == 'q')
			quiet = true;
		if (opt == 'l')
			limit = (unsigned int)atoi(optarg);
	}
	sqlite3_auto_extension((void (*)(void))trace_on);
	if (optind != argc - 1 || meta_open(argv[optind], &m)) {
		fprintf(stderr, "usage: search_profile [-q] [-v] [-o FILE] [-l LIMIT] META_DB "
			"< queries\n");
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		char *tab = strchr(line, '\t'), *qs;
		struct search_page pg = { .limit = limit, .with_tags = true };
		struct query_error e;
		struct query *q;
		struct kind *k;
		int page;

		if (!tab)
			continue;
		*tab = 0;
		qs = tab + 1;
		qs[strcspn(qs, "\n")] = 0;
		for (i = 0; i < nk && strcmp(kinds[i].name, line); i++)
			;
		if (i == nk) {
			if (nk == 8)
				continue;
			snprintf(kinds[nk++].name, sizeof(kinds[0].name), "%.31s", line);
		}
		k = &kinds[i];
		if (query_parse(qs, strlen(qs), &q, &e)) {
			fprintf(stderr, "%s: refused: %s\n", qs, e.msg);
			continue;
		}
		/* The first page is what is timed; the second only goes to -o. */
		for (page = 0; page < (out ? 2 : 1); page++) {
			double t0 = thread_ms();
			uint64_t s0 = steps;
			const char *next;
			json_t *res;
			char *dump;
			int err = search_run(m, q, &pg, &res);

			if (err) {
				fprintf(stderr, "%s: search failed: %s\n", qs, strerror(-err));
				break;
			}
			if (!page) {
				double ms = thread_ms() - t0;

				k->ms += ms;
				k->steps += steps - s0;
				k->n++;
				if (!quiet)
					printf("%-9s %8.2f ms %9llu steps %3zu results  %s\n", k->name,
					       ms, (unsigned long long)(steps - s0),
					       json_array_size(json_object_get(res, "files")), qs);
			}
			if (out) {
				dump = json_dumps(res, JSON_COMPACT | JSON_REAL_PRECISION(17));
				fprintf(out, "%s p%d %s\n", qs, page, dump ? dump : "?");
				free(dump);
			}
			next = json_string_value(json_object_get(res, "next"));
			if (!next || search_cursor_parse(next, &pg))
				page = 2;
			json_decref(res);
		}
		query_free(q);
	}
	for (i = 0; i < nk; i++)
		printf("%-9s %4u queries  CPU %6.2f ms/query  VM steps %8.0f/query\n",
		       kinds[i].name, kinds[i].n, kinds[i].ms / kinds[i].n,
		       (double)kinds[i].steps / kinds[i].n);
	if (out)
		fclose(out);
	meta_close(m);
	return 0;
}
