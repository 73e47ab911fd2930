# The media extractors of dgfs-tagger (image.c, audio.c, speech.c, sndio.c),
# included by tagger.mk: their libraries, and the speech model's directory.
TAGGER_PKGS += lept tesseract libexif taglib_c sndfile samplerate pocketsphinx
TAGGER_LIBS += -lgomp -lm
TAGGER_CFLAGS += -DSPEECH_MODEL_DIR='"$(call pkgconf,--variable=modeldir,pocketsphinx)/en-us"'
