#!/usr/bin/env bash
# File bodies in sendfile() steps wider than libmicrohttpd's 128 KiB
# (--http-sendfile-step, userspace/dgfsd/sendfile_step.c): a step is never
# widened past its body, so ranges, HEAD and keep-alive come out exact. The
# write calls of 8 GETs are printed (/proc/PID/io counts each sendfile();
# dgfsd runs with --access-log off, so nothing else writes meanwhile).
#   tests/dgfsd/test_sendfile_step.sh BUILD_DIR      (as root)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"

# 1 MiB of random bytes is one chunk file: a range inside it is sent from it.
head -c $((1 << 20)) /dev/urandom >"$T/f"

# One keep-alive connection: whole, ranges around the step, HEAD, whole;
# each body against the file's bytes, and the same socket throughout.
exact() {
	n python3 - "$T/f" "$1" <<'PY'
import http.client, os, sys
data, path = open(sys.argv[1], "rb").read(), "/files/" + sys.argv[2]
auth = {"Authorization": "Bearer " + os.environ["DGFS_API_KEY"]}
c = http.client.HTTPConnection("127.0.0.1", 8080, timeout=30)
ok, sock = True, None
def get(method, rng, want_status, want):
    global ok, sock
    c.request(method, path, headers=dict(auth, **({"Range": "bytes=%d-%d" % rng} if rng else {})))
    r = c.getresponse()
    body = r.read()
    same = r.status == want_status and body == want and (sock is None or c.sock is sock)
    sock = c.sock
    print("%s %s: %d, %d bytes, %s" % (method, rng, r.status, len(body), "exact" if same else "WRONG"))
    ok = ok and same
n = len(data)
get("GET", None, 200, data)
get("GET", (1000, 700000), 206, data[1000:700001])         # ends inside the chunk file
get("GET", (5, 131076), 206, data[5:131077])               # one step exactly
get("GET", (0, 131072), 206, data[0:131073])               # a step and a byte
get("GET", (n - 300001, n - 1), 206, data[n - 300001:])    # to the end
get("HEAD", None, 200, b"")
get("GET", None, 200, data)
sys.exit(0 if ok else 1)
PY
}

# Write calls while one connection GETs the file 8 times (8 MiB).
writes_for_8() {
	local w0 w1 u=$URL/files/$1
	w0=$(awk '/^syscw/ { print $2 }' "/proc/$DGFSD_PID/io")
	n curl -sf -o /dev/null "$u" -o /dev/null "$u" -o /dev/null "$u" -o /dev/null "$u" \
		-o /dev/null "$u" -o /dev/null "$u" -o /dev/null "$u" -o /dev/null "$u" || return 1
	w1=$(awk '/^syscw/ { print $2 }' "/proc/$DGFSD_PID/io")
	echo $((w1 - w0))
}

# A step just over libmicrohttpd's: a 1 MiB body goes in several wider
# calls and a tail, which is where a wrong bound would show.
for step in 2M 200000 0; do
	check "dgfsd starts with --http-sendfile-step $step" \
		dgfsd_start --access-log off --http-sendfile-step $step || finish
	same "PUT s/$step -> 201" \
		"$(n curl -sS -o /dev/null -w '%{http_code}' -T "$T/f" "$URL/files/s/$step")" 201
	check "step $step: whole, ranges, HEAD on one connection, every byte exact" exact "s/$step"
	w=$(writes_for_8 "s/$step")
	# Printed, not checked: usually 16 (2M), 48 (200000), 64 (0), but in 2
	# of 7 runs under run-all every step counted 0 (cause not found), so a
	# bound on it would fail or pass for the wrong reason.
	echo "step $step: $w write calls for 8 GETs of 1 MiB"
	dgfsd_stop
done
refuse "a step not over 128 KiB is refused" 2 "must be 0 or more than 131072" \
	n "$DGFSD" --state-dir "$STATE" --http-sendfile-step 100000
finish
