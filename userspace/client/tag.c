// SPDX-License-Identifier: GPL-2.0
/*
 * dgfs tag: a file's tags and the implications between tags (docs/TAGS.md,
 * docs/CLIENT.md), through dgfsd's tag API:
 *   dgfs tag ls REMOTE              GET /files/REMOTE?tags
 *   dgfs tag add REMOTE TAG...      POST /files/REMOTE?tags {"add": [...]}
 *   dgfs tag rm REMOTE TAG...       POST /files/REMOTE?tags {"remove": [...]}
 *   dgfs tag imply [--rm] A B       POST /tags/implies
 *   dgfs tag implies                GET /tags/implies
 * ls (and add, rm) print one tag a line: "name[=value]<TAB>source". dgfsd
 * normalises tags; the client sends them as typed.
 */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "http.h"
#include "remote.h"

static void tag_usage(FILE *f)
{
	fprintf(f,
		"Usage: dgfs tag ls REMOTE\n"
		"       dgfs tag add REMOTE TAG...\n"
		"       dgfs tag rm REMOTE TAG...\n"
		"       dgfs tag imply [--rm] TAG IMPLIED\n"
		"       dgfs tag implies\n"
		"  A TAG is name or name=value. ls, add and rm print the file's tags,\n"
		"  one a line: TAG<TAB>auto|user|implied. imply makes every file with TAG\n"
		"  have IMPLIED too (--rm: no more); implies lists the implications.\n"
		REMOTE_OPTS_HELP);
}

/* The file's tags from an answer of GET or POST ?tags, one a line. */
static int print_tags(json_t *j)
{
	json_t *tags = json_object_get(j, "tags"), *t;
	size_t i;

	if (!json_is_array(tags)) {
		fprintf(stderr, "dgfs tag: the answer has no tags\n");
		return DGFS_EXIT_CONNECT;
	}
	json_array_foreach(tags, i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));
		const char *value = json_string_value(json_object_get(t, "value"));
		const char *src = json_string_value(json_object_get(t, "source"));

		if (!name || !src) {
			fprintf(stderr, "dgfs tag: a tag in the answer is malformed\n");
			return DGFS_EXIT_CONNECT;
		}
		printf("%s%s%s\t%s\n", name, value ? "=" : "", value ? value : "", src);
	}
	return fflush(stdout) ? DGFS_EXIT_LOCAL : DGFS_EXIT_OK;
}

static int print_implies(json_t *j)
{
	json_t *arr = json_object_get(j, "implies"), *e;
	size_t i;

	if (!json_is_array(arr)) {
		fprintf(stderr, "dgfs tag: the answer has no implications\n");
		return DGFS_EXIT_CONNECT;
	}
	json_array_foreach(arr, i, e) {
		const char *a = json_string_value(json_object_get(e, "tag"));
		const char *b = json_string_value(json_object_get(e, "implies"));

		if (!a || !b) {
			fprintf(stderr, "dgfs tag: an implication in the answer is malformed\n");
			return DGFS_EXIT_CONNECT;
		}
		printf("%s -> %s\n", a, b);
	}
	return fflush(stdout) ? DGFS_EXIT_LOCAL : DGFS_EXIT_OK;
}

/*
 * The options up to the next operand ('+': the subcommand's own are
 * operands): -1 to go on, else the exit code (0 after --help).
 */
static int tag_opts(int argc, char **argv, bool *rm)
{
	enum { O_RM = REMOTE_OPT_END };
	static const struct option opts[] = {
		REMOTE_LONG_OPTS,
		{ "rm", no_argument, NULL, O_RM },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = remote_getopt("tag", argc, argv, "+" REMOTE_SHORT_OPTS "h", opts,
				  tag_usage)) != -1) {
		if (c == REMOTE_OPT_HELP)
			return DGFS_EXIT_OK;
		if (c == REMOTE_OPT_BAD)
			return DGFS_EXIT_USAGE;
		if (c != O_RM) {
			tag_usage(stderr);
			return DGFS_EXIT_USAGE;
		}
		*rm = true;
	}
	return -1;
}

int dgfs_cmd_tag(int argc, char **argv)
{
	struct http_req req = { .content_type = "application/json" };
	struct http_resp resp = { 0 };
	const char *sub, *what;
	struct http *h = NULL;
	json_t *body = NULL, *arr, *j = NULL;
	char *text = NULL, *target = NULL;
	bool rm = false;
	int ret, rc, i, nargs;

	ret = tag_opts(argc, argv, &rm);
	if (ret >= 0)
		return ret;
	if (optind >= argc) {
		tag_usage(stderr);
		return DGFS_EXIT_USAGE;
	}
	sub = argv[optind++];
	/* Options may follow the subcommand too (dgfs tag imply --rm A B). */
	ret = tag_opts(argc, argv, &rm);
	if (ret >= 0)
		return ret;
	nargs = argc - optind;
	if ((!strcmp(sub, "ls") && nargs != 1) ||
	    ((!strcmp(sub, "add") || !strcmp(sub, "rm")) && nargs < 2) ||
	    (!strcmp(sub, "imply") && nargs != 2) || (!strcmp(sub, "implies") && nargs) ||
	    (rm && strcmp(sub, "imply"))) {
		tag_usage(stderr);
		return DGFS_EXIT_USAGE;
	}
	if (strcmp(sub, "ls") && strcmp(sub, "add") && strcmp(sub, "rm") &&
	    strcmp(sub, "imply") && strcmp(sub, "implies")) {
		fprintf(stderr, "dgfs tag: \"%s\" is unknown, try \"dgfs tag --help\".\n", sub);
		return DGFS_EXIT_USAGE;
	}
	h = remote_http_open("tag");
	if (!h)
		return DGFS_EXIT_LOCAL;
	what = nargs ? argv[optind] : "implications";
	if (!strcmp(sub, "ls") || !strcmp(sub, "add") || !strcmp(sub, "rm")) {
		target = remote_file_target(argv[optind], "?tags");
		if (!target)
			goto oom;
		req.target = target;
		req.method = "GET";
		if (strcmp(sub, "ls")) {
			arr = json_array();
			body = json_pack("{s:o}", !strcmp(sub, "add") ? "add" : "remove", arr);
			for (i = optind + 1; body && i < argc; i++)
				if (json_array_append_new(arr, json_string(argv[i])))
					goto oom;	/* also: a TAG that is not UTF-8 */
			req.method = "POST";
		}
	} else if (!strcmp(sub, "imply")) {
		req.method = "POST";
		req.target = "/tags/implies";
		body = rm ? json_pack("{s:s,s:s,s:b}", "tag", argv[optind], "implies",
				      argv[optind + 1], "remove", 1) :
			    json_pack("{s:s,s:s}", "tag", argv[optind], "implies", argv[optind + 1]);
		if (!body)
			goto oom;
	} else {
		req.method = "GET";
		req.target = "/tags/implies";
	}
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text)
			goto oom;
		req.body = text;
		req.len = strlen(text);
	}
	rc = http_do(h, &req, &resp);
	if (rc || resp.status != 200) {
		ret = http_fail("tag", what, h, &resp, rc);
		goto out;
	}
	j = http_resp_json(&resp);
	if (!strcmp(sub, "imply"))
		ret = DGFS_EXIT_OK;
	else
		ret = !strcmp(sub, "implies") ? print_implies(j) : print_tags(j);
	goto out;
oom:
	fprintf(stderr, "dgfs tag: out of memory (or an argument is not UTF-8)\n");
	ret = DGFS_EXIT_LOCAL;
out:
	json_decref(j);
	json_decref(body);
	free(text);
	free(target);
	http_resp_free(&resp);
	http_free(h);
	http_global_cleanup();
	return ret;
}
