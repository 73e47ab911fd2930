/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tag model (docs/TAGS.md, "Tags"): a tag is "name" or "name=value"
 * (TMSU's form). Pure code, no I/O: dgfsd, the search parser and the
 * client share it so that a tag is spelled the same everywhere.
 *
 * Normalisation, in this order:
 *   - the input must be valid UTF-8 of at most TAG_INPUT_MAX bytes;
 *   - split at the first '=' (a name never holds one; a value may);
 *   - leading and trailing white space (Unicode White_Space) is trimmed
 *     from the name and from the value;
 *   - both are put in NFC; the name is also case-folded (default full
 *     case folding) and put in NFC again, since folding can undo NFC;
 *   - control characters (Cc) and line/paragraph separators are refused
 *     anywhere; a name also refuses white space and the characters the
 *     search language uses as operators: = < > ! ( ) " * , and a leading -;
 *   - a name is 1..TAG_NAME_MAX bytes and a value 1..TAG_VALUE_MAX bytes
 *     of UTF-8 after normalisation ("name=" with an empty value is refused:
 *     a bare tag is written without the '=').
 * The canonical string is then "name" or "name=value".
 */
#ifndef DGFS_TAGS_TAG_H
#define DGFS_TAGS_TAG_H

#include <stdbool.h>
#include <stddef.h>

#define TAG_NAME_MAX	128		/* bytes of UTF-8, normalised */
#define TAG_VALUE_MAX	256
#define TAG_STR_MAX	(TAG_NAME_MAX + 1 + TAG_VALUE_MAX)	/* canonical form */
#define TAG_INPUT_MAX	4096		/* longest input looked at, before trimming */

struct tag {
	char name[TAG_NAME_MAX + 1];
	char value[TAG_VALUE_MAX + 1];	/* "" for a bare tag */
};

/*
 * Parses "name" or "name=value" (@len bytes, need not be NUL-terminated)
 * into @t, normalised. 0, or -EINVAL with a short English reason in *why
 * (static storage; @why may be NULL); -ENOMEM if ICU ran out of memory.
 */
int tag_parse(const char *s, size_t len, struct tag *t, const char **why);

/*
 * The same from the parts apart (the tagger's JSON gives them so):
 * @value NULL or "" for a bare tag. A '=' in @name is refused.
 */
int tag_make(const char *name, const char *value, struct tag *t, const char **why);

/*
 * Normalises one part on its own (the search parser's names and values):
 * into @out (@size bytes, at least TAG_NAME_MAX + 1 or TAG_VALUE_MAX + 1).
 */
int tag_norm_name(const char *s, size_t len, char *out, size_t size, const char **why);
int tag_norm_value(const char *s, size_t len, char *out, size_t size, const char **why);

/* "name" or "name=value" into @buf (TAG_STR_MAX + 1 bytes suffice): its length, or -ENOSPC. */
int tag_format(const struct tag *t, char *buf, size_t size);

static inline bool tag_is_bare(const struct tag *t)
{
	return !t->value[0];
}

#endif /* DGFS_TAGS_TAG_H */
