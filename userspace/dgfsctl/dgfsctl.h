/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dgfsctl: the operator's command-line tool for dgfs.
 *
 *   dgfsctl [OPTIONS] OBJECT COMMAND [key value]...
 *
 * Objects and their commands are tables (struct dgfsctl_object and struct
 * dgfsctl_cmd); keywords are matched in full. Each command returns the exit
 * status: 0 ok, 1 error (reported), 2 usage error (reported with usage).
 */
#ifndef DGFSCTL_H
#define DGFSCTL_H

#include <stdbool.h>

#include "nl.h"

#define DGFSCTL_VERSION "0.1"

enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
};

struct dgfsctl {
	struct dgfs_nl nl;
	bool json;
	bool pretty;
	bool force;
	bool verbose;
	bool stdin_is_batch;	/* so "key -" cannot read it */
};

struct dgfsctl_cmd {
	const char *name;
	int (*run)(struct dgfsctl *ctl, const struct dgfsctl_cmd *cmd,
		   int argc, char **argv);
	const char *usage;	/* after "dgfsctl ": "store add NAME path DIR" */
};

struct dgfsctl_object {
	const char *name;
	const struct dgfsctl_cmd *cmds;	/* ends with a NULL name */
	const char *default_cmd;	/* when none is given, or NULL */
	/* A first word that names no command is default_cmd's first argument. */
	bool default_takes_args;
};

extern const struct dgfsctl_cmd store_cmds[];
extern const struct dgfsctl_cmd chunk_cmds[];
extern const struct dgfsctl_cmd config_cmds[];
extern const struct dgfsctl_cmd stats_cmds[];
extern const struct dgfsctl_cmd xdp_cmds[];
extern const struct dgfsctl_cmd clients_cmds[];
extern const struct dgfsctl_cmd top_cmds[];

/* Load dgfs's XDP program again, with the module's port and largest read,
 * on every interface of this namespace where it is attached with other
 * values. EXIT_OK, or EXIT_ERROR after saying which interface failed.
 */
int xdp_follow_config(struct dgfsctl *ctl);

/* Prints "dgfsctl: <problem>" and the command's usage; returns EXIT_USAGE. */
int cmd_usage_error(const struct dgfsctl_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* For commands that take no (more) arguments: EXIT_OK or a usage error. */
int cmd_no_more_args(const struct dgfsctl_cmd *cmd, int argc, char **argv);

/* Runs one command line (without options): the exit status. */
int dgfsctl_run(struct dgfsctl *ctl, int argc, char **argv);
/* The whole program, main() aside. */
int dgfsctl_main(int argc, char **argv);

#endif /* DGFSCTL_H */
