// SPDX-License-Identifier: GPL-2.0
/* See httputil.h. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httputil.h"
#include "proto/hex.h"

/* Decodes into out; returns the length, or -1 (bad escape, NUL, too long). */
static long decode(const char *in, char *out, size_t outlen)
{
	size_t n = 0;

	/* Not even room for the terminating NUL. */
	if (!outlen)
		return -1;
	while (*in) {
		int c = (unsigned char)*in++;

		if (c == '%') {
			int hi = dgfs_hex_digit(in[0]), lo = hi < 0 ? -1 : dgfs_hex_digit(in[1]);

			if (lo < 0)
				return -1;
			c = hi << 4 | lo;
			in += 2;
		}
		/* A NUL would cut the path short wherever C strings go. */
		if (!c || n + 1 >= outlen)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return (long)n;
}

int dgfsd_url_decode(const char *in, char *out, size_t outlen)
{
	return decode(in, out, outlen) < 0 ? -1 : 0;
}

/* RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned int need, cp;
		uint32_t min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (i + need >= n)	/* cut short by the end */
			return false;
		for (unsigned int k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

const char *dgfsd_path_check(const char *buf, size_t n, bool is_prefix)
{
	const char *seg;
	size_t i;

	if (n > DGFSD_PATH_MAX)
		return "path too long";
	if (!n && !is_prefix)
		return "empty path";
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (!c || c < 0x20 || c == 0x7f)
			return "control character in path";
	}
	/* Paths travel in JSON (listings, manifests), which is UTF-8. */
	if (!utf8_valid((const unsigned char *)buf, n))
		return "path is not valid UTF-8";
	/* Check segment by segment: no empty, ".", ".." or over-long ones. */
	seg = buf;
	for (i = 0; i <= n; i++) {
		size_t len;

		if (i < n && buf[i] != '/')
			continue;
		len = (size_t)(buf + i - seg);
		if (!len) {
			/* A prefix may end in '/' ("dir/") or be empty. */
			if (!(is_prefix && i == n))
				return "empty path segment";
		} else if ((len == 1 && seg[0] == '.') ||
			   (len == 2 && seg[0] == '.' && seg[1] == '.')) {
			return "\".\" or \"..\" in path";
		} else if (len > DGFSD_SEGMENT_MAX) {
			return "path segment too long";
		}
		seg = buf + i + 1;
	}
	return NULL;
}

const char *dgfsd_path_decode(const char *in, char *out, size_t outlen, bool is_prefix)
{
	char buf[DGFSD_PATH_MAX + 2];
	const char *why;
	long n;

	n = decode(in, buf, sizeof(buf));
	if (n < 0)
		return strchr(in, '%') ? "bad percent escape or NUL byte in path" :
					 "path too long";
	why = dgfsd_path_check(buf, (size_t)n, is_prefix);
	if (why)
		return why;
	if ((size_t)n + 1 > outlen)
		return "path too long";
	memcpy(out, buf, (size_t)n + 1);
	return NULL;
}

/* Strictly digits, no sign, no overflow. */
static int parse_u64(const char *s, const char *end, uint64_t *out)
{
	uint64_t v = 0;

	if (s == end)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

enum dgfsd_range_result dgfsd_range_parse(const char *hdr, uint64_t size, uint64_t *first,
					  uint64_t *last)
{
	const char *p, *dash, *end;
	uint64_t a, b;

	if (!hdr)
		return DGFSD_RANGE_NONE;
	while (*hdr == ' ' || *hdr == '\t')
		hdr++;
	if (strncasecmp(hdr, "bytes=", 6))
		return DGFSD_RANGE_NONE;
	p = hdr + 6;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strchr(p, ','))
		return DGFSD_RANGE_NONE;	/* several ranges: send it all */
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	dash = memchr(p, '-', (size_t)(end - p));
	if (!dash)
		return DGFSD_RANGE_NONE;
	if (dash == p) {
		/* bytes=-n: the last n bytes. */
		if (parse_u64(dash + 1, end, &b))
			return DGFSD_RANGE_NONE;
		if (!b || !size)
			return DGFSD_RANGE_UNSATISFIABLE;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return DGFSD_RANGE_OK;
	}
	if (parse_u64(p, dash, &a))
		return DGFSD_RANGE_NONE;
	if (dash + 1 == end) {
		b = UINT64_MAX;
	} else {
		if (parse_u64(dash + 1, end, &b))
			return DGFSD_RANGE_NONE;
		if (b < a)
			return DGFSD_RANGE_NONE;	/* invalid: ignored */
	}
	if (a >= size)
		return DGFSD_RANGE_UNSATISFIABLE;
	*first = a;
	*last = b >= size ? size - 1 : b;
	return DGFSD_RANGE_OK;
}

void dgfsd_http_date(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Ties by index: the first occurrence of an id sorts first among its equals. */
static _Thread_local const uint8_t (*sort_ids)[32];

static int cmp_index(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = memcmp(sort_ids[x], sort_ids[y], 32);

	return c ? c : (x > y) - (x < y);
}

long dgfsd_ids_first(const uint8_t (*ids)[32], size_t n, size_t *keep)
{
	size_t *order, i, k = 0;
	uint8_t *first;

	if (!n)
		return 0;
	order = malloc(n * sizeof(*order));
	first = calloc(n, 1);
	if (!order || !first) {
		free(order);
		free(first);
		return -1;
	}
	for (i = 0; i < n; i++)
		order[i] = i;
	/* qsort has no context argument: a thread-local (one thread per request). */
	sort_ids = ids;
	qsort(order, n, sizeof(*order), cmp_index);
	for (i = 0; i < n; i++)
		if (!i || memcmp(ids[order[i]], ids[order[i - 1]], 32))
			first[order[i]] = 1;
	for (i = 0; i < n; i++)
		if (first[i])
			keep[k++] = i;
	free(order);
	free(first);
	return (long)k;
}

bool dgfsd_ctype_inline_safe(const char *ctype)
{
	static const char *const safe[] = {
		"text/plain", "text/csv", "image/png", "image/jpeg", "image/gif",
		"image/webp", "image/avif", "image/bmp", "application/pdf",
		"application/json", "application/octet-stream",
	};
	size_t n, i;

	while (*ctype == ' ' || *ctype == '\t')
		ctype++;
	n = strcspn(ctype, "; \t");		/* the type without its parameters */
	if ((n > 6 && !strncasecmp(ctype, "audio/", 6)) ||
	    (n > 6 && !strncasecmp(ctype, "video/", 6)))
		return true;
	for (i = 0; i < sizeof(safe) / sizeof(safe[0]); i++)
		if (strlen(safe[i]) == n && !strncasecmp(ctype, safe[i], n))
			return true;
	return false;
}

/* The length of the UTF-8 sequence at @p (RFC 3629: shortest form, no surrogates), or 0. */
static size_t utf8_len(const unsigned char *p)
{
	uint32_t cp;
	size_t n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;	/* also stops at the NUL */
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

const char *dgfsd_ctype_check(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	if (strlen(s) > max)
		return "too long";
	for (; *p; p += n) {
		if (*p < 0x20 || *p == 0x7f)
			return "a control character";
		n = utf8_len(p);
		if (!n)
			return "not UTF-8";
	}
	return NULL;
}

/* A list of entity tags or "*" against @etag; @weak_ok: W/"x" counts. */
static bool etag_list_matches(const char *inm, const char *etag, bool weak_ok)
{
	size_t elen = strlen(etag);
	const char *p = inm;
	bool weak;

	if (!inm)
		return false;
	/* A list of entity tags, each maybe weak (W/"..."), or "*". */
	while (*p) {
		const char *q;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		weak = !strncmp(p, "W/", 2);
		if (weak)
			p += 2;
		if (*p != '"')
			return false;
		q = strchr(p + 1, '"');
		if (!q)
			return false;
		if ((weak_ok || !weak) && (size_t)(q - p - 1) == elen && !memcmp(p + 1, etag, elen))
			return true;
		p = q + 1;
	}
	return false;
}

bool dgfsd_etag_matches(const char *inm, const char *etag)
{
	return etag_list_matches(inm, etag, true);
}

bool dgfsd_write_precond_ok(const char *if_match, const char *if_none_match, const char *etag)
{
	if (if_match && (!etag || !etag_list_matches(if_match, etag, false)))
		return false;
	if (if_none_match && etag && etag_list_matches(if_none_match, etag, true))
		return false;
	return true;
}

bool dgfsd_if_range_ok(const char *if_range, const char *etag)
{
	size_t elen = strlen(etag);

	if (!if_range)
		return true;
	while (*if_range == ' ' || *if_range == '\t')
		if_range++;
	return if_range[0] == '"' && strlen(if_range) >= elen + 2 &&
	       !memcmp(if_range + 1, etag, elen) && if_range[elen + 1] == '"' &&
	       strspn(if_range + elen + 2, " \t") == strlen(if_range + elen + 2);
}
