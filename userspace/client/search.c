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

/* A 400's error and position under the query, as a caret. */
static void show_bad_query(const char *q, struct http_resp *resp)
{
	json_t *j = http_resp_json(resp);
	json_t *pos = json_object_get(j, "position");
	const char *msg = json_string_value(json_object_get(j, "error"));

	if (!msg || !json_is_integer(pos)) {
		json_decref(j);
		return;
	}
	fprintf(stderr, "dgfs search: bad query: %s\n  %s\n  %*s^\n", msg, q,
		(int)json_integer_value(pos), "");
	json_decref(j);
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
	struct http_resp resp = { 0 };
	char *query = NULL, *qesc = NULL, *after = NULL, *target = NULL, *end;
	unsigned long limit = 0, shown = 0;
	bool json = false, any = false;
	struct http *h = NULL;
	int c, ret = 0, rc;

	while ((c = remote_getopt("search", argc, argv, REMOTE_SHORT_OPTS "n:h", opts,
				  search_usage)) != -1) {
		if (c == REMOTE_OPT_HELP)
			return DGFS_EXIT_OK;
		if (c == O_JSON) {
			json = true;
			continue;
		}
		if (c == 'n') {
			limit = strtoul(optarg, &end, 10);
			if (*end || !*optarg || *optarg == '-' || !limit) {
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
	if (json)
		printf("[\n");
	for (;;) {
		struct http_req req = { .method = "GET" };
		const char *next;
		json_t *j, *files, *f;
		size_t i;

		free(target);
		if (asprintf(&target, "/search?q=%s&limit=%d%s%s", qesc, SEARCH_PAGE,
			     after ? "&after=" : "", after ? after : "") < 0) {
			target = NULL;
			fprintf(stderr, "dgfs search: out of memory\n");
			ret = DGFS_EXIT_LOCAL;
			break;
		}
		req.target = target;
		rc = http_do(h, &req, &resp);
		if (!rc && resp.status == 400)
			show_bad_query(query, &resp);
		if (rc || resp.status != 200) {
			ret = http_fail("search", "searching", h, &resp, rc);
			break;
		}
		j = http_resp_json(&resp);
		files = json_object_get(j, "files");
		if (!json_is_array(files)) {
			json_decref(j);
			fprintf(stderr, "dgfs search: the answer is not {\"files\": [...], "
				"\"next\": ...}\n");
			ret = DGFS_EXIT_CONNECT;
			break;
		}
		json_array_foreach(files, i, f) {
			const char *path = json_string_value(json_object_get(f, "path"));

			if (!path || (limit && shown >= limit))
				continue;
			if (json) {
				char *s = json_dumps(f, JSON_COMPACT);

				printf("%s%s", any ? ",\n" : "", s ? s : "null");
				free(s);
			} else {
				printf("%8.3f  %s", json_number_value(json_object_get(f, "score")),
				       path);
				print_tags(json_object_get(f, "tags"));
				printf("\n");
			}
			any = true;
			shown++;
		}
		next = json_string_value(json_object_get(j, "next"));
		free(after);
		after = next && !(limit && shown >= limit) ? http_escape(next) : NULL;
		json_decref(j);
		if (!after)
			break;
	}
	if (json && !ret)
		printf("%s]\n", any ? "\n" : "");
	if (fflush(stdout) && !ret) {
		perror("dgfs search: stdout");
		ret = DGFS_EXIT_LOCAL;
	}
out:
	http_resp_free(&resp);
	free(target);
	free(after);
	free(qesc);
	free(query);
	http_free(h);
	http_global_cleanup();
	return ret;
}
