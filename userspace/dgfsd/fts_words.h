/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The words of a text as PostgreSQL's full-text search gets them
 * (docs/CLUSTER.md, "Tags and search on PostgreSQL"). PostgreSQL's own
 * parser does not segment CJK, so dgfsd cuts words itself, with ICU's
 * word breaking (the root locale's rules and CJK dictionaries, as
 * search_segment() and dgfs-tagger), and then does what SQLite's FTS5
 * unicode61 tokenizer does to the words it is given: a word is cut again
 * at anything that is not a letter, number, mark or private-use
 * character ("don't" is "don" and "t"), lower-cased, and Latin letters
 * lose their diacritics ("Café" is "cafe"). The lexemes then go into a
 * tsvector (the 'simple' way: no stemming, no stop words) or a tsquery
 * as literals dgfsd writes, so PostgreSQL never parses the text itself.
 */
#ifndef DGFSD_FTS_WORDS_H
#define DGFSD_FTS_WORDS_H

#include <stddef.h>

/* Longer lexemes are left out, of texts and queries alike. */
#define FTS_LEXEME_MAX		255
/* A tsvector literal stops growing here: PostgreSQL's tsvector holds at most 1 MiB. */
#define FTS_TSVECTOR_MAX	(768u << 10)
/* tsvector positions go up to this (PostgreSQL's bound). */
#define FTS_POS_MAX		16383

/*
 * Calls @cb with each lexeme of @len bytes of UTF-8 at @s, in order: 0,
 * @cb's non-zero return, -EINVAL (not UTF-8) or -ENOMEM.
 */
int fts_words(const char *s, size_t len, int (*cb)(const char *w, size_t n, void *arg),
	      void *arg);

/*
 * A tsvector literal of @s's lexemes with their positions (1, 2, ...;
 * FTS_POS_MAX for all past it), at most FTS_TSVECTOR_MAX bytes: malloc'd
 * into *out ("" when @s has no word). 0, -EINVAL or -ENOMEM.
 */
int fts_tsvector(const char *s, size_t len, char **out);

/*
 * A tsquery literal matching @s's lexemes as a phrase (each right after
 * the one before: <->), malloc'd into *out; *out NULL when @s has no
 * word (no text can match it). 0, -EINVAL or -ENOMEM.
 */
int fts_tsquery_phrase(const char *s, char **out);

#endif /* DGFSD_FTS_WORDS_H */
