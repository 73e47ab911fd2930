/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Words of a text: ICU word breaking (dictionary based for Chinese and
 * Japanese), a count of each lower-cased word, a language guess, then stop
 * words dropped and Snowball stems (libstemmer) counted as terms.
 */
#ifndef DGFS_TAGGER_WORDS_H
#define DGFS_TAGGER_WORDS_H

#include <stddef.h>
#include <stdint.h>
#include <unicode/utypes.h>

#define WORDS_MAX_DISTINCT	(1u << 18)	/* words counted; later new ones are not */
#define WORDS_MAX_LEN		64		/* bytes of one word (UTF-8); longer is no word */

enum word_kind { WORD_NUMBER, WORD_LETTERS };

struct words;

/* Opens ICU's word break iterator (loads its data): before the seccomp filter. */
struct words *words_new(void);
void words_free(struct words *w);

/*
 * Calls emit for each word of text[0..len) (punctuation and spaces are
 * not words) with its kind; stops early when emit returns non-zero.
 * Returns 0 or -errno.
 */
typedef int (*word_emit_fn)(void *ctx, const UChar *word, int32_t len, enum word_kind kind);
int words_segment(struct words *w, const UChar *text, int32_t len, word_emit_fn emit, void *ctx);

/* Counts one word (lower-cased first); 0 or -errno. */
int words_count(struct words *w, const UChar *word, int32_t len);

/* The language of the words counted so far (ISO 639-1), or NULL. */
const char *words_guess_lang(const struct words *w);

/*
 * Calls emit(ctx, term, count) for the max_terms most frequent terms of
 * the counted words in language lang (NULL: none known): stop words
 * dropped, stemmed where libstemmer has the language. 0 or -errno.
 */
typedef int (*term_emit_fn)(void *ctx, const char *term, uint64_t count);
int words_terms(struct words *w, const char *lang, size_t max_terms, term_emit_fn emit, void *ctx);

/* Whether word (lower case UTF-8) is a stop word of lang. */
int words_is_stop(const char *lang, const char *word);

#endif /* DGFS_TAGGER_WORDS_H */
