// SPDX-License-Identifier: GPL-2.0
/*
 * The tag API (docs/DGFSD.md, docs/TAGS.md):
 *   GET  /files/{path}?tags   {"path", "tags": [{"name", "value"|null, "source"}]}
 *   POST /files/{path}?tags   {"add": [tag...], "remove": [tag...]} -> as GET
 *   GET  /tags/implies        {"implies": [{"tag", "implies"}]}
 *   POST /tags/implies        {"tag": A, "implies": B[, "remove": true]}
 * The routing table (http.c) gives ?tags the file routes' scopes (read to
 * read, write to change, a prefix key only under its prefix) and
 * /tags/implies read to read, write without a prefix to change: an
 * implication reaches every file.
 * A request with one bad tag is refused whole (400), nothing changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "http.h"
#include "meta_tags.h"
#include "tags_api.h"

#define TAGS_BODY_MAX		(256u << 10)

static const char *const source_names[] = {
	[META_TAG_AUTO] = "auto",
	[META_TAG_USER] = "user",
	[META_TAG_IMPLIED] = "implied",
};

static json_t *tag_list_json(const char *path, const struct meta_tag_list *l)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && i < l->n; i++) {
		const struct meta_file_tag *t = &l->v[i];

		if (json_array_append_new(arr, json_pack("{s:s,s:o,s:s}", "name", t->tag.name,
					   "value", t->tag.value[0] ? json_string(t->tag.value) :
					   json_null(), "source", source_names[t->source]))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr ? json_pack("{s:s,s:o}", "path", path, "tags", arr) : NULL;
}

static enum MHD_Result send_tags(struct dgfsd *d, struct MHD_Connection *c, struct request *r,
				 unsigned int status)
{
	struct meta_tag_list l = { 0 };
	int err = meta_tags_get(d->meta, r->path, &l);
	json_t *j;

	if (err == -ENOENT)
		return http_send_error(c, r, 404, "no such file");
	if (err)
		return http_send_error(c, r, 500, "cannot read the tags: %s", strerror(-err));
	j = tag_list_json(r->path, &l);
	meta_tag_list_free(&l);
	if (!j)
		return http_send_error(c, r, 500, "out of memory");
	return http_send_json(c, r, status, j);
}

enum MHD_Result tags_api_get(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	return send_tags(d, c, r, 200);
}

const char *parse_tag_array(json_t *arr, struct tag *out, size_t *n, const char **bad)
{
	const char *why = NULL;
	json_t *e;
	size_t i;

	*n = 0;
	*bad = NULL;
	if (!arr)
		return NULL;
	if (!json_is_array(arr))
		return "\"add\" and \"remove\" are arrays of tag strings";
	if (json_array_size(arr) > TAGS_PER_REQUEST)
		return "at most 256 tags in each of \"add\" and \"remove\"";
	json_array_foreach(arr, i, e) {
		const char *s = json_string_value(e);

		if (!s)
			return "\"add\" and \"remove\" are arrays of tag strings";
		if (tag_parse(s, json_string_length(e), &out[*n], &why)) {
			*bad = s;
			return why;
		}
		(*n)++;
	}
	return NULL;
}

static enum MHD_Result post_tags(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	json_t *j = dgfsd_body_object(r->body, r->body_len);
	struct tag *add = NULL, *rm = NULL;
	size_t nadd = 0, nrm = 0;
	const char *why = NULL, *bad = NULL;
	enum MHD_Result ret;
	void *it;
	int err;

	if (!j) {
		ret = http_send_error(c, r, 400, "expected {\"add\": [tags], \"remove\": [tags]}");
		goto out;
	}
	for (it = json_object_iter(j); it; it = json_object_iter_next(j, it)) {
		const char *k = json_object_iter_key(it);

		if (strcmp(k, "add") && strcmp(k, "remove")) {
			ret = http_send_error(c, r, 400, "unknown member \"%.64s\": expected "
					      "{\"add\": [tags], \"remove\": [tags]}", k);
			goto out;
		}
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
		ret = bad ? http_send_json(c, r, 400, json_pack("{s:s+,s:s}", "error",
					   "bad tag: ", why, "tag", bad)) :
			    http_send_error(c, r, 400, "%s", why);
		goto out;
	}
	err = meta_tags_user_change(d->meta, r->path, add, nadd, rm, nrm);
	if (err == -ENOENT)
		ret = http_send_error(c, r, 404, "no such file");
	else if (err == -EINVAL)
		ret = http_send_error(c, r, 400, "a tag is both added and removed");
	else if (err == -E2BIG)
		ret = http_send_error(c, r, 400, "a file has at most %d user tags",
				      META_TAGS_USER_MAX);
	else if (err)
		ret = http_send_error(c, r, 500, "cannot change the tags: %s", strerror(-err));
	else
		ret = send_tags(d, c, r, 200);
out:
	free(add);
	free(rm);
	json_decref(j);
	return ret;
}

enum MHD_Result tags_api_post(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	(void)d;
	(void)c;
	r->finish = post_tags;
	r->body_max = TAGS_BODY_MAX;
	r->json_body = true;
	return MHD_YES;
}

/* ---- implications ---- */

static int implies_one(const struct tag *a, const struct tag *b, void *arg)
{
	char sa[TAG_STR_MAX + 1], sb[TAG_STR_MAX + 1];

	tag_format(a, sa, sizeof(sa));
	tag_format(b, sb, sizeof(sb));
	return json_array_append_new(arg, json_pack("{s:s,s:s}", "tag", sa, "implies", sb)) ?
	       -ENOMEM : 0;
}

#define TAGS_LIST_DEFAULT	10
#define TAGS_LIST_MAX		100

static int starting_one(const struct tag *t, int64_t files, void *arg)
{
	return json_array_append_new(arg, json_pack("{s:s,s:s?,s:I}", "name", t->name,
						    "value", t->value[0] ? t->value : NULL,
						    "files", (json_int_t)files)) ? -ENOMEM : 0;
}

/*
 * The start a user typed, spelled as stored tags are: the name part
 * normalised (case-folded), the value part as far as it goes. false when
 * no tag can start so (a name part no tag name could have).
 */
static bool tag_start_norm(const char *s, char *out, size_t size)
{
	const char *eq = strchr(s, '=');
	size_t nlen = eq ? (size_t)(eq - s) : strlen(s);
	char name[TAG_NAME_MAX + 1], value[TAG_VALUE_MAX + 1];

	if (!nlen)
		return false;
	if (tag_norm_name(s, nlen, name, sizeof(name), NULL))
		return false;
	if (!eq)
		return snprintf(out, size, "%s", name) < (int)size;
	/* A value cut anywhere may not normalise on its own: then as typed. */
	if (!eq[1] || tag_norm_value(eq + 1, strlen(eq + 1), value, sizeof(value), NULL))
		snprintf(value, sizeof(value), "%s", eq + 1);
	return snprintf(out, size, "%s=%s", name, value) < (int)size;
}

enum MHD_Result tags_api_list(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	char start[TAG_STR_MAX + 2], *prefix = NULL, *end;
	unsigned long limit = TAGS_LIST_DEFAULT;
	const char *v;
	json_t *arr;
	int err;

	v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	if (v) {
		errno = 0;
		limit = strtoul(v, &end, 10);
		if (errno || *end || !*v || limit < 1 || limit > TAGS_LIST_MAX)
			return http_send_error(c, r, 400, "limit is 1 .. %d", TAGS_LIST_MAX);
	}
	err = search_arg(c, "prefix", &prefix);
	if (err == -ENOENT)
		return http_send_error(c, r, 400, "expected ?prefix=START");
	if (err)
		return http_send_error(c, r, err == -ENOMEM ? 503 : 400, "bad prefix");
	arr = json_array();
	if (!arr) {
		free(prefix);
		return http_send_error(c, r, 503, "out of memory");
	}
	if (strlen(prefix) <= TAG_INPUT_MAX && tag_start_norm(prefix, start, sizeof(start)))
		err = meta_tags_starting(d->meta, start, r->who.prefix, (unsigned int)limit,
					 starting_one, arr);
	free(prefix);
	if (err) {
		json_decref(arr);
		return http_send_error(c, r, 500, "cannot list the tags");
	}
	return http_send_json(c, r, 200, json_pack("{s:o}", "tags", arr));
}

enum MHD_Result tags_api_implies_list(struct dgfsd *d, struct MHD_Connection *c,
				      struct request *r)
{
	json_t *arr = json_array();

	if (!arr || meta_tag_implies_list(d->meta, implies_one, arr)) {
		json_decref(arr);
		return http_send_error(c, r, 500, "cannot list the implications");
	}
	return http_send_json(c, r, 200, json_pack("{s:o}", "implies", arr));
}

static enum MHD_Result post_implies(struct dgfsd *d, struct MHD_Connection *c,
				    struct request *r)
{
	json_t *j = dgfsd_body_object(r->body, r->body_len), *rm;
	const char *sa = NULL, *sb = NULL, *why = NULL, *bad = NULL;
	char fa[TAG_STR_MAX + 1], fb[TAG_STR_MAX + 1];
	struct tag a, b;
	enum MHD_Result ret;
	int err;

	rm = j ? json_object_get(j, "remove") : NULL;
	if (!j || dgfsd_json_opt_string(j, "tag", &sa) ||
	    dgfsd_json_opt_string(j, "implies", &sb) || !sa || !sb ||
	    (rm && !json_is_boolean(rm)) || json_object_size(j) != 2u + !!rm) {
		ret = http_send_error(c, r, 400, "expected {\"tag\": A, \"implies\": B} "
				      "(and \"remove\": true to remove it)");
		goto out;
	}
	if (tag_parse(sa, strlen(sa), &a, &why))
		bad = sa;
	else if (tag_parse(sb, strlen(sb), &b, &why))
		bad = sb;
	if (bad) {
		ret = http_send_json(c, r, 400, json_pack("{s:s+,s:s}", "error", "bad tag: ", why,
							  "tag", bad));
		goto out;
	}
	err = meta_tag_imply(d->meta, &a, &b, !json_is_true(rm));
	tag_format(&a, fa, sizeof(fa));
	tag_format(&b, fb, sizeof(fb));
	if (err == -ELOOP)
		ret = http_send_error(c, r, 409, "%s implies %s already (a cycle)", fb, fa);
	else if (err == -ENOENT)
		ret = http_send_error(c, r, 404, "%s does not imply %s", fa, fb);
	else if (err)
		ret = http_send_error(c, r, 500, "cannot change the implication: %s",
				      strerror(-err));
	else
		ret = http_send_json(c, r, 200, json_pack("{s:s,s:s,s:b}", "tag", fa, "implies",
							  fb, "removed", json_is_true(rm)));
out:
	json_decref(j);
	return ret;
}

enum MHD_Result tags_api_implies_post(struct dgfsd *d, struct MHD_Connection *c,
				      struct request *r)
{
	(void)d;
	(void)c;
	r->finish = post_implies;
	r->body_max = TAGS_BODY_MAX;
	r->json_body = true;
	return MHD_YES;
}
