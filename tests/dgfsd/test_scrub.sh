#!/usr/bin/env bash
# Missing and damaged chunks (docs/DGFSD.md, "Missing chunks and scrub"):
# a referenced chunk whose file is gone is reported missing by POST
# /chunks/missing and a commit (409), and written again by PUT /chunks,
# dgfs put and PUT /files (repair); `dgfsd scrub` re-hashes every chunk
# file and reports bad and missing ones, and with --repair removes the
# bad ones, after which uploads repair them.
#   tests/dgfsd/test_scrub.sh BUILD_DIR      (as root)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"

code() {
	: >"$T/body"
	n curl -sS -m 60 -g -o "$T/body" -D "$T/hdrs" -w '%{http_code}' "$@"
}
sum() { n curl -sf "$URL/files/$1" | sha256sum; }
put() { n "$DGFS" --server "$URL" put -q "$@"; }
# The chunk ids of a file, in order, one a line.
ids() { n curl -sf "$URL/files/$1?manifest" | python3 -c 'import json, sys
print("\n".join(c["id"] for c in json.load(sys.stdin)["chunks"]))'; }
# scrub ARGS...: dgfsd scrub (the sanitizer build: its reports go to the log the
# checks read); its stdout in $T/scrub.out; its exit status is returned.
scrub() {
	n "$DGFSD" scrub --state-dir "$STATE" "$@" >"$T/scrub.out" 2>>"$T/dgfsd.log"
}

check "dgfsd starts" dgfsd_start || finish
head -c $((6 << 20)) /dev/urandom >"$T/a"
check "dgfs put a (6 MiB)" put "$T/a" s/a
mapfile -t A < <(ids s/a)
check "a has at least 3 chunks (${#A[@]})" test "${#A[@]}" -ge 3

# ---- a missing chunk file is asked for, and written again ---------------------------
rm "$STATE/chunks/${A[0]}"
same "POST /chunks/missing reports the chunk whose file is gone" \
	"$(code -X POST -H 'Content-Type: application/json' \
		--data "{\"ids\":[\"${A[0]}\",\"${A[1]}\"]}" "$URL/chunks/missing") $(jget "$T/body" 'j["missing"]')" \
	"200 [\"${A[0]}\"]"
body=$(python3 -c 'import json, sys; print(json.dumps({"chunks": sys.argv[1:]}))' "${A[@]}")
same "a commit of a's chunks -> 409" \
	"$(code -X POST -H 'Content-Type: application/json' --data "$body" "$URL/files/s/a2?commit")" 409
same "... naming that chunk missing" "$(jget "$T/body" 'j["missing"]')" "[\"${A[0]}\"]"
check "dgfs put a again (it sends what is missing)" put "$T/a" s/a
check "... the chunk file is back" test -s "$STATE/chunks/${A[0]}"
same "... and a reads back whole" "$(sum s/a)" "$(sha256sum <"$T/a")"
# The same through a whole-file PUT (it cuts the same chunks).
rm "$STATE/chunks/${A[1]}"
same "PUT /files of a's content -> 200" "$(code -T "$T/a" "$URL/files/s/a")" 200
check "... the missing chunk file is back" test -s "$STATE/chunks/${A[1]}"
same "... and a reads back whole" "$(sum s/a)" "$(sha256sum <"$T/a")"
# A file cut short counts as missing too.
truncate -s 1000 "$STATE/chunks/${A[2]}"
same "POST /chunks/missing reports a chunk whose file was cut short" \
	"$(code -X POST -H 'Content-Type: application/json' \
		--data "{\"ids\":[\"${A[2]}\"]}" "$URL/chunks/missing") $(jget "$T/body" 'j["missing"]')" \
	"200 [\"${A[2]}\"]"
check "dgfs put a again" put "$T/a" s/a
same "... the chunk file has its size again" "$(stat -c %s "$STATE/chunks/${A[2]}")" \
	"$(n curl -sf "$URL/files/s/a?manifest" | python3 -c 'import json, sys
print(json.load(sys.stdin)["chunks"][2]["size"])')"
same "... and a reads back whole" "$(sum s/a)" "$(sha256sum <"$T/a")"

# ---- scrub ---------------------------------------------------------------------------
scrub && rc=0 || rc=$?
same "scrub of a sound store: exit 0" "$rc" 0
same "... nothing reported" "$(cat "$T/scrub.out")" ""
size=$(stat -c %s "$STATE/chunks/${A[0]}")
head -c "$size" /dev/urandom >"$T/junk"
cat "$T/junk" >"$STATE/chunks/${A[0]}"			# same size, other bytes
truncate -s 100 "$STATE/chunks/${A[1]}"			# cut short
rm "$STATE/chunks/${A[2]}"				# gone
scrub && rc=0 || rc=$?
same "scrub of a damaged store: exit 1" "$rc" 1
shows "... reports the corrupted chunk" "^bad ${A[0]}: its SHA-256 is not its id$" cat "$T/scrub.out"
shows "... reports the truncated chunk" "^bad ${A[1]}: " cat "$T/scrub.out"
shows "... reports the deleted chunk" "^missing ${A[2]} " cat "$T/scrub.out"
same "... and nothing else" "$(wc -l <"$T/scrub.out")" 3
same "... and removes nothing without --repair" "$(cat "$T/junk" | sha256sum)" \
	"$(sha256sum <"$STATE/chunks/${A[0]}")"
scrub --repair && rc=0 || rc=$?
same "scrub --repair: exit 1 (it found damage)" "$rc" 1
shows "... removed the corrupted chunk" "^bad ${A[0]}: .*; removed$" cat "$T/scrub.out"
check "... its file is gone" test ! -e "$STATE/chunks/${A[0]}"
check "... the truncated one's too" test ! -e "$STATE/chunks/${A[1]}"
scrub && rc=0 || rc=$?
same "scrub after --repair: exit 1, three missing, none bad" \
	"$rc $(grep -c '^missing ' "$T/scrub.out") $(grep -c '^bad ' "$T/scrub.out")" "1 3 0"
check "dgfs put a again repairs all three" put "$T/a" s/a
same "... a reads back whole" "$(sum s/a)" "$(sha256sum <"$T/a")"
scrub && rc=0 || rc=$?
same "scrub: exit 0 again" "$rc" 0
check "the store is consistent" store_consistent
refuse "scrub of a directory without meta.db: exit 2" 2 'cannot open the metadata' \
	n "$DGFSD" scrub --state-dir "$T/nonesuch"

dgfsd_stop
finish
