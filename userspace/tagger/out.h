/* SPDX-License-Identifier: GPL-2.0 */
/* What the extractors found (tagger.h's tagger_out), and its JSON. */
#ifndef DGFS_TAGGER_OUT_H
#define DGFS_TAGGER_OUT_H

#include <stdio.h>
#include "tagger.h"
#include "words.h"

#define TAGGER_MAX_TAGS		256	/* tags kept; later ones are dropped */
#define TAGGER_MAX_TAG_BYTES	256	/* of a name or value; longer is cut */
#define TAGGER_MAX_TERMS	2000	/* most frequent terms printed */

/* words: made by words_new() before the seccomp filter; o owns it. */
struct tagger_out *tagger_out_new(size_t max_text, struct words *words);
void tagger_out_free(struct tagger_out *o);
/* Decides the language, adds lang=, prints the one JSON object. 0 or -errno. */
int tagger_out_print(struct tagger_out *o, FILE *f);

/* UTF-8 of s[0..len) with invalid sequences as U+FFFD and controls as spaces,
 * at most max bytes (cut at a character's start). NULL if out of memory. */
char *utf8_clean(const char *s, size_t len, size_t max);

#endif /* DGFS_TAGGER_OUT_H */
