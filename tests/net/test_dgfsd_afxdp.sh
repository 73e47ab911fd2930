#!/usr/bin/env bash
# dgfsd --af-xdp on the host (no kernel module): dgfsd's userspace tier
# with AF_XDP sockets (dgfs-userd's tier, userspace/server/xsk.c) on the
# server's end of a veth pair between two namespaces (198.18.0.0/15,
# 2001:db8::/32), dgfs's XDP program in native mode in its AF_XDP mode.
# Files uploaded over HTTP; every chunk file of the store read over the
# fast path from the client namespace byte-exact, whole and in random
# ranges, IPv4 and IPv6, with the AF_XDP counters in /metrics moving
# (the requests came through the sockets' rings, not the UDP sockets);
# a frame to another address of ours counted as not ours. The program
# gone after SIGTERM, after a start that failed late (HTTP port taken)
# and after each refused start; after SIGKILL it stays (an XDP program,
# libxdp's dispatcher or alone, belongs to the interface, not to the
# process that attached it), harmless: its map
# is empty, so the stack gets the requests and dgfsd's UDP sockets answer
# them; the next start replaces it. With --user nobody: AF_XDP set up as
# root serves after the drop, and at stop dgfsd says the program stays.
# Bad options refused with exit 2:
# no interface, an unknown one, --kmod require, a mode unlike the HTTP
# filter's on the same interface; an interface without native XDP (lo):
# exit 1 and nothing attached. dgfsd runs under nsenter --net, not ip
# netns exec: the latter's private mount namespace has no bpffs.
#   tests/net/test_dgfsd_afxdp.sh BUILD_DIR      (as root)
# expect-checks: 49 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/net/lib.sh
kernel_watch

BUILD=${1:-build}
DGFSD=${DGFSD:-$BUILD/dgfsd-asan}
DGFS=$BUILD/dgfs
net_names dxsk

tmp=$(mktemp -d /tmp/dgfs-dxsk-test.XXXXXX)
state=$tmp/state
dgfsd_pid= blocker=
cleanup() {
	[[ -n $dgfsd_pid ]] && kill -9 "$dgfsd_pid" 2>/dev/null && wait "$dgfsd_pid" 2>/dev/null
	[[ -n $blocker ]] && kill "$blocker" 2>/dev/null
	if [[ -e /run/netns/$srv ]]; then
		s xdp-loader unload --all dg0 >/dev/null 2>&1
		rm -rf /sys/fs/bpf/dgfs/netns-"$(stat -L -c %i "/run/netns/$srv")"-*
	fi
	net_del
	rm -rf "$tmp"
}
trap cleanup EXIT

net_need "$DGFSD" "$DGFS"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=66}

net_pair $V4 $V4_CLIENT $V6 $V6_CLIENT
srv_mac=$(ip -n "$srv" -o link show dg0 | grep -o "link/ether [0-9a-f:]*" | cut -d" " -f2)
# on NAME IFACE / off NAME IFACE: dgfs's (or any) XDP program is / is not on IFACE.
on() { shows "$1" 'prog/xdp' ip -n "$srv" link show "$2"; }
off() { lacks "$1" 'prog/xdp' ip -n "$srv" link show "$2"; }

# ---- bad input: refused, nothing attached, nothing made ----------------------
# run_dgfsd ARGS...: dgfsd in the server's namespace, in the foreground.
run_dgfsd() {
	s "$DGFSD" --state-dir "$state" --kmod off --tagger off --access-log off "$@"
}
refuse "--af-xdp without an interface: exit 2" 2 "requires an argument" run_dgfsd --af-xdp
refuse "--af-xdp nosuch0: exit 2, no such interface" 2 "--af-xdp nosuch0: no such interface" \
	run_dgfsd --af-xdp nosuch0
refuse "--af-xdp with --kmod require: exit 2" 2 "does not go with --kmod require" \
	run_dgfsd --af-xdp dg0 --kmod require
refuse "--af-xdp-mode skb with the HTTP filter native on dg0: exit 2" 2 \
	"--af-xdp-mode and --http-filter-mode differ on dg0" \
	run_dgfsd --af-xdp dg0 --af-xdp-mode skb --http-filter dg0
refuse "--af-xdp-mode other: exit 2" 2 "native or skb" run_dgfsd --af-xdp dg0 --af-xdp-mode other
check "... none of them made the state directory" test ! -e "$state"
off "... or attached anything to dg0" dg0
refuse "--af-xdp lo (no native XDP on loopback): exit 1, cannot attach" 1 \
	"--af-xdp lo: cannot attach to lo in native mode" run_dgfsd --af-xdp lo
off "... and nothing attached to lo" lo

# ---- dgfsd with AF_XDP, files in over HTTP ---------------------------------------
start_dgfsd() {
	# exec: $! is dgfsd itself (nsenter execs it too).
	exec nsenter --net="/run/netns/$srv" "$DGFSD" --state-dir "$state" --kmod off --tagger off \
		--access-log off --public-metrics --udp-threads 1 --af-xdp dg0 "$@"
}
up() { s curl -sf -o /dev/null http://127.0.0.1:8080/healthz; }
start_bg() {
	start_dgfsd "$@" >>"$tmp/dgfsd.log" 2>&1 &
	dgfsd_pid=$!
	wait_for 60 up
}
metric() { s curl -sf http://127.0.0.1:8080/metrics | awk -v m="$1" '$1 == m { print $2 }'; }

check "dgfsd --af-xdp dg0 comes up" start_bg || { cat "$tmp/dgfsd.log"; finish; }
check "... says AF_XDP on dg0, native, 1 queue" \
	grep -q "AF_XDP on dg0 (native): 1 queue, copy mode" "$tmp/dgfsd.log"
on "... with dgfs's XDP program on dg0" dg0
same "/metrics: 1 AF_XDP queue serving" "$(metric dgfsd_udp_af_xdp_queues)" 1

read -r admin <"$state/admin.key"
read -r key <"$state/auth.key"
for f in a b c; do
	head -c $(((RANDOM % 3 + 1) << 20)) /dev/urandom >"$tmp/$f"
	s curl -sf -o /dev/null -H "Authorization: Bearer $admin" -T "$tmp/$f" \
		"http://127.0.0.1:8080/files/$f" || fail "upload $f"
done
# Not mapfile < <(...): the VM's /dev has no /dev/fd for it. Ids have no spaces.
# shellcheck disable=SC2207
ids=($(ls "$state/chunks" | grep -E '^[0-9a-f]{64}$'))
check "three files uploaded: at least 3 chunks in the store" test "${#ids[@]}" -ge 3

fetch() {
	local host=$1 id=$2
	shift 2
	rm -f "$tmp/got"
	c "$DGFS" fetch -p $PORT --key "$key" --timeout 500 --retries 4 "$@" -o "$tmp/got" \
		"$host" "$id"
}
req0=$(metric dgfsd_udp_af_xdp_requests) rep0=$(metric dgfsd_udp_af_xdp_replies)
sock0=$(metric dgfsd_udp_requests)
for host in $V4 $V6; do
	bad=0
	for id in "${ids[@]}"; do
		fetch $host "$id" && cmp -s "$tmp/got" "$state/chunks/$id" || bad=$((bad + 1))
	done
	same "every chunk (${#ids[@]}) whole over $host, byte-exact" "$bad" 0
	bad=0
	for _ in $(seq 8); do
		id=$(shuf -n1 -e "${ids[@]}")
		sz=$(stat -c %s "$state/chunks/$id")
		off=$(shuf -n1 -i 0-$((sz - 1)))
		len=$(shuf -n1 -i 1-$((sz - off)))
		dd if="$state/chunks/$id" iflag=skip_bytes,count_bytes skip="$off" count="$len" \
			of="$tmp/want" status=none
		fetch $host "$id" --offset "$off" --length "$len" && cmp -s "$tmp/got" "$tmp/want" ||
			{ bad=$((bad + 1)); echo "  mismatch: $id offset $off length $len over $host"; }
	done
	same "8 random ranges over $host match dd of the same bytes" "$bad" 0
done
n=$(((${#ids[@]} + 8) * 2))
req1=$(metric dgfsd_udp_af_xdp_requests) rep1=$(metric dgfsd_udp_af_xdp_replies)
check "/metrics: AF_XDP requests moved by at least the $n reads ($req0 -> $req1)" \
	test "$req1" -ge $((req0 + n))
check "... and AF_XDP replies with data too ($rep0 -> $rep1)" test "$rep1" -ge $((rep0 + n))
same "... every UDP request of the tier was AF_XDP's (none through the sockets)" \
	"$(($(metric dgfsd_udp_requests) - sock0))" "$((req1 - req0))"
refuse "an unknown chunk over AF_XDP: NOENT" 4 "NOENT" fetch $V4 "$(printf '%064d' 5)"
refuse "a token under another key: ACCES" 3 "ACCES" \
	c "$DGFS" fetch -p $PORT --key 0f0e0d0c0b0a09080706050403020100 -o "$tmp/got" $V6 "${ids[0]}"
nl0=$(metric dgfsd_udp_xsk_not_local)
c python3 tests/bpf/rawreq.py dg1 "$srv_mac" $V4_CLIENT 198.18.0.77 --chunk "${ids[0]}"
wait_for 10 bash -c "(( \$(nsenter --net=/run/netns/$srv curl -sf http://127.0.0.1:8080/metrics |
	awk '\$1 == \"dgfsd_udp_xsk_not_local\" { print \$2 }') > $nl0 ))"
same "a request to 198.18.0.77 (not ours) at our MAC: counted as not ours" \
	"$(metric dgfsd_udp_xsk_not_local)" $((nl0 + 1))

# ---- stop: the program goes --------------------------------------------------------
kill -TERM "$dgfsd_pid"
wait "$dgfsd_pid" && rc=0 || rc=$?
dgfsd_pid=
same "SIGTERM: dgfsd exits 0 (no sanitizer report)" "$rc" 0
off "... and dgfs's XDP program is gone from dg0" dg0
refuse "... so a request is not answered any more" 8 "timed out" \
	fetch $V4 "${ids[0]}" --timeout 50 --retries 2

# ---- a start that fails after the attach: nothing stays ------------------------------
# Directly, not through s(): $! must be python itself, not a subshell.
nsenter --net="/run/netns/$srv" python3 -c 'import socket, time
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 8080)); s.listen(); time.sleep(120)' &
blocker=$!
wait_for 10 bash -c "nsenter --net=/run/netns/$srv ss -Hltn 'sport = :8080' | grep -q ."
(start_dgfsd) >"$tmp/late.log" 2>&1 && rc=0 || rc=$?
check "HTTP port taken: dgfsd fails after attaching (exit $rc)" test "$rc" != 0
check "... it had attached (its log says AF_XDP on dg0)" grep -q "AF_XDP on dg0" "$tmp/late.log"
off "... and took the program off dg0 again" dg0
kill "$blocker" 2>/dev/null
wait "$blocker" 2>/dev/null
blocker=

# ---- SIGKILL: what libxdp leaves, and that it is harmless -----------------------
check "dgfsd --af-xdp dg0 comes up again" start_bg || { tail -n 20 "$tmp/dgfsd.log"; finish; }
kill -9 "$dgfsd_pid"
wait "$dgfsd_pid" 2>/dev/null
dgfsd_pid=
on "SIGKILL: dgfs's XDP program stays on dg0 (attached to the interface, not to dgfsd)" dg0
shows "... xdp-loader lists it" '\bdgfs_xdp\b' s xdp-loader status dg0
start_plain() {
	exec nsenter --net="/run/netns/$srv" "$DGFSD" --state-dir "$state" --kmod off --tagger off \
		--access-log off --public-metrics --udp-threads 1
}
start_plain >>"$tmp/dgfsd.log" 2>&1 &
dgfsd_pid=$!
check "dgfsd without --af-xdp comes up beside it" wait_for 60 up ||
	{ tail -n 20 "$tmp/dgfsd.log"; finish; }
if fetch $V4 "${ids[0]}" && cmp -s "$tmp/got" "$state/chunks/${ids[0]}"; then
	pass "... the left program passes requests to the stack: the UDP sockets answer, byte-exact"
else
	fail "... the left program passes requests to the stack: the UDP sockets answer, byte-exact"
fi
kill -TERM "$dgfsd_pid"
wait "$dgfsd_pid" && rc=0 || rc=$?
dgfsd_pid=
same "... that dgfsd exits 0" "$rc" 0
on "... and leaves the program alone (it never attached one)" dg0
check "the next dgfsd --af-xdp dg0 starts" start_bg || { tail -n 20 "$tmp/dgfsd.log"; finish; }
same "... replacing the left program: one dgfs program on dg0" \
	"$(s xdp-loader status dg0 | grep -cw dgfs_xdp)" 1
if fetch $V6 "${ids[1]}" && cmp -s "$tmp/got" "$state/chunks/${ids[1]}"; then
	pass "... serving through AF_XDP again, byte-exact"
else
	fail "... serving through AF_XDP again, byte-exact"
fi
kill -TERM "$dgfsd_pid"
wait "$dgfsd_pid" && rc=0 || rc=$?
dgfsd_pid=
same "... exits 0 at SIGTERM" "$rc" 0
off "... and nothing is left on dg0" dg0

# ---- --user: set up as root, served as nobody; the program stays at stop ----------
chmod 755 "$tmp"	# nobody must reach the state directory (dgfsd makes it nobody's)
check "dgfsd --af-xdp dg0 --user nobody comes up" start_bg --user nobody ||
	{ tail -n 20 "$tmp/dgfsd.log"; finish; }
same "... running as nobody" "$(ps -o user= -p "$dgfsd_pid" | tr -d ' ')" nobody
if fetch $V4 "${ids[2]}" && cmp -s "$tmp/got" "$state/chunks/${ids[2]}" &&
   (($(metric dgfsd_udp_af_xdp_requests) > 0)); then
	pass "... and serves through AF_XDP without privileges, byte-exact"
else
	fail "... and serves through AF_XDP without privileges, byte-exact"
fi
kill -TERM "$dgfsd_pid"
wait "$dgfsd_pid" && rc=0 || rc=$?
dgfsd_pid=
same "... exits 0 at SIGTERM" "$rc" 0
check "... saying it cannot take the program off any more" \
	grep -q "warning: dgfs's XDP program stays on dg0" "$tmp/dgfsd.log"
on "... which stays on dg0" dg0
finish
