/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The parts of HTTP that dgfsd parses itself, kept free of libmicrohttpd
 * so the unit tests can feed them anything: the file path in a URL, query
 * values, a Range header, and HTTP dates.
 */
#ifndef DGFSD_HTTPUTIL_H
#define DGFSD_HTTPUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define DGFSD_PATH_MAX		1024
#define DGFSD_SEGMENT_MAX	255

/*
 * Percent-decodes @in (a URL path below /files/, or a query value) into
 * @out (@outlen bytes including the NUL) and checks it as a file path
 * (docs/HTTP.md, "Paths"). NULL on success, else why it is refused.
 * With @is_prefix, an empty path and a trailing '/' are allowed (listing).
 */
const char *dgfsd_path_decode(const char *in, char *out, size_t outlen, bool is_prefix);

/*
 * The same checks on a path that is not URL-encoded (@n bytes, e.g. a
 * key's prefix from the command line): NULL, or why it is refused.
 */
const char *dgfsd_path_check(const char *path, size_t n, bool is_prefix);

/* Percent-decoding alone (query values): 0, or -1 for a bad escape / NUL / too long. */
int dgfsd_url_decode(const char *in, char *out, size_t outlen);

enum dgfsd_range_result {
	DGFSD_RANGE_NONE,		/* no usable Range: send everything */
	DGFSD_RANGE_OK,			/* [*first, *last] */
	DGFSD_RANGE_UNSATISFIABLE,	/* 416 */
};

/*
 * A Range header against a file of @size bytes. One range only; a list
 * of ranges, another unit or a malformed header is NONE (RFC 9110 lets a
 * server ignore Range). A satisfiable range is clamped to the file.
 */
enum dgfsd_range_result dgfsd_range_parse(const char *hdr, uint64_t size, uint64_t *first,
					  uint64_t *last);

/* "Sun, 06 Nov 1994 08:49:37 GMT" into @buf (at least 30 bytes). */
void dgfsd_http_date(time_t t, char *buf, size_t len);

/*
 * A Content-Type to store with a file (a header, or a commit's
 * "content_type"): at most @max bytes of UTF-8 without control
 * characters, since listings and manifests carry it as a JSON string
 * (empty: none given). NULL, or why it is refused.
 */
const char *dgfsd_ctype_check(const char *s, size_t max);

/*
 * The first occurrence of each distinct 32-byte id among @n: their
 * indices, in the order given, into @keep (room for @n). Returns how
 * many, or -1 when out of memory. Sorts (n log n): a request's 100000 ids
 * must not cost n^2.
 */
long dgfsd_ids_first(const uint8_t (*ids)[32], size_t n, size_t *keep);

/*
 * Whether a write (PUT, DELETE, commit) may go ahead under its If-Match and
 * If-None-Match headers (NULL: absent), @etag being the file's current
 * one, or NULL when there is no such file (RFC 9110 13.1.1, 13.1.2: If-Match
 * compares strongly, "*" is any file; If-None-Match weakly, "*" refuses
 * an existing file). false: 412.
 */
bool dgfsd_write_precond_ok(const char *if_match, const char *if_none_match, const char *etag);

/*
 * Whether a Range may be served under If-Range (NULL: absent): only when
 * it is the file's current ETag, compared strongly. A date, a weak or an
 * older tag: false, and the whole file goes out (RFC 9110 13.1.5).
 */
bool dgfsd_if_range_ok(const char *if_range, const char *etag);

/*
 * Whether a browser may show a file of this Content-Type inline: only
 * types it displays without running anything (plain text, common images,
 * audio, video, PDF, JSON). Any other type (HTML, SVG, XML, JavaScript,
 * unknown ones) is served as an attachment, since files share the origin
 * with the web UI.
 */
bool dgfsd_ctype_inline_safe(const char *ctype);

/* Whether an If-None-Match header matches the (unquoted) etag. */
bool dgfsd_etag_matches(const char *if_none_match, const char *etag);

#endif /* DGFSD_HTTPUTIL_H */
