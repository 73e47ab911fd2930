#!/usr/bin/env bash
# dgfs fetch against a host that is slow but alive, and one that is alive
# but silent, on the host (no kernel module): dgfs-userd in one network
# namespace, the client in another, joined by a veth pair (198.18.0.0/15).
# The server's side of the link is throttled with tbf (this host's kernel
# has no netem): a window of 16 requests of 256 KiB then waits in its
# queue, the last one about 4 s for its first byte, far past any fixed
# short timeout, while the read as a whole moves all the time. The client
# must read it without burying the server under re-requests; the silent
# one (stopped with SIGSTOP) must cost --timeout, not more. Every bound is
# relative: to the link's rate and to a control read on the free link.
#   tests/net/test_userd_slow.sh BUILD_DIR      (as root)
#   DGFS=/path/to/other/dgfs tests/net/test_userd_slow.sh BUILD_DIR   (another client)
# expect-checks: 11 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/net/lib.sh
kernel_watch

BUILD=${1:-build}
DGFS=${DGFS:-$BUILD/dgfs}
USERD=$BUILD/dgfs-userd
KEY=000102030405060708090a0b0c0d0e0f
net_names slow netns
RATE_BYTES=1000000			# the throttled link: 8 mbit/s
SIZE=$((4 << 20))			# one chunk, 16 requests of 256 KiB

tmp=$(mktemp -d /tmp/dgfs-slow-test.XXXXXX)
userd_pid=
cleanup() {
	if [[ -n $userd_pid ]]; then
		kill -CONT "$userd_pid" 2>/dev/null
		kill "$userd_pid" 2>/dev/null && wait "$userd_pid" 2>/dev/null
	fi
	net_del
	rm -rf "$tmp"
}
trap cleanup EXIT

net_need "$DGFS" "$USERD"

net_pair $V4 $V4_CLIENT

store=$tmp/store
mkdir -p "$store"
head -c $SIZE /dev/urandom >"$tmp/chunk"
id=$(sha256sum "$tmp/chunk" | cut -c1-64)
mv "$tmp/chunk" "$store/$id"

# `ip netns exec` execs the server in place: $! is the server (to stop).
ip netns exec "$srv" "$USERD" -p $PORT --key $KEY "$store" >"$tmp/userd.log" 2>&1 &
userd_pid=$!
check "dgfs-userd starts" wait_for 10 grep -q serving "$tmp/userd.log" || finish

# read NAME [options]: the chunk into $tmp/got with -v; sets rc, ms (wall
# time) and rereq (the client's count of re-requests).
read_chunk() {
	local name=$1 t0
	shift
	rm -f "$tmp/got"
	t0=$(date +%s%N)
	c "$DGFS" fetch -p $PORT --key $KEY -v "$@" -o "$tmp/got" $V4 "$id" 2>"$tmp/$name.err" &&
		rc=0 || rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	rereq=$(grep -o 're-requests [0-9]*' "$tmp/$name.err" | awk '{ print $2 }')
	echo "  $name: exit $rc in $ms ms, re-requests ${rereq:-?}"
}
# sent_bytes: what the server's side of the link has sent.
sent_bytes() {
	s tc -s qdisc show dev dg0 | awk '/Sent/ { print $2; exit }'
}

# ---- control: the free link ---------------------------------------------------------
read_chunk control
check "control: the chunk over the free link" test $rc = 0
check "... whole" cmp -s "$tmp/got" "$store/$id"
control_ms=$ms

# ---- slow but alive: 1 MB/s, a 4 MiB window queued at once ---------------------------
# A queue long enough for the whole window (no drops: what is measured is
# waiting, not loss).
check "the server's side throttled to 8 mbit/s, queue 64 MB" \
	s tc qdisc add dev dg0 root tbf rate 8mbit burst 64kb limit 64mb
sent0=$(sent_bytes)
read_chunk slow
sent=$(($(sent_bytes) - sent0))
ideal_ms=$((SIZE * 1000 / RATE_BYTES))
check "slow host: the chunk, though its last request waits ~4 s for a first byte" test $rc = 0
check "... whole" cmp -s "$tmp/got" "$store/$id"
# 16 requests would do; a client with a fixed 500 ms timeout asks again for
# every one of them, again and again.
check "... asking again for at most 4 of 16 requests (asked ${rereq:-?})" \
	test "${rereq:-99}" -le 4
check "... the server sending at most 1.25 times the chunk ($sent bytes for $SIZE)" \
	test "$sent" -le $((SIZE * 5 / 4))
check "... in $ms ms: at most twice the link's time ($ideal_ms ms) plus the control's ($control_ms ms)" \
	test "$ms" -le $((2 * ideal_ms + control_ms + 1000))
s tc qdisc del dev dg0 root

# ---- alive but silent: --timeout is the whole cost ------------------------------------
kill -STOP "$userd_pid"
read_chunk silent --timeout 2000
kill -CONT "$userd_pid"
same "silent host: timed out (exit 8)" "$rc" 8
check "... not before --timeout 2000 ms ($ms ms)" test "$ms" -ge 2000
check "... nor long after it: at most twice that plus the control's $control_ms ms" \
	test "$ms" -le $((2 * 2000 + control_ms + 1000))

finish
