#!/usr/bin/env bash
# The kernel fast path end to end: a client namespace reads chunks from a
# server namespace over a veth pair; the XDP program hands the requests to
# dgfs.ko, which answers from the page cache. Nothing in the server's
# userspace has a socket on the port.
# expect-checks: 81 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

DGFS=$BUILD/dgfs
cleanup_first() { s $CTL xdp detach dg0 2>/dev/null; }
server_and_client

root=$(scratch fastpath)
declare -A size=([one]=1 [page]=4096 [odd]=$((1048576 + 7)) [big]=$((16 << 20)))
declare -A id
for n in "${!size[@]}"; do
	head -c "${size[$n]}" /dev/urandom >"$root/$n"
	id[$n]=$(sha256 "$root/$n")
done
key=000102030405060708090a0b0c0d0e0f
check "server: store add" s $CTL store add main path "$root"
for n in "${!size[@]}"; do
	check "server: chunk add $n" s $CTL chunk add "${id[$n]}" store main file "$n"
done
check "server: config set key and max_read" s $CTL config set key $key max_read 16M
check "server: xdp attach dg0 (native)" s $CTL xdp attach dg0 mode native

ports=$(s ss -Hulpn 'sport = :7878') && rc=0 || rc=$?
same "ss lists the port's sockets (the kernel's, IPv4 and IPv6)" "$rc $(grep -c . <<<"$ports")" "0 2"
lacks "no userspace process has a socket on the port" users: echo "$ports"

# srv_stat NAME: a counter of the server namespace's (obj_* are the
# module's, global).
srv_stat() { s $CTL stats | awk -v k="$1" '$1 == k { print $2 }'; }

# fetch HOST NAME [dgfs fetch options]: the chunk into $DGFS_OUT/got
fetch() {
	local host=$1 n=$2
	shift 2
	c $DGFS fetch --key $key "$@" -o /tmp/got "$host" "${id[$n]}"
}

for host in 198.18.0.1 2001:db8:2::1; do
	for n in one page odd big; do
		if fetch "$host" "$n" && cmp -s /tmp/got "$root/$n"; then
			pass "whole chunk $n (${size[$n]} bytes) over $host"
		else
			fail "whole chunk $n (${size[$n]} bytes) over $host"
		fi
	done
	# Random ranges, each checked against the same bytes of the file.
	bad=0
	for _ in $(seq 20); do
		n=$(shuf -n1 -e odd big page)
		off=$((RANDOM * 32768 % ${size[$n]} + RANDOM % 7))
		((off < ${size[$n]})) || off=0
		len=$((RANDOM * 64 % (16 << 20) + 1))
		want=$((len < ${size[$n]} - off ? len : ${size[$n]} - off))
		tail -c +$((off + 1)) "$root/$n" | head -c "$want" >/tmp/want
		if ! fetch "$host" "$n" --offset $off --length $len || ! cmp -s /tmp/got /tmp/want; then
			bad=$((bad + 1))
			echo "  mismatch: $n offset $off length $len"
		fi
	done
	same "20 random ranges over $host match the files" "$bad" 0
done

# Many datagrams to an skb: a reply's datagrams leave as UDP GSO skbs,
# which veth counts as one packet each, however many datagrams they carry.
for host in 198.18.0.1 2001:db8:2::1; do
	tx0=$(s cat /sys/class/net/dg0/statistics/tx_packets)
	dg0=$(s $CTL stats | awk '$1 == "datagrams" { print $2 }')
	fetch "$host" odd && cmp -s /tmp/got "$root/odd" || fail "chunk odd over $host for GSO"
	tx=$(($(s cat /sys/class/net/dg0/statistics/tx_packets) - tx0))
	dg=$(($(s $CTL stats | awk '$1 == "datagrams" { print $2 }') - dg0))
	echo "  $host: $dg datagrams in $tx skbs"
	check "a 1 MiB read over $host left as a third as many skbs as datagrams or fewer" \
		test $((tx * 3)) -le "$dg" -a "$dg" -gt 700
done

# A device that cannot cut UDP GSO skbs itself: veth stops offering it
# when its peer has an XDP program, and then the stack cuts them before
# the device (validate_xmit_skb()), one packet per datagram. (Into the
# peer's 256-slot XDP ring, which a burst may overflow: dropped packets
# count too, and the client asks again for what they carried.)
check "client: xdp_pass on dg1 takes UDP GSO away from dg0" \
	c xdp-loader load -m native dg1 "$BUILD/bpf/xdp_pass.bpf.o"
sent() {
	local n
	n=$(s cat /sys/class/net/dg0/statistics/tx_packets /sys/class/net/dg0/statistics/tx_dropped)
	echo $((${n//$'\n'/+}))
}
for host in 198.18.0.1 2001:db8:2::1; do
	tx0=$(sent)
	dg0=$(s $CTL stats | awk '$1 == "datagrams" { print $2 }')
	if fetch "$host" odd && cmp -s /tmp/got "$root/odd"; then
		pass "chunk odd over $host, cut into datagrams by the stack"
	else
		fail "chunk odd over $host, cut into datagrams by the stack"
	fi
	tx=$(($(sent) - tx0))
	dg=$(($(s $CTL stats | awk '$1 == "datagrams" { print $2 }') - dg0))
	echo "  $host: $dg datagrams in $tx packets (sent or dropped)"
	check "... one packet per datagram over $host" test "$tx" -ge "$dg"
done
check "client: xdp_pass off dg1" c xdp-loader unload dg1 --all

# The workers keep their routes to clients: a route change must reach the
# very next reply. A host route to the client with MTU 1300 makes smaller
# datagrams: at most 1240 and 1220 bytes of payload (1300 less the IP, UDP
# and dgfs headers) instead of 1440 and 1420. Judged by the payload per
# datagram the module sent (its byte and datagram counters), which
# re-requests after a drop do not change, unlike the datagram count.
# payload_for_odd HOST: one whole read of chunk odd, which must come back
# intact (its status); sets $avg to the bytes per datagram it took.
payload_for_odd() {
	local b0 d0 dgs ok=0
	b0=$(srv_stat bytes) d0=$(srv_stat datagrams)
	fetch "$1" odd && cmp -s /tmp/got "$root/odd" && ok=1
	dgs=$(($(srv_stat datagrams) - d0))
	((dgs > 0)) || { dgs=1 ok=0; }
	avg=$((($(srv_stat bytes) - b0) / dgs))
	((ok))
}
for host in 198.18.0.1 2001:db8:2::1; do
	if [[ $host == *:* ]]; then peer=2001:db8:2::2/128 limit=1220; else peer=198.18.0.2/32 limit=1240; fi
	check "chunk odd over $host intact (the usual route)" payload_for_odd $host
	before=$avg
	check "a host route with MTU 1300 to the client, over $host" s ip route add $peer dev dg0 mtu 1300
	check "chunk odd over $host intact (MTU 1300 route)" payload_for_odd $host
	small=$avg
	check "... the route removed again" s ip route del $peer dev dg0
	check "chunk odd over $host intact (the usual route again)" payload_for_odd $host
	after=$avg
	echo "  $host: $before bytes per datagram, $small with the MTU 1300 route, $after without"
	check "a new route's MTU applies to the next reply over $host ($small <= $limit < $before)" \
		test "$small" -le "$limit" -a "$before" -gt "$limit"
	check "the old route is back once the new one goes, over $host ($after)" \
		test "$after" -gt "$limit"
done

stats=$(s $CTL stats)
stat() { awk -v k="$1" '$1 == k { print $2 }' <<<"$stats"; }
check "the module answered requests" test "$(stat replies)" -gt 0
same "every request came through XDP, none through the stack" "$(stat stack_requests)" 0
check "the XDP program handed requests over" test "$(stat xdp_submitted)" -gt 0

# ---- the port moves while the program is attached ----
# The program takes the port when it is loaded. Another netlink client
# (dgfsd's, driven by kmod_driver) moves the module to 7900 behind its back:
# the module refuses what the program still catches on 7878, the program
# passes that to the stack (where nothing listens now), and 7900's requests
# reach the module's sockets through the stack. `dgfsctl config set` loads
# the program again with the new values.
xdp_field() { s $CTL -j xdp show dg0 | python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
check "port 7900 set by another netlink client" s $BUILD/kmod_driver config-set - 7900 0
same "... the attached program still parses 7878" "$(xdp_field port)" 7878
stack0=$(s $CTL stats | awk '$1 == "stack_requests" { print $2 }')
other0=$(s $CTL stats | awk '$1 == "xdp_other" { print $2 }')
if fetch 198.18.0.1 page -p 7900 && cmp -s /tmp/got "$root/page"; then
	pass "a read on the new port 7900 is served (by the stack path)"
else
	fail "a read on the new port 7900 is served (by the stack path)"
fi
check "... it came through the stack" \
	test "$(s $CTL stats | awk '$1 == "stack_requests" { print $2 }')" -gt "$stack0"
req0=$(s $CTL stats | awk '$1 == "requests" { print $2 }')
# Not merely "fails": it must time out (exit 8), as a request nobody
# answers does; any other error would not show what this claims.
refuse "a read on the old port 7878 gets no answer (times out)" 8 "timed out" \
	c $DGFS fetch --key $key --timeout 200 --retries 1 -o /tmp/got 198.18.0.1 "${id[page]}"
same "... the module took none of it" "$(s $CTL stats | awk '$1 == "requests" { print $2 }')" "$req0"
check "... the program passed it to the stack as somebody else's" \
	test "$(s $CTL stats | awk '$1 == "xdp_other" { print $2 }')" -gt "$other0"
check "dgfsctl config set port 7900 max_read 8M" s $CTL config set port 7900 max_read 8M
same "... loads the program again: port" "$(xdp_field port)" 7900
same "... and max_read" "$(xdp_field max_read)" $((8 << 20))
same "... in the mode it had" "$(xdp_field mode)" native
stack0=$(s $CTL stats | awk '$1 == "stack_requests" { print $2 }')
sub0=$(s $CTL stats | awk '$1 == "xdp_submitted" { print $2 }')
if fetch 198.18.0.1 odd -p 7900 --req-size 8M && cmp -s /tmp/got "$root/odd"; then
	pass "a read on port 7900 after the reload is served"
else
	fail "a read on port 7900 after the reload is served"
fi
check "... through XDP" test "$(s $CTL stats | awk '$1 == "xdp_submitted" { print $2 }')" -gt "$sub0"
same "... none through the stack" "$(s $CTL stats | awk '$1 == "stack_requests" { print $2 }')" "$stack0"
check "back to port 7878 and max_read 16M" s $CTL config set port 7878 max_read 16M
same "... and the program with it" "$(xdp_field port) $(xdp_field max_read)" "7878 $((16 << 20))"

# ---- refusals ----
before=$(s $CTL stats | awk '$1 == "token_rejected" { print $2 }')
refuse "a token under the wrong key is refused" 3 "ACCES|token|denied" \
	c $DGFS fetch --key 0f0e0d0c0b0a09080706050403020100 -o /tmp/got 198.18.0.1 "${id[page]}"
refuse "an expired token is refused" 3 "ACCES|token|denied|expired" \
	c $DGFS fetch --key $key --expiry -10 -o /tmp/got 198.18.0.1 "${id[page]}"
token=$($DGFS token --key $key --addr 198.18.0.99 --expiry 3600 "${id[page]}")
refuse "a token minted for another address is refused" 3 "ACCES|token|denied" \
	c $DGFS fetch --token "${token% *}" --expiry "${token#* }" -o /tmp/got 198.18.0.1 "${id[page]}"
same "the three refusals were counted" \
	"$(s $CTL stats | awk '$1 == "token_rejected" { print $2 }')" $((before + 3))
refuse "an unknown chunk is NOENT" 4 "NOENT|unknown|no such" \
	c $DGFS fetch --key $key -o /tmp/got 198.18.0.1 "$(printf '%064d' 5)"
refuse "an offset past the end is RANGE" 5 "RANGE|range|past" \
	c $DGFS fetch --key $key --offset 4096 -o /tmp/got 198.18.0.1 "${id[page]}"

# ---- a chunk deleted while 4 clients read it ----
destroyed=$(stat_value obj_destroyed)
datagrams0=$(srv_stat datagrams)
pids=()
rm -f /tmp/race*.rc
for i in 1 2 3 4; do
	# Each leaves its exit status behind when it ends. One 16 KiB request
	# at a time (4 KiB for the two held below): 1024 (4096) of them each,
	# so that the delete comes while they read (whole 16 MiB reads at once
	# are done before it can).
	{ c $DGFS fetch --key $key --window 1 --req-size $((i <= 2 ? 4 : 16))K \
		-o /tmp/race$i 198.18.0.1 \
		"${id[big]}" >/tmp/race$i.log 2>&1
	  echo $? >/tmp/race$i.rc; } &
	pids+=($!)
done
# Delete once the replies flow (an event, not a fixed sleep). On a loaded
# host all four once finished before the poll saw them start, so the two
# slower ones are held (SIGSTOP) over the delete and let go after it, which
# keeps them mid-read; the other two race it freely.
replying() { (($(srv_stat datagrams) > datagrams0 + 100)); }
check "the 4 readers are being answered" wait_for 30 replying
pkill -STOP -f -- '-o /tmp/race[12] '
running=0
for i in 1 2 3 4; do [[ -e /tmp/race$i.rc ]] || running=$((running + 1)); done
check "chunk del under 4 readers" s $CTL chunk del "${id[big]}"
pkill -CONT -f -- '-o /tmp/race[12] '
check "... while readers were still reading ($running of 4)" test "$running" -ge 1
clean=0
for i in 1 2 3 4; do
	wait "${pids[$((i - 1))]}"
	rc=$(cat /tmp/race$i.rc)
	# Finished intact, or told the chunk is gone (NOENT, exit 4): never
	# wrong data, and never left waiting for replies that do not come.
	if [[ $rc == 0 ]] && cmp -s /tmp/race$i "$root/big"; then
		clean=$((clean + 1))
	elif [[ $rc == 4 ]] && grep -q "NOENT" /tmp/race$i.log; then
		clean=$((clean + 1))
	else
		echo "  reader $i: exit $rc: $(tail -n 2 /tmp/race$i.log)"
	fi
done
same "every reader finished intact or was told NOENT" $clean 4
for _ in $(seq 50); do
	(($(stat_value obj_destroyed) > destroyed)) && break
	sleep 0.1
done
same "the deleted chunk's last reference was dropped" "$(($(stat_value obj_destroyed) - destroyed))" 1

# ---- a flood more than the workers can serve ----
# Valid 16 MiB reads: each costs a worker thousands of datagrams, so even
# a client slowed down by a busy host asks more than the workers can send
# (with 1 MiB reads a client starved to 300 requests/s was kept up with).
# A worker sends each reply in slices and keeps at most 64 going: what is
# past that gets one slice (counted overloaded); and a send loop faster
# than the workers fills its client's share of the ring (64 of the 512
# slots, counted client_full) or the ring (ring_full). Either way the
# excess is shed, and counted.
check "server: chunk add big again (deleted above)" \
	s $CTL chunk add "${id[big]}" store main file big
tok=$($DGFS token --key $key --addr 198.18.0.2 --expiry 600 "${id[big]}")
flood() { c python3 tests/vm/flood.py 198.18.0.1 7878 "${id[big]}" ${tok% *} ${tok#* } $((16 << 20)) "$1"; }
flood 20000
stats=$(s $CTL stats)
check "the flood was shed (rings full, the client over its share or workers overloaded), and that was counted" \
	test "$(( $(stat ring_full) + $(stat client_full) + $(stat xdp_ring_full) + $(stat overloaded) ))" -gt 0
# The rings hold a backlog of 1 MiB reads: wait until the workers have
# worked through it (the request counter stands still), then read again.
for _ in $(seq 120); do
	r1=$(s $CTL stats | awk '$1 == "requests" { print $2 }')
	sleep 1
	[[ $(s $CTL stats | awk '$1 == "requests" { print $2 }') == "$r1" ]] && break
done
check "service resumes after the flood" bash -c \
	"ip netns exec $cli $DGFS fetch --key $key -o /tmp/got 198.18.0.1 ${id[odd]} && cmp -s /tmp/got $root/odd"

# ---- unloading ----
refuse "rmmod while the XDP program uses the kfuncs fails" 1 "in use" rmmod dgfs
sub0=$(s $CTL stats | awk '$1 == "xdp_submitted" { print $2 }')
flood 20000 >/dev/null 2>&1 &
flood=$!
flooding() { (($(s $CTL stats | awk '$1 == "xdp_submitted" { print $2 }') > sub0 + 100)); }
check "the second flood is under way" wait_for 30 flooding
check "xdp detach under load" s $CTL xdp detach dg0
wait $flood
server_and_client_down
trap - EXIT
dgfs_unload
finish
