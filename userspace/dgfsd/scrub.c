// SPDX-License-Identifier: GPL-2.0
/*
 * dgfsd scrub [-d DIR] [--repair]: reads every chunk file of the store
 * back and checks it against its id (docs/DGFSD.md, "Scrub"), and every
 * chunk meta.db references against the files.
 *
 * - bad: a chunk file whose SHA-256 is not its name, or whose size is not
 *   the one meta.db has for it. With --repair it is removed, so that the
 *   next upload of that content writes it again (dgfsd asks clients for
 *   chunks whose file is missing: POST /chunks/missing, a commit's 409).
 * - missing: a chunk meta.db references with no file. Nothing here can
 *   bring it back; the next upload of that content does.
 *
 * It opens the state directory itself and may run while dgfsd does (the
 * metadata is only read; a removal is a rename-safe unlink).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/sha256.h"
#include "dgfsd.h"

struct scrub {
	int dir_fd;
	struct meta *meta;
	bool repair;
	uint8_t *buf;
	unsigned long checked, bad, missing, removed;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: dgfsd scrub [-d DIR] [--repair]\n"
		"Reads every chunk of the dgfsd whose state directory is DIR (default\n"
		"/var/lib/dgfsd) back and checks it against its id and the metadata.\n"
		"Prints one line per bad or missing chunk; exit 0 when none, 1 if any.\n"
		"  --repair   remove bad chunk files, so that the next upload of their\n"
		"             content writes them again (as for missing ones)\n");
}

/* Whether a chunk file holds what its name says: NULL, or why not. */
static const char *check_file(struct scrub *s, const char *name,
			      const uint8_t id[DGFS_CHUNK_ID_LEN])
{
	uint8_t got[DGFS_SHA256_BYTES];
	dgfs_sha256_state sha;
	uint32_t want;
	struct stat st;
	ssize_t n;
	int fd;

	fd = openat(s->dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? NULL : "cannot be opened";	/* gone meanwhile */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return "not a regular file";
	}
	if (st.st_size > DGFSD_MAX_CHUNK) {
		close(fd);
		return "larger than a chunk can be";
	}
	dgfs_sha256_init(&sha);
	while ((n = read(fd, s->buf, DGFSD_MAX_CHUNK)) > 0)
		dgfs_sha256_update(&sha, s->buf, (size_t)n);
	close(fd);
	if (n < 0)
		return "cannot be read";
	dgfs_sha256_final(&sha, got);
	if (memcmp(got, id, sizeof(got)))
		return "its SHA-256 is not its id";
	if (meta_chunk_known(s->meta, id, &want) && want != st.st_size)
		return "its size is not the metadata's";
	return NULL;
}

static int note_missing(const uint8_t id[META_ID_LEN], uint32_t size, void *arg)
{
	struct scrub *s = arg;
	char name[2 * DGFS_CHUNK_ID_LEN + 1];
	struct stat st;

	dgfs_hex_encode(id, DGFS_CHUNK_ID_LEN, name);
	if (!fstatat(s->dir_fd, name, &st, AT_SYMLINK_NOFOLLOW))
		return 0;
	printf("missing %s (%u bytes, referenced)\n", name, size);
	s->missing++;
	return 0;
}

int scrub_main(int argc, char **argv, const char *default_state_dir)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "repair", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct scrub s = { .dir_fd = -1 };
	const char *dir = default_state_dir;
	char path[4096];
	struct dirent *de;
	DIR *d = NULL;
	int c, ret = 2;

	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'r':
			s.repair = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/meta.db", dir);
	if (access(path, F_OK) || meta_open(path, &s.meta)) {
		fprintf(stderr, "dgfsd scrub: cannot open the metadata %s\n", path);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/chunks", dir);
	s.dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	s.buf = malloc(DGFSD_MAX_CHUNK);
	d = s.dir_fd >= 0 ? fdopendir(dup(s.dir_fd)) : NULL;
	if (!d || !s.buf) {
		fprintf(stderr, "dgfsd scrub: cannot read %s: %s\n", path, strerror(errno));
		goto out;
	}
	while ((de = readdir(d))) {
		uint8_t id[DGFS_CHUNK_ID_LEN];
		const char *why;

		if (strlen(de->d_name) != 2 * DGFS_CHUNK_ID_LEN ||
		    dgfs_hex_decode(de->d_name, id, sizeof(id)))
			continue;	/* temp files, strays: not chunks */
		s.checked++;
		why = check_file(&s, de->d_name, id);
		if (!why)
			continue;
		s.bad++;
		if (s.repair && !unlinkat(s.dir_fd, de->d_name, 0)) {
			s.removed++;
			printf("bad %s: %s; removed\n", de->d_name, why);
		} else {
			printf("bad %s: %s\n", de->d_name, why);
		}
	}
	/* After the removals: what was bad and referenced is missing now. */
	meta_chunk_foreach(s.meta, note_missing, &s);
	if (s.removed)
		fsync(s.dir_fd);
	fprintf(stderr, "dgfsd scrub: %lu chunk file%s checked: %lu bad%s, %lu referenced chunk%s "
		"missing\n", s.checked, s.checked == 1 ? "" : "s", s.bad,
		s.repair ? (s.removed == s.bad ? " (removed)" : " (not all removed)") : "",
		s.missing, s.missing == 1 ? "" : "s");
	ret = s.bad || s.missing ? 1 : 0;
out:
	if (d)
		closedir(d);
	if (s.dir_fd >= 0)
		close(s.dir_fd);
	free(s.buf);
	meta_close(s.meta);
	return ret;
}
