// SPDX-License-Identifier: GPL-2.0
/*
 * dgfs search QUERY...: files found by the search language (docs/SEARCH.md),
 * ranked, one a line, page after page (GET /search, "next").
 */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "http.h"
#include "remote.h"

#define SEARCH_PAGE	200

static void search_usage(FILE *f)
{
	fprintf(f,
		"Usage: dgfs search [OPTIONS] QUERY...\n"
		"  Prints the files QUERY finds (its words joined by spaces), best first,\n"
		"  one a line: \"SCORE  PATH  TAGS\" (docs/SEARCH.md has the language).\n"
		"  -n, --limit N         at most N files (default: all)\n"
		"      --json            one JSON array of the server's result objects\n"
		REMOTE_OPTS_HELP);
}

/* The words of the query joined by spaces, or NULL. */
static char *join_words(int argc, char **argv)
{
	size_t len = 1;
	char *s;
	int i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = calloc(1, len);
	for (i = 0; s && i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/* A tag object as "name" or "name=value". */
static void print_tags(json_t *tags)
{
	json_t *t;
	size_t i;

	json_array_foreach(tags, i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));
		const char *value = json_string_value(json_object_get(t, "value"));

		printf("%s%s%s%s", i ? " " : "  ", name ? name : "?", value ? "=" : "",
		       value ? value : "");
	}
}

/* What the pages of one search share. */
struct search {
	const char *query;
	unsigned long limit, shown;	/* limit 0: all */
};

/* A 400's error and position under the query, as a caret (remote_list's ->refused). */
static void show_bad_query(const struct http_resp *resp, void *arg)
{
	const struct search *s = arg;
	json_t *j, *pos;
	const char *msg;

	if (resp->status != 400)
		return;
	j = http_resp_json(resp);
	pos = json_object_get(j, "position");
	msg = json_string_value(json_object_get(j, "error"));
	if (!msg || !json_is_integer(pos)) {
		json_decref(j);
		return;
	}
	fprintf(stderr, "dgfs search: bad query: %s\n  %s\n  %*s^\n", msg, s->query,
		(int)json_integer_value(pos), "");
	json_decref(j);
}

/* Prints one page (remote_list's ->page): 1 once --limit files are shown. */
static int search_page(json_t *files, bool json, bool *any, void *arg)
{
	struct search *s = arg;
	json_t *f;
	size_t i;

	json_array_foreach(files, i, f) {
		const char *path = json_string_value(json_object_get(f, "path"));

		if (!path || (s->limit && s->shown >= s->limit))
			continue;
		if (json) {
			char *text = json_dumps(f, JSON_COMPACT);

			printf("%s%s", *any ? ",\n" : "", text ? text : "null");
			free(text);
		} else {
			printf("%8.3f  %s", json_number_value(json_object_get(f, "score")), path);
			print_tags(json_object_get(f, "tags"));
			printf("\n");
		}
		*any = true;
		s->shown++;
	}
	return s->limit && s->shown >= s->limit;
}

int dgfs_cmd_search(int argc, char **argv)
{
	enum { O_JSON = REMOTE_OPT_END };
	static const struct option opts[] = {
		REMOTE_LONG_OPTS,
		{ "json", no_argument, NULL, O_JSON },
		{ "limit", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct search s = { 0 };
	struct remote_list l = { .cmd = "search", .what = "searching", .noun = "the answer",
				 .target = "/search?q=", .page_size = SEARCH_PAGE,
				 .page = search_page, .refused = show_bad_query, .arg = &s };
	char *query = NULL, *qesc = NULL, *end;
	struct http *h = NULL;
	int c, ret = 0;

	while ((c = remote_getopt("search", argc, argv, REMOTE_SHORT_OPTS "n:h", opts,
				  search_usage)) != -1) {
		if (c == REMOTE_OPT_HELP)
			return DGFS_EXIT_OK;
		if (c == REMOTE_OPT_BAD)
			return DGFS_EXIT_USAGE;
		if (c == O_JSON) {
			l.json = true;
			continue;
		}
		if (c == 'n') {
			s.limit = strtoul(optarg, &end, 10);
			if (*end || !*optarg || *optarg == '-' || !s.limit) {
				fprintf(stderr, "dgfs search: bad --limit %s\n", optarg);
				return DGFS_EXIT_USAGE;
			}
			continue;
		}
		search_usage(stderr);
		return DGFS_EXIT_USAGE;
	}
	if (optind >= argc) {
		search_usage(stderr);
		return DGFS_EXIT_USAGE;
	}
	query = join_words(argc - optind, argv + optind);
	qesc = query ? http_escape(query) : NULL;
	if (!qesc) {
		fprintf(stderr, "dgfs search: out of memory\n");
		ret = DGFS_EXIT_LOCAL;
		goto out;
	}
	h = remote_http_open("search");
	if (!h) {
		ret = DGFS_EXIT_LOCAL;
		goto out;
	}
	s.query = query;
	l.value = qesc;
	ret = remote_list(h, &l);
out:
	free(qesc);
	free(query);
	http_free(h);
	http_global_cleanup();
	return ret;
}
