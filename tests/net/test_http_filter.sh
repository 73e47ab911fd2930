#!/usr/bin/env bash
# dgfsd's HTTP filter (--http-filter) on a veth, on the host (no module):
# dgfsd in the server namespace with the filter on dg0, beside dgfs's
# fast-path XDP program in libxdp's dispatcher; a SYN flood from a second
# address of the client namespace (tests/net/synflood.py, raw sockets),
# IPv4 then IPv6, is held to --syn-rate/--syn-burst: the SYN+ACKs that
# come back (one per SYN that reached the listening socket) and the
# filter's per-client counts (bpftool on the pinned LRU map) against
# what was sent. Meanwhile a client in a third namespace, routed through
# the client namespace, downloads a file over HTTP byte-exact at about
# its speed without the flood, and over the UDP fast path through both
# XDP programs. /metrics shows the counters; at stop the filter goes and
# the fast-path program stays.
#   tests/net/test_http_filter.sh BUILD_DIR      (as root)
# expect-checks: 40 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/net/lib.sh
kernel_watch

BUILD=${1:-build}
DGFSD=${DGFSD:-$BUILD/dgfsd-asan}
RATE=50 BURST=100
# The loader and bpftool need the system's bpffs, which `ip netns exec`
# hides: the server's side enters only the network namespace (net_names).
net_names hf
V4_FLOOD=198.18.0.3 V6_FLOOD=2001:db8:2::3
V4_DL=198.18.1.2 V4_ROUTER=198.18.1.1
dl=dgfs-hf-dl-$$
d() { ip netns exec "$dl" "$@"; }

tmp=$(mktemp -d /tmp/dgfs-hf-test.XXXXXX)
xdp_pin=/sys/fs/bpf/dgfs-hf-test-$$
dgfsd_pid=
cleanup() {
	[[ -n $dgfsd_pid ]] && kill -9 "$dgfsd_pid" 2>/dev/null
	if [[ -e /run/netns/$srv ]]; then
		s xdp-loader unload --all dg0 >/dev/null 2>&1
		# The filter's pins of this namespace (kept across re-attaches).
		rm -rf /sys/fs/bpf/dgfs-http-filter/netns-"$(stat -L -c %i "/run/netns/$srv")"-*
	fi
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
	ip netns del "$dl" 2>/dev/null
	rm -rf "$tmp" "$xdp_pin"
}
trap cleanup EXIT

# ---- three namespaces: dl -> cli (router) -> srv --------------------------
net_pair "$V4" "$V4_CLIENT" "$V6" "$V6_CLIENT"
ip netns add "$dl" || { fail "netns add"; finish; }
ip -n "$cli" addr add "$V4_FLOOD/24" dev dg1 && ip -n "$cli" addr add "$V6_FLOOD/64" dev dg1 nodad
ip -n "$cli" link add dg2 type veth peer name dg3 netns "$dl"
ip -n "$cli" addr add "$V4_ROUTER/24" dev dg2 && ip -n "$dl" addr add "$V4_DL/24" dev dg3
ip -n "$cli" link set dg2 up && ip -n "$dl" link set dg3 up && ip -n "$dl" link set lo up
ip -n "$dl" route add default via "$V4_ROUTER"
ip -n "$srv" route add 198.18.1.0/24 via "$V4_CLIENT"
c sysctl -qw net.ipv4.ip_forward=1

# ---- dgfsd with the filter, beside the fast-path program -------------------
check "dgfs's fast-path XDP program attached to dg0 first" \
	s "$BUILD/xdp_attach_test" -p "$xdp_pin" attach dg0 native
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=66}
# exec: in the background, $! is dgfsd itself (nsenter execs it too).
start_dgfsd() {
	exec nsenter --net="/run/netns/$srv" "$DGFSD" --state-dir "$tmp/state" --kmod off --tagger off --access-log off \
		--http-filter dg0 --syn-rate "$RATE" --syn-burst "$BURST" "$@"
}
if s xdp-loader status dg0 | grep -q xdp_dispatcher; then
	shared=1
else
	# This host refuses freplace programs (BPF_PROG_TYPE_EXT), so libxdp
	# has no dispatcher: one program per interface. Coexistence is tested
	# in the VM (tests/vm/test_http_filter.sh).
	echo "SKIP: no libxdp dispatcher on this kernel: coexistence runs in the VM"
	shared=0
	refuse "dgfsd does not push aside a program it cannot share dg0 with" 1 \
		"cannot attach the HTTP filter.*not using a dispatcher" start_dgfsd
	check "... and leaves nothing behind (no state directory)" [ ! -e "$tmp/state" ]
	s xdp-loader unload --all dg0
fi
start_dgfsd >"$tmp/dgfsd.log" 2>&1 &
dgfsd_pid=$!
up() { s curl -sf -o /dev/null http://127.0.0.1:8080/healthz; }
check "dgfsd --http-filter dg0 comes up" wait_for 30 up || { cat "$tmp/dgfsd.log"; finish; }
check "the third namespace reaches dgfsd through the client's" \
	d curl -sf -o /dev/null "http://$V4:8080/healthz" || finish
check "its log names the filter and its limits" \
	grep -q "HTTP filter on dg0 (native): $RATE new connections per second per client, $BURST at once" \
	"$tmp/dgfsd.log"
shows "xdp-loader shows the filter on dg0" '\bhttp_filter\b' s xdp-loader status dg0
if ((shared)); then
	shows "... beside the fast-path program, in one dispatcher" '\bdgfs_xdp\b' \
		s xdp-loader status dg0
fi

read -r key <"$tmp/state/admin.key"
H="Authorization: Bearer $key"
head -c $((32 << 20)) /dev/urandom >"$tmp/big"
want=$(sha256sum <"$tmp/big")
check "a 32 MiB file uploaded" s curl -sf -o /dev/null -H "$H" -T "$tmp/big" \
	http://127.0.0.1:8080/files/big

# seconds_of CMD...: CMD's wall time in seconds (3 decimals); CMD's status.
seconds_of() {
	local t0 t1 rc
	t0=$(date +%s.%N)
	"$@" && rc=0 || rc=$?
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >"$tmp/secs"
	return "$rc"
}
download() { d curl -sf -H "$H" -o "$tmp/$1" "http://$V4:8080/files/big"; }
seconds_of download base
base=$(cat "$tmp/secs")
same "download from the third namespace without a flood is byte-exact" \
	"$(sha256sum <"$tmp/base")" "$want"

# bpftool's view of the pinned client map: "SYN DROPPED PACKETS" of ADDR.
map=$(echo /sys/fs/bpf/dgfs-http-filter/netns-"$(stat -L -c %i "/run/netns/$srv")"-*/http_filter_clients)
entry() {
	s bpftool -j map dump pinned "$map" | python3 -c '
import ipaddress, json, sys
want = ipaddress.ip_address(sys.argv[1])
for e in json.load(sys.stdin):
    f = e.get("formatted", e)
    a = ipaddress.ip_address(bytes(int(b, 0) if isinstance(b, str) else b for b in f["key"]["addr"]))
    if getattr(a, "ipv4_mapped", None) == want or a == want:
        v = f["value"]
        print(v["syn"], v["syn_dropped"], v["packets"])
        break
else:
    print("none")' "$1"
}

# flood_round NAME SRC DST SECONDS [download]: the flood, its checks.
flood_round() {
	local name=$1 src=$2 dst=$3 secs=$4 res sent synacks took syn dropped pkts passed low high
	c python3 tests/net/synflood.py "$src" "$dst" 8080 "$secs" >"$tmp/flood.json" &
	local fpid=$!
	if [[ ${5:-} == download ]]; then
		sleep 0.5
		seconds_of download during
		echo "$(cat "$tmp/secs")" >"$tmp/during.secs"
	fi
	wait "$fpid"
	res=$(cat "$tmp/flood.json")
	read -r sent synacks took <<<"$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["sent"], r["synacks"], r["seconds"])' "$res")"
	read -r syn dropped pkts <<<"$(entry "$src")"
	echo "$name flood: $res; filter: syn $syn dropped $dropped packets $pkts"
	passed=$((syn - dropped))
	# The bucket: BURST at once, then RATE a second while the flood lasts.
	low=$(awk -v b=$BURST -v r=$RATE -v t="$took" 'BEGIN { printf "%d\n", b + r * t * 0.8 - 5 }')
	high=$(awk -v b=$BURST -v r=$RATE -v t="$took" 'BEGIN { printf "%d\n", b + r * (t + 0.5) + 5 }')
	check "$name: a flood ($sent SYNs in $took s, more than 5x the limit's $high)" \
		[ "$sent" -gt $((5 * high)) ]
	# veth may drop past its queue before XDP sees a frame; never more seen.
	check "$name: the filter saw the flood's SYNs ($syn of $sent, at least 90%)" \
		[ "$syn" -le "$sent" -a $((syn * 10)) -ge $((sent * 9)) ]
	check "$name: SYNs the filter passed ($passed) held to burst + rate x time ($low .. $high)" \
		[ "$passed" -ge "$low" -a "$passed" -le "$high" ]
	check "$name: SYN+ACKs that came back ($synacks) = SYNs passed ($passed), +-2" \
		[ $((synacks - passed)) -le 2 -a $((passed - synacks)) -le 2 ]
	check "$name: every SYN a packet of the client's ($pkts >= $syn)" [ "$pkts" -ge "$syn" ]
}

flood_round IPv4 "$V4_FLOOD" "$V4" 4 download
during=$(cat "$tmp/during.secs")
echo "download: ${base}s without a flood, ${during}s during it"
same "download from the third namespace during the flood is byte-exact" \
	"$(sha256sum <"$tmp/during")" "$want"
check "... and about as fast (${during}s <= 4 x ${base}s + 2s)" \
	awk -v a="$during" -v b="$base" 'BEGIN { exit !(a <= 4 * b + 2) }'
read -r dl_syn dl_dropped _ <<<"$(entry "$V4_DL")"
check "the downloader's new connections ($dl_syn) were never dropped" \
	[ "$dl_syn" -ge 2 -a "$dl_dropped" = 0 ]
flood_round IPv6 "$V6_FLOOD" "$V6" 2

# The fast path through the filter (and dgfs_xdp, with a dispatcher): UDP
# passes the filter as other traffic, and dgfs_xdp (no module here) to
# dgfsd's userspace tier.
d env DGFS_API_KEY="$key" "$BUILD/dgfs" --server "http://$V4:8080" get -q --no-fallback \
	big "$tmp/udp" && rc=0 || rc=$?
same "dgfs get over the UDP fast path through the XDP program(s): exit 0, byte-exact" \
	"$rc $(sha256sum <"$tmp/udp")" "0 $want"

metrics=$(s curl -sf -H "$H" http://127.0.0.1:8080/metrics)
metric() { awk -v k="$1" '$1 == k { print $2 }' <<<"$metrics"; }
read -r v4_syn v4_dropped _ <<<"$(entry "$V4_FLOOD")"
read -r v6_syn v6_dropped _ <<<"$(entry "$V6_FLOOD")"
read -r dl_syn dl_dropped _ <<<"$(entry "$V4_DL")"
same "/metrics: dgfsd_http_filter_syn_total is every client's SYNs" \
	"$(metric dgfsd_http_filter_syn_total)" $((v4_syn + v6_syn + dl_syn))
same "/metrics: dgfsd_http_filter_syn_dropped_total is the floods' drops" \
	"$(metric dgfsd_http_filter_syn_dropped_total)" $((v4_dropped + v6_dropped))
same "/metrics: dgfsd_http_filter_clients counts the two flooders and the downloader" \
	"$(metric dgfsd_http_filter_clients)" 3
check "/metrics: dgfsd_http_filter_packets_total covers them" \
	[ "$(metric dgfsd_http_filter_packets_total)" -gt $((v4_syn + v6_syn)) ]

# A dgfsd killed before it could take its filter off: the next one
# replaces it (without a dispatcher, the old one goes first), and the
# pinned counters carry on.
syn_before=$(metric dgfsd_http_filter_syn_total)
kill -9 "$dgfsd_pid"
wait "$dgfsd_pid" 2>/dev/null
shows "dgfsd killed (SIGKILL): its filter stays on dg0" '\bhttp_filter\b' s xdp-loader status dg0
start_dgfsd >>"$tmp/dgfsd.log" 2>&1 &
dgfsd_pid=$!
check "a new dgfsd comes up over the old filter" wait_for 30 up || { tail "$tmp/dgfsd.log"; finish; }
same "... and replaced it: one filter on dg0" \
	"$(s xdp-loader status dg0 | grep -cw http_filter)" 1
metrics=$(s curl -sf -H "$H" http://127.0.0.1:8080/metrics)
same "... its /metrics carry on from the pinned counters" \
	"$(metric dgfsd_http_filter_syn_total)" "$syn_before"

kill -TERM "$dgfsd_pid"
wait "$dgfsd_pid" && rc=0 || rc=$?
dgfsd_pid=
same "dgfsd stops cleanly (exit 0, ASan's leak check)" "$rc" 0
lacks "no sanitizer report in dgfsd's log" 'runtime error:|ERROR: [A-Za-z]+Sanitizer' \
	cat "$tmp/dgfsd.log"
lacks "at stop the filter came off dg0" '\bhttp_filter\b' s xdp-loader status dg0
if ((shared)); then
	shows "... and the fast-path program stayed" '\bdgfs_xdp\b' s xdp-loader status dg0
fi

# --user: attached as root at start; afterwards dgfsd can neither read
# the pins (root's, 0700) nor take the filter off (docs/DGFSD.md).
chmod 755 "$tmp"
start_dgfsd --user nobody --state-dir "$tmp/nobody" >"$tmp/nobody.log" 2>&1 &
dgfsd_pid=$!
check "dgfsd --user nobody --http-filter dg0 comes up" wait_for 30 up ||
	{ tail "$tmp/nobody.log"; finish; }
lacks "... its /metrics lack the filter's counters" '^dgfsd_http_filter_' \
	s curl -sf -H "Authorization: Bearer $(cat "$tmp/nobody/admin.key")" \
	http://127.0.0.1:8080/metrics
kill -TERM "$dgfsd_pid"
wait "$dgfsd_pid" && rc=0 || rc=$?
dgfsd_pid=
same "... it stops with exit 0" "$rc" 0
check "... saying the filter stays on dg0" grep -q 'warning: the HTTP filter stays on dg0' \
	"$tmp/nobody.log"
shows "... and it does" '\bhttp_filter\b' s xdp-loader status dg0
finish
