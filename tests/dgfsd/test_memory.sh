#!/usr/bin/env bash
# dgfsd's memory under a flood of slow and oversized requests (docs/DGFSD.md,
# "Memory"), on the plain build (the bound is about dgfsd, not ASan's
# shadow), against its own idle RSS as the control:
# - every request body held in memory (JSON bodies, chunks, an upload's
#   chunk buffer) is paid from one budget, --max-body-memory (here 32 MiB):
#   48 clients that each send 7.5 MiB of an 8 MiB /chunks/missing body and
#   stall raise dgfsd's RSS by at most the budget plus 48 MiB (connections,
#   threads), where holding them all would take 360 MiB;
# - a silent client is dropped after --client-timeout (here 3 s);
# - one address gets at most --max-connections-per-ip (here 12) connections;
# - a JSON body's parse is bounded by 3 times its size, from the budget.
# Then dgfsd-asan takes the same flood and stops cleanly.
#   tests/dgfsd/test_memory.sh BUILD_DIR      (as root)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"
DGFSD_ASAN=$DGFSD
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$DGFSD_PID/status" 2>/dev/null; }
OPTS=(--max-body-memory 32M --client-timeout 3 --max-connections-per-ip 12)
ADDRS=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4
BOUND_MIB=$((32 + 48))

# warm_up: what a working dgfsd has loaded (libmagic, SQLite's cache).
warm_up() {
	head -c 300000 /dev/urandom >"$T/w"
	n curl -sf -o /dev/null -T "$T/w" "$URL/files/warm/w" &&
		n curl -sf -o /dev/null "$URL/files/warm/w" &&
		n curl -sf -o /dev/null "$URL/files/"
}

DGFSD=$BUILD/dgfsd check "the plain dgfsd starts (${OPTS[*]})" dgfsd_start "${OPTS[@]}" || finish
check "warm-up requests" warm_up
idle=$(status_kb VmRSS)
n python3 tests/dgfsd/flood.py "$DGFSD_PID" "$ADDRS" 12 $((8 << 20)) $((15 << 19)) >"$T/flood" &
flood=$!
# The flood's first line comes once every body is out and dgfsd took them in.
wait_for 120 test -s "$T/flood"
first=$(head -n1 "$T/flood")
sent=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["sent"])' "$first")
hold=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["rss_kb"])' "$first")
same "48 connections from 4 addresses each sent 7.5 MiB of an 8 MiB body" "$sent" 48
echo "dgfsd RSS: idle $((idle / 1024)) MiB, with 48 stalled 8 MiB bodies $((hold / 1024)) MiB"
check "... dgfsd's RSS grew by at most $BOUND_MIB MiB (by $(((hold - idle) / 1024)) MiB)" \
	test $((hold - idle)) -le $((BOUND_MIB << 10))
held=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["body_memory"])' "$first")
check "... meanwhile the bodies held spend the budget, not more (0 < $held <= 32 MiB)" \
	test "$held" -gt 0 -a "$held" -le $((32 << 20))
wait "$flood"
last=$(tail -n1 "$T/flood")
same "every stalled connection was closed by dgfsd" \
	"$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["closed"])' "$last")" 48
check "... within the 3 s client timeout, plus slack ($(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["after"])' "$last") s <= 10 s)" \
	python3 -c 'import json, sys; sys.exit(not json.loads(sys.argv[1])["after"] <= 10)' "$last"
hwm=$(status_kb VmHWM)
check "dgfsd's peak RSS over the whole flood grew by at most $BOUND_MIB MiB (VmHWM $((hwm / 1024)) MiB)" \
	test $((hwm - idle)) -le $((BOUND_MIB << 10))
same "all body memory given back afterwards" "$(metric dgfsd_body_memory_bytes)" 0

# ---- JSON that takes far more memory parsed than sent -----------------------------------
# 2.5 million {} in a 7.5 MB /chunks/missing body: jansson would build
# ~580 MB of objects from it. A parse may take 3 times its body (paid from
# the budget too): past that it stops, with 413.
python3 -c 'import sys; sys.stdout.write("{\"ids\":[" + ",".join(["{}"] * 2500000) + "]}")' \
	>"$T/complex.json"
hwm0=$(status_kb VmHWM)
code=$(n curl -sS -o "$T/complex.out" -w '%{http_code}' -H 'Content-Type: application/json' \
	--data-binary @"$T/complex.json" "$URL/chunks/missing")
same "a 7.5 MB body of {} to /chunks/missing -> 413" "$code" 413
check "... which says the body is too complex" grep -q "too complex" "$T/complex.out"
hwm=$(status_kb VmHWM)
check "... and dgfsd's peak RSS grew by at most 40 MiB (by $(((hwm - hwm0) / 1024)) MiB)" \
	test $((hwm - hwm0)) -le $((40 << 10))
python3 -c 'import sys; sys.stdout.write("{\"ids\":[" + ",".join(["\"%064x\"" % i for i in range(100000)]) + "]}")' \
	>"$T/ids.json"
code=$(n curl -sS -o "$T/ids.out" -w '%{http_code}' -H 'Content-Type: application/json' \
	--data-binary @"$T/ids.json" "$URL/chunks/missing")
same "100000 chunk ids (6.7 MB) within the same budget: 200, all missing" \
	"$code $(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["missing"]))' "$T/ids.out")" \
	"200 100000"
same "all body memory given back afterwards (JSON)" "$(metric dgfsd_body_memory_bytes)" 0

# ---- one address, many connections ---------------------------------------------------
# The connections stay open between requests (keep-alive), so the limit
# holds for as long as the client keeps its 12: asked again, the same 12
# answer, and none of the other 18.
n python3 - <<'PY' >"$T/perip"
import socket
GET = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
socks = []
for _ in range(30):
    s = socket.socket()
    s.bind(("127.0.0.9", 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", 8080))
    socks.append(s)
def ask(s):
    try:
        s.sendall(GET)
        return s.recv(1000).startswith(b"HTTP/1.1 200")
    except OSError:
        return False
first = [i for i, s in enumerate(socks) if ask(s)]
again = [i for i, s in enumerate(socks) if ask(s)]
print(len(first), first == again)
PY
same "30 connections from one address: 12 are served (--max-connections-per-ip), and the same 12 again" \
	"$(cat "$T/perip")" "12 True"
same "another address is still served" \
	"$(n curl -sS -o /dev/null -w '%{http_code}' --interface 127.0.0.10 "$URL/healthz")" 200

# ---- a slow client ------------------------------------------------------------------
n python3 - <<'PY' >"$T/slow"
import socket, time
s = socket.create_connection(("127.0.0.1", 8080), timeout=60)
s.sendall(b"GET /healthz HTTP/1.1\r\nHo")
t = time.monotonic()
try:
    data = s.recv(100)
except OSError:
    data = b""
print("%.1f %d" % (time.monotonic() - t, len(data)))
PY
read -r secs got <"$T/slow"
check "a client stalled in its headers is dropped after the 3 s timeout (${secs} s, no answer)" \
	python3 -c "import sys; sys.exit(not (2 <= $secs <= 10 and $got == 0))"
same "dgfsd still serves (healthz)" "$(n curl -sS -o /dev/null -w '%{http_code}' "$URL/healthz")" 200
dgfsd_stop "the plain dgfsd stopped cleanly"

# ---- the sanitizer build through the same flood ---------------------------------------
DGFSD=$DGFSD_ASAN check "dgfsd-asan starts" dgfsd_start "${OPTS[@]}" || finish
n python3 tests/dgfsd/flood.py "$DGFSD_PID" "$ADDRS" 12 $((8 << 20)) $((15 << 19)) >"$T/flood2"
same "dgfsd-asan: every stalled connection closed" \
	"$(tail -n1 "$T/flood2" | python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["closed"])')" 48
same "dgfsd-asan: all body memory given back" "$(metric dgfsd_body_memory_bytes)" 0
dgfsd_stop
finish
