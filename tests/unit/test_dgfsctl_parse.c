// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of dgfsctl's value parsers, keyword tables and batch line
 * splitting (userspace/dgfsctl/parse.c). One line per check, PASS or FAIL;
 * the exit status is non-zero if any check failed.
 */

/* expect-checks: 126 (tests/run-all.sh: a run that prints fewer fails) */

#include "proto/hex.c"
#include "proto/size.c"
#include "dgfsctl/parse.c"

#include <stdio.h>
#include <string.h>

#include "check.h"

static void test_chunk_id(void)
{
	const char *lower = "000102030405060708090a0b0c0d0e0f"
			    "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
	const char *upper = "000102030405060708090A0B0C0D0E0F"
			    "F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF";
	uint8_t id[DGFS_CHUNK_ID_LEN], expect[DGFS_CHUNK_ID_LEN], untouched[DGFS_CHUNK_ID_LEN];
	char buf[80];
	int i;

	for (i = 0; i < 16; i++) {
		expect[i] = (uint8_t)i;
		expect[16 + i] = (uint8_t)(0xf0 + i);
	}
	CHECK("chunk id: lowercase parses", parse_chunk_id(lower, id) == NULL &&
	      !memcmp(id, expect, sizeof(id)));
	memset(id, 0, sizeof(id));
	CHECK("chunk id: uppercase parses", parse_chunk_id(upper, id) == NULL &&
	      !memcmp(id, expect, sizeof(id)));

	memset(id, 0x5a, sizeof(id));
	memcpy(untouched, id, sizeof(id));
	snprintf(buf, sizeof(buf), "%.63s", lower);
	CHECK("chunk id: 63 digits rejected", parse_chunk_id(buf, id) != NULL);
	snprintf(buf, sizeof(buf), "%s0", lower);
	CHECK("chunk id: 65 digits rejected", parse_chunk_id(buf, id) != NULL);
	CHECK("chunk id: empty rejected", parse_chunk_id("", id) != NULL);
	snprintf(buf, sizeof(buf), "%.63sg", lower);
	CHECK("chunk id: non-hex last char rejected", parse_chunk_id(buf, id) != NULL);
	snprintf(buf, sizeof(buf), "0x%.62s", lower);
	CHECK("chunk id: 0x prefix rejected", parse_chunk_id(buf, id) != NULL);
	snprintf(buf, sizeof(buf), " %.63s", lower);
	CHECK("chunk id: leading blank rejected", parse_chunk_id(buf, id) != NULL);
	CHECK("chunk id: output untouched on failure", !memcmp(id, untouched, sizeof(id)));
	CHECK("chunk id: length error names 64 digits",
	      strstr(parse_chunk_id("abcd", id), "64") != NULL);
}

static void test_auth_key(void)
{
	uint8_t key[DGFS_AUTH_KEY_LEN];

	CHECK("auth key: 32 digits parse",
	      parse_auth_key("00112233445566778899aabbccddeeff", key) == NULL &&
	      key[0] == 0x00 && key[1] == 0x11 && key[15] == 0xff);
	CHECK("auth key: 31 digits rejected",
	      parse_auth_key("00112233445566778899aabbccddeef", key) != NULL);
	CHECK("auth key: 64 digits rejected",
	      parse_auth_key("00112233445566778899aabbccddeeff"
			     "00112233445566778899aabbccddeeff", key) != NULL);
	CHECK("key source: random", parse_key_source("random") == NULL);
	CHECK("key source: -", parse_key_source("-") == NULL);
	CHECK("key source: hex", parse_key_source("00112233445566778899AABBCCDDEEFF") == NULL);
	CHECK("key source: randomx rejected", parse_key_source("randomx") != NULL);
	CHECK("key source: -- rejected", parse_key_source("--") != NULL);
	CHECK("key source: short hex rejected", parse_key_source("0011") != NULL);
}

static void test_size(void)
{
	struct { const char *in; uint64_t out; } good[] = {
		{ "0", 0 }, { "1", 1 }, { "007", 7 }, { "1K", 1024 }, { "1k", 1024 },
		{ "2M", 2ULL << 20 }, { "2m", 2ULL << 20 }, { "3G", 3ULL << 30 },
		{ "3g", 3ULL << 30 }, { "16777216", 16777216 },
		{ "18446744073709551615", UINT64_MAX },
		{ "17179869183G", 17179869183ULL << 30 },
		{ "18014398509481983K", 18014398509481983ULL << 10 },
		{ "1T", 1ULL << 40 }, { "5t", 5ULL << 40 }, { "16777215T", 16777215ULL << 40 },
	};
	const char *bad[] = {
		"", "K", "-1", "+1", " 1", "1 ", "1KB", "1.5K", "0x10", "1P", "1e3", "16777216T", "1k\x20",
		"18446744073709551616", "99999999999999999999999", "17179869184G",
		"18014398509481984K", "1KK", "1-", "١",
	};
	size_t i;
	char name[128];

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t v = 12345;

		snprintf(name, sizeof(name), "size: \"%s\" = %llu", good[i].in,
			 (unsigned long long)good[i].out);
		CHECK(name, parse_size(good[i].in, &v) == NULL && v == good[i].out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 12345;

		snprintf(name, sizeof(name), "size: \"%s\" rejected", bad[i]);
		CHECK(name, parse_size(bad[i], &v) != NULL && v == 12345);
	}
	{
		uint64_t v;

		CHECK("size: overflow says too large",
		      !strcmp(parse_size("18446744073709551616", &v), "too large"));
		CHECK("size: suffix overflow says too large",
		      !strcmp(parse_size("17179869184G", &v), "too large"));
	}
}

static void test_port_and_max_read(void)
{
	uint16_t port = 7;
	uint32_t mr = 7;
	bool b = false;

	CHECK("port: 1", parse_port("1", &port) == NULL && port == 1);
	CHECK("port: 65535", parse_port("65535", &port) == NULL && port == 65535);
	CHECK("port: 7878", parse_port("7878", &port) == NULL && port == 7878);
	port = 7;
	CHECK("port: 0 rejected", parse_port("0", &port) != NULL && port == 7);
	CHECK("port: 00000 rejected", parse_port("00000", &port) != NULL);
	CHECK("port: 65536 rejected", parse_port("65536", &port) != NULL && port == 7);
	CHECK("port: huge rejected", parse_port("99999999999999999999999", &port) != NULL);
	CHECK("port: -1 rejected", parse_port("-1", &port) != NULL);
	CHECK("port: empty rejected", parse_port("", &port) != NULL);
	CHECK("port: 80a rejected", parse_port("80a", &port) != NULL);
	CHECK("port: 1K rejected", parse_port("1K", &port) != NULL);
	CHECK("port: 0x50 rejected", parse_port("0x50", &port) != NULL);

	CHECK("max_read: 1", parse_max_read("1", &mr) == NULL && mr == 1);
	CHECK("max_read: 16M is the limit",
	      parse_max_read("16M", &mr) == NULL && mr == DGFS_MAX_READ_LIMIT);
	CHECK("max_read: 64K", parse_max_read("64K", &mr) == NULL && mr == 65536);
	mr = 7;
	CHECK("max_read: 0 rejected", parse_max_read("0", &mr) != NULL && mr == 7);
	CHECK("max_read: limit+1 rejected", parse_max_read("16777217", &mr) != NULL);
	CHECK("max_read: 4G (u32 wrap) rejected", parse_max_read("4G", &mr) != NULL && mr == 7);
	CHECK("max_read: junk rejected", parse_max_read("big", &mr) != NULL);

	CHECK("on/off: on", parse_on_off("on", &b) == NULL && b);
	CHECK("on/off: off", parse_on_off("off", &b) == NULL && !b);
	CHECK("on/off: ON rejected", parse_on_off("ON", &b) != NULL);
	CHECK("on/off: o rejected (no prefixes)", parse_on_off("o", &b) != NULL);
	CHECK("on/off: 1 rejected", parse_on_off("1", &b) != NULL);
}

static void test_store_name(void)
{
	char name[64];

	CHECK("store name: a", parse_store_name("a") == NULL);
	CHECK("store name: all allowed chars",
	      parse_store_name("Az09_.-") == NULL);
	CHECK("store name: ...", parse_store_name("...") == NULL);
	CHECK("store name: .hidden", parse_store_name(".hidden") == NULL);
	memset(name, 'x', 31);
	name[31] = '\0';
	CHECK("store name: 31 chars", parse_store_name(name) == NULL);
	name[31] = 'x';
	name[32] = '\0';
	CHECK("store name: 32 chars rejected", parse_store_name(name) != NULL);
	CHECK("store name: empty rejected", parse_store_name("") != NULL);
	CHECK("store name: . rejected", parse_store_name(".") != NULL);
	CHECK("store name: .. rejected", parse_store_name("..") != NULL);
	CHECK("store name: slash rejected", parse_store_name("a/b") != NULL);
	CHECK("store name: blank rejected", parse_store_name("a b") != NULL);
	CHECK("store name: non-ASCII rejected", parse_store_name("caf\xc3\xa9") != NULL);
	CHECK("store name: newline rejected", parse_store_name("a\n") != NULL);

	CHECK("path: empty rejected", parse_path("") != NULL);
	CHECK("path: relative ok", parse_path("a/b") == NULL);
	{
		static char longpath[PATH_MAX + 1];

		memset(longpath, 'a', PATH_MAX);
		longpath[PATH_MAX] = '\0';
		CHECK("path: PATH_MAX chars rejected", parse_path(longpath) != NULL);
		longpath[PATH_MAX - 1] = '\0';
		CHECK("path: PATH_MAX-1 chars ok", parse_path(longpath) == NULL);
	}
}

static void test_keywords(void)
{
	const char *store = NULL, *file = NULL;
	uint64_t size = 0;
	struct keyword kw[] = {
		KEYWORD_REQUIRED("store", kw_store_name, &store),
		KEYWORD_REQUIRED("file", kw_path, &file),
		KEYWORD("size", kw_size, &size),
	};
	char err[256];

	{
		char *argv[] = { "file", "x/y", "size", "4K", "store", "s1" };

		CHECK("keywords: any order",
		      parse_keywords(6, argv, kw, ARRAY_SIZE(kw), err, sizeof(err)) == 0 &&
		      !strcmp(store, "s1") && !strcmp(file, "x/y") && size == 4096 &&
		      kw[0].seen && kw[1].seen && kw[2].seen);
	}
	{
		char *argv[] = { "store", "s1", "file", "f" };

		CHECK("keywords: optional may be absent",
		      parse_keywords(4, argv, kw, ARRAY_SIZE(kw), err, sizeof(err)) == 0 &&
		      !kw[2].seen);
	}
	{
		char *argv[] = { "store", "s1" };

		CHECK("keywords: missing required",
		      parse_keywords(2, argv, kw, ARRAY_SIZE(kw), err, sizeof(err)) == -1 &&
		      !strcmp(err, "missing keyword \"file\""));
	}
	{
		char *argv[] = { "store", "s1", "store", "s2", "file", "f" };

		CHECK("keywords: duplicate",
		      parse_keywords(6, argv, kw, ARRAY_SIZE(kw), err, sizeof(err)) == -1 &&
		      !strcmp(err, "keyword \"store\" given twice"));
	}
	{
		char *argv[] = { "store", "s1", "file", "f", "colour", "red" };

		CHECK("keywords: unknown",
		      parse_keywords(6, argv, kw, ARRAY_SIZE(kw), err, sizeof(err)) == -1 &&
		      !strcmp(err, "unknown keyword \"colour\""));
	}
	{
		char *argv[] = { "stor", "s1", "file", "f" };

		CHECK("keywords: no prefix matching",
		      parse_keywords(4, argv, kw, ARRAY_SIZE(kw), err, sizeof(err)) == -1 &&
		      strstr(err, "unknown keyword") != NULL);
	}
	{
		char *argv[] = { "store", "s1", "file" };

		CHECK("keywords: missing value",
		      parse_keywords(3, argv, kw, ARRAY_SIZE(kw), err, sizeof(err)) == -1 &&
		      !strcmp(err, "keyword \"file\" needs a value"));
	}
	{
		char *argv[] = { "store", "s1", "file", "f", "size", "-1" };

		CHECK("keywords: bad value names keyword and value",
		      parse_keywords(6, argv, kw, ARRAY_SIZE(kw), err, sizeof(err)) == -1 &&
		      strstr(err, "invalid size \"-1\"") == err);
	}
	{
		char *argv[] = { "store", "a/b", "file", "f" };

		CHECK("keywords: bad store name",
		      parse_keywords(4, argv, kw, ARRAY_SIZE(kw), err, sizeof(err)) == -1 &&
		      strstr(err, "invalid store \"a/b\"") == err);
	}
	{
		CHECK("keywords: empty list and a required keyword",
		      parse_keywords(0, NULL, kw, ARRAY_SIZE(kw), err, sizeof(err)) == -1);
	}
	{
		char *argv[] = { "file", "f", "store", "s", "size", "1" };
		char small[8];

		CHECK("keywords: error truncated safely",
		      parse_keywords(2, argv, kw, ARRAY_SIZE(kw), small, sizeof(small)) == -1 &&
		      strlen(small) == sizeof(small) - 1);
	}
}

/* Splits a copy of line; checks the words against the NULL-terminated want. */
static bool split_is(const char *line, const char *const *want)
{
	char *copy = strdup(line);
	char **argv;
	const char *why = NULL;
	int argc = split_line(copy, &argv, &why), n = 0;
	bool ok = true;

	while (want[n])
		n++;
	if (argc != n)
		ok = false;
	for (int i = 0; ok && i < n; i++)
		if (strcmp(argv[i], want[i]))
			ok = false;
	if (ok && argc > 0 && argv[argc] != NULL)
		ok = false;
	if (ok && argc == 0 && argv != NULL)
		ok = false;
	free(argv);
	free(copy);
	return ok;
}

static bool split_fails(const char *line)
{
	char *copy = strdup(line);
	char **argv = (char **)1;
	const char *why = NULL;
	int argc = split_line(copy, &argv, &why);

	free(copy);
	return argc == -1 && why != NULL && argv == NULL;
}

static void test_split_line(void)
{
	CHECK("split: plain words",
	      split_is("store add a path /x\n",
		       (const char *[]){ "store", "add", "a", "path", "/x", NULL }));
	CHECK("split: blanks, tabs and CRLF",
	      split_is("  \tstore\t show  \r\n", (const char *[]){ "store", "show", NULL }));
	CHECK("split: empty line", split_is("", (const char *[]){ NULL }));
	CHECK("split: blank line", split_is("   \t \n", (const char *[]){ NULL }));
	CHECK("split: comment line", split_is("# store del a\n", (const char *[]){ NULL }));
	CHECK("split: indented comment", split_is("   # x\n", (const char *[]){ NULL }));
	CHECK("split: trailing comment",
	      split_is("stats show # all of them\n", (const char *[]){ "stats", "show", NULL }));
	CHECK("split: # inside a word is literal",
	      split_is("file a#b", (const char *[]){ "file", "a#b", NULL }));
	CHECK("split: double quotes keep blanks",
	      split_is("path \"/my dir/x\"", (const char *[]){ "path", "/my dir/x", NULL }));
	CHECK("split: single quotes keep everything",
	      split_is("path '/a \"b\" \\c'", (const char *[]){ "path", "/a \"b\" \\c", NULL }));
	CHECK("split: escaped quote in double quotes",
	      split_is("\"a\\\"b\"", (const char *[]){ "a\"b", NULL }));
	CHECK("split: escaped backslash in double quotes",
	      split_is("\"a\\\\b\"", (const char *[]){ "a\\b", NULL }));
	CHECK("split: other backslash in double quotes is literal",
	      split_is("\"a\\nb\"", (const char *[]){ "a\\nb", NULL }));
	CHECK("split: backslash escapes a blank",
	      split_is("a\\ b c", (const char *[]){ "a b", "c", NULL }));
	CHECK("split: backslash escapes #",
	      split_is("\\#x", (const char *[]){ "#x", NULL }));
	CHECK("split: empty quoted word",
	      split_is("a \"\" b ''", (const char *[]){ "a", "", "b", "", NULL }));
	CHECK("split: adjacent quoted parts join",
	      split_is("\"a\"'b'c", (const char *[]){ "abc", NULL }));
	CHECK("split: quoted # is not a comment",
	      split_is("'#x' y", (const char *[]){ "#x", "y", NULL }));
	CHECK("split: unterminated double quote", split_fails("a \"bc"));
	CHECK("split: unterminated single quote", split_fails("a 'bc\n"));
	CHECK("split: trailing backslash", split_fails("a b\\"));
	{
		char line[2000] = "";
		const char *want[201];
		int i;

		for (i = 0; i < 200; i++) {
			strcat(line, i % 2 ? "y " : "x ");
			want[i] = i % 2 ? "y" : "x";
		}
		want[200] = NULL;
		CHECK("split: 200 words", split_is(line, want));
	}
}

int main(void)
{
	test_chunk_id();
	test_auth_key();
	test_size();
	test_port_and_max_read();
	test_store_name();
	test_keywords();
	test_split_line();
	return failures ? 1 : 0;
}
