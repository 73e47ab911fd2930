#!/usr/bin/env bash
# `make bench-fast`: the kernel fast path against the userspace server
# (dgfs-userd), in the same VM, over the same veth pair, from the page cache.
# Prints req/s, MB/s, p99 latency and server CPU seconds per GB served, and
# the kernel/userspace ratios. A benchmark, not a test: it asserts nothing.
#
# Server CPU is measured the same way for both: all CPU time the VM spent
# (/proc/stat) minus the load generator's own (its rusage), so softirq and
# worker time count for the kernel path as the process does for userspace.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${DGFS_BUILD:-build}
CTL=$BUILD/dgfsctl
DURATION=${BENCH_DURATION:-10}
THREADS=${BENCH_THREADS:-2}
srv=bench-srv cli=bench-cli
s() { ip netns exec $srv "$@"; }
c() { ip netns exec $cli "$@"; }
userd=
cleanup() {
	[[ -z $userd ]] || kill "$userd" 2>/dev/null
	s $CTL xdp detach dg0 2>/dev/null || true
	ip netns del $srv 2>/dev/null || true
	ip netns del $cli 2>/dev/null || true
}
trap cleanup EXIT

modprobe -a $(modinfo -F depends "$BUILD/dgfs.ko" | tr , ' ')
insmod "$BUILD/dgfs.ko"
ip netns add $srv && ip netns add $cli
ip link add dg0 type veth peer name dg1
ip link set dg0 netns $srv && ip link set dg1 netns $cli
s ip addr add 198.18.0.1/24 dev dg0 && c ip addr add 198.18.0.2/24 dev dg1
s ip link set dg0 up && c ip link set dg1 up && s ip link set lo up

# One 16 MiB chunk, named by its id so that both servers find it.
store=/mnt/bench && rm -rf $store && mkdir -p $store
head -c $((16 << 20)) /dev/urandom >$store/tmp
id=$(sha256sum $store/tmp | cut -c1-64)
mv $store/tmp $store/$id
cat $store/$id >/dev/null	# in the page cache for both
key=000102030405060708090a0b0c0d0e0f

s $CTL store add bench path $store
s $CTL chunk add "$id" store bench file "$id"
s $CTL config set key $key
s $CTL xdp attach dg0 mode native
ip netns exec $srv "$BUILD/dgfs-userd" -p 7879 --key $key --threads "$THREADS" $store &
userd=$!
sleep 1

busy_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }

# run NAME PORT SIZE: one bench run; prints one result line, keeps the JSON
run() {
	local name=$1 port=$2 size=$3 b0 b1 out
	b0=$(busy_jiffies)
	out=$(c /usr/bin/time -f '%U %S' -o /tmp/bench.rusage "$BUILD/dgfs-bench" -p "$port" \
		--key $key --threads "$THREADS" --duration "$DURATION" --window 16 \
		--size "$size" --random --json 198.18.0.1 "$id")
	b1=$(busy_jiffies)
	python3 - "$name" "$out" "$((b1 - b0))" "$(getconf CLK_TCK)" "$(cat /tmp/bench.rusage)" <<'EOF'
import json, sys
name, out, jiffies, hz, rusage = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
client = sum(float(x) for x in rusage.split())
server = max(jiffies / hz - client, 0.0)
gb = out["bytes"] / 1e9
out.update(name=name, server_cpu_s=server, cpu_s_per_gb=server / gb if gb else float("nan"))
print(json.dumps(out))
EOF
}

{
	run kernel-4k 7878 4096
	run userspace-4k 7879 4096
	run kernel-1m 7878 1048576
	run userspace-1m 7879 1048576
} >/tmp/bench.json

python3 tests/vm/bench_report.py /tmp/bench.json
cp /tmp/bench.json "${DGFS_OUT:-/tmp}/bench.json" 2>/dev/null || true
