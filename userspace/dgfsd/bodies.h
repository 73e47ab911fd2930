/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The JSON request bodies' parsing (docs/HTTP.md), kept free of
 * libmicrohttpd and of dgfsd's state so that the fuzzer
 * (tests/fuzz/dgfsd/fuzz_bodies.c) can feed it anything: chunk id lists
 * (POST /chunks/missing, commits) and the string members of key and
 * presign requests.
 */
#ifndef DGFSD_BODIES_H
#define DGFSD_BODIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <linux/dgfs.h>

/* A JSON array of at most @max chunk ids: 0, -E2BIG past @max, or -EINVAL if malformed. */
int chunks_parse_ids(json_t *arr, size_t max, uint8_t (**out)[DGFS_CHUNK_ID_LEN], size_t *n);
json_t *chunks_id_array(const uint8_t (*ids)[DGFS_CHUNK_ID_LEN], size_t n);

/*
 * What parsing a body may allocate. jansson's values for a chunk id list
 * take about twice its bytes, but up to 80 times those of hostile JSON
 * such as [{},{},...]: a parse gets this allowance, which the caller pays
 * from --max-body-memory.
 */
size_t dgfsd_json_allowance(size_t len);
/* Nesting deeper than this is refused: dgfsd's bodies and the taggers'
 * output nest 3 deep; jansson's own limit (2048) is a deep recursion. */
#define DGFSD_JSON_DEPTH_MAX 32
/* An upper bound on the bytes jansson allocates parsing @body, and its
 * nesting depth in *depth. */
size_t dgfsd_json_cost(const void *body, size_t len, unsigned int *depth);
/* @body parsed, or NULL with *too_big set when its cost passes @allowance
 * or it nests too deep (refused before parsing), else malformed. */
json_t *dgfsd_json_parse(const void *body, size_t len, size_t flags, size_t allowance,
			 bool *too_big);
/* What the last dgfsd_json_parse() on this thread allocated (the fuzzer's
 * check of dgfsd_json_cost()). */
size_t dgfsd_json_parse_used(void);
/* A body that must be a JSON object, parsed within its allowance: the
 * object, or NULL (a 400 is due). */
json_t *dgfsd_body_object(const void *body, size_t len);
/* An optional string member: 0 with *out (NULL if absent), -1 if not a string. */
int dgfsd_json_opt_string(json_t *j, const char *name, const char **out);

#endif /* DGFSD_BODIES_H */
