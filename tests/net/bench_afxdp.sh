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
: >"$tmp/results"
# Each level each round, the tier that goes first turned every round.
while read -r -u 3 round level tier; do
	threads=${level%x*} window=${level#*x}
	start "$tier" || { echo "bench_afxdp: $tier server did not start" >&2; exit 1; }
	t0=$(cpu_ns "$userd_pid") h0=$(busy_ticks)
	/usr/bin/time -f "%U %S" -o "$tmp/cli.time" \
		ip netns exec "$cli" "${CLI_PIN[@]}" "$BUILD/dgfs-bench" -p $PORT --key $KEY \
		--threads "$threads" --window "$window" --size 4096 --random \
		--duration "$SECS" --json $V4 "${ids[@]}" >"$tmp/out.json" 2>"$tmp/bench.err" ||
		{ cat "$tmp/bench.err" >&2; exit 1; }
	t1=$(cpu_ns "$userd_pid") h1=$(busy_ticks)
	stop
	# Each *_s a CPU time, also per request in the table: the server's,
	# the machine's, the client's, and server and client together.
	python3 tests/bench/rounds.py row "$tmp/out.json" mode="$tier" level="$level" round="$round" \
		srv_s="$(awk -v t=$((t1 - t0)) 'BEGIN { print t / 1e9 }')" \
		host_s="$(awk -v h=$((h1 - h0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { print h / hz }')" \
		cli_s="$(awk '{ print $(NF - 1) + $NF }' "$tmp/cli.time")" \
		both_s="$(awk -v t=$((t1 - t0)) '{ print t / 1e9 + $(NF - 1) + $NF }' "$tmp/cli.time")" \
		>>"$tmp/results"
	tail -n1 "$tmp/results"
done 3< <(python3 tests/bench/rounds.py order "$ROUNDS" "$LEVELS" socket afxdp)

echo
python3 tests/bench/rounds.py ab "$tmp/results" socket afxdp
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
