/* SPDX-License-Identifier: GPL-2.0 */
/* The tag routes (tags_api.c), behind http.c's routing table. */
#ifndef DGFSD_TAGS_API_H
#define DGFSD_TAGS_API_H

#include "http.h"

/* GET and POST /files/{path}?tags (files.c hands them over) */
enum MHD_Result tags_api_get(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
enum MHD_Result tags_api_post(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
/* GET and POST /tags/implies */
/* GET /tags?prefix=P[&limit=N]: tags starting with P, most used first. */
enum MHD_Result tags_api_list(struct dgfsd *d, struct MHD_Connection *c, struct request *r);
enum MHD_Result tags_api_implies_list(struct dgfsd *d, struct MHD_Connection *c,
				      struct request *r);
enum MHD_Result tags_api_implies_post(struct dgfsd *d, struct MHD_Connection *c,
				      struct request *r);

#endif /* DGFSD_TAGS_API_H */
