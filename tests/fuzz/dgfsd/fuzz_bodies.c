// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the JSON request bodies dgfsd parses
 * (userspace/dgfsd/bodies.c, with jansson underneath): the chunk id lists
 * of POST /chunks/missing ({"ids": [...]}) and of commits ({"chunks":
 * [...], "content_type": ...}), and the members of key and presign
 * requests (POST /keys: scope, prefix, name; POST /presign: method, path,
 * expires_in), each checked as its handler checks it.
 *
 * The input is the body. Checked besides the sanitizers: an id list
 * accepted has as many ids as the array and writes back (chunks_id_array)
 * to the same lowercase hex the parser reads again to the same ids; a
 * string member is returned only when it is a string; an accepted key
 * prefix is normalized (a second pass changes nothing); what jansson
 * allocates parsing a body stays within dgfsd_json_cost(), the bound by
 * which dgfsd refuses bodies before parsing them, and only too deep a
 * body is refused when the allowance is unlimited; a JSON object within
 * its allowance is taken.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgfsd/auth.h"
#include "dgfsd/bodies.h"
#include "dgfsd/httputil.h"
#include "dgfsd/meta.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_bodies: %s:%d: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

static void ids(json_t *j, const char *member, size_t max)
{
	json_t *arr = json_object_get(j, member), *back;
	uint8_t (*got)[DGFS_CHUNK_ID_LEN] = NULL, (*again)[DGFS_CHUNK_ID_LEN] = NULL;
	size_t n = 0, n2 = 0;
	int err;

	err = chunks_parse_ids(arr, max, &got, &n);
	if (err) {
		CHECK(err == -EINVAL || err == -E2BIG);
		CHECK(err != -E2BIG || json_array_size(arr) > max);
		return;
	}
	CHECK(json_is_array(arr) && n == json_array_size(arr) && n <= max);
	back = chunks_id_array((const uint8_t (*)[DGFS_CHUNK_ID_LEN])got, n);
	CHECK(back && json_array_size(back) == n);
	CHECK(chunks_parse_ids(back, max, &again, &n2) == 0 && n2 == n);
	CHECK(n == 0 || memcmp(got, again, n * DGFS_CHUNK_ID_LEN) == 0);
	json_decref(back);
	free(again);
	free(got);
}

static void commit(json_t *j)
{
	json_t *jt = json_object_get(j, "content_type");

	ids(j, "chunks", 64);
	if (jt && json_string_value(jt))
		dgfsd_ctype_check(json_string_value(jt), META_CTYPE_MAX);
}

static void key_request(json_t *j)
{
	char prefix[META_PATH_MAX + 1], again[META_PATH_MAX + 1];
	const char *scope_s, *prefix_s, *name;
	enum meta_scope scope;

	if (dgfsd_json_opt_string(j, "scope", &scope_s) ||
	    dgfsd_json_opt_string(j, "prefix", &prefix_s) ||
	    dgfsd_json_opt_string(j, "name", &name))
		return;
	CHECK(!scope_s || json_is_string(json_object_get(j, "scope")));
	meta_scope_parse(scope_s, &scope);
	if (prefix_s && !auth_prefix_normalize(prefix_s, prefix, sizeof(prefix))) {
		CHECK(strlen(prefix) < sizeof(prefix));
		CHECK(!auth_prefix_normalize(prefix, again, sizeof(again)));
		CHECK(!strcmp(prefix, again));
	}
}

static void presign_request(json_t *j)
{
	const char *method, *path;

	if (dgfsd_json_opt_string(j, "method", &method) ||
	    dgfsd_json_opt_string(j, "path", &path) || !path)
		return;
	dgfsd_path_check(path, strlen(path), false);
}

static void cost_bound(const uint8_t *data, size_t size)
{
	unsigned int depth;
	size_t cost = dgfsd_json_cost(data, size, &depth);
	bool too_big;
	json_t *j;

	j = dgfsd_json_parse(data, size, 0, SIZE_MAX, &too_big);
	CHECK(too_big == (depth > DGFSD_JSON_DEPTH_MAX));
	if (!too_big)
		CHECK(dgfsd_json_parse_used() <= cost);
	json_decref(j);
}

static bool object_within_allowance(const uint8_t *data, size_t size)
{
	unsigned int depth;
	json_t *plain = json_loadb((const char *)data, size, 0, NULL);
	bool ok = json_is_object(plain) &&
		  dgfsd_json_cost(data, size, &depth) <= dgfsd_json_allowance(size) &&
		  depth <= DGFSD_JSON_DEPTH_MAX;

	json_decref(plain);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j;

	cost_bound(data, size);

	/* As post_missing and post_commit load it. */
	j = dgfsd_json_parse(data, size, 0, dgfsd_json_allowance(size), &(bool){ false });
	if (j) {
		ids(j, "ids", 100);
		commit(j);
		json_decref(j);
	}
	/* As the key and presign handlers load it: a JSON object that
	 * jansson parses and that fits the allowance comes back. */
	j = dgfsd_body_object(data, size);
	if (!j)
		CHECK(!object_within_allowance(data, size));
	if (j) {
		CHECK(json_is_object(j));
		key_request(j);
		presign_request(j);
		json_decref(j);
	}
	return 0;
}
