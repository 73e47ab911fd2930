/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What dgfsd reads from its taggers (hostile: they parse hostile files):
 * dgfs-tagger's JSON object (docs/TAGS.md) and a plugin's lines. Whatever
 * is malformed is skipped and counted, never trusted; sizes are bounded.
 */
#ifndef DGFSD_TAGS_PARSE_H
#define DGFSD_TAGS_PARSE_H

#include <stddef.h>

#include <jansson.h>

#include "dgfsd/meta_tags.h"

#define TAGS_PLUGIN_MAX		64	/* tags kept from one plugin */

struct tagger_output {
	struct tag *tags;
	size_t ntags;
	struct meta_term *terms;	/* point into root */
	size_t nterms;
	const char *text;		/* into root; NULL if none */
	size_t text_len;
	unsigned int skipped;		/* entries refused */
	json_t *root;
};

/*
 * Parses dgfs-tagger's stdout: 0, or -EINVAL (not one JSON object; *why
 * says why) or -ENOMEM. Bad entries inside a good object are skipped.
 * A "lang" string makes a lang= tag if the tags lack one.
 */
int tagger_output_parse(const char *buf, size_t len, struct tagger_output *o, const char **why);
void tagger_output_free(struct tagger_output *o);

/*
 * A plugin's stdout: one tag a line (blank lines ignored), at most
 * TAGS_PLUGIN_MAX kept, appended to @tags (growing it). Lines that are not
 * tags are counted in *skipped. 0 or -ENOMEM.
 */
int plugin_output_parse(const char *buf, size_t len, struct tag **tags, size_t *n,
			unsigned int *skipped);

#endif /* DGFSD_TAGS_PARSE_H */
