// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of dgfsctl's command line (userspace/dgfsctl/cli.c and the
 * commands' argument handling): dispatch from the tables, exit statuses,
 * the exact one-line messages and usages on stderr, batch files, "key -".
 * dgfsctl_main() is called as main() would be; the family name is set to
 * one that cannot exist, so the outcome is the same with or without the
 * dgfs module on the machine. One line per check, PASS or FAIL.
 */

/* expect-checks: 79 (tests/run-all.sh: a run that prints fewer fails) */

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
#include <unistd.h>

#include "check.h"

#define ABSENT_FAMILY "dgfs-test-absent"
#define NOT_LOADED "dgfsctl: the dgfs kernel module is not loaded " \
		   "(no generic netlink family \"" ABSENT_FAMILY "\")\n"
#define ID64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static char *slurp(FILE *fp)
{
	long len;
	char *buf;

	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)len + 1);
	if (len > 0 && fread(buf, 1, (size_t)len, fp) != (size_t)len)
		buf[0] = '\0';
	fclose(fp);
	return buf;
}

struct result {
	int status;
	char *out, *err;
};

/* Runs dgfsctl_main() on the words of line, capturing stdout and stderr. */
static struct result run(const char *line)
{
	char *copy = strdup(line), **words, *argv[64];
	const char *why;
	int argc = split_line(copy, &words, &why), i, saved_out, saved_err;
	FILE *out = tmpfile(), *err = tmpfile();
	struct result r;

	argv[0] = "dgfsctl";
	for (i = 0; i < argc && i < 62; i++)
		argv[i + 1] = words[i];
	argv[argc + 1] = NULL;

	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(fileno(out), 1);
	dup2(fileno(err), 2);
	r.status = dgfsctl_main(argc + 1, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	r.out = slurp(out);
	r.err = slurp(err);
	free(words);
	free(copy);
	return r;
}

static void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	fputs(text, fp);
	fclose(fp);
}

static void test_dispatch(void)
{
	struct result r;

	r = run("");
	CHECK("no arguments: usage on stderr, exit 2",
	      r.status == 2 && !strcmp(r.out, "") && starts_with(r.err, "Usage: dgfsctl"));
	result_free(&r);

	r = run("help");
	CHECK("help: usage on stdout, exit 0",
	      r.status == 0 && starts_with(r.out, "Usage: dgfsctl") && !strcmp(r.err, "") &&
	      strstr(r.out, "dgfsctl chunk add ID store NAME file RELPATH [size BYTES]\n") &&
	      strstr(r.out, "dgfsctl stats [show]\n"));
	result_free(&r);

	r = run("-h");
	CHECK("-h: usage on stdout, exit 0", r.status == 0 && starts_with(r.out, "Usage:"));
	result_free(&r);

	r = run("--help");
	CHECK("--help: exit 0", r.status == 0 && starts_with(r.out, "Usage:"));
	result_free(&r);

	r = run("-V");
	CHECK("-V: version, exit 0",
	      r.status == 0 && !strcmp(r.out, "dgfsctl " DGFSCTL_VERSION
				       " (dgfs netlink version 1)\n"));
	result_free(&r);

	r = run("frobnicate");
	CHECK("unknown object",
	      r.status == 2 && !strcmp(r.out, "") &&
	      !strcmp(r.err, "Command \"frobnicate\" is unknown, try \"dgfsctl help\".\n"));
	result_free(&r);

	r = run("store frob");
	CHECK("unknown command",
	      r.status == 2 &&
	      !strcmp(r.err, "Command \"frob\" is unknown, try \"dgfsctl help\".\n"));
	result_free(&r);

	r = run("store sh");
	CHECK("no prefix matching of commands",
	      r.status == 2 && !strcmp(r.err, "Command \"sh\" is unknown, try \"dgfsctl help\".\n"));
	result_free(&r);

	r = run("sto show");
	CHECK("no prefix matching of objects",
	      r.status == 2 && !strcmp(r.err, "Command \"sto\" is unknown, try \"dgfsctl help\".\n"));
	result_free(&r);

	r = run("store");
	CHECK("object without command",
	      r.status == 2 && starts_with(r.err, "dgfsctl: store: missing command\n"
					   "Usage: dgfsctl store add NAME path DIR\n"));
	result_free(&r);

	r = run("chunk help");
	CHECK("object help on stdout",
	      r.status == 0 && !strcmp(r.out, "Usage: dgfsctl chunk add ID store NAME file RELPATH [size BYTES]\n"
					      "       dgfsctl chunk del ID\n"
					      "       dgfsctl chunk show [ID] [store NAME]\n"));
	result_free(&r);

	r = run("-x store show");
	CHECK("unknown short option", r.status == 2 &&
	      starts_with(r.err, "dgfsctl: unknown option \"-x\"\n"));
	result_free(&r);

	r = run("--frob store show");
	CHECK("unknown long option", r.status == 2 &&
	      starts_with(r.err, "dgfsctl: unknown option \"--frob\"\n"));
	result_free(&r);

	r = run("-b");
	CHECK("-b without FILE", r.status == 2 &&
	      starts_with(r.err, "dgfsctl: option -b needs a FILE\n"));
	result_free(&r);
}

struct usage_case {
	const char *line;
	const char *message;	/* the first line of stderr */
	const char *usage;	/* the second */
};

static void test_usage_errors(void)
{
	static const struct usage_case cases[] = {
		{ "store add", "dgfsctl: missing store NAME",
		  "Usage: dgfsctl store add NAME path DIR" },
		{ "store add s1", "dgfsctl: missing keyword \"path\"",
		  "Usage: dgfsctl store add NAME path DIR" },
		{ "store add s1 path", "dgfsctl: keyword \"path\" needs a value",
		  "Usage: dgfsctl store add NAME path DIR" },
		{ "store add s1 path /a path /b", "dgfsctl: keyword \"path\" given twice",
		  "Usage: dgfsctl store add NAME path DIR" },
		{ "store add s1 dir /a", "dgfsctl: unknown keyword \"dir\"",
		  "Usage: dgfsctl store add NAME path DIR" },
		{ "store add s1 path ''", "dgfsctl: invalid path \"\": empty",
		  "Usage: dgfsctl store add NAME path DIR" },
		{ "store add .. path /a",
		  "dgfsctl: invalid store name \"..\": may not be \".\" or \"..\"",
		  "Usage: dgfsctl store add NAME path DIR" },
		{ "store add 0123456789012345678901234567890123 path /a",
		  "dgfsctl: invalid store name \"0123456789012345678901234567890123\": "
		  "longer than 31 characters",
		  "Usage: dgfsctl store add NAME path DIR" },
		{ "store del", "dgfsctl: missing store NAME", "Usage: dgfsctl store del NAME" },
		{ "store del a b", "dgfsctl: unexpected argument \"b\"",
		  "Usage: dgfsctl store del NAME" },
		{ "store show a b", "dgfsctl: unexpected argument \"b\"",
		  "Usage: dgfsctl store show [NAME]" },
		{ "store show 'a b'",
		  "dgfsctl: invalid store name \"a b\": may only contain A-Z a-z 0-9 _ . -",
		  "Usage: dgfsctl store show [NAME]" },
		{ "chunk add", "dgfsctl: missing chunk ID",
		  "Usage: dgfsctl chunk add ID store NAME file RELPATH [size BYTES]" },
		{ "chunk add abc store s file f",
		  "dgfsctl: invalid chunk ID \"abc\": must be 64 hexadecimal characters",
		  "Usage: dgfsctl chunk add ID store NAME file RELPATH [size BYTES]" },
		{ "chunk add " ID64 "0 store s file f",
		  "dgfsctl: invalid chunk ID \"" ID64 "0\": must be 64 hexadecimal characters",
		  "Usage: dgfsctl chunk add ID store NAME file RELPATH [size BYTES]" },
		{ "chunk add " ID64 " store s", "dgfsctl: missing keyword \"file\"",
		  "Usage: dgfsctl chunk add ID store NAME file RELPATH [size BYTES]" },
		{ "chunk add " ID64 " file f", "dgfsctl: missing keyword \"store\"",
		  "Usage: dgfsctl chunk add ID store NAME file RELPATH [size BYTES]" },
		{ "chunk add " ID64 " store s file f size -1",
		  "dgfsctl: invalid size \"-1\": not a number",
		  "Usage: dgfsctl chunk add ID store NAME file RELPATH [size BYTES]" },
		{ "chunk add " ID64 " store s file f size 18446744073709551616",
		  "dgfsctl: invalid size \"18446744073709551616\": too large",
		  "Usage: dgfsctl chunk add ID store NAME file RELPATH [size BYTES]" },
		{ "chunk add " ID64 " store s file f size 1Q",
		  "dgfsctl: invalid size \"1Q\": not a number (suffixes: K, M, G, T)",
		  "Usage: dgfsctl chunk add ID store NAME file RELPATH [size BYTES]" },
		{ "chunk add " ID64 " store s file f size 1 size 2",
		  "dgfsctl: keyword \"size\" given twice",
		  "Usage: dgfsctl chunk add ID store NAME file RELPATH [size BYTES]" },
		{ "chunk del", "dgfsctl: missing chunk ID", "Usage: dgfsctl chunk del ID" },
		{ "chunk del " ID64 " x", "dgfsctl: unexpected argument \"x\"",
		  "Usage: dgfsctl chunk del ID" },
		{ "chunk show xyz", "dgfsctl: invalid chunk ID \"xyz\": not hexadecimal",
		  "Usage: dgfsctl chunk show [ID] [store NAME]" },
		{ "chunk show store", "dgfsctl: keyword \"store\" needs a value",
		  "Usage: dgfsctl chunk show [ID] [store NAME]" },
		{ "chunk show " ID64 " " ID64,
		  "dgfsctl: unknown keyword \"" ID64 "\"",
		  "Usage: dgfsctl chunk show [ID] [store NAME]" },
		{ "config set", "dgfsctl: nothing to set",
		  "Usage: dgfsctl config set [port N] [max_read BYTES] [auth on|off] [key HEX32|random|-] [balance on|off]" },
		{ "config set port 0", "dgfsctl: invalid port \"0\": out of range (1..65535)",
		  "Usage: dgfsctl config set [port N] [max_read BYTES] [auth on|off] [key HEX32|random|-] [balance on|off]" },
		{ "config set port 70000", "dgfsctl: invalid port \"70000\": out of range (1..65535)",
		  "Usage: dgfsctl config set [port N] [max_read BYTES] [auth on|off] [key HEX32|random|-] [balance on|off]" },
		{ "config set max_read 0", "dgfsctl: invalid max_read \"0\": out of range (1..16M)",
		  "Usage: dgfsctl config set [port N] [max_read BYTES] [auth on|off] [key HEX32|random|-] [balance on|off]" },
		{ "config set auth yes", "dgfsctl: invalid auth \"yes\": must be on or off",
		  "Usage: dgfsctl config set [port N] [max_read BYTES] [auth on|off] [key HEX32|random|-] [balance on|off]" },
		{ "config set key 0011",
		  "dgfsctl: invalid key \"0011\": must be 32 hexadecimal characters",
		  "Usage: dgfsctl config set [port N] [max_read BYTES] [auth on|off] [key HEX32|random|-] [balance on|off]" },
		{ "config set port 1 port 2", "dgfsctl: keyword \"port\" given twice",
		  "Usage: dgfsctl config set [port N] [max_read BYTES] [auth on|off] [key HEX32|random|-] [balance on|off]" },
		{ "config show all", "dgfsctl: unexpected argument \"all\"",
		  "Usage: dgfsctl config show" },
		{ "stats show all", "dgfsctl: unexpected argument \"all\"",
		  "Usage: dgfsctl stats [show]" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct result r = run(cases[i].line);
		char want[512], name[600];

		snprintf(want, sizeof(want), "%s\n%s\n", cases[i].message, cases[i].usage);
		snprintf(name, sizeof(name), "usage error: dgfsctl %s", cases[i].line);
		CHECK(name, r.status == 2 && !strcmp(r.out, "") && !strcmp(r.err, want));
		if (strcmp(r.err, want))
			printf("#   got: %s", r.err);
		result_free(&r);
	}
}

static void test_not_loaded(void)
{
	static const char *lines[] = {
		"store show", "-j store show", "-p store show", "store show s1",
		"store add s1 path /srv", "store del s1", "chunk show",
		"chunk show store s1", "chunk show " ID64, "chunk add " ID64 " store s file f",
		"chunk del " ID64, "config show", "config set port 7878",
		"config set key random", "stats", "stats show", "-j stats",
	};
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct result r = run(lines[i]);
		char name[200];

		snprintf(name, sizeof(name), "module not loaded: dgfsctl %s", lines[i]);
		CHECK(name, r.status == 1 && !strcmp(r.out, "") && !strcmp(r.err, NOT_LOADED));
		result_free(&r);
	}
}

static void test_key_from_stdin(void)
{
	char path[] = "/tmp/dgfsctl-test-key-XXXXXX";
	struct result r;
	int fd = mkstemp(path);

	close(fd);

	write_file(path, "  00112233445566778899aabbccddeeff \r\n");
	freopen(path, "r", stdin);
	r = run("config set key -");
	CHECK("key -: a good key is read, then the request is made",
	      r.status == 1 && !strcmp(r.err, NOT_LOADED));
	result_free(&r);

	write_file(path, "0011\n");
	freopen(path, "r", stdin);
	r = run("config set key -");
	CHECK("key -: a short key is a usage error",
	      r.status == 2 && starts_with(r.err, "dgfsctl: invalid key on standard input: "
					   "must be 32 hexadecimal characters\n"));
	result_free(&r);

	write_file(path, "");
	freopen(path, "r", stdin);
	r = run("config set key -");
	CHECK("key -: empty input is a usage error",
	      r.status == 2 && starts_with(r.err, "dgfsctl: key -: no key on standard input\n"));
	result_free(&r);

	write_file(path, "config set key -\n");
	freopen(path, "r", stdin);
	r = run("-b -");
	CHECK("key -: refused when stdin is the batch file",
	      r.status == 1 &&
	      starts_with(r.err, "dgfsctl: key -: standard input is the batch file\n") &&
	      strstr(r.err, "dgfsctl: <stdin>:1: command failed\n"));
	result_free(&r);

	freopen("/dev/null", "r", stdin);
	unlink(path);
}

static void test_batch(void)
{
	char path[] = "/tmp/dgfsctl-test-batch-XXXXXX", line[128];
	struct result r;
	int fd = mkstemp(path);

	close(fd);

	write_file(path, "# only comments\n\n   \t\n  # and blanks\n");
	snprintf(line, sizeof(line), "-b %s", path);
	r = run(line);
	CHECK("batch: comments and blank lines only", r.status == 0 &&
	      !strcmp(r.out, "") && !strcmp(r.err, ""));
	result_free(&r);

	write_file(path, "help\nstore frob\nchunk help\n");
	r = run(line);
	CHECK("batch: stops at the first failing line, exit 1",
	      r.status == 1 && starts_with(r.out, "Usage: dgfsctl") &&
	      !strstr(r.out, "Usage: dgfsctl chunk") && strstr(r.err, ":2: command failed\n") &&
	      count_lines(r.err) == 2);
	result_free(&r);

	snprintf(line, sizeof(line), "-f -b %s", path);
	r = run(line);
	CHECK("batch: -f runs every line, still exit 1",
	      r.status == 1 && strstr(r.out, "Usage: dgfsctl chunk add") &&
	      strstr(r.err, ":2: command failed\n"));
	result_free(&r);

	write_file(path, "chunk help\nstore show 'unterminated\nchunk help\n");
	snprintf(line, sizeof(line), "--force --batch %s", path);
	r = run(line);
	CHECK("batch: an unsplittable line fails with file and line number",
	      r.status == 1 && strstr(r.err, ":2: unterminated quote\n") &&
	      count_lines(r.out) == 6);
	result_free(&r);

	write_file(path, "stats\nstats\n");
	snprintf(line, sizeof(line), "-b %s", path);
	r = run(line);
	CHECK("batch: kernel errors fail the line (module not loaded)",
	      r.status == 1 && starts_with(r.err, NOT_LOADED) &&
	      strstr(r.err, ":1: command failed\n") && count_lines(r.err) == 2);
	result_free(&r);

	/* chunk add lines go many to a message: still one error per line. */
	write_file(path, "chunk add " ID64 " store s file f\n"
		   "chunk add " ID64 " store s file g\n");
	snprintf(line, sizeof(line), "-b %s", path);
	r = run(line);
	CHECK("batch: chunk adds without the module fail at the first line",
	      r.status == 1 && starts_with(r.err, NOT_LOADED) &&
	      strstr(r.err, ":1: command failed\n") && count_lines(r.err) == 2);
	result_free(&r);
	snprintf(line, sizeof(line), "-f -b %s", path);
	r = run(line);
	CHECK("batch: chunk adds without the module, -f: each line fails once",
	      r.status == 1 && strstr(r.err, ":1: command failed\n") &&
	      strstr(r.err, ":2: command failed\n") && count_lines(r.err) == 4);
	result_free(&r);

	snprintf(line, sizeof(line), "-b %s store show", path);
	r = run(line);
	CHECK("batch: -b with a command is a usage error", r.status == 2 &&
	      starts_with(r.err, "dgfsctl: -b FILE takes no command"));
	result_free(&r);

	unlink(path);
	snprintf(line, sizeof(line), "-b %s", path);
	r = run(line);
	CHECK("batch: a missing file is an error, exit 1", r.status == 1 &&
	      strstr(r.err, "No such file or directory"));
	result_free(&r);
}

int main(void)
{
	dgfs_family_name = ABSENT_FAMILY;
	freopen("/dev/null", "r", stdin);
	test_dispatch();
	test_usage_errors();
	test_not_loaded();
	test_key_from_stdin();
	test_batch();
	return failures ? 1 : 0;
}
