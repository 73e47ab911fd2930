#!/usr/bin/env bash
# rmmod, and a namespace's end, while requests pour in through the service
# sockets (the stack path, no XDP): from another namespace over veth, and
# from the server's own namespace (127.0.0.1 and ::1). Teardown used to free
# the rings before closing the sockets, so a request in between reached
# freed rings. The kernel must stay clean (checked after every round, and by
# the harness) and every object must be freed.
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

srv=dgfs-us cli=dgfs-uc
s() { ip netns exec $srv "$@"; }
flooders=()
stop_flooders() {
	((${#flooders[@]})) && kill "${flooders[@]}" 2>/dev/null
	for p in "${flooders[@]}"; do wait "$p" 2>/dev/null; done
	flooders=()
}
cleanup() {
	stop_flooders
	ip netns del $srv 2>/dev/null
	ip netns del $cli 2>/dev/null
}
trap cleanup EXIT

# HOST PORT CHUNKID: 4 KiB reads, never waiting for replies, until killed
# (or 5 minutes). Send errors (the port gone) are ignored.
FLOOD='
import socket, struct, sys, time
host, port, chunk = sys.argv[1:4]
req = struct.pack(">IBBHQ32sQII8s", 0x44474653, 1, 1, 0, 1, bytes.fromhex(chunk),
                  0, 4096, 0, bytes(8))
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + 300
while time.monotonic() < end:
    for _ in range(100):
        try:
            s.sendto(req, (host, int(port)))
        except OSError:
            pass
'
srv_stat() { s $CTL stats | awk -v k="$1" '$1 == k { print $2 }'; }
kernel_trouble() {
	dmesg | grep -E 'WARNING:|BUG:|Oops|general protection|refcount_t|RIP:|Call Trace'
}
# The module's last word when it went: its own account of every object.
unloaded_clean() {
	dmesg | grep -E 'dgfs: (unloaded|leak)' | tail -1 |
		grep -Eq 'dgfs: unloaded, objects created ([0-9]+) destroyed \1$'
}

root=$(scratch unload)
head -c 4096 /dev/urandom >"$root/c"
id=$(sha256 "$root/c")

# A server with a chunk, auth off (every request is answered), and three
# flooding clients; returns once the server has taken requests from them.
start_round() {
	local r=$1 n
	dgfs_load
	check "round $r: two namespaces" two_hosts $srv $cli
	check "round $r: store, chunk, auth off" bash -c \
		"ip netns exec $srv $CTL store add s path $root &&
		 ip netns exec $srv $CTL chunk add $id store s file c &&
		 ip netns exec $srv $CTL config set auth off 2>/dev/null"
	ip netns exec $cli python3 -c "$FLOOD" 198.18.0.1 7878 "$id" &
	flooders+=($!)
	ip netns exec $srv python3 -c "$FLOOD" 127.0.0.1 7878 "$id" &
	flooders+=($!)
	ip netns exec $srv python3 -c "$FLOOD" ::1 7878 "$id" &
	flooders+=($!)
	for _ in $(seq 600); do
		n=$(srv_stat stack_requests)
		((${n:-0} >= 3000)) && [[ $(srv_stat replies) != 0 ]] && break
		sleep 0.1
	done
	check "round $r: the server answers the flood through its sockets ($n requests)" \
		test "${n:-0}" -ge 3000
}

for r in 1 2 3 4; do
	start_round $r
	t0=$(date +%s%N)
	check "round $r: rmmod while three clients flood" rmmod dgfs
	# Printed, not bounded: how long the unload waited (its grace periods;
	# docs/TESTING.md, the debug kernel's hung-task bound).
	echo "  round $r: rmmod took $((($(date +%s%N) - t0) / 1000000)) ms"
	check "round $r: the module freed every object" unloaded_clean
	stop_flooders
	ip netns del $srv
	ip netns del $cli
	same "round $r: dmesg clean" "$(kernel_trouble)" ""
done

# A namespace that ends while flooded over veth: its name goes first, then
# its own flooders, so it exits with the veth flood still coming in.
for r in 5 6; do
	start_round $r
	destroyed=$(stat_value obj_destroyed)
	ip netns del $srv
	kill "${flooders[1]}" "${flooders[2]}"
	for _ in $(seq 600); do
		(($(stat_value obj_destroyed) >= destroyed + 2)) && break
		sleep 0.1
	done
	same "round $r: the namespace's store and chunk were freed" \
		"$(($(stat_value obj_destroyed) - destroyed))" 2
	stop_flooders
	ip netns del $cli
	check "round $r: rmmod" rmmod dgfs
	check "round $r: the module freed every object" unloaded_clean
	same "round $r: dmesg clean" "$(kernel_trouble)" ""
done
finish
