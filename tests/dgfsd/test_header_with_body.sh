#!/usr/bin/env bash
# A file body's header leaves in the body's first TCP segment, not in one
# of its own (userspace/dgfsd/header_with_body.c); --http-lone-header
# sends it alone, as libmicrohttpd does. Segments are seen on the
# namespace's loopback (tests/dgfsd/header_segments.py); every body is
# checked byte for byte, on one keep-alive connection, and no response
# may be held back (a HEAD's header has no body to leave with): neither
# after a 1 MiB body nor after a web UI file's few KiB, sent in one
# sendfile(), whose cork once stayed on and held every later response on
# the connection until the kernel's 200 ms probe.
#   tests/dgfsd/test_header_with_body.sh BUILD_DIR      (as root)
# expect-checks: 19
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"

# 1 MiB of random bytes: one chunk file, sent by sendfile().
head -c $((1 << 20)) /dev/urandom >"$T/f"
# A web UI file (dgfsd serves $BUILD/web): a few KiB, one sendfile().
ASSET=$BUILD/web/assets/app.js

# segments NAME: the responses' lines for /files/NAME, then ASSET's and
# NAME's tags' 5 times; fails if any is wrong.
segments() {
	n python3 tests/dgfsd/header_segments.py "$T/f" "/files/$1" 8080 "$ASSET" >"$T/seg" 2>&1
	local rc=$?
	cat "$T/seg"
	return $rc
}
# first_segment_is with|alone METHOD STATUS: each such response's header
# went with body bytes (with) or alone (alone).
first_segment_is() {
	awk -v how="$1" -v m="$2" -v s="$3:" '
		$1 == m && $2 == s { seen++; h = $4; g = $8
			if ((how == "with" && g <= h) || (how == "alone" && g != h)) bad++ }
		END { exit !(seen > 0 && !bad) }' "$T/seg"
}
# prompt: the median of the ASSET and JSON answers' times is under 100 ms;
# a held response waits 200 ms or more (the kernel's probe of a cork).
prompt() {
	awk '$1 == "ASSET" || $1 == "JSON" { print $(NF - 1) }' "$T/seg" | sort -n |
		awk '{ t[NR] = $1 } END { m = t[int((NR + 1) / 2)]; print "median " m " ms"
			exit !(NR == 10 && m < 100) }'
}

check "dgfsd starts" dgfsd_start --access-log off || finish
same "PUT big -> 201" "$(n curl -sS -o /dev/null -w '%{http_code}' -T "$T/f" "$URL/files/big")" 201
check "GET, Range, HEAD, GET on one connection: every body exact, none held back" segments big
check "a GET's header leaves with the body's first bytes" first_segment_is with GET 200
check "a Range GET's header leaves with the body's first bytes" first_segment_is with GET 206
check "a HEAD's header leaves alone, answered at once" first_segment_is alone HEAD 200
check "a web UI file's header leaves with its bytes (one sendfile())" first_segment_is with ASSET 200
check "after it, no response is held: web UI file and JSON answered promptly" prompt

# Clients that go away before the body (the header held when the response
# ends) must not leave a held header for the next connection on that socket.
for i in $(seq 1 20); do
	n curl -s -o /dev/null --max-time 0.01 "$URL/files/big"
done
check "after 20 clients gone mid-answer: every body exact, none held back" segments big
check "... and the header still leaves with the body" first_segment_is with GET 200
check "... and no response is held" prompt
dgfsd_stop

check "dgfsd --http-lone-header starts" dgfsd_start --access-log off --http-lone-header || finish
check "lone header: every body exact, none held back" segments big
check "lone header: a GET's header leaves in a segment of its own" first_segment_is alone GET 200
check "lone header: a web UI file's header too" first_segment_is alone ASSET 200
check "lone header: no response is held" prompt
dgfsd_stop
finish
