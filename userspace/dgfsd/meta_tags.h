/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tags in dgfsd's metadata (schema version 4, meta.c; docs/TAGS.md).
 *
 * A file's tag is auto (dgfs-tagger, plugins, TF-IDF keywords) or user.
 * Tagging a file again replaces its auto tags, except those the user
 * removed (file_tags_removed), and never touches user tags. A user adding
 * a tag the file has as auto makes it user; removing any tag remembers it
 * as removed, adding it again forgets that.
 *
 * Implications (`cat` implies `animal`) are applied when read, not
 * stored on files: a file has the tags it was given plus everything they
 * imply, transitively. So adding or removing an implication changes every
 * file at once, and removing `cat` from a file takes `animal` with it
 * unless something else implies it. An implication that would close a
 * cycle is refused.
 *
 * A file keeps its row id when a new upload replaces it (meta.c's upsert),
 * so its user tags, removed-tag memory and implications survive the
 * replace; its auto tags stay until the new version has been tagged.
 * Deleting a file cascades to its tags, terms (and so term_df), text and
 * pending job.
 */
#ifndef DGFSD_META_TAGS_H
#define DGFSD_META_TAGS_H

#include <stddef.h>
#include <stdint.h>

#include "dgfsd/meta.h"
#include "tags/tag.h"

enum meta_tag_source {
	META_TAG_AUTO = 0,
	META_TAG_USER = 1,
	META_TAG_IMPLIED = 2,		/* read only: from an implication */
};

#define META_TAGS_USER_MAX	1024	/* user tags on one file */
#define META_TAGS_AUTO_MAX	512	/* auto tags on one file */
#define META_TERMS_MAX		20000	/* terms kept of one file */
#define META_TERM_MAX		64	/* bytes of one term */
#define META_TEXT_MAX		(4u << 20)
#define META_KEYWORDS		5	/* keyword tags a file gets (k) */

struct meta_file_tag {
	struct tag tag;
	enum meta_tag_source source;
};

struct meta_tag_list {
	struct meta_file_tag *v;
	size_t n, cap;
};

void meta_tag_list_free(struct meta_tag_list *l);
int meta_tag_list_add(struct meta_tag_list *l, const struct tag *t, enum meta_tag_source src);

/* @path's tags (implied ones too), sorted by name then value: 0 or -ENOENT. */
int meta_tags_get(struct meta *m, const char *path, struct meta_tag_list *out);

/*
 * A user's change to @path's tags, in one transaction: 0, -ENOENT (no
 * such file), -E2BIG (more than META_TAGS_USER_MAX user tags), -EINVAL
 * (a tag both added and removed).
 */
int meta_tags_user_change(struct meta *m, const char *path, const struct tag *add, size_t nadd,
			  const struct tag *rm, size_t nrm);

/* What tagging one version of a file found. */
struct meta_term {
	const char *term;		/* UTF-8, 1..META_TERM_MAX bytes */
	int64_t count;			/* > 0 */
};

struct meta_auto_tags {
	const struct tag *tags;
	size_t ntags;
	const struct meta_term *terms;
	size_t nterms;
	const char *text;		/* may be NULL */
	size_t text_len;
	unsigned int keywords;		/* top-k terms made keyword tags */
};

/*
 * Stores @a as file @file_id's auto tags, terms and text, if the file is
 * still the version @etag names (else -ESTALE, nothing changed), then
 * chooses its keyword tags by TF-IDF (docs/TAGS.md). The keywords chosen
 * go to @kw (may be NULL).
 */
int meta_tags_auto_set(struct meta *m, int64_t file_id, const char *etag,
		       const struct meta_auto_tags *a, struct meta_tag_list *kw);

/*
 * Keyword tags follow the corpus: the files whose keywords were chosen when
 * N (files with terms) was at most half or at least twice what it is now
 * get them chosen again, from their stored terms, at most @max
 * (<= META_KEYWORDS_REFRESH_MAX) in one transaction. @done: how many.
 */
#define META_KEYWORDS_REFRESH_MAX	64
int meta_keywords_refresh(struct meta *m, unsigned int max, unsigned int *done);

/* Adds (@add) or removes "@a implies @b": 0, -ELOOP (a cycle), -EINVAL (a == b), -ENOENT. */
int meta_tag_imply(struct meta *m, const struct tag *a, const struct tag *b, bool add);
/* Every implication, @cb's non-zero stops the walk. */
int meta_tag_implies_list(struct meta *m,
			  int (*cb)(const struct tag *a, const struct tag *b, void *arg),
			  void *arg);

/*
 * The tags whose canonical form ("name" or "name=value") starts with
 * @start, on files under @path_prefix ("" for all), most used first, at
 * most @limit: @cb gets each with its file count (implied tags are not
 * counted: they are not stored). For completion as a user types.
 */
int meta_tags_starting(struct meta *m, const char *start, const char *path_prefix,
		       unsigned int limit,
		       int (*cb)(const struct tag *t, int64_t files, void *arg), void *arg);

/* ---- the auto-tagging queue (tag_jobs) ---- */

struct meta_tag_job {
	int64_t file_id;
	int64_t queued;			/* ms since the epoch */
	int attempts;			/* before this one */
	char path[META_PATH_MAX + 1];
	char etag[META_ETAG_LEN + 1];
	uint64_t size;
};

#define META_TAG_JOB_ATTEMPTS	3	/* a job that took dgfsd down this often is dropped */

/*
 * The oldest pending job whose file is not in @busy (@nbusy ids), marked
 * as attempted once more: 0, or -ENOENT when there is none.
 */
int meta_tag_job_next(struct meta *m, const int64_t *busy, size_t nbusy, struct meta_tag_job *j);
/* The job is done: its row goes, unless a newer upload queued it again. */
int meta_tag_job_done(struct meta *m, const struct meta_tag_job *j);
/*
 * The worker is through with the job, done or not: other hosts may take
 * it again (PostgreSQL: its claim is let go; SQLite: one host, nothing).
 */
int meta_tag_job_release(struct meta *m, const struct meta_tag_job *j);
/* Pending jobs and the oldest one's queue time (0 if none). */
int meta_tag_job_stats(struct meta *m, uint64_t *pending, int64_t *oldest);

#endif /* DGFSD_META_TAGS_H */
