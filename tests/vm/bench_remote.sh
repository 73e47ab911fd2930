#!/usr/bin/env bash
# `make bench-fast`, second half: the storage host in the VM, the load
# generator on the host. The VM's NIC is a tap device in a network namespace
# of our own (198.18.1.1 host side, 198.18.1.2 guest); tests/vm/
# bench_remote_guest.sh serves one chunk through the kernel path (7878) and
# through dgfs-userd (7879), and dgfs-bench runs natively on the host.
#
# Why: with the client inside the TCG guest (tests/vm/bench_fast.sh) it
# takes about half of the guest's CPU, so that benchmark measures client and
# server together. Here every CPU cycle the guest spends is the server's:
# req/s is the server's capacity, and server CPU is all the guest's busy
# time (read from /proc/stat inside it, through tests/vm/cpustat_server.py).
# A benchmark, not a test: it asserts nothing.
set -eu
cd "$(dirname "$0")/../.."
. tests/vm/bench_lib.sh
BUILD=${DGFS_BUILD:-build}
DURATION=${BENCH_DURATION:-5}
ROUNDS=${BENCH_ROUNDS:-3}	# kernel and userspace alternate, round after round
THREADS=${BENCH_THREADS:-2}
WINDOW=${BENCH_WINDOW:-32}	# 4 KiB reads in flight per thread
WINDOW_1M=${BENCH_WINDOW_1M:-4}	# 1 MiB reads: 32 MiB in flight overflows any socket buffer
SMP=${BENCH_SMP:-1}
key=000102030405060708090a0b0c0d0e0f	# the same in bench_remote_guest.sh
ns=dgfs-bench-h tap=dgtap0 guest=198.18.1.2
out=$(mkdir -p "$BUILD/bench-remote" && cd "$BUILD/bench-remote" && pwd)
vm=
trap 'bench_vm_end "$out" "$vm" $ns' EXIT

rm -f "$out/ready" "$out/done" "$out/first-run-done" "$out/bench.json" "$out/perf" "$out"/perf*.txt
if [[ ${BENCH_PERF:-0} == 1 ]]; then	# the guest profiles the first run
	command -v perf >/dev/null || { echo "BENCH_PERF=1 needs perf (apt-get install linux-perf)"; exit 1; }
	touch "$out/perf"
fi
bench_tap $ns $tap 198.18.1.1

tests/vm/vm.sh --tap $ns/$tap --smp "$SMP" --out "$out" tests/vm/bench_remote_guest.sh \
	>"$out/vm.out" 2>&1 &
vm=$!
bench_vm_ready "$out" $vm || exit 1
id=$(cat "$out/ready")

# The guest's vCPU gets host CPU 1 to itself; QEMU's other threads (its
# virtio-net backend) and the client share CPU 0.
bench_pin_vcpus $tap "$out"
pin=("${BENCH_PIN_CLIENT[@]}")

guest_cpu() { bench_guest_cpu $ns $guest; }

# run NAME PORT SIZE WINDOW: one bench run of round $round; prints one JSON line
run() {
	local name=$1 port=$2 size=$3 window=$4 c0 c1 res
	c0=$(guest_cpu)
	res=$(ip netns exec $ns "${pin[@]}" "$BUILD/dgfs-bench" -p "$port" --key $key --threads "$THREADS" \
		--duration "$DURATION" --window "$window" --size "$size" --random --json \
		$guest "$id" 2>>"$out/bench.log")
	c1=$(guest_cpu)
	python3 - "$name" "$res" "$c0" "$c1" "$round" <<'PY'
import json, sys
name, res, c0, c1 = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
gb = res["bytes"] / 1e9
res.update(name=name, round=int(sys.argv[5]), server_cpu_s=c1 - c0,
           cpu_s_per_gb=(c1 - c0) / gb if gb else float("nan"))
print(json.dumps(res))
PY
}

echo "client on the host ($THREADS threads, window $WINDOW for 4 KiB, $WINDOW_1M for 1 MiB)," \
	"server in the VM ($SMP vCPU), $ROUNDS rounds of ${DURATION} s runs"
rm -f "$out/bench.log"
# The host's speed drifts (it is shared): alternating the two servers in
# short runs, round after round, compares each pair under the same load.
for ((round = 1; round <= ROUNDS; round++)); do
	run kernel-4k 7878 4096 "$WINDOW"
	[[ $round != 1 ]] || touch "$out/first-run-done"	# the guest's profile, if any, ends here
	run userspace-4k 7879 4096 "$WINDOW"
	run kernel-1m 7878 1048576 "$WINDOW_1M"
	run userspace-1m 7879 1048576 "$WINDOW_1M"
done >"$out/bench.json"
python3 tests/vm/bench_report.py "$out/bench.json"
echo "(dgfs-bench's own lines: $out/bench.log; the guest's counters: $out/bench_remote_guest.log)"
