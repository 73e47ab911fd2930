/* SPDX-License-Identifier: GPL-2.0 */
/* Between the text extractors: text.c (plain, HTML) and markdown.c. */
#ifndef DGFS_TAGGER_TEXT_H
#define DGFS_TAGGER_TEXT_H

#include <stdbool.h>
#include <unicode/utypes.h>

#include "tagger.h"

/* Where over 5% of u[0..n) is control or undecodable: the first such index, else -1. */
int32_t text_binary_from(const UChar *u, int32_t n);

/* Markdown by MIME type, or plain text named .md, .markdown, ... */
bool text_is_markdown(const struct tagger_input *in);
/* Its words without link targets: 0, -errno, or -EAGAIN (read it as plain text). */
int tag_markdown(const struct tagger_input *in, struct tagger_out *o);

#endif /* DGFS_TAGGER_TEXT_H */
