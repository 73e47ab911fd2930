// SPDX-License-Identifier: GPL-2.0
/* dgfsctl: options, the object/command tables, help and batch mode. */

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/dgfs.h>

#include "chunk_batch.h"
#include "dgfsctl.h"
#include "parse.h"
#include "print.h"

static const struct dgfsctl_object objects[] = {
	{ "store", store_cmds, NULL, false },
	{ "chunk", chunk_cmds, NULL, false },
	{ "config", config_cmds, NULL, false },
	{ "stats", stats_cmds, "show", false },
	{ "xdp", xdp_cmds, NULL, false },
	{ "clients", clients_cmds, "show", false },
	{ "top", top_cmds, "show", true },
	{ NULL, NULL, NULL, false },
};

/* The usage lines of an object's commands, the first one after "first". */
static void print_object_usage(FILE *fp, const struct dgfsctl_object *obj,
			       const char *first)
{
	const struct dgfsctl_cmd *cmd;

	for (cmd = obj->cmds; cmd->name; cmd++)
		fprintf(fp, "%s dgfsctl %s\n", cmd == obj->cmds ? first : "      ",
			cmd->usage);
}

static void print_usage(FILE *fp)
{
	const struct dgfsctl_object *obj;

	fprintf(fp,
		"Usage: dgfsctl [OPTIONS] OBJECT COMMAND [key value]...\n"
		"       dgfsctl [OPTIONS] -b FILE\n"
		"       dgfsctl help\n");
	for (obj = objects; obj->name; obj++)
		print_object_usage(fp, obj, "      ");
	fprintf(fp,
		"Options:\n"
		"  -j, --json        JSON output\n"
		"  -p, --pretty      pretty JSON output (implies -j)\n"
		"  -b, --batch FILE  run the commands in FILE, one per line (- for stdin)\n"
		"  -f, --force       in batch mode, go on after a failing line\n"
		"  -v, --verbose     say more when something fails\n"
		"  -h, --help        this help\n"
		"  -V, --version     the version\n"
		"Values: NAME is 1..%d characters of A-Z a-z 0-9 _ . -; ID is 64 hex\n"
		"digits (SHA-256); HEX32 is 32 hex digits; BYTES is a number with an\n"
		"optional K, M, G or T suffix (powers of 1024).\n",
		DGFS_STORE_NAME_MAX - 1);
}

int cmd_usage_error(const struct dgfsctl_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("dgfsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nUsage: dgfsctl %s\n", cmd->usage);
	return EXIT_USAGE;
}

int cmd_no_more_args(const struct dgfsctl_cmd *cmd, int argc, char **argv)
{
	if (argc > 0)
		return cmd_usage_error(cmd, "unexpected argument \"%s\"", argv[0]);
	return EXIT_OK;
}

static int unknown_command(const char *word)
{
	fprintf(stderr, "Command \"%s\" is unknown, try \"dgfsctl help\".\n", word);
	return EXIT_USAGE;
}

int dgfsctl_run(struct dgfsctl *ctl, int argc, char **argv)
{
	const struct dgfsctl_object *obj;
	const struct dgfsctl_cmd *cmd;
	const char *name;

	if (argc < 1) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[0], "help")) {
		if (argc > 1)
			return unknown_command(argv[1]);
		print_usage(stdout);
		return EXIT_OK;
	}
	for (obj = objects; obj->name; obj++)
		if (!strcmp(argv[0], obj->name))
			break;
	if (!obj->name)
		return unknown_command(argv[0]);

	if (argc < 2 && !obj->default_cmd) {
		fprintf(stderr, "dgfsctl: %s: missing command\n", obj->name);
		print_object_usage(stderr, obj, "Usage:");
		return EXIT_USAGE;
	}
	name = argc >= 2 ? argv[1] : obj->default_cmd;
	if (!strcmp(name, "help")) {
		if (argc > 2)
			return unknown_command(argv[2]);
		print_object_usage(stdout, obj, "Usage:");
		return EXIT_OK;
	}
	for (cmd = obj->cmds; cmd->name; cmd++)
		if (!strcmp(name, cmd->name))
			break;
	if (!cmd->name && obj->default_takes_args) {
		for (cmd = obj->cmds; strcmp(cmd->name, obj->default_cmd); cmd++)
			;
		return cmd->run(ctl, cmd, argc - 1, argv + 1);
	}
	if (!cmd->name)
		return unknown_command(name);
	return argc >= 2 ? cmd->run(ctl, cmd, argc - 2, argv + 2) :
			   cmd->run(ctl, cmd, 0, argv + 1);
}

/*
 * A well-formed "chunk add" line, queued (after sending what is queued, if
 * it cannot join it): true. Anything else, to be run as usual: false. A
 * failure of the lines sent sets *status; it ends the batch without -f.
 */
static bool batch_chunk_add(struct dgfsctl *ctl, struct chunk_batch *adds,
			    const char *name, int argc, char **argv,
			    unsigned long lineno, int *status)
{
	struct chunk_add_args a = { 0 };

	if (argc < 2 || strcmp(argv[0], "chunk") || strcmp(argv[1], "add") ||
	    chunk_add_parse(argc - 2, argv + 2, &a))
		return false;
	if (!chunk_batch_fits(adds, &a) &&
	    chunk_batch_flush(adds, ctl, name, status))
		return true;
	if (chunk_batch_queue(adds, &a, lineno)) {
		fprintf(stderr, "dgfsctl: out of memory\n");
		fprintf(stderr, "dgfsctl: %s:%lu: command failed\n", name, lineno);
		*status = EXIT_ERROR;
	}
	return true;
}

static int run_batch(struct dgfsctl *ctl, const char *path)
{
	bool from_stdin = !strcmp(path, "-");
	const char *name = from_stdin ? "<stdin>" : path;
	unsigned long lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int status = EXIT_OK;
	struct chunk_batch *adds;
	FILE *fp;

	adds = chunk_batch_new();
	if (!adds) {
		fprintf(stderr, "dgfsctl: out of memory\n");
		return EXIT_ERROR;
	}
	fp = from_stdin ? stdin : fopen(path, "r");
	if (!fp) {
		fprintf(stderr, "dgfsctl: opening %s: %s\n", path, strerror(errno));
		chunk_batch_free(adds);
		return EXIT_ERROR;
	}
	ctl->stdin_is_batch = from_stdin;

	while ((len = getline(&line, &cap, fp)) >= 0) {
		const char *why = NULL;
		char **argv = NULL;
		int argc, ret;

		lineno++;
		if (strlen(line) != (size_t)len)
			why = "NUL byte in the line";
		argc = why ? -1 : split_line(line, &argv, &why);
		if (argc == 0)
			continue;
		if (argc > 0 && batch_chunk_add(ctl, adds, name, argc, argv,
						lineno, &status)) {
			free(argv);
			if (status && !ctl->force)
				break;
			continue;
		}
		/* Whatever else the line is, the adds before it come first. */
		if (chunk_batch_flush(adds, ctl, name, &status)) {
			free(argv);
			break;
		}
		if (argc < 0) {
			fprintf(stderr, "dgfsctl: %s:%lu: %s\n", name, lineno, why);
			ret = EXIT_USAGE;
		} else {
			ret = dgfsctl_run(ctl, argc, argv);
			free(argv);
			if (ret)
				fprintf(stderr, "dgfsctl: %s:%lu: command failed\n",
					name, lineno);
		}
		/* Keep output and error messages of each line in order. */
		fflush(stdout);
		if (ret) {
			status = EXIT_ERROR;
			if (!ctl->force)
				break;
		}
	}
	/* The last adds; or, after an out-of-memory line, those before it. */
	chunk_batch_flush(adds, ctl, name, &status);
	if (ferror(fp)) {
		fprintf(stderr, "dgfsctl: reading %s: %s\n", name, strerror(errno));
		status = EXIT_ERROR;
	}
	free(line);
	chunk_batch_free(adds);
	if (!from_stdin)
		fclose(fp);
	return status;
}

int dgfsctl_main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "json",	no_argument,		NULL, 'j' },
		{ "pretty",	no_argument,		NULL, 'p' },
		{ "batch",	required_argument,	NULL, 'b' },
		{ "force",	no_argument,		NULL, 'f' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct dgfsctl ctl = { 0 };
	const char *batch = NULL;
	int opt, ret;

	/* '+': options end at OBJECT, so that values may start with '-'. */
	opterr = 0;
	optind = 0;	/* glibc: start afresh (the tests call this repeatedly) */
	while ((opt = getopt_long(argc, argv, "+jpb:fvhV", long_options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			ctl.json = true;
			break;
		case 'p':
			ctl.json = true;
			ctl.pretty = true;
			break;
		case 'b':
			batch = optarg;
			break;
		case 'f':
			ctl.force = true;
			break;
		case 'v':
			ctl.verbose = true;
			break;
		case 'h':
			print_usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("dgfsctl %s (dgfs netlink version %d)\n",
			       DGFSCTL_VERSION, DGFS_GENL_VERSION);
			return EXIT_OK;
		default:
			if (optopt == 'b')
				fprintf(stderr, "dgfsctl: option -b needs a FILE\n");
			else if (optopt)
				fprintf(stderr, "dgfsctl: unknown option \"-%c\"\n", optopt);
			else
				fprintf(stderr, "dgfsctl: unknown option \"%s\"\n",
					argv[optind - 1]);
			fprintf(stderr, "Try \"dgfsctl help\".\n");
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;

	ctl.nl.verbose = ctl.verbose;
	print_init(stdout, ctl.json, ctl.pretty);

	if (batch) {
		if (argc > 0) {
			fprintf(stderr, "dgfsctl: -b FILE takes no command (got \"%s\")\n",
				argv[0]);
			return EXIT_USAGE;
		}
		ret = run_batch(&ctl, batch);
	} else {
		ret = dgfsctl_run(&ctl, argc, argv);
	}
	dgfs_nl_close(&ctl.nl);

	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "dgfsctl: writing the output: %s\n", strerror(errno));
		if (ret == EXIT_OK)
			ret = EXIT_ERROR;
	}
	return ret;
}
