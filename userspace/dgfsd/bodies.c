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
 * An upper bound on what jansson 2.14 allocates while it parses a body, on
 * a 64-bit machine (its value.c, hashtable.c, strbuffer.c and load.c). It
 * counts every allocation of the parse, freed or not: tables and buckets
 * that grow by doubling cost all their earlier sizes too.
 *
 * Why a bound ahead rather than failing an allocation once past the
 * allowance: jansson does not survive an allocation that fails inside a
 * parse. Its lexer drops a character it could not save and then asserts
 * (load.c, lex_unget_unsave), and deep nests crashed outright (a 2 KB body
 * of nested arrays: the fuzzer's SEGV). The fuzzer checks this bound
 * against what the parse allocated.
 */
#define COST_SLOT	32	/* an array element's share of its doubling table */
#define COST_ARRAY	(40 + 8 * 8 + COST_SLOT)	/* json_array_t + 8 slots */
#define COST_OBJECT	(72 + 8 * 16 + COST_SLOT)	/* json_object_t + 8 buckets */
#define COST_SCALAR	(24 + COST_SLOT)	/* json_integer_t or json_real_t */
/* A string value: json_string_t and the lexer's copy (raw length + 1). */
#define COST_STRING(raw) (32 + (raw) + 1 + COST_SLOT)
/* A key: the lexer's copy, the pair with its own copy, its share of the
 * doubling buckets (16 bytes each, at most 4 a key in all). */
#define COST_KEY(raw)	((raw) + 1 + 56 + (raw) + 1 + 4 * 16)

static bool json_delim(char c)
{
	return strchr(" \t\n\r,:[]{}\"", c) != NULL;
}

size_t dgfsd_json_cost(const void *body, size_t len, unsigned int *depth)
{
	const char *p = body;
	size_t bytes = 0, longest = 0, raw = 0, i, start;
	unsigned int level = 0;
	bool string = false;

	*depth = 0;
	for (i = 0; i < len; i++) {
		char c = p[i];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		/* A string is a key if a colon follows it. */
		if (string)
			bytes += c == ':' ? COST_KEY(raw) : COST_STRING(raw);
		string = false;
		switch (c) {
		case '"':
			for (start = i++; i < len && p[i] != '"'; i++)
				if (p[i] == '\\')
					i++;
			if (i >= len)
				i = len - 1;
			raw = i - start + 1;
			string = true;
			break;
		case '[':
		case '{':
			bytes += c == '[' ? COST_ARRAY : COST_OBJECT;
			if (++level > *depth)
				*depth = level;
			continue;
		case ']':
		case '}':
			level -= level > 0;
			continue;
		case ',':
		case ':':
			continue;
		default:	/* a number, a literal or junk: one token */
			for (start = i; i + 1 < len && p[i + 1] && !json_delim(p[i + 1]); i++)
				;
			raw = i - start + 1;
			bytes += COST_SCALAR;
			break;
		}
		if (raw > longest)
			longest = raw;
	}
	if (string)
		bytes += COST_STRING(raw);
	/* The lexer's buffer: 16 bytes, doubled until the longest token fits. */
	return bytes + 16 + 4 * (longest + 2);
}

/*
 * jansson's allocations go through counted_malloc, which counts those of
 * a parse on this thread (parse_counting) so that the fuzzer can hold
 * dgfsd_json_cost() to them. It never fails one (see above).
 */
static __thread bool parse_counting;
static __thread size_t parse_used;
static pthread_once_t alloc_once = PTHREAD_ONCE_INIT;

static void *counted_malloc(size_t n)
{
	if (parse_counting)
		parse_used += n;
	return malloc(n);
}

static void use_counted_malloc(void)
{
	json_set_alloc_funcs(counted_malloc, free);
}

size_t dgfsd_json_parse_used(void)
{
	return parse_used;
}

size_t dgfsd_json_allowance(size_t len)
{
	return 3 * len + (64u << 10);
}

json_t *dgfsd_json_parse(const void *body, size_t len, size_t flags, size_t allowance,
			 bool *too_big)
{
	unsigned int depth;
	json_t *j;

	*too_big = dgfsd_json_cost(body, len, &depth) > allowance ||
		   depth > DGFSD_JSON_DEPTH_MAX;
	if (*too_big)
		return NULL;
	pthread_once(&alloc_once, use_counted_malloc);
	parse_used = 0;
	parse_counting = true;
	j = json_loadb(body, len, flags, NULL);
	parse_counting = false;
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
