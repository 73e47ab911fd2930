#!/usr/bin/env bash
# dgfs get's output (docs/CLIENT.md, "get"): LOCAL "-" writes the verified
# file to stdout (and nothing when it fails verification); the temporary
# file beside LOCAL is made exclusively (a link planted at a guessable
# name is never followed), gets the mode a new file would, and is removed
# when the download fails.
#   tests/dgfsd/test_client_get.sh BUILD_DIR      (as root)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"
get() { n "$DGFS" --server "$URL" get "$@"; }

check "dgfsd starts" dgfsd_start || finish
head -c $((3 << 20)) /dev/urandom >"$T/f"
check "dgfs put of a 3 MiB file" n "$DGFS" --server "$URL" put -q "$T/f" g/f
WANT=$(sha256sum <"$T/f")

# ---- to stdout ------------------------------------------------------------------------
get g/f - >"$T/stdout" 2>"$T/stderr" && rc=0 || rc=$?
same "dgfs get g/f - exits 0" "$rc" 0
same "... stdout is the file" "$(sha256sum <"$T/stdout")" "$WANT"
check "... its report went to stderr" grep -q '^get g/f: 3145728 bytes' "$T/stderr"
get --http-only g/f - >"$T/stdout" 2>/dev/null && rc=0 || rc=$?
same "dgfs get --http-only g/f - : exit 0, the file" "$rc $(sha256sum <"$T/stdout")" "0 $WANT"
get g/nosuch - >"$T/stdout" 2>/dev/null && rc=0 || rc=$?
same "dgfs get of a missing file to - : exit 11, nothing on stdout" "$rc $(stat -c %s "$T/stdout")" "11 0"

# ---- the temporary file is made exclusively ---------------------------------------------
umask 022
mkdir -p "$T/out"
echo precious >"$T/victim"
# The old name was LOCAL.tmp: a link there pointed the download anywhere.
ln -s "$T/victim" "$T/out/f.tmp"
check "dgfs get g/f with a link planted at out/f.tmp" get -q g/f "$T/out/f"
same "... out/f is the file" "$(sha256sum <"$T/out/f")" "$WANT"
same "... out/f is a regular file, not the link" "$(stat -c %F "$T/out/f")" "regular file"
same "... the link's target is untouched" "$(cat "$T/victim")" precious
same "... out/ holds out/f and the planted link only" "$(ls -A "$T/out" | tr '\n' ' ')" "f f.tmp "
same "... out/f has the mode a new file gets under umask 022" \
	"$(stat -c %a "$T/out/f")" 644

# ---- the UDP tier with --udp-steer cpu ---------------------------------------------------
# Its workers' sockets steered by bpf/reuseport_steer.bpf.c (loaded while
# dgfsd is root): every chunk over the fast path alone, byte-exact.
dgfsd_stop "dgfsd stops cleanly before the restart"
check "dgfsd starts with --udp-steer cpu --udp-threads 2" \
	dgfsd_start --kmod off --udp-steer cpu --udp-threads 2 || finish
get --no-fallback g/f - >"$T/stdout" 2>"$T/stderr" && rc=0 || rc=$?
same "... dgfs get --no-fallback g/f - : exit 0, the file, over the fast path alone" \
	"$rc $(sha256sum <"$T/stdout")" "0 $WANT"
check "... none of it via HTTP" grep -q '0 via HTTP fallback' "$T/stderr"

# ---- a failed download leaves nothing ---------------------------------------------------
# One chunk file of g/f corrupted on the host: its SHA-256 no longer
# matches, whichever way the client fetches it.
chunk=$(sqlite3 "file:$STATE/meta.db?mode=ro" "SELECT lower(hex(id)) FROM chunks LIMIT 1")
size=$(stat -c %s "$STATE/chunks/$chunk")
head -c "$size" /dev/urandom >"$T/junk" && cat "$T/junk" >"$STATE/chunks/$chunk"
rm -f "$T/out/f.tmp"
get -q --http-only g/f "$T/out/g" 2>"$T/stderr" && rc=0 || rc=$?
same "dgfs get of a file with a corrupted chunk fails (exit 1)" "$rc" 1
same "... and leaves nothing in out/ (no temporary file, no out/g)" \
	"$(ls -A "$T/out" | tr '\n' ' ')" "f "
get -q --http-only g/f - >"$T/stdout" 2>/dev/null && rc=0 || rc=$?
same "... to - : exit 1 and nothing on stdout" "$rc $(stat -c %s "$T/stdout")" "1 0"

dgfsd_stop

# ---- a request that may pass is tried again ----------------------------------------------
# A server that answers the statuses given in turn (the last one from
# then on) and writes a line per request: 502, 503 and 504 are tried
# again, HTTP_TRIES (3) times in all (http.h); anything else is final.
fake_http() {
	: >"$T/requests"
	# Not through n(): $! must be python itself (ip netns exec execs it).
	ip netns exec "$NS" python3 -c '
import sys, http.server
codes, log = [int(c) for c in sys.argv[1].split(",")], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        open(log, "a").write(self.path + "\n")
        self.send_response(codes.pop(0) if len(codes) > 1 else codes[0])
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", 8099), H).serve_forever()
' "$1" "$T/requests" &
	FAKE_PID=$!
	wait_for 5 n python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8099))' 2>/dev/null
}
fake_get() { n "$DGFS" --server http://127.0.0.1:8099 get -q g/f - >/dev/null; }
fake_http 503
refuse "a manifest answered 503 every time: exit 10, says 503" 10 "HTTP 503" fake_get
same "... after 3 tries" "$(wc -l <"$T/requests")" 3
kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null
fake_http 502,404
refuse "502, then 404: exit 11 (no such file)" 11 "HTTP 404" fake_get
same "... after 2 tries" "$(wc -l <"$T/requests")" 2
kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null
fake_http 400
refuse "400: exit 10 at once" 10 "HTTP 400" fake_get
same "... after 1 try" "$(wc -l <"$T/requests")" 1
kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null
finish
