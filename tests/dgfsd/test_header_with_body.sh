#!/usr/bin/env bash
# With --http-header-with-body a file body's header leaves in the body's
# first TCP segment, not in one of its own
# (userspace/dgfsd/header_with_body.c); by default it leaves alone, as
# libmicrohttpd sends it. Segments are seen on the
# namespace's loopback (tests/dgfsd/header_segments.py); every body is
# checked byte for byte, on one keep-alive connection, and no response
# may be held back (a HEAD's header has no body to leave with).
#   tests/dgfsd/test_header_with_body.sh BUILD_DIR      (as root)
# expect-checks: 13
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"

# 1 MiB of random bytes: one chunk file, sent by sendfile().
head -c $((1 << 20)) /dev/urandom >"$T/f"

# segments NAME: the responses' lines for /files/NAME; fails if any is wrong.
segments() {
	n python3 tests/dgfsd/header_segments.py "$T/f" "/files/$1" 8080 >"$T/seg" 2>&1
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

check "dgfsd --http-header-with-body starts" dgfsd_start --access-log off --http-header-with-body || finish
same "PUT big -> 201" "$(n curl -sS -o /dev/null -w '%{http_code}' -T "$T/f" "$URL/files/big")" 201
check "GET, Range, HEAD, GET on one connection: every body exact, none held back" segments big
check "a GET's header leaves with the body's first bytes" first_segment_is with GET 200
check "a Range GET's header leaves with the body's first bytes" first_segment_is with GET 206
check "a HEAD's header leaves alone, answered at once" first_segment_is alone HEAD 200

# Clients that go away before the body (the header held when the response
# ends) must not leave a held header for the next connection on that socket.
for i in $(seq 1 20); do
	n curl -s -o /dev/null --max-time 0.01 "$URL/files/big"
done
check "after 20 clients gone mid-answer: every body exact, none held back" segments big
check "... and the header still leaves with the body" first_segment_is with GET 200
dgfsd_stop

check "dgfsd (default) starts" dgfsd_start --access-log off || finish
check "default: every body exact, none held back" segments big
check "default: a GET's header leaves in a segment of its own" first_segment_is alone GET 200
dgfsd_stop
finish
