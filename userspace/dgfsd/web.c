// SPDX-License-Identifier: GPL-2.0
/*
 * The web UI's files (web/, built by make into build/web; docs/WEBUI.md):
 * GET / is the directory's index.html, GET /assets/NAME its assets/NAME.
 * Both need no key: the page asks for one and sends it with every API call
 * (the API's own routes check it as always).
 *
 * The directory is opened once at start (before privileges are dropped)
 * and every name is opened beneath it with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS): besides the path checks http.c already made (no
 * "..", no NUL, no "%2e%2e"), the kernel itself keeps a name from leaving
 * the directory, through ".." or a symlink alike. Only regular files are
 * served, dotfiles never.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dgfsd.h"
#include "http.h"

/*
 * Only the page's own origin, for scripts, styles, images (file previews
 * are presigned /files/ URLs) and API calls alike; no inline script or
 * style, no plugins, no framing, no <base> games.
 */
#define WEB_CSP "default-src 'self'; object-src 'none'; base-uri 'none'; " \
		"frame-ancestors 'none'; form-action 'self'"

static const struct {
	const char *ext;
	const char *type;
} web_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".json", "application/json" },
	{ ".map", "application/json" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".LICENSE", "text/plain; charset=utf-8" },
};

/* By the name's ending; NULL (not served) for any other. */
static const char *web_type(const char *name)
{
	size_t n = strlen(name), i;

	for (i = 0; i < sizeof(web_types) / sizeof(web_types[0]); i++) {
		size_t e = strlen(web_types[i].ext);

		if (n > e && !strcmp(name + n - e, web_types[i].ext))
			return web_types[i].type;
	}
	return NULL;
}

/* The "web" directory next to dgfsd's binary (build/web beside build/dgfsd). */
static int default_dir(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return -errno;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	if ((size_t)snprintf(buf, len, "%s/web", exe) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int web_open(struct dgfsd *d)
{
	char dir[PATH_MAX];
	bool given = d->cfg.web_dir[0];

	d->web_fd = -1;
	if (given)
		snprintf(dir, sizeof(dir), "%s", d->cfg.web_dir);
	else if (default_dir(dir, sizeof(dir)))
		return 0;
	d->web_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->web_fd >= 0) {
		if (d->cfg.verbose)
			fprintf(stderr, "dgfsd: web UI from %s\n", dir);
		return 0;
	}
	/* Asked for and missing is a mistake; by default it is only absent. */
	if (given) {
		fprintf(stderr, "dgfsd: --web-dir %s: %s\n", dir, strerror(errno));
		return -errno;
	}
	return 0;
}

void web_close(struct dgfsd *d)
{
	if (d->web_fd >= 0)
		close(d->web_fd);
	d->web_fd = -1;
}

/* @name beneath the web directory, never through a symlink or "..". */
static int open_beneath(int dirfd, const char *name)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

enum MHD_Result web_get(struct dgfsd *d, struct MHD_Connection *c, struct request *r)
{
	char name[DGFSD_PATH_MAX + 16];
	struct MHD_Response *resp;
	const char *type, *seg;
	struct stat st;
	int fd;

	if (d->web_fd < 0)
		return http_send_error(c, r, 404, "no web UI here (build it with make, or "
				       "give dgfsd --web-dir)");
	/* "/" has no argument; "/assets/NAME" has NAME, decoded and checked. */
	if (!r->path[0])
		snprintf(name, sizeof(name), "index.html");
	else
		snprintf(name, sizeof(name), "assets/%s", r->path);
	for (seg = name; seg; seg = strchr(seg, '/'), seg = seg ? seg + 1 : NULL)
		if (*seg == '.')
			return http_send_error(c, r, 404, "no such file");
	type = web_type(name);
	if (!type)
		return http_send_error(c, r, 404, "no such file");
	fd = open_beneath(d->web_fd, name);
	if (fd < 0)
		return http_send_error(c, r, fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP ||
				       fd == -EXDEV ? 404 : 500, fd == -ENOENT ? "no such file" :
				       "cannot open %s: %s", name, strerror(-fd));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return http_send_error(c, r, 404, "no such file");
	}
	resp = http_fd_response(c, fd, 0, (uint64_t)st.st_size);	/* takes fd */
	if (!resp)
		return http_send_error(c, r, 503, "out of memory");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "Content-Security-Policy", WEB_CSP);
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	/* Asset names do not change with their content: always ask again. */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	return http_queue(c, r, 200, resp, (uint64_t)st.st_size);
}
