/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the commands that talk to dgfsd (put, get, ls, rm, stat, presign,
 * search, tag) share: the global options and the option loop, paged
 * listings, the progress line, the workers' first failure, the
 * --stats-json file, and a few helpers.
 */
#ifndef DGFS_CLIENT_REMOTE_H
#define DGFS_CLIENT_REMOTE_H

#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define REMOTE_DEFAULT_SERVER	"http://127.0.0.1:8080"
#define REMOTE_DEFAULT_JOBS	8
#define REMOTE_MAX_JOBS		256

struct remote_opts {
	char *server;		/* base URL without a trailing '/'; NULL: default */
	const char *api_key;	/* --api-key; NULL: $DGFS_API_KEY, the key file */
	const char *cacert;	/* --cacert; NULL: $DGFS_CACERT, else the system's CAs */
	const char *fast_host;	/* NULL: the manifest's */
	uint16_t fast_port;	/* 0: the manifest's */
	bool quiet;
	unsigned int jobs;
};

/*
 * Set by the options before the command (dgfs --server URL get ...) and
 * by the same options after it (dgfs get --server URL ...).
 */
extern struct remote_opts remote;

/* getopt_long values of the global options; a command's own start at REMOTE_OPT_END. */
enum {
	REMOTE_OPT_SERVER = 1000,
	REMOTE_OPT_FAST_HOST,
	REMOTE_OPT_FAST_PORT,
	REMOTE_OPT_API_KEY,
	REMOTE_OPT_CACERT,
	REMOTE_OPT_END,
};

#define REMOTE_SHORT_OPTS	"qj:"
#define REMOTE_LONG_OPTS						\
	{ "server", required_argument, NULL, REMOTE_OPT_SERVER },	\
	{ "fast-host", required_argument, NULL, REMOTE_OPT_FAST_HOST },	\
	{ "fast-port", required_argument, NULL, REMOTE_OPT_FAST_PORT },	\
	{ "api-key", required_argument, NULL, REMOTE_OPT_API_KEY },	\
	{ "cacert", required_argument, NULL, REMOTE_OPT_CACERT },	\
	{ "quiet", no_argument, NULL, 'q' },				\
	{ "jobs", required_argument, NULL, 'j' }

#define REMOTE_OPTS_HELP						\
	"Global options (before or after the command):\n"		\
	"      --server URL      dgfsd's HTTP API (default $DGFS_SERVER, else\n" \
	"                        " REMOTE_DEFAULT_SERVER ")\n"		\
	"      --fast-host ADDR  fast-path host instead of the manifest's\n" \
	"      --fast-port N     fast-path UDP port instead of the manifest's\n" \
	"      --api-key KEY     dgfsd API key (default $DGFS_API_KEY, else the\n" \
	"                        first line of ~/.config/dgfs/key)\n"	\
	"      --cacert FILE     trust the CA certificates in FILE (PEM) for an\n" \
	"                        https:// server instead of the system's (default\n" \
	"                        $DGFS_CACERT); certificates are always verified\n" \
	"  -q, --quiet           no progress line, no summary\n"	\
	"  -j, --jobs N          chunks transferred at once (default 8)\n"

/*
 * One getopt_long result: 0 when it was a global option (taken), 1 when
 * it is not one, DGFS_EXIT_USAGE for a bad value (reported, as "dgfs CMD").
 */
int remote_opt(const char *cmd, int c, const char *arg);
/* remote_getopt() after -h or --help: @usage is on stdout; the command exits 0. */
#define REMOTE_OPT_HELP		(-2)
/* remote_getopt() after a global option's bad value, reported: the command
 * exits DGFS_EXIT_USAGE, as after a bad value of its own.
 */
#define REMOTE_OPT_BAD		(-3)
/*
 * getopt_long() for a command that talks to dgfsd (@shortopts and @opts
 * hold REMOTE_SHORT_OPTS and REMOTE_LONG_OPTS, and "h"/"help"): takes the
 * global options and --help itself. The next option for the command to
 * take or refuse, -1 after the last, REMOTE_OPT_HELP or REMOTE_OPT_BAD.
 * What it returns may be '?' (getopt said what is wrong).
 */
int remote_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
		  const struct option *opts, void (*usage)(FILE *));
/* dgfs --server ... COMMAND: parses those before the command; index of COMMAND or -1. */
int remote_global_opts(int argc, char **argv);
/* The server URL to use (the option, $DGFS_SERVER, or the default). */
const char *remote_server(void);
/*
 * The API key to send: --api-key, else $DGFS_API_KEY, else the first line
 * of $XDG_CONFIG_HOME/dgfs/key (default ~/.config/dgfs/key); NULL if none.
 * Resolved once; call it before any thread starts. *bad is set (after a
 * message on stderr) when the key found is unusable.
 */
const char *remote_api_key(bool *bad);
void remote_cleanup(void);

struct http;
struct http_resp;
/*
 * What every command that talks to dgfsd starts with: libcurl set up and a
 * client for remote_server(). NULL after saying why ("dgfs CMD: ...");
 * the command then exits DGFS_EXIT_LOCAL. Otherwise http_free() and
 * http_global_cleanup() when done.
 */
struct http *remote_http_open(const char *cmd);
/* "/files/<path, escaped><query>" (query may be ""), malloc'd; NULL: out of memory. */
char *remote_file_target(const char *path, const char *query);
/*
 * For a command about one file: remote_http_open(), and *@target set to
 * remote_file_target(@path, @query). NULL, as remote_http_open(), after
 * saying why (nothing to free then); the command exits DGFS_EXIT_LOCAL.
 */
struct http *remote_http_open_file(const char *cmd, const char *path, const char *query,
				   char **target);

/* ---- listings, page after page --------------------------------------------- */

/* What remote_list() is to ask for and print: docs/HTTP.md's paged listings. */
struct remote_list {
	const char *cmd;		/* "ls": messages say "dgfs ls: " */
	const char *what;		/* for http_fail(): "listing" */
	const char *noun;		/* a malformed answer is "NOUN is not {...}" */
	const char *target;		/* "/files/?prefix=" or "/search?q=" ... */
	const char *value;		/* ... and its escaped value */
	int page_size;			/* &limit= */
	bool json;			/* the entries make one JSON array */
	/*
	 * Prints a page's "files" (*any: something was printed before, which a
	 * JSON entry follows with a comma): 0 for the next page, 1 to stop
	 * here, -1 when they are not what docs/HTTP.md says.
	 */
	int (*page)(json_t *files, bool json, bool *any, void *arg);
	/* An answer that is not 200, before http_fail() reports it; NULL: none. */
	void (*refused)(const struct http_resp *resp, void *arg);
	void *arg;
};

/*
 * GETs TARGET VALUE&limit=N, then &after=NEXT for as long as the answers
 * name a next page, and prints each with ->page (as JSON: one array of
 * them all, closed unless something failed); stdout is flushed. 0, or the
 * exit code after saying why on stderr.
 */
int remote_list(struct http *h, const struct remote_list *l);

/* ---- the progress line --------------------------------------------------- */

struct progress {
	bool on;
	const char *label;
	uint64_t total;
	_Atomic uint64_t done;
	uint64_t start_ns;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
};

/*
 * Starts redrawing "LABEL done / total pct rate" on stderr a few times a
 * second, only if stderr is a terminal and not -q. progress_end() stops it
 * and clears the line, so whatever is printed next starts clean.
 */
void progress_begin(struct progress *p, const char *label, uint64_t total);
static inline void progress_add(struct progress *p, uint64_t n)
{
	atomic_fetch_add_explicit(&p->done, n, memory_order_relaxed);
}
void progress_end(struct progress *p);

/* ---- the workers' first failure ---------------------------------------------- */

/*
 * What the -j workers of put and get share about failing: the first
 * failure's exit code wins, the others stop at their next chunk, and only
 * one of them explains.
 */
struct remote_failure {
	pthread_mutex_t lock;
	int code;			/* exit code of the first failure; 0: none yet */
	_Atomic bool failed;
	_Atomic bool reported;
};
#define REMOTE_FAILURE_INIT	{ .lock = PTHREAD_MUTEX_INITIALIZER }

void remote_fail(struct remote_failure *f, int code);
/* Whether the caller is the one to explain the failure: one message, not -j. */
static inline bool remote_first_failure(struct remote_failure *f)
{
	return !atomic_exchange(&f->reported, true);
}
/*
 * Runs @fn on each of the @n workers at @ws (@size bytes apart), in a
 * thread each, and waits for them all. Failing to start one fails @f
 * (saying "dgfs CMD: cannot start a thread" if it is the first failure);
 * the workers already started run on.
 */
void remote_run_workers(struct remote_failure *f, const char *cmd, void *(*fn)(void *),
			void *ws, size_t size, size_t n);
/*
 * A worker's request failed (@rc and @resp from http_do_tries()): fails
 * @f, and if it is the first failure, says why as http_fail() does.
 */
void remote_fail_http(struct remote_failure *f, const char *cmd, const char *what,
		      const struct http *h, const struct http_resp *resp, int rc);

/* ---- helpers -------------------------------------------------------------- */

/*
 * Writes @json (a complete document, a newline is added) to @path, "-"
 * meaning stdout: 0, or -1 reported on stderr.
 */
int remote_write_stats(const char *cmd, const char *path, const char *json);

/* "2026-11-24T18:00:00Z" into @buf (at least 21 bytes). */
void remote_iso_time(int64_t t, char *buf, size_t len);

/* 64 lowercase hex digits (a chunk id, an etag): whether @s is one. */
bool remote_is_hex(const char *s, size_t digits);

#endif /* DGFS_CLIENT_REMOTE_H */
