// SPDX-License-Identifier: GPL-2.0
/* type=, mime= (libmagic, from the content) and ext= (from the name). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <magic.h>

#include "tagger.h"

#define TYPE_SNIFF_BYTES	(1u << 20)	/* what libmagic looks at by default */
#define EXT_MAX			16

static magic_t cookie;
static char mime_buf[128], charset_buf[64], ext_buf[EXT_MAX + 1];

int tag_type_init(void)
{
	cookie = magic_open(MAGIC_MIME_TYPE | MAGIC_MIME_ENCODING | MAGIC_ERROR);
	if (!cookie)
		return -errno ? -errno : -ENOMEM;
	if (magic_load(cookie, NULL)) {
		magic_close(cookie);
		cookie = NULL;
		return -ENOENT;
	}
	return 0;
}

/* mime's prefix or exact value -> type=. Unlisted is "binary". */
static const struct { const char *mime; const char *type; } mime_types[] = {
	{ "text/", "text" }, { "image/", "image" }, { "audio/", "audio" }, { "video/", "video" },
	{ "application/json", "text" }, { "application/xml", "text" },
	{ "application/javascript", "text" }, { "application/x-ndjson", "text" },
	{ "application/pdf", "document" }, { "application/postscript", "document" },
	{ "application/msword", "document" }, { "application/rtf", "document" },
	{ "application/epub+zip", "document" },
	{ "application/vnd.openxmlformats-officedocument.", "document" },
	{ "application/vnd.oasis.opendocument.", "document" },
	{ "application/vnd.ms-", "document" },
	{ "application/zip", "archive" }, { "application/x-tar", "archive" },
	{ "application/gzip", "archive" }, { "application/x-gzip", "archive" },
	{ "application/x-bzip2", "archive" }, { "application/x-xz", "archive" },
	{ "application/x-7z-compressed", "archive" }, { "application/x-rar", "archive" },
	{ "application/vnd.rar", "archive" }, { "application/zstd", "archive" },
	{ "application/x-lzma", "archive" }, { "application/x-compress", "archive" },
	{ "application/java-archive", "archive" }, { "application/x-archive", "archive" },
	{ "application/x-cpio", "archive" }, { "application/x-iso9660-image", "archive" },
	{ "application/vnd.debian.binary-package", "archive" },
};

static const char *type_of(const char *mime)
{
	for (size_t i = 0; i < sizeof(mime_types) / sizeof(mime_types[0]); i++) {
		const char *m = mime_types[i].mime;
		size_t n = strlen(m);

		if (m[n - 1] == '/' || m[n - 1] == '.' ? !strncmp(mime, m, n) : !strcmp(mime, m))
			return mime_types[i].type;
	}
	return "binary";
}

/* The lower-case extension of name's last component: letters and digits, or "". */
static void ext_of(const char *name, char *ext)
{
	const char *base = strrchr(name, '/'), *dot;
	size_t n;

	base = base ? base + 1 : name;
	dot = strrchr(base, '.');
	ext[0] = '\0';
	/* ".bashrc" is a name, not an extension. */
	if (!dot || dot == base || !dot[1] || strlen(dot + 1) > EXT_MAX)
		return;
	for (n = 0; dot[1 + n]; n++) {
		unsigned char c = dot[1 + n];

		if (!isascii(c) || !(isalnum(c) || c == '_' || c == '-' || c == '+')) {
			ext[0] = '\0';
			return;
		}
		ext[n] = tolower(c);
	}
	ext[n] = '\0';
}

int tag_type(struct tagger_input *in, struct tagger_out *o)
{
	size_t want = in->size < TYPE_SNIFF_BYTES ? in->size : TYPE_SNIFF_BYTES;
	char *buf = NULL, *semi;
	const char *answer;
	ssize_t got = 0;
	int err = 0;

	ext_of(in->name, ext_buf);
	in->ext = ext_buf;
	if (ext_buf[0])
		err = tagger_tag(o, "ext", ext_buf);
	if (!cookie)
		return -ENOENT;
	if (want) {
		buf = malloc(want);
		if (!buf)
			return -ENOMEM;
		got = pread(in->fd, buf, want, 0);
		if (got < 0) {
			err = -errno;
			free(buf);
			return err;
		}
	}
	answer = magic_buffer(cookie, buf ? buf : "", got);
	free(buf);
	if (!answer)
		return -EINVAL;
	/* "text/plain; charset=us-ascii" */
	snprintf(mime_buf, sizeof(mime_buf), "%s", answer);
	semi = strchr(mime_buf, ';');
	if (semi) {
		const char *cs = strstr(semi, "charset=");

		snprintf(charset_buf, sizeof(charset_buf), "%s", cs ? cs + 8 : "");
		*semi = '\0';
	}
	in->mime = mime_buf;
	in->charset = charset_buf;
	/* An empty file is of no type. */
	if (!strcmp(mime_buf, "application/x-empty") || !strcmp(mime_buf, "inode/x-empty"))
		return err;
	err = err ?: tagger_tag(o, "type", type_of(mime_buf));
	return err ?: tagger_tag(o, "mime", mime_buf);
}
