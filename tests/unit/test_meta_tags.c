// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of tag storage (userspace/dgfsd/meta_tags.c) on a real
 * SQLite database: user adds and removes, auto tags replaced on
 * re-tagging except those the user removed, a user tag that auto tagging
 * also finds stays user, implications (transitive, read-time, cycles
 * refused), a replaced file keeping its user tags, a stale version's
 * results refused, deletes dropping tags and term_df, TF-IDF keywords
 * against a corpus whose expected ranking is worked out by hand below,
 * and the job queue (queued by a put, re-queued by a newer put, busy
 * files skipped).
 */

/* expect-checks: 35 (tests/run-all.sh: a run that prints fewer fails) */

#include "meta_sources.h"
#include "dgfsd/meta_tags.c"
#include "dgfsd/meta_tags_pg.c"
#include "dgfsd/fts_words.c"
#include "dgfsd/word_break.c"
#include "tags/tag.c"

#include <unistd.h>

#include "check.h"

static struct meta *m;

static void put(const char *path, const char *etag)
{
	struct meta_file f = { .size = 0, .mtime = 1, .nchunks = 0 };

	snprintf(f.path, sizeof(f.path), "%s", path);
	snprintf(f.etag, sizeof(f.etag), "%s", etag);
	snprintf(f.content_type, sizeof(f.content_type), "text/plain");
	if (meta_file_put(m, &f, NULL, NULL))
		printf("FAIL: put %s\n", path), failures++;
}

static int64_t fid(const char *path)
{
	int64_t id = -1;

	meta_lock(m);
	meta_file_id(to_sqlite(m), path, strlen(path), &id);
	meta_unlock(m);
	return id;
}

static struct tag T(const char *s)
{
	struct tag t;

	if (tag_parse(s, strlen(s), &t, NULL))
		memset(&t, 0, sizeof(t));
	return t;
}

/* The file's tags as "name[=value]:source" joined by spaces. */
static const char *tags_of(const char *path)
{
	static char buf[4096];
	static const char src[] = "aui";
	struct meta_tag_list l = { 0 };
	size_t i, off = 0;
	char t[TAG_STR_MAX + 1];

	buf[0] = 0;
	if (meta_tags_get(m, path, &l))
		return "(error)";
	for (i = 0; i < l.n; i++) {
		tag_format(&l.v[i].tag, t, sizeof(t));
		off += snprintf(buf + off, sizeof(buf) - off, "%s%s:%c", i ? " " : "", t,
				src[l.v[i].source]);
	}
	meta_tag_list_free(&l);
	return buf;
}

static int64_t one(const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	if (sqlite3_prepare_v2(to_sqlite(m)->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int autotag(const char *path, const char *etag, const char *const *tags, size_t n,
		   const struct meta_term *terms, size_t nterms, unsigned int k,
		   struct meta_tag_list *kw)
{
	struct tag t[16];
	struct meta_auto_tags a = { .tags = t, .ntags = n, .terms = terms, .nterms = nterms,
				    .text = "some text", .text_len = 9, .keywords = k };
	size_t i;

	for (i = 0; i < n; i++)
		t[i] = T(tags[i]);
	return meta_tags_auto_set(m, fid(path), etag, &a, kw);
}

#define SAME(name, got, want) do {						\
	const char *g_ = (got);							\
	if (strcmp(g_, want))							\
		printf("  got  \"%s\"\n  want \"%s\"\n", g_, want);		\
	CHECK(name, !strcmp(g_, want));						\
} while (0)

int main(void)
{
	char dir[] = "/tmp/test_meta_tags.XXXXXX", path[128];
	static const char *const auto1[] = { "type=text", "mime=text/plain", "draft" };
	static const char *const auto2[] = { "type=text", "lang=en", "draft" };
	struct meta_tag_list kw = { 0 };
	struct tag add[2], rm[2];
	struct meta_tag_job j;
	uint64_t pending;
	int64_t oldest, busy[1];
	unsigned int done;
	int i;

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/meta.db", dir);
	if (meta_open(path, &m))
		return 1;

	put("a", "e1");
	CHECK("a new file has no tags", !strcmp(tags_of("a"), ""));
	CHECK("tags of a missing file: -ENOENT",
	      meta_tags_get(m, "nope", &kw) == -ENOENT);
	CHECK("a put queues a tag job", one("SELECT count(*) FROM tag_jobs") == 1);

	add[0] = T("Cat");
	add[1] = T("year=2020");
	CHECK("user add", !meta_tags_user_change(m, "a", add, 2, NULL, 0));
	SAME("user tags read back, normalised", tags_of("a"), "cat:u year=2020:u");
	CHECK("user add on a missing file: -ENOENT",
	      meta_tags_user_change(m, "nope", add, 1, NULL, 0) == -ENOENT);
	CHECK("a tag both added and removed: -EINVAL, nothing changed",
	      meta_tags_user_change(m, "a", add, 1, add, 1) == -EINVAL &&
	      !strcmp(tags_of("a"), "cat:u year=2020:u"));

	CHECK("auto tags stored", !autotag("a", "e1", auto1, 3, NULL, 0, 0, NULL));
	SAME("auto and user tags together", tags_of("a"),
	     "cat:u draft:a mime=text/plain:a type=text:a year=2020:u");
	rm[0] = T("draft");
	CHECK("user removes an auto tag", !meta_tags_user_change(m, "a", NULL, 0, rm, 1));
	CHECK("re-tagging replaces auto tags, the removed one stays removed",
	      !autotag("a", "e1", auto2, 3, NULL, 0, 0, NULL));
	SAME("... tags after re-tagging", tags_of("a"),
	     "cat:u lang=en:a type=text:a year=2020:u");
	add[0] = T("lang=en");
	CHECK("user adds a tag the file has as auto",
	      !meta_tags_user_change(m, "a", add, 1, NULL, 0));
	autotag("a", "e1", auto1, 3, NULL, 0, 0, NULL);
	SAME("... it stays user when auto tagging runs without it", tags_of("a"),
	     "cat:u lang=en:u mime=text/plain:a type=text:a year=2020:u");
	add[0] = T("draft");
	meta_tags_user_change(m, "a", add, 1, NULL, 0);
	rm[0] = T("draft");
	meta_tags_user_change(m, "a", NULL, 0, rm, 1);
	CHECK("removing a user tag remembers it too",
	      one("SELECT count(*) FROM file_tags_removed") == 1);

	put("a", "e2");
	SAME("a replaced file keeps its user tags (and old auto ones until tagged)",
	     tags_of("a"), "cat:u lang=en:u mime=text/plain:a type=text:a year=2020:u");
	CHECK("results for the old version are refused (-ESTALE)",
	      autotag("a", "e1", auto2, 3, NULL, 0, 0, NULL) == -ESTALE &&
	      !strcmp(tags_of("a"), "cat:u lang=en:u mime=text/plain:a type=text:a year=2020:u"));

	/* Implications. */
	CHECK("cat implies animal", !meta_tag_imply(m, &(struct tag){ "cat", "" },
						    &(struct tag){ "animal", "" }, true));
	CHECK("animal implies living", !meta_tag_imply(m, &(struct tag){ "animal", "" },
						       &(struct tag){ "living", "" }, true));
	SAME("implied tags appear, transitively", tags_of("a"),
	     "animal:i cat:u lang=en:u living:i mime=text/plain:a type=text:a year=2020:u");
	CHECK("a cycle is refused (-ELOOP)",
	      meta_tag_imply(m, &(struct tag){ "living", "" }, &(struct tag){ "cat", "" }, true) ==
	      -ELOOP && one("SELECT count(*) FROM tag_implies") == 2);
	CHECK("a tag implying itself is refused",
	      meta_tag_imply(m, &(struct tag){ "cat", "" }, &(struct tag){ "cat", "" }, true) ==
	      -ELOOP);
	CHECK("removing an implication",
	      !meta_tag_imply(m, &(struct tag){ "animal", "" }, &(struct tag){ "living", "" },
			      false) && !strstr(tags_of("a"), "living"));
	CHECK("removing one that is not there: -ENOENT",
	      meta_tag_imply(m, &(struct tag){ "animal", "" }, &(struct tag){ "living", "" },
			     false) == -ENOENT);

	/*
	 * Keywords. Three files: b has apple x3, pear x1, plum x2; c has
	 * apple x1; d has apple x1, pear x1. N = 3; df: apple 3, pear 2,
	 * plum 1. idf = ln(4 / (1 + df)) + 1: apple 1, pear 1.2877, plum
	 * 1.6931. Scores for b: apple 3, pear 1.288, plum 3.386: top 2 are
	 * plum, apple.
	 */
	put("b", "b1");
	put("c", "c1");
	put("d", "d1");
	autotag("c", "c1", NULL, 0, (struct meta_term[]){ { "apple", 1 } }, 1, 0, NULL);
	autotag("d", "d1", NULL, 0, (struct meta_term[]){ { "apple", 1 }, { "pear", 1 } }, 2, 0,
		NULL);
	CHECK("keywords chosen",
	      !autotag("b", "b1", NULL, 0, (struct meta_term[]){ { "apple", 3 }, { "pear", 1 },
			{ "plum", 2 } }, 3, 2, &kw) && kw.n == 2);
	SAME("keywords: the top 2 by tf-idf are bare auto tags", tags_of("b"), "apple:a plum:a");
	CHECK("term_df counts documents",
	      one("SELECT df FROM term_df WHERE term = 'apple'") == 3 &&
	      one("SELECT df FROM term_df WHERE term = ''") == 3);
	CHECK("file_text holds each tagged file's text (a, b, c, d)",
	      one("SELECT count(*) FROM file_text WHERE file_text MATCH 'text'") == 4);
	meta_file_delete(m, "d", NULL);
	CHECK("deleting a file drops its terms from term_df",
	      one("SELECT df FROM term_df WHERE term = 'apple'") == 2 &&
	      one("SELECT df FROM term_df WHERE term = 'pear'") == 1 &&
	      one("SELECT df FROM term_df WHERE term = ''") == 2 &&
	      one("SELECT count(*) FROM file_text WHERE file_text MATCH 'text'") == 3);
	meta_file_delete(m, "a", NULL);
	CHECK("deleting a file drops its tags and removed-tag memory",
	      one("SELECT count(*) FROM file_tags WHERE file_id NOT IN (SELECT id FROM files)") == 0 &&
	      one("SELECT count(*) FROM file_tags_removed") == 0);

	/* The queue: b, c, d were queued after a; a and d are gone. */
	CHECK("job stats", !meta_tag_job_stats(m, &pending, &oldest) && pending == 2 && oldest > 0);
	CHECK("the oldest job first", !meta_tag_job_next(m, NULL, 0, &j) && !strcmp(j.path, "b") &&
	      !strcmp(j.etag, "b1") && j.attempts == 0);
	busy[0] = j.file_id;
	CHECK("a busy file is skipped", !meta_tag_job_next(m, busy, 1, &j) && !strcmp(j.path, "c"));
	CHECK("job done removes it", !meta_tag_job_done(m, &j) &&
	      !meta_tag_job_stats(m, &pending, &oldest) && pending == 1);
	put("b", "b2");
	CHECK("a job whose file was uploaded again stays queued",
	      !meta_tag_job_next(m, NULL, 0, &j) && !strcmp(j.etag, "b2") &&
	      (j.queued = 0, !meta_tag_job_done(m, &j)) &&
	      !meta_tag_job_stats(m, &pending, &oldest) && pending == 1);

	/*
	 * Keywords follow the corpus. Now N = 2 (b, c); b's keywords (apple,
	 * plum) were chosen at N = 3: not due. Six more files make N = 8,
	 * more than twice 3: b's are chosen again (k = 5 now: apple, pear,
	 * plum), less plum, which the user removed meanwhile.
	 */
	sqlite3_exec(to_sqlite(m)->db, "DELETE FROM tag_jobs", NULL, NULL, NULL);
	CHECK("keywords: none due while N is not half or twice what it was",
	      !meta_keywords_refresh(m, 64, &done) && done == 0);
	{
		struct tag rm = T("plum");

		CHECK("keywords: the user removes plum", !meta_tags_user_change(m, "b", NULL, 0, &rm, 1));
	}
	for (i = 0; i < 6; i++) {
		char name[8];

		snprintf(name, sizeof(name), "e%d", i);
		put(name, "e");
		autotag(name, "e", NULL, 0, (struct meta_term[]){ { "apple", 1 }, { "plum", 1 } }, 2,
			0, NULL);
	}
	sqlite3_exec(to_sqlite(m)->db, "DELETE FROM tag_jobs", NULL, NULL, NULL);
	CHECK("keywords: N doubled, b's are chosen again (one file due)",
	      !meta_keywords_refresh(m, 64, &done) && done == 1);
	SAME("keywords: b's now, without the removed plum", tags_of("b"), "apple:a pear:a");
	CHECK("keywords: chosen at N = 8 now",
	      one("SELECT docs FROM file_keywords JOIN files ON files.id = file_id "
		  "WHERE path = CAST('b' AS BLOB)") == 8);
	CHECK("keywords: not due again", !meta_keywords_refresh(m, 64, &done) && done == 0);

	meta_tag_list_free(&kw);
	meta_close(m);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	return system(path) || failures ? 1 : 0;
}
