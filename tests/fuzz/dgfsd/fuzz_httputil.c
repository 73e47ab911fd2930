// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the HTTP parsing dgfsd does itself
 * (userspace/dgfsd/httputil.c) on what any HTTP client sends: the file
 * path in a URL and query values (percent-decoding and the path rules of
 * docs/HTTP.md), Range, If-Match / If-None-Match / If-Range, and a
 * Content-Type to store.
 *
 * Input: one selector byte, eight bytes of a file size (for Range), then
 * the header or URL text (cut at the first NUL, as libmicrohttpd hands it
 * over). Output buffers are heap blocks of exactly the size passed, so
 * ASan sees a write one byte past. Checked: a range accepted lies inside
 * the file; a path accepted is NUL-terminated, fits and passes the plain
 * path check; a Content-Type accepted has no control character.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgfsd/httputil.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_httputil: %s:%d: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

static void range(const char *s, uint64_t size)
{
	uint64_t first = 0, last = 0;

	switch (dgfsd_range_parse(s, size, &first, &last)) {
	case DGFSD_RANGE_OK:
		CHECK(first <= last && last < size);
		break;
	case DGFSD_RANGE_NONE:
	case DGFSD_RANGE_UNSATISFIABLE:
		break;
	default:
		CHECK(!"unknown range result");
	}
}

static void path(const char *s, size_t outlen, bool is_prefix)
{
	char *out = malloc(outlen);
	const char *why;

	CHECK(out);
	why = dgfsd_path_decode(s, out, outlen, is_prefix);
	if (!why) {
		size_t n = strnlen(out, outlen);

		CHECK(n < outlen && n <= DGFSD_PATH_MAX);
		CHECK(dgfsd_path_check(out, n, is_prefix) == NULL);
		CHECK(!strstr(out, "//") || is_prefix);
	}
	/* The plain check on the raw text too (a key's prefix from the CLI). */
	dgfsd_path_check(s, strlen(s), is_prefix);
	if (dgfsd_url_decode(s, out, outlen) == 0)
		CHECK(strnlen(out, outlen) < outlen);
	free(out);
}

static void ctype(const char *s, size_t max)
{
	if (!dgfsd_ctype_check(s, max)) {
		CHECK(strlen(s) <= max);
		for (const unsigned char *p = (const unsigned char *)s; *p; p++)
			CHECK(*p >= 0x20 && *p != 0x7f);
	}
	dgfsd_ctype_inline_safe(s);
}

static void conditions(const char *s)
{
	/* The text is the header; its second half doubles as the ETag. */
	const char *etag = s + strlen(s) / 2;

	dgfsd_write_precond_ok(s, NULL, etag);
	dgfsd_write_precond_ok(NULL, s, etag);
	dgfsd_write_precond_ok(s, s, NULL);
	dgfsd_if_range_ok(s, etag);
	dgfsd_etag_matches(s, etag);
	/* "*" matches any file for If-None-Match: a write must be refused. */
	if (!strcmp(s, "*"))
		CHECK(!dgfsd_write_precond_ok(NULL, s, etag));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t fsize = 0;
	unsigned int sel;
	char *s;

	if (size < 9)
		return 0;
	sel = data[0];
	memcpy(&fsize, data + 1, 8);
	/* Small files are where the edge cases are. */
	if (sel & 0x80)
		fsize &= 0xffff;
	s = strndup((const char *)data + 9, size - 9);
	if (!s)
		return 0;
	switch (sel % 4) {
	case 0:
		range(s, fsize);
		break;
	case 1:
		path(s, 1 + fsize % (DGFSD_PATH_MAX + 8), sel & 0x40);
		break;
	case 2:
		ctype(s, fsize % 300);
		break;
	case 3:
		conditions(s);
		break;
	}
	free(s);
	return 0;
}
