// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: dgfs-tagger's text path (userspace/tagger/text.c,
 * out.c, words.c) on hostile bytes: straight into tagger_text() as UTF-8,
 * or as a file of some charset (libmagic's names) read by tag_text(), as
 * plain text, as Markdown through cmark, or as HTML through libxml2.
 *
 * Input: a selector byte (mode and charset), a byte for the text cap
 * (1..256 times 16 bytes), then the content. Checked: the text kept fits
 * the cap and is valid UTF-8 without NUL, and the JSON is printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <unicode/ustring.h>

#include "tagger/out.c"
#include "tagger/text.c"
#include "tagger/markdown.c"
#include "tagger/words.c"
#include "tagger/stopwords.c"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_tagger_text: %s:%d: %s\n",\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const charsets[] = { "utf-8", "us-ascii", "iso-8859-1", "utf-16le",
		"unknown-8bit", "" };
	struct tagger_input in = { .name = "fuzz", .ext = "" };
	struct tagger_out *o;
	UErrorCode uerr = U_ZERO_ERROR;
	int32_t n;
	int mode, fd = -1;
	size_t max_text;

	if (size < 2)
		return 0;
	if (!devnull) {
		devnull = fopen("/dev/null", "w");
		xmlInitParser();
	}
	mode = data[0] % 3;
	in.charset = charsets[(data[0] / 3) % 6];
	max_text = (size_t)(data[1] + 1) * 16;
	data += 2;
	size -= 2;
	o = tagger_out_new(max_text, words_new());
	CHECK(o);
	if (mode == 0) {
		tagger_text(o, (const char *)data, size);
	} else {
		fd = memfd_create("fuzz", MFD_CLOEXEC);
		CHECK(fd >= 0 && write(fd, data, size) == (ssize_t)size);
		in.fd = fd;
		in.size = size;
		in.mime = mode == 1 ? "text/plain" : "text/html";
		in.ext = data[-2] & 0x80 ? "md" : "";	/* text/plain named .md: Markdown */
		tag_text(&in, o);
		close(fd);
	}
	CHECK(o->text_len <= max_text && strlen(o->text) == o->text_len);
	u_strFromUTF8(NULL, 0, &n, o->text, o->text_len, &uerr);
	CHECK(uerr == U_BUFFER_OVERFLOW_ERROR || uerr == U_ZERO_ERROR ||
	      uerr == U_STRING_NOT_TERMINATED_WARNING);
	CHECK(tagger_out_print(o, devnull) == 0);
	tagger_out_free(o);
	return 0;
}
