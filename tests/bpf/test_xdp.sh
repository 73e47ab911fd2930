#!/usr/bin/env bash
# dgfs's XDP program on the host kernel (no dgfs.ko here):
#  1. every frame shape through BPF_PROG_TEST_RUN (build/xdp_test);
#  2. the loader (userspace/xdp) on a veth pair between two namespaces of
#     our own, in skb and native mode, next to a second XDP program when
#     libxdp's dispatcher works here: counters move, a valid request reaches
#     a UDP server (no module: passed), a malformed one does not, detach
#     leaves the other program, the pinned counters outlive the program.
#   tests/bpf/test_xdp.sh BUILD_DIR
# expect-checks: 132 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
kernel_watch
build=${1:-build}
xt=$build/xdp_test
at=$build/xdp_attach_test
pass_obj=$build/bpf/xdp_pass.bpf.o
port=7878

# ---- 1. BPF_PROG_TEST_RUN ----------------------------------------------------
$xt && rc=0 || rc=$?
same "xdp_test (BPF_PROG_TEST_RUN) exits 0" "$rc" 0
refuse "have_kmod without dgfs.ko does not load" 1 "is dgfs.ko loaded|module is not loaded" $xt --kmod

# ---- 2. the loader on a veth pair --------------------------------------------
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ns_s=dgfs-xdp-s-$$ ns_c=dgfs-xdp-c-$$
pin=/sys/fs/bpf/dgfs-test-$$
tmp=$(mktemp -d)

cleanup() {
	# Unload before the device goes, so libxdp leaves no pins behind.
	[[ -e /run/netns/$ns_s ]] && S xdp-loader unload --all dg0 >/dev/null 2>&1
	ip netns del "$ns_s" 2>/dev/null
	ip netns del "$ns_c" 2>/dev/null
	rm -rf "$pin" "$tmp"
}
trap cleanup EXIT

# The loader and xdp-loader need the system's bpffs, which `ip netns exec`
# hides (it mounts a /sys of its own): enter only the network namespace.
S() { nsenter --net="/run/netns/$ns_s" "$@"; }
C() { ip netns exec "$ns_c" "$@"; }
A() { S "$at" -p "$pin" "$@"; }

ip netns add "$ns_s" && ip netns add "$ns_c" &&
	ip link add dg0 netns "$ns_s" type veth peer name dg1 netns "$ns_c" &&
	ip -n "$ns_s" addr add 198.18.0.1/24 dev dg0 &&
	ip -n "$ns_c" addr add 198.18.0.2/24 dev dg1 &&
	ip -n "$ns_s" link set dg0 up && ip -n "$ns_s" link set lo up &&
	ip -n "$ns_c" link set dg1 up
check "veth pair dg0/dg1 in two namespaces" [ $? = 0 ]
# A static neighbour: no ARP round in the way of the first datagram.
mac=$(ip -n "$ns_s" -o link show dg0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
ip -n "$ns_c" neigh replace 198.18.0.1 lladdr "$mac" dev dg1 nud permanent

# counter NAME: one of the pinned counters.
counter() { A counters | awk -v k="$1" '$1 == k { print $2 }'; }

# send KIND...: datagrams from the client namespace to the server's port
# (other_port: to the port after it), then a sentinel to the port after
# it. From one CPU, so that they cross the veth and the stack in order:
# once the sentinel is in, every datagram before it has been dropped or
# delivered.
send() {
	C taskset -c 0 python3 - "$port" "$@" <<'EOF'
import socket, struct, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for kind in sys.argv[2:]:
    req = struct.pack(">IBBHQ32sQII8s", 0x44474653, 1, 1, 0, 7, b"\x11" * 32,
                      0, 4096, 2000000000, b"\0" * 8)
    if kind == "bad_magic":
        req = b"XXXX" + req[4:]
    dport = port + 1 if kind == "other_port" else port
    s.sendto(req, ("198.18.0.1", dport))
s.sendto(b"dgfs-test-sentinel", ("198.18.0.1", port + 1))
EOF
}

# listen: count datagrams reaching UDP sockets on the port and the port
# after it in the server namespace (what XDP passed to the stack), until
# send()'s sentinel arrives: an event, not a time window. Writes "PORT
# OTHER" counts to $tmp/got ("timeout" if no sentinel came in 60 s).
listen() {
	rm -f "$tmp/ready" "$tmp/got"
	S python3 - "$port" "$tmp" <<'EOF' &
import select, socket, sys, time
port, tmp = int(sys.argv[1]), sys.argv[2]
socks = []
for p in (port, port + 1):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("198.18.0.1", p))
    s.setblocking(False)
    socks.append(s)
open(tmp + "/ready", "w").write("ready\n")
n, other, done, limit = 0, 0, False, time.time() + 60
while not done and time.time() < limit:
    for s in select.select(socks, [], [], 1)[0]:
        data = s.recv(2048)
        if s is socks[0]:
            n += 1
        elif data == b"dgfs-test-sentinel":
            done = True
        else:
            other += 1
# What came in before the sentinel may still wait in the first socket.
try:
    while socks[0].recv(2048):
        n += 1
except BlockingIOError:
    pass
open(tmp + "/got", "w").write("%d %d\n" % (n, other) if done else "timeout\n")
EOF
	wait_for 30 test -e "$tmp/ready"
}

# traffic: a malformed request, a valid one and one to another port; check
# what the counters and the UDP server saw.
traffic() {
	local mode=$1 valid bad nokmod
	valid=$(counter requests_valid) bad=$(counter bad_magic) nokmod=$(counter no_kmod)
	listen
	send bad_magic valid other_port
	wait
	same "$mode: the malformed request is counted as bad_magic" "$(($(counter bad_magic) - bad))" 1
	same "$mode: the valid request is counted as requests_valid" \
		"$(($(counter requests_valid) - valid))" 1
	same "$mode: ... and as no_kmod" "$(($(counter no_kmod) - nokmod))" 1
	same "$mode: only the valid request reached the UDP server; the other port's, its own" \
		"$(cat "$tmp/got" 2>/dev/null)" "1 1"
}

# in_status NAME WORD / not_in_status NAME WORD: xdp-loader status works,
# and names WORD (or does not).
in_status() { shows "$1" "\\b$2\\b" S xdp-loader status dg0; }
not_in_status() { lacks "$1" "\\b$2\\b" S xdp-loader status dg0; }

for mode in skb native; do
	check "$mode: xdp-loader loads a second program (xdp_pass)" \
		S xdp-loader load -m "$mode" dg0 "$pass_obj"
	st=$(S xdp-loader status dg0) || fail "$mode: xdp-loader status"
	if grep -q xdp_dispatcher <<<"$st"; then
		shared=1
		check "$mode: dgfs attaches next to it" A attach dg0 "$mode"
		in_status "$mode: xdp-loader status shows dgfs_xdp" dgfs_xdp
		in_status "$mode: ... and xdp_pass" xdp_pass
		check "$mode: dgfs_xdp_status sees both and dgfs's configuration" bash -c \
			"[[ '$(A status dg0)' =~ ^'attached 1 mode $mode prog_id '[0-9]+' others 1 have_kmod 0 port $port max_read 1048576'$ ]]"
	else
		# This host refuses freplace programs (BPF_PROG_TYPE_EXT), so libxdp
		# has no dispatcher: one program per interface. Coexistence is
		# tested in the VM (tests/vm/test_xdp_attach.sh).
		echo "SKIP: $mode: no libxdp dispatcher on this kernel: coexistence runs in the VM"
		shared=0
		refuse "$mode: dgfs does not push aside a program it cannot share with" 1 \
			"not using a dispatcher" A attach dg0 "$mode"
		in_status "$mode: xdp_pass is still there" xdp_pass
		S xdp-loader unload --all dg0
		check "$mode: dgfs attaches alone" A attach dg0 "$mode"
		in_status "$mode: xdp-loader status shows dgfs_xdp" dgfs_xdp
	fi
	traffic "$mode"

	check "$mode: attaching again replaces dgfs's program" A attach dg0 "$mode" port 9000
	same "$mode: one dgfs program, with the new port" \
		"$(S xdp-loader status dg0 | grep -c dgfs_xdp) $(A status dg0 | grep -o 'port [0-9]*')" \
		"1 port 9000"
	check "$mode: and back to port $port" A attach dg0 "$mode"

	check "$mode: detach" A detach dg0
	not_in_status "$mode: dgfs_xdp is gone" dgfs_xdp
	# Whichever way dgfs was attached (next to xdp_pass or alone), what
	# was there besides must be there still: nothing is skipped.
	if ((shared)); then
		in_status "$mode: xdp_pass stays attached" xdp_pass
	else
		lacks "$mode: dg0 has no XDP program left (dgfs was alone)" 'prog/xdp' \
			ip -n "$ns_s" -d link show dg0
	fi
	refuse "$mode: detach again: nothing there" 1 "no dgfs XDP program" A detach dg0
	valid=$(counter requests_valid)
	check "$mode: the counters outlive the program ($valid valid so far)" [ -n "$valid" ]
	S xdp-loader unload --all dg0 >/dev/null 2>&1
done

# Re-attaching counts on in the pinned map.
valid=$(counter requests_valid)
check "re-attach (skb)" A attach dg0 skb
listen
send valid valid
wait
same "re-attached program counts on from $valid" "$(counter requests_valid)" $((valid + 2))
check "detach" A detach dg0

refuse "attach to a missing interface" 1 "no interface" A attach nosuchdev skb
refuse "attach with port 0" 1 "port 0" A attach dg0 skb port 0
refuse "attach with max_read 0" 1 "max_read" A attach dg0 skb max_read 0
finish
