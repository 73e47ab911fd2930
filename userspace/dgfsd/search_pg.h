/* SPDX-License-Identifier: GPL-2.0 */
/*
 * search_run() and search_apply() on PostgreSQL (search_pg.c): search.c
 * checks the arguments and comes here when meta_has_pg(). Same answers
 * as on SQLite, but the scores: ts_rank stands in for bm25
 * (docs/CLUSTER.md, "Tags and search on PostgreSQL").
 */
#ifndef DGFSD_SEARCH_PG_H
#define DGFSD_SEARCH_PG_H

#include "dgfsd/search.h"

int search_pg_run(struct meta *m, const struct query *q, const struct search_page *pg,
		  json_t *files, char *next, size_t next_size, bool *more);
int search_pg_apply(struct meta *m, const struct query *q, const char *prefix,
		    const struct tag *add, size_t nadd, const struct tag *remove,
		    size_t nremove, uint64_t *files);

#endif /* DGFSD_SEARCH_PG_H */
