// SPDX-License-Identifier: GPL-2.0
/* PDF text through poppler-glib, page by page until the text cap. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <poppler.h>

#include "tagger.h"

int tag_pdf(const struct tagger_input *in, struct tagger_out *o)
{
	PopplerDocument *doc;
	GError *gerr = NULL;
	int fd, pages, err = 0;

	if (strcmp(in->mime, "application/pdf"))
		return 0;
	/* The document takes the descriptor and closes it. */
	fd = dup(in->fd);
	if (fd < 0)
		return -errno;
	doc = poppler_document_new_from_fd(fd, NULL, &gerr);
	if (!doc) {
		fprintf(stderr, "dgfs-tagger: pdf: %s\n", gerr ? gerr->message : "not readable");
		g_clear_error(&gerr);
		return -EINVAL;
	}
	pages = poppler_document_get_n_pages(doc);
	for (int i = 0; i < pages && !err && tagger_text_wanted(o); i++) {
		PopplerPage *page = poppler_document_get_page(doc, i);
		char *text;

		if (!page)
			continue;
		text = poppler_page_get_text(page);
		if (text) {
			err = tagger_text(o, text, strlen(text));
			g_free(text);
		}
		g_object_unref(page);
	}
	g_object_unref(doc);
	return err;
}
