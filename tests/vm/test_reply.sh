#!/usr/bin/env bash
# The reply path: IPv4 replies leave with DF set; datagrams the stack
# drops count as send errors, not as sent; a port move that cannot open
# its IPv6 socket keeps the working ones; a port move does not wait for a
# reply stuck on a full send buffer, and the old socket goes once that
# reply is done; a small read is answered while a big reply is stuck.
# expect-checks: 54 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

DGFS=$BUILD/dgfs
server_and_client || finish

root=$(scratch reply)
head -c $((64 << 10)) /dev/urandom >"$root/small"
head -c $((16 << 20)) /dev/urandom >"$root/big"
small=$(sha256 "$root/small") big=$(sha256 "$root/big")
cat "$root/small" "$root/big" >/dev/null	# cached: no slow path here
key=000102030405060708090a0b0c0d0e0f
check "server: store, chunks, key" \
	s $CTL -b - <<<"store add main path $root
chunk add $small store main file small
chunk add $big store main file big
config set key $key max_read 16M" || finish
# No XDP program: requests reach the module through its sockets.

srv_stat() { s $CTL stats | awk -v k="$1" '$1 == k { print $2 }'; }
# fetch HOST ID [PORT]: the chunk into /tmp/got, checked
fetch() {
	c $DGFS fetch --key $key -p "${3:-7878}" --timeout 1200 --retries 3 \
		-o /tmp/got "$1" "$2" && cmp -s /tmp/got "$root/small"
}
ports() { s ss -Hlun 'sport >= :7878' | awk '{ print $4 }' | sort | tr '\n' ' '; }

# ---- DF ----
out=$(c python3 tests/vm/udp_df.py 7878 $DGFS fetch --key $key -o /tmp/got 198.18.0.1 "$small") &&
	rc=0 || rc=$?
same "IPv4 read under a packet counter" "$rc $(cmp -s /tmp/got "$root/small" && echo same)" "0 same"
read -r _ packets _ df <<<"$out"
check "replies seen ($out)" test "${packets:-0}" -ge 1
same "every IPv4 reply packet has DF set" "${df:-none}" "$packets"

# Both ends know each other's link address for good: the qdisc below
# and the blocked reply further down stop ARP on the server's side.
mac0=$(s cat /sys/class/net/dg0/address) mac1=$(c cat /sys/class/net/dg1/address)
check "client: a permanent neighbour entry for the server" \
	c ip neigh replace 198.18.0.1 lladdr "$mac0" dev dg1 nud permanent
check "server: a permanent neighbour entry for the client" \
	s ip neigh replace 198.18.0.2 lladdr "$mac1" dev dg0 nud permanent

# ---- send errors ----
# A qdisc that holds nothing: every reply is dropped under the module.
check "server: a pfifo qdisc of limit 0 on dg0" s tc qdisc add dev dg0 root pfifo limit 0
dg0=$(srv_stat datagrams) se0=$(srv_stat send_errors) rq0=$(srv_stat requests)
c $DGFS fetch --key $key --timeout 200 --retries 1 -o /tmp/got 198.18.0.1 "$small" 2>/dev/null
rc=$?
same "a read through it gets nothing (timed out, exit 8)" $rc 8
dg1=$(srv_stat datagrams) se1=$(srv_stat send_errors) rq1=$(srv_stat requests)
check "the module took the requests ($rq0 -> $rq1)" test "$rq1" -gt "$rq0"
same "no datagram counted as sent" "$dg1" "$dg0"
check "the dropped datagrams count as send errors, at least one a request ($se0 -> $se1)" \
	test "$se1" -ge $((se0 + rq1 - rq0)) -a "$se1" -gt "$se0"
check "server: qdisc removed" s tc qdisc del dev dg0 root
check "and reads work again" fetch 198.18.0.1 "$small"
same "... their datagrams counted as sent, no more errors" \
	"$(($(srv_stat datagrams) > dg1)) $(srv_stat send_errors)" "1 $se1"

# ---- an IPv6 failure during a port move ----
# The tool itself: an IPv6 bind in its cgroup fails, an IPv4 one does not.
bind6='import socket, sys; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::", int(sys.argv[1])))'
bind4='import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", int(sys.argv[1])))'
refuse "deny_bind6.py: IPv6 binds in its cgroup fail with EPERM" 1 "PermissionError" \
	python3 tests/vm/deny_bind6.py python3 -c "$bind6" 7990
check "deny_bind6.py: IPv4 binds do not" python3 tests/vm/deny_bind6.py python3 -c "$bind4" 7990
check "before: IPv4 read" fetch 198.18.0.1 "$small"
check "before: IPv6 read" fetch 2001:db8:2::1 "$small"
refuse "a port move whose IPv6 socket cannot bind fails, and says why" 1 \
	"cannot open the fast-path UDP socket \(IPv6\)" \
	python3 tests/vm/deny_bind6.py ip netns exec $srv $CTL config set port 7900
same "the port is still 7878" "$(s $CTL -j config show | python3 -c 'import json, sys; print(json.load(sys.stdin)["port"])')" 7878
same "both sockets still on 7878, none on 7900" "$(ports)" "0.0.0.0:7878 [::]:7878 "
check "after: IPv4 read" fetch 198.18.0.1 "$small"
check "after: IPv6 read (the IPv6 socket was kept)" fetch 2001:db8:2::1 "$small"
check "a port move that can bind both works" s $CTL config set port 7900
same "both sockets on 7900" "$(ports)" "0.0.0.0:7900 [::]:7900 "
check "IPv6 read on 7900" fetch 2001:db8:2::1 "$small" 7900
check "back to 7878" s $CTL config set port 7878

# ---- a port move while a reply waits for send buffer space ----
ms() { echo $(($(date +%s%N) / 1000000)); }
# move_ms PORT: how long `config set port PORT` takes, in ms
move_ms() {
	local t0=$(ms)
	s $CTL config set port "$1" || return 1
	echo $(($(ms) - t0))
}
a=$(move_ms 7901) b=$(move_ms 7878)
control=$(((a + b) / 2))
check "control: two port moves with no reply in flight (${a} ms, ${b} ms)" test -n "$a" -a -n "$b"
# The server forgets the client's link address and the client stops
# answering ARP: replies wait in the neighbour's queue (big enough for
# more than the socket's 4 MiB send buffer), charged to the socket, and
# the one reply in flight soon waits for send buffer space, 200 ms per
# skb, dropping each after its wait (~40 s for 16 MiB).
check "client: ignores ARP" c sysctl -qw net.ipv4.conf.dg1.arp_ignore=8
check "server: a long-lived, large unresolved-neighbour queue on dg0" \
	s sysctl -qw net.ipv4.neigh.dg0.unres_qlen_bytes=$((64 << 20)) net.ipv4.neigh.dg0.mcast_solicit=1000
check "server: forgets the client's link address" s ip neigh del 198.18.0.2 dev dg0
se0=$(srv_stat send_errors) rp0=$(srv_stat replies)
ip netns exec $cli $DGFS fetch --key $key --req-size 16M --window 1 --timeout 120000 --retries 0 \
	-o /dev/null 198.18.0.1 "$big" 2>/dev/null &
big_fetch=$!
blocked() { (($(srv_stat send_errors) > se0)); }
check "a 16 MiB reply is stuck on a full send buffer (send_errors moves)" wait_for 60 blocked
t=$(move_ms 7900) && rc=0 || rc=$?
rp1=$(srv_stat replies)
same "the port move succeeds" $rc 0
same "... and returns while that reply is still being sent (replies $rp0 -> $rp1)" "$rp1" "$rp0"
check "... in ${t} ms, against ${control} ms without it (at most 10x + 1 s)" \
	test "${t:-999999}" -le $((10 * control + 1000))
same "the reply's socket (IPv4, 7878) lives on beside the new ones" \
	"$(ports)" "0.0.0.0:7878 0.0.0.0:7900 [::]:7900 "
check "server: learns the client's link address again" \
	s ip neigh replace 198.18.0.2 lladdr "$mac1" dev dg0 nud permanent
done_reply() { (($(srv_stat replies) > rp0)); }
check "the reply ends" wait_for 120 done_reply
old_gone() { [[ $(ports) == "0.0.0.0:7900 [::]:7900 " ]]; }
check "and the old socket is closed after it" wait_for 10 old_gone
kill $big_fetch 2>/dev/null
wait $big_fetch 2>/dev/null
c sysctl -qw net.ipv4.conf.dg1.arp_ignore=0
check "reads on 7900" fetch 198.18.0.1 "$small" 7900
check "back to 7878" s $CTL config set port 7878

# ---- a small read is not stuck behind a big one ----
# Requests of both families go into one CPU's ring (RPS hands all that
# dg0 receives to CPU 0). The big reply (IPv4) is stuck as above; the
# small one (IPv6) goes through the other socket, whose send buffer is
# empty. A worker that sends each reply whole answers the small read
# only after the big one, some 40 s later; taking turns, after a slice.
check "server: RPS hands what dg0 receives to CPU 0" \
	s sh -c 'echo 1 >/sys/class/net/dg0/queues/rx-0/rps_cpus'
check "client: ignores ARP" c sysctl -qw net.ipv4.conf.dg1.arp_ignore=8
check "server: forgets the client's link address" s ip neigh del 198.18.0.2 dev dg0
se0=$(srv_stat send_errors) rp0=$(srv_stat replies)
ip netns exec $cli $DGFS fetch --key $key --req-size 16M --window 1 --timeout 120000 --retries 0 \
	-o /dev/null 198.18.0.1 "$big" 2>/dev/null &
big_fetch=$!
check "a 16 MiB reply is stuck on a full send buffer" wait_for 60 blocked
rm -f /tmp/got
check "a 64 KiB read over IPv6 meanwhile is answered (within 6 s without a byte)" \
	c $DGFS fetch --key $key --timeout 6000 --retries 2 -o /tmp/got 2001:db8:2::1 "$small"
check "... whole" cmp -s /tmp/got "$root/small"
se1=$(srv_stat send_errors) rp1=$(srv_stat replies)
still() { (($(srv_stat send_errors) > se1)); }
big_done() { (($(srv_stat replies) > rp1)); }
check "... while the big reply is still stuck (send_errors moves on)" wait_for 10 still
check "server: learns the client's link address again" \
	s ip neigh replace 198.18.0.2 lladdr "$mac1" dev dg0 nud permanent
check "the big reply ends" wait_for 120 big_done
kill $big_fetch 2>/dev/null
wait $big_fetch 2>/dev/null
c sysctl -qw net.ipv4.conf.dg1.arp_ignore=0

server_and_client_down
dgfs_unload
finish
