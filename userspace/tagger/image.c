// SPDX-License-Identifier: GPL-2.0
/*
 * Images: pixel size (Leptonica reads the header of every format it
 * decodes), EXIF (libexif: camera make and model, year taken, whether a
 * GPS position is recorded, orientation) and the text in the image
 * (Tesseract, English and Simplified Chinese), which goes to tagger_text()
 * like any other text. docs/TAGS.md lists the tags.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <leptonica/allheaders.h>
#include <libexif/exif-data.h>
#include <omp.h>
#include <tesseract/capi.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>

#include "tagger.h"

#define IMAGE_MAX_BYTES	(64u << 20)	/* larger files: header and EXIF only */
#define EXIF_MAX_BYTES	(1u << 20)	/* EXIF sits in a JPEG's first segments */
#define EXIF_MAX_STRING	64		/* make and model are short */
#define OCR_MAX_PIXELS	(40ull * 1000 * 1000)	/* a 32 bpp copy is 160 MB */
#define OCR_DEADLINE_MS	30000		/* Tesseract gives up after this */
#define OCR_MIN_CONF	60.0f		/* words below this are mostly noise */
#define OCR_LANGS	"eng+chi_sim"

static TessBaseAPI *ocr;	/* loaded by tag_image_init, before seccomp */

static bool is_image(const struct tagger_input *in)
{
	return in->mime && !strncmp(in->mime, "image/", 6);
}

/* libmagic has not looked yet when inits run: Leptonica's signature check. */
static bool looks_like_image(const struct tagger_input *in)
{
	unsigned char head[16];
	l_int32 format = IFF_UNKNOWN;

	if (pread(in->fd, head, sizeof(head), 0) != sizeof(head))
		return false;
	return !findFileFormatBuffer(head, &format) && format != IFF_UNKNOWN;
}

int tag_image_init(const struct tagger_input *in)
{
	if (in->no_ocr || ocr || !looks_like_image(in))
		return 0;
	/*
	 * Tesseract's LSTM runs OpenMP loops; threads would need clone()
	 * under seccomp and buy little for one image. No nesting level
	 * active means every parallel region runs on this thread.
	 */
	omp_set_max_active_levels(0);
	setMsgSeverity(L_SEVERITY_NONE);	/* Leptonica's chatter on bad input */
	ocr = TessBaseAPICreate();
	if (!ocr)
		return -ENOMEM;
	/* NULL: the tessdata directory Debian's Tesseract was built with. */
	if (TessBaseAPIInit3(ocr, NULL, OCR_LANGS)) {
		TessBaseAPIDelete(ocr);
		ocr = NULL;
		fprintf(stderr, "dgfs-tagger: Tesseract cannot load %s; no OCR\n", OCR_LANGS);
		return -ENOENT;
	}
	TessBaseAPISetPageSegMode(ocr, PSM_AUTO);
	return 0;
}

/* Reads up to max bytes of the file from offset 0; *len gets the count. */
static int read_head(const struct tagger_input *in, size_t max, unsigned char **buf, size_t *len)
{
	size_t want = in->size < max ? in->size : max, got = 0;
	unsigned char *b;

	if (!want)
		return -ENODATA;
	b = malloc(want);
	if (!b)
		return -ENOMEM;
	while (got < want) {
		ssize_t n = pread(in->fd, b + got, want - got, got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(b);
			return -errno;
		}
		if (!n)
			break;
		got += n;
	}
	*buf = b;
	*len = got;
	return 0;
}

/* ---- EXIF ----------------------------------------------------------------- */

/* An ASCII entry as printable text, trimmed; false when there is none. */
static bool exif_ascii(ExifContent *ifd, ExifTag tag, char *out, size_t outsz)
{
	ExifEntry *e = ifd ? exif_content_get_entry(ifd, tag) : NULL;
	size_t i, n = 0;

	if (!e || e->format != EXIF_FORMAT_ASCII || !e->data)
		return false;
	for (i = 0; i < e->size && e->data[i] && n + 1 < outsz; i++) {
		unsigned char c = e->data[i];

		if (c >= 0x20 && c < 0x7f && !(c == ' ' && (!n || out[n - 1] == ' ')))
			out[n++] = c;
	}
	while (n && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	return n > 0;
}

/* The year of an EXIF date, "YYYY:MM:DD HH:MM:SS"; 0 when it is not one. */
static unsigned exif_year(ExifContent *ifd, ExifTag tag)
{
	char s[32];
	unsigned y = 0;
	int i;

	if (!exif_ascii(ifd, tag, s, sizeof(s)) || strlen(s) < 5 || s[4] != ':')
		return 0;
	for (i = 0; i < 4; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		y = y * 10 + (s[i] - '0');
	}
	return y >= 1800 && y <= 2999 ? y : 0;
}

/* A GPS coordinate: three rationals (degrees, minutes, seconds). */
static bool exif_coordinate(ExifContent *gps, ExifTag tag, ExifByteOrder order)
{
	ExifEntry *e = gps ? exif_content_get_entry(gps, tag) : NULL;
	unsigned i;

	if (!e || e->format != EXIF_FORMAT_RATIONAL || e->components != 3 ||
	    !e->data || e->size < 3 * 8)
		return false;
	for (i = 0; i < 3; i++)
		if (!exif_get_rational(e->data + 8 * i, order).denominator)
			return false;
	return true;
}

static int exif_tags(const unsigned char *buf, size_t len, struct tagger_out *o)
{
	ExifData *ed = exif_data_new();
	ExifContent *ifd0, *exif, *gps;
	ExifByteOrder order;
	ExifEntry *e;
	char s[EXIF_MAX_STRING + 1];
	unsigned year;
	int err = 0;

	if (!ed)
		return -ENOMEM;
	/* Following the specification adds the entries it calls mandatory, with made-up values. */
	exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
	exif_data_load_data(ed, buf, len);
	order = exif_data_get_byte_order(ed);
	ifd0 = ed->ifd[EXIF_IFD_0];
	exif = ed->ifd[EXIF_IFD_EXIF];
	gps = ed->ifd[EXIF_IFD_GPS];

	if (exif_ascii(ifd0, EXIF_TAG_MAKE, s, sizeof(s)))
		err = err ?: tagger_tag(o, "exif-make", s);
	if (exif_ascii(ifd0, EXIF_TAG_MODEL, s, sizeof(s)))
		err = err ?: tagger_tag(o, "exif-model", s);
	year = exif_year(exif, EXIF_TAG_DATE_TIME_ORIGINAL);
	if (!year)
		year = exif_year(exif, EXIF_TAG_DATE_TIME_DIGITIZED);
	if (year) {
		snprintf(s, sizeof(s), "%u", year);
		err = err ?: tagger_tag(o, "year", s);
	}
	if (exif_coordinate(gps, EXIF_TAG_GPS_LATITUDE, order) &&
	    exif_coordinate(gps, EXIF_TAG_GPS_LONGITUDE, order))
		err = err ?: tagger_tag(o, "gps", NULL);
	e = ifd0 ? exif_content_get_entry(ifd0, EXIF_TAG_ORIENTATION) : NULL;
	if (e && e->format == EXIF_FORMAT_SHORT && e->components >= 1 && e->data && e->size >= 2) {
		ExifShort v = exif_get_short(e->data, order);

		if (v >= 1 && v <= 8) {
			snprintf(s, sizeof(s), "%u", v);
			err = err ?: tagger_tag(o, "orientation", s);
		}
	}
	exif_data_unref(ed);
	return err;
}

/* ---- OCR ------------------------------------------------------------------ */

struct ocr_text {
	char *buf;
	size_t len, cap;
	unsigned words;		/* confident words kept */
	bool last_cjk;		/* the text so far ends in a Han or kana letter */
};

static bool is_cjk(UChar32 c)
{
	UErrorCode ec = U_ZERO_ERROR;
	UScriptCode sc = uscript_getScript(c, &ec);

	return U_SUCCESS(ec) && (sc == USCRIPT_HAN || sc == USCRIPT_HIRAGANA ||
				 sc == USCRIPT_KATAKANA);
}

/*
 * Appends one recognised word. Tesseract puts a space between Chinese
 * characters; left there, every character would become a word of its own,
 * so no space goes between two CJK letters and ICU segments the run.
 */
static int ocr_text_add(struct ocr_text *t, const char *w)
{
	int32_t i = 0, n = strlen(w) > INT32_MAX ? 0 : (int32_t)strlen(w);
	UChar32 c, first = -1, last = -1;
	unsigned alnum = 0;
	bool space;

	while (i < n) {
		U8_NEXT(w, i, n, c);
		if (c < 0)
			return 0;	/* not UTF-8: Tesseract's or the image's fault */
		if (first < 0)
			first = c;
		last = c;
		alnum += u_isalnum(c);
	}
	if (!alnum)
		return 0;		/* punctuation and specks */
	space = t->len && !(t->last_cjk && is_cjk(first));
	if (t->len + space + n + 1 > t->cap) {
		size_t cap = (t->len + space + n + 1) * 2;
		char *b = realloc(t->buf, cap);

		if (!b)
			return -ENOMEM;
		t->buf = b;
		t->cap = cap;
	}
	if (space)
		t->buf[t->len++] = ' ';
	memcpy(t->buf + t->len, w, n);
	t->len += n;
	t->buf[t->len] = '\0';
	t->last_cjk = is_cjk(last);
	t->words++;
	return 0;
}

/* Pix as Tesseract wants it: no colour map, no alpha (text on a transparent background). */
static PIX *ocr_prepare(PIX *pix)
{
	PIX *p;

	if (pixGetColormap(pix)) {
		p = pixRemoveColormap(pix, REMOVE_CMAP_BASED_ON_SRC);
		pixDestroy(&pix);
		if (!p)
			return NULL;
		pix = p;
	}
	if (pixGetDepth(pix) == 32 && pixGetSpp(pix) == 4) {
		p = pixAlphaBlendUniform(pix, 0xffffff00);
		pixDestroy(&pix);
		pix = p;
	}
	return pix;
}

static int ocr_image(const unsigned char *buf, size_t len, struct tagger_out *o)
{
	struct ocr_text t = { 0 };
	TessResultIterator *it;
	ETEXT_DESC *monitor;
	PIX *pix;
	int err = 0;

	pix = pixReadMem(buf, len);
	if (pix)
		pix = ocr_prepare(pix);
	if (!pix)
		return 0;	/* a header Leptonica read, pixels it cannot */
	monitor = TessMonitorCreate();
	if (!monitor) {
		pixDestroy(&pix);
		return -ENOMEM;
	}
	TessMonitorSetDeadlineMSecs(monitor, OCR_DEADLINE_MS);
	TessBaseAPISetImage2(ocr, pix);
	if (TessBaseAPIRecognize(ocr, monitor))
		fprintf(stderr, "dgfs-tagger: OCR stopped (deadline %d ms or error); keeping what it found\n",
			OCR_DEADLINE_MS);
	it = TessBaseAPIGetIterator(ocr);
	if (it) {
		do {
			char *w = TessResultIteratorGetUTF8Text(it, RIL_WORD);

			if (w && TessResultIteratorConfidence(it, RIL_WORD) >= OCR_MIN_CONF)
				err = err ?: ocr_text_add(&t, w);
			TessDeleteText(w);
		} while (!err && tagger_text_wanted(o) && TessResultIteratorNext(it, RIL_WORD));
		TessResultIteratorDelete(it);
	}
	/* One file a process: let Tesseract go (it warns at exit otherwise). */
	TessBaseAPIEnd(ocr);
	TessBaseAPIDelete(ocr);
	ocr = NULL;
	TessMonitorDelete(monitor);
	pixDestroy(&pix);

	if (!err && t.words) {
		err = tagger_text(o, t.buf, t.len);
		err = err ?: tagger_tag(o, "has-text", NULL);
	}
	free(t.buf);
	return err;
}

/* ---- the extractor -------------------------------------------------------- */

int tag_image(const struct tagger_input *in, struct tagger_out *o)
{
	l_int32 format, w, h, bps, spp, iscmap;
	unsigned char *buf = NULL;
	char num[16];
	size_t len = 0;
	int err;

	if (!is_image(in))
		return 0;
	err = read_head(in, IMAGE_MAX_BYTES, &buf, &len);
	if (err)
		return err == -ENODATA ? 0 : err;

	if (!pixReadHeaderMem(buf, len, &format, &w, &h, &bps, &spp, &iscmap) &&
	    w > 0 && h > 0) {
		snprintf(num, sizeof(num), "%d", w);
		err = tagger_tag(o, "width", num);
		snprintf(num, sizeof(num), "%d", h);
		err = err ?: tagger_tag(o, "height", num);
	} else {
		w = h = 0;	/* not a format Leptonica knows: no pixels to read */
	}
	err = err ?: exif_tags(buf, len < EXIF_MAX_BYTES ? len : EXIF_MAX_BYTES, o);

	if (!err && ocr && !in->no_ocr && w > 0 && len == in->size &&
	    (unsigned long long)w * h <= OCR_MAX_PIXELS && tagger_text_wanted(o))
		err = ocr_image(buf, len, o);
	free(buf);
	return err;
}
