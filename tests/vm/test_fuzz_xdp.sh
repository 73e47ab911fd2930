#!/usr/bin/env bash
# The XDP program fuzzed with dgfs.ko loaded (tests/fuzz/xdp_fuzz.c with
# --kmod): random and mutated frames through BPF_PROG_TEST_RUN on a veth
# of a namespace that serves a store. The program's verdicts, unchanged
# passed frames and counters are checked against the reference as on the
# host; here valid requests also reach the module, which must find
# nothing malformed among them (the program hands over only what the
# reference calls valid), refuse what it refuses with a count for each,
# and serve exactly what was submitted.
#   FUZZ_FRAMES (default 100000) frames; tests/fuzz/vm-long.sh sets more.
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

frames=${FUZZ_FRAMES:-100000}
ns=fuzz-xdp
n() { ip netns exec $ns "$@"; }
cleanup() { ip netns del $ns 2>/dev/null; }
trap cleanup EXIT

dgfs_load
modprobe veth
ip netns add $ns && n ip link add dgaddr0 type veth peer name dgaddr1 &&
	n ip addr add 198.18.0.2/24 dev dgaddr0 && n ip addr add 2001:db8:2::2/64 dev dgaddr0 nodad &&
	n ip link set dgaddr0 up && n ip link set dgaddr1 up && n ip link set lo up
check "namespace $ns with veth dgaddr0 (198.18.0.2, 2001:db8:2::2)" [ $? = 0 ]
root=$(scratch fuzz-xdp)
head -c 100000 /dev/urandom >"$root/c"
check "a store, a chunk, a key" n bash -c "$CTL store add s path $root && \
	$CTL chunk add $(sha256 "$root/c") store s file c && \
	$CTL config set key 000102030405060708090a0b0c0d0e0f"

# mod NAME: the module's counter in $ns
mod() { n $CTL stats | awk -v k="$1" '$1 == k { print $2 }'; }
names="requests malformed ring_full client_full src_unspec src_loopback src_multicast src_mapped src_local bad_dst"
declare -A before
for c in $names; do before[$c]=$(mod "$c"); done

n $BUILD/xdp_fuzz --kmod --dev dgaddr0 --frames "$frames" | tee "$DGFS_OUT/xdp_fuzz_kmod.out"
rc=${PIPESTATUS[0]}
same "xdp_fuzz --kmod exited 0" "$rc" 0
# xdp NAME: what the program counted over the run
xdp() { grep '^# counted:' "$DGFS_OUT/xdp_fuzz_kmod.out" | tr ' ' '\n' | grep -A1 -x "$1" | tail -1; }
delta() { echo $(($(mod "$1") - ${before[$1]})); }

sub=$(xdp submitted)
check "valid requests reached the module ($sub submitted)" test "${sub:-0}" -gt 0
# The workers drain the rings: wait until they have taken all that was
# queued (dgfsctl itself is slow under TCG: a deadline, not a count).
end=$((SECONDS + 120))
while ((SECONDS < end)) && [[ $(delta requests) != "$sub" ]]; do sleep 0.2; done
same "the module served exactly what the program submitted" "$(delta requests)" "$sub"
same "nothing malformed reached the module" "$(delta malformed)" 0
# -ENOSPC is the ring's being full or the client's share of it: the
# program counts both as ring_full.
same "the module's ring_full and client_full add up to the program's ring_full" \
	"$(($(delta ring_full) + $(delta client_full)))" "$(xdp ring_full)"
refused=0
for c in src_unspec src_loopback src_multicast src_mapped src_local bad_dst; do
	refused=$((refused + $(delta "$c")))
done
echo "  module refusals by address: $refused; the program's kmod_rejected: $(xdp kmod_rejected)"
same "every kmod_rejected is a refusal the module counted by address" "$refused" "$(xdp kmod_rejected)"
check "some were refused for their addresses" test "$refused" -gt 0

cleanup
trap - EXIT
dgfs_unload
finish
