// SPDX-License-Identifier: GPL-2.0
/*
 * The access log (docs/DGFSD.md, "Access log"): one line per request,
 *
 *   TIME CLIENT KEY METHOD PATH STATUS BYTES SECONDS
 *   2026-11-24T18:00:00.123Z 198.18.0.2 3 GET /files/a/b.bin 200 1048576 0.004210
 *
 * KEY is the key's id, "-" without one, "ID/presigned" for a presigned
 * URL; BYTES is "-" when the answer was cut off. Each line goes out in one
 * write(2) on an O_APPEND descriptor, so lines from many request threads
 * never interleave. SIGHUP reopens the file (logrotate's move-then-HUP).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dgfsd.h"

#define LINE_MAX_BYTES	4096
#define FIELD_MAX	1024	/* a path is cut to this many bytes of the log */

struct accesslog {
	pthread_rwlock_t lock;	/* writers share the fd; a reopen swaps it */
	char *path;		/* NULL: stderr */
	int fd;			/* -1: off */
};

static int open_file(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
}

struct accesslog *accesslog_open(const char *path)
{
	struct accesslog *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	pthread_rwlock_init(&l->lock, NULL);
	if (path && !strcmp(path, "off")) {
		l->fd = -1;
	} else if (!path || !*path || !strcmp(path, "-")) {
		l->fd = STDERR_FILENO;
	} else {
		l->path = strdup(path);
		l->fd = l->path ? open_file(path) : -1;
		if (l->fd < 0) {
			int err = l->path ? errno : ENOMEM;

			accesslog_close(l);
			errno = err;
			return NULL;
		}
	}
	return l;
}

int accesslog_reopen(struct accesslog *l)
{
	int fd, old;

	if (!l || !l->path)
		return 0;
	fd = open_file(l->path);
	if (fd < 0)
		return -errno;		/* keeps writing to the old one */
	pthread_rwlock_wrlock(&l->lock);
	old = l->fd;
	l->fd = fd;
	pthread_rwlock_unlock(&l->lock);
	close(old);
	return 0;
}

void accesslog_close(struct accesslog *l)
{
	if (!l)
		return;
	if (l->path && l->fd >= 0)
		close(l->fd);
	pthread_rwlock_destroy(&l->lock);
	free(l->path);
	free(l);
}

/*
 * @s into @out, bytes outside printable ASCII as %XX: no line or field can
 * be injected. A URL's own %XX stay as they are: both spellings decode to
 * the same byte.
 */
static void escape(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s && n + 4 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		if (c > 0x20 && c < 0x7f) {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = '\0';
}

void accesslog_write(struct accesslog *l, const struct accesslog_entry *e)
{
	char line[LINE_MAX_BYTES], when[32], key[40], bytes[24];
	char method[64], path[3 * FIELD_MAX + 1];
	struct timespec ts;
	struct tm tm;
	ssize_t w;
	int n;

	if (!l || l->fd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	if (!e->key_id)
		snprintf(key, sizeof(key), "-");
	else
		snprintf(key, sizeof(key), "%" PRId64 "%s", e->key_id,
			 e->presigned ? "/presigned" : "");
	if (e->bytes < 0)
		snprintf(bytes, sizeof(bytes), "-");
	else
		snprintf(bytes, sizeof(bytes), "%" PRId64, e->bytes);
	escape(e->method ? e->method : "-", method, sizeof(method));
	escape(e->path ? e->path : "-", path, sizeof(path));
	n = snprintf(line, sizeof(line), "%s.%03ldZ %s %s %s %s %u %s %.6f\n", when,
		     ts.tv_nsec / 1000000, e->client ? e->client : "-", key, method, path,
		     e->status, bytes, (double)e->duration_ns / 1e9);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	pthread_rwlock_rdlock(&l->lock);
	do {
		w = write(l->fd, line, (size_t)n);
	} while (w < 0 && errno == EINTR);
	pthread_rwlock_unlock(&l->lock);
}
