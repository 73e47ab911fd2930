// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of dgfsctl's printer (userspace/dgfsctl/print.c) and of the
 * print functions of every command. JSON output is checked with a strict
 * JSON parser written here, independently of the printer: the document
 * must parse, have the expected structure, and its strings must decode to
 * what was printed. One line per check, PASS or FAIL.
 */

/* expect-checks: 75 (tests/run-all.sh: a run that prints fewer fails) */

#include "dgfsctl/cli.c"
#include "dgfsctl/chunk.c"
#include "dgfsctl/clients.c"
#include "dgfsctl/chunk_batch.c"
#include "dgfsctl/config.c"
#include "dgfsctl/nl.c"
#include "proto/hex.c"
#include "proto/size.c"
#include "proto/latency.c"
#include "dgfsctl/parse.c"
#include "dgfsctl/print.c"
#include "dgfsctl/stats.c"
#include "dgfsctl/store.c"
#include "dgfsctl/top.c"
#include "dgfsctl/xdp.c"
#include "xdp/dgfs_xdp_loader.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* ---- a small, strict JSON parser (RFC 8259) ----------------------------- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	enum jtype t;
	bool b;
	char *str;		/* J_STR: decoded UTF-8 bytes; J_NUM: its text */
	size_t len;
	size_t n;		/* J_ARR, J_OBJ */
	struct jval **items;
	char **keys;		/* J_OBJ */
};

struct jp {
	const unsigned char *p, *end;
};

static void jfree(struct jval *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < v->n; i++) {
		jfree(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

static void jws(struct jp *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' ||
				   *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

/* Appends code point cp as UTF-8. */
static void put_utf8(char *out, size_t *n, unsigned long cp)
{
	if (cp < 0x80) {
		out[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*n)++] = (char)(0xc0 | cp >> 6);
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*n)++] = (char)(0xe0 | cp >> 12);
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*n)++] = (char)(0xf0 | cp >> 18);
		out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/* Decodes one UTF-8 character; 0 if the bytes are not valid UTF-8. */
static size_t decode_utf8(const unsigned char *s, const unsigned char *end,
			  unsigned long *cp)
{
	size_t need, i;
	unsigned long c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		need = 2; c &= 0x1f; min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		need = 3; c &= 0x0f; min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		need = 4; c &= 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if ((size_t)(end - s) < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return need;
}

static int hex4(const unsigned char *p, unsigned long *out)
{
	unsigned long v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		int d = p[i] >= '0' && p[i] <= '9' ? p[i] - '0' :
			p[i] >= 'a' && p[i] <= 'f' ? p[i] - 'a' + 10 :
			p[i] >= 'A' && p[i] <= 'F' ? p[i] - 'A' + 10 : -1;

		if (d < 0)
			return -1;
		v = v << 4 | (unsigned long)d;
	}
	*out = v;
	return 0;
}

static char *jstring(struct jp *jp, size_t *lenp)
{
	const unsigned char *q;
	size_t n = 0;
	char *out;

	if (jp->p >= jp->end || *jp->p != '"')
		return NULL;
	jp->p++;
	/*
	 * Room for the string's own bytes: no escape decodes to more bytes
	 * than it takes (\uXXXX is 6 for at most 3, a surrogate pair 12 for
	 * 4). Not the whole rest of the input: that made parsing a big
	 * document quadratic.
	 */
	for (q = jp->p; q < jp->end && *q != '"'; q += *q == '\\' ? 2 : 1)
		;
	out = malloc((size_t)(q - jp->p) + 8);
	while (jp->p < jp->end && *jp->p != '"') {
		unsigned long cp;
		size_t k;

		if (*jp->p < 0x20)
			goto bad;		/* raw control characters */
		if (*jp->p != '\\') {
			k = decode_utf8(jp->p, jp->end, &cp);
			if (!k)
				goto bad;	/* JSON text is UTF-8 */
			memcpy(out + n, jp->p, k);
			n += k;
			jp->p += k;
			continue;
		}
		if (jp->end - jp->p < 2)
			goto bad;
		jp->p++;
		switch (*jp->p++) {
		case '"':  out[n++] = '"'; break;
		case '\\': out[n++] = '\\'; break;
		case '/':  out[n++] = '/'; break;
		case 'b':  out[n++] = '\b'; break;
		case 'f':  out[n++] = '\f'; break;
		case 'n':  out[n++] = '\n'; break;
		case 'r':  out[n++] = '\r'; break;
		case 't':  out[n++] = '\t'; break;
		case 'u':
			if (jp->end - jp->p < 4 || hex4(jp->p, &cp))
				goto bad;
			jp->p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				unsigned long lo;

				if (jp->end - jp->p < 6 || jp->p[0] != '\\' ||
				    jp->p[1] != 'u' || hex4(jp->p + 2, &lo) ||
				    lo < 0xdc00 || lo > 0xdfff)
					goto bad;
				jp->p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				goto bad;
			}
			put_utf8(out, &n, cp);
			break;
		default:
			goto bad;
		}
	}
	if (jp->p >= jp->end)
		goto bad;
	jp->p++;
	out[n] = '\0';
	*lenp = n;
	return out;
bad:
	free(out);
	return NULL;
}

static struct jval *jvalue(struct jp *jp, int depth);

static struct jval *jcontainer(struct jp *jp, int depth, bool object)
{
	struct jval *v = calloc(1, sizeof(*v));
	char close = object ? '}' : ']';

	v->t = object ? J_OBJ : J_ARR;
	jp->p++;
	jws(jp);
	if (jp->p < jp->end && *jp->p == close) {
		jp->p++;
		return v;
	}
	for (;;) {
		char *key = NULL;
		struct jval *item;
		size_t klen;

		jws(jp);
		if (object) {
			key = jstring(jp, &klen);
			if (!key)
				goto bad;
			jws(jp);
			if (jp->p >= jp->end || *jp->p != ':') {
				free(key);
				goto bad;
			}
			jp->p++;
		}
		item = jvalue(jp, depth + 1);
		if (!item) {
			free(key);
			goto bad;
		}
		v->items = realloc(v->items, (v->n + 1) * sizeof(*v->items));
		v->items[v->n] = item;
		if (object) {
			v->keys = realloc(v->keys, (v->n + 1) * sizeof(*v->keys));
			v->keys[v->n] = key;
		}
		v->n++;
		jws(jp);
		if (jp->p < jp->end && *jp->p == ',') {
			jp->p++;
			continue;
		}
		if (jp->p < jp->end && *jp->p == close) {
			jp->p++;
			return v;
		}
		goto bad;
	}
bad:
	jfree(v);
	return NULL;
}

static struct jval *jnumber(struct jp *jp)
{
	const unsigned char *start = jp->p;
	struct jval *v;

	if (jp->p < jp->end && *jp->p == '-')
		jp->p++;
	if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
		return NULL;
	if (*jp->p == '0')
		jp->p++;
	else
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	if (jp->p < jp->end && *jp->p == '.') {
		jp->p++;
		if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
			return NULL;
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	}
	if (jp->p < jp->end && (*jp->p == 'e' || *jp->p == 'E')) {
		jp->p++;
		if (jp->p < jp->end && (*jp->p == '+' || *jp->p == '-'))
			jp->p++;
		if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')
			return NULL;
		while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')
			jp->p++;
	}
	v = calloc(1, sizeof(*v));
	v->t = J_NUM;
	v->str = strndup((const char *)start, (size_t)(jp->p - start));
	return v;
}

static bool jliteral(struct jp *jp, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, lit, n))
		return false;
	jp->p += n;
	return true;
}

static struct jval *jvalue(struct jp *jp, int depth)
{
	struct jval *v;

	if (depth > 64)
		return NULL;
	jws(jp);
	if (jp->p >= jp->end)
		return NULL;
	switch (*jp->p) {
	case '{':
		return jcontainer(jp, depth, true);
	case '[':
		return jcontainer(jp, depth, false);
	case '"':
		v = calloc(1, sizeof(*v));
		v->t = J_STR;
		v->str = jstring(jp, &v->len);
		if (!v->str) {
			free(v);
			return NULL;
		}
		return v;
	case 't': case 'f': case 'n':
		v = calloc(1, sizeof(*v));
		if (jliteral(jp, "true")) {
			v->t = J_BOOL;
			v->b = true;
		} else if (jliteral(jp, "false")) {
			v->t = J_BOOL;
		} else if (jliteral(jp, "null")) {
			v->t = J_NULL;
		} else {
			free(v);
			return NULL;
		}
		return v;
	default:
		return jnumber(jp);
	}
}

/* Exactly one JSON document (and blanks) in [s, s+len). */
static struct jval *jparse_n(const char *s, size_t len)
{
	struct jp jp = { (const unsigned char *)s, (const unsigned char *)s + len };
	struct jval *v = jvalue(&jp, 0);

	jws(&jp);
	if (v && jp.p != jp.end) {
		jfree(v);
		return NULL;
	}
	return v;
}

static struct jval *jparse(const char *s)
{
	return jparse_n(s, strlen(s));
}

static struct jval *jget(const struct jval *obj, const char *key)
{
	size_t i;

	if (!obj || obj->t != J_OBJ)
		return NULL;
	for (i = 0; i < obj->n; i++)
		if (!strcmp(obj->keys[i], key))
			return obj->items[i];
	return NULL;
}

static bool jstr_is(const struct jval *v, const char *s)
{
	return v && v->t == J_STR && v->len == strlen(s) && !memcmp(v->str, s, v->len);
}

static bool jnum_is(const struct jval *v, const char *s)
{
	return v && v->t == J_NUM && !strcmp(v->str, s);
}

static bool jbool_is(const struct jval *v, bool b)
{
	return v && v->t == J_BOOL && v->b == b;
}

/* Structural equality, keys in order. */
static bool jequal(const struct jval *a, const struct jval *b)
{
	size_t i;

	if (!a || !b || a->t != b->t || a->n != b->n)
		return false;
	switch (a->t) {
	case J_BOOL:
		return a->b == b->b;
	case J_NUM:
		return !strcmp(a->str, b->str);
	case J_STR:
		return a->len == b->len && !memcmp(a->str, b->str, a->len);
	case J_ARR:
	case J_OBJ:
		for (i = 0; i < a->n; i++)
			if ((a->keys && strcmp(a->keys[i], b->keys[i])) ||
			    !jequal(a->items[i], b->items[i]))
				return false;
		return true;
	default:
		return true;
	}
}

/* ---- capturing the printer's output ------------------------------------- */

static char *cap_buf;
static size_t cap_len;
static FILE *cap_fp;

static void cap_begin(bool json, bool pretty)
{
	cap_fp = open_memstream(&cap_buf, &cap_len);
	print_init(cap_fp, json, pretty);
}

/* The output so far, owned by the caller. */
static char *cap_end(void)
{
	fclose(cap_fp);
	print_init(stdout, false, false);
	return cap_buf;
}

static char *json_of_string(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	json_write_string(fp, s);
	fclose(fp);
	return buf;
}

/*
 * What the JSON string for s must decode to: valid UTF-8 characters as they
 * are, every other byte as the code point of the same value.
 */
static char *expected_decoding(const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
	char *out = malloc(2 * strlen(s) + 1);
	size_t n = 0;

	while (p < end) {
		unsigned long cp;
		size_t k = decode_utf8(p, end, &cp);

		if (k) {
			memcpy(out + n, p, k);
			n += k;
			p += k;
		} else {
			put_utf8(out, &n, *p++);
		}
	}
	out[n] = '\0';
	return out;
}

static void check_escape(const char *name, const char *in, const char *want)
{
	char *got = json_of_string(in);
	struct jval *v = jparse(got);
	char *dec = expected_decoding(in);
	char full[160];

	snprintf(full, sizeof(full), "json escape: %s: exact", name);
	CHECK(full, !strcmp(got, want));
	snprintf(full, sizeof(full), "json escape: %s: parses and decodes back", name);
	CHECK(full, jstr_is(v, dec));
	jfree(v);
	free(dec);
	free(got);
}

static void test_json_escape(void)
{
	check_escape("plain", "abc/def", "\"abc/def\"");
	check_escape("empty", "", "\"\"");
	check_escape("quote and backslash", "a\"b\\c", "\"a\\\"b\\\\c\"");
	check_escape("short escapes", "\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"");
	check_escape("other controls", "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
	check_escape("2-byte UTF-8 passes", "caf\xc3\xa9", "\"caf\xc3\xa9\"");
	check_escape("3-byte UTF-8 passes", "\xe2\x82\xac", "\"\xe2\x82\xac\"");
	check_escape("4-byte UTF-8 passes", "\xf0\x9d\x84\x9e", "\"\xf0\x9d\x84\x9e\"");
	check_escape("lone 0xff", "a\xff" "b", "\"a\\u00ffb\"");
	check_escape("latin-1 e-acute", "caf\xe9", "\"caf\\u00e9\"");
	check_escape("truncated at end", "x\xc3", "\"x\\u00c3\"");
	check_escape("truncated 3-byte", "\xe2\x82x", "\"\\u00e2\\u0082x\"");
	check_escape("overlong slash", "\xc0\xaf", "\"\\u00c0\\u00af\"");
	check_escape("overlong 3-byte", "\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"");
	check_escape("surrogate", "\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"");
	check_escape("past U+10FFFF", "\xf4\x90\x80\x80",
		     "\"\\u00f4\\u0090\\u0080\\u0080\"");
	check_escape("stray continuation", "\x80", "\"\\u0080\"");

	/* Random byte strings: always valid JSON, always decoding as promised. */
	{
		unsigned int seed = 12345;
		int i, bad = 0;

		for (i = 0; i < 5000; i++) {
			char s[48];
			int len = 1 + (int)(rand_r(&seed) % 40), k;
			char *got, *dec;
			struct jval *v;

			for (k = 0; k < len; k++) {
				int r = rand_r(&seed) % 4;

				/* Bias towards UTF-8 lead and continuation bytes. */
				s[k] = (char)(r == 0 ? 0x80 + rand_r(&seed) % 64 :
					      r == 1 ? 0xc0 + rand_r(&seed) % 64 :
					      1 + rand_r(&seed) % 255);
			}
			s[len] = '\0';
			got = json_of_string(s);
			v = jparse(got);
			dec = expected_decoding(s);
			if (!jstr_is(v, dec))
				bad++;
			jfree(v);
			free(dec);
			free(got);
		}
		CHECK("json escape: 5000 random byte strings parse and decode", bad == 0);
	}
}

static void test_text_escape(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	text_write_string(fp, "a b\tc\\d\ne\x7f" "caf\xc3\xa9");
	fclose(fp);
	CHECK("text escape: blanks, controls, backslash as octal",
	      !strcmp(buf, "a\\040b\\011c\\134d\\012e\\177caf\xc3\xa9"));
	free(buf);
}

static void test_printer(void)
{
	char *out;
	struct jval *a, *b;

	cap_begin(true, false);
	open_json_object(NULL);
	print_string(PRINT_ANY, "s", "s %s", "v");
	open_json_array("arr");
	print_uint(PRINT_ANY, NULL, "%u", 1);
	print_u64(PRINT_ANY, NULL, "%" PRIu64, UINT64_MAX);
	open_json_object(NULL);
	close_json_object();
	open_json_array(NULL);
	close_json_array();
	close_json_array();
	print_bool(PRINT_ANY, "t", "%s", true);
	print_on_off(PRINT_ANY, "f", "%s", false);
	print_hex(PRINT_ANY, "h", "%s", (const uint8_t *)"\x01\xab", 2);
	print_string(PRINT_FP, "textonly", "%s", "x");
	print_text("text only\n");
	close_json_object();
	print_end();
	out = cap_end();
	CHECK("printer: compact JSON exact",
	      !strcmp(out, "{\"s\":\"v\",\"arr\":[1,18446744073709551615,{},[]],"
			   "\"t\":true,\"f\":false,\"h\":\"01ab\"}\n"));
	a = jparse(out);
	CHECK("printer: compact JSON parses", a && a->t == J_OBJ && a->n == 5);
	free(out);

	cap_begin(true, true);
	open_json_object(NULL);
	print_string(PRINT_ANY, "s", "s %s", "v");
	open_json_array("arr");
	print_uint(PRINT_ANY, NULL, "%u", 1);
	print_u64(PRINT_ANY, NULL, "%" PRIu64, UINT64_MAX);
	open_json_object(NULL);
	close_json_object();
	open_json_array(NULL);
	close_json_array();
	close_json_array();
	print_bool(PRINT_ANY, "t", "%s", true);
	print_on_off(PRINT_ANY, "f", "%s", false);
	print_hex(PRINT_ANY, "h", "%s", (const uint8_t *)"\x01\xab", 2);
	close_json_object();
	print_end();
	out = cap_end();
	CHECK("printer: pretty JSON exact",
	      !strcmp(out, "{\n"
			   "    \"s\": \"v\",\n"
			   "    \"arr\": [\n"
			   "        1,\n"
			   "        18446744073709551615,\n"
			   "        {},\n"
			   "        []\n"
			   "    ],\n"
			   "    \"t\": true,\n"
			   "    \"f\": false,\n"
			   "    \"h\": \"01ab\"\n"
			   "}\n"));
	b = jparse(out);
	CHECK("printer: pretty JSON equals compact JSON", jequal(a, b));
	jfree(a);
	jfree(b);
	free(out);

	cap_begin(false, false);
	open_json_object(NULL);
	print_string(PRINT_ANY, "s", "s %s", "v w");
	print_uint(PRINT_ANY, "u", " u %u", 7);
	print_u64(PRINT_JSON, "jsononly", " never %" PRIu64, 1);
	print_on_off(PRINT_ANY, "o", " o %s", true);
	print_bool(PRINT_ANY, "b", " b %s", false);
	print_hex(PRINT_ANY, "h", " h %s", (const uint8_t *)"\xff", 1);
	close_json_object();
	print_text("\n");
	print_end();
	out = cap_end();
	CHECK("printer: text mode exact", !strcmp(out, "s v\\040w u 7 o on b false h ff\n"));
	free(out);

	cap_begin(true, false);
	open_json_array(NULL);
	close_json_array();
	print_end();
	open_json_object(NULL);
	close_json_object();
	print_end();
	out = cap_end();
	CHECK("printer: two documents, one per line", !strcmp(out, "[]\n{}\n"));
	free(out);

	cap_begin(true, true);
	open_json_array(NULL);
	close_json_array();
	print_end();
	out = cap_end();
	CHECK("printer: empty pretty array", !strcmp(out, "[]\n"));
	free(out);
}

static void fill_stores(struct store_list *l)
{
	static const struct { const char *name, *path; uint32_t chunks; uint64_t bytes; } s[] = {
		{ "zeta", "/srv/z", 0, 0 },
		{ "alpha", "/srv/my \"data\"\n\\x\xff", 3, 1ULL << 40 },
		{ "m.i-d_1", "/caf\xc3\xa9", 4294967295U, UINT64_MAX },
	};
	size_t i;

	memset(l, 0, sizeof(*l));
	l->items = calloc(3, sizeof(*l->items));
	l->cap = 3;
	for (i = 0; i < 3; i++) {
		l->items[i].name = strdup(s[i].name);
		l->items[i].path = strdup(s[i].path);
		l->items[i].chunks = s[i].chunks;
		l->items[i].bytes = s[i].bytes;
	}
	l->n = 3;
}

static void test_store_print(void)
{
	struct store_list l;
	struct jval *v;
	char *out;

	fill_stores(&l);
	store_list_sort(&l);
	CHECK("store: sorted by name", !strcmp(l.items[0].name, "alpha") &&
	      !strcmp(l.items[1].name, "m.i-d_1") && !strcmp(l.items[2].name, "zeta"));

	cap_begin(false, false);
	store_list_print(&l);
	out = cap_end();
	CHECK("store: text lines exact",
	      !strcmp(out,
		      "store alpha path /srv/my\\040\"data\"\\012\\134x\xff chunks 3 bytes 1099511627776\n"
		      "store m.i-d_1 path /caf\xc3\xa9 chunks 4294967295 bytes 18446744073709551615\n"
		      "store zeta path /srv/z chunks 0 bytes 0\n"));
	free(out);

	cap_begin(true, false);
	store_list_print(&l);
	out = cap_end();
	v = jparse(out);
	CHECK("store: JSON is an array of 3 objects",
	      v && v->t == J_ARR && v->n == 3 && v->items[0]->t == J_OBJ);
	CHECK("store: JSON keys and values",
	      v && v->n == 3 && v->items[0]->n == 4 &&
	      jstr_is(jget(v->items[0], "name"), "alpha") &&
	      jstr_is(jget(v->items[0], "path"), "/srv/my \"data\"\n\\x\xc3\xbf") &&
	      jnum_is(jget(v->items[0], "chunks"), "3") &&
	      jnum_is(jget(v->items[0], "bytes"), "1099511627776") &&
	      jstr_is(jget(v->items[1], "path"), "/caf\xc3\xa9") &&
	      jnum_is(jget(v->items[1], "bytes"), "18446744073709551615"));
	CHECK("store: compact JSON is one line",
	      strchr(out, '\n') == out + strlen(out) - 1);
	jfree(v);
	free(out);

	store_list_reset(&l);
	CHECK("store: reset empties the list", l.n == 0 && l.items == NULL);

	cap_begin(true, false);
	store_list_print(&l);
	out = cap_end();
	CHECK("store: empty list is []", !strcmp(out, "[]\n"));
	free(out);

	cap_begin(false, false);
	store_list_print(&l);
	out = cap_end();
	CHECK("store: empty list prints nothing in text", !strcmp(out, ""));
	free(out);
}

static void test_chunk_print(void)
{
	struct chunk_list l = { 0 };
	struct jval *v;
	char *out;
	size_t i;

	l.items = calloc(2, sizeof(*l.items));
	l.cap = 2;
	for (i = 0; i < 2; i++) {
		memset(l.items[i].id, i ? 0x01 : 0xab, DGFS_CHUNK_ID_LEN);
		l.items[i].store = strdup("s1");
		l.items[i].path = strdup(i ? "a/b c" : "x");
		l.items[i].size = i ? 0 : 4096;
	}
	l.n = 2;
	chunk_list_sort(&l);

	cap_begin(false, false);
	chunk_list_print(&l);
	out = cap_end();
	CHECK("chunk: text lines exact, sorted by id",
	      !strcmp(out,
		      "chunk 0101010101010101010101010101010101010101010101010101010101010101"
		      " store s1 path a/b\\040c size 0\n"
		      "chunk abababababababababababababababababababababababababababababababab"
		      " store s1 path x size 4096\n"));
	free(out);

	cap_begin(true, true);
	chunk_list_print(&l);
	out = cap_end();
	v = jparse(out);
	CHECK("chunk: pretty JSON keys and values",
	      v && v->t == J_ARR && v->n == 2 && v->items[1]->n == 4 &&
	      jstr_is(jget(v->items[1], "id"),
		      "abababababababababababababababababababababababababababababababab") &&
	      jstr_is(jget(v->items[1], "store"), "s1") &&
	      jstr_is(jget(v->items[1], "path"), "x") &&
	      jnum_is(jget(v->items[1], "size"), "4096") &&
	      jstr_is(jget(v->items[0], "path"), "a/b c"));
	jfree(v);
	free(out);
	chunk_list_reset(&l);

	/* The size the VM tests use: 10,000 chunks, compact JSON. */
	l.items = calloc(10000, sizeof(*l.items));
	l.cap = 10000;
	for (i = 0; i < 10000; i++) {
		memset(l.items[i].id, 0, DGFS_CHUNK_ID_LEN);
		l.items[i].id[0] = (uint8_t)(i >> 8);
		l.items[i].id[1] = (uint8_t)i;
		l.items[i].store = strdup("big");
		l.items[i].path = strdup("some/relative/path");
		l.items[i].size = i;
	}
	l.n = 10000;
	cap_begin(true, false);
	chunk_list_print(&l);
	out = cap_end();
	v = jparse(out);
	CHECK("chunk: 10000 chunks give a valid JSON array of 10000",
	      v && v->t == J_ARR && v->n == 10000 &&
	      jnum_is(jget(v->items[9999], "size"), "9999"));
	jfree(v);
	free(out);
	chunk_list_reset(&l);
}

static void test_config_stats_print(void)
{
	struct config_info c = { .valid = true, .port = 7878, .max_read = 1048576,
				 .auth = true, .key_set = false };
	struct stats_info s = { .valid = true, .val = { 1, 2, 3, 4, 5, 6, UINT64_MAX } };
	struct jval *v;
	char *out;

	cap_begin(false, false);
	config_print(&c);
	out = cap_end();
	CHECK("config: text line exact",
	      !strcmp(out, "config port 7878 max_read 1048576 auth on key unset\n"));
	free(out);

	cap_begin(true, false);
	config_print(&c);
	out = cap_end();
	CHECK("config: JSON exact",
	      !strcmp(out, "{\"port\":7878,\"max_read\":1048576,\"auth\":true,\"key_set\":false,"
			   "\"balance\":false}\n"));
	v = jparse(out);
	CHECK("config: JSON parses to an object of 5",
	      v && v->t == J_OBJ && v->n == 5 && jbool_is(jget(v, "auth"), true) &&
	      jbool_is(jget(v, "balance"), false) &&
	      jbool_is(jget(v, "key_set"), false) && jnum_is(jget(v, "port"), "7878"));
	jfree(v);
	free(out);

	c.auth = false;
	c.key_set = true;
	cap_begin(false, false);
	config_print(&c);
	out = cap_end();
	CHECK("config: text auth off key set",
	      !strcmp(out, "config port 7878 max_read 1048576 auth off key set\n"));
	free(out);

	c.balance = true;
	cap_begin(false, false);
	config_print(&c);
	out = cap_end();
	CHECK("config: text balance on, at the end",
	      !strcmp(out, "config port 7878 max_read 1048576 auth off key set balance on\n"));
	free(out);

	cap_begin(false, false);
	stats_print(&s);
	out = cap_end();
	CHECK("stats: text exact",
	      !strncmp(out, "stores 1\nchunks 2\nchunk_bytes 3\nlookups 4\nlookup_hits 5\n"
			   "obj_created 6\nobj_destroyed 18446744073709551615\nrequests 0\n",
		       strlen("stores 1\nchunks 2\nchunk_bytes 3\nlookups 4\nlookup_hits 5\n"
			      "obj_created 6\nobj_destroyed 18446744073709551615\nrequests 0\n")) &&
	      !strcmp(out + strlen(out) - strlen("bad_dst 0\n"), "bad_dst 0\n"));
	free(out);

	cap_begin(true, true);
	stats_print(&s);
	out = cap_end();
	v = jparse(out);
	CHECK("stats: pretty JSON object of every counter",
	      v && v->t == J_OBJ && v->n == STATS_NFIELDS &&
	      jnum_is(jget(v, "stores"), "1") && jnum_is(jget(v, "lookup_hits"), "5") &&
	      jnum_is(jget(v, "obj_destroyed"), "18446744073709551615"));
	jfree(v);
	free(out);

	/* With the latency histograms: 100 requests in (1024, 2048] ns,
	 * one disk read in the last bucket.
	 */
	s.have_latency = true;
	s.latency[0].b[1] = 100;
	s.latency[0].sum_ns = 150000;
	s.latency[1].b[DGFS_HIST_BUCKETS - 1] = 1;
	s.latency[1].sum_ns = 20000000000ULL;
	cap_begin(false, false);
	stats_print(&s);
	out = cap_end();
	CHECK("stats: text ends with a line per histogram, quantiles interpolated",
	      strlen(out) > 200 &&
	      !strcmp(out + strlen(out) - strlen("bad_dst 0\n"
			"request_latency count 100 sum_ns 150000 p50_ns 1536 p90_ns 1946 p99_ns 2038\n"
			"disk_latency count 1 sum_ns 20000000000 p50_ns 17179869184 "
			"p90_ns 17179869184 p99_ns 17179869184\n"),
		      "bad_dst 0\n"
		      "request_latency count 100 sum_ns 150000 p50_ns 1536 p90_ns 1946 p99_ns 2038\n"
		      "disk_latency count 1 sum_ns 20000000000 p50_ns 17179869184 "
		      "p90_ns 17179869184 p99_ns 17179869184\n"));
	free(out);

	cap_begin(true, false);
	stats_print(&s);
	out = cap_end();
	v = jparse(out);
	{
		struct jval *r = v ? jget(v, "request_latency") : NULL;
		struct jval *le = r ? jget(r, "le_ns") : NULL, *b = r ? jget(r, "buckets") : NULL;

		CHECK("stats: JSON has each histogram as an object beside the counters",
		      v && v->t == J_OBJ && v->n == STATS_NFIELDS + 2 && r && r->t == J_OBJ &&
		      jnum_is(jget(r, "count"), "100") && jnum_is(jget(r, "p50_ns"), "1536") &&
		      jget(v, "disk_latency"));
		CHECK("stats: JSON le_ns has the 25 bounds, 1024 .. 2^34",
		      le && le->t == J_ARR && le->n == DGFS_HIST_BUCKETS - 1 &&
		      jnum_is(le->items[0], "1024") && jnum_is(le->items[24], "17179869184"));
		CHECK("stats: JSON buckets has all 26, not cumulative",
		      b && b->t == J_ARR && b->n == DGFS_HIST_BUCKETS &&
		      jnum_is(b->items[0], "0") && jnum_is(b->items[1], "100") &&
		      jnum_is(b->items[2], "0"));
	}
	jfree(v);
	free(out);
}

/* The parser must refuse what is not JSON, or it would prove nothing. */
static void test_json_parser_itself(void)
{
	const char *bad[] = {
		"", "[", "[1,]", "{\"a\":1,}", "{a:1}", "\"a\nb\"", "\"\\x\"", "01",
		"[1 2]", "\"\xff\"", "\"\\ud800\"", "tru", "[] []", "{\"a\"}", "1.", "-",
	};
	const char *good[] = {
		"[]", "{}", " [1, -2.5e3, true, false, null, \"\\u00e9\\ud834\\udd1e\"] ",
		"{\"a\":{\"b\":[{}]}}", "0",
	};
	size_t i;
	int wrong = 0;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct jval *v = jparse(bad[i]);

		if (v)
			wrong++;
		jfree(v);
	}
	CHECK("json parser: rejects malformed documents", wrong == 0);
	wrong = 0;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct jval *v = jparse(good[i]);

		if (!v)
			wrong++;
		jfree(v);
	}
	CHECK("json parser: accepts well-formed documents", wrong == 0);
}

/* A frame of dgfs-top from two reads 2 s apart (top.c). */
static void test_top_render(void)
{
	static struct top_sample a, b;
	struct client_info before[2], after[3];
	char *out;
	size_t len = 0;
	FILE *fp;
	int i;

	a.at_ns = 1000000000;
	b.at_ns = 3000000000;
	b.wall = 0;
	a.have_latency = b.have_latency = true;
	a.val[TOP_REQUESTS] = 100;
	b.val[TOP_REQUESTS] = 2100;		/* 1000/s */
	b.val[TOP_REPLIES] = 2000;		/* 1000/s */
	a.val[TOP_BYTES] = 5;
	b.val[TOP_BYTES] = 5 + 8000000;		/* 4 MB/s */
	b.val[TOP_CACHE_MISSES] = 6;		/* 3/s */
	b.val[TOP_QUEUED] = 300;
	b.val[TOP_QUEUED_MAX] = 256;		/* 25% of 1024 */
	b.val[TOP_RING_FULL] = 10;		/* 5/s */
	a.request.b[1] = 50;			/* the earlier ones do not count */
	b.request.b[1] = 50 + 2000;		/* this interval's: (1024, 2048] */
	b.disk.b[20] = 4;			/* 2 reads/s, (2^29, 2^30] ns */
	memset(before, 0, sizeof(before));
	memset(after, 0, sizeof(after));
	before[0].addr[15] = 2;
	before[0].requests = 100;
	after[0].addr[15] = 2;
	after[0].requests = 300;		/* 200 in 2 s */
	after[1].addr[15] = 3;
	after[1].requests = 1900;		/* new: all of them */
	after[1].shared = true;
	after[2].addr[10] = after[2].addr[11] = 0xff;
	after[2].addr[12] = 198, after[2].addr[13] = 18, after[2].addr[15] = 9;
	after[2].requests = 1;
	a.clients = (struct client_list){ before, 1, 2 };
	b.clients = (struct client_list){ after, 3, 3 };
	client_list_rates(&b.clients, &a.clients);

	fp = open_memstream(&out, &len);
	top_render(fp, &a, &b, 2);
	fclose(fp);
	CHECK("top: requests, replies, MB/s, datagrams per second",
	      strstr(out, "\nrequests/s       1000  replies/s       1000  MB/s     4.00  "
			  "datagrams/s          0\n") != NULL);
	CHECK("top: latency percentiles of the interval only",
	      strstr(out, "\nlatency     p50 1.5us  p90 1.9us  p99 2.0us  (2000 requests)\n") != NULL);
	CHECK("top: disk reads per second and their percentiles",
	      strstr(out, "\ndisk reads/s      2  p50 805ms  p90 1.02s  p99 1.07s\n") != NULL);
	CHECK("top: cache misses, rings' backlog and drops",
	      strstr(out, "\ncache misses/s      3  slow reads now 0\n") &&
	      strstr(out, "\nrings     queued 300  fullest 256/1024 (25%)  dropped/s ring_full 5 "
			  "client_full 0  overloaded/s 0\n"));
	CHECK("top: the busiest clients first, by rate; only 2 of 3",
	      strstr(out, "\n::3                                             950         1900  (shared flow)\n"
			  "::2                                             100          300\n"
			  "... and 1 more\n") != NULL);
	free(out);

	b.clients_err = -EPERM;
	fp = open_memstream(&out, &len);
	top_render(fp, &a, &b, 2);
	fclose(fp);
	CHECK("top: clients refused: says why",
	      strstr(out, "\nclients: not shown (needs CAP_NET_ADMIN)\n") != NULL);
	free(out);

	/* An IPv4 client prints as one; a list merges one address's flows. */
	{
		struct client_info m[3];
		struct client_list l = { m, 3, 3 };
		char buf[64];

		memset(m, 0, sizeof(m));
		for (i = 0; i < 3; i++)
			m[i].addr[15] = (uint8_t)(i == 1 ? 7 : 5);
		m[0].requests = 1, m[1].requests = 10, m[2].requests = 4;
		client_list_merge(&l);
		CHECK("clients: merged per address, busiest first",
		      l.n == 2 && m[0].addr[15] == 7 && m[0].requests == 10 &&
		      m[1].addr[15] == 5 && m[1].requests == 5);
		CHECK("clients: IPv4-mapped printed as IPv4",
		      !strcmp(client_addr_str(after[2].addr, buf, sizeof(buf)), "198.18.0.9"));
	}
}

int main(void)
{
	test_json_parser_itself();
	test_json_escape();
	test_text_escape();
	test_printer();
	test_store_print();
	test_chunk_print();
	test_config_stats_print();
	test_top_render();
	return failures ? 1 : 0;
}
