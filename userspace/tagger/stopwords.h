/* SPDX-License-Identifier: GPL-2.0 */
/* Stop words by language (generated into the build directory). */
#ifndef DGFS_TAGGER_STOPWORDS_H
#define DGFS_TAGGER_STOPWORDS_H

#include <stddef.h>

struct stopword_list {
	const char *lang;		/* ISO 639-1 */
	const char *const *words;	/* lower case UTF-8, strcmp order */
	size_t count;
};

extern const struct stopword_list stopword_lists[];
extern const size_t stopword_list_count;

#endif /* DGFS_TAGGER_STOPWORDS_H */
