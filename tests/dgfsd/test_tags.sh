#!/usr/bin/env bash
# dgfsd's tags (docs/TAGS.md): automatic tags after an upload, within the
# documented bound, from a stand-in dgfs-tagger (a script here, printing
# the real one's JSON) and from plugins; TF-IDF keyword tags; user adds and
# removes through the API and `dgfs tag`; a removed auto tag staying
# removed when the file is tagged again; a replaced file keeping its user
# tags; implications (transitive, cycles refused); bad tags refused whole;
# scopes (a read key cannot change tags, a prefix key only under its
# prefix, implications need a key without a prefix); a delete dropping
# the file's tags and its terms from term_df; the queue surviving a
# restart; and containment: a tagger or plugin that hangs, crashes or
# prints 10 MiB is killed and logged while the others still tag, and
# dgfsd keeps serving; a plugin that double-forks into new sessions leaves
# no process behind; keyword tags chosen again once the corpus has
# doubled. With build/dgfs-tagger present (branch
# tagger-text), one more part runs the real tagger on a text file.
#   tests/dgfsd/test_tags.sh BUILD_DIR      (as root)
# On PostgreSQL metadata: DGFS_TEST_META=pg (tests/dgfsd/test_tags_pg.sh).
# expect-checks: 105
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"
. tests/dgfsd/meta_backend.sh

# ---- the stand-in tagger and the plugins ---------------------------------------------
# It prints what dgfs-tagger's interface promises (docs/TAGS.md): type,
# ext and a words= tag, lower-cased word counts as terms, the text. Files
# starting with HANG, CRASH or JUNK make it misbehave; SLOW hangs unless it
# is run without speech (--no-speech), as a long recording might.
mkdir -p "$T/plugins"
cat >"$T/tagger" <<'PY'
#!/usr/bin/python3
import json, os, re, signal, sys, time
cheap = '--no-speech' in sys.argv
sys.argv = [a for a in sys.argv if not a.startswith('--')]
data = open(sys.argv[1], 'rb').read()
if data.startswith(b'HANG') or (data.startswith(b'SLOW') and not cheap):
    time.sleep(1000)
if data.startswith(b'CRASH'):
    os.kill(os.getpid(), signal.SIGSEGV)
if data.startswith(b'JUNK'):
    sys.stdout.write('{"tags": [1, 2')
    sys.exit(0)
text = data.decode('utf-8', 'replace')
words = [w.lower() for w in re.findall(r'[A-Za-z]+', text)]
terms = {}
for w in words:
    if len(w) > 2:
        terms[w] = terms.get(w, 0) + 1
ext = sys.argv[2].rsplit('.', 1)[-1] if '.' in sys.argv[2] else None
tags = [{"name": "type", "value": "text"}, {"name": "words", "value": str(len(words))},
        {"name": "bad name", "value": "x"}]
if ext:
    tags.append({"name": "ext", "value": ext})
json.dump({"tags": tags, "lang": "en", "terms": terms, "text": text}, sys.stdout)
PY
printf '#!/bin/sh\necho plugin-ok\necho "Colour = Blue"\necho "not a tag"\n' >"$T/plugins/10-good"
printf '#!/bin/sh\nsleep 1000\n' >"$T/plugins/20-hang"
printf '#!/bin/sh\nkill -SEGV $$\n' >"$T/plugins/30-crash"
printf '#!/bin/sh\nhead -c 10485760 /dev/zero | tr "\\\\0" "a"\necho flood-tag\n' >"$T/plugins/40-flood"
printf '#!/bin/sh\necho never\n' >"$T/plugins/50-not-executable"
chmod 755 "$T/tagger" "$T/plugins"/[1-4]*
chmod 644 "$T/plugins/50-not-executable"
# dgfsd runs them as itself; they must reach the scripts through $T.
chmod 755 "$T"

TAGARGS=(--tagger "$T/tagger" --tag-plugins "$T/plugins" --tag-timeout 5
	--tag-plugin-timeout 4 --access-log off)
check "dgfsd starts with the stand-in tagger and plugins" dgfsd_start "${TAGARGS[@]}" || finish

# tags PATH: the file's tags as sorted lines "name[=value] source".
tags() {
	n curl -sf "$URL/files/$1?tags" | python3 -c 'import json, sys
j = json.load(sys.stdin)
for t in j["tags"]:
    print(t["name"] + ("" if t["value"] is None else "=" + t["value"]), t["source"])' | sort
}
has_tag() { tags "$1" | grep -qx -- "$2"; }
# no_tag PATH REGEX: the file's tags (read without error) have no line matching REGEX.
no_tag() {
	local out
	out=$(tags "$1") || return 1
	! grep -Eq -- "$2" <<<"$out"
}
# bare CMD...: a client with no key in its rc files (the test's own key goes by -H).
mkdir -p "$T/bare"
bare() { ip netns exec "$NS" env -u DGFS_API_KEY HOME="$T/bare" "$@"; }
quiet() { "$@" >/dev/null; }
leftovers() { pgrep -f "^/bin/sh $T/plugins/" >/dev/null || pgrep -f "^sleep 1000" >/dev/null; }
# post PATH JSON: POST ?tags; the status, the body in $T/body.
post() {
	n curl -s -o "$T/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		--data-binary "$2" "$URL/files/$1?tags"
}
put() { printf '%s' "$2" | n curl -sf -o /dev/null -X PUT --data-binary @- "$URL/files/$1"; }

# The bound (docs/TAGS.md): idle queue, so one job: the tagger's timeout
# plus each plugin's (5 + 4 x 4 s here), plus a few seconds of slack. The
# hanging plugin uses its whole 4 s, so tags come after about 5 s. (4 s,
# not less: on a loaded machine a crashing shell script must crash before
# its timeout to be logged as a crash.)
BOUND=25
TEXT='the cat sat on the mat; the cat ate a fish and the fish was red'
start=$(date +%s.%N)
check "upload a text file" put docs/a.txt "$TEXT"
up_done=$(date +%s.%N)
check "its auto tags are there within $BOUND s of the upload" \
	wait_for "$BOUND" has_tag docs/a.txt "type=text auto"
took=$(python3 -c "print(round($(date +%s.%N) - $start, 2))")
echo "tags present $took s after the upload began"
check "the upload did not wait for tagging (answered in < 2 s)" \
	python3 -c "import sys; sys.exit(not ($up_done - $start < 2))"
tags docs/a.txt >"$T/a1"
check "the tagger's tags: ext=txt, words=16, lang=en (from \"lang\")" \
	bash -c "grep -qx 'ext=txt auto' $T/a1 && grep -qx 'words=16 auto' $T/a1 && grep -qx 'lang=en auto' $T/a1"
check "the tagger's malformed tag was skipped" bash -c "! grep -q '^bad' $T/a1"
check "keyword tags: cat and fish (counts 2) are bare auto tags" \
	bash -c "grep -qx 'cat auto' $T/a1 && grep -qx 'fish auto' $T/a1"
same "5 keyword tags at most (k = 5): the bare auto tags" \
	"$(grep -c '^[a-z]* auto$' "$T/a1")" 5
check "a good plugin's tags, normalised (colour=Blue)" \
	bash -c "grep -qx 'plugin-ok auto' $T/a1 && grep -qx 'colour=Blue auto' $T/a1"
check "a plugin's line that is no tag is skipped and logged" \
	grep -q "plugin $T/plugins/10-good: 1 lines that are not tags skipped" "$T/dgfsd.log"
check "the hanging plugin was killed and logged" \
	grep -q "plugin $T/plugins/20-hang timed out after 4000 ms (killed)" "$T/dgfsd.log"
check "the crashing plugin was logged" \
	grep -q "plugin $T/plugins/30-crash crashed: Segmentation fault" "$T/dgfsd.log"
check "the plugin printing 10 MiB was killed and logged, its tags dropped" \
	bash -c "grep -q 'plugin $T/plugins/40-flood printed more than 65536 bytes (killed)' $T/dgfsd.log && ! grep -q flood-tag $T/a1"
check "the plugin without the run bit was not run" bash -c "! grep -q never $T/a1"
check "no plugin left a process behind" eval '! leftovers' 
GET_SHAPE=$(n curl -sf "$URL/files/docs/a.txt?tags" | python3 -c 'import json, sys
j = json.load(sys.stdin)
ok = j["path"] == "docs/a.txt" and all(set(t) == {"name", "value", "source"} for t in j["tags"])
ok = ok and any(t["name"] == "cat" and t["value"] is None for t in j["tags"])
print("ok" if ok else "bad")')
same "GET ?tags: {path, tags: [{name, value (null when bare), source}]}" "$GET_SHAPE" ok
lat=$(metric dgfsd_tag_latency_seconds_count)
check "/metrics counts the tagging latency (dgfsd_tag_latency_seconds_count >= 1)" \
	test "${lat:-0}" -ge 1
echo "dgfsd_tag_latency_max_seconds $(metric dgfsd_tag_latency_max_seconds)"

# ---- user tags ------------------------------------------------------------------------
same "user add: 200" "$(post docs/a.txt '{"add": ["Project=Alpha", " todo "]}')" 200
check "... answered with the file's tags, the new ones user" \
	bash -c "grep -q '\"name\":\"project\",\"value\":\"Alpha\",\"source\":\"user\"' $T/body"
check "... and GET shows them" has_tag docs/a.txt "todo user"
same "user removes an auto tag (ext=txt)" "$(post docs/a.txt '{"remove": ["ext=txt"]}')" 200
check "... it is gone" no_tag docs/a.txt '^ext=' 
# Re-tagging: a new upload with other content.
check "the file is replaced by a new upload" put docs/a.txt "$TEXT and a dog"
check "... re-tagged (words=19) within $BOUND s" wait_for "$BOUND" has_tag docs/a.txt "words=19 auto"
tags docs/a.txt >"$T/a2"
check "the old version's auto tag is gone (words=16)" bash -c "! grep -q 'words=16' $T/a2"
check "the removed auto tag stays removed after re-tagging" bash -c "! grep -q '^ext=' $T/a2"
check "user tags survive the replace" \
	bash -c "grep -qx 'project=Alpha user' $T/a2 && grep -qx 'todo user' $T/a2"
same "adding a removed tag again: 200" "$(post docs/a.txt '{"add": ["ext=txt"]}')" 200
check "... it is back, as a user tag" has_tag docs/a.txt "ext=txt user"

# ---- bad requests change nothing ------------------------------------------------------------
tags docs/a.txt >"$T/before"
same "a bad tag among good ones: 400" "$(post docs/a.txt '{"add": ["fine", "two words"]}')" 400
check "... the answer names the tag" grep -q '"tag":"two words"' "$T/body"
same "a control character: 400" "$(post docs/a.txt '{"add": ["a\u0001b"]}')" 400
same "an empty tag: 400" "$(post docs/a.txt '{"remove": ["   "]}')" 400
same "a name over 128 bytes: 400" \
	"$(post docs/a.txt "{\"add\": [\"$(printf 'x%.0s' {1..129})\"]}")" 400
same "add not an array: 400" "$(post docs/a.txt '{"add": "x"}')" 400
same "an unknown member: 400" "$(post docs/a.txt '{"add": ["x"], "drop": ["y"]}')" 400
same "not JSON: 400" "$(post docs/a.txt 'add x')" 400
same "a tag both added and removed: 400" "$(post docs/a.txt '{"add": ["q"], "remove": ["Q"]}')" 400
tags docs/a.txt >"$T/after"
check "none of them changed the file's tags" cmp -s "$T/before" "$T/after"
same "tags of a missing file: 404" \
	"$(n curl -s -o /dev/null -w '%{http_code}' "$URL/files/nope?tags")" 404
same "POST tags on a missing file: 404" "$(post nope '{"add": ["x"]}')" 404

# ---- scopes ------------------------------------------------------------------------------------
keyadd() { n "$DGFSD" key add "${META_KEY_ARGS[@]}" "$@" 2>>"$T/keycli.log"; }
READ=$(keyadd --scope read --name reader)
PRE=$(keyadd --scope write --prefix other/ --name tenant)
as() {
	local key=$1
	shift
	bare curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $key" "$@"
}
same "a read key reads tags" "$(as "$READ" "$URL/files/docs/a.txt?tags")" 200
same "a read key cannot POST tags: 403" \
	"$(as "$READ" -X POST --data-binary '{"add": ["x"]}' "$URL/files/docs/a.txt?tags")" 403
same "a prefix key outside its prefix: 403" \
	"$(as "$PRE" -X POST --data-binary '{"add": ["x"]}' "$URL/files/docs/a.txt?tags")" 403
same "a prefix key cannot change implications: 403" \
	"$(as "$PRE" -X POST --data-binary '{"tag": "a", "implies": "b"}' "$URL/tags/implies")" 403
tags docs/a.txt >"$T/after2"
check "none of the refused changed anything" cmp -s "$T/after" "$T/after2"

# ---- completion: GET /tags?prefix= ---------------------------------------------------------------
# Two more files with "project=alpine" (user); docs/a.txt has project=Alpha.
for f in other/b.txt other/c.txt; do
	put $f "${f#other/}" && post $f '{"add": ["project=Alpine"]}' >/dev/null
done
listed() { python3 -c 'import json, sys
print(" ".join("%s%s:%d" % (t["name"], "=" + t["value"] if t["value"] is not None else "", t["files"])
               for t in json.load(open(sys.argv[1]))["tags"]))' "$T/body"; }
same "GET /tags?prefix=PROJECT=Alp: both, most used first, the name case-folded" \
	"$(n curl -s -o "$T/body" -w '%{http_code}' "$URL/tags?prefix=PROJECT%3DAlp") $(listed)" \
	"200 project=Alpine:2 project=Alpha:1"
same "... limit=1: the most used" \
	"$(n curl -s -o "$T/body" -w '%{http_code}' "$URL/tags?prefix=proj&limit=1") $(listed)" \
	"200 project=Alpine:2"
same "a prefix key sees only the tags of files under its prefix" \
	"$(as "$PRE" "$URL/tags?prefix=project") $(listed)" "200 project=Alpine:2"
same "no tag starts so: an empty list" \
	"$(n curl -s -o "$T/body" -w '%{http_code}' "$URL/tags?prefix=zzznothing") $(listed)" "200 "
same "a bad limit: 400" "$(n curl -s -o /dev/null -w '%{http_code}' "$URL/tags?prefix=p&limit=0")" 400
same "no prefix: 400" "$(n curl -s -o /dev/null -w '%{http_code}' "$URL/tags")" 400

# ---- implications, through the client --------------------------------------------------------
check "dgfs tag imply todo work" n "$DGFS" --server "$URL" tag imply todo work
check "dgfs tag imply Work life" n "$DGFS" --server "$URL" tag imply Work life
check "dgfs tag ls shows implied tags, transitively" \
	bash -c "n() { ip netns exec $NS env DGFS_API_KEY=$DGFS_API_KEY \"\$@\"; }; out=\$(n $DGFS --server $URL tag ls docs/a.txt) && grep -qx \$'work\\timplied' <<<\"\$out\" && grep -qx \$'life\\timplied' <<<\"\$out\""
refuse "a cycle is refused (409)" 10 "HTTP 409" n "$DGFS" --server "$URL" tag imply life todo
shows "dgfs tag implies lists them" '^work -> life$' n "$DGFS" --server "$URL" tag implies
check "dgfs tag imply --rm work life" n "$DGFS" --server "$URL" tag imply --rm work life
check "... life is no longer implied" no_tag docs/a.txt '^life ' 
check "dgfs tag add" quiet n "$DGFS" --server "$URL" tag add docs/a.txt Urgent year=2024
shows "dgfs tag ls shows the added tags" $'^urgent\tuser$' n "$DGFS" --server "$URL" tag ls docs/a.txt
check "dgfs tag rm" quiet n "$DGFS" --server "$URL" tag rm docs/a.txt urgent
lacks "... gone" '^urgent' n "$DGFS" --server "$URL" tag ls docs/a.txt
refuse "dgfs tag add with a bad tag fails (HTTP 400), naming why" 10 "HTTP 400.*white space" \
	n "$DGFS" --server "$URL" tag add docs/a.txt "two words"

# ---- the tagger misbehaving ------------------------------------------------------------------
check "upload files that make the tagger hang, crash, print junk, be slow" \
	bash -c "$(declare -f put n dgfsd_use_key); NS=$NS URL=$URL STATE=$STATE HOME=$HOME; put bad/hang.txt HANG && put bad/crash.txt CRASH && put bad/junk.txt JUNK && put bad/slow.txt 'SLOW but fine'"
check "each still gets its plugins' tags" wait_for 45 bash -c \
	"$(declare -f tags has_tag n dgfsd_use_key); NS=$NS URL=$URL STATE=$STATE HOME=$HOME; has_tag bad/hang.txt 'plugin-ok auto' && has_tag bad/crash.txt 'plugin-ok auto' && has_tag bad/junk.txt 'plugin-ok auto'"
check "the hanging tagger was killed and logged" \
	grep -q "bad/hang.txt: dgfs-tagger timed out after 5000 ms (killed)" "$T/dgfsd.log"
check "a file whose tagging ran out of time is tagged again without OCR and speech" \
	wait_for 45 has_tag bad/slow.txt "words=3 auto"
check "... and that was logged" \
	grep -q "bad/slow.txt: tagging it again without OCR and speech" "$T/dgfsd.log"
check "the crashing tagger was logged (and not run again)" \
	bash -c "grep -q 'bad/crash.txt: dgfs-tagger crashed: Segmentation fault' $T/dgfsd.log &&
		! grep -q 'bad/crash.txt: tagging it again' $T/dgfsd.log"
check "the crashing tagger was logged" \
	grep -q "bad/crash.txt: dgfs-tagger crashed: Segmentation fault" "$T/dgfsd.log"
check "the junk output was refused and logged" \
	grep -q "bad/junk.txt: dgfs-tagger's output refused: not JSON" "$T/dgfsd.log"
check "dgfsd keeps serving" n curl -sf -o /dev/null "$URL/healthz"

# ---- a plugin whose descendants leave its session ---------------------------------------------
# It double-forks two sleepers into new sessions (setsid), out of its process
# group: one keeps the plugin's stdout open, one does not. Each carries a
# marker in its environment; none may outlive the job, and the job must end
# when the plugin does (the kept stdout must not hold it to its timeout).
MARK="DGFS_TEST_ESCAPEE=$$"
cat >"$T/plugins/60-escape" <<SH
#!/bin/sh
( env $MARK setsid sleep 300 & )
( env $MARK setsid sleep 301 </dev/null >/dev/null 2>&1 & )
echo escaper
SH
chmod 755 "$T/plugins/60-escape"
# escapees: the /proc/PID/environ files with the marker. (By what it
# prints: grep exits 2 when a process of the glob is gone before it is read.)
escapees() { grep -lsz "^$MARK\$" /proc/[0-9]*/environ; }
escapees_left() { [[ -n $(escapees) ]]; }
check "upload a file while a plugin double-forks sleepers with setsid" put esc/a.txt "escape test"
check "... the plugin's tags are there (its job ended when it exited, not at its timeout)" \
	wait_for "$BOUND" has_tag esc/a.txt "escaper auto"
check "... no process of it is left after the job" eval '! escapees_left'
check "... and that plugin was not logged as timed out" \
	bash -c "! grep -q 'plugin $T/plugins/60-escape timed out' $T/dgfsd.log"
rm -f "$T/plugins/60-escape"
check "dgfsd keeps tagging after it: an upload" put esc/b.txt 'after the escape'
check "... the next file is tagged" wait_for "$BOUND" has_tag esc/b.txt "type=text auto"
for f in $(escapees); do f=${f%/environ}; kill -9 "${f#/proc/}" 2>/dev/null; done

# ---- delete --------------------------------------------------------------------------------------
q() { meta_q "$1"; }
put docs/b.txt "a cat and a dog"
wait_for "$BOUND" has_tag docs/b.txt "type=text auto"
same "term_df counts cat in two files" "$(q "SELECT df FROM term_df WHERE term = 'cat'")" 2
id=$(q "SELECT id FROM files WHERE path = $(meta_bytes docs/a.txt)")
check "delete docs/a.txt" n curl -sf -X DELETE "$URL/files/docs/a.txt"
same "... its tags are gone" "$(q "SELECT count(*) FROM file_tags WHERE file_id = $id")" 0
same "... cat's df is 1 now" "$(q "SELECT df FROM term_df WHERE term = 'cat'")" 1
same "... fish (only in a.txt) has no df row" "$(q "SELECT count(*) FROM term_df WHERE term = 'fish'")" 0
same "... nor text" "$(q "SELECT count(*) FROM file_text WHERE $META_TEXT_ID = $id")" 0

# ---- the queue survives a restart ------------------------------------------------------------
dgfsd_stop "dgfsd stops cleanly"
check "dgfsd starts without tagging workers" dgfsd_start "${TAGARGS[@]}" --tag-workers 0
check "upload while nobody tags" put later/c.txt "a later file"
same "the job waits (dgfsd_tag_jobs_pending 1)" "$(metric dgfsd_tag_jobs_pending)" 1
same "... no tags yet (the file is there, no tag rows)" \
	"$(q "SELECT count(*), count(tag_id) FROM files LEFT JOIN file_tags ON files.id = file_id WHERE path = $(meta_bytes later/c.txt)")" "1|0"
dgfsd_stop "dgfsd stops cleanly with a job pending"
check "dgfsd starts with workers again" dgfsd_start "${TAGARGS[@]}"
check "the pending job is done after the restart" \
	wait_for "$BOUND" has_tag later/c.txt "type=text auto"

# ---- stopping while a tagger runs ----------------------------------------------------------------
dgfsd_stop "dgfsd stops cleanly"
check "dgfsd starts with a long tagger timeout" \
	dgfsd_start --tagger "$T/tagger" --tag-timeout 600 --access-log off
put stop/hang.txt HANG
wait_for 10 pgrep -f "^/usr/bin/python3 $T/tagger" >/dev/null
t0=$SECONDS
dgfsd_stop "dgfsd stops cleanly while its tagger hangs"
check "... within 10 s, the hanging tagger killed" \
	eval '((SECONDS - t0 < 10)) && ! pgrep -f "^/usr/bin/python3 $T/tagger" >/dev/null'
same "... its job stays queued for the next start" \
	"$(q "SELECT count(*) FROM tag_jobs JOIN files ON files.id = file_id WHERE path = $(meta_bytes stop/hang.txt)")" 1

# ---- latency: the stand-in tagger alone, 20 uploads in a row ----------------------------------
check "dgfsd starts with the tagger and no plugins" \
	dgfsd_start --tagger "$T/tagger" --tag-timeout 5 --access-log off
# The hanging file's job would hold a worker for its 5 s: gone first.
n curl -sf -X DELETE "$URL/files/stop/hang.txt"
start=$(date +%s.%N)
for i in $(seq 20); do put "lat/f$i.txt" "file number $i says hello to the cat $i times"; done
all_tagged() {
	[[ $(metric dgfsd_tag_jobs_pending) == 0 ]] &&
		[[ $(q "SELECT count(*) FROM file_tags JOIN tags ON tags.id = tag_id JOIN files ON files.id = file_id WHERE tags.name = 'type' AND $(meta_path_text path) LIKE 'lat/%'") == 20 ]]
}
# The bound with Q = 20 jobs and W = 2 workers: Q / W tagger timeouts.
check "20 uploads in a row are all tagged within their bound (10 x 5 s)" wait_for 50 all_tagged
echo "20 files tagged $(python3 -c "print(round($(date +%s.%N) - $start, 2))") s after the first upload began;" \
	"latency from commit: mean $(python3 -c "print(round($(metric dgfsd_tag_latency_seconds_sum) / $(metric dgfsd_tag_latency_seconds_count), 3))") s," \
	"max $(metric dgfsd_tag_latency_max_seconds) s"

# ---- keyword tags follow the corpus ---------------------------------------------------------
# kw/a.txt has alpha, beta, gamma twice and five rarer words once: its
# keywords are alpha beta gamma delta epsilon (ties by byte order). Then
# more files than the corpus had, each with alpha, beta and gamma: N more
# than doubles, those three become common, and its keywords must be chosen
# again in the background: the five rare words, less zeta, which the user
# removed before it was ever a tag.
keywords() { tags "$1" | sed -n 's/^\([a-z]*\) auto$/\1/p' | sort | tr '\n' ' '; }
keywords_are() { [[ $(keywords "$1") == "$2" ]]; }
check "upload kw/a.txt" put kw/a.txt "alpha alpha beta beta gamma gamma delta epsilon eta theta zeta"
check "... its keywords: alpha beta gamma delta epsilon" \
	wait_for "$BOUND" keywords_are kw/a.txt "alpha beta delta epsilon gamma "
same "the user removes zeta, not a tag of it yet" "$(post kw/a.txt '{"remove": ["zeta"]}')" 200
docs=$(q "SELECT df FROM term_df WHERE term = ''")
for i in $(seq $((docs + 2))); do put "kw/f$i.txt" "alpha beta gamma filler number $i"; done
check "after $((docs + 2)) more files, its keywords are the rare words, without zeta" \
	wait_for 120 keywords_are kw/a.txt "delta epsilon eta theta "
echo "kw/a.txt's keywords now: $(keywords kw/a.txt); N $(q "SELECT df FROM term_df WHERE term = ''")," \
	"its keywords chosen at N $(q "SELECT docs FROM file_keywords JOIN files ON files.id = file_id WHERE path = $(meta_bytes kw/a.txt)"),"\
	"pending $(metric dgfsd_tag_jobs_pending), refreshed $(metric dgfsd_tag_keywords_refreshed_total)"
grep "keyword" "$T/dgfsd.log" | tail -3
check "... its other auto tags are untouched" \
	bash -c "$(declare -f tags has_tag n dgfsd_use_key); NS=$NS URL=$URL STATE=$STATE HOME=$HOME; has_tag kw/a.txt 'type=text auto' && has_tag kw/a.txt 'words=11 auto'"
check "... counted in /metrics (dgfsd_tag_keywords_refreshed_total >= 1)" \
	test "$(metric dgfsd_tag_keywords_refreshed_total)" -ge 1

# ---- the real dgfs-tagger (branch tagger-text) -----------------------------------------------
if [[ -x $BUILD/dgfs-tagger ]]; then
	dgfsd_stop "dgfsd stops cleanly"
	cp "$BUILD/dgfs-tagger" "$T/dgfs-tagger"
	check "dgfsd starts with the real dgfs-tagger" \
		dgfsd_start --tagger "$T/dgfs-tagger" --access-log off
	put real/notes.txt "Tagging files by their content. Content tagging finds words in files."
	check "the real tagger tags a text file type=text within $BOUND s" \
		wait_for "$BOUND" has_tag real/notes.txt "type=text auto"
	check "... with keyword tags from its terms" \
		bash -c "$(declare -f tags n dgfsd_use_key); NS=$NS URL=$URL STATE=$STATE HOME=$HOME; tags real/notes.txt | grep -Eq '^(content|tag|file)[a-z]* auto$'"
else
	echo "NOTE: $BUILD/dgfs-tagger is not built (branch tagger-text): the real tagger's part did not run"
fi
finish
