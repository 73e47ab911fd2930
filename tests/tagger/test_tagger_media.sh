#!/usr/bin/env bash
# dgfs-tagger on images, audio and speech (docs/TAGS.md, "Media tags"):
# EXIF written by exiftool, pixel sizes against ImageMagick's, text drawn by
# ImageMagick read back by OCR, tags written by id3v2, oggenc and metaflac,
# speech made by espeak-ng; and hostile input (a truncated JPEG, EXIF with
# absurd counts and offsets, malformed ID3 frames, a WAV header out of range)
# that must end in bounded time and memory with exit 0 and valid JSON.
#   tests/tagger/test_tagger_media.sh [BUILD_DIR]
# expect-checks: 62
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
build=${1:-build}
T=$build/dgfs-tagger
PY=/usr/bin/python3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

check "dgfs-tagger is built" test -x "$T" || finish

# run NAME FILE DGFS_NAME [OPTIONS...]: JSON in $dir/NAME.json, stderr in
# NAME.err, status in NAME.rc, "CPU-seconds max-RSS-KiB" in NAME.time.
run() {
	local name=$1 file=$2 dname=$3 rc
	shift 3
	/usr/bin/time -f '%U %S %M' -o "$dir/$name.time" \
		"$T" "$@" "$file" "$dname" >"$dir/$name.json" 2>"$dir/$name.err" && rc=0 || rc=$?
	echo "$rc" >"$dir/$name.rc"
}
q() { $PY -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
	"$dir/$1.json" "$2"; }
has_tag() { [[ $(q "$1" "any(t['name'] == '$2' and t['value'] == $3 for t in d['tags'])") == True ]]; }
lacks_tag() { [[ $(q "$1" "any(t['name'] == '$2' for t in d['tags'])") == False ]]; }
ok_run() { [[ $(cat "$dir/$1.rc") == 0 ]] && [[ $(wc -l <"$dir/$1.json") == 1 ]] && q "$1" 'len(d)' >/dev/null; }
# The media tags of NAME (all but type, mime and ext), sorted, as name[=value].
media_tags() {
	q "$1" "' '.join(sorted(t['name'] + ('=' + t['value'] if t['value'] is not None else '') for t in d['tags'] if t['name'] not in ('type', 'mime', 'ext')))"
}
# bounded NAME: at most 20 CPU seconds (the tagger's own limit is 60) and 1 GiB resident.
bounded() {
	local u s m
	read -r u s m <"$dir/$1.time" || return 1
	$PY -c "import sys; sys.exit(not ($u + $s < 20 and $m < 1048576))"
}
# words_found NAME MIN WORD...: at least MIN of the WORDs are in NAME's text.
words_found() {
	local name=$1 min=$2
	shift 2
	[[ $($PY -c 'import json, sys; d = json.load(open(sys.argv[1]))
print(sum(w in d["text"].lower().split() for w in sys.argv[2:]))' "$dir/$name.json" "$@") -ge $min ]]
}

# ---- a JPEG with EXIF --------------------------------------------------------
convert -size 320x200 xc:skyblue "$dir/photo.jpg"
exiftool -q -overwrite_original -Make=Canon "-Model=Canon EOS 5D" \
	"-DateTimeOriginal=2019:07:14 10:20:30" -GPSLatitude=48.8584 -GPSLatitudeRef=N \
	-GPSLongitude=2.2945 -GPSLongitudeRef=E -Orientation#=6 "$dir/photo.jpg"
run photo "$dir/photo.jpg" trip/eiffel.jpg
check "exif jpeg: exit 0, one line of JSON" ok_run photo
same "exif jpeg: exactly the tags exiftool wrote, and the pixel size" "$(media_tags photo)" \
	"exif-make=Canon exif-model=Canon EOS 5D gps height=200 orientation=6 width=320 year=2019"
check "exif jpeg: type=image" has_tag photo type "'image'"

# The year comes from DateTimeOriginal, not the file's modification date.
convert -size 64x48 xc:white "$dir/dated.jpg"
exiftool -q -overwrite_original "-ModifyDate=2001:01:01 00:00:00" \
	"-CreateDate=2015:05:05 05:05:05" -GPSVersionID=2.3.0.0 "$dir/dated.jpg"
run dated "$dir/dated.jpg" dated.jpg
same "exif: year from DateTimeDigitized when there is no DateTimeOriginal; no gps without a position" \
	"$(media_tags dated)" "height=48 width=64 year=2015"

convert -size 50x40 xc:white "$dir/plain.jpg"
run plain "$dir/plain.jpg" plain.jpg
same "jpeg without EXIF: only the pixel size" "$(media_tags plain)" "height=40 width=50"

# ---- pixel sizes, against ImageMagick's own reading -------------------------
for f in png gif webp tiff bmp; do
	convert -size 123x45 -seed 7 plasma: "$dir/size.$f"
	run "size_$f" "$dir/size.$f" "size.$f" --no-ocr
	same "$f: width and height as identify reads them" \
		"$(q "size_$f" "[t['value'] for t in d['tags'] if t['name'] in ('width', 'height')]")" \
		"$(identify -format "['%w', '%h']" "$dir/size.$f")"
done

# ---- text in images -----------------------------------------------------------
convert -background white -fill black -font DejaVu-Sans -pointsize 48 \
	label:"Invoice number 4521 paid" "$dir/invoice.png"
run invoice "$dir/invoice.png" scans/invoice.png
check "ocr: exit 0" ok_run invoice
check "ocr: has-text" has_tag invoice has-text None
same "ocr: the words drawn" "$(q invoice "d['text']")" "Invoice number 4521 paid"
same "ocr: its words counted as terms" "$(q invoice "(len(d['terms']), d['terms'].get('number'), d['terms'].get('paid'))")" "(3, 1, 1)"

convert -background white -fill black -font WenQuanYi-Micro-Hei -pointsize 48 \
	label:"北京大学图书馆" "$dir/zh.png"
run zh "$dir/zh.png" zh.png
check "ocr chinese: has-text" has_tag zh has-text None
same "ocr chinese: the characters, segmented into words by ICU" \
	"$(q zh "d['text'].replace(' ', '')")" "北京大学图书馆"
check "ocr chinese: 北京 and 大学 are terms" \
	test "$(q zh "'北京' in d['terms'] and '大学' in d['terms']")" == True
same "ocr chinese: lang=zh" "$(q zh "d['lang']")" zh

run invoice_noocr "$dir/invoice.png" invoice.png --no-ocr
same "--no-ocr: no text, no has-text" "$(q invoice_noocr "(d['text'], [t for t in d['tags'] if t['name'] == 'has-text'])")" "('', [])"

convert -size 400x300 -seed 1 plasma: "$dir/plasma.jpg"
run plasma "$dir/plasma.jpg" plasma.jpg
check "ocr: a picture without text: exit 0" ok_run plasma
check "ocr: a picture without text gets no has-text" lacks_tag plasma has-text

# ---- audio tags ----------------------------------------------------------------
# tone SECONDS FILE: a quiet 440 Hz tone, 8 kHz mono.
tone() {
	$PY - "$1" "$2" <<'PY'
import math, struct, sys, wave
n = int(float(sys.argv[1]) * 8000)
w = wave.open(sys.argv[2], "wb")
w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
w.writeframes(b"".join(struct.pack("<h", int(2000 * math.sin(i * 2 * math.pi * 440 / 8000))) for i in range(n)))
PY
}
tone 90 "$dir/tone90.wav"
lame --quiet "$dir/tone90.wav" "$dir/song.mp3"
id3v2 -a "Miles Davis" -A "Kind of Blue" -g 8 -y 1959 "$dir/song.mp3" >/dev/null
run mp3 "$dir/song.mp3" music/so-what.mp3 --no-speech
check "mp3: exit 0" ok_run mp3
same "mp3: the ID3 tags id3v2 wrote and the duration bucket" "$(media_tags mp3)" \
	"album=Kind of Blue artist=Miles Davis duration=1-5m genre=Jazz year=1959"

# TagLib opens FILE by name: it must parse contained, under Landlock and the
# first seccomp filter, as dgfsd runs it (FILE a memfd at /proc/self/fd/3).
# strace shows the order: Landlock, the first filter, TagLib's opens of FILE,
# then the second filter (no opens at all).
$PY - "$dir/song.mp3" "$dir/mp3_memfd" "$T" <<'PY'
import os, subprocess, sys
fd = os.memfd_create("song")
os.write(fd, open(sys.argv[1], "rb").read())
os.dup2(fd, 3, inheritable=True)
with open(sys.argv[2] + ".json", "wb") as out:
    subprocess.run(["strace", "-f", "-o", sys.argv[2] + ".strace", "-e",
                    "trace=openat,landlock_restrict_self,seccomp", sys.argv[3], "--no-speech",
                    "/proc/self/fd/3", "music/so-what.mp3"], stdout=out, pass_fds=(3,))
PY
same "mp3 from a memfd (as dgfsd passes it): the same tags" "$(media_tags mp3_memfd)" \
	"album=Kind of Blue artist=Miles Davis duration=1-5m genre=Jazz year=1959"
taglib_phase() {
	$PY - "$dir/mp3_memfd.strace" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
def first(pat, start=0):
    return next((i for i in range(start, len(lines)) if re.search(pat, lines[i])), None)
ll = first(r"landlock_restrict_self\(.*\)\s+= 0")
f1 = first(r"seccomp\(SECCOMP_SET_MODE_FILTER, 0, .*\s= 0", ll or 0)
f2 = first(r"seccomp\(SECCOMP_SET_MODE_FILTER, 0, .* = 0", (f1 or 0) + 1)
opens = [i for i, l in enumerate(lines) if '"/proc/self/fd/3"' in l]
# main's own open of FILE comes first; every later one is TagLib's.
taglib = opens[1:]
ok = None not in (ll, f1, f2) and ll < f1 < f2 and taglib and \
     all(f1 < i < f2 for i in taglib) and \
     any("O_RDONLY" in lines[i] and not lines[i].endswith("EACCES (Permission denied)") for i in taglib)
print("contained" if ok else "not contained: %s %s %s %s" % (ll, f1, f2, opens))
PY
}
same "TagLib opened FILE only after Landlock and the first filter, before the second" \
	"$(taglib_phase)" contained
check "... and its attempt to open FILE read-write was refused (EACCES)" \
	grep -q '"/proc/self/fd/3", O_RDWR.*EACCES' "$dir/mp3_memfd.strace"
# The phase TagLib parses in: FILE may be read, nothing written, no other
# file read, and a socket kills the tagger.
rc=$( { "$T" --selftest-open-phase "$dir/song.mp3" x.mp3 >/dev/null 2>"$dir/open_phase.err"; echo $?; } 2>/dev/null)
same "TagLib's phase: a socket() kills the tagger (SIGSYS, 159)" "$rc" 159
same "TagLib's phase: FILE may be opened to read, not to write; /etc/passwd not at all" \
	"$(grep -oE 'open [^:]*: .*' "$dir/open_phase.err" | tr '\n' ';')" \
	"open FILE: allowed;open FILE to write: Permission denied;open /etc/passwd: Permission denied;"

tone 400 "$dir/tone400.wav"
oggenc -Q -a "Björk" -l "Homogenic" -G "Electronic" -d 1997 -o "$dir/song.ogg" "$dir/tone400.wav"
run ogg "$dir/song.ogg" song.ogg --no-speech
same "ogg vorbis: the comments oggenc wrote, UTF-8 kept, and 5-20m" "$(media_tags ogg)" \
	"album=Homogenic artist=Björk duration=5-20m genre=Electronic year=1997"

tone 1300 "$dir/tone1300.wav"
flac -s -f -o "$dir/song.flac" "$dir/tone1300.wav"
metaflac --set-tag="ARTIST=Nina Simone" --set-tag="ALBUM=Pastel Blues" \
	--set-tag="GENRE=Soul" --set-tag="DATE=1965" "$dir/song.flac"
run flac "$dir/song.flac" song.flac --no-speech
same "flac: the tags metaflac wrote, and >20m" "$(media_tags flac)" \
	"album=Pastel Blues artist=Nina Simone duration=>20m genre=Soul year=1965"

tone 2 "$dir/tone2.wav"
run wav "$dir/tone2.wav" tone.wav --no-speech
same "wav: duration from libsndfile" "$(media_tags wav)" "duration=<1m"

# ---- speech ----------------------------------------------------------------------
espeak-ng -v en-us -s 140 -w "$dir/speech.wav" "The children played football in the park."
run speech "$dir/speech.wav" memo.wav
check "speech: exit 0" ok_run speech
check "speech: the speech tag" has_tag speech speech None
check "speech: most of children, played, football, park heard" \
	words_found speech 3 children played football park
same "speech: lang en from the model" "$(q speech "d['lang']")" en

# MP3's encoder delay and filtering cost pocketsphinx more words on
# espeak's voice: a longer text, and a weaker bar (2 of 8 words).
espeak-ng -v en-us -s 140 -w "$dir/speech3.wav" \
	"Good morning everyone. The children played football in the park. My computer needs more memory."
lame --quiet "$dir/speech3.wav" "$dir/speech.mp3"
run speech_mp3 "$dir/speech.mp3" memo.mp3
check "speech in mp3: the speech tag" has_tag speech_mp3 speech None
check "speech in mp3: 2 of morning, everyone, children, played, football, park, computer, memory" \
	words_found speech_mp3 2 morning everyone children played football park computer memory

run speech_off "$dir/speech.wav" memo.wav --no-speech
same "--no-speech: no text, no speech tag" "$(q speech_off "(d['text'], [t for t in d['tags'] if t['name'] == 'speech'])")" "('', [])"

$PY - "$dir/noise.wav" <<'PY'
import random, struct, sys, wave
random.seed(1)
w = wave.open(sys.argv[1], "wb")
w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
w.writeframes(b"".join(struct.pack("<h", max(-32768, min(32767, int(random.gauss(0, 3000))))) for _ in range(16000 * 5)))
PY
run noise "$dir/noise.wav" noise.wav
check "noise: exit 0" ok_run noise
check "noise: no speech tag" lacks_tag noise speech

# Speech is bounded: 10 minutes of audio cost no more CPU than a few times one.
tone 600 "$dir/tone600.wav"
run long "$dir/tone600.wav" long.wav
check "speech: 10 minutes of audio: exit 0, within the bounds" eval 'ok_run long && bounded long'

# ---- hostile input ----------------------------------------------------------------
head -c 700 "$dir/photo.jpg" >"$dir/cut.jpg"
head -c $(($(stat -c %s "$dir/invoice.png") / 2)) "$dir/invoice.png" >"$dir/cut.png"
$PY - "$dir/photo.jpg" "$dir/cut_pixels.jpg" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(b[:b.rfind(b"\xff\xda") + 40])	# into the scan
PY
for f in cut.jpg cut.png cut_pixels.jpg; do
	run "$f" "$dir/$f" "$f"
	check "truncated $f: exit 0 and JSON, in bounded time and memory" eval "ok_run $f && bounded $f"
done
same "truncated jpeg: EXIF that is there is still read" "$(q cut.jpg "[t['value'] for t in d['tags'] if t['name'] == 'exif-make']")" "['Canon']"

# EXIF with absurd counts and offsets: 0xffff entries claimed, counts of
# 2^32-1, offsets past the end, an EXIF IFD that points at itself, a GPS
# IFD far away; then a real image after it.
$PY - "$dir/plain.jpg" "$dir/evil_exif.jpg" <<'PY'
import struct, sys
jpeg = open(sys.argv[1], "rb").read()
def ifd(entries, nxt):
    return struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + struct.pack("<I", nxt)
tiff = b"II*\x00" + struct.pack("<I", 8)
entries = [
    (0x010f, 2, 0xffffffff, 0xfffffff0),	# Make: 4 GiB of ASCII far away
    (0x0110, 2, 0x7fffffff, 8),		# Model
    (0x0112, 3, 0xffffffff, 0x00060000),	# Orientation with a huge count
    (0x8769, 4, 1, 8),			# EXIF IFD: this very IFD
    (0x8825, 4, 1, 0xfffffff0),		# GPS IFD: far away
    (0x9003, 2, 0x10000000, 0x20),		# DateTimeOriginal
    (0x927c, 7, 0xffffffff, 30),		# MakerNote
]
body = tiff + ifd(entries, 8)			# IFD1 = IFD0 again
body += struct.pack("<H", 0xffff) + b"\xff" * 200	# an IFD claiming 65535 entries
app1 = b"Exif\x00\x00" + body
seg = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
lie = b"\xff\xe1" + struct.pack(">H", 0xffff) + b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff"
open(sys.argv[2], "wb").write(jpeg[:2] + seg + lie + jpeg[2:])
PY
run evil_exif "$dir/evil_exif.jpg" evil.jpg
check "exif with absurd counts and offsets: exit 0 and JSON, bounded" eval 'ok_run evil_exif && bounded evil_exif'
same "exif with absurd counts and offsets: no EXIF tags made up" \
	"$(q evil_exif "[t['name'] for t in d['tags'] if t['name'].startswith('exif') or t['name'] in ('gps', 'year', 'orientation')]")" "[]"

# Malformed ID3: a tag size of 256 MiB, frames larger than the tag, a text
# frame with an unknown encoding, one with size 0, garbage frame ids, an
# extended header that claims the whole tag; then real MPEG frames.
$PY - "$dir/song.mp3" "$dir/evil_id3.mp3" <<'PY'
import struct, sys
mp3 = open(sys.argv[1], "rb").read()
audio = mp3[mp3.find(b"\xff\xfb"):] if b"\xff\xfb" in mp3 else mp3
def syncsafe(n):
    return bytes([(n >> 21) & 0x7f, (n >> 14) & 0x7f, (n >> 7) & 0x7f, n & 0x7f])
frames = b"TPE1" + syncsafe(0x0fffffff) + b"\x00\x00" + b"\x01\xff\xfeA\x00"
frames += b"TALB" + syncsafe(6) + b"\x00\x00" + b"\x09abcde"
frames += b"TCON" + syncsafe(0) + b"\x00\x00"
frames += b"\x00\x01\xff\x7f" + syncsafe(3) + b"\xff\xff" + b"xyz"
frames += b"APIC" + syncsafe(100) + b"\x00\x00" + b"\x00image/png"
open(sys.argv[2], "wb").write(b"ID3\x04\x00\x40" + syncsafe(0x0fffffff) + syncsafe(0x0fffffff) + frames + audio)
v23 = b"TIT2" + struct.pack(">I", 0xffffffff) + b"\x00\x00\x03abc"
open(sys.argv[2] + ".v23", "wb").write(b"ID3\x03\x00\x00" + syncsafe(len(v23)) + v23 + audio)
v22 = b"TP1" + b"\xff\xff\xff" + b"\x00abc" + b"COM" + b"\x00\x00\x02" + b"\x01\xff"
open(sys.argv[2] + ".v22", "wb").write(b"ID3\x02\x00\x00" + syncsafe(len(v22)) + v22 + audio)
PY
for f in evil_id3.mp3 evil_id3.mp3.v23 evil_id3.mp3.v22; do
	run "$f" "$dir/$f" evil.mp3
	check "malformed ID3 ($f): exit 0 and JSON, bounded" eval "ok_run $f && bounded $f"
	check "malformed ID3 ($f): the ID3v1 tag at the end still read" has_tag "$f" artist "'Miles Davis'"
done

# A WAV header out of range: 65535 channels, a rate of 2^32-1, 4 GiB of data claimed.
$PY - "$dir/evil.wav" <<'PY'
import struct, sys
fmt = struct.pack("<HHIIHH", 1, 0xffff, 0xffffffff, 0xffffffff, 0xffff, 16)
data = b"\x01\x02" * 1000
open(sys.argv[1], "wb").write(b"RIFF" + struct.pack("<I", 0xffffffff) + b"WAVEfmt " + struct.pack("<I", len(fmt)) + fmt
                              + b"data" + struct.pack("<I", 0xffffffff) + data)
PY
run evil_wav "$dir/evil.wav" evil.wav
check "wav header out of range: exit 0 and JSON, bounded" eval 'ok_run evil_wav && bounded evil_wav'
check "wav header out of range: no speech" lacks_tag evil_wav speech

# Random bytes behind each signature the extractors sniff.
for sig in 'ID3' 'fLaC' 'OggS' 'RIFF\xff\xff\xff\xffWAVE' '\xff\xd8\xff\xe1' '\x89PNG\r\n\x1a\n'; do
	{ printf "$sig"; head -c 20000 /dev/urandom; } >"$dir/rand"
	run rand "$dir/rand" random.bin
	check "random bytes after '$sig': exit 0 and JSON, bounded" eval 'ok_run rand && bounded rand'
done

finish
