#!/usr/bin/env bash
# The userspace tier's two ways in, on Debian's 6.1 in the VM on its virtio
# NIC: dgfs-userd's recvmmsg/sendmmsg socket worker against --af-xdp eth0
# (AF_XDP in copy mode, dgfs's XDP program in native mode on virtio_net),
# one worker thread each, with the client (dgfs-bench) on the host. The
# NIC is a tap device in a network namespace of our own (198.18.1.1 host
# side, 198.18.1.2 guest), as in tests/vm/bench_remote.sh; no dgfs.ko.
#
# The guest (tests/vm/bench_afxdp_remote_guest.sh) runs one server at a
# time on UDP 7878 and switches at our word (tests/vm/bench_afxdp_control.py);
# the socket tier runs with no XDP program on the NIC, as it does today.
# Rounds alternate which tier goes first. Server CPU is all the guest's
# busy time over a run (its /proc/stat: the receive softirq, the program,
# the copies, the server's threads), per request completed; with one vCPU
# that is also what bounds req/s. 4 KiB random reads of one 16 MiB chunk in
# the page cache, at THREADSxWINDOW levels. A benchmark, not a test: it
# asserts nothing.
#
#   tests/vm/bench_afxdp_remote.sh [ROUNDS] [SECONDS]      (as root)
#   BENCH_LEVELS="1x1 1x8 2x32"   BENCH_SMP=1 (guest vCPUs)
set -eu
cd "$(dirname "$0")/../.."
. tests/vm/bench_lib.sh
BUILD=${DGFS_BUILD:-build}
ROUNDS=${1:-3}
SECS=${2:-5}
LEVELS=${BENCH_LEVELS:-1x1 1x8 2x32}
SMP=${BENCH_SMP:-1}
key=000102030405060708090a0b0c0d0e0f	# the same in bench_afxdp_remote_guest.sh
ns=dgfs-bench-xsk tap=dgxsk0 guest=198.18.1.2	# names no other bench uses (bench_pin_vcpus finds QEMU by its tap)
out=$(mkdir -p "$BUILD/bench-afxdp-vm" && cd "$BUILD/bench-afxdp-vm" && pwd)
vm=
cleanup() {
	touch "$out/done"
	[[ -z $vm ]] || wait "$vm" || true
	ip netns del $ns 2>/dev/null || true
}
trap cleanup EXIT

for b in "$BUILD/dgfs-userd" "$BUILD/dgfs-bench"; do
	[[ -x $b ]] || { echo "bench_afxdp_remote: $b is not built (make userspace)" >&2; exit 1; }
done
rm -f "$out/ready" "$out/done" "$out/results" "$out/modes" "$out/bench.log"
ip netns del $ns 2>/dev/null || true
ip netns add $ns
ip -n $ns tuntap add dev $tap mode tap
ip -n $ns addr add 198.18.1.1/24 dev $tap
ip -n $ns link set $tap up
ip -n $ns link set lo up

tests/vm/vm.sh --tap $ns/$tap --smp "$SMP" --out "$out" tests/vm/bench_afxdp_remote_guest.sh \
	>"$out/vm.out" 2>&1 &
vm=$!
for _ in $(seq 600); do
	[[ -s $out/ready ]] && break
	kill -0 $vm 2>/dev/null || { cat "$out/vm.out"; echo "the VM stopped before it was ready"; exit 1; }
	sleep 0.5
done
[[ -s $out/ready ]] || { echo "the VM was not ready within 300 s"; exit 1; }
id=$(cat "$out/ready")
bench_pin_vcpus $tap "$out"
pin=("${BENCH_PIN_CLIENT[@]}")

# ctl COMMAND: one line to the guest's control, its answer on stdout.
ctl() {
	ip netns exec $ns bash -c 'exec 3<>"/dev/tcp/$0/7801" && echo "$1" >&3 && read -r a <&3 &&
		echo "$a"' $guest "$1"
}
guest_cpu() { ctl cpu | awk '{ print $1 / $2 }'; }

echo "# $(date -u +%FT%TZ) host $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# guest: Debian's 6.1, $SMP vCPU (TCG), virtio-net on a tap; $ROUNDS rounds x $SECS s," \
	"4 KiB random reads, levels (threads x window): $LEVELS"
: >"$out/results"
# Each level each round, the tier that goes first turned every round.
while read -r -u 3 round level tier; do
	threads=${level%x*} window=${level#*x}
	said=$(ctl "tier $tier")
	[[ $said == ok* ]] || { echo "guest: $said" >&2; exit 1; }
	[[ $tier == socket ]] || echo "# $said" >>"$out/modes"
	c0=$(guest_cpu)
	ip netns exec $ns "${pin[@]}" "$BUILD/dgfs-bench" -p 7878 --key $key \
		--threads "$threads" --window "$window" --size 4096 --random \
		--duration "$SECS" --json $guest "$id" \
		>"$out/one.json" 2>>"$out/bench.log" ||
		{ tail -n 5 "$out/bench.log" >&2; exit 1; }
	c1=$(guest_cpu)
	python3 tests/bench/rounds.py row "$out/one.json" mode="$tier" level="$level" round="$round" \
		guest_s="$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" >>"$out/results"
	tail -n1 "$out/results"
done 3< <(python3 tests/bench/rounds.py order "$ROUNDS" "$LEVELS" socket afxdp)
ctl stop >/dev/null
echo "# XDP on the guest's eth0 while AF_XDP ran: $(sort -u "$out/modes" | sed 's/^# ok afxdp //' | tr '\n' ' ')"
echo
python3 tests/bench/rounds.py ab "$out/results" socket afxdp
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(dgfs-bench's lines: $out/bench.log; the guest's: $out/bench_afxdp_remote_guest.log)"
