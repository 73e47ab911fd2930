#!/usr/bin/env bash
# dgfsd refuses bad input and nothing changes (docs/HTTP.md): bad paths
# (dot segments, also percent-encoded, NUL, control characters, empty
# segments, bad escapes, too long) for PUT, GET and DELETE, with the
# boundaries (1024-byte path, 255-byte segment) accepted; over-long headers
# and URLs; PUT /chunks/{id} with wrong bytes, zstd (good, bad, a 200 MiB
# zstd bomb: refused fast, dgfsd's peak RSS stays small), too big, bad ids,
# unknown Content-Encoding; POST /chunks/missing and POST /files/x?commit
# with bad and good bodies; uploads cut off mid-body (Content-Length and
# chunked, new file and overwrite, also one that deduplicates against the
# file it overwrites) commit nothing and leave no chunk; a restart leaves a
# consistent store; 405 with Allow, 404 for unknown URLs.
#   tests/dgfsd/test_http_badinput.sh BUILD_DIR      (as root)
# expect-checks: 260 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"
RAWHTTP=tests/dgfsd/rawhttp.py

# ---- helpers -----------------------------------------------------------------
sha() { sha256sum "$1" | cut -c1-64; }
cmpf() { cmp -s "$1" "$2" && echo same || echo differs; }
# req OUT CURL_ARGS...: curl in the namespace; body to OUT, headers to
# $T/hdrs; prints the status code (000 when there was no answer).
req() {
	local out=$1
	shift
	[[ $out == /dev/null ]] || : >"$out"
	: >"$T/hdrs"
	n curl -sS -m 120 -g --path-as-is -o "$out" -D "$T/hdrs" -w '%{http_code}' "$@" 2>>"$T/curl.err"
}
listing() { n curl -sf -m 30 "$URL/files/?limit=10000"; }
chunk_count() { find "$STATE/chunks" -maxdepth 1 -type f | wc -l; }
hwm_kb() { awk '$1 == "VmHWM:" { print $2 }' "/proc/$DGFSD_PID/status"; }
rep() { printf "%$1s" '' | tr ' ' "$2"; }  # rep N C: C N times
# cpu_us CMD...: the CPU time dgfsd's threads took while CMD ran, in
# microseconds (its output goes to $T/ms.out): the server's own work,
# which neither curl's start nor a wait for a busy CPU adds to.
dgfsd_cpu_ns() {
	cat /proc/"$DGFSD_PID"/task/*/schedstat 2>/dev/null | awk '{ n += $1 } END { print n + 0 }'
}
cpu_us() {
	local c0 c1
	c0=$(dgfsd_cpu_ns)
	"$@" >"$T/ms.out"
	c1=$(dgfsd_cpu_ns)
	echo $(((c1 - c0) / 1000))
}
# PUTs cut off before their answer, as dgfsd counts them (it counts a
# request when it is done with it: an event to wait for, not a sleep).
cut_puts() {
	local v
	v=$(metric 'dgfsd_http_requests_total{method="PUT",code="0"}')
	echo "${v:-0}"
}
cut_puts_above() { (($(cut_puts) > $1)); }

check "dgfsd starts" dgfsd_start || finish
same "\$DGFSD_PID is dgfsd itself (ip netns exec execs it)" \
	"$(cat "/proc/$DGFSD_PID/comm" 2>/dev/null)" "$(basename "$DGFSD" | cut -c1-15)"
head -c 1048576 /dev/urandom >"$T/base"
code=$(req /dev/null -T "$T/base" "$URL/files/keep/base.bin")
same "PUT keep/base.bin -> 201" "$code" 201
printf 'small body\n' >"$T/small"

# ---- bad paths ---------------------------------------------------------------------
long1025="$(rep 255 a)/$(rep 255 b)/$(rep 255 c)/$(rep 255 d)/e"
long1024="$(rep 255 a)/$(rep 255 b)/$(rep 255 c)/$(rep 254 d)/e"
BAD=(.. a/../b ../a a/.. . ./a a/. a/./b %2e%2e %2E%2e/x a/%2e/b a/%2E %2e
	%00 a%00b a//b //a a/ a%0ab %0a a%1fb a%7fb %zz a%4 a%g0 a%
	"$long1025" "a/$(rep 256 x)/b")
[[ ${#long1025} == 1025 && ${#long1024} == 1024 ]] || fail "the test's long paths are 1024/1025 bytes"
list0=$(listing) disk0=$(chunks_on_disk)
for p in "${BAD[@]}"; do
	show=${p:0:24}
	((${#p} > 24)) && show="$show..(${#p} bytes)"
	code=$(req "$T/err.json" -X PUT --data-binary @"$T/small" "$URL/files/$p")
	same "PUT /files/$show -> 400 JSON error" \
		"$code $(hdr Content-Type) $(grep -c '^{"error":"bad path' "$T/err.json")" \
		"400 application/json 1"
	code=$(req /dev/null "$URL/files/$p")
	same "GET /files/$show -> 400" "$code" 400
	code=$(req /dev/null -X DELETE "$URL/files/$p")
	same "DELETE /files/$show -> 400" "$code" 400
done
code=$(req /dev/null -G --data-urlencode 'prefix=../' "$URL/files/")
same "GET /files/?prefix=../ -> 400" "$code" 400
code=$(req /dev/null "$URL/files/?prefix=a%00")
same "GET /files/?prefix=a%00 -> 400" "$code" 400
code=$(req /dev/null "$URL/files/?limit=0")
same "GET /files/?limit=0 -> 400" "$code" 400
code=$(req /dev/null "$URL/files/?limit=10001")
same "GET /files/?limit=10001 -> 400" "$code" 400
same "after the bad paths the listing is unchanged" "$(listing)" "$list0"
same "after the bad paths no chunk file was added" "$(chunks_on_disk)" "$disk0"

# The boundaries are accepted (decoded length counts, not the URL's).
for p in "$long1024" "%61${long1024:1}" "a/$(rep 255 x)/b" ".a/..b/..." "a%20b"; do
	code=$(req /dev/null -X PUT --data-binary @"$T/small" "$URL/files/$p")
	show="/files/${p:0:20}.. (${#p} bytes in the URL)"
	same "PUT $show accepted" "$code" 201
	code=$(req "$T/got" "$URL/files/$p")
	same "GET $show reads back" "$code $(cmpf "$T/got" "$T/small")" "200 same"
	code=$(req /dev/null -X DELETE "$URL/files/$p")
	same "DELETE $show -> 204" "$code" 204
done

# Paths travel in JSON (listings, manifests), so one that is not UTF-8 is
# refused (docs/HTTP.md): by PUT and by GET alike, and nothing is stored.
before=$(listing)
same "PUT /files/notutf8-%ff -> 400" \
	"$(req "$T/put.json" -X PUT --data-binary @"$T/small" "$URL/files/notutf8-%ff")" 400
check "... saying why" grep -q "UTF-8" "$T/put.json"
same "GET /files/notutf8-%ff -> 400" "$(req /dev/null "$URL/files/notutf8-%ff")" 400
same "... and the listing is unchanged" "$(listing)" "$before"
req /dev/null -X DELETE "$URL/files/notutf8-%ff" >/dev/null
list0=$(listing) disk0=$(chunks_on_disk)

# ---- over-long headers and URLs ------------------------------------------------------
printf 'X-Big: %s\r\n' "$(rep 102400 a)" >"$T/bighdr"
code=$(req /dev/null -H @"$T/bighdr" "$URL/healthz")
check "a 100 KiB header -> 431/413/400 (got $code)" eval '[[ $code =~ ^(431|413|400)$ ]]'
code=$(req /dev/null -H @"$T/bighdr" -X PUT --data-binary @"$T/small" "$URL/files/bighdr")
check "a PUT with a 100 KiB header -> 431/413/400 (got $code)" eval '[[ $code =~ ^(431|413|400)$ ]]'
v20=$(rep 20 v)
for ((i = 0; i < 4000; i++)); do printf 'X-H%d: %s\r\n' "$i" "$v20"; done >"$T/manyhdr"
code=$(req /dev/null -H @"$T/manyhdr" "$URL/healthz")
check "4000 headers -> 431/413/400 (got $code)" eval '[[ $code =~ ^(431|413|400)$ ]]'
code=$(req /dev/null -X PUT --data-binary @"$T/small" "$URL/files/$(rep 102400 u)")
check "a 100 KiB URL -> 414/431/413/400 (got $code)" eval '[[ $code =~ ^(414|431|413|400)$ ]]'
code=$(req "$T/got" "$URL/healthz")
same "dgfsd still answers /healthz" "$code $(cat "$T/got")" "200 ok"
same "and the listing is unchanged" "$(listing)" "$list0"

# ---- PUT /chunks/{id} ------------------------------------------------------------------
cpath() { echo "$STATE/chunks/$1"; }
head -c 100000 /dev/urandom >"$T/cA"
head -c 100000 /dev/urandom >"$T/cB"
idA=$(sha "$T/cA") idB=$(sha "$T/cB") # B: must not be stored either
code=$(req /dev/null -T "$T/cB" "$URL/chunks/$idA")
same "PUT /chunks/A with B's bytes -> 400" "$code" 400
check "... neither A nor B is stored" eval '[[ ! -e $(cpath "$idA") && ! -e $(cpath "$idB") ]]'
same "... and GET /chunks/A -> 404" "$(req /dev/null "$URL/chunks/$idA")" 404
code=$(req /dev/null -T "$T/cA" "$URL/chunks/$idA")
same "PUT /chunks/A with A's bytes -> 201" "$code" 201
same "... the chunk file holds them" "$(cmpf "$(cpath "$idA")" "$T/cA")" same
code=$(req /dev/null -T "$T/cA" "$URL/chunks/$idA")
same "PUT /chunks/A again -> 200" "$code" 200
code=$(req "$T/got" "$URL/chunks/$idA")
same "GET /chunks/A returns them" "$code $(cmpf "$T/got" "$T/cA")" "200 same"
code=$(req /dev/null -T "$T/cA" "$URL/chunks/${idA^^}")
same "PUT /chunks/{A in upper case} -> 200" "$code" 200
: >"$T/empty"
code=$(req /dev/null -T "$T/empty" "$URL/chunks/$(sha "$T/empty")")
same "PUT /chunks/{sha of nothing} with no bytes -> 400" "$code" 400

# zstd: with the content size in the frame (from a file) and without (a pipe).
head -c 600000 /dev/urandom | base64 -w0 | head -c 700000 >"$T/cZ"
head -c 600000 /dev/urandom | base64 -w0 | head -c 700000 >"$T/cZ2"
idZ=$(sha "$T/cZ") idZ2=$(sha "$T/cZ2")
zstd -q -c "$T/cZ" >"$T/cZ.zst"
zstd -q -c <"$T/cZ2" >"$T/cZ2.zst"
code=$(req /dev/null -T "$T/cZ.zst" -H 'Content-Encoding: zstd' "$URL/chunks/$idZ")
same "PUT /chunks/Z zstd-compressed, Content-Encoding: zstd -> 201" "$code" 201
code=$(req "$T/got" "$URL/chunks/$idZ")
same "GET /chunks/Z returns the plain bytes" "$code $(cmpf "$T/got" "$T/cZ")" "200 same"
code=$(req /dev/null -T "$T/cZ2.zst" -H 'Content-Encoding: zstd' "$URL/chunks/$idZ2")
same "PUT /chunks/Z2 zstd from a pipe (no size in the frame) -> 201" "$code" 201
same "... stored plain" "$(cmpf "$(cpath "$idZ2")" "$T/cZ2")" same
code=$(req /dev/null -T "$T/cZ.zst" -H 'Content-Encoding: zstd' "$URL/chunks/$idZ2")
same "PUT /chunks/Z2 with Z's zstd frame -> 400" "$code" 400
head -c 5000 /dev/urandom >"$T/junk"
idJ=$(sha "$T/junk")
code=$(req /dev/null -T "$T/junk" -H 'Content-Encoding: zstd' "$URL/chunks/$idJ")
same "PUT /chunks/{id} with Content-Encoding: zstd and no zstd frame -> 400" "$code" 400
head -c 4000 "$T/cZ.zst" >"$T/cZ.trunc"
code=$(req /dev/null -T "$T/cZ.trunc" -H 'Content-Encoding: zstd' "$URL/chunks/$idZ")
same "PUT /chunks/Z with a truncated zstd frame -> 400" "$code" 400
code=$(req /dev/null -T "$T/junk" -H 'Content-Encoding: gzip' "$URL/chunks/$idJ")
same "PUT /chunks/{id} with Content-Encoding: gzip -> 415" "$code" 415
check "... not stored" test ! -e "$(cpath "$idJ")"

# zstd bombs: 200 MiB of zeros in a few KB, refused quickly with little memory.
head -c 200M /dev/zero | zstd -q -19 -c >"$T/bomb.zst"
idBomb=$(head -c 200M /dev/zero | sha256sum | cut -c1-64)
truncate -s 5M "$T/zeros5m"
zstd -q -19 -c "$T/zeros5m" >"$T/bomb5m.zst"
idBomb5=$(sha "$T/zeros5m")
echo "zstd bomb: $(stat -c %s "$T/bomb.zst") bytes for 200 MiB"
# The control, measured the same way in this run: the largest chunk
# allowed (4 MiB), the same zeros, also from a pipe. Refused after its
# first 4 MiB, the bomb costs dgfsd less CPU than the control, which also
# hashes and stores them; inflated whole before the refusal, some 50
# times as much. (Wall-clock time told them apart badly on a loaded
# machine: zeros inflate fast, and with the fault planted the bomb took
# only 2-4 times the control's 0.7-1.4 s, curl's start and the waits for
# a CPU included.)
# Three controls, each a chunk new to dgfsd (4 MiB, less 0, 1 and 2 bytes),
# so each is stored, the same work every time.
declare -a idZeros4
for i in 0 1 2; do
	head -c $((4194304 - i)) /dev/zero | zstd -q -19 -c >"$T/zeros4m-$i.zst"
	idZeros4[i]=$(head -c $((4194304 - i)) /dev/zero | sha256sum | cut -c1-64)
done
# Three of each, taken in turns so that the machine's load falls on both
# alike; the bomb's fastest against the control's slowest, so one run
# slowed by the load decides nothing either way.
ctl_max=0 bomb_min= codes= ctl_codes= ctl_all= bomb_all= hwm0=
for i in 0 1 2; do
	t=$(cpu_us req /dev/null -T "$T/zeros4m-$i.zst" -H 'Content-Encoding: zstd' \
		"$URL/chunks/${idZeros4[i]}")
	ctl_codes+="$(cat "$T/ms.out") " ctl_all+="$t "
	((t > ctl_max)) && ctl_max=$t
	# The peak before the bombs, with the control's 4 MiB in it.
	[[ -n $hwm0 ]] || hwm0=$(hwm_kb)
	t=$(cpu_us req /dev/null -T "$T/bomb.zst" -H 'Content-Encoding: zstd' "$URL/chunks/$idBomb")
	codes+="$(cat "$T/ms.out") " bomb_all+="$t "
	[[ -z $bomb_min ]] || ((t < bomb_min)) && bomb_min=$t
done
echo "zstd, dgfsd's CPU time: control ${ctl_all}us, bomb ${bomb_all}us"
check "control: 4 MiB of zeros as zstd from a pipe -> 201, three chunks ($ctl_codes)" \
	eval '[[ $ctl_codes == "201 201 201 " ]]'
check "the 200 MiB zstd bomb (no size in the frame) -> 413 or 400, three times ($codes)" \
	eval '[[ $codes =~ ^((413|400) ){3}$ ]]'
check "... its cheapest no dearer than the control's dearest in dgfsd's CPU time (${bomb_min} us, control ${ctl_max} us)" \
	test "$bomb_min" -le "$ctl_max"
code=$(req /dev/null -T "$T/bomb5m.zst" -H 'Content-Encoding: zstd' "$URL/chunks/$idBomb5")
check "a 5 MiB zstd bomb with its size in the frame -> 413 or 400 (got $code)" \
	eval '[[ $code =~ ^(413|400)$ ]]'
hwm1=$(hwm_kb)
echo "dgfsd VmHWM: ${hwm0} kB before the bombs, ${hwm1} kB after"
check "... dgfsd's peak RSS grew by less than 24 MiB ($(((hwm1 - hwm0) / 1024)) MiB)" \
	test $((hwm1 - hwm0)) -lt $((24 << 10))
check "... and is under 128 MiB ($((hwm1 / 1024)) MiB)" test "$hwm1" -lt $((128 << 10))
check "... nothing stored" eval '[[ ! -e $(cpath "$idBomb") && ! -e $(cpath "$idBomb5") ]]'

# Size: 4 MiB is the most a chunk may be.
head -c $((4 << 20)) /dev/urandom >"$T/c4m"
head -c $(((4 << 20) + 1)) /dev/urandom >"$T/c4m1"
head -c $((5 << 20)) /dev/urandom >"$T/c5m"
id4=$(sha "$T/c4m") id41=$(sha "$T/c4m1") id5=$(sha "$T/c5m")
code=$(req /dev/null -T "$T/c4m" "$URL/chunks/$id4")
same "PUT a 4 MiB chunk -> 201" "$code" 201
code=$(req /dev/null -T "$T/c4m1" "$URL/chunks/$id41")
same "PUT a chunk of 4 MiB + 1 byte -> 413" "$code" 413
check "... not stored" test ! -e "$(cpath "$id41")"
code=$(req /dev/null -T "$T/c5m" "$URL/chunks/$id5")
same "PUT a 5 MiB chunk -> 413" "$code" 413
check "... not stored" test ! -e "$(cpath "$id5")"
zstd -q -c "$T/c4m1" >"$T/c4m1.zst"
code=$(req /dev/null -T "$T/c4m1.zst" -H 'Content-Encoding: zstd' "$URL/chunks/$id41")
same "PUT a zstd chunk of 4 MiB + 1 byte -> 413" "$code" 413

# Bad ids in the URL.
for bad in "${idA:0:63}" "${idA}0" "g${idA:1}" "${idA:0:32}-${idA:33}" "" "%41${idA:1}"; do
	code=$(req /dev/null -T "$T/cA" "$URL/chunks/$bad")
	same "PUT /chunks/'${bad:0:10}..' (${#bad} chars) -> 400" "$code" 400
	code=$(req /dev/null "$URL/chunks/$bad")
	same "GET /chunks/'${bad:0:10}..' -> 400" "$code" 400
done

# ---- POST /chunks/missing ------------------------------------------------------------------
x1=$(printf 'x1' | sha256sum | cut -c1-64) x2=$(printf 'x2' | sha256sum | cut -c1-64)
x3=$(printf 'x3' | sha256sum | cut -c1-64) x4=$(printf 'x4' | sha256sum | cut -c1-64)
post_missing() { req "$T/miss.json" -X POST --data-binary "$1" "$URL/chunks/missing"; }
for body in '{' '' 'null' '{"ids": "abc"}' '{"ids": {}}' "[\"$x1\"]" '{"ids": [1, 2]}' \
	"{\"ids\": [\"${x1:0:63}\"]}" "{\"ids\": [\"g${x1:1}\"]}" "{\"ids\": [\"${x1}00\"]}" \
	'{"other": []}'; do
	same "POST /chunks/missing '$body' -> 400" "$(post_missing "$body")" 400
done
code=$(post_missing "{\"ids\": [\"$idA\", \"$x1\", \"$x2\", \"$x1\", \"$idZ\", \"$x3\", \"$x2\", \"${x4^^}\"]}")
same "POST /chunks/missing: the missing ones, in order, once each" \
	"$code $(jget "$T/miss.json" 'j')" "200 {\"missing\": [\"$x1\", \"$x2\", \"$x3\", \"$x4\"]}"
code=$(post_missing "{\"ids\": [\"$idA\", \"${idZ^^}\"]}")
same "POST /chunks/missing, all stored: []" "$code $(jget "$T/miss.json" 'j')" '200 {"missing": []}'
code=$(post_missing '{"ids": []}')
same "POST /chunks/missing, no ids: []" "$code $(jget "$T/miss.json" 'j')" '200 {"missing": []}'

# JSON that jansson cannot parse in bounded memory and depth is refused
# before the parse (413). The regression bodies once crashed dgfsd: jansson
# aborted or wrote out of bounds when the parse's allowance ran out midway.
for f in tests/fuzz/regressions/bodies/*; do
	same "POST /chunks/missing with fuzz regression ${f##*/} -> 413" \
		"$(req "$T/miss.json" -X POST --data-binary @"$f" "$URL/chunks/missing")" 413
done
same "POST /chunks/missing nested 33 deep -> 413" \
	"$(post_missing "{\"ids\": $(rep 32 '[')$(rep 32 ']')}")" 413
check "... which says it is too complex" grep -q "too complex" "$T/miss.json"
same "... nested 32 deep is parsed (then 400: not a list of ids)" \
	"$(post_missing "{\"ids\": $(rep 31 '[')$(rep 31 ']')}")" 400
same "... and dgfsd still answers" "$(post_missing '{"ids": []}')" 200

# ---- POST /files/{path}?commit -----------------------------------------------------------------
commit() { req "$T/commit.json" -X POST --data-binary "$2" "$URL/files/$1?commit"; }
code=$(commit c/x "{\"chunks\": [\"$idA\", \"$x1\", \"$idZ\", \"$x2\"]}")
same "commit with missing chunks -> 409 listing them" \
	"$code $(jget "$T/commit.json" 'j["missing"]')" "409 [\"$x1\", \"$x2\"]"
same "... GET c/x -> 404" "$(req /dev/null "$URL/files/c/x")" 404
same "... not listed" "$(listing)" "$list0"
for body in '{' '{"chunks": "a"}' "{\"chunks\": [\"zz\"]}" "{\"chunks\": [\"$idA\"], \"content_type\": 5}" \
	"{\"chunks\": [\"$idA\"], \"content_type\": \"a\\nb\"}"; do
	same "commit with body '${body//$idA/A}' -> 400" "$(commit c/x "$body")" 400
done
same "commit to a bad path -> 400" "$(commit 'a/../b' "{\"chunks\": [\"$idA\"]}")" 400
code=$(commit c/x "{\"chunks\": [\"$idA\", \"$idZ\", \"$idA\"]}")
cat "$T/cA" "$T/cZ" "$T/cA" >"$T/cAZA"
same "commit of stored chunks -> 201, size and etag" \
	"$code $(jget "$T/commit.json" '"%s %s" % (j["size"], j["etag"])')" \
	"201 $(stat -c %s "$T/cAZA") $(sha "$T/cAZA")"
code=$(req "$T/got" "$URL/files/c/x")
same "GET c/x is the chunks' concatenation, ETag its SHA-256" \
	"$code $(cmpf "$T/got" "$T/cAZA") $(hdr ETag)" "200 same \"$(sha "$T/cAZA")\""
code=$(commit c/x "{\"chunks\": [\"$idZ2\"], \"content_type\": \"text/x-bar\"}")
same "commit again to c/x -> 200" "$code" 200
code=$(req "$T/got" "$URL/files/c/x")
same "GET c/x: the new content, the given content type" \
	"$code $(cmpf "$T/got" "$T/cZ2") $(hdr Content-Type)" "200 same text/x-bar"

# ---- uploads cut off ------------------------------------------------------------------------------
list0=$(listing) disk0=$(chunks_on_disk)
in_progress0() { [[ $(metric dgfsd_uploads_in_progress) == 0 ]]; }
disk_is_disk0() { [[ $(chunks_on_disk) == "$disk0" ]]; }
# cutoff NAME RAWHTTP_ARGS...: send a cut-off upload; chunks are written
# while it comes in (dgfsd's counter, which a busy machine's polling of the
# directory can miss); afterwards they are gone, each removed. A body cut
# off never completes, so whatever dgfsd wrote for it by the time it is
# done with the request (it counts it then, with code 0), it wrote while
# the body came in: wait for that event, however slow the machine, then
# look. (The wait's bound only keeps a hung dgfsd from hanging the test.)
written() { metric dgfsd_chunks_written_total; }
removed() { metric dgfsd_chunks_removed_total; }
cutoff() {
	local name=$1 w0 r0 c0
	shift
	w0=$(written) r0=$(removed) c0=$(cut_puts)
	n python3 "$RAWHTTP" --linger 2 "$@" >"$T/raw.log" 2>&1 &
	local pid=$!
	check "$name: rawhttp sent its part and closed" wait "$pid"
	check "$name: dgfsd is done with the cut-off request" wait_for 300 cut_puts_above "$c0"
	check "$name: chunks were written while the body came in ($(($(written) - w0)))" \
		test "$(written)" -gt "$w0"
	# It reads what the server said before closing: only then does an
	# empty answer mean something.
	lacks "$name: no answer before the close" '^answer' \
		grep -x -e 'closed' -e 'answer.*' "$T/raw.log"
	check "$name: no upload left in progress" wait_for 10 in_progress0
	check "$name: the chunks it wrote are removed" wait_for 5 disk_is_disk0
	same "$name: as many removed as written" "$(($(removed) - r0))" "$(($(written) - w0))"
}
cutoff "PUT cut.bin (9 of 20 MiB)" PUT /files/cut.bin $((20 << 20)) $((9 << 20))
same "GET cut.bin -> 404" "$(req /dev/null "$URL/files/cut.bin")" 404
same "the listing is unchanged" "$(listing)" "$list0"
cutoff "chunked PUT cutc.bin (9 MiB, no last piece)" --chunked PUT /files/cutc.bin 0 $((9 << 20))
same "GET cutc.bin -> 404" "$(req /dev/null "$URL/files/cutc.bin")" 404
same "the listing is unchanged" "$(listing)" "$list0"

# Overwrites cut off: the old version stays.
head -c $((6 << 20)) /dev/urandom >"$T/old"
code=$(req /dev/null -T "$T/old" "$URL/files/keep/over.bin")
same "PUT keep/over.bin (6 MiB) -> 201" "$code" 201
list0=$(listing) disk0=$(chunks_on_disk)
cutoff "PUT keep/over.bin cut off (other bytes)" PUT /files/keep/over.bin $((20 << 20)) $((9 << 20))
code=$(req "$T/got" "$URL/files/keep/over.bin")
same "keep/over.bin is still the old version" "$code $(sha "$T/got")" "200 $(sha "$T/old")"
same "the listing is unchanged" "$(listing)" "$list0"
# The same bytes again and then more: its chunks are the old file's
# (deduplicated, not written); the cut-off upload must not remove them.
cat "$T/old" >"$T/old+"
head -c $((2 << 20)) /dev/urandom >>"$T/old+"
cut0=$(cut_puts)
n python3 "$RAWHTTP" --linger 1 --body "$T/old+" PUT /files/keep/over.bin \
	$((20 << 20)) $((7 << 20)) >"$T/raw.log" 2>&1
# Done with it: counted as cut off, and its clean-up (which ends the
# upload's count in progress) has run. Only then is "nothing lost" news.
check "PUT keep/over.bin cut off (its own bytes + more): dgfsd saw it cut off" \
	wait_for 10 cut_puts_above "$cut0"
check "... and finished with it" wait_for 10 in_progress0
same "... no chunk of the old one lost" "$(chunks_on_disk)" "$disk0"
code=$(req "$T/got" "$URL/files/keep/over.bin")
same "keep/over.bin still reads back whole" "$code $(sha "$T/got")" "200 $(sha "$T/old")"
code=$(req "$T/got" "$URL/files/keep/base.bin")
same "keep/base.bin still reads back whole" "$code $(sha "$T/got")" "200 $(sha "$T/base")"
# A chunk upload cut off stores nothing.
head -c 1000000 /dev/urandom >"$T/cC"
idC=$(sha "$T/cC")
cut0=$(cut_puts)
n python3 "$RAWHTTP" --body "$T/cC" PUT "/chunks/$idC" 1000000 500000 >"$T/raw.log" 2>&1
check "PUT /chunks/C cut off: dgfsd saw it cut off" wait_for 10 cut_puts_above "$cut0"
check "... not stored" test ! -e "$(cpath "$idC")"
same "dgfsd still answers /healthz" "$(req /dev/null "$URL/healthz")" 200

# ---- methods and unknown URLs ---------------------------------------------------------------------
# allow METHOD URL WANT_ALLOW
allow() {
	local code
	code=$(req /dev/null -X "$1" "$URL$2")
	same "$1 $2 -> 405, Allow: $3" "$code|$(hdr Allow)" "405|$3"
}
allow PATCH /files/keep/base.bin "GET, HEAD, PUT, DELETE, POST"
allow POST /files/keep/base.bin "GET, HEAD, PUT, DELETE, POST"
allow DELETE /healthz "GET, HEAD"
allow POST /metrics "GET, HEAD"
allow PUT /files/ "GET, HEAD"
allow GET /chunks/missing POST
allow POST "/chunks/$idA" "GET, HEAD, PUT"
allow DELETE "/chunks/$idA" "GET, HEAD, PUT"
# (/ is the web UI: tests/web/test_web_serve.sh)
for url in /nope /filesx /files.bin /chunks /healthz/x /metricsx /tagsx /searchx; do
	same "GET $url -> 404" "$(req /dev/null "$URL$url")" 404
done
same "the listing is unchanged at the end" "$(listing)" "$list0"

# ---- restart: consistent, uncommitted chunks collected -------------------------------------------
dgfsd_stop
check "dgfsd starts again" dgfsd_start || finish
check "the store is consistent after the restart" store_consistent
same "a chunk PUT but never committed is gone after the restart" \
	"$(req /dev/null "$URL/chunks/$id4")" 404
for id in "$idA" "$idZ"; do
	same "a chunk only the replaced c/x had is gone (${id:0:12})" \
		"$(req /dev/null "$URL/chunks/$id")" 404
done
code=$(req "$T/got" "$URL/chunks/$idZ2")
same "the chunk committed into c/x is still there" "$code $(cmpf "$T/got" "$T/cZ2")" "200 same"
for f in keep/over.bin:old keep/base.bin:base c/x:cZ2; do
	code=$(req "$T/got" "$URL/files/${f%%:*}")
	same "after the restart ${f%%:*} reads back" "$code $(cmpf "$T/got" "$T/${f#*:}")" "200 same"
done
same "the listing is the same after the restart" "$(listing)" "$list0"
dgfsd_stop "the restarted dgfsd stops cleanly"
finish
