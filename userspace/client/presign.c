// SPDX-License-Identifier: GPL-2.0
/*
 * dgfs presign [--method M] [--expires SECONDS] REMOTE: asks dgfsd for a
 * presigned URL (POST /presign, docs/HTTP.md) and prints it whole, for
 * curl or a browser that has no key. dgfsd signs only what the client's
 * own key may do.
 */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "http.h"
#include "proto/dgfs_proto.h"
#include "remote.h"

static void presign_usage(FILE *f)
{
	fprintf(f,
		"Usage: dgfs presign [OPTIONS] REMOTE\n"
		"  Prints a URL that does METHOD on REMOTE without a key until it expires.\n"
		"      --method M        GET (default; HEAD too), PUT or DELETE\n"
		"      --expires SECONDS lifetime (default 3600, at most 604800)\n"
		REMOTE_OPTS_HELP);
}

int dgfs_cmd_presign(int argc, char **argv)
{
	enum { O_METHOD = REMOTE_OPT_END, O_EXPIRES };
	static const struct option opts[] = {
		REMOTE_LONG_OPTS,
		{ "method", required_argument, NULL, O_METHOD },
		{ "expires", required_argument, NULL, O_EXPIRES },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct http_req req = { .method = "POST", .target = "/presign",
				.content_type = "application/json" };
	struct http_resp resp = { 0 };
	const char *method = "GET", *url;
	uint64_t expires = 3600;
	struct http *h = NULL;
	json_t *body = NULL, *j = NULL;
	char *text = NULL;
	int c, ret, rc;

	while ((c = remote_getopt("presign", argc, argv, REMOTE_SHORT_OPTS "h", opts,
				  presign_usage)) != -1) {
		if (c == REMOTE_OPT_HELP)
			return DGFS_EXIT_OK;
		if (c == REMOTE_OPT_BAD)
			return DGFS_EXIT_USAGE;
		if (c == O_METHOD) {
			method = optarg;
			continue;
		}
		if (c == O_EXPIRES && !dgfs_parse_size(optarg, &expires) && expires &&
		    expires <= 7 * 86400)
			continue;
		if (c == O_EXPIRES)
			fprintf(stderr, "dgfs presign: bad --expires \"%s\" (1 .. 604800)\n", optarg);
		presign_usage(stderr);
		return DGFS_EXIT_USAGE;
	}
	if (optind != argc - 1) {
		presign_usage(stderr);
		return DGFS_EXIT_USAGE;
	}
	h = remote_http_open("presign");
	if (!h)
		return DGFS_EXIT_LOCAL;
	body = json_pack("{s:s,s:s,s:I}", "path", argv[optind], "method", method, "expires_in",
			 (json_int_t)expires);
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	if (!text) {
		fprintf(stderr, "dgfs presign: out of memory (or REMOTE is not UTF-8)\n");
		ret = DGFS_EXIT_LOCAL;
		goto out;
	}
	req.body = text;
	req.len = strlen(text);
	rc = http_do(h, &req, &resp);
	if (rc || resp.status != 200) {
		ret = http_fail("presign", argv[optind], h, &resp, rc);
		goto out;
	}
	j = http_resp_json(&resp);
	url = json_string_value(json_object_get(j, "url"));
	if (!url || url[0] != '/') {
		fprintf(stderr, "dgfs presign: the answer has no url\n");
		ret = DGFS_EXIT_CONNECT;
		goto out;
	}
	printf("%s%s\n", http_base(h), url);
	ret = fflush(stdout) ? DGFS_EXIT_LOCAL : DGFS_EXIT_OK;
out:
	json_decref(j);
	json_decref(body);
	free(text);
	http_resp_free(&resp);
	http_free(h);
	http_global_cleanup();
	return ret;
}
