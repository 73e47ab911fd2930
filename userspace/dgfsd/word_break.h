/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The words of a UTF-8 text by ICU's word breaking: the root locale's
 * rules and CJK dictionaries (as dgfs-tagger's words.c), spaces and
 * punctuation left out. search_segment() (search.c) joins them into the
 * words SQLite's FTS5 gets; fts_words() cuts them into PostgreSQL's
 * lexemes.
 */
#ifndef DGFSD_WORD_BREAK_H
#define DGFSD_WORD_BREAK_H

#include <stdint.h>

#include <unicode/utypes.h>

/*
 * Calls @cb with each word of @len bytes of UTF-8 at @s (-1: up to its
 * NUL), in order, as @n UTF-16 units at @w: 0, @cb's non-zero return,
 * -EINVAL (not UTF-8) or -ENOMEM.
 */
int word_break(const char *s, int32_t len, int (*cb)(const UChar *w, int32_t n, void *arg),
	       void *arg);

#endif /* DGFSD_WORD_BREAK_H */
