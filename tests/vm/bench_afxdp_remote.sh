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
printf '%s\n' "tier level round req_s p50_us p99_us timeouts guest_cpu_s guest_us_per_req" \
	>"$out/results"
for round in $(seq "$ROUNDS"); do
	for level in $LEVELS; do
		threads=${level%x*} window=${level#*x}
		tiers=(socket afxdp)
		((round % 2)) || tiers=(afxdp socket)
		for tier in "${tiers[@]}"; do
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
			python3 - "$tier" "$level" "$round" "$c0" "$c1" "$out/one.json" >>"$out/results" <<-'EOF'
			import json, sys
			tier, level, rnd, c0, c1, path = sys.argv[1:]
			r = json.load(open(path))
			n = max(r["completed"], 1)
			cpu = float(c1) - float(c0)
			print(tier, level, rnd, round(r["req_per_s"]), r["p50_us"], r["p99_us"],
			      r["timeouts"], round(cpu, 2), round(cpu / n * 1e6, 1))
			EOF
			tail -n1 "$out/results"
		done
	done
done
ctl stop >/dev/null
echo "# XDP on the guest's eth0 while AF_XDP ran: $(sort -u "$out/modes" | sed 's/^# ok afxdp //' | tr '\n' ' ')"
echo
python3 - "$out/results" <<'EOF'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:]]
levels = []
for r in rows:
    if r[1] not in levels:
        levels.append(r[1])
def med(tier, level, col):
    return st.median(float(r[col]) for r in rows if r[0] == tier and r[1] == level)
print("median of the rounds; per CPU = requests per second of guest CPU")
print(f"{'level':>6} {'tier':>7} {'req/s':>8} {'p50 us':>8} {'p99 us':>8} {'timeouts':>8} "
      f"{'guest us/req':>12} {'req/s per CPU':>13}")
for lv in levels:
    per = {}
    for tier in ("socket", "afxdp"):
        rps, p50, p99, to = med(tier, lv, 3), med(tier, lv, 4), med(tier, lv, 5), med(tier, lv, 6)
        us = med(tier, lv, 8)
        per[tier] = (rps, 1e6 / us if us else 0.0, us)
        print(f"{lv:>6} {tier:>7} {rps:8.0f} {p50:8.0f} {p99:8.0f} {to:8.0f} {us:12.1f} "
              f"{per[tier][1]:13.0f}")
    a, b = per["afxdp"], per["socket"]
    print(f"{lv:>6} {'ratio':>7} {a[0] / b[0]:7.2f}x{'':>27}{a[2] / b[2]:12.2f}x "
          f"{a[1] / b[1]:12.2f}x  (AF_XDP / socket)")
EOF
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(dgfs-bench's lines: $out/bench.log; the guest's: $out/bench_afxdp_remote_guest.log)"
