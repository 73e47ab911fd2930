// SPDX-License-Identifier: GPL-2.0
/* What put, get, ls, rm and stat share (remote.h). */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "http.h"
#include "proto/dgfs_proto.h"
#include "proto/net.h"
#include "remote.h"

struct remote_opts remote = { .jobs = REMOTE_DEFAULT_JOBS };

/* Trailing slashes off, and "host:port" taken as http://host:port. */
static int set_server(const char *url)
{
	size_t n = strlen(url);
	char *s;

	while (n && url[n - 1] == '/')
		n--;
	if (!n)
		return -1;
	if (strstr(url, "://"))
		s = strndup(url, n);
	else if (asprintf(&s, "http://%.*s", (int)n, url) < 0)
		s = NULL;
	if (!s)
		return -1;
	free(remote.server);
	remote.server = s;
	return 0;
}

int remote_opt(const char *cmd, int c, const char *arg)
{
	const char *sp = *cmd ? " " : "";	/* "dgfs put: ", or "dgfs: " before a command */
	uint64_t v;

	switch (c) {
	case REMOTE_OPT_SERVER:
		if (set_server(arg)) {
			fprintf(stderr, "dgfs%s%s: bad --server \"%s\"\n", sp, cmd, arg);
			return DGFS_EXIT_USAGE;
		}
		return 0;
	case REMOTE_OPT_API_KEY:
		remote.api_key = arg;
		return 0;
	case REMOTE_OPT_CACERT:
		remote.cacert = arg;
		return 0;
	case REMOTE_OPT_FAST_HOST:
		remote.fast_host = arg;
		return 0;
	case REMOTE_OPT_FAST_PORT:
		if (dgfs_parse_size(arg, &v) || !v || v > 65535) {
			fprintf(stderr, "dgfs%s%s: bad --fast-port \"%s\" (1 .. 65535)\n", sp, cmd,
				arg);
			return DGFS_EXIT_USAGE;
		}
		remote.fast_port = (uint16_t)v;
		return 0;
	case 'q':
		remote.quiet = true;
		return 0;
	case 'j':
		if (dgfs_parse_size(arg, &v) || !v || v > REMOTE_MAX_JOBS) {
			fprintf(stderr, "dgfs%s%s: bad -j \"%s\" (1 .. %d)\n", sp, cmd, arg,
				REMOTE_MAX_JOBS);
			return DGFS_EXIT_USAGE;
		}
		remote.jobs = (unsigned int)v;
		return 0;
	}
	return 1;
}

int remote_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
		  const struct option *opts, void (*usage)(FILE *))
{
	int c, taken = 0;

	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1 &&
	       !(taken = remote_opt(cmd, c, optarg)))
		;
	if (c != -1 && taken != 1)	/* refused, and said why */
		return REMOTE_OPT_BAD;
	if (c == 'h') {
		usage(stdout);
		return REMOTE_OPT_HELP;
	}
	return c;
}

void remote_fail(struct remote_failure *f, int code)
{
	pthread_mutex_lock(&f->lock);
	if (!f->code)
		f->code = code;
	atomic_store(&f->failed, true);
	pthread_mutex_unlock(&f->lock);
}

void remote_run_workers(struct remote_failure *f, const char *cmd, void *(*fn)(void *),
			void *ws, size_t size, size_t n)
{
	pthread_t *tids = calloc(n, sizeof(*tids));
	size_t i, started;

	if (!tids) {
		if (remote_first_failure(f))
			fprintf(stderr, "dgfs %s: out of memory\n", cmd);
		remote_fail(f, DGFS_EXIT_LOCAL);
		return;
	}
	for (started = 0; started < n; started++) {
		if (pthread_create(&tids[started], NULL, fn, (char *)ws + started * size)) {
			if (remote_first_failure(f))
				fprintf(stderr, "dgfs %s: cannot start a thread\n", cmd);
			remote_fail(f, DGFS_EXIT_LOCAL);
			break;
		}
	}
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
}

void remote_fail_http(struct remote_failure *f, const char *cmd, const char *what,
		      const struct http *h, const struct http_resp *resp, int rc)
{
	if (remote_first_failure(f))
		remote_fail(f, http_fail(cmd, what, h, resp, rc));
	else
		remote_fail(f, rc ? DGFS_EXIT_CONNECT : DGFS_EXIT_HTTP);
}

int remote_global_opts(int argc, char **argv)
{
	static const struct option opts[] = {
		REMOTE_LONG_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c, ret;

	/* '+': stop at the command; its own options are its business. */
	opterr = 1;
	while ((c = getopt_long(argc, argv, "+" REMOTE_SHORT_OPTS, opts, NULL)) != -1) {
		ret = c == '?' ? DGFS_EXIT_USAGE : remote_opt("", c, optarg);
		if (ret)
			return -1;
	}
	return optind < argc ? optind : -1;
}

const char *remote_server(void)
{
	const char *env = getenv("DGFS_SERVER");

	if (!remote.server && env && *env && set_server(env))
		fprintf(stderr, "dgfs: ignoring bad DGFS_SERVER \"%s\"\n", env);
	if (!remote.server)
		set_server(REMOTE_DEFAULT_SERVER);
	return remote.server ? remote.server : REMOTE_DEFAULT_SERVER;
}

/* The key file's first line, trimmed, malloc'd; NULL if there is none. */
static char *read_key_file(const char *path, bool *bad)
{
	char line[512], *s, *e;
	struct stat st;
	FILE *f;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT) {
			fprintf(stderr, "dgfs: cannot read the key file %s: %s\n", path,
				strerror(errno));
			*bad = true;
		}
		return NULL;
	}
	/* As ssh does with its keys: a secret others can read is worth a word. */
	if (!fstat(fd, &st) && (st.st_mode & 077))
		fprintf(stderr, "dgfs: warning: %s can be read by others (chmod 600 it)\n", path);
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		*bad = true;
		return NULL;
	}
	s = fgets(line, sizeof(line), f);
	fclose(f);
	if (!s) {
		fprintf(stderr, "dgfs: the key file %s is empty\n", path);
		*bad = true;
		return NULL;
	}
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	s = strdup(s);
	explicit_bzero(line, sizeof(line));
	return s;
}

/* A key goes into a header line: printable ASCII, no spaces, and not empty. */
static bool key_ok(const char *k)
{
	if (!*k || strlen(k) > 256)
		return false;
	for (; *k; k++)
		if (*k <= 0x20 || *k >= 0x7f)
			return false;
	return true;
}

static char *key_from_file;
static bool key_resolved, key_bad;

const char *remote_api_key(bool *bad)
{
	const char *env = getenv("DGFS_API_KEY"), *xdg = getenv("XDG_CONFIG_HOME"), *from;
	const char *home = getenv("HOME");
	char path[PATH_MAX];

	if (key_resolved)
		goto out;
	key_resolved = true;
	from = "--api-key";
	if (!remote.api_key && env && *env) {
		remote.api_key = env;
		from = "$DGFS_API_KEY";
	}
	if (!remote.api_key) {
		path[0] = '\0';
		if (xdg && *xdg == '/')
			snprintf(path, sizeof(path), "%s/dgfs/key", xdg);
		else if (home && *home)
			snprintf(path, sizeof(path), "%s/.config/dgfs/key", home);
		if (path[0])
			key_from_file = read_key_file(path, &key_bad);
		remote.api_key = key_from_file;
		from = path;
	}
	if (remote.api_key && !key_ok(remote.api_key)) {
		fprintf(stderr, "dgfs: the API key from %s is not one (printable, no spaces)\n",
			from);
		key_bad = true;
	}
out:
	if (bad)
		*bad = key_bad;
	return key_bad ? NULL : remote.api_key;
}

void remote_cleanup(void)
{
	free(remote.server);
	remote.server = NULL;
	if (key_from_file)
		explicit_bzero(key_from_file, strlen(key_from_file));
	free(key_from_file);
	key_from_file = NULL;
	remote.api_key = NULL;
	remote.cacert = NULL;
	http_set_cacert(NULL);
	key_resolved = key_bad = false;
}

/* ---- the progress line --------------------------------------------------- */

static void human(double v, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned int i = 0;

	while (v >= 1024 && i < sizeof(unit) / sizeof(unit[0]) - 1) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", v, unit[i]);
}

static void progress_draw(struct progress *p)
{
	uint64_t done = atomic_load_explicit(&p->done, memory_order_relaxed);
	double secs = (double)(dgfs_now_ns() - p->start_ns) / 1e9;
	char d[32], t[32], r[32];

	if (done > p->total)
		done = p->total;
	human((double)done, d, sizeof(d));
	human((double)p->total, t, sizeof(t));
	human(secs > 0 ? (double)done / secs : 0, r, sizeof(r));
	/* \033[K clears what a longer previous line left. */
	fprintf(stderr, "\r%s %s / %s %3u%% %s/s\033[K", p->label, d, t,
		p->total ? (unsigned int)(done * 100 / p->total) : 100, r);
	fflush(stderr);
}

static void *progress_main(void *arg)
{
	struct progress *p = arg;
	struct timespec at;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		progress_draw(p);
		clock_gettime(CLOCK_REALTIME, &at);
		at.tv_nsec += 200 * 1000000;
		if (at.tv_nsec >= 1000000000) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&p->cond, &p->lock, &at);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

void progress_begin(struct progress *p, const char *label, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->label = label;
	p->total = total;
	p->start_ns = dgfs_now_ns();
	if (remote.quiet || !isatty(STDERR_FILENO))
		return;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (pthread_create(&p->thread, NULL, progress_main, p)) {
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		return;
	}
	p->on = true;
}

void progress_end(struct progress *p)
{
	if (!p->on)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	fprintf(stderr, "\r\033[K");
	fflush(stderr);
	p->on = false;
}

/* ---- helpers -------------------------------------------------------------- */

int remote_write_stats(const char *cmd, const char *path, const char *json)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
	int bad;

	if (!f) {
		fprintf(stderr, "dgfs %s: cannot write %s: %s\n", cmd, path, strerror(errno));
		return -1;
	}
	bad = fprintf(f, "%s\n", json) < 0;
	bad |= f == stdout ? fflush(f) : fclose(f);
	if (bad) {
		fprintf(stderr, "dgfs %s: cannot write %s: %s\n", cmd, path, strerror(errno));
		return -1;
	}
	return 0;
}

void remote_iso_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%lld", (long long)t);
}

bool remote_is_hex(const char *s, size_t digits)
{
	size_t i;

	if (!s || strlen(s) != digits)
		return false;
	for (i = 0; i < digits; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

struct http *remote_http_open(const char *cmd)
{
	struct http *h;

	bool bad;

	remote_api_key(&bad);
	if (bad)
		return NULL;
	if (http_global_init()) {
		fprintf(stderr, "dgfs %s: cannot initialise libcurl\n", cmd);
		return NULL;
	}
	/* Every handle of this process (the workers' too) trusts the same CAs. */
	if (!remote.cacert) {
		const char *env = getenv("DGFS_CACERT");

		remote.cacert = env && *env ? env : NULL;
	}
	if (remote.cacert && access(remote.cacert, R_OK)) {
		fprintf(stderr, "dgfs %s: cannot read the CA file %s: %s\n", cmd, remote.cacert,
			strerror(errno));
		http_global_cleanup();
		return NULL;
	}
	http_set_cacert(remote.cacert);
	h = http_new(remote_server(), remote_api_key(NULL));
	if (!h) {
		fprintf(stderr, "dgfs %s: out of memory\n", cmd);
		http_global_cleanup();
	}
	return h;
}

struct http *remote_http_open_file(const char *cmd, const char *path, const char *query,
				   char **target)
{
	struct http *h = remote_http_open(cmd);

	if (!h)
		return NULL;
	*target = remote_file_target(path, query);
	if (!*target) {
		fprintf(stderr, "dgfs %s: out of memory\n", cmd);
		http_free(h);
		http_global_cleanup();
		return NULL;
	}
	return h;
}

int remote_list(struct http *h, const struct remote_list *l)
{
	struct http_resp resp = { 0 };
	char *after = NULL, *target = NULL;
	bool any = false;
	int ret = 0, rc;

	if (l->json)
		printf("[\n");
	for (;;) {
		struct http_req req = { .method = "GET" };
		const char *next;
		json_t *j, *files;
		int more;

		free(target);
		if (asprintf(&target, "%s%s&limit=%d%s%s", l->target, l->value, l->page_size,
			     after ? "&after=" : "", after ? after : "") < 0) {
			target = NULL;
			fprintf(stderr, "dgfs %s: out of memory\n", l->cmd);
			ret = DGFS_EXIT_LOCAL;
			break;
		}
		req.target = target;
		rc = http_do(h, &req, &resp);
		if (!rc && resp.status != 200 && l->refused)
			l->refused(&resp, l->arg);
		if (rc || resp.status != 200) {
			ret = http_fail(l->cmd, l->what, h, &resp, rc);
			break;
		}
		j = http_resp_json(&resp);
		files = json_object_get(j, "files");
		more = json_is_array(files) ? l->page(files, l->json, &any, l->arg) : -1;
		if (more < 0) {
			json_decref(j);
			fprintf(stderr, "dgfs %s: %s is not {\"files\": [...], \"next\": ...}\n",
				l->cmd, l->noun);
			ret = DGFS_EXIT_CONNECT;
			break;
		}
		next = more ? NULL : json_string_value(json_object_get(j, "next"));
		free(after);
		after = next ? http_escape(next) : NULL;
		json_decref(j);
		if (!next)
			break;
		if (!after) {
			fprintf(stderr, "dgfs %s: out of memory\n", l->cmd);
			ret = DGFS_EXIT_LOCAL;
			break;
		}
	}
	if (l->json && !ret)
		printf("%s]\n", any ? "\n" : "");
	if (fflush(stdout) && !ret) {
		fprintf(stderr, "dgfs %s: stdout: %s\n", l->cmd, strerror(errno));
		ret = DGFS_EXIT_LOCAL;
	}
	http_resp_free(&resp);
	free(target);
	free(after);
	return ret;
}

char *remote_file_target(const char *path, const char *query)
{
	char *esc = http_escape(path), *target;

	if (!esc || asprintf(&target, "/files/%s%s", esc, query) < 0)
		target = NULL;
	free(esc);
	return target;
}
