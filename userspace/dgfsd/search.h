/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Search (docs/SEARCH.md): a parsed query (tags/query.h) run as one
 * parameterised SQL statement over the metadata's schema v3, and the
 * graph's queries (graph.c). No libmicrohttpd here: the routes are in
 * search_api.c and graph.c's handlers, and the unit tests call these
 * directly.
 */
#ifndef DGFSD_SEARCH_H
#define DGFSD_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "dgfsd/meta.h"
#include "tags/query.h"

#define SEARCH_LIMIT_MAX	1000	/* results in one page */
#define SEARCH_TAGS_MAX		200	/* tags shown per result */
#define SEARCH_CURSOR_MAX	(40 + META_PATH_MAX)
/* A query's statement is interrupted past this (hostile or unlucky queries). */
#define SEARCH_TIME_MAX_MS	5000

struct search_page {
	const char *prefix;		/* only files under it ("" or NULL: all) */
	unsigned int limit;		/* 1 .. SEARCH_LIMIT_MAX */
	/* Results after this one in ranked order (has_after): the "next" of the last page. */
	bool has_after;
	double after_score;
	char after_path[META_PATH_MAX + 1];
	bool with_tags;			/* each result's tags too */
};

/*
 * Parses a page cursor ("next" of an answer: the last result's score as a
 * C99 hex float, a comma, its path) into @pg: 0 or -EINVAL.
 */
int search_cursor_parse(const char *s, struct search_page *pg);

/*
 * Runs @q: into *out a JSON object {"files": [{"path", "score", "tags"}],
 * "next": cursor or null}, ranked by score (bm25 of the free words) then
 * path. 0, -ETIME (interrupted after SEARCH_TIME_MAX_MS), -ENOMEM, -EIO.
 */
int search_run(struct meta *m, const struct query *q, const struct search_page *pg,
	       json_t **out);

/*
 * Bulk tagging: removes the @nremove tags @remove from every file @q finds
 * under @prefix and adds the @nadd tags @add (as user tags), in one
 * transaction, as meta_tags_user_change() does for one file (removals
 * remembered). *files gets how many files matched. 0, -EINVAL (a tag
 * both added and removed), -E2BIG (a file would pass META_TAGS_USER_MAX
 * user tags; nothing changed), or -errno.
 */
struct tag;
int search_apply(struct meta *m, const struct query *q, const char *prefix,
		 const struct tag *add, size_t nadd, const struct tag *remove, size_t nremove,
		 uint64_t *files);

/*
 * ICU word breaking of @s (UTF-8) for FTS5: the words (letters or
 * numbers; spaces and punctuation dropped) joined by single spaces into
 * @out, as dgfs-tagger joins a text's words, so that a CJK query is cut
 * where the text was. 0 (an empty @out: no words), -EINVAL, -ENOSPC.
 */
int search_segment(const char *s, char *out, size_t size);

#endif /* DGFSD_SEARCH_H */
