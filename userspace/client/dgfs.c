// SPDX-License-Identifier: GPL-2.0
/*
 * dgfs: the client of dgfs hosts. Commands:
 *   dgfs fetch ...   read a chunk (or a range of it) over the fast path
 *   dgfs token ...   mint a read token (for tests and operators)
 */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "proto/dgfs_proto.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "fetch", dgfs_cmd_fetch, "read a chunk from a host over the fast path" },
	{ "token", dgfs_cmd_token, "mint a read token for a chunk and a client address" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: dgfs COMMAND [OPTIONS] ...\n\nCommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-7s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n\"dgfs COMMAND --help\" tells a command's options.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return DGFS_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return DGFS_EXIT_OK;
	}
	if (dgfs_proto_init()) {
		fprintf(stderr, "dgfs: cannot initialise libsodium\n");
		return DGFS_EXIT_LOCAL;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "Command \"%s\" is unknown, try \"dgfs help\".\n", argv[1]);
	return DGFS_EXIT_USAGE;
}
