// SPDX-License-Identifier: GPL-2.0
/*
 * Text files: plain text and source code as they are (ICU's word
 * breaking leaves their punctuation out), Markdown through cmark
 * (markdown.c), HTML through libxml2's HTML
 * parser without its markup, scripts and styles. Whether a file is text is
 * libmagic's call from its content, never the name's; a text file that
 * turns into binary further on is read up to there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <libxml/HTMLparser.h>
#include <unicode/ucnv.h>
#include <unicode/ucsdet.h>
#include <unicode/uchar.h>
#include <unicode/ustring.h>

#include "text.h"

#define TEXT_CHUNK	(64u << 10)	/* bytes read at a time */
/* Bytes read at most: a file of spaces or markup has no words to fill the cap. */
#define TEXT_MAX_READ	(64ull << 20)

/*
 * Text must be text: where this share of control or undecodable characters
 * is reached, the index of the first of them; -1 while it is text.
 */
int32_t text_binary_from(const UChar *u, int32_t n)
{
	int32_t bad = 0, first = -1;

	for (int32_t i = 0; i < n; i++) {
		if (u[i] == 0xfffd || (u_iscntrl(u[i]) && !u_isspace(u[i]) && u[i] != 0x1b)) {
			if (first < 0)
				first = i;
			bad++;
		}
	}
	return bad * 20 > n ? first : -1;	/* over 5% */
}

/* The end of the last whole word in u[0..n): after its last space, or n. */
static int32_t cut_after_space(const UChar *u, int32_t n)
{
	for (int32_t i = n; i > 0; i--)
		if (u_isspace(u[i - 1]))
			return i;
	return n;
}

static int send_utf16(struct tagger_out *o, const UChar *u, int32_t n)
{
	UErrorCode uerr = U_ZERO_ERROR;
	char *utf8;
	int32_t len;
	int err;

	if (!n)
		return 0;
	utf8 = malloc((size_t)n * 3);
	if (!utf8)
		return -ENOMEM;
	u_strToUTF8WithSub(utf8, n * 3, &len, u, n, 0xfffd, NULL, &uerr);
	err = U_FAILURE(uerr) ? -EINVAL : tagger_text(o, utf8, len);
	free(utf8);
	return err;
}

/* An ICU converter for libmagic's charset name, or for what ICU's detector finds. */
static UConverter *open_converter(const char *charset, const char *sample, int32_t len)
{
	UErrorCode uerr = U_ZERO_ERROR;
	UConverter *conv = NULL;

	if (!strcasecmp(charset, "us-ascii"))
		charset = "utf-8";
	if (*charset && strcasecmp(charset, "unknown-8bit"))
		conv = ucnv_open(charset, &uerr);
	if (!conv) {
		UCharsetDetector *det;
		const UCharsetMatch *match;
		const char *name = "windows-1252";

		uerr = U_ZERO_ERROR;
		det = ucsdet_open(&uerr);
		ucsdet_setText(det, sample, len, &uerr);
		match = ucsdet_detect(det, &uerr);
		if (U_SUCCESS(uerr) && match)
			name = ucsdet_getName(match, &uerr);
		uerr = U_ZERO_ERROR;
		conv = ucnv_open(name, &uerr);
		ucsdet_close(det);
	}
	if (conv) {
		/* Undecodable bytes become U+FFFD, which binary_from() counts. */
		uerr = U_ZERO_ERROR;
		ucnv_setToUCallBack(conv, UCNV_TO_U_CALLBACK_SUBSTITUTE, NULL, NULL, NULL, &uerr);
	}
	return conv;
}

static int tag_plain(const struct tagger_input *in, struct tagger_out *o)
{
	char *raw = malloc(TEXT_CHUNK);
	UChar *u = malloc(2 * TEXT_CHUNK * sizeof(*u));
	UConverter *conv = NULL;
	int32_t have = 0;	/* UChars carried over from the last chunk */
	uint64_t off = 0;
	int err = -ENOMEM;

	if (!raw || !u)
		goto out;
	while (tagger_text_wanted(o)) {
		ssize_t got = off < TEXT_MAX_READ ? pread(in->fd, raw, TEXT_CHUNK, off) : 0;
		UErrorCode uerr = U_ZERO_ERROR;
		const char *src = raw;
		UChar *dst = u + have, *start = dst;
		int32_t cut, bad;

		if (got < 0) {
			err = -errno;
			goto out;
		}
		if (!conv) {
			conv = open_converter(in->charset, raw, got);
			if (!conv) {
				err = -EINVAL;
				goto out;
			}
		}
		off += got;
		ucnv_toUnicode(conv, &dst, u + 2 * TEXT_CHUNK, &src, raw + got, NULL, got == 0, &uerr);
		if (U_FAILURE(uerr)) {
			err = -EINVAL;
			goto out;
		}
		bad = text_binary_from(start, dst - start);
		if (bad >= 0) {
			/* The words before the binary part, then no more. */
			err = send_utf16(o, u, cut_after_space(u, start - u + bad));
			goto out;
		}
		/* A word cut by the chunk's end waits for the rest of it. */
		cut = got ? cut_after_space(u, dst - u) : dst - u;
		if (dst - u - cut > TEXT_CHUNK / 2)	/* no space: not one word */
			cut = dst - u;
		err = send_utf16(o, u, cut);
		if (err)
			goto out;
		have = dst - u - cut;
		memmove(u, u + cut, have * sizeof(*u));
		if (!got)
			break;
	}
	err = 0;
out:
	if (conv)
		ucnv_close(conv);
	free(u);
	free(raw);
	return err;
}

struct html_state {
	struct tagger_out *o;
	htmlParserCtxtPtr ctxt;
	char *buf;
	size_t len;
	int skip;	/* depth inside script and style: no words there */
	int err;
};

static void html_flush(struct html_state *s, bool all)
{
	size_t n = s->len;

	if (!all)
		while (n && !strchr(" \t\n\r", s->buf[n - 1]))
			n--;
	if (!n)
		n = s->len;
	if (!s->err)
		s->err = tagger_text(s->o, s->buf, n);
	memmove(s->buf, s->buf + n, s->len - n);
	s->len -= n;
	if (s->err || !tagger_text_wanted(s->o))
		xmlStopParser(s->ctxt);
}

static void html_chars(void *ctx, const xmlChar *ch, int len)
{
	struct html_state *s = ctx;

	if (s->skip || len <= 0)
		return;
	while (len) {
		size_t n = TEXT_CHUNK - s->len < (size_t)len ? TEXT_CHUNK - s->len : (size_t)len;

		memcpy(s->buf + s->len, ch, n);
		s->len += n;
		ch += n;
		len -= n;
		if (s->len == TEXT_CHUNK)
			html_flush(s, false);
	}
}

static bool is_hidden(const xmlChar *name)
{
	return !strcasecmp((const char *)name, "script") || !strcasecmp((const char *)name, "style") ||
	       !strcasecmp((const char *)name, "template");
}

/* Elements that do not end a word: "foo<b>bar</b>" reads "foobar". */
static bool is_inline(const xmlChar *name)
{
	static const char *const inl[] = { "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data",
		"dfn", "em", "font", "i", "kbd", "mark", "q", "s", "samp", "small", "span",
		"strong", "sub", "sup", "time", "u", "var", "wbr" };

	for (size_t i = 0; i < sizeof(inl) / sizeof(inl[0]); i++)
		if (!strcasecmp((const char *)name, inl[i]))
			return true;
	return false;
}

static void html_start(void *ctx, const xmlChar *name, const xmlChar **atts)
{
	struct html_state *s = ctx;

	(void)atts;
	if (is_hidden(name))
		s->skip++;
	else if (!is_inline(name))
		html_chars(s, (const xmlChar *)"\n", 1);
}

static void html_end(void *ctx, const xmlChar *name)
{
	struct html_state *s = ctx;

	if (is_hidden(name)) {
		if (s->skip)
			s->skip--;
	} else if (!is_inline(name)) {
		html_chars(s, (const xmlChar *)"\n", 1);
	}
}

static void html_quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static int tag_html(const struct tagger_input *in, struct tagger_out *o)
{
	htmlSAXHandler sax = {
		.startElement = html_start, .endElement = html_end,
		.characters = html_chars, .cdataBlock = html_chars,
		.warning = html_quiet, .error = html_quiet,
	};
	struct html_state s = { .o = o };
	xmlCharEncoding enc = XML_CHAR_ENCODING_NONE;
	char *raw = malloc(TEXT_CHUNK);
	uint64_t off = 0;

	s.buf = malloc(TEXT_CHUNK);
	if (!raw || !s.buf) {
		s.err = -ENOMEM;
		goto out;
	}
	/* A <meta charset> in the page still wins over this. */
	if (!strcasecmp(in->charset, "utf-8") || !strcasecmp(in->charset, "us-ascii"))
		enc = XML_CHAR_ENCODING_UTF8;
	s.ctxt = htmlCreatePushParserCtxt(&sax, &s, NULL, 0, NULL, enc);
	if (!s.ctxt) {
		s.err = -ENOMEM;
		goto out;
	}
	htmlCtxtUseOptions(s.ctxt, HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
			   HTML_PARSE_RECOVER | HTML_PARSE_NOBLANKS);
	while (!s.err && tagger_text_wanted(o) && !s.ctxt->disableSAX) {
		ssize_t got = off < TEXT_MAX_READ ? pread(in->fd, raw, TEXT_CHUNK, off) : 0;

		if (got < 0) {
			s.err = -errno;
			break;
		}
		off += got;
		htmlParseChunk(s.ctxt, raw, got, got == 0);
		if (!got)
			break;
	}
	if (!s.err && s.len)
		html_flush(&s, true);
out:
	if (s.ctxt)
		htmlFreeParserCtxt(s.ctxt);
	free(s.buf);
	free(raw);
	return s.err;
}

static const char *const text_mimes[] = {
	"application/json", "application/xml", "application/javascript", "application/x-ndjson",
};

int tag_text(const struct tagger_input *in, struct tagger_out *o)
{
	bool text = !strncmp(in->mime, "text/", 5);

	for (size_t i = 0; !text && i < sizeof(text_mimes) / sizeof(text_mimes[0]); i++)
		text = !strcmp(in->mime, text_mimes[i]);
	if (!text || !strcmp(in->charset, "binary") || !strcmp(in->mime, "text/rtf"))
		return 0;
	if (text_is_markdown(in)) {
		int err = tag_markdown(in, o);

		if (err != -EAGAIN)
			return err;
	}
	if (!strcmp(in->mime, "text/html") || !strcmp(in->mime, "application/xhtml+xml"))
		return tag_html(in, o);
	return tag_plain(in, o);
}

int tag_text_init(void)
{
	xmlInitParser();
	return 0;
}
