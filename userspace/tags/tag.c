// SPDX-License-Identifier: GPL-2.0
/*
 * Tag parsing and normalisation (tag.h) with ICU: UTF-8 is converted to
 * UTF-16 strictly (an ill-formed sequence is an error, not U+FFFD),
 * normalised there, checked code point by code point, and converted back.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include "tag.h"

/* UTF-16 units: a UTF-8 input never needs more units than it has bytes. */
#define TAG_U16_MAX	TAG_INPUT_MAX
/* Case folding can make a string longer (ß -> ss): three times at most. */
#define TAG_FOLD_MAX	(3 * TAG_U16_MAX)

enum tag_part { TAG_NAME, TAG_VALUE };

static int tag_fail(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return -EINVAL;
}

static int tag_icu_fail(UErrorCode ec, const char **why)
{
	if (ec == U_MEMORY_ALLOCATION_ERROR) {
		if (why)
			*why = "out of memory";
		return -ENOMEM;
	}
	return tag_fail(why, "too long after normalisation");
}

/* Characters that mean something to the search language (tags/query.h). */
static bool tag_name_special(UChar32 c)
{
	return c < 0x80 && strchr("=<>!()\"*,", (int)c) && c != 0;
}

/*
 * Trims @u (@n units) in place of its White_Space ends: the start and
 * length of what is left.
 */
static const UChar *tag_trim(const UChar *u, int32_t *n)
{
	int32_t start = 0, end = *n, i;
	UChar32 c;

	while (start < end) {
		i = start;
		U16_NEXT(u, i, end, c);
		if (!u_isUWhiteSpace(c))
			break;
		start = i;
	}
	while (end > start) {
		i = end;
		U16_PREV(u, start, i, c);
		if (!u_isUWhiteSpace(c))
			break;
		end = i;
	}
	*n = end - start;
	return u + start;
}

/* Refuses what a part may not hold (after normalisation). */
static int tag_check_chars(const UChar *u, int32_t n, enum tag_part part, const char **why)
{
	int32_t i = 0;
	UChar32 c;

	while (i < n) {
		U16_NEXT(u, i, n, c);
		if (u_charType(c) == U_CONTROL_CHAR || c == 0x2028 || c == 0x2029)
			return tag_fail(why, "a control character");
		if (U_IS_SURROGATE(c))
			return tag_fail(why, "invalid UTF-8");
		if (part != TAG_NAME)
			continue;
		if (u_isUWhiteSpace(c))
			return tag_fail(why, "white space in a tag name");
		if (tag_name_special(c))
			return tag_fail(why, "a tag name holds one of = < > ! ( ) \" * ,");
		if (i == U16_LENGTH(c) && c == '-')
			return tag_fail(why, "a tag name starts with -");
	}
	return 0;
}

/* NFC of @src into @dst (@cap units): its length, or -errno. */
static int32_t tag_nfc(const UChar *src, int32_t n, UChar *dst, int32_t cap, const char **why)
{
	UErrorCode ec = U_ZERO_ERROR;
	const UNormalizer2 *nfc = unorm2_getNFCInstance(&ec);
	int32_t len;

	if (U_FAILURE(ec))
		return tag_icu_fail(ec, why);
	len = unorm2_normalize(nfc, src, n, dst, cap, &ec);
	if (U_FAILURE(ec) || ec == U_STRING_NOT_TERMINATED_WARNING)
		return tag_icu_fail(ec == U_STRING_NOT_TERMINATED_WARNING ?
				    U_BUFFER_OVERFLOW_ERROR : ec, why);
	return len;
}

/*
 * One part, @len bytes of UTF-8 at @s, normalised into @out (@size bytes,
 * NUL-terminated) with at most @max bytes.
 */
static int tag_norm_part(const char *s, size_t len, enum tag_part part, size_t max,
			 char *out, size_t size, const char **why)
{
	static __thread UChar a[TAG_FOLD_MAX], b[TAG_FOLD_MAX];
	UErrorCode ec = U_ZERO_ERROR;
	const UChar *u;
	int32_t n, olen;
	int err;

	if (!s && len)
		return tag_fail(why, "no tag");
	if (len > TAG_INPUT_MAX)
		return tag_fail(why, "longer than 4096 bytes");
	if (memchr(s ? s : "", 0, len))
		return tag_fail(why, "a control character");
	u_strFromUTF8(a, TAG_U16_MAX, &n, s ? s : "", (int32_t)len, &ec);
	if (U_FAILURE(ec))
		return ec == U_INVALID_CHAR_FOUND || ec == U_ILLEGAL_CHAR_FOUND ?
			tag_fail(why, "invalid UTF-8") : tag_icu_fail(ec, why);
	u = tag_trim(a, &n);
	if (!n)
		return tag_fail(why, part == TAG_NAME ? "an empty tag name" : "an empty tag value");
	n = tag_nfc(u, n, b, TAG_FOLD_MAX, why);
	if (n < 0)
		return n;
	u = b;
	if (part == TAG_NAME) {
		ec = U_ZERO_ERROR;
		n = u_strFoldCase(a, TAG_FOLD_MAX, b, n, U_FOLD_CASE_DEFAULT, &ec);
		if (U_FAILURE(ec) || n >= TAG_FOLD_MAX)
			return tag_icu_fail(U_FAILURE(ec) ? ec : U_BUFFER_OVERFLOW_ERROR, why);
		n = tag_nfc(a, n, b, TAG_FOLD_MAX, why);
		if (n < 0)
			return n;
	}
	err = tag_check_chars(u, n, part, why);
	if (err)
		return err;
	ec = U_ZERO_ERROR;
	u_strToUTF8(out, (int32_t)size, &olen, u, n, &ec);
	if (ec == U_BUFFER_OVERFLOW_ERROR || ec == U_STRING_NOT_TERMINATED_WARNING ||
	    (!U_FAILURE(ec) && (size_t)olen > max))
		return tag_fail(why, part == TAG_NAME ? "a tag name longer than 128 bytes" :
				"a tag value longer than 256 bytes");
	if (U_FAILURE(ec))
		return tag_icu_fail(ec, why);
	return 0;
}

int tag_norm_name(const char *s, size_t len, char *out, size_t size, const char **why)
{
	if (!out || size < 1)
		return tag_fail(why, "no room");
	return tag_norm_part(s, len, TAG_NAME, TAG_NAME_MAX, out, size, why);
}

int tag_norm_value(const char *s, size_t len, char *out, size_t size, const char **why)
{
	if (!out || size < 1)
		return tag_fail(why, "no room");
	return tag_norm_part(s, len, TAG_VALUE, TAG_VALUE_MAX, out, size, why);
}

int tag_parse(const char *s, size_t len, struct tag *t, const char **why)
{
	const char *eq;
	struct tag tmp;
	int err;

	if (!s || !t)
		return tag_fail(why, "no tag");
	if (len > TAG_INPUT_MAX)
		return tag_fail(why, "longer than 4096 bytes");
	eq = memchr(s, '=', len);
	err = tag_norm_name(s, eq ? (size_t)(eq - s) : len, tmp.name, sizeof(tmp.name), why);
	if (err)
		return err;
	tmp.value[0] = 0;
	if (eq) {
		err = tag_norm_value(eq + 1, len - (size_t)(eq + 1 - s), tmp.value,
				     sizeof(tmp.value), why);
		if (err)
			return err;
	}
	*t = tmp;
	return 0;
}

int tag_make(const char *name, const char *value, struct tag *t, const char **why)
{
	struct tag tmp;
	int err;

	if (!name || !t)
		return tag_fail(why, "no tag");
	if (strchr(name, '='))
		return tag_fail(why, "a tag name holds one of = < > ! ( ) \" * ,");
	err = tag_norm_name(name, strnlen(name, TAG_INPUT_MAX + 1), tmp.name,
			    sizeof(tmp.name), why);
	if (err)
		return err;
	tmp.value[0] = 0;
	if (value && *value) {
		err = tag_norm_value(value, strnlen(value, TAG_INPUT_MAX + 1), tmp.value,
				     sizeof(tmp.value), why);
		if (err)
			return err;
	}
	*t = tmp;
	return 0;
}

int tag_format(const struct tag *t, char *buf, size_t size)
{
	int n;

	if (!t || !buf)
		return -EINVAL;
	n = t->value[0] ? snprintf(buf, size, "%s=%s", t->name, t->value) :
			  snprintf(buf, size, "%s", t->name);
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}
