// SPDX-License-Identifier: GPL-2.0
/* The JSON request bodies' parsing (bodies.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bodies.h"
#include "proto/hex.h"

int chunks_parse_ids(json_t *arr, size_t max, uint8_t (**out)[DGFS_CHUNK_ID_LEN], size_t *n)
{
	uint8_t (*ids)[DGFS_CHUNK_ID_LEN];
	size_t i, count;

	if (!json_is_array(arr))
		return -EINVAL;
	count = json_array_size(arr);
	if (count > max)
		return -E2BIG;
	ids = calloc(count ? count : 1, DGFS_CHUNK_ID_LEN);
	if (!ids)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		const char *s = json_string_value(json_array_get(arr, i));

		if (!s || strlen(s) != 2 * DGFS_CHUNK_ID_LEN ||
		    dgfs_hex_decode(s, ids[i], DGFS_CHUNK_ID_LEN)) {
			free(ids);
			return -EINVAL;
		}
	}
	*out = ids;
	*n = count;
	return 0;
}

json_t *chunks_id_array(const uint8_t (*ids)[DGFS_CHUNK_ID_LEN], size_t n)
{
	char hex[2 * DGFS_CHUNK_ID_LEN + 1];
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++) {
		dgfs_hex_encode(ids[i], DGFS_CHUNK_ID_LEN, hex);
		json_array_append_new(a, json_string(hex));
	}
	return a;
}

/*
 * jansson's allocations go through counted_malloc: while this thread
 * parses a body (parse_counting), each one is taken from the parse's
 * allowance. Freed memory is not given back to it: what a parse builds
 * lives until the request is answered, so the count is what it holds.
 */
static __thread bool parse_counting;
static __thread size_t parse_left;
static __thread bool parse_over;
static pthread_once_t alloc_once = PTHREAD_ONCE_INIT;

static void *counted_malloc(size_t n)
{
	if (parse_counting) {
		if (n > parse_left) {
			parse_over = true;
			return NULL;
		}
		parse_left -= n;
	}
	return malloc(n);
}

static void use_counted_malloc(void)
{
	json_set_alloc_funcs(counted_malloc, free);
}

size_t dgfsd_json_allowance(size_t len)
{
	return 3 * len + (64u << 10);
}

json_t *dgfsd_json_parse(const void *body, size_t len, size_t flags, size_t allowance,
			 bool *too_big)
{
	json_t *j;

	pthread_once(&alloc_once, use_counted_malloc);
	parse_left = allowance;
	parse_over = false;
	parse_counting = true;
	j = json_loadb(body, len, flags, NULL);
	parse_counting = false;
	*too_big = !j && parse_over;
	return j;
}

json_t *dgfsd_body_object(const void *body, size_t len)
{
	bool too_big;
	json_t *j = dgfsd_json_parse(body, len, 0, dgfsd_json_allowance(len), &too_big);

	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

int dgfsd_json_opt_string(json_t *j, const char *name, const char **out)
{
	json_t *v = json_object_get(j, name);

	*out = NULL;
	if (!v)
		return 0;
	*out = json_string_value(v);
	return *out ? 0 : -1;
}
