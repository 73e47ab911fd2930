// SPDX-License-Identifier: GPL-2.0
/*
 * Markdown through cmark (CommonMark): the words people read, not the
 * link and image targets (a URL is not what a note is about), nor raw HTML
 * (its tags and attributes). Link text and image descriptions stay;
 * autolinks (<https://...>), whose text is their target, go; reference
 * definitions never reach the tree.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmark.h>
#include <unicode/ustring.h>

#include "text.h"

/* cmark builds the whole tree: larger Markdown is read as plain text. */
#define MARKDOWN_MAX_BYTES	(8u << 20)
#define MARKDOWN_CHUNK		(64u << 10)	/* binary checked a chunk at a time */
#define MARKDOWN_FLUSH		(64u << 10)	/* text handed on at a block's end past this */

static const char *const markdown_exts[] = { "md", "markdown", "mdown", "mkd", "mkdn" };

bool text_is_markdown(const struct tagger_input *in)
{
	if (!strcmp(in->mime, "text/markdown") || !strcmp(in->mime, "text/x-markdown"))
		return true;
	/*
	 * libmagic has no rule for Markdown: plain text (or HTML, when it
	 * sees inline HTML) with a Markdown name.
	 */
	if (strcmp(in->mime, "text/plain") && strcmp(in->mime, "text/html"))
		return false;
	for (size_t i = 0; i < sizeof(markdown_exts) / sizeof(markdown_exts[0]); i++)
		if (!strcmp(in->ext, markdown_exts[i]))
			return true;
	return false;
}

struct md_text {
	struct tagger_out *o;
	char *buf;
	size_t len, cap;
	int err;
};

static void md_put(struct md_text *t, const char *s, size_t n)
{
	if (t->err || !s || !n)
		return;
	if (t->len + n > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		char *p;

		while (cap < t->len + n)
			cap *= 2;
		p = realloc(t->buf, cap);
		if (!p) {
			t->err = -ENOMEM;
			return;
		}
		t->buf = p;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
}

static void md_flush(struct md_text *t)
{
	if (!t->err && t->len)
		t->err = tagger_text(t->o, t->buf, t->len);
	t->len = 0;
}

static void md_literal(struct md_text *t, cmark_node *n)
{
	const char *s = cmark_node_get_literal(n);

	if (s)
		md_put(t, s, strlen(s));
}

/* An autolink: its only child is text that is its target (or mailto: target). */
static bool md_is_autolink(cmark_node *link)
{
	cmark_node *c = cmark_node_first_child(link);
	const char *url = cmark_node_get_url(link), *text;

	if (!c || cmark_node_next(c) || cmark_node_get_type(c) != CMARK_NODE_TEXT || !url)
		return false;
	text = cmark_node_get_literal(c);
	if (!text)
		return false;
	if (!strncmp(url, "mailto:", 7) && strncmp(text, "mailto:", 7))
		url += 7;
	return !strcmp(url, text);
}

/*
 * The bytes up to the first 64 KiB chunk that is not text (over 5% of
 * control characters or invalid UTF-8), as the plain-text path decides.
 */
static size_t md_text_bytes(const char *raw, size_t len)
{
	UChar *u = malloc(MARKDOWN_CHUNK * sizeof(*u));
	size_t off;

	if (!u)
		return 0;
	for (off = 0; off < len; off += MARKDOWN_CHUNK) {
		size_t n = len - off < MARKDOWN_CHUNK ? len - off : MARKDOWN_CHUNK;
		UErrorCode uerr = U_ZERO_ERROR;
		int32_t ulen = 0;

		u_strFromUTF8WithSub(u, MARKDOWN_CHUNK, &ulen, raw + off, (int32_t)n, 0xfffd, NULL,
				     &uerr);
		if (U_FAILURE(uerr) || text_binary_from(u, ulen) >= 0)
			break;
	}
	free(u);
	return off < len ? off : len;
}

static int md_walk(cmark_node *root, struct md_text *t)
{
	cmark_iter *it = cmark_iter_new(root);
	cmark_event_type ev;

	if (!it)
		return -ENOMEM;
	while (!t->err && tagger_text_wanted(t->o) && (ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *n = cmark_iter_get_node(it);

		switch (cmark_node_get_type(n)) {
		case CMARK_NODE_TEXT:
		case CMARK_NODE_CODE:
			md_literal(t, n);
			break;
		case CMARK_NODE_CODE_BLOCK:
			md_literal(t, n);
			md_put(t, "\n", 1);
			break;
		case CMARK_NODE_SOFTBREAK:
		case CMARK_NODE_LINEBREAK:
			md_put(t, "\n", 1);
			break;
		case CMARK_NODE_LINK:
			/* The target never; the text unless it is the target. */
			if (ev == CMARK_EVENT_ENTER && md_is_autolink(n))
				cmark_iter_reset(it, n, CMARK_EVENT_EXIT);
			break;
		case CMARK_NODE_HTML_BLOCK:
		case CMARK_NODE_HTML_INLINE:
			break;		/* markup, with its URLs */
		default:
			/* A block's end ends its words; then hand the text on now and then. */
			if (ev == CMARK_EVENT_EXIT && cmark_node_get_type(n) <= CMARK_NODE_LAST_BLOCK) {
				md_put(t, "\n", 1);
				if (t->len > MARKDOWN_FLUSH)
					md_flush(t);
			}
			break;
		}
	}
	cmark_iter_free(it);
	md_flush(t);
	return t->err;
}

int tag_markdown(const struct tagger_input *in, struct tagger_out *o)
{
	struct md_text t = { .o = o };
	cmark_node *root;
	size_t len = 0;
	char *raw;
	int err;

	if (in->size > MARKDOWN_MAX_BYTES ||
	    (*in->charset && strcmp(in->charset, "utf-8") && strcmp(in->charset, "us-ascii")))
		return -EAGAIN;		/* the plain-text path reads it */
	raw = malloc(in->size ? in->size : 1);
	if (!raw)
		return -ENOMEM;
	while (len < in->size) {
		ssize_t got = pread(in->fd, raw + len, in->size - len, len);

		if (got < 0) {
			free(raw);
			return -errno;
		}
		if (!got)
			break;
		len += got;
	}
	root = cmark_parse_document(raw, md_text_bytes(raw, len), CMARK_OPT_DEFAULT);
	free(raw);
	if (!root)
		return -ENOMEM;
	err = md_walk(root, &t);
	cmark_node_free(root);
	free(t.buf);
	return err;
}
