/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A throwaway PostgreSQL server for unit tests: Debian's postgresql
 * package, initdb and pg_ctl into a temporary directory, listening on a
 * unix socket in that directory only (no TCP), as an unprivileged user
 * (nobody, through runuser, when the test runs as root: PostgreSQL
 * refuses to run as root). fsync is off: a test's data need not survive
 * a crash, and commits still happen one by one.
 *
 * pg_server_start() returns 0 with s->uri_base set ("postgresql:///dgfs
 * ?host=DIR&user=dgfs", more query parameters may follow with '&'), or
 * -1 with the reason on stderr and the server's log echoed: a test that
 * cannot start its server must fail, not skip.
 */
#ifndef DGFS_TEST_PG_SERVER_H
#define DGFS_TEST_PG_SERVER_H

#include <glob.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pg_server {
	char dir[64];
	char bin[256];		/* /usr/lib/postgresql/N/bin */
	char as[64];		/* "runuser -u nobody -- " or "" */
	char uri_base[128];
	int started;
};

/* Runs a shell command line made from @fmt: 0 if it exited 0. */
static int pg_server_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int pg_server_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	fflush(stdout);
	return system(cmd) == 0 ? 0 : -1;
}

static void pg_server_show_log(const struct pg_server *s, const char *name)
{
	pg_server_sh("sed 's/^/  pg: /' %s/%s >&2 2>/dev/null", s->dir, name);
}

static int pg_server_start(struct pg_server *s)
{
	struct passwd *pw;
	glob_t g;

	memset(s, 0, sizeof(*s));
	/* The newest installed major version. */
	if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) || !g.gl_pathc) {
		fprintf(stderr, "pg: no /usr/lib/postgresql/*/bin/initdb (make deps installs "
			"postgresql)\n");
		return -1;
	}
	snprintf(s->bin, sizeof(s->bin), "%.*s", (int)(strlen(g.gl_pathv[g.gl_pathc - 1]) - 7),
		 g.gl_pathv[g.gl_pathc - 1]);
	globfree(&g);
	snprintf(s->dir, sizeof(s->dir), "/tmp/dgfs-pg.XXXXXX");
	if (!mkdtemp(s->dir)) {
		perror("pg: mkdtemp");
		return -1;
	}
	if (!geteuid()) {
		pw = getpwnam("nobody");
		if (!pw || chown(s->dir, pw->pw_uid, pw->pw_gid)) {
			fprintf(stderr, "pg: no user nobody to run PostgreSQL as\n");
			return -1;
		}
		snprintf(s->as, sizeof(s->as), "runuser -u nobody -- ");
	}
	if (pg_server_sh("cd / && %s%s/initdb -D %s/data -U dgfs -A trust -E UTF8 --no-sync "
			 ">%s/initdb.log 2>&1", s->as, s->bin, s->dir, s->dir)) {
		fprintf(stderr, "pg: initdb failed:\n");
		pg_server_show_log(s, "initdb.log");
		return -1;
	}
	/* listen_addresses '': the unix socket in DIR only. */
	if (pg_server_sh("cd / && %s%s/pg_ctl -D %s/data -l %s/server.log -w -t 60 -o "
			 "\"-c listen_addresses='' -k %s -c fsync=off -c full_page_writes=off\" "
			 "start >%s/pg_ctl.log 2>&1",
			 s->as, s->bin, s->dir, s->dir, s->dir, s->dir)) {
		fprintf(stderr, "pg: pg_ctl start failed:\n");
		pg_server_show_log(s, "pg_ctl.log");
		pg_server_show_log(s, "server.log");
		return -1;
	}
	s->started = 1;
	snprintf(s->uri_base, sizeof(s->uri_base), "postgresql:///postgres?host=%s&user=dgfs",
		 s->dir);
	return 0;
}

/* Stops the server and removes its directory: 0 if both worked. */
static int pg_server_stop(struct pg_server *s)
{
	int err = 0;

	if (s->started &&
	    pg_server_sh("cd / && %s%s/pg_ctl -D %s/data -m fast -w stop >/dev/null 2>&1", s->as,
			 s->bin, s->dir))
		err = -1;
	s->started = 0;
	if (s->dir[0] && pg_server_sh("rm -rf %s", s->dir))
		err = -1;
	s->dir[0] = 0;
	return err;
}

#endif /* DGFS_TEST_PG_SERVER_H */
