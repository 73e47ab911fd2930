// SPDX-License-Identifier: GPL-2.0
/*
 * dgfs: the client of dgfs hosts. Commands:
 *   dgfs put ...     upload a file, sending only chunks the host lacks
 *   dgfs get ...     download a file, its chunks over the fast path
 *   dgfs ls/rm/stat  list, delete, describe files
 *   dgfs presign     a URL that reads or writes a file without a key
 *   dgfs tag ...     a file's tags, implications between tags
 *   dgfs fetch ...   read a chunk (or a range of it) over the fast path
 *   dgfs token ...   mint a read token (for tests and operators)
 * put/get/ls/rm/stat/presign/tag talk to dgfsd's HTTP API (docs/CLIENT.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "proto/dgfs_proto.h"
#include "remote.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "put", dgfs_cmd_put, "upload a file (LOCAL REMOTE), deduplicated by chunk" },
	{ "get", dgfs_cmd_get, "download a file (REMOTE LOCAL) over the fast path" },
	{ "ls", dgfs_cmd_ls, "list files (by path prefix)" },
	{ "rm", dgfs_cmd_rm, "delete files" },
	{ "stat", dgfs_cmd_stat, "show a file's size, etag, type, mtime, chunks" },
	{ "presign", dgfs_cmd_presign, "print a URL that gets (or puts) a file without a key" },
	{ "search", dgfs_cmd_search, "find files by tags and words (docs/SEARCH.md)" },
	{ "tag", dgfs_cmd_tag, "a file's tags (ls, add, rm) and implications (imply)" },
	{ "fetch", dgfs_cmd_fetch, "read a chunk from a host over the fast path" },
	{ "token", dgfs_cmd_token, "mint a read token for a chunk and a client address" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: dgfs [GLOBAL OPTIONS] COMMAND [OPTIONS] ...\n\nCommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-7s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nput, get, ls, rm, stat, presign and tag talk to dgfsd (docs/CLIENT.md).\n"
		REMOTE_OPTS_HELP
		"\n\"dgfs COMMAND --help\" tells a command's options.\n");
}

int main(int argc, char **argv)
{
	int cmd = 1, ret;
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return DGFS_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return DGFS_EXIT_OK;
	}
	/* dgfs --server URL get ...: global options before the command. */
	if (argv[1][0] == '-') {
		cmd = remote_global_opts(argc, argv);
		if (cmd < 0) {
			usage(stderr);
			remote_cleanup();
			return DGFS_EXIT_USAGE;
		}
		optind = 0;	/* the command's getopt starts afresh */
	}
	if (dgfs_proto_init()) {
		fprintf(stderr, "dgfs: cannot initialise libsodium\n");
		remote_cleanup();
		return DGFS_EXIT_LOCAL;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[cmd], commands[i].name)) {
			ret = commands[i].run(argc - cmd, argv + cmd);
			remote_cleanup();
			return ret;
		}
	}
	fprintf(stderr, "Command \"%s\" is unknown, try \"dgfs help\".\n", argv[cmd]);
	remote_cleanup();
	return DGFS_EXIT_USAGE;
}
