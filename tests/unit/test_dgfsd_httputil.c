// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of what dgfsd parses from HTTP itself (userspace/dgfsd/httputil.c):
 * file paths in URLs (every way docs/HTTP.md refuses one), Range headers
 * against a file size, If-None-Match, HTTP dates, stored Content-Types, and
 * the distinct ids of a dedup query.
 * One line per check, PASS or FAIL; non-zero exit if any failed.
 */
/* expect-checks: 118 (tests/run-all.sh: a run that prints fewer fails) */

#include "proto/hex.c"
#include "dgfsd/httputil.c"

#include <stdio.h>
#include <string.h>

#include "check.h"

static bool path_ok(const char *in, const char *want)
{
	char out[DGFSD_PATH_MAX + 1];
	const char *why = dgfsd_path_decode(in, out, sizeof(out), false);

	return !why && !strcmp(out, want);
}

static bool path_refused(const char *in)
{
	char out[DGFSD_PATH_MAX + 1];

	return dgfsd_path_decode(in, out, sizeof(out), false) != NULL;
}

static bool range_is(const char *hdr, uint64_t size, enum dgfsd_range_result want,
		     uint64_t first, uint64_t last)
{
	uint64_t a = 12345, b = 12345;
	enum dgfsd_range_result r = dgfsd_range_parse(hdr, size, &a, &b);

	if (r != want)
		return false;
	return r != DGFSD_RANGE_OK || (a == first && b == last);
}

static void test_paths(void)
{
	char big[DGFSD_PATH_MAX + 64], seg[300], out[DGFSD_PATH_MAX + 1];

	CHECK("path: plain", path_ok("a/b/c.txt", "a/b/c.txt"));
	CHECK("path: percent-decoded", path_ok("a%20b/%C3%A9t%c3%a9", "a b/\xc3\xa9t\xc3\xa9"));
	CHECK("path: dots inside names are fine", path_ok("a..b/.hidden/x.", "a..b/.hidden/x."));
	CHECK("path: literal percent as %25", path_ok("100%25", "100%"));
	CHECK("path: empty refused", path_refused(""));
	CHECK("path: .. refused", path_refused("a/../b"));
	CHECK("path: leading .. refused", path_refused("../etc/passwd"));
	CHECK("path: %2e%2e refused", path_refused("a/%2e%2e/b"));
	CHECK("path: %2E%2E refused", path_refused("%2E%2E"));
	CHECK("path: . refused", path_refused("a/./b"));
	CHECK("path: %2e refused", path_refused("%2e"));
	CHECK("path: %00 refused", path_refused("a%00b"));
	CHECK("path: control char refused", path_refused("a%0ab"));
	CHECK("path: DEL refused", path_refused("a%7fb"));
	CHECK("path: empty segment refused", path_refused("a//b"));
	CHECK("path: leading slash refused", path_refused("/a"));
	CHECK("path: trailing slash refused", path_refused("a/"));
	CHECK("path: bad escape refused", path_refused("a%zzb"));
	CHECK("path: 0xff (not UTF-8) refused", path_refused("a%ff"));
	CHECK("path: lone continuation byte refused", path_refused("%80"));
	CHECK("path: truncated 2-byte sequence refused", path_refused("a%c3"));
	CHECK("path: overlong '/' refused", path_refused("%c0%af"));
	CHECK("path: UTF-16 surrogate refused", path_refused("%ed%a0%80"));
	CHECK("path: past U+10FFFF refused", path_refused("%f4%90%80%80"));
	CHECK("path: 4-byte UTF-8 accepted", path_ok("%f0%9f%98%80", "\xf0\x9f\x98\x80"));
	CHECK("path: 3-byte UTF-8 at the end accepted", path_ok("x%e2%82%ac", "x\xe2\x82\xac"));
	CHECK("path: truncated escape refused", path_refused("a%4"));
	CHECK("path: lone percent refused", path_refused("%"));
	memset(big, 'a', DGFSD_PATH_MAX);
	big[DGFSD_PATH_MAX] = '\0';
	for (size_t i = 200; i < DGFSD_PATH_MAX; i += 200)
		big[i] = '/';
	CHECK("path: 1024 bytes accepted", !dgfsd_path_decode(big, out, sizeof(out), false));
	strcat(big, "b");
	CHECK("path: 1025 bytes refused", path_refused(big));
	memset(seg, 'x', 256);
	seg[256] = '\0';
	CHECK("path: 256-byte segment refused", path_refused(seg));
	seg[255] = '\0';
	CHECK("path: 255-byte segment accepted", !path_refused(seg));
	CHECK("path: small output buffer refused",
	      dgfsd_path_decode("abcdef", out, 4, false) != NULL);
	CHECK("prefix: empty ok", !dgfsd_path_decode("", out, sizeof(out), true) && !out[0]);
	CHECK("prefix: trailing slash ok",
	      !dgfsd_path_decode("dir/", out, sizeof(out), true) && !strcmp(out, "dir/"));
	CHECK("prefix: .. refused", dgfsd_path_decode("../", out, sizeof(out), true) != NULL);
	CHECK("url decode: NUL refused", dgfsd_url_decode("a%00", out, sizeof(out)) == -1);
	{
		/* Room for nothing: the byte past it must stay as it was. */
		char guard[1] = { 'x' };

		CHECK("url decode: no room at all is refused, nothing written",
		      dgfsd_url_decode("", guard, 0) == -1 && guard[0] == 'x');
	}
	CHECK("url decode: plain", !dgfsd_url_decode("a%2Fb", out, sizeof(out)) &&
	      !strcmp(out, "a/b"));
}

static void test_ranges(void)
{
	CHECK("range: none", range_is(NULL, 100, DGFSD_RANGE_NONE, 0, 0));
	CHECK("range: a-b", range_is("bytes=0-9", 100, DGFSD_RANGE_OK, 0, 9));
	CHECK("range: a-", range_is("bytes=90-", 100, DGFSD_RANGE_OK, 90, 99));
	CHECK("range: -n", range_is("bytes=-10", 100, DGFSD_RANGE_OK, 90, 99));
	CHECK("range: -n over size is all", range_is("bytes=-500", 100, DGFSD_RANGE_OK, 0, 99));
	CHECK("range: end past size clamped", range_is("bytes=50-1000", 100, DGFSD_RANGE_OK,
						       50, 99));
	CHECK("range: last byte", range_is("bytes=99-99", 100, DGFSD_RANGE_OK, 99, 99));
	CHECK("range: start at size 416", range_is("bytes=100-", 100,
						   DGFSD_RANGE_UNSATISFIABLE, 0, 0));
	CHECK("range: start past size 416", range_is("bytes=200-300", 100,
						     DGFSD_RANGE_UNSATISFIABLE, 0, 0));
	CHECK("range: -0 416", range_is("bytes=-0", 100, DGFSD_RANGE_UNSATISFIABLE, 0, 0));
	CHECK("range: empty file 416", range_is("bytes=0-", 0, DGFSD_RANGE_UNSATISFIABLE, 0, 0));
	CHECK("range: empty file suffix 416", range_is("bytes=-5", 0,
						       DGFSD_RANGE_UNSATISFIABLE, 0, 0));
	CHECK("range: multi ignored", range_is("bytes=0-1,5-6", 100, DGFSD_RANGE_NONE, 0, 0));
	CHECK("range: other unit ignored", range_is("items=0-1", 100, DGFSD_RANGE_NONE, 0, 0));
	CHECK("range: b<a ignored", range_is("bytes=9-3", 100, DGFSD_RANGE_NONE, 0, 0));
	CHECK("range: junk ignored", range_is("bytes=abc", 100, DGFSD_RANGE_NONE, 0, 0));
	CHECK("range: sign ignored", range_is("bytes=+1-2", 100, DGFSD_RANGE_NONE, 0, 0));
	CHECK("range: overflow ignored", range_is("bytes=99999999999999999999999-", 100,
						  DGFSD_RANGE_NONE, 0, 0));
	CHECK("range: case-insensitive unit", range_is("Bytes=1-2", 100, DGFSD_RANGE_OK, 1, 2));
	CHECK("range: big file", range_is("bytes=209715100-", 209715200, DGFSD_RANGE_OK,
					  209715100, 209715199));
}

static void test_etag_date(void)
{
	char date[64];

	CHECK("etag: exact", dgfsd_etag_matches("\"abc\"", "abc"));
	CHECK("etag: in list", dgfsd_etag_matches("\"x\", W/\"abc\"", "abc"));
	CHECK("etag: star", dgfsd_etag_matches("*", "abc"));
	CHECK("etag: other", !dgfsd_etag_matches("\"abcd\"", "abc"));
	CHECK("etag: unquoted ignored", !dgfsd_etag_matches("abc", "abc"));
	CHECK("etag: unterminated", !dgfsd_etag_matches("\"abc", "abc"));
	CHECK("if-match: same tag", dgfsd_write_precond_ok("\"abc\"", NULL, "abc"));
	CHECK("if-match: in a list", dgfsd_write_precond_ok("\"x\", \"abc\"", NULL, "abc"));
	CHECK("if-match: other tag -> 412", !dgfsd_write_precond_ok("\"abd\"", NULL, "abc"));
	CHECK("if-match: weak tag never matches", !dgfsd_write_precond_ok("W/\"abc\"", NULL, "abc"));
	CHECK("if-match: * and a file", dgfsd_write_precond_ok("*", NULL, "abc"));
	CHECK("if-match: * and no file -> 412", !dgfsd_write_precond_ok("*", NULL, NULL));
	CHECK("if-match: a tag and no file -> 412", !dgfsd_write_precond_ok("\"abc\"", NULL, NULL));
	CHECK("if-none-match: * and no file", dgfsd_write_precond_ok(NULL, "*", NULL));
	CHECK("if-none-match: * and a file -> 412", !dgfsd_write_precond_ok(NULL, "*", "abc"));
	CHECK("if-none-match: the tag (weak too) -> 412", !dgfsd_write_precond_ok(NULL, "W/\"abc\"", "abc"));
	CHECK("if-none-match: another tag", dgfsd_write_precond_ok(NULL, "\"x\"", "abc"));
	CHECK("no conditions", dgfsd_write_precond_ok(NULL, NULL, NULL));
	CHECK("if-range: absent", dgfsd_if_range_ok(NULL, "abc"));
	CHECK("if-range: the tag", dgfsd_if_range_ok("\"abc\"", "abc"));
	CHECK("if-range: another tag", !dgfsd_if_range_ok("\"abd\"", "abc"));
	CHECK("if-range: a longer tag", !dgfsd_if_range_ok("\"abcd\"", "abc"));
	CHECK("if-range: weak", !dgfsd_if_range_ok("W/\"abc\"", "abc"));
	CHECK("if-range: a date", !dgfsd_if_range_ok("Sun, 06 Nov 1994 08:49:37 GMT", "abc"));
	CHECK("if-range: junk after", !dgfsd_if_range_ok("\"abc\"x", "abc"));
	CHECK("inline: text/plain", dgfsd_ctype_inline_safe("text/plain; charset=utf-8"));
	CHECK("inline: image/png", dgfsd_ctype_inline_safe("image/png"));
	CHECK("inline: video/mp4", dgfsd_ctype_inline_safe("Video/MP4"));
	CHECK("inline: not text/html", !dgfsd_ctype_inline_safe("text/html"));
	CHECK("inline: not TEXT/HTML;charset", !dgfsd_ctype_inline_safe("TEXT/HTML;charset=utf-8"));
	CHECK("inline: not image/svg+xml", !dgfsd_ctype_inline_safe("image/svg+xml"));
	CHECK("inline: not application/xhtml+xml", !dgfsd_ctype_inline_safe("application/xhtml+xml"));
	CHECK("inline: not text/javascript", !dgfsd_ctype_inline_safe("text/javascript"));
	CHECK("inline: not text/xml", !dgfsd_ctype_inline_safe("text/xml"));
	CHECK("inline: not text/plainx", !dgfsd_ctype_inline_safe("text/plainx"));
	CHECK("inline: not audio/ alone", !dgfsd_ctype_inline_safe("audio/"));
	CHECK("inline: not unknown", !dgfsd_ctype_inline_safe("application/x-foo"));
	dgfsd_http_date(784111777, date, sizeof(date));
	CHECK("date: RFC 9110 example", !strcmp(date, "Sun, 06 Nov 1994 08:49:37 GMT"));
}

static void test_ctype(void)
{
	char big[200];

	CHECK("ctype: plain", !dgfsd_ctype_check("text/plain; charset=utf-8", 127));
	CHECK("ctype: empty is none", !dgfsd_ctype_check("", 127));
	CHECK("ctype: UTF-8 kept", !dgfsd_ctype_check("text/x-\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80", 127));
	CHECK("ctype: Latin-1 byte refused", dgfsd_ctype_check("text/\xe9", 127) != NULL);
	CHECK("ctype: lone continuation refused", dgfsd_ctype_check("a\x80" "b", 127) != NULL);
	CHECK("ctype: truncated sequence refused", dgfsd_ctype_check("a\xe2\x82", 127) != NULL);
	CHECK("ctype: overlong refused", dgfsd_ctype_check("\xc0\xaf", 127) != NULL);
	CHECK("ctype: overlong 3-byte refused", dgfsd_ctype_check("\xe0\x80\xaf", 127) != NULL);
	CHECK("ctype: surrogate refused", dgfsd_ctype_check("\xed\xa0\x80", 127) != NULL);
	CHECK("ctype: past U+10FFFF refused", dgfsd_ctype_check("\xf4\x90\x80\x80", 127) != NULL);
	CHECK("ctype: \\xff refused", dgfsd_ctype_check("\xff\xfe", 127) != NULL);
	CHECK("ctype: control char refused", dgfsd_ctype_check("text/plain\x01", 127) != NULL);
	CHECK("ctype: newline refused", dgfsd_ctype_check("a\nb", 127) != NULL);
	CHECK("ctype: DEL refused", dgfsd_ctype_check("a\x7f", 127) != NULL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK("ctype: too long refused", dgfsd_ctype_check(big, 127) != NULL);
	big[127] = '\0';
	CHECK("ctype: max length kept", !dgfsd_ctype_check(big, 127));
}

/* The ids' first occurrences the slow, obvious way. */
static size_t naive_first(const uint8_t (*ids)[32], size_t n, size_t *keep)
{
	size_t i, j, k = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < k; j++)
			if (!memcmp(ids[keep[j]], ids[i], 32))
				break;
		if (j == k)
			keep[k++] = i;
	}
	return k;
}

static void test_ids_first(void)
{
	enum { N = 100000, DISTINCT = 701 };
	uint8_t (*ids)[32] = calloc(N, 32);
	size_t *got = calloc(N, sizeof(*got)), *want = calloc(N, sizeof(*want));
	size_t i, nwant;
	long n;

	if (!ids || !got || !want) {
		CHECK("ids: memory", false);
		return;
	}
	/* 701 distinct ids, each repeated about 143 times, interleaved. */
	for (i = 0; i < N; i++) {
		uint32_t v = (uint32_t)((i * 7919u) % DISTINCT);

		memcpy(ids[i] + 28, &v, 4);
		ids[i][0] = (uint8_t)(v * 31);
	}
	nwant = naive_first((const uint8_t (*)[32])ids, N, want);
	n = dgfsd_ids_first((const uint8_t (*)[32])ids, N, got);
	CHECK("ids: 100000 ids with duplicates give 701 distinct", n == DISTINCT && nwant == DISTINCT);
	CHECK("ids: the first occurrences, in the order given",
	      n == (long)nwant && !memcmp(got, want, nwant * sizeof(*got)));
	/* All distinct: every index, in order. */
	for (i = 0; i < N; i++)
		memcpy(ids[i], &i, sizeof(i));
	n = dgfsd_ids_first((const uint8_t (*)[32])ids, N, got);
	for (i = 0; n == N && i < N; i++)
		if (got[i] != i)
			break;
	CHECK("ids: all distinct are all kept, in order", n == N && i == N);
	/* All the same: only the first. */
	memset(ids, 7, (size_t)N * 32);
	n = dgfsd_ids_first((const uint8_t (*)[32])ids, N, got);
	CHECK("ids: all equal keep only index 0", n == 1 && got[0] == 0);
	CHECK("ids: none", dgfsd_ids_first((const uint8_t (*)[32])ids, 0, got) == 0);
	free(ids);
	free(got);
	free(want);
}

int main(void)
{
	test_paths();
	test_ranges();
	test_etag_date();
	test_ctype();
	test_ids_first();
	return failures ? 1 : 0;
}
