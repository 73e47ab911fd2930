/* SPDX-License-Identifier: GPL-2.0 */
/* dgfs, the command-line client: commands and their exit codes. */
#ifndef DGFS_CLIENT_H
#define DGFS_CLIENT_H

/*
 * Exit codes of the commands (docs/PROTOCOL.md, docs/CLIENT.md):
 * X(name, code, meaning). 0..9 are fetch's; put/get/ls/rm/stat use them
 * where they fit and add 10..12 for the HTTP side.
 */
#define DGFS_EXIT_TABLE(X)						\
	X(OK,      0, "the bytes were written")				\
	X(VERIFY,  1, "the chunk's SHA-256 differs from its id")	\
	X(USAGE,   2, "bad command line")				\
	X(ACCES,   3, "the host refused the token")			\
	X(NOENT,   4, "the host has no such chunk")			\
	X(RANGE,   5, "the offset is at or past the end of the chunk")	\
	X(AGAIN,   6, "the host stayed overloaded")			\
	X(IO,      7, "the host could not read the chunk")		\
	X(TIMEOUT, 8, "no complete answer in time")			\
	X(LOCAL,   9, "a local error: resolving, socket, memory, output")	\
	X(HTTP,   10, "the server answered with an HTTP error")		\
	X(NOTFOUND, 11, "the server has no such file")			\
	X(CONNECT, 12, "cannot talk to the server, or it broke the API")

enum dgfs_exit {
#define X(name, code, desc) DGFS_EXIT_##name = code,
	DGFS_EXIT_TABLE(X)
#undef X
};

#include <stddef.h>

struct dgfs_reader_stats;
/*
 * What a timed-out read did, for fetch's and get's messages: "N
 * re-requests, RTO up to N ms; ...". @len: 256 holds any.
 */
#define READER_STATS_TEXT_LEN	256
void reader_stats_text(const struct dgfs_reader_stats *st, char *buf, size_t len);

int dgfs_cmd_fetch(int argc, char **argv);
int dgfs_cmd_token(int argc, char **argv);
int dgfs_cmd_put(int argc, char **argv);
int dgfs_cmd_get(int argc, char **argv);
int dgfs_cmd_ls(int argc, char **argv);
int dgfs_cmd_rm(int argc, char **argv);
int dgfs_cmd_stat(int argc, char **argv);
int dgfs_cmd_presign(int argc, char **argv);
int dgfs_cmd_tag(int argc, char **argv);
int dgfs_cmd_search(int argc, char **argv);

#endif /* DGFS_CLIENT_H */
