#!/usr/bin/env bash
# Conditional requests with curl (docs/HTTP.md): If-Range on a ranged GET
# (the range only for the current ETag, else the whole file); If-Match and
# If-None-Match: * on PUT, DELETE and POST ?commit (412 on mismatch, and
# then nothing changed).
#   tests/dgfsd/test_conditional.sh BUILD_DIR      (as root)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"

code() {
	: >"$T/body"
	n curl -sS -m 60 -g -o "$T/body" -D "$T/hdrs" -w '%{http_code}' "$@"
}
sum() { n curl -sf "$URL/files/$1" | sha256sum | cut -c1-64; }

check "dgfsd starts" dgfsd_start || finish
head -c 3000 /dev/urandom >"$T/v1"
head -c 3000 /dev/urandom >"$T/v2"
E1=$(sha256sum <"$T/v1" | cut -c1-64) E2=$(sha256sum <"$T/v2" | cut -c1-64)

# ---- If-None-Match: * : create only ------------------------------------------------------
same "PUT with If-None-Match: * of a new file -> 201" \
	"$(code -T "$T/v1" -H 'If-None-Match: *' "$URL/files/c/f")" 201
same "PUT with If-None-Match: * over an existing file -> 412" \
	"$(code -T "$T/v2" -H 'If-None-Match: *' "$URL/files/c/f")" 412
same "... the file is unchanged" "$(sum c/f)" "$E1"

# ---- If-Match on PUT ------------------------------------------------------------------
same "PUT with If-Match of another ETag -> 412" \
	"$(code -T "$T/v2" -H "If-Match: \"$E2\"" "$URL/files/c/f")" 412
same "... the file is unchanged" "$(sum c/f)" "$E1"
same "PUT with If-Match of a weak current ETag -> 412 (strong comparison)" \
	"$(code -T "$T/v2" -H "If-Match: W/\"$E1\"" "$URL/files/c/f")" 412
same "PUT with If-Match: * of a missing file -> 412" \
	"$(code -T "$T/v2" -H 'If-Match: *' "$URL/files/c/none")" 412
same "... and it is still missing" "$(code "$URL/files/c/none")" 404
same "PUT with If-Match of the current ETag -> 200" \
	"$(code -T "$T/v2" -H "If-Match: \"x\", \"$E1\"" "$URL/files/c/f")" 200
same "... the file is the new one" "$(sum c/f)" "$E2"

# ---- the same on POST ?commit ----------------------------------------------------------
# v1's chunk went with v1: upload it again for the commits below.
same "PUT /chunks of v1 -> 201" "$(code -T "$T/v1" "$URL/chunks/$E1")" 201
commit() {
	code -X POST -H 'Content-Type: application/json' "$@" \
		--data "{\"chunks\":[\"$E1\"]}" "$URL/files/c/f?commit"
}
same "commit with If-Match of the old ETag -> 412" "$(commit -H "If-Match: \"$E1\"")" 412
same "... the file is unchanged" "$(sum c/f)" "$E2"
same "commit with If-None-Match: * over it -> 412" "$(commit -H 'If-None-Match: *')" 412
same "commit with If-Match of the current ETag -> 200" "$(commit -H "If-Match: \"$E2\"")" 200
same "... the file is v1 again" "$(sum c/f)" "$E1"

# ---- DELETE --------------------------------------------------------------------------
same "DELETE with If-Match of another ETag -> 412" \
	"$(code -X DELETE -H "If-Match: \"$E2\"" "$URL/files/c/f")" 412
same "... the file is still there" "$(sum c/f)" "$E1"
same "DELETE with If-None-Match: * of an existing file -> 412" \
	"$(code -X DELETE -H 'If-None-Match: *' "$URL/files/c/f")" 412
same "DELETE with If-Match: * of a missing file -> 412" \
	"$(code -X DELETE -H 'If-Match: *' "$URL/files/c/none")" 412
same "DELETE with If-Match of the current ETag -> 204" \
	"$(code -X DELETE -H "If-Match: \"$E1\"" "$URL/files/c/f")" 204
same "... the file is gone" "$(code "$URL/files/c/f")" 404

# ---- checked again at the commit, under the store lock -----------------------------------
# A slow PUT with If-Match of the current ETag passes the first look; a
# second writer changes the file while its body still flows: at its
# commit the condition no longer holds.
same "PUT c/race -> 201" "$(code -T "$T/v1" "$URL/files/c/race")" 201
head -c $((2 << 20)) /dev/urandom >"$T/slow"
n curl -sS -m 60 -o "$T/slow.body" -w '%{http_code}' --limit-rate 400k -T "$T/slow" \
	-H "If-Match: \"$E1\"" "$URL/files/c/race" >"$T/slow.code" &
slow=$!
# Its upload has begun once dgfsd holds it (uploads in /metrics).
uploading() { [[ $(metric dgfsd_uploads_in_progress) == 1 ]]; }
check "the slow PUT is under way" wait_for 20 uploading
same "meanwhile another PUT changes the file -> 200" "$(code -T "$T/v2" "$URL/files/c/race")" 200
wait "$slow"
same "the slow PUT then fails its If-Match at the commit -> 412" "$(cat "$T/slow.code")" 412
same "... the file is the other writer's" "$(sum c/race)" "$E2"

# ---- If-Range -------------------------------------------------------------------------
same "PUT c/r -> 201" "$(code -T "$T/v1" "$URL/files/c/r")" 201
same "Range with If-Range of the current ETag -> 206" \
	"$(code -r 100-199 -H "If-Range: \"$E1\"" "$URL/files/c/r")" 206
same "... those 100 bytes" "$(sha256sum <"$T/body")" "$(tail -c +101 "$T/v1" | head -c 100 | sha256sum)"
same "Range with If-Range of an old ETag -> 200, the whole file" \
	"$(code -r 100-199 -H "If-Range: \"$E2\"" "$URL/files/c/r")" 200
same "... all of it" "$(sha256sum <"$T/body" | cut -c1-64)" "$E1"
same "Range with If-Range of a date -> 200 (only ETags are strong here)" \
	"$(code -r 100-199 -H "If-Range: $(hdr Last-Modified)" "$URL/files/c/r")" 200
same "Range without If-Range -> 206" "$(code -r 100-199 "$URL/files/c/r")" 206
check "the store is consistent" store_consistent

# ---- a PUT's precondition never holds up an event thread ------------------------------
# One event thread serves every connection. A commit holds the chunk
# store's lock for 10 s (DGFSD_TEST_LOCK_HOLD_*, standing for a slow
# disk under its transaction). A PUT with If-Match comes in: its condition
# is looked at off the event thread (it waits for the store lock there), so
# a GET on that same thread is answered at once.
dgfsd_stop
export DGFSD_TEST_LOCK_HOLD_PATH=c/slow DGFSD_TEST_LOCK_HOLD_MS=10000
check "dgfsd starts with one event thread" dgfsd_start --http-threads 1 || finish
unset DGFSD_TEST_LOCK_HOLD_PATH DGFSD_TEST_LOCK_HOLD_MS
same "PUT c/ev -> 201" "$(code -T "$T/v1" "$URL/files/c/ev")" 201
head -c 3000 /dev/urandom >"$T/v3"
E3=$(sha256sum <"$T/v3" | cut -c1-64)
n curl -sS -m 60 -o /dev/null -w '%{http_code}' -T "$T/v3" "$URL/files/c/slow" \
	>"$T/slow.code" &
slow=$!
# Its chunk is on disk once its body is in; its commit follows at once.
check "a PUT's chunk is written" wait_for 10 test -e "$STATE/chunks/$E3"
sleep 0.5
n curl -sS -m 60 -o /dev/null -w '%{http_code}' -T "$T/v2" -H "If-Match: \"$E1\"" \
	"$URL/files/c/ev" >"$T/ifmatch.code" &
ifmatch=$!
sleep 0.5
same "meanwhile a GET on the same event thread -> 200 within 3 s" \
	"$(n curl -sS -m 3 -o /dev/null -w '%{http_code}' "$URL/files/c/ev")" 200
check "... while that commit still held the store lock" kill -0 "$slow"
wait "$slow" "$ifmatch"
same "the slow commit then goes through -> 201" "$(cat "$T/slow.code")" 201
same "the PUT with If-Match of the current ETag then -> 200" "$(cat "$T/ifmatch.code")" 200
same "... and wrote the file" "$(sum c/ev)" "$E2"
same "PUT with If-Match of an old ETag, off the event thread too -> 412" \
	"$(code -T "$T/v3" -H "If-Match: \"$E1\"" "$URL/files/c/ev")" 412
same "... the file is unchanged" "$(sum c/ev)" "$E2"
check "the store is consistent" store_consistent

# ---- a download over several chunks never waits for the store lock -------------------
# Its range is streamed chunk after chunk, each chunk pinned first so that
# a delete cannot remove it under the download. Those pins are taken on the
# event thread: while a commit holds the store lock 10 s (c/slow again), a
# GET of a multi-chunk file and a range across its chunks on that thread
# are answered at once.
head -c $((6 << 20)) /dev/urandom >"$T/big"
EB=$(sha256sum <"$T/big" | cut -c1-64)
same "PUT c/big (6 MiB) -> 201" "$(code -T "$T/big" "$URL/files/c/big")" 201
n curl -sf -o "$T/big.json" "$URL/files/c/big?manifest"
nbig=$(jget "$T/big.json" 'len(j["chunks"])')
check "... it has several chunks ($nbig)" test "${nbig:-0}" -gt 1
b1=$(jget "$T/big.json" 'j["chunks"][1]["offset"]')
head -c 3000 /dev/urandom >"$T/v4"
E4=$(sha256sum <"$T/v4" | cut -c1-64)
n curl -sS -m 60 -o /dev/null -w '%{http_code}' -T "$T/v4" "$URL/files/c/slow" \
	>"$T/slow.code" &
slow=$!
check "a PUT's chunk is written" wait_for 10 test -e "$STATE/chunks/$E4"
sleep 0.5
t0=$(date +%s%N)
same "meanwhile a GET of the multi-chunk file on the same event thread -> 200 within 3 s" \
	"$(code -m 3 "$URL/files/c/big")" 200
same "... all of it" "$(sha256sum <"$T/body" | cut -c1-64)" "$EB"
same "... and a range across its first two chunks -> 206 within 3 s" \
	"$(code -m 3 -r $((b1 - 1000))-$((b1 + 999)) "$URL/files/c/big")" 206
same "... those 2000 bytes" "$(sha256sum <"$T/body")" \
	"$(tail -c +$((b1 - 999)) "$T/big" | head -c 2000 | sha256sum)"
echo "# the two downloads took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check "... while that commit still held the store lock" kill -0 "$slow"
wait "$slow"
same "the slow commit then goes through -> 200" "$(cat "$T/slow.code")" 200
same "DELETE c/big -> 204" "$(code -X DELETE "$URL/files/c/big")" 204
check "the store is consistent (c/big's chunks removed)" store_consistent

dgfsd_stop
finish
