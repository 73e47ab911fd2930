#!/usr/bin/env bash
# dgfsd's robustness against odd but possible input (docs/DGFSD.md,
# "Robustness"):
# - a Content-Type that listings could not carry is refused at upload and
#   nothing is stored;
# - POST /chunks/missing drops duplicates in n log n (its time for 100000
#   unknown ids against 100000 stored ones, in the plain build);
# - an uncommitted chunk's age starts over at each dedup hit (/chunks/missing,
#   PUT /chunks), so an upload longer than --orphan-ttl still commits;
# - a commit lists as many chunks as the largest file can have (150000
#   here), its limit and body size follow --max-file-size or
#   --max-commit-chunks;
# - dgfs put waits for a commit as long as its file may take to hash.
#   tests/dgfsd/test_robust.sh BUILD_DIR      (as root)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"

# code CURL_ARGS...: the status curl got; body in $T/body, headers in $T/hdrs.
code() {
	: >"$T/body"
	n curl -sS -m 60 -g -o "$T/body" -D "$T/hdrs" -w '%{http_code}' "$@"
}
err() { jget "$T/body" 'j["error"]'; }
listing() { n curl -sf "$URL/files/" | python3 -c 'import json, sys
print("\n".join(f["path"] + " " + f["content_type"] for f in json.load(sys.stdin)["files"]))'; }

check "dgfsd starts" dgfsd_start || finish

# ---- Content-Type ---------------------------------------------------------------------
head -c 5000 /dev/urandom >"$T/f1"
same "a plain Content-Type is kept (201)" \
	"$(code -T "$T/f1" -H 'Content-Type: text/x-plain' "$URL/files/ct/good")" 201
for ct in $'text/\xff\xfe' $'text/x-\xe9t\xe9' $'text/\xed\xa0\x80' $'a\x01b' $'a\x7f'; do
	shown=$(printf %q "$ct")
	same "Content-Type $shown is refused (400)" \
		"$(code -T "$T/f1" -H "Content-Type: $ct" "$URL/files/ct/bad")" 400
	shows "... saying why" 'bad Content-Type' err
	same "... and nothing is stored (GET 404)" "$(code "$URL/files/ct/bad")" 404
done
same "a UTF-8 Content-Type is kept (201)" \
	"$(code -T "$T/f1" -H $'Content-Type: text/x-\xc3\xa9t\xc3\xa9' "$URL/files/ct/utf8")" 201
same "the listing shows every stored file with its type" "$(listing)" \
	$'ct/good text/x-plain\nct/utf8 text/x-\xc3\xa9t\xc3\xa9'
same "the UTF-8 one's manifest answers (200)" "$(code "$URL/files/ct/utf8?manifest")" 200
# A commit's "content_type" goes through the same check.
ID1=$(sha256sum <"$T/f1" | cut -c1-64)
same "a commit with a control character in content_type is refused (400)" \
	"$(code -X POST -H 'Content-Type: application/json' \
		--data "{\"chunks\":[\"$ID1\"],\"content_type\":\"a\\u0001b\"}" \
		"$URL/files/ct/commit?commit")" 400
same "... and nothing is stored (GET 404)" "$(code "$URL/files/ct/commit")" 404
same "the same commit with a plain type works (201)" \
	"$(code -X POST -H 'Content-Type: application/json' \
		--data "{\"chunks\":[\"$ID1\"],\"content_type\":\"text/x-c\"}" \
		"$URL/files/ct/commit?commit")" 201
check "the store is consistent" store_consistent

# ---- POST /chunks/missing: duplicates removed in n log n --------------------------------
A=$(printf a | sha256sum | cut -c1-64) B=$(printf b | sha256sum | cut -c1-64)
same "missing: duplicates and stored ids dropped, order kept" \
	"$(code -X POST -H 'Content-Type: application/json' \
		--data "{\"ids\":[\"$ID1\",\"$B\",\"$A\",\"$B\",\"$ID1\",\"$A\"]}" \
		"$URL/chunks/missing") $(jget "$T/body" 'j["missing"]')" "200 [\"$B\", \"$A\"]"
# Speed, against a control in the same run: 100000 distinct ids all
# missing, and 100000 others all present (empty files of their names, which
# is all chunkstore_has looks at besides meta.db): the same body size, the
# same lookups. The old duplicate check compared each missing id with
# every one found before it (n^2/2 = 5e9 comparisons); present ids skip it.
# The plain build: the sanitizers' memcmp would blur the comparison.
python3 - "$T" <<'PY'
import hashlib, json, sys
ids = [hashlib.sha256(b"robust-%d" % i).hexdigest() for i in range(200000)]
json.dump({"ids": ids[:100000]}, open(sys.argv[1] + "/distinct.json", "w"))
json.dump({"ids": ids[100000:]}, open(sys.argv[1] + "/present.json", "w"))
PY
# post_missing FILE: "STATUS SECONDS", the answer in $T/body.
post_missing() {
	n curl -sS -m 300 -o "$T/body" -w '%{http_code} %{time_total}' -X POST \
		-H 'Content-Type: application/json' --data-binary @"$1" "$URL/chunks/missing"
}
dgfsd_stop "dgfsd-asan stopped cleanly"
DGFSD=$BUILD/dgfsd check "the plain dgfsd starts (speed)" dgfsd_start || finish
# After the start: its reconciliation would remove them.
python3 -c 'import json, os, sys
for i in json.load(open(sys.argv[1]))["ids"]:
	open(os.path.join(sys.argv[2], i), "w").close()' "$T/present.json" "$STATE/chunks"
read -r st_c t_c < <(post_missing "$T/present.json")
same "missing: 100000 distinct stored ids (control) -> 200" "$st_c" 200
same "... none missing" "$(jget "$T/body" 'len(j["missing"])')" 0
read -r st_d t_d < <(post_missing "$T/distinct.json")
same "missing: 100000 distinct unknown ids -> 200" "$st_d" 200
same "... all 100000 missing, in the order given" \
	"$(jget "$T/body" 'j["missing"] == json.load(open(sys.argv[1][:-4] + "distinct.json"))["ids"]')" \
	true
check "missing: 100000 unknown ids take at most 2x the control + 1 s (${t_d} s vs ${t_c} s)" \
	python3 -c "import sys; sys.exit(not float('$t_d') <= 2 * float('$t_c') + 1)"
find "$STATE/chunks" -maxdepth 1 -type f -empty -delete
dgfsd_stop "the plain dgfsd stopped cleanly"

# ---- orphan collection: a dedup hit gives an uncommitted chunk a new age ----------------
check "dgfsd starts with --orphan-ttl 6" dgfsd_start --orphan-ttl 6 || finish
for x in kept put ctl; do
	head -c 3000 /dev/urandom >"$T/$x"
	eval "ID_$x=$(sha256sum <"$T/$x" | cut -c1-64)"
done
# missing ID: "0" when the host has chunk ID, "1" when it lacks it.
missing() {
	local a
	a=$(n curl -sSf -m 30 -X POST -H 'Content-Type: application/json' \
		--data "{\"ids\":[\"$1\"]}" "$URL/chunks/missing") || return 1
	case $a in
	'{"missing":[]}') echo 0 ;;
	"{\"missing\":[\"$1\"]}") echo 1 ;;
	*) echo "unexpected: $a" ;;
	esac
}
putchunk() { code -T "$T/$1" "$URL/chunks/$2"; }
same "PUT /chunks (asked about later) -> 201" "$(putchunk kept "$ID_kept")" 201
same "PUT /chunks (uploaded again later) -> 201" "$(putchunk put "$ID_put")" 201
same "PUT /chunks (never used again: the control) -> 201" "$(putchunk ctl "$ID_ctl")" 201
# For over two TTLs, one client keeps asking about one chunk and another
# keeps uploading another: each hit starts its age over. (The collector
# looks every second, a file's time has whole seconds: a pause of over
# 4 s between two hits would lose one, on a machine that busy.)
gone_k=0 gone_p=0 end=$((SECONDS + 14))
while ((SECONDS < end)); do
	[[ $(missing "$ID_kept") == 0 ]] || gone_k=$((gone_k + 1))
	st=$(putchunk put "$ID_put")
	[[ $st == 200 ]] || gone_p=$((gone_p + 1))
	sleep 0.5
done
ctl_gone() { [[ $(missing "$ID_ctl") == 1 ]]; }
check "the control chunk was collected meanwhile (the TTL works)" wait_for 10 ctl_gone
same "a chunk asked about with /chunks/missing was never collected" "$gone_k" 0
same "a chunk uploaded again (200, a dedup hit) was never collected" "$gone_p" 0
same "a commit of both after two TTLs succeeds (201)" \
	"$(code -X POST -H 'Content-Type: application/json' \
		--data "{\"chunks\":[\"$ID_kept\",\"$ID_put\"]}" "$URL/files/orphan/f?commit")" 201
same "... and the file is whole" "$(n curl -sf "$URL/files/orphan/f" | sha256sum)" \
	"$(cat "$T/kept" "$T/put" | sha256sum)"
check "the store is consistent" store_consistent
dgfsd_stop "dgfsd (--orphan-ttl 6) stopped cleanly"

# ---- very large files: the commit list scales with the file ----------------------------
# A file of 150000 chunks (one 1-byte chunk, 150000 times): more ids than
# /chunks/missing takes at once (100000) and a body over 8 MiB (10 MB).
# --max-file-size 1T (the default) allows 4 Mi chunks.
check "dgfsd starts (default limits)" dgfsd_start || finish
printf x >"$T/x1"
ID_x=$(printf x | sha256sum | cut -c1-64)
same "PUT /chunks of a 1-byte chunk -> 201" "$(code -T "$T/x1" "$URL/chunks/$ID_x")" 201
python3 -c 'import json, sys
json.dump({"chunks": [sys.argv[1]] * 150000}, open(sys.argv[2], "w"))' "$ID_x" "$T/big.json"
same "a commit of 150000 chunks -> 201" \
	"$(code -X POST -H 'Content-Type: application/json' --data-binary @"$T/big.json" \
		"$URL/files/big/many?commit")" 201
same "... with 150000 chunks and 150000 bytes" "$(jget "$T/body" '[j["chunks"], j["size"]]')" \
	"[150000, 150000]"
same "... and the file reads back whole" "$(n curl -sf "$URL/files/big/many" | sha256sum)" \
	"$(head -c 150000 /dev/zero | tr '\0' x | sha256sum)"
dgfsd_stop "dgfsd (default limits) stopped cleanly"
# The limit follows --max-file-size (1 MiB: 4 chunks of 256 KiB and a last
# one, 5), or --max-commit-chunks; past it a clear 413, nothing stored.
check "dgfsd starts with --max-file-size 1M" dgfsd_start --max-file-size 1M || finish
# (Stored already: big/many lists it.)
commit_n() {
	python3 -c 'import json, sys
json.dump({"chunks": [sys.argv[1]] * int(sys.argv[2])}, open(sys.argv[3], "w"))' \
		"$ID_x" "$1" "$T/n.json"
	code -X POST -H 'Content-Type: application/json' --data-binary @"$T/n.json" \
		"$URL/files/big/$1?commit"
}
same "PUT /chunks of the 1-byte chunk again -> 200" "$(code -T "$T/x1" "$URL/chunks/$ID_x")" 200
same "--max-file-size 1M: a commit of 5 chunks -> 201" "$(commit_n 5)" 201
same "--max-file-size 1M: a commit of 6 chunks -> 413" "$(commit_n 6)" 413
shows "... saying the limit" 'more than 5 chunks' err
same "... and nothing is stored" "$(code "$URL/files/big/6")" 404
dgfsd_stop "dgfsd (--max-file-size 1M) stopped cleanly"
# dgfs put of a file of about 12 chunks against --max-commit-chunks 8,
# then 16: refused clearly at the commit, then stored whole.
head -c $((12 << 20)) /dev/urandom >"$T/f12"
check "dgfsd starts with --max-commit-chunks 8" dgfsd_start --max-commit-chunks 8 || finish
refuse "dgfs put of a 12 MiB file (about 12 chunks) against 8 -> exit 10, says 413" 10 \
	'HTTP 413: more than 8 chunks' n "$DGFS" --server "$URL" put "$T/f12" big/f12
same "... and nothing is stored" "$(code "$URL/files/big/f12")" 404
dgfsd_stop "dgfsd (--max-commit-chunks 8) stopped cleanly"
check "dgfsd starts with --max-commit-chunks 16" dgfsd_start --max-commit-chunks 16 || finish
check "dgfs put of the same file against 16 succeeds" \
	n "$DGFS" --server "$URL" put "$T/f12" big/f12
same "... and it reads back whole" "$(n curl -sf "$URL/files/big/f12" | sha256sum)" \
	"$(sha256sum <"$T/f12")"
dgfsd_stop "dgfsd (--max-commit-chunks 16) stopped cleanly"

# ---- slow commits: the client waits as long as the file takes to hash -------------------
# dgfsd hashes every chunk of a commit before it answers; here 700 ms more
# per chunk (DGFSD_TEST_COMMIT_DELAY_MS, a test-only knob), so 6 to 9 s for
# 9 to 12 chunks, while the client's stall timeout is lowered from 60 s to 2 s
# (DGFS_TEST_STALL_TIMEOUT). The commit's own wait is that plus 1 s per MiB.
head -c $((12 << 20)) /dev/urandom >"$T/slow"
export DGFSD_TEST_COMMIT_DELAY_MS=700
check "dgfsd starts with commits slowed down" dgfsd_start || finish
unset DGFSD_TEST_COMMIT_DELAY_MS
DGFS_TEST_STALL_TIMEOUT=2 check "dgfs put of a 12 MiB file whose commit takes 6 to 9 s (stall timeout 2 s)" \
	n "$DGFS" --server "$URL" put "$T/slow" slow/f
# The access log (stderr): "TIME CLIENT KEY METHOD PATH STATUS BYTES SECONDS".
took=$(dgfsd_log | awk '$4 == "POST" && $5 == "/files/slow/f" && $6 == 201 { print $8 }')
check "... its commit took longer than the stall timeout (${took:-?} s > 4 s)" \
	python3 -c "import sys; sys.exit(not float('${took:-0}') > 4)"
same "... and the file reads back whole" "$(n curl -sf "$URL/files/slow/f" | sha256sum)" \
	"$(sha256sum <"$T/slow")"

dgfsd_stop
finish
