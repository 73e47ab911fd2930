#!/usr/bin/env bash
# Replies never go where the stack would not send them (dgfs.ko and its
# XDP program, over veth):
#  1. a macvlan child of the server's NIC, moved into a namespace of its
#     own, is answered by its own namespace, not by the parent's where the
#     XDP program sees the frame (the parent passes it on as not_local);
#     each namespace counts its own XDP counters (dgfsctl stats);
#  2. through XDP, what only the module can tell: our own address as the
#     source, a subnet's broadcast address either way, a destination that
#     is not ours: refused and counted, nothing served;
#  3. through the stack (no XDP), what the stack hands the module's
#     sockets: broadcasts and multicasts to the port, IPv6 from :: and
#     from an IPv4-mapped address (which would be answered over IPv4),
#     from our own IPv6 address: refused and counted, no reply reaches the
#     client.
# The program's own checks, frame by frame: tests/bpf/xdp_test.c and
# tests/bpf/test_addr.sh.
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

DGFS=$BUILD/dgfs
RAW=tests/bpf/rawreq.py
srv=addr-srv cli=addr-cli kid=addr-kid
key=000102030405060708090a0b0c0d0e0f
tmp=$(mktemp -d)
s() { ip netns exec $srv "$@"; }
c() { ip netns exec $cli "$@"; }
k() { ip netns exec $kid "$@"; }
cleanup() {
	s $CTL xdp detach dg0 >/dev/null 2>&1
	k $CTL xdp detach mv0 >/dev/null 2>&1
	ip netns del $srv 2>/dev/null
	ip netns del $cli 2>/dev/null
	ip netns del $kid 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

dgfs_load
modprobe -a veth macvlan
ip netns add $srv && ip netns add $cli && ip netns add $kid &&
	ip link add dg0 netns $srv type veth peer name dg1 netns $cli &&
	ip -n $srv addr add 198.18.0.1/24 dev dg0 &&
	ip -n $srv addr add 2001:db8::1/64 dev dg0 nodad &&
	ip -n $cli addr add 198.18.0.2/24 dev dg1 &&
	ip -n $cli addr add 2001:db8::2/64 dev dg1 nodad &&
	ip -n $srv link set dg0 up && ip -n $cli link set dg1 up &&
	ip -n $srv link add mv0 link dg0 type macvlan mode bridge &&
	ip -n $srv link set mv0 netns $kid &&
	ip -n $kid addr add 198.18.0.10/24 dev mv0 &&
	ip -n $kid addr add 2001:db8::10/64 dev mv0 nodad &&
	ip -n $kid link set mv0 up &&
	for ns in $srv $cli $kid; do ip -n $ns link set lo up || exit 1; done
check "server $srv, client $cli, and macvlan mv0 of the server's dg0 in $kid" [ $? = 0 ]
mac_of() { ip -n "$1" -o link show "$2" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }
mac0=$(mac_of $srv dg0)

# Each host its own chunk: the server's is not the child's.
# host NS DIR: a store in NS with one chunk, file DIR/c; prints its id.
host() {
	head -c 10000 /dev/urandom >"$2/c"
	ip netns exec "$1" $CTL store add main path "$2" &&
		ip netns exec "$1" $CTL chunk add "$(sha256 "$2/c")" store main file c &&
		ip netns exec "$1" $CTL config set key $key && sha256 "$2/c"
}
root_srv=$(scratch addr-srv) root_kid=$(scratch addr-kid)
id_srv=$(host $srv "$root_srv") && id_kid=$(host $kid "$root_kid")
check "a store and a chunk in $srv and in $kid" [ $? = 0 ]
check "server: xdp attach dg0" s $CTL xdp attach dg0 mode native

# stats NS: `dgfsctl stats` in NS (dgfsctl is slow under TCG: read all
# counters at once); val STATS NAME: one of them.
stats() { ip netns exec "$1" $CTL stats; }
val() { awk -v k="$2" '$1 == k { print $2 }' <<<"$1"; }
# wait_stat NS NAME VALUE: until that counter gets there (the packet path
# moves it in softirq), 20 s at most; prints the last stats read.
wait_stat() {
	local end=$((SECONDS + 20)) st
	while :; do
		st=$(stats "$1")
		if [[ $(val "$st" "$2") == "$3" ]]; then
			echo "$st"
			return 0
		fi
		if ((SECONDS >= end)); then
			echo "$st"
			return 1
		fi
		sleep 0.1
	done
}
reaches() { wait_stat "$@" >/dev/null; }
fetch() { c $DGFS fetch --key $key --timeout 2500 --retries 4 -o /tmp/got "$@"; }

# ---- 1. a macvlan child in another namespace ------------------------------
fetch 198.18.0.1 "$id_srv" && cmp -s /tmp/got "$root_srv/c"
check "the server's own chunk through XDP" [ $? = 0 ]
for host in 198.18.0.10 2001:db8::10; do
	b_s=$(stats $srv) b_k=$(stats $kid)
	if fetch $host "$id_kid" && cmp -s /tmp/got "$root_kid/c"; then
		pass "$host (the child's): its own chunk, answered by its own namespace"
	else
		fail "$host (the child's): its own chunk, answered by its own namespace"
	fi
	a_s=$(stats $srv) a_k=$(stats $kid)
	same "... the parent's module took none of it" "$(val "$a_s" requests)" "$(val "$b_s" requests)"
	check "... the parent's XDP passed it on as not_local" \
		test "$(val "$a_s" xdp_not_local)" -gt "$(val "$b_s" xdp_not_local)"
	check "... the child got it through its stack" \
		test "$(val "$a_k" stack_requests)" -gt "$(val "$b_k" stack_requests)"
done
refuse "the parent's chunk is not the child's to serve" 4 "NOENT|unknown|no such" \
	c $DGFS fetch --key $key --timeout 1500 --retries 2 -o /tmp/got 198.18.0.10 "$id_srv"

# The child runs the program too (generic XDP on the macvlan): each
# namespace counts in its own map.
check "child: xdp attach mv0 (skb)" k $CTL xdp attach mv0 mode skb
b_s=$(stats $srv) b_k=$(stats $kid)
fetch 198.18.0.10 "$id_kid" && cmp -s /tmp/got "$root_kid/c"
check "the child's chunk through the child's XDP" [ $? = 0 ]
a_s=$(stats $srv) a_k=$(stats $kid)
check "child's stats: its program submitted it" \
	test "$(val "$a_k" xdp_submitted)" -gt "$(val "$b_k" xdp_submitted)"
same "server's stats: its program submitted nothing" \
	"$(val "$a_s" xdp_submitted)" "$(val "$b_s" xdp_submitted)"
check "server's stats: its program passed it on" \
	test "$(val "$a_s" xdp_not_local)" -gt "$(val "$b_s" xdp_not_local)"
check "child: xdp detach mv0" k $CTL xdp detach mv0

# ---- 2. through XDP: what only the module can tell ------------------------
# case: name|src|dst|dst MAC|module counter|XDP counter
xdp_cases=(
	"from our own address|198.18.0.1|198.18.0.1|$mac0|src_local|xdp_kmod_rejected"
	"from our subnet's broadcast address|198.18.0.255|198.18.0.1|$mac0|src_multicast|xdp_kmod_rejected"
	"to our subnet's broadcast address|198.18.0.2|198.18.0.255|ff:ff:ff:ff:ff:ff|bad_dst|xdp_kmod_rejected"
	"from our own IPv6 address|2001:db8::1|2001:db8::1|$mac0|src_local|xdp_kmod_rejected"
	"to an address that is not ours|198.18.0.2|198.18.0.77|$mac0|-|xdp_not_local"
	"to an IPv6 address that is not ours|2001:db8::2|2001:db8::77|$mac0|-|xdp_not_local"
	"from 127.0.0.1 (the program's own check)|127.0.0.1|198.18.0.1|$mac0|-|xdp_src_loopback"
)
req0=$(val "$(stats $srv)" requests)
for cs in "${xdp_cases[@]}"; do
	IFS='|' read -r name src dst dmac mc xc <<<"$cs"
	b=$(stats $srv)
	c python3 $RAW dg1 "$dmac" "$src" "$dst" --chunk "$id_srv" --sport 41100
	a=$(wait_stat $srv "$xc" $(($(val "$b" "$xc") + 1))) && ok=0 || ok=1
	check "XDP, $name: $xc" [ $ok = 0 ]
	[[ $mc == - ]] ||
		same "... the module counted $mc" "$(val "$a" "$mc")" $(($(val "$b" "$mc") + 1))
	same "... and served nothing" "$(val "$a" requests)" "$(val "$b" requests)"
done
# A well-addressed one is served: once it is, the module has served
# nothing else in this part.
c python3 $RAW dg1 "$mac0" 198.18.0.2 198.18.0.1 --chunk "$id_srv" --sport 41101
check "XDP: a well-addressed request is served, and nothing else was" \
	reaches $srv requests $((req0 + 1))

# ---- 3. through the stack ---------------------------------------------------
check "server: xdp detach dg0" s $CTL xdp detach dg0
# A client listener on every port a wrong reply could reach it on.
rm -f "$tmp/ready" "$tmp/done" "$tmp/got"
c python3 - "$tmp" <<'EOF' &
import os, select, socket, sys, time
tmp = sys.argv[1]
socks = []
for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    for port in range(41200, 41210):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, port))
        socks.append(s)
open(tmp + "/ready", "w").write("ready\n")
got, limit = [], time.time() + 300
while time.time() < limit:
    done = os.path.exists(tmp + "/done")
    r, _, _ = select.select(socks, [], [], 0 if done else 0.1)
    for s in r:
        data, peer = s.recvfrom(2048)
        got.append("%s:%d->%d" % (peer[0], peer[1], s.getsockname()[1]))
    if done and not r:
        break
open(tmp + "/got", "w").write(" ".join(got) + "\n")
EOF
listener=$!
for _ in $(seq 300); do [[ -e $tmp/ready ]] && break; sleep 0.1; done

# case: name|sport|src|dst|dst MAC|module counter
stack_cases=(
	"to 255.255.255.255|41200|198.18.0.2|255.255.255.255|ff:ff:ff:ff:ff:ff|bad_dst"
	"to our subnet's broadcast address|41201|198.18.0.2|198.18.0.255|ff:ff:ff:ff:ff:ff|bad_dst"
	"to ff02::1|41202|2001:db8::2|ff02::1|33:33:00:00:00:01|bad_dst"
	"from ::|41203|::|2001:db8::1|$mac0|src_unspec"
	"from ::ffff:198.18.0.2 (the reply would go over IPv4)|41204|::ffff:198.18.0.2|2001:db8::1|$mac0|src_mapped"
	"from our own IPv6 address|41205|2001:db8::1|2001:db8::1|$mac0|src_local"
)
req0=$(val "$(stats $srv)" requests)
for cs in "${stack_cases[@]}"; do
	IFS='|' read -r name sport src dst dmac mc <<<"$cs"
	b=$(stats $srv)
	c python3 $RAW dg1 "$dmac" "$src" "$dst" --chunk "$id_srv" --sport "$sport"
	a=$(wait_stat $srv "$mc" $(($(val "$b" "$mc") + 1))) && ok=0 || ok=1
	check "stack, $name: $mc" [ $ok = 0 ]
	same "... it came through the stack" "$(val "$a" stack_requests)" \
		$(($(val "$b" stack_requests) + 1))
	same "... and nothing was served" "$(val "$a" requests)" "$(val "$b" requests)"
done
# A well-addressed one still is (and its reply arrives after any earlier one).
c python3 $RAW dg1 "$mac0" 198.18.0.2 198.18.0.1 --chunk "$id_srv" --sport 41209
check "stack: a well-addressed request is served, and nothing else was" \
	reaches $srv requests $((req0 + 1))
fetch 198.18.0.1 "$id_srv" && cmp -s /tmp/got "$root_srv/c"
check "stack: a client reads the server's chunk" [ $? = 0 ]
touch "$tmp/done"
wait $listener
same "the client heard only the well-addressed request's reply" \
	"$(cat "$tmp/got" 2>/dev/null)" "198.18.0.1:7878->41209"

cleanup
trap - EXIT
dgfs_unload
finish
