#!/usr/bin/env bash
# sample-corpus.sh DIR: writes a small mixed corpus into DIR for `make run`
# (tests/vm/storage-host.sh uploads it), so that tags, search and the graph
# have something to show: English and Chinese texts, a JPEG with EXIF, an
# MP3 with ID3 tags and speech, and a PDF. Everything is made here, from
# Debian's tools (ImageMagick, exiftool, espeak-ng, lame); the texts are
# this project's own.
set -eu
dir=$1
here=$(dirname "$0")
mkdir -p "$dir"

cat >"$dir/kernel-notes.md" <<'EOF'
# Notes on serving files from the kernel

A storage host keeps its chunks in the page cache. When a request arrives
at the network card, the XDP program parses it and hands it to the kernel
module, which replies with the cached pages themselves. No copy is made
and no userspace process wakes up. Caching, readahead and the network
queue decide how fast the host can answer; the disk matters only for
chunks that are not cached yet.
EOF

cat >"$dir/garden.txt" <<'EOF'
The garden behind the library has three old apple trees and a small pond.
In spring the children from the school plant tomatoes and beans there, and
in autumn they pick the apples and press them into juice. The gardeners
keep bees near the pond; the bees visit the apple blossoms first.
EOF

cat >"$dir/chinese-library.txt" <<'EOF'
图书馆在城市的中心，每天早上八点开门。学生们在这里读书、写作业，也在这里借阅
关于历史和科学的书籍。图书馆的花园里有一个小池塘，夏天的时候很多人在池塘边休息。
EOF

convert -size 640x400 gradient:skyblue-seagreen "$dir/pond.jpg"
exiftool -q -overwrite_original -Make=Canon "-Model=Canon EOS 5D" \
	"-DateTimeOriginal=2021:05:02 09:15:00" -GPSLatitude=31.2304 -GPSLatitudeRef=N \
	-GPSLongitude=121.4737 -GPSLongitudeRef=E "$dir/pond.jpg"

convert -background white -fill black -font DejaVu-Sans -pointsize 40 \
	label:'Library garden: apples and bees' "$dir/sign.png"

espeak-ng -v en-us -s 140 -w "$dir/talk.wav" \
	"The bees in the library garden visit the apple trees every morning."
lame --quiet --tt "Garden talk" --ta "dgfs sample" --tl "Samples" --ty 2024 \
	--tg Speech "$dir/talk.wav" "$dir/garden-talk.mp3"
rm "$dir/talk.wav"

python3 "$here/../tagger/mkpdf.py" "$dir/readahead.pdf" \
	"Readahead for cold chunks" \
	"When a chunk is not in the page cache the module reads ahead" \
	"so that one slow read brings in the pages the next requests want."
