#!/usr/bin/env bash
# Numbers, not a test: tagging throughput per file type (docs/TAGS.md,
# docs/BENCHMARKS.md), through dgfsd as it tags a stored file: the file
# reassembled into a memfd, dgfs-tagger (or a plugin) run contained, its
# result stored. For each kind, N files are uploaded while dgfsd has no
# tagging workers (their jobs wait in the queue), then dgfsd starts again
# with --tag-workers W and the time until the queue is empty is taken:
#   text    English prose, about 24 KB a file (words from a Zipf-like draw)
#   pdf     one page of that prose (tests/tagger/mkpdf.py)
#   ocr     a 1200x300 PNG with two lines of text drawn by ImageMagick
#   speech  espeak-ng reading two sentences (about 8 s), WAV
#   plugin  the text files, with --tagger off and one shell-script plugin
# Printed per kind: files/s and MB/s (wall clock), and CPU seconds per file
# (dgfsd's own and all its helpers', from /proc/PID/stat: a loaded
# machine's wait for a CPU does not count there).
#   tests/dgfsd/bench_tags.sh BUILD_DIR [SCALE]     (as root; make bench-tags)
# SCALE (default 1) multiplies each kind's file count (text 40, pdf 40,
# ocr 10, speech 6, plugin 40).
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
DGFSD=${1:-build}/dgfsd
dgfsd_setup "${1:-build}"
scale=${2:-1}
workers=${BENCH_TAG_WORKERS:-2}
cp "$BUILD/dgfs-tagger" "$T/dgfs-tagger" || { fail "dgfs-tagger is built"; finish; }
chmod 755 "$T"
data=$T/data
mkdir -p "$data" "$T/plugins"

# ---- the files --------------------------------------------------------------
python3 - "$data" "$((40 * scale))" <<'PY'
import random, sys
random.seed(7)
words = ("river mountain forest garden library window morning evening music "
         "painting journey harbour village market bridge castle winter summer "
         "lantern orchard meadow island valley storm thunder candle letter "
         "picture kitchen station engine ribbon silver copper marble canvas").split()
common = "the of and to in a is that for it as with was on be by at".split()
def prose(nwords):
    out = []
    for i in range(nwords):
        out.append(random.choice(common) if random.random() < 0.45 else
                   words[min(int(random.paretovariate(1.2)) - 1, len(words) - 1)] if random.random() < 0.5
                   else random.choice(words))
        if i % 14 == 13:
            out[-1] += "."
    return " ".join(out)
for i in range(int(sys.argv[2])):
    open(f"{sys.argv[1]}/text{i}.txt", "w").write(prose(4000) + "\n")
    open(f"{sys.argv[1]}/pdfsrc{i}.txt", "w").write(prose(300) + "\n")
PY
for ((i = 0; i < 40 * scale; i++)); do
	# mkpdf.py writes one line of text per argument: 10 lines of 30 words.
	mapfile -t lines < <(tr ' ' '\n' <"$data/pdfsrc$i.txt" | paste -d' ' - - - - - - - - - - \
		- - - - - - - - - - - - - - - - - - - - | head -10)
	tests/tagger/mkpdf.py "$data/doc$i.pdf" "${lines[@]}"
done
for ((i = 0; i < 10 * scale; i++)); do
	convert -size 1200x300 xc:white -font DejaVu-Sans -pointsize 40 -fill black \
		-annotate +40+110 "Quarterly report number $i on penguins" \
		-annotate +40+200 "Migration northwards during the winter" "$data/ocr$i.png"
done
for ((i = 0; i < 6 * scale; i++)); do
	espeak-ng -w "$data/speech$i.wav" "Good morning everyone. This is recording number $i \
about the children who played football in the park after school." 2>/dev/null
done
printf '#!/bin/sh\n# a plugin: the word count of the file\nprintf "words=%%s\\n" "$(wc -w <"$1")"\n' \
	>"$T/plugins/10-words"
chmod 755 "$T/plugins/10-words"

# ---- one kind ---------------------------------------------------------------
# cpu_of PID: its CPU seconds and those of its waited-for children.
cpu_of() {
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15 + $16 + $17) / hz }' "/proc/$1/stat"
}
pending() { [[ $(metric dgfsd_tag_jobs_pending) == 0 ]]; }

# bench KIND GLOB [DGFSD OPTIONS...]
bench() {
	local kind=$1 glob=$2 files bytes=0 f i=0 t0 t1 c0 c1 tagged
	shift 2
	files=$(compgen -G "$data/$glob" | wc -l)
	dgfsd_start --access-log off --tag-workers 0 "$@" || { fail "dgfsd starts ($kind)"; return; }
	for f in $(compgen -G "$data/$glob"); do
		n curl -sf -o /dev/null -X PUT --data-binary @"$f" "$URL/files/$kind/$i.${f##*.}" ||
			fail "upload $f"
		bytes=$((bytes + $(stat -c %s "$f")))
		i=$((i + 1))
	done
	dgfsd_stop "dgfsd stops with $files $kind jobs queued" >/dev/null
	dgfsd_start --access-log off --tag-workers "$workers" "$@" || { fail "dgfsd starts ($kind)"; return; }
	t0=$(date +%s.%N)
	c0=$(cpu_of "$DGFSD_PID")
	wait_for 1800 pending || fail "$kind: the queue did not empty within 30 minutes"
	t1=$(date +%s.%N)
	c1=$(cpu_of "$DGFSD_PID")
	tagged=$(metric dgfsd_tag_jobs_total)
	python3 - "$kind" "$files" "$tagged" "$bytes" "$t0" "$t1" "$c0" "$c1" <<'PY'
import sys
kind, files, tagged, size = sys.argv[1], int(sys.argv[2]), int(float(sys.argv[3])), int(sys.argv[4])
wall = float(sys.argv[6]) - float(sys.argv[5])
cpu = float(sys.argv[8]) - float(sys.argv[7])
print(f"{kind:7} {files:4d} files {size / files / 1024:8.1f} KiB each  "
      f"{files / wall:7.2f} files/s {size / wall / 1e6:7.3f} MB/s  "
      f"{cpu / files:7.3f} CPU s/file  (tagged {tagged}, {wall:.1f} s)")
PY
	same "$kind: every file tagged" "$tagged" "$files"
	dgfsd_stop "dgfsd stops after the $kind files" >/dev/null
	rm -rf "$STATE"
}

echo "load before: $(uptime)"
echo "workers: $workers; dgfsd: $DGFSD; tagger: dgfs-tagger (copied from $BUILD)"
bench text 'text*.txt' --tagger "$T/dgfs-tagger"
bench pdf 'doc*.pdf' --tagger "$T/dgfs-tagger"
bench ocr 'ocr*.png' --tagger "$T/dgfs-tagger"
bench speech 'speech*.wav' --tagger "$T/dgfs-tagger"
bench plugin 'text*.txt' --tagger off --tag-plugins "$T/plugins"
echo "load after: $(uptime)"
finish
