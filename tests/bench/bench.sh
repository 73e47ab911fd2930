#!/usr/bin/env bash
# `make bench`: every read path of dgfs against nginx, side by side in one
# run, and docs/BENCHMARKS.md's tables and plot from it.
#
#   tests/bench/bench.sh [--quick] [--vm-only | --host-only] [--no-doc] [BUILD]
#
# 1. In the VM (one boot, tests/bench/guest.sh; the client on the host,
#    outside the guest, as tests/vm/bench_remote.sh does): dgfs.ko with
#    XDP, dgfsd's userspace UDP tier, dgfsd over HTTP and nginx, all on
#    dgfsd's chunk files in the page cache; then the scale runs (lookups in
#    the module's index and the fast path's req/s at 10^3, 10^5, 10^6
#    chunks).
# 2. On the host, in a network namespace of its own over loopback: the
#    same without the module. Where dgfs.ko is loaded (the smoke run in the
#    VM, tests/vm/test_bench_smoke.sh) the module joins in through its
#    socket (no XDP), with one scale step.
#
# Workloads 4 KiB random files and 1 MiB files, 1, 4 and 16 requests
# outstanding; the servers alternate within each round. Results (one JSON
# line a measurement) in BUILD/bench-all/results.jsonl; tests/bench/report.py
# makes the tables. A benchmark, not a test: it asserts nothing.
#
# --quick: 1 s runs, one round, 1 and 4 outstanding, few files, 10^3
# chunks (the smoke run). --no-doc: leave docs/ alone. --scale-only: the
# VM's scale runs alone (`make bench-scale`), no matrix, no host part, and
# docs/ left alone. Each scale cell is read against what the guest and the
# host saw around it (tests/bench/snapshot.py): the module's counters, the
# guest's memory and page cache, the vCPU thread's CPU time and wait.
# After each fill the guest is first let go idle (bench_settle in
# servers.sh: BENCH_SETTLE_PCT, BENCH_SETTLE_MAX, BENCH_SETTLE_PERF), and
# what ran meanwhile is kept as settle-N.txt beside the VM's results.
# BENCH_SCALE_HOST_PERF=1 profiles the vCPU thread (host perf) through each
# size's second cell (or the rounds BENCH_SCALE_HOST_PERF_ROUNDS lists),
# BENCH_SCALE_PERF=1 the guest (perf -a) through its first. A "-" in BENCH_SCALES reloads the module with the bench's chunks
# alone, so that sizes can alternate in one boot: "1000 1000000 - 1000
# 1000000" measures each size twice, in turn. BENCH_MTU=N sets the
# host-guest link's MTU (the host's tap and the guest's eth0) for every
# server: BENCH_MTU=9000 make bench, a storage network's jumbo frames.
set -eu
cd "$(dirname "$0")/../.."
# Debian's own tools, as in the VM: not a user's shims (pyenv's python3
# is a chain of shell scripts whose start-up cost seconds a call on a
# loaded machine, inside every measurement's bookkeeping).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

quick=0 parts="vm host" doc=1 inner= scale_only=0 argv="$*"
while [[ $# -gt 0 ]]; do
	case $1 in
	--quick) quick=1 ;;
	--vm-only) parts=vm ;;
	--host-only) parts=host ;;
	--no-doc) doc=0 ;;
	--scale-only) scale_only=1 parts=vm doc=0 ;;	# the doc's tables need the matrix
	--inner-host) inner=host ;;	# internal: the host part, inside its namespace
	-*) echo "usage: $0 [--quick] [--vm-only | --host-only | --scale-only] [--no-doc] [BUILD]" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
BUILD=${1:-build}
export BUILD
OUT=${BENCH_OUT:-$BUILD/bench-all}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)

if ((quick)); then
	ROUNDS=${BENCH_ROUNDS:-1} CONCS=${BENCH_CONCS:-"1 4"} N4K=16 N1M=4
	VM_DURATION=1 HOST_DURATION=1 SCALES=${BENCH_SCALES:-1000}
	export BENCH_LOOKUPS=${BENCH_LOOKUPS:-100000}
else
	ROUNDS=${BENCH_ROUNDS:-3} CONCS=${BENCH_CONCS:-"1 4 16"} N4K=16 N1M=16
	VM_DURATION=${BENCH_VM_DURATION:-3} HOST_DURATION=${BENCH_HOST_DURATION:-2}
	SCALES=${BENCH_SCALES:-"1000 100000 1000000"}
fi
SERVERS_VM="kernel dgfsd-udp dgfsd-http nginx"
export BENCH_LOG=$OUT/client.log	# dgfs-bench's and wrk's own words

. tests/bench/servers.sh
. tests/bench/client.sh
. tests/vm/bench_lib.sh

# matrix SERVERS...: every cell, round after round, the servers alternating
# within each (workload, concurrency), so each comparison runs under the
# same load.
matrix() {
	local round w c s
	for ((round = 1; round <= ROUNDS; round++)); do
		for w in 4k 1m; do
			for c in $CONCS; do
				for s in "$@"; do
					bench_cell "$s" "$w" "$c" "$round"
				done
			done
		done
	done
}

# ---- the host part, inside its namespace (re-executed by host_part) -------
if [[ $inner == host ]]; then
	ip link set lo up
	work=$(mktemp -d "${BENCH_TMP:-/tmp}/dgfs-bench.XXXXXX")
	trap 'bench_servers_stop; rm -rf "$work"' EXIT
	bench_servers_start "$work" 127.0.0.1
	python3 tests/bench/upload.py http://127.0.0.1:$BENCH_PORT_HTTP "$work/state/admin.key" \
		"$OUT/data" >"$work/manifest"
	bench_lists "$work/manifest" "$work/lists"
	cat "$work"/state/chunks/* >/dev/null	# all in the page cache
	servers="dgfsd-udp dgfsd-http nginx"
	if [[ -e /sys/module/dgfs ]]; then	# the smoke run, in the VM
		{ bench_kmod_start "$work/state" && bench_kmod_register "$work/lists/ids-4k" &&
			bench_kmod_register "$work/lists/ids-1m"; } >&2
		servers="kernel $servers"
	fi
	BENCH_ADDR=127.0.0.1 BENCH_KEY=$(cat "$work/state/auth.key") BENCH_DURATION=$HOST_DURATION
	BENCH_WHERE=host
	bench_client() { "$@"; }
	# Each server's own processes' CPU time; the kernel path has none, so
	# for it all the machine's busy time (the client's included).
	bench_cpu() {
		local pid t=0 hz
		hz=$(getconf CLK_TCK)
		if [[ $1 == kernel ]]; then
			awk -v hz="$hz" '/^cpu / { print ($2 + $3 + $4 + $7 + $8) / hz }' /proc/stat
			return
		fi
		for pid in $(bench_server_pids "$1"); do
			t=$((t + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
		done
		awk -v t=$t -v hz="$hz" 'BEGIN { print t / hz }'
	}
	matrix $servers
	if [[ $servers == kernel* ]]; then
		for n in $SCALES; do
			bench_scale "$work/scale" "$n" | python3 -c '
import json, sys
x = json.load(sys.stdin); x["where"] = "host"; print(json.dumps(x))'
		done
		$BENCH_CTL store del scale >/dev/null 2>&1 || true
		$BENCH_CTL store del bench >/dev/null 2>&1 || true
	fi
	exit 0
fi

host_part() {
	local ns=dgfs-bench-host-$$
	ip netns add $ns
	ip netns exec $ns "$0" --inner-host $( ((quick)) && echo --quick) "$BUILD" >>"$OUT/results.jsonl" || {
		ip netns del $ns
		return 1
	}
	ip netns del $ns
}

vm_part() {
	local vmout=$OUT/vm
	bench_guest_up dgfs-benchall dgtap1 "$vmout" "$OUT/data" 4k 1m || { bench_guest_down; return 1; }
	if [[ -n ${BENCH_MTU:-} ]]; then	# both ends of the link (after registered)
		bench_guest_mtu "$BENCH_MTU" || { bench_guest_down; return 1; }
		echo "{\"kind\": \"meta\", \"mtu\": $BENCH_MTU}" >>"$OUT/results.jsonl"
	fi
	BENCH_DURATION=$VM_DURATION
	((scale_only)) || matrix $SERVERS_VM >>"$OUT/results.jsonl"
	# Scale: the guest fills the index, then the fast path is measured,
	# each cell between two snapshots of the guest (guest.sh's snapshot).
	vcpu_tid() {
		local t
		for t in "/proc/$BENCH_QEMU/task/"*; do
			[[ $(cat "$t/comm") != "CPU 0/TCG" ]] || echo "${t##*/}"
		done
	}
	# The guest sees none of our environment: bench_settle's knobs go in a
	# file it sources before each fill.
	declare -p BENCH_SETTLE_PCT BENCH_SETTLE_MAX BENCH_SETTLE_PERF 2>/dev/null | sed 's/^declare -x /declare /' \
		>"$vmout/settle-env" || true
	for n in $SCALES; do
		if [[ $n == - ]]; then	# back to a small index (guest.sh)
			bench_guest_ask reset - reset-done 900 || break
			continue
		fi
		bench_guest_ask scale "$n" "scale-$n.json" 900 || break	# the fill, then up to BENCH_SETTLE_MAX s
		python3 -c '
import json, sys
x = json.load(open(sys.argv[1])); x["where"] = "vm"; print(json.dumps(x))' "$vmout/scale-$n.json" \
			>>"$OUT/results.jsonl"
		for ((r = 1; r <= ROUNDS; r++)); do
			bench_guest_ask snap "$n-$r-a" "snap-$n-$r-a.txt" || break 2
			# BENCH_SCALE_PERF=1: the guest profiles each size's first cell.
			[[ ${BENCH_SCALE_PERF:-0} != 1 || $r != 1 ]] || bench_guest_ask perf "$n" perf-started || break 2
			# BENCH_SCALE_HOST_PERF=1: the host profiles QEMU's vCPU
			# thread through each size's second cell (cpu-clock), or
			# through the rounds BENCH_SCALE_HOST_PERF_ROUNDS lists.
			hostperf=
			if [[ ${BENCH_SCALE_HOST_PERF:-0} == 1 && " ${BENCH_SCALE_HOST_PERF_ROUNDS:-2} " == *" $r "* ]]; then
				perf record -q -t "$(vcpu_tid)" -o "$vmout/hostperf-$n-$r.data" &
				hostperf=$!
			fi
			q0=$(bench_qemu_ns)
			bench_cell kernel 4k 16 "$r" >"$vmout/cell"
			q1=$(bench_qemu_ns)
			if [[ -n $hostperf ]]; then
				kill -INT $hostperf && wait $hostperf || true
				perf report -i "$vmout/hostperf-$n-$r.data" --no-children --sort dso,sym --percent-limit 0.5 \
					--stdio >"$vmout/hostperf-$n-$r.txt" 2>&1 || true
			fi
			[[ ${BENCH_SCALE_PERF:-0} != 1 || $r != 1 ]] || bench_guest_ask perf-stop "$n" perf-stopped || break 2
			bench_guest_ask snap "$n-$r-b" "snap-$n-$r-b.txt" || break 2
			python3 tests/bench/snapshot.py "$vmout/snap-$n-$r-a.txt" "$vmout/snap-$n-$r-b.txt" "$n" \
				"$q0" "$q1" <"$vmout/cell" >>"$OUT/results.jsonl"
		done
	done
	bench_guest_down
}

meta() {
	python3 - "$@" <<'PY'
import json, os, platform, subprocess, sys
def sh(c):
    return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
m = {"kind": "meta", "date": sh("date -u +%Y-%m-%dT%H:%MZ"), "host_kernel": platform.release(),
     "cpu": sh("awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo"),
     "cpus": os.cpu_count(), "mem_gib": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1),
     "commit": sh("git rev-parse --short HEAD") + (" (dirty)" if sh("git status --porcelain -uno") else ""),
     "nginx": sh("nginx -v 2>&1").split("/")[-1], "wrk": sh("wrk -v 2>&1 | head -n1").split()[1] if sh("wrk -v 2>&1") else "",
     "kvm": os.path.exists("/dev/kvm"), "command": sys.argv[1], "uptime_" + sys.argv[2]: sh("uptime")}
print(json.dumps(m))
PY
}

start=$SECONDS
: >"$OUT/results.jsonl"
: >"$BENCH_LOG"
cmd="tests/bench/bench.sh $argv"
[[ $quick == 1 || $parts != "vm host" ]] || cmd="make bench"
meta "$cmd" start >>"$OUT/results.jsonl"
bench_data "$OUT/data" $N4K $N1M	# what every server serves
for p in $parts; do
	echo "bench: $p part ($((SECONDS - start)) s so far)"
	"${p}_part" || echo "bench: the $p part failed; what it measured is reported" >&2
	[[ ! -e $OUT/vm/guest-kernel ]] || echo "{\"kind\": \"meta\", \"guest_kernel\": \"$(cat "$OUT/vm/guest-kernel")\"}" >>"$OUT/results.jsonl"
done
meta "$cmd" end >>"$OUT/results.jsonl"
echo "{\"kind\": \"meta\", \"seconds\": $((SECONDS - start))}" >>"$OUT/results.jsonl"
args=()
((doc == 0)) || args=(--doc docs/BENCHMARKS.md --png docs/bench-req-per-s.png)
python3 tests/bench/report.py "$OUT/results.jsonl" --plot-dir "$OUT" "${args[@]}"
echo "bench: done in $((SECONDS - start)) s; results in $OUT/results.jsonl"
