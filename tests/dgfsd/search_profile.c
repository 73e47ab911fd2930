// SPDX-License-Identifier: GPL-2.0
/*
 * Numbers, not a test: what one search costs inside dgfsd, without HTTP
 * (docs/BENCHMARKS.md, "Search"). Links search.c as the unit tests do and
 * calls search_run() on a copy of a bench store (DGFSD_BENCH_STATE=DIR
 * tests/dgfsd/bench_search.sh keeps one), for each input line
 * "KIND<TAB>QUERY": the thread's CPU time and every statement's SQLite VM
 * steps (sqlite3_stmt_status through a profile trace, FTS5's own
 * statements included), summed per kind. VM steps do not change with the
 * host's load. -o FILE writes each answer's first two pages as JSON, to
 * compare two builds' results byte for byte.
 *
 *   make build/search_profile
 *   build/search_profile [-v] [-o FILE] [-l LIMIT] META_DB < queries
 */
#include "tags/tag.c"
#include "tags/query.c"
#include "dgfsd/meta.c"
#include "dgfsd/search.c"

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
	if (verbose)
		printf("  %9d steps %8.3f ms  %.300s\n", s, *(sqlite3_uint64 *)x / 1e6,
		       sqlite3_sql(p));
	return 0;
}

/* On every connection a search may use (meta.c's struct is in reach). */
static void trace_on(struct meta *m)
{
	sqlite3_trace_v2(m->db, SQLITE_TRACE_PROFILE, count_steps, NULL);
#ifdef META_READERS
	for (unsigned int i = 0; i < META_READERS; i++)
		if (m->readers[i].db)
			sqlite3_trace_v2(m->readers[i].db, SQLITE_TRACE_PROFILE, count_steps, NULL);
#endif
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
	struct kind kinds[8];
	unsigned int nk = 0, i, limit = 50;
	FILE *out = NULL;
	struct meta *m;
	char line[QUERY_MAX_LEN + 64];
	int opt;

	while ((opt = getopt(argc, argv, "o:l:v")) != -1) {
		if (opt == 'o' && !(out = fopen(optarg, "w")))
			return 1;
		if (opt == 'v')
			verbose = true;
		if (opt == 'l')
			limit = (unsigned int)atoi(optarg);
	}
	if (optind != argc - 1 || meta_open(argv[optind], &m)) {
		fprintf(stderr, "usage: search_profile [-v] [-o FILE] [-l LIMIT] META_DB < queries\n");
		return 1;
	}
	trace_on(m);
	while (fgets(line, sizeof(line), stdin)) {
		char *tab = strchr(line, '\t'), *qs;
		struct query_error e;
		struct query *q;
		struct kind *k;
		double t0;
		uint64_t s0;
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
		struct search_page pg = { .limit = limit, .with_tags = true };

		for (page = 0; page < (out ? 2 : 1); page++) {
			json_t *res;
			char *dump;
			const char *next;

			t0 = thread_ms();
			s0 = steps;
			int err = search_run(m, q, &pg, &res);

			if (err) {
				fprintf(stderr, "%s: search failed: %s\n", qs, strerror(-err));
				break;
			}
			if (!page) {
				k->ms += thread_ms() - t0;
				k->steps += steps - s0;
				k->n++;
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
