# dgfs-tagger, tags and words from a file's content (included by the top
# Makefile). docs/TAGS.md.
#
# Every userspace/tagger/*.c is built in. The media extractors (image.c,
# audio.c, speech.c) add their libraries in userspace/tagger/media.mk when
# they are there; main.c finds them through weak symbols.

TAGGER_SRCS := $(filter-out userspace/tagger/gen-%,$(wildcard userspace/tagger/*.c))
TAGGER_HDRS := $(wildcard userspace/tagger/*.h)
TAGGER_GEN  := $(BUILD)/tagger/stopwords.c
TAGGER_PKGS := icu-uc icu-i18n poppler-glib libxml-2.0 libseccomp jansson libmagic
TAGGER_CFLAGS = $(call pkgconf,--cflags,$(TAGGER_PKGS))
TAGGER_LIBS = $(call pkgconf,--libs,$(TAGGER_PKGS)) -lstemmer -lcmark
-include userspace/tagger/media.mk

USER_BINS += $(BUILD)/dgfs-tagger

$(TAGGER_GEN): userspace/tagger/gen-stopwords.pl userspace/tagger/stopwords-zh.txt | deps
	@mkdir -p $(@D)
	perl $< userspace/tagger/stopwords-zh.txt > $@

# The directory too: a media file added or removed changes what is linked.
$(BUILD)/dgfs-tagger: $(TAGGER_SRCS) $(TAGGER_HDRS) $(TAGGER_GEN) userspace/tagger/tagger.mk userspace/tagger | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_COMMON) -Iuserspace -Iuserspace/tagger $(TAGGER_CFLAGS) $(TAGGER_SRCS) $(TAGGER_GEN) \
		-o $@ $(TAGGER_LIBS)

# tests/unit/test_tagger_words.c includes words.c, out.c and the stop words.
# (Recursive variables, all three: expanded in recipes, after make deps.)
UNIT_LIBS += $(call pkgconf,--libs,icu-uc icu-i18n jansson) -lstemmer
$(BUILD)/unit/test_tagger_words: $(TAGGER_GEN)

# tests/fuzz/dgfsd/fuzz_tagger_text.c: the text path on hostile bytes.
LIBFUZZER_CFLAGS += $(call pkgconf,--cflags,libxml-2.0)
LIBFUZZER_LIBS += $(call pkgconf,--libs,icu-uc icu-i18n libxml-2.0 jansson) -lstemmer -lcmark
$(BUILD)/fuzz/fuzz_tagger_text: $(TAGGER_GEN) userspace/tagger/text.c userspace/tagger/out.c \
	userspace/tagger/words.c userspace/tagger/markdown.c
