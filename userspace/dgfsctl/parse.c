// SPDX-License-Identifier: GPL-2.0
/* dgfsctl: parsing of command-line values, keyword lists and batch lines. */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "proto/hex.h"
#include "proto/size.h"

/* Exactly 2 * len hex digits, either case, nothing else. */
const char *parse_hex(const char *s, uint8_t *out, size_t len)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (dgfs_hex_digit(s[i]) < 0)
			return "not hexadecimal";
	return dgfs_hex_decode(s, out, len) ? "wrong length" : NULL;
}

const char *parse_chunk_id(const char *s, uint8_t id[DGFS_CHUNK_ID_LEN])
{
	const char *why = parse_hex(s, id, DGFS_CHUNK_ID_LEN);

	if (why && !strcmp(why, "wrong length"))
		return "must be 64 hexadecimal characters";
	return why;
}

const char *parse_auth_key(const char *s, uint8_t key[DGFS_AUTH_KEY_LEN])
{
	const char *why = parse_hex(s, key, DGFS_AUTH_KEY_LEN);

	if (why && !strcmp(why, "wrong length"))
		return "must be 32 hexadecimal characters";
	return why;
}

const char *parse_size(const char *s, uint64_t *out)
{
	return dgfs_size_parse(s, out);
}

const char *parse_port(const char *s, uint16_t *out)
{
	unsigned long val = 0;
	const char *p = s;

	if (!*p)
		return "empty";
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return "not a number";
		val = val * 10 + (unsigned long)(*p - '0');
		if (val > 65535)
			return "out of range (1..65535)";
	}
	if (val == 0)
		return "out of range (1..65535)";
	*out = (uint16_t)val;
	return NULL;
}

const char *parse_max_read(const char *s, uint32_t *out)
{
	uint64_t val;
	const char *why = parse_size(s, &val);

	if (why)
		return why;
	if (val < 1 || val > DGFS_MAX_READ_LIMIT)
		return "out of range (1..16M)";
	*out = (uint32_t)val;
	return NULL;
}

const char *parse_on_off(const char *s, bool *out)
{
	if (!strcmp(s, "on"))
		*out = true;
	else if (!strcmp(s, "off"))
		*out = false;
	else
		return "must be on or off";
	return NULL;
}

/*
 * The rule of the uapi header (1..DGFS_STORE_NAME_MAX-1 bytes of
 * [A-Za-z0-9_.-], not "." or ".."); the kernel checks it again.
 */
const char *parse_store_name(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0)
		return "empty";
	if (n > DGFS_STORE_NAME_MAX - 1)
		return "longer than 31 characters";
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return "may only contain A-Z a-z 0-9 _ . -";
	}
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return "may not be \".\" or \"..\"";
	return NULL;
}

/* Only what no kernel could accept: an empty path or one past PATH_MAX. */
const char *parse_path(const char *s)
{
	if (!*s)
		return "empty";
	if (strlen(s) >= PATH_MAX)
		return "too long";
	return NULL;
}

const char *parse_key_source(const char *s)
{
	uint8_t key[DGFS_AUTH_KEY_LEN];
	const char *why;

	if (!strcmp(s, "random") || !strcmp(s, "-"))
		return NULL;
	why = parse_auth_key(s, key);
	if (why && !strcmp(why, "not hexadecimal"))
		why = "must be 32 hexadecimal characters, random or -";
	return why;
}

const char *kw_store_name(const char *arg, void *dst)
{
	const char *why = parse_store_name(arg);

	if (!why)
		*(const char **)dst = arg;
	return why;
}

const char *kw_path(const char *arg, void *dst)
{
	const char *why = parse_path(arg);

	if (!why)
		*(const char **)dst = arg;
	return why;
}

const char *kw_string(const char *arg, void *dst)
{
	*(const char **)dst = arg;
	return NULL;
}

const char *kw_size(const char *arg, void *dst)
{
	return parse_size(arg, dst);
}

const char *kw_port(const char *arg, void *dst)
{
	return parse_port(arg, dst);
}

const char *kw_max_read(const char *arg, void *dst)
{
	return parse_max_read(arg, dst);
}

const char *kw_on_off(const char *arg, void *dst)
{
	return parse_on_off(arg, dst);
}

const char *kw_key_source(const char *arg, void *dst)
{
	const char *why = parse_key_source(arg);

	if (!why)
		*(const char **)dst = arg;
	return why;
}

int parse_keywords(int argc, char **argv, struct keyword *kw, size_t nkw,
		   char *err, size_t errlen)
{
	size_t k;
	int i;

	for (k = 0; k < nkw; k++)
		kw[k].seen = false;

	for (i = 0; i < argc; i += 2) {
		const char *why;

		for (k = 0; k < nkw; k++)
			if (!strcmp(argv[i], kw[k].name))
				break;
		if (k == nkw) {
			snprintf(err, errlen, "unknown keyword \"%s\"", argv[i]);
			return -1;
		}
		if (kw[k].seen) {
			snprintf(err, errlen, "keyword \"%s\" given twice", kw[k].name);
			return -1;
		}
		if (i + 1 >= argc) {
			snprintf(err, errlen, "keyword \"%s\" needs a value", kw[k].name);
			return -1;
		}
		why = kw[k].parse(argv[i + 1], kw[k].dst);
		if (why) {
			snprintf(err, errlen, "invalid %s \"%s\": %s",
				 kw[k].name, argv[i + 1], why);
			return -1;
		}
		kw[k].seen = true;
	}

	for (k = 0; k < nkw; k++) {
		if (kw[k].required && !kw[k].seen) {
			snprintf(err, errlen, "missing keyword \"%s\"", kw[k].name);
			return -1;
		}
	}
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	       c == '\v' || c == '\f';
}

int split_line(char *line, char ***argvp, const char **reason)
{
	char **argv = NULL;
	size_t argc = 0, cap = 0;
	char *in = line, *out;

	*argvp = NULL;
	for (;;) {
		char *word;

		while (is_blank(*in))
			in++;
		if (!*in || *in == '#')
			break;

		/* Unquoting only shrinks a word, so it is done in place. */
		word = out = in;
		while (*in && !is_blank(*in)) {
			if (*in == '\'') {
				in++;
				while (*in && *in != '\'')
					*out++ = *in++;
				if (!*in)
					goto unterminated;
				in++;
			} else if (*in == '"') {
				in++;
				while (*in && *in != '"') {
					if (*in == '\\' && (in[1] == '"' || in[1] == '\\'))
						in++;
					*out++ = *in++;
				}
				if (!*in)
					goto unterminated;
				in++;
			} else if (*in == '\\') {
				if (!in[1]) {
					*reason = "backslash at the end of the line";
					goto fail;
				}
				in++;
				*out++ = *in++;
			} else {
				*out++ = *in++;
			}
		}
		/* in is at a blank or the end; out <= in, so this is safe. */
		if (*in)
			in++;
		*out = '\0';

		if (argc + 2 > cap) {
			size_t ncap = cap ? 2 * cap : 8;
			char **n = realloc(argv, ncap * sizeof(*argv));

			if (!n) {
				*reason = "out of memory";
				goto fail;
			}
			argv = n;
			cap = ncap;
		}
		argv[argc++] = word;
	}

	if (argc == 0) {
		free(argv);
		return 0;
	}
	argv[argc] = NULL;
	*argvp = argv;
	return (int)argc;

unterminated:
	*reason = "unterminated quote";
fail:
	free(argv);
	return -1;
}
