// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: what dgfsd reads about tags from the outside, all of
 * it hostile: tag strings (userspace/tags/tag.c, from API requests),
 * dgfs-tagger's JSON and a plugin's lines (userspace/dgfsd/tags_parse.c).
 *
 * The input is used three ways. Checked besides the sanitizers: a tag
 * accepted is normalised for good (its canonical form parses back to the
 * same tag: normalisation is idempotent) and within the length limits;
 * every tag taken from the tagger's JSON or a plugin's lines is such a
 * tag too; the counts stay under their bounds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgfsd/tags_parse.h"
#include "tags/tag.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_tags: %s:%d: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

static void stable(const struct tag *t)
{
	char s[TAG_STR_MAX + 1];
	struct tag again;
	int len;

	CHECK(strlen(t->name) >= 1 && strlen(t->name) <= TAG_NAME_MAX);
	CHECK(strlen(t->value) <= TAG_VALUE_MAX);
	len = tag_format(t, s, sizeof(s));
	CHECK(len > 0);
	CHECK(!tag_parse(s, (size_t)len, &again, NULL));
	CHECK(!strcmp(again.name, t->name) && !strcmp(again.value, t->value));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tagger_output o;
	struct tag t, *tags = NULL;
	unsigned int skipped = 0;
	const char *why;
	size_t n = 0, i;

	if (!tag_parse((const char *)data, size, &t, &why))
		stable(&t);
	else
		CHECK(why && *why);

	if (!tagger_output_parse((const char *)data, size, &o, &why)) {
		CHECK(o.ntags <= META_TAGS_AUTO_MAX && o.nterms <= META_TERMS_MAX);
		CHECK(o.text_len <= META_TEXT_MAX);
		for (i = 0; i < o.ntags; i++)
			stable(&o.tags[i]);
		for (i = 0; i < o.nterms; i++)
			CHECK(strlen(o.terms[i].term) && o.terms[i].count > 0);
		tagger_output_free(&o);
	}

	CHECK(!plugin_output_parse((const char *)data, size, &tags, &n, &skipped));
	CHECK(n <= TAGS_PLUGIN_MAX);
	for (i = 0; i < n; i++)
		stable(&tags[i]);
	free(tags);
	return 0;
}
