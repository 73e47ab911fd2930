#!/usr/bin/env bash
# dgfs-userd --af-xdp on the host (no kernel module): a server and a client
# network namespace joined by a veth pair (198.18.0.0/15, 2001:db8::/32),
# dgfs's XDP program on the server's end in native mode handing requests
# to AF_XDP sockets (copy mode). The socket workers are bound to 127.0.0.1
# only, so every request over the veth is answered through AF_XDP or not
# at all. Checks byte-exact chunks and ranges over IPv4 and IPv6, the same
# refusals as the socket path (tokens, NOENT, RANGE), malformed datagrams
# dropped unanswered, requests to an address or a MAC not ours dropped and
# counted, and the program gone when the server exits. The server runs
# under nsenter --net, not ip netns exec: the latter's private mount
# namespace has no bpffs for libxdp's dispatcher.
#   tests/net/test_afxdp.sh BUILD_DIR      (as root)
# expect-checks: 43 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/net/lib.sh
kernel_watch

BUILD=${1:-build}
DGFS=$BUILD/dgfs
USERD=$BUILD/dgfs-userd
BENCH=$BUILD/dgfs-bench
KEY=000102030405060708090a0b0c0d0e0f
net_names afxdp

tmp=$(mktemp -d /tmp/dgfs-afxdp-test.XXXXXX)
main_pid=
cleanup() {
	[[ -n $main_pid ]] && kill "$main_pid" 2>/dev/null && wait "$main_pid" 2>/dev/null
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

store=$tmp/store
net_userd_setup "$store" "$DGFS" "$USERD" "$BENCH"
srv_mac=$(ip -n "$srv" -o link show dg0 | grep -o "link/ether [0-9a-f:]*" | cut -d" " -f2)

start_userd() {
	nsenter --net="/run/netns/$srv" "$USERD" -p $PORT -a 127.0.0.1 --key $KEY --af-xdp dg0 -v \
		"$store" >"$tmp/userd.log" 2>&1 &
	main_pid=$!
	userd_wait_serving "$main_pid" "$tmp/userd.log" 10
}

# counter NAME: the server's counter, fresh.
counter() { userd_counter "$tmp/userd.log" "$main_pid" "$1"; }

check "dgfs-userd --af-xdp dg0 starts (sockets on 127.0.0.1 only)" start_userd || finish
check "... and says AF_XDP on dg0" grep -q "AF_XDP on dg0: 1 queue, copy mode" "$tmp/userd.log"
check "... with dgfs's XDP program on dg0" bash -c "ip -n $srv link show dg0 | grep -q prog/xdp"

fetch() {
	local host=$1 n=$2
	shift 2
	rm -f "$tmp/got"
	c "$DGFS" fetch -p $PORT --key $KEY --timeout 500 --retries 4 "$@" -o "$tmp/got" \
		"$host" "${id[$n]}"
}

# ---- byte-exact chunks and ranges -----------------------------------------------
for host in $V4 $V6; do
	net_check_chunks $host 10 "through AF_XDP"
done
check "the server answered them (replies counted)" test "$(counter replies)" -ge 28

# ---- refusals: the socket path's checks ----------------------------------------------
bad_before=$(counter token_bad) expired_before=$(counter token_expired)
refuse "a token under another key: ACCES" 3 "ACCES" \
	fetch $V4 page --key 0f0e0d0c0b0a09080706050403020100
check "... and no data written" test ! -s "$tmp/got"
refuse "an expired token: ACCES" 3 "ACCES" fetch $V6 page --expiry -10
tok=$("$DGFS" token --key $KEY --addr 198.18.0.99 --expiry 600 "${id[page]}")
rm -f "$tmp/got"
refuse "a token minted for another address: ACCES" 3 "ACCES" \
	c "$DGFS" fetch -p $PORT --token "${tok% *}" --expiry "${tok#* }" -o "$tmp/got" \
	$V4 "${id[page]}"
same "the server counted 2 bad tokens" "$(counter token_bad)" $((bad_before + 2))
same "the server counted 1 expired token" "$(counter token_expired)" $((expired_before + 1))
refuse "an unknown chunk: NOENT" 4 "NOENT" \
	c "$DGFS" fetch -p $PORT --key $KEY -o "$tmp/got" $V4 "$(printf '%064d' 5)"
refuse "an offset at the end: RANGE" 5 "RANGE" fetch $V6 page --offset 4096

# ---- malformed datagrams: never answered ----------------------------------------------
# Sends 10 malformed datagrams, then a well-formed one with a zero token;
# waits for that one's ACCES (so the malformed ones, sent before it on the
# same queue, have been dealt with), then a little more for stray replies.
cat >"$tmp/malformed.py" <<'EOF'
import socket, struct, sys, time
host, port, chunk = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
def req(magic=0x44474653, version=1, op=1, flags=0, length=4096):
    return struct.pack(">IBBHQ32sQII8s", magic, version, op, flags, 1, chunk, 0,
                       length, int(time.time()) + 60, b"\0" * 8)
good = req()
bad = [b"", good[:71], good + b"\0", good * 2, req(magic=0x44474654), req(version=2),
       req(op=0x81), req(flags=1), req(length=0), req(length=(1 << 20) + 1)]
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
s.connect((host, port))
for b in bad:
    s.send(b)
s.send(good)
replies, status, end = 0, -1, time.time() + 20
s.settimeout(0.5)
while time.time() < end:
    try:
        r = s.recv(2048)
    except socket.timeout:
        if status >= 0:
            break
        continue
    if status < 0 and len(r) == 32 and r[:4] == b"DGFS" and struct.unpack(">IBBH", r[:8])[3] == 3:
        status = 3
    else:
        replies += 1
print(replies, status)
EOF
for host in $V4 $V6; do
	read -r replies status <<<"$(c python3 "$tmp/malformed.py" $host $PORT "${id[page]}")"
	same "10 malformed datagrams over $host: no reply" "$replies" 0
	same "... the well-formed one after them: ACCES" "$status" 3
done
# dgfs's program drops them at the NIC, as in front of dgfs.ko: counted there.
xdp_counts=$(s "$BUILD/xdp_attach_test" counters 2>&1)
for why in size magic version op flags length; do
	check "... counted by the XDP program: bad_$why" \
		bash -c "grep -Eq '^bad_$why +[1-9]' <<<\"\$1\"" _ "$xdp_counts"
done
same "... and none of them reached the server" "$(counter malformed)" 0

# ---- not for us: another IP, another MAC ----------------------------------------------------
nl_before=$(counter xsk_not_local) long_before=$(counter token_too_long)
# rawreq's requests carry a zero token expiring in 2106: ACCES, counted as
# too long, when they reach the checks at all.
c python3 tests/bpf/rawreq.py dg1 "$srv_mac" $V4_CLIENT 198.18.0.77 --chunk "${id[page]}"
c python3 tests/bpf/rawreq.py dg1 02:00:00:00:00:99 $V4_CLIENT $V4 --chunk "${id[page]}"
c python3 tests/bpf/rawreq.py dg1 "$srv_mac" $V6_CLIENT 2001:db8:2::77 --chunk "${id[page]}"
c python3 tests/bpf/rawreq.py dg1 "$srv_mac" $V4_CLIENT $V4 --chunk "${id[page]}"
wait_for 10 bash -c "(( \$(kill -USR1 $main_pid; sleep 0.1; awk '\$1 == \"token_too_long\" { v = \$2 } END { print v }' $tmp/userd.log) > $long_before ))"
same "requests to 198.18.0.77, to another MAC and to 2001:db8:2::77: dropped, counted as not ours" \
	"$(counter xsk_not_local)" $((nl_before + 3))
same "... while the same request to our address and MAC reached the token check" \
	"$(counter token_too_long)" $((long_before + 1))

# ---- load: dgfs-bench through AF_XDP ---------------------------------------------------------
out=$(c "$BENCH" -p $PORT --key $KEY --duration 2 --threads 2 --window 8 --size 4096 --random \
	--json $V4 "${id[big]}" "${id[odd]}" 2>"$tmp/bench.log")
cat "$tmp/bench.log"
json_get() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
check "bench 4 KiB random through AF_XDP: > 0 req/s" \
	python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1])["req_per_s"] <= 0)' "$out"
same "... with 0 errors" "$(json_get "$out" errors)" 0
same "... and 0 timeouts" "$(json_get "$out" timeouts)" 0

# ---- a clean exit ---------------------------------------------------------------------------
kill -TERM "$main_pid"
wait "$main_pid" && rc=0 || rc=$?
main_pid=
same "SIGTERM: the server exits with status 0" "$rc" 0
check "... with no send errors" test "$(awk '$1 == "send_errors" { v = $2 } END { print v }' \
	"$tmp/userd.log")" = 0
check "... and dgfs's XDP program is gone from dg0" \
	bash -c "! ip -n $srv link show dg0 | grep -q prog/xdp"
refuse "... so a request is not answered any more" 8 "timed out" \
	fetch $V4 page --timeout 50 --retries 2
finish
