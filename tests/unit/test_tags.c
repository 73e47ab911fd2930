// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the tag model (userspace/tags/tag.c): parsing "name" and
 * "name=value", trimming, NFC and case folding of names (values keep
 * their case), refusals (control characters, invalid UTF-8, white space
 * and operator characters in names, empty parts, length limits counted
 * in bytes after normalisation) and the canonical form. Expected strings
 * are written out here by hand, as code points, not computed with ICU.
 */

/* expect-checks: 46 (tests/run-all.sh: a run that prints fewer fails) */

#include "tags/tag.c"

#include <stdlib.h>

#include "check.h"

/* Parses @in and checks the canonical form is @want. */
static void canon(const char *name, const char *in, const char *want)
{
	char buf[TAG_STR_MAX + 1];
	const char *why = NULL;
	struct tag t;
	int err;

	err = tag_parse(in, strlen(in), &t, &why);
	if (err) {
		printf("FAIL: %s (refused: %s)\n", name, why ? why : "?");
		failures++;
		return;
	}
	CHECK(name, tag_format(&t, buf, sizeof(buf)) == (int)strlen(want) && !strcmp(buf, want));
}

static void refused(const char *name, const char *in, size_t len)
{
	const char *why = NULL;
	struct tag t;

	memset(&t, 0x5a, sizeof(t));
	CHECK(name, tag_parse(in, len, &t, &why) == -EINVAL && why && *why &&
	      t.name[0] == 0x5a);
}

static char *repeat(const char *unit, int n, const char *tail)
{
	size_t ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(ul * n + tl + 1);
	int i;

	for (i = 0; i < n; i++)
		memcpy(s + ul * i, unit, ul);
	memcpy(s + ul * n, tail, tl + 1);
	return s;
}

int main(void)
{
	char buf[TAG_STR_MAX + 1], small[4];
	const char *why;
	struct tag t;
	char *s;

	canon("bare tag", "cat", "cat");
	canon("name=value", "year=2020", "year=2020");
	canon("names are case-folded", "Type=image", "type=image");
	canon("values keep their case", "exif-make=Canon", "exif-make=Canon");
	canon("white space is trimmed around both parts", " \t mime = image/jpeg \n", "mime=image/jpeg");
	canon("Unicode white space is trimmed (U+3000, U+00A0)",
	      "\xe3\x80\x80" "cat" "\xc2\xa0", "cat");
	canon("a value may hold '=' and spaces", "title=a = b  c", "title=a = b  c");
	/* e + U+0301 composes to U+00E9 */
	canon("names are put in NFC", "cafe\xcc\x81", "caf\xc3\xa9");
	canon("values are put in NFC", "name=cafe\xcc\x81", "name=caf\xc3\xa9");
	/* U+00C9 folds to U+00E9; U+0130 folds (full) to i + U+0307 */
	canon("non-ASCII names fold (É -> é)", "\xc3\x89t\xc3\xa9", "\xc3\xa9t\xc3\xa9");
	canon("full case folding (ß -> ss)", "Stra\xc3\x9f" "e", "strasse");
	canon("Greek capitals fold", "\xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91",
	      "\xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1");
	canon("CJK names pass unchanged", "\xe4\xb8\xad\xe6\x96\x87", "\xe4\xb8\xad\xe6\x96\x87");
	canon("a '-' inside a name is fine", "exif-model", "exif-model");
	canon("a value starting with < is fine", "duration=<1m", "duration=<1m");
	canon("folding then NFC: K (Kelvin sign) folds to k", "\xe2\x84\xaa", "k");

	refused("empty input", "", 0);
	refused("only white space", "  \t ", 4);
	refused("empty name", "=x", 2);
	refused("empty value", "x=", 2);
	refused("white-space value", "x=  ", 4);
	refused("space inside a name", "to read", 7);
	refused("a control character in a name", "a\x01" "b", 3);
	refused("a control character in a value", "a=b\x7f" "c", 5);
	refused("a C1 control character (U+0085)", "a=b\xc2\x85" "c", 6);
	refused("a NUL byte", "a\0b", 3);
	refused("a line separator U+2028 in a value", "a=b\xe2\x80\xa8" "c", 7);
	refused("invalid UTF-8 (lone continuation byte)", "a\x80", 2);
	refused("invalid UTF-8 (overlong '/')", "a\xc0\xaf", 3);
	refused("invalid UTF-8 (encoded surrogate)", "a\xed\xa0\x80", 4);
	refused("invalid UTF-8 in a value (truncated)", "a=\xe4\xb8", 4);
	refused("operator characters in a name ('>')", "year>2020", 9);
	refused("operator characters in a name ('(')", "(a", 2);
	refused("operator characters in a name ('*')", "a*", 2);
	refused("a name starting with -", "-a", 2);

	s = repeat("a", TAG_NAME_MAX, "");
	canon("a name of exactly 128 bytes", s, s);
	free(s);
	s = repeat("a", TAG_NAME_MAX + 1, "");
	refused("a name of 129 bytes", s, strlen(s));
	free(s);
	/* 43 x 3 bytes = 129: the limit is in bytes of UTF-8 */
	s = repeat("\xe4\xb8\xad", 43, "");
	refused("a name of 43 three-byte characters (129 bytes)", s, strlen(s));
	free(s);
	/* U+0130 (2 bytes) folds to i + U+0307 (3 bytes): 50 of them are 100 bytes in, 150 folded */
	s = repeat("\xc4\xb0", 50, "");
	refused("the limit applies after folding (50 x U+0130: 100 bytes in, 150 folded)",
		s, strlen(s));
	free(s);
	s = repeat("v", TAG_VALUE_MAX, "");
	{
		char in[TAG_VALUE_MAX + 8];

		snprintf(in, sizeof(in), "n=%s", s);
		canon("a value of exactly 256 bytes", in, in);
		snprintf(in, sizeof(in), "n=%sv", s);
		refused("a value of 257 bytes", in, strlen(in));
	}
	free(s);
	s = repeat(" ", TAG_INPUT_MAX, "a");
	refused("input over 4096 bytes, even if trimming would shorten it", s, strlen(s));
	free(s);

	CHECK("tag_make: parts apart, value NULL is bare",
	      !tag_make(" Cat ", NULL, &t, &why) && !strcmp(t.name, "cat") && tag_is_bare(&t));
	CHECK("tag_make: refuses '=' in a name", tag_make("a=b", "c", &t, &why) == -EINVAL);
	CHECK("tag_format: too small a buffer is -ENOSPC",
	      !tag_parse("abcd", 4, &t, NULL) && tag_format(&t, small, sizeof(small)) == -ENOSPC);
	CHECK("tag_parse reads only len bytes",
	      !tag_parse("cat=dogs", 3, &t, NULL) && !strcmp(t.name, "cat") && tag_is_bare(&t) &&
	      tag_format(&t, buf, sizeof(buf)) == 3);
	return failures ? 1 : 0;
}
