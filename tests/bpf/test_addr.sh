#!/usr/bin/env bash
# Addresses at the NIC, on the host kernel (no dgfs.ko here), over veth
# between namespaces of our own (dgaddr-*):
#  1. requests from sources the stack would never answer (0.0.0.0,
#     loopback, multicast, broadcast, IPv4-mapped IPv6) and to broadcast
#     and multicast destinations, sent as raw frames: the XDP program drops
#     each and counts it by reason; only the well-addressed control
#     requests reach a UDP server. Without the program, the stack hands
#     the broadcast and multicast ones to that server (what the program
#     is there to stop).
#  2. the counters are per network namespace: each has its own pinned map,
#     and an attach removes the pins of namespaces that are gone, not those
#     of living ones.
# The module's share (destinations local to the namespace, macvlan
# children) is tests/vm/test_addr.sh.
#   tests/bpf/test_addr.sh BUILD_DIR
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
kernel_watch
build=${1:-build}
AT=$build/xdp_attach_test
RAW=tests/bpf/rawreq.py
a=dgaddr-a-$$ b=dgaddr-b-$$ c=dgaddr-c-$$
pin=/sys/fs/bpf/dgaddr-test-$$
tmp=$(mktemp -d)

cleanup() {
	for ns in "$a" "$b"; do
		[[ -e /run/netns/$ns ]] && nsenter --net="/run/netns/$ns" xdp-loader unload --all \
			"$([[ $ns == "$a" ]] && echo dg0 || echo dg2)" >/dev/null 2>&1
	done
	ip netns del "$a" 2>/dev/null
	ip netns del "$b" 2>/dev/null
	ip netns del "$c" 2>/dev/null
	rm -rf "$pin" "$tmp"
}
trap cleanup EXIT
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

# The loader needs the system's bpffs, which `ip netns exec` hides.
A() { nsenter --net="/run/netns/$a" "$@"; }
B() { nsenter --net="/run/netns/$b" "$@"; }
C() { ip netns exec "$c" "$@"; }

ip netns add "$a" && ip netns add "$b" && ip netns add "$c" &&
	ip link add dg0 netns "$a" type veth peer name dg1 netns "$c" &&
	ip link add dg2 netns "$b" type veth peer name dg3 netns "$c" &&
	ip -n "$a" addr add 198.18.0.1/24 dev dg0 &&
	ip -n "$a" addr add 2001:db8::1/64 dev dg0 nodad &&
	ip -n "$c" addr add 198.18.0.2/24 dev dg1 &&
	ip -n "$c" addr add 2001:db8::2/64 dev dg1 nodad &&
	ip -n "$b" addr add 198.18.1.1/24 dev dg2 &&
	ip -n "$c" addr add 198.18.1.2/24 dev dg3 &&
	for ns in "$a" "$b" "$c"; do ip -n "$ns" link set lo up || exit 1; done &&
	ip -n "$a" link set dg0 up && ip -n "$b" link set dg2 up &&
	ip -n "$c" link set dg1 up && ip -n "$c" link set dg3 up
check "namespaces $a and $b, each joined by veth to $c" [ $? = 0 ]
mac_of() { ip -n "$1" -o link show "$2" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }
mac0=$(mac_of "$a" dg0)
mac2=$(mac_of "$b" dg2)
ip -n "$c" neigh replace 198.18.0.1 lladdr "$mac0" dev dg1 nud permanent
ip -n "$c" neigh replace 198.18.1.1 lladdr "$mac2" dev dg3 nud permanent

counters() { "$@" "$AT" -p "$pin" counters; }
# counter NS_FN NAME
counter() { counters "$1" | awk -v k="$2" '$1 == k { print $2 }'; }

# ---- 1. sources and destinations ---------------------------------------------
# name|sport|src|dst|dst MAC|reason (control: a request that must get through)
cases=(
	"valid IPv4|41000|198.18.0.2|198.18.0.1|$mac0|control"
	"source 0.0.0.0|41001|0.0.0.0|198.18.0.1|$mac0|src_unspec"
	"source 127.0.0.1|41002|127.0.0.1|198.18.0.1|$mac0|src_loopback"
	"source 224.0.0.5|41003|224.0.0.5|198.18.0.1|$mac0|src_multicast"
	"source 255.255.255.255|41004|255.255.255.255|198.18.0.1|$mac0|src_multicast"
	"destination 255.255.255.255|41005|198.18.0.2|255.255.255.255|ff:ff:ff:ff:ff:ff|bad_dst"
	"destination 224.0.0.1|41006|198.18.0.2|224.0.0.1|01:00:5e:00:00:01|bad_dst"
	"valid IPv6|41010|2001:db8::2|2001:db8::1|$mac0|control"
	"source ::|41011|::|2001:db8::1|$mac0|src_unspec"
	"source ::1|41012|::1|2001:db8::1|$mac0|src_loopback"
	"source ff02::1|41013|ff02::1|2001:db8::1|$mac0|src_multicast"
	"source ::ffff:198.18.0.2|41014|::ffff:198.18.0.2|2001:db8::1|$mac0|src_mapped"
	"destination ff02::1|41015|2001:db8::2|ff02::1|33:33:00:00:00:01|bad_dst"
)
MARKER=41999

# listen: a dual-stack UDP server on the port in $a (all addresses, so
# broadcasts and multicasts to the port too); it writes the source ports
# it heard from to $tmp/got once the marker request (source port
# $MARKER) arrives, and "ready" to $tmp/ready once bound. It gives up
# ("timeout") 10 s after the sender says it is done ($tmp/sent), not after
# a fixed gap between requests: on a loaded machine each rawreq.py can take
# seconds to start, and a gap timeout once ran out before the marker left.
listen() {
	rm -f "$tmp/ready" "$tmp/got" "$tmp/sent"
	A python3 - "$tmp" "$MARKER" <<'EOF' &
import os, socket, sys, time
tmp, marker = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 7878))
s.settimeout(0.5)
open(tmp + "/ready", "w").write("ready\n")
got = set()
start, sent = time.monotonic(), None
while True:
    try:
        port = s.recvfrom(2048)[1][1]
    except socket.timeout:
        now = time.monotonic()
        if sent is None and os.path.exists(tmp + "/sent"):
            sent = now
        if (sent is not None and now - sent > 10) or now - start > 600:
            got.add("timeout")
            break
        continue
    if port == marker:
        break
    got.add(port)
open(tmp + "/got", "w").write(" ".join(map(str, sorted(got, key=str))) + "\n")
EOF
	for _ in $(seq 300); do [[ -e $tmp/ready ]] && break; sleep 0.1; done
}

# send_all: every case, then the marker, from $c.
send_all() {
	local k name sport src dst dmac reason
	for k in "${cases[@]}"; do
		IFS='|' read -r name sport src dst dmac reason <<<"$k"
		C python3 $RAW dg1 "$dmac" "$src" "$dst" --sport "$sport" || echo "  rawreq failed: $name"
	done
	C python3 $RAW dg1 "$mac0" 198.18.0.2 198.18.0.1 --sport $MARKER
	touch "$tmp/sent"
}

# sports_of REASON...: the cases' source ports with one of these reasons.
sports_of() {
	local k name sport src dst dmac reason r out=()
	for k in "${cases[@]}"; do
		IFS='|' read -r name sport src dst dmac reason <<<"$k"
		for r in "$@"; do [[ $reason == "$r" ]] && out+=("$sport"); done
	done
	echo "${out[@]}"
}

# Without the program: what the stack hands the server by itself. At
# least the broadcast and the all-nodes multicast (this host's 6.18 also
# delivers :: and IPv4-mapped sources to a dual-stack socket, and 6.1
# does too; see tests/vm/test_addr.sh for the module's own socket).
listen
send_all
wait
got=$(cat "$tmp/got" 2>/dev/null)
echo "  without XDP the server heard from ports: $got"
for p in $(sports_of control) 41005 41015; do
	check "without XDP the stack delivers port $p's request" grep -qw "$p" <<<"$got"
done

check "attach dgfs's program to dg0 ($a)" A "$AT" -p "$pin" attach dg0 skb
declare -A before
for r in src_unspec src_loopback src_multicast src_mapped bad_dst requests_valid; do
	before[$r]=$(counter A "$r")
done
listen
send_all
wait
same "with XDP only the well-addressed requests reach the server" \
	"$(cat "$tmp/got" 2>/dev/null)" "$(sports_of control)"
for r in src_unspec src_loopback src_multicast src_mapped bad_dst; do
	want=$(sports_of "$r" | wc -w)
	same "$r counted once for each of its $want requests" \
		"$(($(counter A "$r") - ${before[$r]}))" "$want"
done
same "requests_valid: the two control requests and the marker" \
	"$(($(counter A requests_valid) - ${before[requests_valid]}))" 3

# ---- 2. counters per namespace -------------------------------------------------
valid_a=$(counter A requests_valid)
check "attach dgfs's program to dg2 ($b)" B "$AT" -p "$pin" attach dg2 skb
for _ in 1 2 3; do
	C python3 $RAW dg3 "$mac2" 198.18.1.2 198.18.1.1 --sport 42000
done
# The counters move in the softirq that receives the frame: wait for it.
for _ in $(seq 100); do [[ $(counter B requests_valid) == 3 ]] && break; sleep 0.1; done
same "$b counts its own 3 requests" "$(counter B requests_valid)" 3
same "... which $a does not see" "$(counter A requests_valid)" "$valid_a"
dirs=$(find "$pin" -mindepth 1 -maxdepth 1 -name 'netns-*' | wc -l)
same "one pinned counters directory per namespace" "$dirs" 2
check "the shared map of old is not pinned" test ! -e "$pin/xdp_counters"

# A living namespace keeps its counters, with or without its program.
check "detach from dg0 ($a)" A "$AT" -p "$pin" detach dg0
check "attach again to dg2 ($b): the attach looks for dead namespaces" \
	B "$AT" -p "$pin" attach dg2 skb
same "$a lives: its counters stay, program or not" "$(counter A requests_valid)" "$valid_a"

# A dead one's go at the next attach.
prog_b=$(B "$AT" -p "$pin" status dg2 | awk '{ print $6 }')
check "detach from dg2 ($b)" B "$AT" -p "$pin" detach dg2
ino_b=$(stat -L -c %i "/run/netns/$b")
ip netns del "$b"
# Detached programs are freed a moment later; until then the map is in use.
for _ in $(seq 100); do bpftool prog show id "$prog_b" >/dev/null 2>&1 || break; sleep 0.1; done
check "attach again to dg0 ($a)" A "$AT" -p "$pin" attach dg0 skb
same "$b's pinned counters are gone with it" \
	"$(find "$pin" -maxdepth 1 -name "netns-$ino_b-*" | wc -l)" 0
same "$a's stay" "$(find "$pin" -mindepth 1 -maxdepth 1 -name 'netns-*' | wc -l)" 1
C python3 $RAW dg1 "$mac0" 198.18.0.2 198.18.0.1 --sport 42001
for _ in $(seq 100); do [[ $(counter A requests_valid) == $((valid_a + 1)) ]] && break; sleep 0.1; done
same "$a counts on in its map" "$(counter A requests_valid)" $((valid_a + 1))
refuse "a namespace that never attached has no counters" 1 "never attached in this network namespace" \
	nsenter --net="/run/netns/$c" "$AT" -p "$pin" counters
check "detach from dg0" A "$AT" -p "$pin" detach dg0
finish
