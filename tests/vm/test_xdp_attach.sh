#!/usr/bin/env bash
# dgfs's XDP program on Debian's 6.1 kernel: it passes the 6.1 verifier
# with and without dgfs.ko, sits in libxdp's dispatcher next to another XDP
# program on a veth, counts, hands valid requests to the module, and holds
# the module while attached (rmmod fails until it is detached).
# expect-checks: 160 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

XT=$BUILD/xdp_test
AT=$BUILD/xdp_attach_test
PASS_OBJ=$BUILD/bpf/xdp_pass.bpf.o
PORT=7878
ns_s=dgfs-xdp-s ns_c=dgfs-xdp-c
pin=/sys/fs/bpf/dgfs-test
tmp=$(mktemp -d)

S() { nsenter --net="/run/netns/$ns_s" "$@"; }
C() { ip netns exec "$ns_c" "$@"; }
A() { S "$AT" -p "$pin" "$@"; }

cleanup() {
	[[ -e /run/netns/$ns_s ]] && S xdp-loader unload --all dg0 >/dev/null 2>&1
	ip netns del "$ns_s" 2>/dev/null
	ip netns del "$ns_c" 2>/dev/null
	rm -rf "$pin" "$tmp"
}
trap cleanup EXIT
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

# ---- the 6.1 verifier, without the module ---------------------------------
$XT && rc=0 || rc=$?
same "xdp_test (BPF_PROG_TEST_RUN on 6.1) exits 0" "$rc" 0
refuse "have_kmod needs the module" 1 "is dgfs.ko loaded|module is not loaded" $XT --kmod

# ---- a veth pair, a second XDP program --------------------------------------
modprobe veth
check "veth pair dg0/dg1 in two namespaces" two_hosts "$ns_s" "$ns_c"
mac=$(ip -n "$ns_s" -o link show dg0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
ip -n "$ns_c" neigh replace 198.18.0.1 lladdr "$mac" dev dg1 nud permanent

counter() { A counters | awk -v k="$1" '$1 == k { print $2 }'; }

# send KIND...: datagrams from the client namespace to the server's port,
# then a sentinel to the port after it. From one CPU, so that they cross
# the veth and the stack in order: once the sentinel is in, every
# datagram before it has been dropped, taken by the module or delivered.
send() {
	C taskset -c 0 python3 - "$PORT" "$@" <<'EOF'
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
	S python3 - "$PORT" "$tmp" <<'EOF' &
import select, socket, sys, time
port, tmp = int(sys.argv[1]), sys.argv[2]
socks = []
for p in (port, port + 1):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("198.18.0.1", p))
    except OSError:
        # With a store, dgfs.ko's own socket has the port; what reaches
        # the stack there is counted by the module (stack_requests).
        if p != port:
            raise
        s = None
    else:
        s.setblocking(False)
    socks.append(s)
open(tmp + "/ready", "w").write("ready\n")
n, other, done, limit = 0, 0, False, time.time() + 60
while not done and time.time() < limit:
    for s in select.select([s for s in socks if s], [], [], 1)[0]:
        data = s.recv(2048)
        if s is socks[0]:
            n += 1
        elif data == b"dgfs-test-sentinel":
            done = True
        else:
            other += 1
# What came in before the sentinel may still wait in the first socket.
try:
    while socks[0] and socks[0].recv(2048):
        n += 1
except BlockingIOError:
    pass
open(tmp + "/got", "w").write("%d %d\n" % (n, other) if done else "timeout\n")
EOF
	wait_for 30 test -e "$tmp/ready"
}

# delta NAME BEFORE: how far a counter moved.
delta() { echo $(($(counter "$1") - $2)); }
# in_status NAME WORD / not_in_status NAME WORD: xdp-loader status works,
# and names WORD (or does not).
in_status() { shows "$1" "\\b$2\\b" S xdp-loader status dg0; }
not_in_status() { lacks "$1" "\\b$2\\b" S xdp-loader status dg0; }

for mode in skb native; do
	S xdp-loader unload --all dg0 >/dev/null 2>&1
	check "$mode: xdp-loader loads xdp_pass" S xdp-loader load -m "$mode" dg0 "$PASS_OBJ"
	in_status "$mode: ... in libxdp's dispatcher" xdp_dispatcher
	check "$mode: dgfs attaches next to it (no module)" A attach dg0 "$mode"
	in_status "$mode: xdp-loader status shows dgfs_xdp" dgfs_xdp
	in_status "$mode: ... and xdp_pass" xdp_pass
	same "$mode: dgfs_xdp_status" "$(A status dg0 | sed 's/prog_id [0-9]*/prog_id N/')" \
		"attached 1 mode $mode prog_id N others 1 have_kmod 0 port $PORT max_read 1048576"

	valid=$(counter requests_valid) bad=$(counter bad_magic) nokmod=$(counter no_kmod)
	listen
	send bad_magic valid
	wait
	same "$mode: bad_magic counted" "$(delta bad_magic "$bad")" 1
	same "$mode: requests_valid counted" "$(delta requests_valid "$valid")" 1
	same "$mode: no_kmod counted" "$(delta no_kmod "$nokmod")" 1
	same "$mode: only the valid request reached the UDP server" "$(cat "$tmp/got" 2>/dev/null)" "1 0"

	check "$mode: detach" A detach dg0
	not_in_status "$mode: dgfs_xdp is gone" dgfs_xdp
	in_status "$mode: xdp_pass stays" xdp_pass
done

# `ip netns exec` hides /sys/fs/bpf; the loader then uses pid 1's bpffs.
same "the counters read the same under ip netns exec" \
	"$(ip netns exec "$ns_s" "$AT" -p "$pin" counters 2>&1)" "$(A counters)"
check "attach under ip netns exec" ip netns exec "$ns_s" "$AT" -p "$pin" attach dg0 native
in_status "... still attached after it exits, in the system's dispatcher" dgfs_xdp
in_status "... next to xdp_pass" xdp_pass
check "detach under ip netns exec" ip netns exec "$ns_s" "$AT" -p "$pin" detach dg0

# ---- with the module -----------------------------------------------------
# shellcheck disable=SC2046
modprobe -a $(modinfo -F depends "$BUILD/dgfs.ko" | tr , ' ')
dgfs_load
# A namespace gets its rings at its first store: one in the server's
# namespace (xdp_test --kmod adds one in its own).
root=$(scratch xdp-attach)
check "store add in the server's namespace (the rings come with it)" S "$CTL" store add s path "$root"
DGFSCTL=$CTL $XT --kmod && rc=0 || rc=$?
same "xdp_test --kmod (BPF_PROG_TEST_RUN calling the module) exits 0" "$rc" 0

for mode in skb native; do
	S xdp-loader unload --all dg0 >/dev/null 2>&1
	check "$mode: xdp-loader loads xdp_pass" S xdp-loader load -m "$mode" dg0 "$PASS_OBJ"
	check "$mode: dgfs attaches with have_kmod, next to xdp_pass" A attach dg0 "$mode" kmod
	in_status "$mode: ... xdp_pass still there" xdp_pass
	same "$mode: dgfs_xdp_status says have_kmod" "$(A status dg0 | grep -o 'have_kmod [01]')" \
		"have_kmod 1"

	valid=$(counter requests_valid) sub=$(counter submitted) bad=$(counter bad_magic)
	reqs=$(S "$CTL" stats | awk '$1 == "requests" { print $2 }')
	stack=$(S "$CTL" stats | awk '$1 == "stack_requests" { print $2 }')
	listen
	send valid bad_magic valid
	wait
	same "$mode: requests_valid counted" "$(delta requests_valid "$valid")" 2
	same "$mode: submitted to the module" "$(delta submitted "$sub")" 2
	same "$mode: bad_magic counted" "$(delta bad_magic "$bad")" 1
	same "$mode: nothing reached the UDP server (the module took them)" \
		"$(cat "$tmp/got" 2>/dev/null)" "0 0"
	same "$mode: nor the module's socket through the stack" \
		"$(S "$CTL" stats | awk '$1 == "stack_requests" { print $2 }')" "$stack"
	# The module's workers take them off the rings after XDP handed
	# them over: wait for that, then the count must be exact.
	module_reqs() { S "$CTL" stats | awk '$1 == "requests" { print $2 }'; }
	took2() { (($(module_reqs) - ${reqs:-0} >= 2)); }
	wait_for 10 took2
	same "$mode: the module took 2 requests off its rings" "$(($(module_reqs) - ${reqs:-0}))" 2
	A counters | grep -Ev ' 0$' | sed "s/^/  $mode counters: /"

	refuse "$mode: rmmod dgfs fails while the program is attached" 1 "in use" rmmod dgfs
	check "$mode: detach" A detach dg0
	in_status "$mode: xdp_pass stays" xdp_pass
done

S xdp-loader unload --all dg0 >/dev/null 2>&1
dgfs_unload
finish
