#!/usr/bin/env bash
# dgfs's web UI in Debian's headless Chromium (driven by playwright-core
# from build/web-npm: tests/web/webui.mjs), against dgfsd in a network
# namespace of its own, serving build/web next to its binary: sign in,
# upload by a drop with progress, see the files listed and paged, a file's
# page with preview and download; then the tag, search and graph views
# (they need dgfsd's /files/{path}?tags, ?related, /tags, /search and
# /graph: without them those checks fail). The graph's screenshot is kept
# as build/webui-graph.png.
#   tests/web/test_webui.sh BUILD_DIR      (as root)
#   WEBUI_PHASE=base ...   only what needs no tag, search or graph route
# expect-checks: 44
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"

NPM_DIR=$(realpath -m "$BUILD/web-npm")
check "the web UI is built ($BUILD/web/index.html, make web)" test -f "$BUILD/web/index.html" ||
	finish
check "playwright-core is installed ($NPM_DIR, make web)" \
	test -f "$NPM_DIR/node_modules/playwright-core/package.json" || finish
check "Debian's chromium is there (make deps)" test -x /usr/bin/chromium || finish

F=$T/files
mkdir -p "$F"
printf 'Notes from the dgfs web UI test %s.\nA second line, with ünïcödé.\n' "$$" >"$F/notes.txt"
head -c $((3 << 20)) /dev/urandom >"$F/big.bin"
# A PNG of a size the preview must show (a plain RGB image, zlib-packed).
PIC_W=37
python3 - "$F/pic.png" "$PIC_W" 23 <<'PY'
import struct, sys, zlib
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
rows = b''.join(b'\0' + bytes(v for x in range(w) for v in (x * 7 % 256, y * 11 % 256, 128))
                for y in range(h))
png = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) +
       chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))
open(path, 'wb').write(png)
PY

check "dgfsd starts (the web UI from next to its binary)" dgfsd_start || finish
ok=1
for i in $(seq -w 0 104); do
	n curl -sf -o /dev/null -T - "$URL/files/many/f$i" <<<"$i" || ok=0
done
check "105 files stored under many/ for paging" test $ok = 1

SHOT=$BUILD/webui-graph.png
rm -f "$SHOT"
read -r KEY <"$STATE/admin.key"
ip netns exec "$NS" env URL="$URL" KEY="$KEY" FILES="$F" PIC_W="$PIC_W" NPM_DIR="$NPM_DIR" \
	SHOT="$SHOT" PHASE="${WEBUI_PHASE:-all}" HOME="$HOME" \
	node tests/web/webui.mjs >"$T/driver.log" 2>&1
rc=$?
cat "$T/driver.log"
grep -q '^FAIL: ' "$T/driver.log" && DGFS_FAILED=1
[[ $rc == 0 ]] || grep -q '^FAIL: ' "$T/driver.log" || fail "the browser driver exited $rc"

# What the browser uploaded is what dgfsd stored, byte for byte.
for f in notes.txt big.bin pic.png; do
	n curl -sf -o "$T/got" "$URL/files/up/$f"
	check "dgfsd has up/$f as the browser sent it" cmp -s "$F/$f" "$T/got"
done
same "pic.png stored as image/png (the dropped File's type)" \
	"$(n curl -sf -o /dev/null -w '%{content_type}' "$URL/files/up/pic.png")" image/png
if [[ ${WEBUI_PHASE:-all} != base ]]; then
	check "the graph's screenshot is saved ($SHOT)" test -s "$SHOT"
fi
dgfsd_stop
finish
