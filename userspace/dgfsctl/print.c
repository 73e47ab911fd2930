// SPDX-License-Identifier: GPL-2.0
/* dgfsctl: one print path for text and JSON. */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

#include "print.h"

#define JSON_MAX_DEPTH 8

static struct {
	FILE *fp;
	bool json;
	bool pretty;
	int depth;
	/* Per open container: nothing written into it yet / it is an object. */
	bool empty[JSON_MAX_DEPTH];
	bool object[JSON_MAX_DEPTH];
} pr = { .fp = NULL };

void print_init(FILE *fp, bool json, bool pretty)
{
	pr.fp = fp;
	pr.json = json;
	pr.pretty = pretty;
	pr.depth = 0;
}

bool print_is_json(void)
{
	return pr.json;
}

static FILE *out(void)
{
	return pr.fp ? pr.fp : stdout;
}

/* Length of a valid UTF-8 sequence at s, or 0 if the bytes are not one. */
static size_t utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		/* No overlong forms (E0 80..9F) and no surrogates (ED A0..BF). */
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0;
		return ((s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		/* No overlong forms (F0 80..8F) and nothing past U+10FFFF. */
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0;
		return ((s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80 &&
			(s[3] & 0xc0) == 0x80) ? 4 : 0;
	}
	return 0;
}

/*
 * Valid UTF-8 passes through; every byte that is not part of a valid
 * sequence (a path is just bytes) comes out as \u00XX, i.e. as if it were
 * Latin-1, which keeps the output valid JSON.
 */
void json_write_string(FILE *fp, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', fp);
	while (*s) {
		unsigned char c = *s;
		size_t n;

		switch (c) {
		case '"':  fputs("\\\"", fp); s++; continue;
		case '\\': fputs("\\\\", fp); s++; continue;
		case '\b': fputs("\\b", fp); s++; continue;
		case '\f': fputs("\\f", fp); s++; continue;
		case '\n': fputs("\\n", fp); s++; continue;
		case '\r': fputs("\\r", fp); s++; continue;
		case '\t': fputs("\\t", fp); s++; continue;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(fp, "\\u%04x", c);
			s++;
		} else if (c < 0x80) {
			fputc(c, fp);
			s++;
		} else if ((n = utf8_seq_len(s)) > 0) {
			fwrite(s, 1, n, fp);
			s += n;
		} else {
			fprintf(fp, "\\u%04x", c);
			s++;
		}
	}
	fputc('"', fp);
}

void text_write_string(FILE *fp, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	for (; *s; s++) {
		if (*s <= ' ' || *s == 0x7f || *s == '\\')
			fprintf(fp, "\\%03o", *s);
		else
			fputc(*s, fp);
	}
}

static void json_indent(void)
{
	int i;

	fputc('\n', out());
	for (i = 0; i < pr.depth; i++)
		fputs("    ", out());
}

/* Separator, indentation and key before a value at the current level. */
static void json_start_value(const char *key)
{
	FILE *fp = out();

	if (pr.depth > 0) {
		if (!pr.empty[pr.depth - 1])
			fputc(',', fp);
		pr.empty[pr.depth - 1] = false;
		if (pr.pretty)
			json_indent();
		if (pr.object[pr.depth - 1]) {
			/* A value in an object without a key is a bug here. */
			json_write_string(fp, key ? key : "");
			fputs(pr.pretty ? ": " : ":", fp);
		}
	}
}

static void json_open(const char *key, bool object)
{
	if (!pr.json)
		return;
	if (pr.depth >= JSON_MAX_DEPTH)
		abort();
	json_start_value(key);
	fputc(object ? '{' : '[', out());
	pr.empty[pr.depth] = true;
	pr.object[pr.depth] = object;
	pr.depth++;
}

static void json_close(bool object)
{
	if (!pr.json)
		return;
	if (pr.depth <= 0 || pr.object[pr.depth - 1] != object)
		abort();
	pr.depth--;
	if (pr.pretty && !pr.empty[pr.depth])
		json_indent();
	fputc(object ? '}' : ']', out());
}

void open_json_object(const char *key)
{
	json_open(key, true);
}

void close_json_object(void)
{
	json_close(true);
}

void open_json_array(const char *key)
{
	json_open(key, false);
}

void close_json_array(void)
{
	json_close(false);
}

void print_end(void)
{
	if (pr.json && pr.depth == 0)
		fputc('\n', out());
}

static bool want_json(enum output_type t)
{
	return pr.json && (t & PRINT_JSON);
}

/* Text formats are the callers' literals, each taking one value. */
static bool want_text(enum output_type t, const char *fmt)
{
	return !pr.json && (t & PRINT_FP) && fmt;
}

void print_string(enum output_type t, const char *key, const char *fmt,
		  const char *val)
{
	if (want_json(t)) {
		json_start_value(key);
		json_write_string(out(), val);
	} else if (want_text(t, fmt)) {
		char *esc = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&esc, &len);

		if (!mem)
			abort();
		text_write_string(mem, val);
		if (fclose(mem))
			abort();
		fprintf(out(), fmt, esc);
		free(esc);
	}
}

void print_uint(enum output_type t, const char *key, const char *fmt,
		unsigned int val)
{
	if (want_json(t)) {
		json_start_value(key);
		fprintf(out(), "%u", val);
	} else if (want_text(t, fmt)) {
		fprintf(out(), fmt, val);
	}
}

void print_u64(enum output_type t, const char *key, const char *fmt,
	       uint64_t val)
{
	if (want_json(t)) {
		json_start_value(key);
		fprintf(out(), "%" PRIu64, val);
	} else if (want_text(t, fmt)) {
		fprintf(out(), fmt, val);
	}
}

static void print_bool_words(enum output_type t, const char *key,
			     const char *fmt, bool val,
			     const char *yes, const char *no)
{
	if (want_json(t)) {
		json_start_value(key);
		fputs(val ? "true" : "false", out());
	} else if (want_text(t, fmt)) {
		fprintf(out(), fmt, val ? yes : no);
	}
}

void print_bool(enum output_type t, const char *key, const char *fmt, bool val)
{
	print_bool_words(t, key, fmt, val, "true", "false");
}

void print_on_off(enum output_type t, const char *key, const char *fmt, bool val)
{
	print_bool_words(t, key, fmt, val, "on", "off");
}

void print_hex(enum output_type t, const char *key, const char *fmt,
	       const uint8_t *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *hex = malloc(2 * len + 1);
	size_t i;

	if (!hex)
		abort();
	for (i = 0; i < len; i++) {
		hex[2 * i] = digits[buf[i] >> 4];
		hex[2 * i + 1] = digits[buf[i] & 0xf];
	}
	hex[2 * len] = '\0';
	print_string(t, key, fmt, hex);
	free(hex);
}

void print_text(const char *fmt, ...)
{
	va_list ap;

	if (pr.json)
		return;
	va_start(ap, fmt);
	vfprintf(out(), fmt, ap);
	va_end(ap);
}
