#!/usr/bin/env bash
# What bounds a 4 KiB read at 1 request outstanding, VM against host: the
# link's floor (an ICMP echo answered by the guest's kernel, no other work)
# beside the fast path (dgfs.ko + XDP, dgfs-bench --window 1) and nginx
# (wrk -c1), alternating round after round in one boot, each with the
# guest's busy time over the run (/proc/stat through cpustat_server.py).
#
#   tests/vm/bench_rtt.sh [BUILD]      results in BUILD/bench-rtt/
#
# The guest is `make bench`'s (tests/bench/guest.sh, same files, same
# servers, same pinning); the cells are tests/bench/client.sh's. A
# benchmark, not a test: it asserts nothing.
set -eu
cd "$(dirname "$0")/../.."
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
BUILD=${1:-build}
export BUILD
ROUNDS=${BENCH_ROUNDS:-3}
OUT=$BUILD/bench-rtt
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
export BENCH_LOG=$OUT/client.log
. tests/bench/servers.sh
. tests/bench/client.sh
. tests/vm/bench_lib.sh

bench_data "$OUT/data" 16 1	# bench_lists wants both workloads
bench_guest_up dgfs-bench-rtt dgtap3 "$OUT/vm" "$OUT/data" 4k 1m
guest=$BENCH_ADDR BENCH_DURATION=${BENCH_VM_DURATION:-3}

# echo_cell NAME ROUND COUNT INTERVAL [PAYLOAD]: icmp_rtt.py's line, with
# the guest's CPU seconds over it. NAME idle: no traffic for 2 s, the
# guest's own background (its timer, cpustat_server.py's replies).
echo_cell() {
	local c0 c1 res
	c0=$(bench_cpu)
	if [[ $1 == idle ]]; then
		sleep 2 && res='{"count": 0, "received": 0, "seconds": 2, "per_s": 0, "p50_us": 0, "p99_us": 0}'
	else
		res=$(bench_client python3 tests/vm/icmp_rtt.py $guest "${@:3}")
	fi
	c1=$(bench_cpu)
	python3 -c 'import json, sys
x = json.loads(sys.argv[1]); x.update(kind="echo", server=sys.argv[2], round=int(sys.argv[3]),
    server_cpu_s=float(sys.argv[5]) - float(sys.argv[4])); print(json.dumps(x))' \
		"$res" "$1" "$2" "$c0" "$c1"
}
: >"$BENCH_LOG"
uptime >"$OUT/load"
for ((r = 1; r <= ROUNDS; r++)); do
	echo_cell idle $r
	echo_cell icmp-spaced $r 200 0.01	# as ping -c 200 -i 0.01: the guest idles between
	echo_cell icmp-b2b $r 3000 0		# back to back, as --window 1 sends
	echo_cell icmp-1500 $r 3000 0 1472	# the same, full 1500-byte packets both ways
	bench_cell kernel 4k 1 $r
	bench_cell nginx 4k 1 $r
done | tee "$OUT/results.jsonl"
uptime >>"$OUT/load"
cat "$OUT/load"
# Medians over the rounds. Per reply: the time (1 / rate), the guest's busy
# time (and that share of the run), and that less the idle guest's
# background at the same round's rate.
python3 - "$OUT/results.jsonl" <<'PY'
import json, statistics as st, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
idle = {r["round"]: r["server_cpu_s"] / r["seconds"] for r in rows if r["server"] == "idle"}
print("%-12s %7s %9s %7s %8s %6s %9s %9s" % ("what", "per s", "µs each", "p50 µs", "p99 µs",
      "busy", "CPU µs", "-idle µs"))
for name in ("icmp-spaced", "icmp-b2b", "icmp-1500", "kernel", "nginx"):
    rs = [r for r in rows if r["server"] == name]
    n = lambda r: r.get("received", r.get("completed", 0))
    secs = lambda r: r["seconds"]
    med = lambda f: st.median(f(r) for r in rs if n(r))
    print("%-12s %7.0f %9.0f %7.0f %8.0f %5.0f%% %9.1f %9.1f" % (name,
          med(lambda r: n(r) / secs(r)), med(lambda r: secs(r) / n(r) * 1e6),
          med(lambda r: r["p50_us"]), med(lambda r: r["p99_us"]),
          med(lambda r: r["server_cpu_s"] / secs(r) * 100),
          med(lambda r: r["server_cpu_s"] / n(r) * 1e6),
          med(lambda r: (r["server_cpu_s"] - idle[r["round"]] * secs(r)) / n(r) * 1e6)))
PY
