/* SPDX-License-Identifier: GPL-2.0 */
/* The tag routes (tags_api.c), behind http.c's routing table. */
#ifndef DGFSD_TAGS_API_H
#define DGFSD_TAGS_API_H

#include <jansson.h>

#include "http.h"
#include "tags/tag.h"

/* GET and POST /files/{path}?tags (files.c hands them over) */
enum MHD_Result tags_api_get(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
enum MHD_Result tags_api_post(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
/* GET /tags?prefix=P[&limit=N]: tags starting with P, most used first. */
enum MHD_Result tags_api_list(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
/* GET and POST /tags/implies */
enum MHD_Result tags_api_implies_list(struct dgfsd *d, struct MHD_Connection *c,
				      struct request *r);
enum MHD_Result tags_api_implies_post(struct dgfsd *d, struct MHD_Connection *c,
				      struct request *r);

/* "add" and "remove" of a tag change (a file's, or a search's results'). */
#define TAGS_PER_REQUEST	256
/*
 * @arr (absent, or an array of at most TAGS_PER_REQUEST tag strings) into
 * @out (room for TAGS_PER_REQUEST): NULL, or why not (the bad tag in @bad).
 */
const char *parse_tag_array(json_t *arr, struct tag *out, size_t *n, const char **bad);

#endif /* DGFSD_TAGS_API_H */
