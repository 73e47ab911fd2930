/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tag storage on PostgreSQL (meta_tags_pg.c): meta_tags.h's calls, which
 * check their arguments and then come here when meta_has_pg(). Same
 * meaning and errors as on SQLite (meta_tags.c); the schema is
 * meta/pg_schema.c's version 4.
 */
#ifndef DGFSD_META_TAGS_PG_H
#define DGFSD_META_TAGS_PG_H

#include "dgfsd/meta_tags.h"

/* Keyword choice, shared by both backends (meta_tags.c): a term and its tf * idf. */
struct mt_scored {
	char term[META_TERM_MAX + 1];
	double score;
};
/* Highest score first, then the term's bytes: the same order on both backends. */
int mt_scored_cmp(const void *a, const void *b);
/* tf * (ln((1 + N) / (1 + df)) + 1) */
double mt_tfidf(double tf, double df, double docs);

int meta_tags_pg_get(struct meta *m, const char *path, struct meta_tag_list *out);
int meta_tags_pg_user_change(struct meta *m, const char *path, const struct tag *add,
			     size_t nadd, const struct tag *rm, size_t nrm);
int meta_tags_pg_auto_set(struct meta *m, int64_t file_id, const char *etag,
			  const struct meta_auto_tags *a, struct meta_tag_list *kw);
int meta_keywords_pg_refresh(struct meta *m, unsigned int max, unsigned int *done);
int meta_tag_pg_imply(struct meta *m, const struct tag *a, const struct tag *b, bool add);
int meta_tag_pg_implies_list(struct meta *m,
			     int (*cb)(const struct tag *a, const struct tag *b, void *arg),
			     void *arg);
int meta_tags_pg_starting(struct meta *m, const char *start, const char *path_prefix,
			  unsigned int limit,
			  int (*cb)(const struct tag *t, int64_t files, void *arg), void *arg);
int meta_tag_pg_job_next(struct meta *m, const int64_t *busy, size_t nbusy,
			 struct meta_tag_job *j);
int meta_tag_pg_job_done(struct meta *m, const struct meta_tag_job *j);
int meta_tag_pg_job_release(struct meta *m, const struct meta_tag_job *j);
int meta_tag_pg_job_stats(struct meta *m, uint64_t *pending, int64_t *oldest);

#endif /* DGFSD_META_TAGS_PG_H */
