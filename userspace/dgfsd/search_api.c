// SPDX-License-Identifier: GPL-2.0
/*
 * The search API (docs/SEARCH.md):
 *   GET  /search?q=QUERY[&limit=N][&after=CURSOR]
 *        {"files": [{"path", "score", "tags"}], "next": CURSOR|null}
 *   POST /search?q=QUERY  {"add": [tags], "remove": [tags]}  -> {"files": N}
 * A bad query is 400 {"error", "position"} (the byte offset in q). A key
 * limited to a prefix finds, and tags, only files under it. The routing
 * table (http.c) gives GET read scope and POST write scope.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "http.h"
#include "meta_tags.h"
#include "search.h"
#include "tags_api.h"
#include "tags/query.h"
#include "tags/tag.h"

#define SEARCH_BODY_MAX		(256u << 10)
#define SEARCH_LIMIT_DEFAULT	50

int search_arg(struct MHD_Connection *c, const char *key, char **out)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
	size_t n;

	*out = NULL;
	if (!v)
		return -ENOENT;
	n = strlen(v);
	/* Query values reach us still percent-encoded (http.c keeps them so). */
	*out = malloc(n + 1);
	if (!*out)
		return -ENOMEM;
	if (dgfsd_url_decode(v, *out, n + 1)) {
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

/* The query in ?q: 0 with *out, or an answer queued in *ret. */
static int parse_q(struct MHD_Connection *c, struct request *r, struct query **out,
		   enum MHD_Result *ret)
{
	struct query_error e = { 0 };
	char *q;
	int err;

	err = search_arg(c, "q", &q);
	if (err) {
		*ret = err == -ENOMEM ? http_send_error(c, r, 503, "out of memory") :
		       http_send_error(c, r, 400, err == -ENOENT ? "give the query as ?q=" :
				       "bad q: a bad %%-escape or a NUL");
		return err;
	}
	err = query_parse(q, strlen(q), out, &e);
	free(q);
	if (err == -ENOMEM)
		*ret = http_send_error(c, r, 503, "out of memory");
	else if (err)
		*ret = http_send_json(c, r, 400, json_pack("{s:s,s:I}", "error", e.msg,
							   "position", (json_int_t)e.pos));
	return err;
}

static enum MHD_Result search_failed(struct MHD_Connection *c, struct request *r, int err)
{
	if (err == -ETIME)
		return http_send_error(c, r, 503, "the search took longer than %d ms",
				       SEARCH_TIME_MAX_MS);
	if (err == -ENOMEM)
		return http_send_error(c, r, 503, "out of memory");
	if (err == -E2BIG)
		return http_send_error(c, r, 400, "a file would have more than %d user tags",
				       META_TAGS_USER_MAX);
	if (err == -EINVAL)
		return http_send_error(c, r, 400, "a tag is both added and removed");
	return http_send_error(c, r, 500, "the search failed");
}

enum MHD_Result search_api_get(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	struct search_page pg = { .prefix = r->who.prefix, .limit = SEARCH_LIMIT_DEFAULT,
				  .with_tags = true };
	char *after = NULL;
	const char *v;
	enum MHD_Result ret;
	struct query *q;
	json_t *res;
	int err;

	v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	if (v) {
		char *end;

		errno = 0;
		pg.limit = (unsigned int)strtoul(v, &end, 10);
		if (errno || *end || !*v || *v == '-' || !pg.limit || pg.limit > SEARCH_LIMIT_MAX)
			return http_send_error(c, r, 400, "bad limit (1 .. %d)", SEARCH_LIMIT_MAX);
	}
	err = search_arg(c, "after", &after);
	if (err == -ENOMEM)
		return http_send_error(c, r, 503, "out of memory");
	if (err != -ENOENT && (err || search_cursor_parse(after, &pg))) {
		free(after);
		return http_send_error(c, r, 400, "bad after: give the \"next\" of the last page");
	}
	free(after);
	if (parse_q(c, r, &q, &ret))
		return ret;
	err = search_run(d->meta, q, &pg, &res);
	query_free(q);
	if (err)
		return search_failed(c, r, err);
	return http_send_json(c, r, 200, res);
}

static enum MHD_Result bulk_tag(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	json_t *j = dgfsd_body_object(r->body, r->body_len);
	struct tag *add = NULL, *rm = NULL;
	const char *why = NULL, *bad = NULL;
	size_t nadd = 0, nrm = 0;
	struct query *q = NULL;
	enum MHD_Result ret;
	uint64_t files = 0;
	void *it;
	int err;

	if (!j) {
		ret = http_send_error(c, r, 400, "expected {\"add\": [tags], \"remove\": [tags]}");
		goto out;
	}
	for (it = json_object_iter(j); it; it = json_object_iter_next(j, it))
		if (strcmp(json_object_iter_key(it), "add") &&
		    strcmp(json_object_iter_key(it), "remove")) {
			ret = http_send_error(c, r, 400, "unknown member \"%.64s\": expected "
					      "{\"add\": [tags], \"remove\": [tags]}",
					      json_object_iter_key(it));
			goto out;
		}
	add = calloc(TAGS_PER_REQUEST, sizeof(*add));
	rm = calloc(TAGS_PER_REQUEST, sizeof(*rm));
	if (!add || !rm) {
		ret = http_send_error(c, r, 503, "out of memory");
		goto out;
	}
	why = parse_tag_array(json_object_get(j, "add"), add, &nadd, &bad);
	if (!why)
		why = parse_tag_array(json_object_get(j, "remove"), rm, &nrm, &bad);
	if (why) {
		ret = bad ? http_send_json(c, r, 400, json_pack("{s:s+,s:s}", "error", "bad tag: ",
								why, "tag", bad)) :
			    http_send_error(c, r, 400, "%s", why);
		goto out;
	}
	if (!nadd && !nrm) {
		ret = http_send_error(c, r, 400, "nothing to add or remove");
		goto out;
	}
	if (parse_q(c, r, &q, &ret))
		goto out;
	err = search_apply(d->meta, q, r->who.prefix, add, nadd, rm, nrm, &files);
	if (err) {
		ret = search_failed(c, r, err);
		goto out;
	}
	fprintf(stderr, "dgfsd: bulk tagging by key %lld: %llu files, %zu added, %zu removed\n",
		(long long)r->who.id, (unsigned long long)files, nadd, nrm);
	ret = http_send_json(c, r, 200, json_pack("{s:I}", "files", (json_int_t)files));
out:
	query_free(q);
	free(add);
	free(rm);
	json_decref(j);
	return ret;
}

enum MHD_Result search_api_post(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	(void)d;
	(void)c;
	r->finish = bulk_tag;
	r->body_max = SEARCH_BODY_MAX;
	r->json_body = true;
	return MHD_YES;
}
