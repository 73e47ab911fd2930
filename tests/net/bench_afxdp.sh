#!/usr/bin/env bash
# dgfs-userd's two ways in, on the host: today's recvmmsg/sendmmsg socket
# workers against AF_XDP (--af-xdp, copy mode, dgfs's XDP program in native
# mode on the veth), both with one worker, served to dgfs-bench over a veth
# pair between two private network namespaces (198.18.0.0/15 only).
# Rounds alternate between the two in the same run; each round starts its
# server afresh (the socket tier runs without any XDP program attached,
# as it runs today). 4 KiB random reads at several concurrencies.
#
# Server CPU: the dgfs-userd threads' run time over the round (the sum of
# /proc/PID/task/*/schedstat, ns), per request; client CPU: dgfs-bench's
# user + system time (/usr/bin/time). A veth hands a frame to its peer in
# the sender's context, so the receive work of each side's packets (the
# XDP program and the copy into UMEM, or the UDP stack) mostly lands on
# the other side's account: the client's CPU per request shows the
# server's receive path, the server's its own sends and the client's
# receive of them. "both" is their sum. The machine's busy time per
# request (/proc/stat, every CPU, anything else running included) is
# printed in the rounds' lines.
#
#   tests/net/bench_afxdp.sh [BUILD_DIR] [ROUNDS] [SECONDS]   (as root)
#   BENCH_LEVELS="1x1 1x8 2x32" to choose THREADSxWINDOW levels
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/net/lib.sh

BUILD=${1:-build}
ROUNDS=${2:-3}
SECS=${3:-5}
LEVELS=${BENCH_LEVELS:-1x1 1x8 1x32 2x32}
KEY=000102030405060708090a0b0c0d0e0f
PORT=7878
V4=198.18.0.1 V4_CLIENT=198.18.0.2
srv=dgfs-afxdp-srv-$$ cli=dgfs-afxdp-cli-$$
NCPU=$(nproc)
# Server on the last CPU, client on the first, when there are two or more.
if ((NCPU > 1)); then
	SRV_PIN=(taskset -c $((NCPU - 1))) CLI_PIN=(taskset -c 0)
else
	SRV_PIN=() CLI_PIN=()
fi

tmp=$(mktemp -d /tmp/dgfs-afxdp-bench.XXXXXX)
userd_pid=
cleanup() {
	[[ -n $userd_pid ]] && kill "$userd_pid" 2>/dev/null && wait "$userd_pid" 2>/dev/null
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

for b in "$BUILD/dgfs-userd" "$BUILD/dgfs-bench"; do
	[[ -x $b ]] || { echo "bench_afxdp: $b is not built (make userspace)" >&2; exit 1; }
done
[[ $(id -u) == 0 ]] || { echo "bench_afxdp: must run as root" >&2; exit 1; }

net_pair $V4 $V4_CLIENT
store=$tmp/store
mkdir -p "$store"
ids=()
for i in $(seq 8); do
	ids+=("$(net_chunk "$store" $((1 << 20)))")
done
cat "$store"/* >/dev/null	# in the page cache

# start TIER: a server, its pid in $userd_pid.
start() {
	local extra=()
	[[ $1 == afxdp ]] && extra=(--af-xdp dg0)
	nsenter --net="/run/netns/$srv" "${SRV_PIN[@]}" "$BUILD/dgfs-userd" -p $PORT --key $KEY \
		--threads 1 "${extra[@]}" "$store" >"$tmp/userd.log" 2>&1 &
	userd_pid=$!
	userd_wait_serving "$userd_pid" "$tmp/userd.log" 5 >&2
}

stop() {
	kill -TERM "$userd_pid"
	wait "$userd_pid"
	userd_pid=
}

# Run time of every thread of $1, in ns.
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
busy_ticks() { awk '/^cpu / { printf "%.0f\n", $2 + $3 + $4 + $7 + $8 }' /proc/stat; }

echo "# $(date -u +%FT%TZ) $(uname -r), $NCPU CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $ROUNDS rounds x $SECS s, 4 KiB random reads, levels (threads x window): $LEVELS"
printf '%s\n' "tier level round req_s p50_us p99_us timeouts srv_cpu_s srv_us_per_req host_us_per_req cli_us_per_req" \
	>"$tmp/results"
for round in $(seq "$ROUNDS"); do
	for level in $LEVELS; do
		threads=${level%x*} window=${level#*x}
		# Alternate which tier goes first, so neither always follows the other.
		tiers=(socket afxdp)
		((round % 2)) || tiers=(afxdp socket)
		for tier in "${tiers[@]}"; do
			start "$tier" || { echo "bench_afxdp: $tier server did not start" >&2; exit 1; }
			t0=$(cpu_ns "$userd_pid") h0=$(busy_ticks)
			/usr/bin/time -f "%U %S" -o "$tmp/cli.time" \
				ip netns exec "$cli" "${CLI_PIN[@]}" "$BUILD/dgfs-bench" -p $PORT --key $KEY \
				--threads "$threads" --window "$window" --size 4096 --random \
				--duration "$SECS" --json $V4 "${ids[@]}" >"$tmp/out.json" 2>"$tmp/bench.err" ||
				{ cat "$tmp/bench.err" >&2; exit 1; }
			t1=$(cpu_ns "$userd_pid") h1=$(busy_ticks)
			stop
			python3 - "$tier" "$level" "$round" "$((t1 - t0))" "$((h1 - h0))" \
				"$(getconf CLK_TCK)" "$tmp/out.json" "$tmp/cli.time" >>"$tmp/results" <<-'EOF'
			import json, sys
			tier, level, rnd, t, h, hz, path, ctime = sys.argv[1:]
			r = json.load(open(path))
			n = max(r["completed"], 1)
			cpu = int(t) / 1e9
			cli = sum(float(x) for x in open(ctime).read().split()[-2:])
			print(tier, level, rnd, round(r["req_per_s"]), r["p50_us"], r["p99_us"],
			      r["timeouts"], round(cpu, 3), round(cpu / n * 1e6, 2),
			      round(int(h) / int(hz) / n * 1e6, 2), round(cli / n * 1e6, 2))
			EOF
			tail -n1 "$tmp/results"
		done
	done
done

echo
python3 - "$tmp/results" <<'EOF'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:]]
levels = []
for r in rows:
    if r[1] not in levels:
        levels.append(r[1])
def med(tier, level, col):
    return st.median(float(r[col]) for r in rows if r[0] == tier and r[1] == level)
print("median of the rounds; per CPU = requests per second of server CPU")
print(f"{'level':>6} {'tier':>7} {'req/s':>8} {'p50 us':>7} {'p99 us':>7} "
      f"{'srv us/req':>10} {'req/s per CPU':>13} {'cli us/req':>10} {'both us/req':>11}")
for lv in levels:
    per = {}
    for tier in ("socket", "afxdp"):
        rps, p50, p99 = med(tier, lv, 3), med(tier, lv, 4), med(tier, lv, 5)
        us, cli = med(tier, lv, 8), med(tier, lv, 10)
        both = st.median(float(r[8]) + float(r[10]) for r in rows if r[0] == tier and r[1] == lv)
        per[tier] = (rps, 1e6 / us if us else 0.0, cli, both)
        print(f"{lv:>6} {tier:>7} {rps:8.0f} {p50:7.1f} {p99:7.1f} {us:10.2f} "
              f"{per[tier][1]:13.0f} {cli:10.2f} {both:11.2f}")
    a, b = per["afxdp"], per["socket"]
    print(f"{lv:>6} {'ratio':>7} {a[0] / b[0]:7.2f}x{'':>27}{a[1] / b[1]:13.2f}x "
          f"{a[2] / b[2]:9.2f}x {a[3] / b[3]:10.2f}x  (AF_XDP / socket)")
EOF
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
