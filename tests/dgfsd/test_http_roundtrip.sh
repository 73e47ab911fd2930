#!/usr/bin/env bash
# dgfsd's HTTP API (docs/HTTP.md) with real clients: files of 0 B, 1 B,
# 4095 B, 1 MiB, 5 MiB+17, 64 MiB and 200 MiB uploaded with curl -T and
# downloaded with curl, wget, wget -c (resuming a partial download) and
# aria2c (8 parallel ranges), every download compared with the original
# (cmp, or sha256sum); single ranges (within a chunk, across chunk boundaries, last
# byte, suffix, open-ended) against slices of the original, 416 and
# multi-range answers; HEAD headers, ETag = SHA-256, If-None-Match;
# Content-Type guessed (PNG) and given; overwrite; DELETE; listing with
# prefix and paging; manifests (chunks contiguous, ids = SHA-256 of their
# bytes, tokens); GET /chunks/{id}; dedup of a copy; persistence over a
# restart; and at the end an empty, consistent store once all is deleted.
#   tests/dgfsd/test_http_roundtrip.sh BUILD_DIR      (as root)
# expect-checks: 202 (at least: how many depends on the data) (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"

# ---- helpers -----------------------------------------------------------------
sha() { sha256sum "$1" | cut -c1-64; }
# cmpf A B: "same" if the files' bytes are equal (cmp: cheaper than hashing
# 200 MiB again; the originals' SHA-256 are the ETags checked elsewhere).
cmpf() { cmp -s "$1" "$2" && echo same || echo differs; }
fsize() { stat -c %s "$1"; }
# req OUT CURL_ARGS...: curl in the namespace; body to OUT, headers to
# $T/hdrs; prints the status code (000 when there was no answer).
req() {
	local out=$1
	shift
	# curl writes no file for an empty body: start from an empty one.
	[[ $out == /dev/null ]] || : >"$out"
	n curl -sS -m 120 -g --path-as-is -o "$out" -D "$T/hdrs" -w '%{http_code}' "$@"
}
chunk_count() { find "$STATE/chunks" -maxdepth 1 -type f | wc -l; }
# metric_sum PATTERN: the sum of the /metrics samples whose name matches.
metric_sum() {
	n curl -sf -m 30 "$URL/metrics" | awk -v m="$1" 'index($1, m) == 1 { s += $2 } END { print s + 0 }'
}

check "dgfsd starts" dgfsd_start || finish

# ---- the files -----------------------------------------------------------------
NAMES=(f0 f1 f4095 f1m f5m f64m f200m)
declare -A SIZE=([f0]=0 [f1]=1 [f4095]=4095 [f1m]=1048576 [f5m]=$((5 * 1048576 + 17))
	[f64m]=$((64 << 20)) [f200m]=$((200 << 20)))
declare -A SHA
mkdir -p "$T/src" "$T/dl"
# Random bytes after a fixed start that no magic matches: random bytes alone
# look like something to libmagic about once in 100 (MZ: a DOS program).
for f in "${NAMES[@]}"; do
	{ printf '\x9edgfs\x9e\x01\x02'; head -c "${SIZE[$f]}" /dev/urandom; } |
		head -c "${SIZE[$f]}" >"$T/src/$f"
	SHA[$f]=$(sha "$T/src/$f")
done
u() { echo "$URL/files/rt/$1.bin"; }

# ---- upload with curl -T ------------------------------------------------------
for f in "${NAMES[@]}"; do
	code=$(req "$T/put.json" -T "$T/src/$f" "$(u "$f")")
	same "PUT $f (${SIZE[$f]} B) -> 201" "$code" 201
	same "PUT $f answer has size and etag" \
		"$(jget "$T/put.json" '"%s %s %s" % (j["path"], j["size"], j["etag"])')" \
		"rt/$f.bin ${SIZE[$f]} ${SHA[$f]}"
done
same "metric dgfsd_files" "$(metric dgfsd_files)" "${#NAMES[@]}"

# ---- downloads: curl, wget, wget -c, aria2c ---------------------------------------
for f in "${NAMES[@]}"; do
	rm -f "$T/dl/c"
	code=$(req "$T/dl/c" "$(u "$f")")
	same "curl GET $f: 200, same bytes" "$code $(cmpf "$T/dl/c" "$T/src/$f")" "200 same"
	same "curl GET $f: Content-Length" "$(hdr Content-Length)" "${SIZE[$f]}"
	rm -f "$T/dl/w"
	n wget -t 1 -T 60 -q -O "$T/dl/w" "$(u "$f")" && rc=0 || rc=$?
	same "wget $f: exit 0, same bytes" "$rc $(cmpf "$T/dl/w" "$T/src/$f")" "0 same"
done

# wget -c: a prefix fetched with curl -r (or a whole download cut short with
# truncate) is completed with a Range request (206 in wget's log).
resume() {
	local f=$1 how=$2 keep=$3 dir=$T/dl/wc rc
	rm -rf "$dir" && mkdir -p "$dir"
	if [[ $how == range ]]; then
		req "$dir/$f.bin" -r "0-$((keep - 1))" "$(u "$f")" >/dev/null
	else
		req "$dir/$f.bin" "$(u "$f")" >/dev/null
		truncate -s "$keep" "$dir/$f.bin"
	fi
	same "wget -c $f: the partial file has $keep bytes ($how)" "$(fsize "$dir/$f.bin")" "$keep"
	n wget -t 1 -T 60 -c -nv -S -P "$dir" "$(u "$f")" >"$T/wget.log" 2>&1 && rc=0 || rc=$?
	same "wget -c $f: exit 0, resumed file has the same SHA-256" \
		"$rc $(sha "$dir/$f.bin")" "0 ${SHA[$f]}"
	check "wget -c $f: the server answered the resume with 206" \
		grep -q 'HTTP/1.1 206' "$T/wget.log"
}
resume f4095 range 1000
resume f1m truncate 524289
resume f5m range $((3 * 1048576 + 5))
resume f64m truncate $((20 * 1048576 + 3))
resume f200m range $((150 * 1048576 + 1))

for f in f64m f200m; do
	before=$(metric_sum 'dgfsd_http_requests_total{method="GET",code="206"}')
	rm -f "$T/dl/a"
	n aria2c --timeout=60 --max-tries=1 -q -x8 -s8 -k1M --file-allocation=none --allow-overwrite=true \
		--auto-file-renaming=false -d "$T/dl" -o a "$(u "$f")" && rc=0 || rc=$?
	same "aria2c -x8 -s8 -k1M $f: exit 0, same SHA-256" "$rc $(sha "$T/dl/a")" "0 ${SHA[$f]}"
	after=$(metric_sum 'dgfsd_http_requests_total{method="GET",code="206"}')
	check "aria2c $f: fetched in several ranges (206 answers: $((after - before)))" \
		test $((after - before)) -ge 2
done

# ---- manifests -------------------------------------------------------------------------
# manifest_ok F: the checks on F's manifest; prints "ok" or what is wrong,
# then a line with the chunks' offsets.
manifest_ok() {
	python3 - "$T/m.json" "$T/src/$1" "rt/$1.bin" "${SHA[$1]}" <<'EOF'
import hashlib, json, re, sys
m = json.load(open(sys.argv[1]))
data = open(sys.argv[2], "rb").read()
bad = []
if (m.get("path"), m.get("size"), m.get("etag")) != (sys.argv[3], len(data), sys.argv[4]):
    bad.append("path/size/etag %r" % ((m.get("path"), m.get("size"), m.get("etag")),))
fp = m.get("fastpath") or {}
if fp.get("host") != "127.0.0.1" or not isinstance(fp.get("port"), int) or not 0 < fp["port"] < 65536:
    bad.append("fastpath %r" % (fp,))
off = 0
chunks = m.get("chunks", [])
for i, c in enumerate(chunks):
    if c["offset"] != off:
        bad.append("chunk %d offset %d, want %d" % (i, c["offset"], off))
    if not 0 < c["size"] <= 4 << 20 or (i < len(chunks) - 1 and c["size"] < 256 << 10):
        bad.append("chunk %d size %d" % (i, c["size"]))
    if hashlib.sha256(data[c["offset"]:c["offset"] + c["size"]]).hexdigest() != c["id"]:
        bad.append("chunk %d id is not the SHA-256 of its bytes" % i)
    if not re.fullmatch(r"[0-9a-f]{16}", c["token"]):
        bad.append("chunk %d token %r" % (i, c["token"]))
    off += c["size"]
if off != len(data):
    bad.append("chunk sizes sum to %d, not %d" % (off, len(data)))
print("; ".join(bad) or "ok")
print(" ".join(str(c["offset"]) for c in chunks))
EOF
}
declare -A NCHUNKS BOUND
for f in "${NAMES[@]}"; do
	code=$(req "$T/m.json" "$(u "$f")?manifest")
	same "GET $f?manifest -> 200 JSON" "$code $(hdr Content-Type)" "200 application/json"
	{ read -r verdict; read -r BOUND[$f]; } < <(manifest_ok "$f")
	same "manifest $f: size, etag, chunks contiguous, ids = SHA-256, tokens" "$verdict" ok
	# Chunk offsets, for ranges across boundaries.
	read -ra offs <<<"${BOUND[$f]}"
	NCHUNKS[$f]=${#offs[@]}
	[[ $f == f5m ]] && cp "$T/m.json" "$T/m5.json"
done
check "the 5 MiB file has several chunks (${NCHUNKS[f5m]})" test "${NCHUNKS[f5m]}" -ge 2
same "the empty file has no chunks" "${NCHUNKS[f0]}" 0

# GET /chunks/{id}: the bytes hash to the id.
while read -r id size; do
	code=$(req "$T/dl/chunk" "$URL/chunks/$id")
	same "GET /chunks/${id:0:12}..: 200, SHA-256 = id, $size bytes" \
		"$code $(sha "$T/dl/chunk") $(fsize "$T/dl/chunk")" "200 $id $size"
done < <(jget "$T/m5.json" '"\n".join(c["id"] + " " + str(c["size"]) for c in j["chunks"])')
id=$(jget "$T/m5.json" 'j["chunks"][0]["id"]')
code=$(req "$T/dl/chunk" "$URL/chunks/${id^^}")
same "GET /chunks/{ID in upper case}" "$code $(sha "$T/dl/chunk")" "200 $id"
code=$(req "$T/dl/chunk" -I "$URL/chunks/$id")
same "HEAD /chunks/{id}: Content-Length" "$code $(hdr Content-Length)" \
	"200 $(jget "$T/m5.json" 'j["chunks"][0]["size"]')"
code=$(req /dev/null "$URL/chunks/$(printf '%064d' 0)")
same "GET /chunks/{unknown id} -> 404" "$code" 404

# ---- ranges ----------------------------------------------------------------------------
# range F SPEC FIRST LAST: curl -r SPEC gives 206, Content-Range and bytes
# FIRST..LAST of the original (a dd slice of it).
range() {
	local f=$1 spec=$2 a=$3 b=$4 code
	code=$(req "$T/dl/r" -r "$spec" "$(u "$f")")
	dd if="$T/src/$f" of="$T/dl/slice" bs=64K iflag=skip_bytes,count_bytes \
		skip="$a" count=$((b - a + 1)) status=none
	same "range $f $spec: 206, Content-Range, bytes $a-$b" \
		"$code|$(hdr Content-Range)|$(fsize "$T/dl/r")|$(cmpf "$T/dl/r" "$T/dl/slice")" \
		"206|bytes $a-$b/${SIZE[$f]}|$((b - a + 1))|same"
}
for f in "${NAMES[@]}"; do
	s=${SIZE[$f]}
	if ((s == 0)); then
		code=$(req "$T/dl/r" -r 0- "$(u f0)")
		same "range f0 0-: 416 bytes */0" "$code $(hdr Content-Range)" "416 bytes */0"
		code=$(req "$T/dl/r" -r -5 "$(u f0)")
		same "range f0 -5: 416 bytes */0" "$code $(hdr Content-Range)" "416 bytes */0"
		continue
	fi
	range "$f" 0-0 0 0
	range "$f" 0-99 0 $((s > 100 ? 99 : s - 1))
	range "$f" "$((s - 1))-$((s - 1))" $((s - 1)) $((s - 1))
	range "$f" -100 $((s > 100 ? s - 100 : 0)) $((s - 1))
	range "$f" "$((s / 2))-" $((s / 2)) $((s - 1))
	((s <= 64 << 20)) && range "$f" "-$((s + 10))" 0 $((s - 1))
	range "$f" "$((s > 10 ? s - 10 : 0))-$((s + 1000))" $((s > 10 ? s - 10 : 0)) $((s - 1))
	read -ra offs <<<"${BOUND[$f]}"
	if ((${#offs[@]} >= 2)); then
		b=${offs[1]}
		range "$f" "$((b - 4096))-$((b + 4095))" $((b - 4096)) $((b + 4095)) # across a boundary
		range "$f" "$((b + 10))-$((b + 20000))" $((b + 10)) $((b + 20000)) # inside a chunk
		range "$f" "$((b - 1))-$((b - 1))" $((b - 1)) $((b - 1))           # a chunk's last byte
		range "$f" "$b-$b" "$b" "$b"                                       # the next's first
	fi
	if ((${#offs[@]} >= 4)); then
		range "$f" "$((offs[1] + 1))-$((offs[3] + 5))" $((offs[1] + 1)) $((offs[3] + 5))
	fi
	code=$(req "$T/dl/r" -r "$s-" "$(u "$f")")
	same "range $f $s- (start = size): 416, bytes */$s" "$code $(hdr Content-Range)" "416 bytes */$s"
	code=$(req "$T/dl/r" -r "$((s + 100))-$((s + 200))" "$(u "$f")")
	same "range $f past the end: 416, bytes */$s" "$code $(hdr Content-Range)" "416 bytes */$s"
	if ((s >= 8 && s <= 64 << 20)); then
		code=$(req "$T/dl/r" -r 0-1,5-6 "$(u "$f")")
		same "range $f 0-1,5-6 (multi-range): 200, whole file" \
			"$code $(cmpf "$T/dl/r" "$T/src/$f") $(hdr Content-Range)" "200 same "
		code=$(req "$T/dl/r" -H 'Range: bytes=7-3' "$(u "$f")")
		same "range $f bytes=7-3 (malformed): 200, whole file" \
			"$code $(cmpf "$T/dl/r" "$T/src/$f")" "200 same"
	fi
done
range f200m "$((50 << 20))-$((150 << 20))" $((50 << 20)) $((150 << 20))

# ---- HEAD and conditional GETs ----------------------------------------------------------
date_re='^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$'
now=$(date +%s)
for f in "${NAMES[@]}"; do
	code=$(req "$T/dl/h" -I "$(u "$f")")
	same "HEAD $f: 200, Content-Length, ETag = SHA-256, Accept-Ranges" \
		"$code|$(hdr Content-Length)|$(hdr ETag)|$(hdr Accept-Ranges)" \
		"200|${SIZE[$f]}|\"${SHA[$f]}\"|bytes"
	lm=$(hdr Last-Modified)
	lm_s=$(date -d "$lm" +%s 2>/dev/null || echo 0)
	check "HEAD $f: Last-Modified '$lm' is an HTTP date within 10 min of now" \
		eval '[[ $lm =~ $date_re ]] && ((lm_s <= now + 5 && lm_s > now - 600))'
	code=$(req "$T/dl/h" -H "If-None-Match: \"${SHA[$f]}\"" "$(u "$f")")
	same "GET $f If-None-Match: its ETag -> 304, no body, ETag" \
		"$code $(fsize "$T/dl/h") $(hdr ETag)" "304 0 \"${SHA[$f]}\""
done
code=$(req "$T/dl/h" -H "If-None-Match: \"$(printf '%064d' 0)\"" "$(u f5m)")
same "If-None-Match: another ETag -> 200, whole file" "$code $(cmpf "$T/dl/h" "$T/src/f5m")" "200 same"
code=$(req "$T/dl/h" -H 'If-None-Match: *' "$(u f5m)")
same "If-None-Match: * -> 304" "$code" 304
code=$(req "$T/dl/h" -H "If-None-Match: \"abc\", W/\"${SHA[f5m]}\"" "$(u f5m)")
same "If-None-Match: a list with the weak ETag -> 304" "$code" 304
code=$(req "$T/dl/h" -I "$URL/files/rt/none.bin")
same "HEAD of a missing file -> 404" "$code" 404

# ---- Content-Type ---------------------------------------------------------------------------
python3 - "$T/src/tiny.png" <<'EOF'
import struct, sys, zlib
def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
raw = b"".join(b"\0" + b"\xff\x00\x00" * 4 for _ in range(4))
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
open(sys.argv[1], "wb").write(png)
EOF
code=$(req /dev/null -T "$T/src/tiny.png" "$URL/files/ct/tiny.png")
same "PUT a PNG without Content-Type -> 201" "$code" 201
code=$(req "$T/dl/png" "$URL/files/ct/tiny.png")
same "the PNG is served as image/png" "$code $(hdr Content-Type) $(sha "$T/dl/png")" \
	"200 image/png $(sha "$T/src/tiny.png")"
code=$(req /dev/null -T "$T/src/f4095" -H 'Content-Type: text/x-foo' "$URL/files/ct/foo")
same "PUT with Content-Type: text/x-foo -> 201" "$code" 201
code=$(req "$T/dl/foo" "$URL/files/ct/foo")
same "it is served back as text/x-foo" "$code $(hdr Content-Type)" "200 text/x-foo"
req /dev/null -I "$(u f1m)" >/dev/null
same "random bytes are application/octet-stream" "$(hdr Content-Type)" application/octet-stream
code=$(req "$T/l.json" "$URL/files/?prefix=ct/")
same "the listing has both content types" \
	"$code $(jget "$T/l.json" '" ".join(f["path"] + "=" + f["content_type"] for f in j["files"])')" \
	"200 ct/foo=text/x-foo ct/tiny.png=image/png"

# ---- overwrite and DELETE -----------------------------------------------------------------------
printf 'first version\n' >"$T/src/v1"
printf 'the second version, longer\n' >"$T/src/v2"
code=$(req /dev/null -T "$T/src/v1" "$URL/files/ow/file.txt")
same "PUT ow/file.txt -> 201" "$code" 201
code=$(req "$T/ow.json" -T "$T/src/v2" "$URL/files/ow/file.txt")
same "PUT ow/file.txt again, other bytes -> 200 (replaced)" "$code" 200
code=$(req "$T/dl/ow" "$URL/files/ow/file.txt")
same "GET serves the new version" "$code $(sha "$T/dl/ow") $(hdr ETag)" \
	"200 $(sha "$T/src/v2") \"$(sha "$T/src/v2")\""
code=$(req "$T/dl/ow" -H "If-None-Match: \"$(sha "$T/src/v1")\"" "$URL/files/ow/file.txt")
same "the old ETag no longer gives 304" "$code $(sha "$T/dl/ow")" "200 $(sha "$T/src/v2")"
code=$(req "$T/dl/ow" -H "If-None-Match: \"$(sha "$T/src/v2")\"" "$URL/files/ow/file.txt")
same "the new ETag gives 304" "$code" 304
code=$(req /dev/null -X DELETE "$URL/files/ow/file.txt")
same "DELETE ow/file.txt -> 204" "$code" 204
code=$(req /dev/null "$URL/files/ow/file.txt")
same "GET after DELETE -> 404" "$code" 404
code=$(req /dev/null -X DELETE "$URL/files/ow/file.txt")
same "DELETE again -> 404" "$code" 404

# ---- dedup: a copy stores nothing new; deleting it keeps the chunks --------------------------
nc0=$(chunk_count)
code=$(req "$T/cp.json" -T "$T/src/f64m" "$URL/files/rt/copy.bin")
same "PUT a copy of the 64 MiB file: 201, new_chunks 0, new_bytes 0" \
	"$code $(jget "$T/cp.json" '"%s %s" % (j["new_chunks"], j["new_bytes"])')" "201 0 0"
same "the copy added no chunk file" "$(chunk_count)" "$nc0"
code=$(req /dev/null -X DELETE "$URL/files/rt/copy.bin")
same "DELETE the copy -> 204" "$code" 204
same "the shared chunks are still there" "$(chunk_count)" "$nc0"
code=$(req "$T/dl/c" "$(u f64m)")
same "the original still reads back" "$code $(cmpf "$T/dl/c" "$T/src/f64m")" "200 same"

# ---- listing: prefix, paging, byte order ----------------------------------------------------------
# 30 files; 20 under "p/" (URL-encoded where needed), 10 around it.
LIST_UNDER=(p/0 p/1 p/10 p/2 p/A p/Z p/_u p/a p/aa p/b p/c p/z p/-dash p/.hidden
	p/sub/x p/sub/y p/sub/zz/deep 'p/x%20y' 'p/%C3%A9' 'p/%7Et')
LIST_OTHER=(p pa p0 p- P/x q/1 q/2 o/z pp/x r)
printf 'x' >"$T/src/tiny"
nput=0
for p in "${LIST_UNDER[@]}" "${LIST_OTHER[@]}"; do
	code=$(req /dev/null -T "$T/src/tiny" "$URL/files/$p")
	[[ $code == 201 ]] && nput=$((nput + 1)) || echo "  PUT /files/$p -> $code, want 201"
done
same "30 files for the listing uploaded, each 201" "$nput" 30
# The expected paths, decoded, in byte order.
expect=$(printf '%s\n' "${LIST_UNDER[@]}" | python3 -c '
import sys, urllib.parse
ps = [urllib.parse.unquote_to_bytes(l.strip()) for l in sys.stdin]
sys.stdout.buffer.write(b"".join(p + b"\n" for p in sorted(ps)))')
: >"$T/listed"
after='' pages=0 pages_ok=1
while ((pages < 10)); do
	args=(-G --data-urlencode prefix=p/ --data-urlencode limit=7)
	[[ -n $after ]] && args+=(--data-urlencode "after=$after")
	code=$(req "$T/page.json" "${args[@]}" "$URL/files/")
	pages=$((pages + 1))
	[[ $code == 200 ]] || { pages_ok=0; break; }
	# Line 1: count, line 2: next (or empty), line 3: the last path, then the paths.
	jget "$T/page.json" '"\n".join([str(len(j["files"])), j["next"] or "",
		j["files"][-1]["path"] if j["files"] else ""] + [f["path"] for f in j["files"]])' \
		>"$T/page.txt"
	{ read -r cnt; read -r after; read -r last; } <"$T/page.txt"
	tail -n +4 "$T/page.txt" >>"$T/listed"
	((cnt <= 7)) || pages_ok=0
	[[ -n $after ]] || break
	[[ $after == "$last" ]] || pages_ok=0 # next is the page's last path
done
same "listing pages: 200, at most 7 each, next = last path, ends with null" "$pages_ok" 1
check "listing p/ took 3 or 4 pages ($pages)" test "$pages" -ge 3 -a "$pages" -le 4
same "paging prefix=p/&limit=7 gives every file under p/ once, in byte order" \
	"$(cat "$T/listed")" "$expect"
code=$(req "$T/l.json" -G --data-urlencode prefix=p "$URL/files/")
want=$(printf '%s\n' "${LIST_UNDER[@]}" p pa p0 p- pp/x | python3 -c '
import sys, urllib.parse
ps = [urllib.parse.unquote_to_bytes(l.strip()) for l in sys.stdin]
sys.stdout.buffer.write(b"\n".join(sorted(ps)))')
same "prefix=p (no slash): exactly the 25 paths starting with p, in byte order" \
	"$code $(jget "$T/l.json" '"\n".join(f["path"] for f in j["files"])') $(jget "$T/l.json" 'j["next"]')" \
	"200 $want null"
code=$(req "$T/l.json" "$URL/files/?prefix=rt/")
same "listing rt/: sizes and etags" \
	"$code $(jget "$T/l.json" '" ".join("%s:%s:%s" % (f["path"], f["size"], f["etag"]) for f in j["files"])')" \
	"200 $(for f in "${NAMES[@]}"; do printf '%s\n' "rt/$f.bin:${SIZE[$f]}:${SHA[$f]}"; done | LC_ALL=C sort | paste -sd' ')"
code=$(req "$T/l.json" "$URL/files/?prefix=nothing/")
same "listing an unused prefix: empty, next null" "$code $(jget "$T/l.json" 'j')" \
	'200 {"files": [], "next": null}'

# ---- connections: kept alive between requests ---------------------------------------------------
# curl says per URL whether it opened a connection for it (num_connects).
conns=$(n curl -sS -m 30 -o /dev/null -o /dev/null -o /dev/null -w '%{http_code}:%{num_connects} ' \
	"$URL/healthz" "$(u f5m)" "$URL/files/?prefix=rt/")
same "three GETs on one connection (keep-alive): each answered, only the first connects" \
	"$conns" "200:1 200:0 200:0 "
# A refused request with a body is answered before the body and closed:
# MHD cannot tell where the unread body ends.
conns=$(n curl -sS -m 30 -o /dev/null -o /dev/null -w '%{http_code}:%{num_connects} ' \
	-T "$T/src/tiny" "$URL/healthz" "$URL/healthz")
same "a refused upload (PUT /healthz, 405) closes its connection; the next request connects anew" \
	"$conns" "405:1 200:1 "

# ---- restart: stored files persist ---------------------------------------------------------------
dgfsd_stop "dgfsd exits 0 on SIGTERM"
check "the store is consistent after a clean stop" store_consistent
check "dgfsd starts again" dgfsd_start || finish
for f in f5m f200m; do
	code=$(req "$T/dl/c" "$(u "$f")")
	same "after the restart, $f reads back" "$code $(cmpf "$T/dl/c" "$T/src/$f")" "200 same"
done

# ---- delete everything: nothing left -----------------------------------------------------------
all=$(n curl -sf -m 30 "$URL/files/?limit=10000" | python3 -c '
import json, sys, urllib.parse
for f in json.load(sys.stdin)["files"]:
    print(urllib.parse.quote(f["path"], safe="/"))')
ndel=0
while read -r p; do
	code=$(req /dev/null -X DELETE "$URL/files/$p")
	[[ $code == 204 ]] && ndel=$((ndel + 1)) || fail "DELETE /files/$p -> $code"
done <<<"$all"
same "every file deleted with 204" "$ndel" $((${#NAMES[@]} + 2 + 30))
code=$(req "$T/l.json" "$URL/files/")
same "the listing is empty" "$code $(jget "$T/l.json" 'len(j["files"])')" "200 0"
same "the chunks directory is empty" "$(chunk_count)" 0
same "metric dgfsd_chunks is 0" "$(metric dgfsd_chunks)" 0
dgfsd_stop "dgfsd exits 0 on SIGTERM (again)"
check "the store is consistent at the end" store_consistent
same "the chunks directory is still empty" "$(find "$STATE/chunks" -mindepth 1 | wc -l)" 0
finish
