// SPDX-License-Identifier: GPL-2.0
/*
 * The state directory's small private files: the fast path's auth key
 * (auth.key), the presigned URLs' secret (presign.key) and the first admin
 * key (admin.key). Each is written to a temp file, synced and renamed, and
 * the directory synced, so a crash leaves the old file or the new one,
 * never half of one; each is mode 0600 from its creation on.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "dgfsd.h"
#include "proto/hex.h"

static int state_bad(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "dgfsd: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\n");
	return -1;
}

int state_write_private(const char *state_dir, const char *name, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	size_t len = strlen(text);
	ssize_t n;
	int fd, dfd;

	snprintf(path, sizeof(path), "%s/%s", state_dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", state_dir, name);
	/* O_EXCL after an unlink: never write through a link someone left there. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return state_bad("cannot create %s: %s", tmp, strerror(errno));
	n = write(fd, text, len);
	if (n < 0 || (size_t)n != len || fsync(fd)) {
		int err = n < 0 || (size_t)n == len ? errno : EIO;

		close(fd);
		unlink(tmp);
		return state_bad("cannot write %s: %s", tmp, strerror(err));
	}
	if (close(fd) || rename(tmp, path)) {
		int err = errno;

		unlink(tmp);
		return state_bad("cannot write %s: %s", path, strerror(err));
	}
	dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int state_secret(const char *state_dir, const char *name, uint8_t *secret, size_t len,
		 bool *created)
{
	char path[PATH_MAX], buf[2 * 64 + 2], msg[64];
	ssize_t n;
	int fd;

	*created = false;
	if (len > 64)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", state_dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n >= (ssize_t)(2 * len)) {
			buf[2 * len] = '\0';
			if (!dgfs_hex_decode(buf, secret, len))
				return 0;
		}
		snprintf(msg, sizeof(msg), "%zu hex digits", 2 * len);
		return state_bad("%s is not %s: move it away to make a new one", path, msg);
	}
	if (errno != ENOENT)
		return state_bad("cannot read %s: %s", path, strerror(errno));
	randombytes_buf(secret, len);
	dgfs_hex_encode(secret, len, buf);
	buf[2 * len] = '\n';
	buf[2 * len + 1] = '\0';
	n = state_write_private(state_dir, name, buf);
	sodium_memzero(buf, sizeof(buf));
	if (n)
		return -1;
	*created = true;
	return 0;
}

int state_load_key(const char *state_dir, uint8_t key[DGFS_AUTH_KEY_LEN], bool *created)
{
	return state_secret(state_dir, "auth.key", key, DGFS_AUTH_KEY_LEN, created);
}
