#!/usr/bin/env bash
# Dedup and the userspace fast-path tier, on the host (no module):
# - the same 50 MiB uploaded twice (two paths) is stored once;
# - 1 byte inserted near the start of it re-stores at most 2 chunks;
# - `dgfs put` of a modified file uploads only the new chunks, measured in
#   bytes on the wire;
# - `dgfs get --no-fallback` reads every chunk over dgfsd's own UDP tier
#   (tokens minted by the manifest, checked by the tier), and the tier's
#   counters and its latency histogram in /metrics move; a wrong token is
#   refused;
# - dgfs ls, stat and rm print and exit as docs/CLIENT.md says.
#   tests/dgfsd/test_dedup_fastpath.sh BUILD_DIR      (as root)
# expect-checks: 57 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"
[[ -x $DGFS ]] || { fail "$DGFS is built"; finish; }

json() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }
put() { n curl -s -o "$T/put.json" -w '%{http_code}' -T "$1" "$URL/files/$2"; }

dgfsd_start || { fail "dgfsd starts"; finish; }
head -c $((50 << 20)) /dev/urandom >"$T/a"
same "upload 50 MiB" "$(put "$T/a" d/one)" 201
first_new=$(json "$T/put.json" '["new_chunks"]')
chunks=$(json "$T/put.json" '["chunks"]')
files_before=$(chunks_on_disk | wc -l)
same "upload the same 50 MiB under another path" "$(put "$T/a" d/two)" 201
same "... stores no new chunk" "$(json "$T/put.json" '["new_chunks"]')" 0
same "... and no new chunk file" "$(chunks_on_disk | wc -l)" "$files_before"
same "stored bytes: 50 MiB once" "$(metric dgfsd_stored_bytes)" $((50 << 20))
same "logical bytes: twice that" "$(metric dgfsd_logical_bytes)" $((100 << 20))
same "dedup ratio 2" "$(metric dgfsd_dedup_ratio)" 2
echo "50 MiB: $chunks chunks, first upload stored $first_new"

# 1 byte inserted at offset 1000.
{ head -c 1000 "$T/a"; printf 'Z'; tail -c +1001 "$T/a"; } >"$T/a1"
same "upload the file with 1 byte inserted" "$(put "$T/a1" d/three)" 201
new=$(json "$T/put.json" '["new_chunks"]')
check "1 byte inserted near the start re-stores at most 2 chunks ($new)" test "$new" -le 2
check "... and at least 1 (the changed one)" test "$new" -ge 1
n curl -s -o "$T/a1.out" "$URL/files/d/three"
check "the modified file reads back intact" cmp -s "$T/a1" "$T/a1.out"

# dgfs put: client-side chunking, only the missing chunks go on the wire.
head -c $((30 << 20)) /dev/urandom >"$T/b"
check "dgfs put of a new 30 MiB file" n "$DGFS" --server "$URL" -q put --stats-json \
	"$T/put1.json" "$T/b" e/b
wire1=$(json "$T/put1.json" '["wire_bytes"]')
check "its wire bytes are about the file ($wire1)" test "$wire1" -ge $((30 << 20))
{ head -c 5000 "$T/b"; printf 'Q'; tail -c +5001 "$T/b"; } >"$T/b1"
check "dgfs put of the modified file" n "$DGFS" --server "$URL" -q put --stats-json \
	"$T/put2.json" "$T/b1" e/b1
up2=$(json "$T/put2.json" '["uploaded"]')
wire2=$(json "$T/put2.json" '["wire_bytes"]')
check "dgfs put uploaded at most 2 chunks ($up2)" test "$up2" -le 2
check "dgfs put sent at most 2 max-size chunks on the wire ($wire2 bytes)" \
	test "$wire2" -le $((2 * (4 << 20) + 65536))
echo "dgfs put: new file $wire1 bytes on the wire; modified file $wire2 bytes ($up2 chunks)"
check "dgfs put of the same file again" n "$DGFS" --server "$URL" -q put --stats-json \
	"$T/put3.json" "$T/b1" e/b1copy
same "... uploads nothing" "$(json "$T/put3.json" '["wire_bytes"]')" 0

# Compressible data goes zstd-compressed and is stored as the plain bytes.
seq 1 400000 | sed 's/$/ is a line of compressible text/' >"$T/text"
check "dgfs put of compressible text" n "$DGFS" --server "$URL" -q put --stats-json \
	"$T/putz.json" "$T/text" e/text
wirez=$(json "$T/putz.json" '["wire_bytes"]')
check "it went zstd-compressed ($wirez bytes on the wire for $(stat -c %s "$T/text"))" \
	test "$wirez" -lt $(($(stat -c %s "$T/text") / 4))
n curl -s -o "$T/text.out" "$URL/files/e/text"
check "... and reads back as the plain bytes" cmp -s "$T/text" "$T/text.out"
n curl -s -o /dev/null -X DELETE "$URL/files/e/text"

# dgfs get over the userspace tier.
udp_before=$(metric dgfsd_udp_replies)
for f in e/b e/b1 d/one; do
	rm -f "$T/got"
	if n "$DGFS" --server "$URL" -q get --no-fallback --stats-json "$T/get.json" "$f" "$T/got"
	then
		case $f in e/b) src=$T/b ;; e/b1) src=$T/b1 ;; d/one) src=$T/a ;; esac
		check "dgfs get --no-fallback $f over the UDP tier, intact" cmp -s "$src" "$T/got"
		same "... no chunk by HTTP fallback" "$(json "$T/get.json" '["fallback"]')" 0
	else
		fail "dgfs get --no-fallback $f over the UDP tier"
	fi
done
check "the UDP tier's reply counter moved" test "$(metric dgfsd_udp_replies)" -gt "$udp_before"
# Every well-formed request gets a reply (data or a status): each is in
# the tier's latency histogram once, and its buckets are cumulative.
metrics=$(n curl -sf "$URL/metrics")
mval() { awk -v m="$1" '$1 == m { print $2 }' <<<"$metrics"; }
same "the UDP tier's latency histogram counted every request" \
	"$(mval dgfsd_udp_request_duration_seconds_count)" "$(mval dgfsd_udp_requests)"
same "... its +Inf bucket is its count" \
	"$(mval 'dgfsd_udp_request_duration_seconds_bucket{le="+Inf"}')" \
	"$(mval dgfsd_udp_request_duration_seconds_count)"
check "... 26 buckets, never falling" awk '
	/^dgfsd_udp_request_duration_seconds_bucket/ { n++; if ($2 < last) bad = 1; last = $2 }
	END { exit !(n == 26 && !bad) }' <<<"$metrics"
check "... a positive sum" awk '$1 == "dgfsd_udp_request_duration_seconds_sum" { ok = $2 > 0 }
	END { exit !ok }' <<<"$metrics"
same "/metrics says dgfsd serves the fast path" "$(metric dgfsd_fastpath_kernel)" 0

# The fast path unreachable (a port nobody serves): dgfs get falls back to
# HTTP for every chunk, and with --no-fallback it fails instead.
rm -f "$T/got"
if n "$DGFS" --server "$URL" --fast-port 9 -q get --timeout 100 --retries 2 \
	--stats-json "$T/fb.json" e/b "$T/got" && cmp -s "$T/b" "$T/got"; then
	pass "dgfs get with the fast path unreachable falls back to HTTP, intact"
	same "... every chunk came by HTTP" "$(json "$T/fb.json" '["fallback"]')" \
		"$(json "$T/fb.json" '["chunks"]')"
else
	fail "dgfs get with the fast path unreachable falls back to HTTP, intact"
fi
refuse "... and with --no-fallback it fails (timeout, exit 8)" 8 "." \
	n "$DGFS" --server "$URL" --fast-port 9 -q get --no-fallback --timeout 100 --retries 2 \
	e/b "$T/got2"
check "... leaving no output file" test ! -e "$T/got2"

# A token for another key is refused by the tier.
id=$(n curl -s "$URL/files/e/b?manifest" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chunks"][0]["id"])')
rej=$(metric dgfsd_udp_token_rejected)
refuse "a token under another key is refused (ACCES)" 3 "ACCES|token|refused" \
	n "$DGFS" fetch --key 0f0e0d0c0b0a09080706050403020100 -o "$T/x" 127.0.0.1 "$id"
check "... and counted" test "$(metric dgfsd_udp_token_rejected)" -gt "$rej"
key=$(cat "$STATE/auth.key")
check "the host's own key reads the chunk" n "$DGFS" fetch --key "$key" -o "$T/x" 127.0.0.1 "$id"
check "auth.key is mode 0600" test "$(stat -c %a "$STATE/auth.key")" = 600

# dgfs ls, stat, rm (docs/CLIENT.md): what they print, what they exit with.
D() { n "$DGFS" --server "$URL" "$@"; }
same "dgfs ls d/ lists the three files, in order" \
	"$(D ls d/ | awk '{ print $1, $3 }')" \
	"$((50 << 20)) d/one
$(stat -c %s "$T/a1") d/three
$((50 << 20)) d/two"
same "dgfs ls --json: a JSON array of three, with etags" \
	"$(D ls --json d/ | python3 -c 'import json, sys; x = json.load(sys.stdin); print(len(x), all(len(f["etag"]) == 64 for f in x))')" \
	"3 True"
same "dgfs ls of a prefix nothing has prints nothing" "$(D ls zz/)" ""
st=$(D stat d/one)
same "dgfs stat: path, size" "$(awk '$1 == "path:" || $1 == "size:" { print $2 }' <<<"$st" | paste -sd' ')" \
	"d/one $((50 << 20))"
same "dgfs stat: chunks as in the upload's answer" "$(awk '$1 == "chunks:" { print $2 }' <<<"$st")" "$chunks"
same "dgfs stat --json: size" "$(D stat --json d/one | python3 -c 'import json, sys; print(json.load(sys.stdin)["size"])')" \
	$((50 << 20))
refuse "dgfs stat of a missing file: exit 11" 11 "." D stat d/missing
refuse "dgfs rm of a missing file: exit 11" 11 "." D rm d/missing
check "dgfs rm -f of a missing file: exit 0" D rm -f d/missing
D rm d/missing2 d/two && rc=0 || rc=$?
same "dgfs rm tries every operand: exit 11 for the missing one" "$rc" 11
same "... and removed the one that was there" "$(D ls d/ | awk '{ print $3 }' | paste -sd' ')" "d/one d/three"

# Deleting every reference removes the chunks.
for f in d/one d/three e/b e/b1 e/b1copy; do
	n curl -s -o /dev/null -X DELETE "$URL/files/$f"
done
same "after deleting every file no chunk file is left" "$(chunks_on_disk | wc -l)" 0
same "stored bytes 0" "$(metric dgfsd_stored_bytes)" 0
dgfsd_stop
check "store consistent" store_consistent
finish
