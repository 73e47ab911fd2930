// SPDX-License-Identifier: GPL-2.0
/*
 * dgfsd key add|list|revoke: API keys from the host's shell (docs/DGFSD.md,
 * "Access control"). It opens STATE/meta.db itself, so it works while
 * dgfsd runs (SQLite in WAL mode, a busy timeout for the writer's lock):
 * dgfsd looks a key up on every request, and sees a new or revoked key on
 * the next one.
 *
 *   dgfsd key add [-d DIR | -c FILE] --scope read|write|admin [--prefix P] [--name N]
 *   dgfsd key list [-d DIR | -c FILE] [--json]
 *   dgfsd key revoke [-d DIR | -c FILE] ID
 *
 * The state directory is found as dgfsd finds it: -d, else the config
 * file's state-dir (-c FILE, else /etc/dgfsd.conf when it exists), else
 * /var/lib/dgfsd.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "dgfsd.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: dgfsd key add [-d DIR | -c FILE] --scope read|write|admin [--prefix P]\n"
		"                     [--name N]\n"
		"       dgfsd key list [-d DIR | -c FILE] [--json]\n"
		"       dgfsd key revoke [-d DIR | -c FILE] ID\n"
		"API keys of the dgfsd whose state directory is DIR; without -d, the state-dir\n"
		"of dgfsd's config file (-c FILE, default /etc/dgfsd.conf if it exists), else\n"
		"/var/lib/dgfsd.\n"
		"add prints the new key alone on stdout; it is shown only this once.\n"
		"  read: list, download, manifests; write: also upload, commit, delete;\n"
		"  admin: also manage keys. --prefix P: only the paths under P/.\n");
}

/* The config's metadata URI, if it names PostgreSQL ("" for STATE/meta.db). */
static const char *metadata_uri = "";

static int open_meta(const char *dir, struct meta **m)
{
	char path[PATH_MAX];

	if (metadata_uri[0]) {
		if (meta_open(metadata_uri, m)) {
			fprintf(stderr, "dgfsd key: cannot open the metadata in PostgreSQL\n");
			return -1;
		}
		return 0;
	}
	snprintf(path, sizeof(path), "%s/meta.db", dir);
	/* meta_open would make a new database: a mistyped directory must not. */
	if (access(path, F_OK)) {
		fprintf(stderr, "dgfsd key: %s: %s (start dgfsd once with --state-dir %s)\n", path,
			strerror(errno), dir);
		return -1;
	}
	if (meta_open(path, m)) {
		fprintf(stderr, "dgfsd key: cannot open %s\n", path);
		return -1;
	}
	return 0;
}

static int key_add(const char *dir, const char *scope_s, const char *prefix_s, const char *name)
{
	char prefix[META_PATH_MAX + 1] = "", text[AUTH_KEY_TEXT_MAX];
	enum meta_scope scope;
	struct meta *m;
	const char *why;
	int64_t id;
	int err;

	if (meta_scope_parse(scope_s, &scope)) {
		fprintf(stderr, "dgfsd key add: --scope is read, write or admin\n");
		return 2;
	}
	if (prefix_s && (why = auth_prefix_normalize(prefix_s, prefix, sizeof(prefix)))) {
		fprintf(stderr, "dgfsd key add: bad --prefix \"%s\": %s\n", prefix_s, why);
		return 2;
	}
	if (scope == META_SCOPE_ADMIN && prefix[0]) {
		fprintf(stderr, "dgfsd key add: an admin key manages every key: no --prefix\n");
		return 2;
	}
	if (name && (strlen(name) > META_KEY_NAME_MAX || strpbrk(name, "\r\n"))) {
		fprintf(stderr, "dgfsd key add: --name is one line of at most %d bytes\n",
			META_KEY_NAME_MAX);
		return 2;
	}
	if (open_meta(dir, &m))
		return 1;
	err = auth_key_create(m, scope, prefix, name, false, text, &id);
	meta_close(m);
	if (err) {
		fprintf(stderr, "dgfsd key add: %s\n", strerror(-err));
		return 1;
	}
	printf("%s\n", text);
	sodium_memzero(text, sizeof(text));
	if (fflush(stdout)) {
		fprintf(stderr, "dgfsd key add: cannot write the key: %s\n", strerror(errno));
		return 1;
	}
	fprintf(stderr, "dgfsd key add: key %" PRId64 " (%s%s%s)\n", id, meta_scope_name(scope),
		prefix[0] ? ", paths under " : "", prefix);
	return 0;
}

static int print_one(const struct meta_key *k, void *arg)
{
	char created[32] = "", revoked[32] = "-";
	time_t t = (time_t)k->created;
	struct tm tm;

	if (arg) {
		json_t *j = json_pack("{s:I,s:s,s:s,s:s,s:I,s:o}", "id", (json_int_t)k->id,
				      "scope", meta_scope_name(k->scope), "prefix", k->prefix,
				      "name", k->name, "created", (json_int_t)k->created,
				      "revoked", k->revoked ? json_integer(k->revoked) :
							      json_null());

		if (!j || json_array_append_new(arg, j))
			return -ENOMEM;
		return 0;
	}
	if (gmtime_r(&t, &tm))
		strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	t = (time_t)k->revoked;
	if (k->revoked && gmtime_r(&t, &tm))
		strftime(revoked, sizeof(revoked), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%-6" PRId64 " %-6s %-20s  %-20s  %-24s %s\n", k->id, meta_scope_name(k->scope),
	       created, revoked, k->prefix[0] ? k->prefix : "-", k->name);
	return 0;
}

static int key_list(const char *dir, bool json)
{
	json_t *arr = json ? json_array() : NULL;
	struct meta *m;
	int err;

	if (open_meta(dir, &m)) {
		json_decref(arr);
		return 1;
	}
	if (!json)
		printf("%-6s %-6s %-20s  %-20s  %-24s %s\n", "ID", "SCOPE", "CREATED", "REVOKED",
		       "PREFIX", "NAME");
	err = meta_key_list(m, print_one, arr);
	meta_close(m);
	if (!err && json) {
		char *text = json_dumps(arr, JSON_COMPACT);

		if (text)
			printf("%s\n", text);
		else
			err = -ENOMEM;
		free(text);
	}
	json_decref(arr);
	if (err) {
		fprintf(stderr, "dgfsd key list: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}

static int key_revoke(const char *dir, const char *id_s)
{
	struct meta *m;
	int64_t id;
	char *end;
	int err;

	errno = 0;
	id = strtoll(id_s, &end, 10);
	if (errno || *end || id <= 0 || *id_s < '1' || *id_s > '9') {
		fprintf(stderr, "dgfsd key revoke: \"%s\" is not a key id (see key list)\n", id_s);
		return 2;
	}
	if (open_meta(dir, &m))
		return 1;
	err = meta_key_revoke(m, id, (int64_t)time(NULL));
	meta_close(m);
	if (err == -ENOENT) {
		fprintf(stderr, "dgfsd key revoke: no key %" PRId64 "\n", id);
		return 1;
	}
	if (err == -EALREADY) {
		fprintf(stderr, "dgfsd key revoke: key %" PRId64 " is revoked already\n", id);
		return 1;
	}
	if (err) {
		fprintf(stderr, "dgfsd key revoke: %s\n", strerror(-err));
		return 1;
	}
	fprintf(stderr, "dgfsd key revoke: key %" PRId64 " revoked\n", id);
	return 0;
}

int keys_cli_main(int argc, char **argv)
{
	enum { O_SCOPE = 256, O_PREFIX, O_NAME, O_JSON };
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "scope", required_argument, NULL, O_SCOPE },
		{ "prefix", required_argument, NULL, O_PREFIX },
		{ "name", required_argument, NULL, O_NAME },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *config = NULL, *scope = NULL, *prefix = NULL, *name = NULL;
	struct dgfsd_config cfg;
	bool json = false;
	const char *cmd;
	int c;

	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "d:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case O_SCOPE:
			scope = optarg;
			break;
		case O_PREFIX:
			prefix = optarg;
			break;
		case O_NAME:
			name = optarg;
			break;
		case O_JSON:
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* The state directory dgfsd would use; -d wins, as on dgfsd's command line. */
	dgfsd_config_defaults(&cfg);
	if (dgfsd_config_file(&cfg, config))
		return 2;
	if (!dir)
		dir = cfg.state_dir;
	metadata_uri = cfg.metadata;
	if (dgfs_proto_init()) {
		fprintf(stderr, "dgfsd key: cannot initialise libsodium\n");
		return 1;
	}
	if (!strcmp(cmd, "add") && optind == argc && scope && !json)
		return key_add(dir, scope, prefix, name);
	if (!strcmp(cmd, "list") && optind == argc && !scope && !prefix && !name)
		return key_list(dir, json);
	if (!strcmp(cmd, "revoke") && optind == argc - 1 && !scope && !prefix && !name && !json)
		return key_revoke(dir, argv[optind]);
	if (strcmp(cmd, "add") && strcmp(cmd, "list") && strcmp(cmd, "revoke"))
		fprintf(stderr, "Command \"%s\" is unknown, try \"dgfsd key help\".\n", cmd);
	else
		usage(stderr);
	return 2;
}
