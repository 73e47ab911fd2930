#!/usr/bin/env bash
# Numbers, not a test: dgfs-userd's --steer modes against each other, in
# one run (issue 15, item 5). A server and a client network namespace
# joined by a veth pair (198.18.0.0/15), dgfs-userd with 2 workers in the
# first, dgfs-bench with several sockets (so several source ports) in the
# second. Each round runs every cell once per mode, the modes' order
# rotating from round to round:
#   hash    a socket per worker, SO_REUSEPORT's 4-tuple hash (the plain way)
#   shared  one socket all workers read
#   cpu     a socket per worker, worker i pinned to CPU i, a BPF program
#           picks the socket of the CPU that received the datagram
#
#   tests/net/bench_steer.sh [BUILD_DIR]        (as root)
#   STEER_ROUNDS=3 STEER_SECS=5 STEER_WORKERS=2 \
#   STEER_CELLS="4096:8:16 4096:32:4 1M:4:2" tests/net/bench_steer.sh build
#
# A cell is SIZE:CLIENT_SOCKETS:WINDOW (dgfs-bench --size, --threads,
# --window; random offsets in a 16 MiB chunk, all in the page cache).
# Server CPU: dgfs-userd's user + system time (/proc/PID/stat) over the
# run. Prints the load average, then one table: the median of the rounds,
# and each ratio against hash and against shared taken within a round,
# then their median. Raw rows: $STEER_OUT/results.jsonl.
set -eu
cd "$(dirname "$0")/../.."
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
. tests/lib.sh
. tests/net/lib.sh
BUILD=${1:-build}
ROUNDS=${STEER_ROUNDS:-3} SECS=${STEER_SECS:-5} WORKERS=${STEER_WORKERS:-2}
CELLS=${STEER_CELLS:-"4096:8:16 4096:32:4 1M:4:2"}
MODES="hash shared cpu"
OUT=${STEER_OUT:-$BUILD/bench-steer}
KEY=000102030405060708090a0b0c0d0e0f PORT=7878
V4=198.18.0.1 V4_CLIENT=198.18.0.2
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
BUILD=$(cd "$BUILD" && pwd)
for b in dgfs-userd dgfs-bench; do
	[[ -x $BUILD/$b ]] || { echo "$BUILD/$b is not built (make userspace)" >&2; exit 1; }
done

srv=dgfs-steer-srv-$$ cli=dgfs-steer-cli-$$
work=$(mktemp -d /tmp/dgfs-bench-steer.XXXXXX)
userd_pid=
cleanup() {
	[[ -z $userd_pid ]] || { kill "$userd_pid"; wait "$userd_pid"; } 2>/dev/null
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
net_pair $V4 $V4_CLIENT

mkdir "$work/store"
id=$(net_chunk "$work/store" $((16 << 20)))
cat "$work/store/$id" >/dev/null

start_userd() {	# MODE
	ip netns exec "$srv" "$BUILD/dgfs-userd" -p $PORT --key $KEY --threads "$WORKERS" \
		--steer "$1" "$work/store" >"$work/userd.log" 2>&1 &
	userd_pid=$!
	userd_wait_serving "$userd_pid" "$work/userd.log" 5 >&2
}
stop_userd() {
	kill "$userd_pid" && wait "$userd_pid" || true
	userd_pid=
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$userd_pid/stat"; }

cell() {	# MODE SIZE SOCKETS WINDOW ROUND: one JSON line
	local mode=$1 size=$2 socks=$3 win=$4 round=$5 c0 c1 res
	start_userd "$mode"
	c0=$(cpu_ticks)
	res=$(ip netns exec "$cli" "$BUILD/dgfs-bench" -p $PORT --key $KEY --duration "$SECS" \
		--threads "$socks" --window "$win" --size "$size" --random --json $V4 "$id" \
		2>>"$work/bench.log")
	c1=$(cpu_ticks)
	stop_userd
	python3 - "$mode" "$size" "$socks" "$win" "$round" "$res" "$c0" "$c1" \
		"$(getconf CLK_TCK)" <<'PY'
import json, sys
mode, size, socks, win, rnd, res, c0, c1, hz = sys.argv[1:]
r = json.loads(res)
cpu = (int(c1) - int(c0)) / int(hz)
done = r["completed"]
print(json.dumps({"mode": mode, "size": size, "sockets": int(socks), "window": int(win),
                  "round": int(rnd), "req_per_s": r["req_per_s"], "mb_per_s": r["mb_per_s"],
                  "p50_us": r["p50_us"], "p99_us": r["p99_us"],
                  "errors": r["errors"], "timeouts": r["timeouts"], "cpu_s": cpu,
                  "cpu_us_per_req": 1e6 * cpu / done if done else None,
                  "cpu_s_per_gb": cpu / (r["bytes"] / 1e9) if r["bytes"] else None}))
PY
}

echo "load before: $(cat /proc/loadavg)"
: >"$OUT/results.jsonl"
set -- $MODES
for ((round = 1; round <= ROUNDS; round++)); do
	for c in $CELLS; do
		IFS=: read -r size socks win <<<"$c"
		for mode in "$@"; do
			cell "$mode" "$size" "$socks" "$win" "$round" >>"$OUT/results.jsonl"
		done
	done
	set -- "${@:2}" "$1"	# the next round starts with the next mode
done
echo "load after:  $(cat /proc/loadavg)"
PYTHONPATH=tests/bench python3 - "$OUT/results.jsonl" <<'PY'
import sys
from rounds import cells, load, med, ratio
print("| size | client sockets x window | mode | req/s | p50 µs | p99 µs | server CPU µs/req "
      "| CPU s/GB | req/s vs hash | req/s vs shared | CPU/req vs hash | CPU/req vs shared "
      "| errors+timeouts | rounds |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for cell, by in cells(load(sys.argv[1]), lambda r: (r["size"], r["sockets"], r["window"])):
    for m in ("hash", "shared", "cpu"):
        rs = by.get(m, {}).values()
        if not rs:
            continue
        print("| %s | %d x %d | %s | %s | %.0f | %.0f | %.2f | %.2f | %s | %s | %s | %s | %d | %d |" % (
            cell[0], cell[1], cell[2], m, format(round(med([x["req_per_s"] for x in rs])), ","),
            med([x["p50_us"] for x in rs]), med([x["p99_us"] for x in rs]),
            med([x["cpu_us_per_req"] for x in rs]), med([x["cpu_s_per_gb"] for x in rs]),
            ratio(by, m, "hash", "req_per_s"), ratio(by, m, "shared", "req_per_s"),
            ratio(by, m, "hash", "cpu_us_per_req"), ratio(by, m, "shared", "cpu_us_per_req"),
            sum(x["errors"] + x["timeouts"] for x in rs), len(rs)))
PY
