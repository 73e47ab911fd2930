#!/usr/bin/env bash
# 1 MiB reads in the VM: the kernel fast path against nginx in one boot,
# each cell with where its CPU went and how many packets it took, at each
# MTU of the host-guest link (the guest's eth0 and the host's tap alike).
#
#   tests/vm/bench_mib.sh [BUILD]
#   BENCH_MTUS="1500 9000" BENCH_CONCS="1 4 16" BENCH_ROUNDS=3 BENCH_VM_DURATION=3
#   BENCH_PERF=1   + a profile of one extra cell a server and MTU (4
#                    outstanding, BENCH_PERF_DURATION s, default 10): perf
#                    -a -g in the guest, started BENCH_PERF_SETTLE s (20)
#                    before the cell (under TCG on a loaded host perf
#                    takes that long to start sampling; the first perf of
#                    a boot samples next to nothing, so one runs idle
#                    first); without snapshots
#
# The guest is tests/bench/guest.sh and the cells are `make bench`'s
# (tests/bench/client.sh), so the numbers are comparable with its 1 MiB
# table. Around each cell: the guest's snapshot (its /proc/stat split,
# eth0's packets, /proc/net/snmp, the module's counters), the host's view
# of QEMU's threads (schedstat: the vCPU thread, the others: the NIC's
# backend), the host's CPU 0 busy time and the client's own CPU time.
# One JSON line a cell in OUT/results.jsonl, a summary table on stdout
# (tests/vm/bench_mib_report.py). A benchmark: it asserts nothing.
set -eu
cd "$(dirname "$0")/../.."
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
BUILD=${1:-build}
export BUILD
OUT=${BENCH_OUT:-$BUILD/bench-mib}
MTUS=${BENCH_MTUS:-"1500 9000"} CONCS=${BENCH_CONCS:-"1 4 16"} ROUNDS=${BENCH_ROUNDS:-3}
SERVERS="kernel nginx"
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
export BENCH_LOG=$OUT/client.log
. tests/bench/servers.sh
. tests/bench/client.sh
. tests/vm/bench_lib.sh

tap=${BENCH_TAP:-dgtap2} vmout=$OUT/vm
: >"$OUT/results.jsonl" && : >"$BENCH_LOG"
bench_data "$OUT/data" 1 16	# bench_lists wants both sizes
bench_guest_up "dgfs-benchmib-$tap" "$tap" "$vmout" "$OUT/data" 1m
BENCH_DURATION=${BENCH_VM_DURATION:-3}
# ask WHAT ARG FILE: bench_guest_ask, 600 s (the guest's perf reports
# after perf-stop take minutes under TCG on a loaded host).
ask() { bench_guest_ask "$@" 600; }
# The client on CPU 0 (bench_pin_vcpus), its own CPU time in a file.
bench_client() {
	ip netns exec "$BENCH_GUEST_NS" "${BENCH_PIN_CLIENT[@]}" /usr/bin/time -f "%U %S" -o "$vmout/client-time" "$@"
}
# bench_cell reads bench_cpu just before the client and just after: the
# host's view is taken there too (host-cpu: one line each time).
bench_cpu() { host >>"$vmout/host-cpu"; bench_guest_cpu "$BENCH_GUEST_NS" "$BENCH_ADDR"; }
# host: QEMU's vCPU thread's and its other threads' ns on a CPU, CPU 0's
# busy jiffies (user nice system irq softirq).
host() {
	local vrun other
	read -r vrun _ other < <(bench_qemu_ns)
	echo "$vrun $other $(awk '$1 == "cpu0" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat)"
}
# cell SERVER CONC ROUND MTU: one measured cell, with its context.
cell() {
	local res
	ask snap a snap-a.txt
	: >"$vmout/host-cpu"
	res=$(bench_cell "$1" 1m "$2" "$3")
	ask snap b snap-b.txt
	python3 tests/vm/bench_mib_report.py --cell "$vmout/snap-a.txt" "$vmout/snap-b.txt" \
		"$(tail -n 2 "$vmout/host-cpu" | head -n 1)" "$(tail -n 1 "$vmout/host-cpu")" \
		"$(cat "$vmout/client-time")" "$4" "$(getconf CLK_TCK)" <<<"$res"
}

if [[ ${BENCH_PERF:-0} == 1 ]]; then	# perf's first start in a boot (see above)
	ask perf warm perf-started && sleep 5 && ask perf-stop warm perf-stopped
fi
for mtu in $MTUS; do
	bench_guest_mtu "$mtu" || continue
	echo "bench_mib: MTU $mtu"
	for ((r = 1; r <= ROUNDS; r++)); do
		for c in $CONCS; do
			for s in $SERVERS; do
				cell $s "$c" "$r" "$mtu" >>"$OUT/results.jsonl"
			done
		done
	done
	[[ ${BENCH_PERF:-0} == 1 ]] || continue
	for s in $SERVERS; do
		ask perf "$s-$mtu" perf-started
		sleep "${BENCH_PERF_SETTLE:-20}"
		BENCH_DURATION=${BENCH_PERF_DURATION:-10} bench_cell $s 1m 4 0 >"$OUT/perf-cell-$s-$mtu.json"
		ask perf-stop "$s-$mtu" perf-stopped
		cp "$vmout/perf-$s-$mtu"*.txt "$OUT/" 2>/dev/null || true
	done
done
python3 tests/vm/bench_mib_report.py "$OUT/results.jsonl"
