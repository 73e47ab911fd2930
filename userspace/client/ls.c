// SPDX-License-Identifier: GPL-2.0
/*
 * dgfs ls [PREFIX], dgfs rm REMOTE..., dgfs stat REMOTE: the file
 * listing, deletion and metadata (docs/CLIENT.md).
 */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "http.h"
#include "remote.h"

#define LS_PAGE		1000

static void ls_usage(FILE *f)
{
	fprintf(f,
		"Usage: dgfs ls [OPTIONS] [PREFIX]\n"
		"  Lists the files whose path starts with PREFIX (default: all), in byte\n"
		"  order, one per line: \"SIZE  MTIME  PATH\" (MTIME in ISO 8601, UTC).\n"
		"      --json            one JSON array of the server's file objects\n"
		REMOTE_OPTS_HELP);
}

static void rm_usage(FILE *f)
{
	fprintf(f,
		"Usage: dgfs rm [OPTIONS] REMOTE...\n"
		"  Deletes the files.\n"
		"  -f, --force           a file that does not exist is not an error\n"
		REMOTE_OPTS_HELP);
}

static void stat_usage(FILE *f)
{
	fprintf(f,
		"Usage: dgfs stat [OPTIONS] REMOTE\n"
		"  Prints a file's path, size, etag (SHA-256), content type, mtime and\n"
		"  number of chunks.\n"
		"      --json            the same as one JSON object\n"
		REMOTE_OPTS_HELP);
}

/*
 * The options of ls, rm and stat: the global ones, --json, -f. 0 with
 * *first set to the first operand, -1 for --help, else the exit code.
 */
static int parse_simple(const char *cmd, int argc, char **argv, void (*usage)(FILE *),
			bool *json, bool *force, int *first)
{
	enum { O_JSON = REMOTE_OPT_END };
	static const struct option opts[] = {
		REMOTE_LONG_OPTS,
		{ "json", no_argument, NULL, O_JSON },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = remote_getopt(cmd, argc, argv, REMOTE_SHORT_OPTS "fh", opts, usage)) != -1) {
		if (c == REMOTE_OPT_HELP)
			return -1;
		if (c == REMOTE_OPT_BAD)
			return DGFS_EXIT_USAGE;
		if (c == O_JSON && json) {
			*json = true;
			continue;
		}
		if (c == 'f' && force) {
			*force = true;
			continue;
		}
		/* getopt named an unknown option; this one is another command's. */
		if (c != '?')
			fprintf(stderr, "dgfs %s: unknown option\n", cmd);
		usage(stderr);
		return DGFS_EXIT_USAGE;
	}
	*first = optind;
	return 0;
}

/* ---- ls ------------------------------------------------------------------------ */

/* Prints one page (remote_list's ->page); 0, or -1 if it is not what docs/HTTP.md says. */
static int ls_page(json_t *files, bool json, bool *any, void *arg)
{
	json_t *f;
	size_t i;

	(void)arg;
	json_array_foreach(files, i, f) {
		const char *path = json_string_value(json_object_get(f, "path"));
		json_t *size = json_object_get(f, "size"), *mtime = json_object_get(f, "mtime");
		char when[32];

		if (!path || !json_is_integer(size) || !json_is_integer(mtime))
			return -1;
		if (json) {
			char *s = json_dumps(f, JSON_COMPACT);

			if (!s)
				return -1;
			printf("%s%s", *any ? ",\n" : "", s);
			free(s);
		} else {
			remote_iso_time(json_integer_value(mtime), when, sizeof(when));
			printf("%12lld  %s  %s\n", (long long)json_integer_value(size), when, path);
		}
		*any = true;
	}
	return 0;
}

int dgfs_cmd_ls(int argc, char **argv)
{
	struct remote_list l = { .cmd = "ls", .what = "listing", .noun = "the listing",
				 .target = "/files/?prefix=", .page_size = LS_PAGE,
				 .page = ls_page };
	char *prefix = NULL;
	struct http *h;
	int first, ret;

	ret = parse_simple("ls", argc, argv, ls_usage, &l.json, NULL, &first);
	if (ret)
		return ret < 0 ? DGFS_EXIT_OK : ret;
	if (argc - first > 1) {
		ls_usage(stderr);
		return DGFS_EXIT_USAGE;
	}
	h = remote_http_open("ls");
	if (!h)
		return DGFS_EXIT_LOCAL;
	prefix = http_escape(first < argc ? argv[first] : "");
	if (prefix) {
		l.value = prefix;
		ret = remote_list(h, &l);
	} else {
		fprintf(stderr, "dgfs ls: out of memory\n");
		ret = DGFS_EXIT_LOCAL;
	}
	free(prefix);
	http_free(h);
	http_global_cleanup();
	return ret;
}

/* ---- rm ------------------------------------------------------------------------ */

int dgfs_cmd_rm(int argc, char **argv)
{
	struct http_resp resp = { 0 };
	bool force = false;
	struct http *h;
	int first, ret, rc, i;

	ret = parse_simple("rm", argc, argv, rm_usage, NULL, &force, &first);
	if (ret)
		return ret < 0 ? DGFS_EXIT_OK : ret;
	if (first >= argc) {
		rm_usage(stderr);
		return DGFS_EXIT_USAGE;
	}
	h = remote_http_open("rm");
	if (!h)
		return DGFS_EXIT_LOCAL;
	/* Every operand is tried; the exit code is the first failure's. */
	for (i = first; i < argc; i++) {
		char *target = remote_file_target(argv[i], "");
		struct http_req req = { .method = "DELETE" };
		int err = 0;

		if (!target) {
			fprintf(stderr, "dgfs rm: out of memory\n");
			if (!ret)
				ret = DGFS_EXIT_LOCAL;
			continue;
		}
		req.target = target;
		rc = http_do(h, &req, &resp);
		if (rc || (resp.status != 204 && resp.status != 200 &&
			   !(force && resp.status == 404)))
			err = http_fail("rm", argv[i], h, &resp, rc);
		if (err && !ret)
			ret = err;
		free(target);
	}
	http_resp_free(&resp);
	http_free(h);
	http_global_cleanup();
	return ret;
}

/* ---- stat ---------------------------------------------------------------------- */

int dgfs_cmd_stat(int argc, char **argv)
{
	struct http_resp resp = { 0 };
	struct http_req req = { .method = "GET" };
	char *target = NULL, when[32];
	struct http *h = NULL;
	json_t *j = NULL, *size, *mtime, *chunks;
	const char *path, *etag, *ctype;
	bool json = false;
	int first, ret, rc;

	ret = parse_simple("stat", argc, argv, stat_usage, &json, NULL, &first);
	if (ret)
		return ret < 0 ? DGFS_EXIT_OK : ret;
	if (first != argc - 1) {
		stat_usage(stderr);
		return DGFS_EXIT_USAGE;
	}
	h = remote_http_open_file("stat", argv[first], "?manifest", &target);
	if (!h)
		return DGFS_EXIT_LOCAL;
	/* The manifest rather than HEAD: it also tells the chunks. */
	req.target = target;
	rc = http_do(h, &req, &resp);
	if (rc || resp.status != 200) {
		ret = http_fail("stat", argv[first], h, &resp, rc);
		goto out;
	}
	j = http_resp_json(&resp);
	path = json_string_value(json_object_get(j, "path"));
	etag = json_string_value(json_object_get(j, "etag"));
	ctype = json_string_value(json_object_get(j, "content_type"));
	size = json_object_get(j, "size");
	mtime = json_object_get(j, "mtime");
	chunks = json_object_get(j, "chunks");
	if (!json_is_integer(size) || !etag || !json_is_integer(mtime) ||
	    !json_is_array(chunks)) {
		fprintf(stderr, "dgfs stat: the manifest of %s lacks size, etag, mtime or "
			"chunks\n", argv[first]);
		ret = DGFS_EXIT_CONNECT;
		goto out;
	}
	if (!path)
		path = argv[first];
	if (!ctype)
		ctype = "";
	remote_iso_time(json_integer_value(mtime), when, sizeof(when));
	if (json) {
		json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:I, s:I}", "path", path,
				      "size", json_integer_value(size), "etag", etag,
				      "content_type", ctype, "mtime", json_integer_value(mtime),
				      "chunks", (json_int_t)json_array_size(chunks));
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

		if (s)
			printf("%s\n", s);
		else
			ret = DGFS_EXIT_LOCAL;
		free(s);
		json_decref(o);
	} else {
		printf("path:         %s\n"
		       "size:         %lld\n"
		       "etag:         %s\n"
		       "content_type: %s\n"
		       "mtime:        %s\n"
		       "chunks:       %zu\n",
		       path, (long long)json_integer_value(size), etag, ctype, when,
		       json_array_size(chunks));
	}
	if (fflush(stdout) && !ret) {
		perror("dgfs stat: stdout");
		ret = DGFS_EXIT_LOCAL;
	}
out:
	json_decref(j);
	http_resp_free(&resp);
	free(target);
	http_free(h);
	http_global_cleanup();
	return ret;
}
