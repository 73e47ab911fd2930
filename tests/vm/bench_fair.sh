#!/usr/bin/env bash
# Head-of-line blocking: the latency of a client's 4 KiB reads alone, and
# with a second client streaming 16 MiB reads from the same worker. A
# benchmark, not a test: it asserts nothing.
#
#   tests/vm/vm.sh --out build/bench-fair tests/vm/bench_fair.sh
#   BENCH_BUILDS="build/before build" ...   each build's dgfs.ko in turn
#
# Both clients' requests land in one CPU's ring: no XDP program (requests
# come through the module's socket), and RPS hands all that dg0 receives
# to CPU 0; the clients run on CPU 1. The 4 KiB client runs open loop
# (--rate): its latency counts from when each read was due, so a stalled
# worker cannot hide behind a client that slows down.
set -eu
cd "$(dirname "$0")/../.."
BUILDS=${BENCH_BUILDS:-${DGFS_BUILD:-build}}
DURATION=${BENCH_DURATION:-10}
RATE=${BENCH_RATE:-200}
STREAM_WINDOW=${BENCH_STREAM_WINDOW:-4}
srv=bench-srv cli=bench-cli
s() { ip netns exec $srv "$@"; }
c() { ip netns exec $cli "$@"; }
stream=
cleanup() {
	[[ -z $stream ]] || kill "$stream" 2>/dev/null || true
	ip netns del $srv 2>/dev/null || true
	ip netns del $cli 2>/dev/null || true
}
trap cleanup EXIT

store=/mnt/bench-fair && rm -rf $store && mkdir -p $store
head -c $((16 << 20)) /dev/urandom >$store/tmp
id=$(sha256sum $store/tmp | cut -c1-64)
mv $store/tmp $store/$id
cat $store/$id >/dev/null	# in the page cache
key=000102030405060708090a0b0c0d0e0f

ip netns add $srv && ip netns add $cli
ip link add dg0 netns $srv type veth peer name dg1 netns $cli
s ip addr add 198.18.0.1/24 dev dg0 && c ip addr add 198.18.0.2/24 dev dg1
s ip link set dg0 up && c ip link set dg1 up && s ip link set lo up
s sh -c 'echo 1 >/sys/class/net/dg0/queues/rx-0/rps_cpus'

# bench NAME ARGS...: one dgfs-bench run on CPU 1; one JSON line with NAME
bench() {
	local name=$1
	shift
	c taskset -c 1 "$BUILD/dgfs-bench" --key $key --json "$@" 198.18.0.1 "$id" |
		python3 -c 'import json, sys; x = json.load(sys.stdin); x["name"] = sys.argv[1]; print(json.dumps(x))' "$name"
}
small() { bench "$1" --rate "$RATE" --size 4096 --random --duration "$DURATION" --timeout 30000; }

out=/tmp/bench-fair.json
: >$out
for BUILD in $BUILDS; do
	modprobe -a $(modinfo -F depends "$BUILD/dgfs.ko" | tr , ' ')
	insmod "$BUILD/dgfs.ko"
	s "$BUILD/dgfsctl" store add bench path $store
	s "$BUILD/dgfsctl" chunk add "$id" store bench file "$id"
	s "$BUILD/dgfsctl" config set key $key max_read 16M
	tag=$(basename "$(dirname "$(readlink -f "$BUILD/dgfs.ko")")")-$(md5sum <"$BUILD/dgfs.ko" | cut -c1-8)

	small "$tag 4k-alone" >>$out
	bench "$tag stream-16m" --size 16M --window "$STREAM_WINDOW" --sequential \
		--duration $((DURATION + 4)) --timeout 30000 >/tmp/bench-stream.json &
	stream=$!
	sleep 2	# the stream under way
	small "$tag 4k-with-stream" >>$out
	wait $stream
	stream=
	cat /tmp/bench-stream.json >>$out
	s "$BUILD/dgfsctl" stats | grep -E '^(requests|replies|overloaded|send_errors|ring_full) ' | tr '\n' ' '
	echo
	s "$BUILD/dgfsctl" chunk del "$id"
	s "$BUILD/dgfsctl" store del bench
	rmmod dgfs
done

python3 - $out <<'EOF'
import json, sys
print("%-36s %9s %9s %9s %9s %8s" % ("run", "req/s", "MB/s", "p50 ms", "p99 ms", "timeouts"))
for line in open(sys.argv[1]):
    x = json.loads(line)
    print("%-36s %9.0f %9.1f %9.2f %9.2f %8d" % (x["name"], x["req_per_s"], x["mb_per_s"],
          x["p50_us"] / 1000, x["p99_us"] / 1000, x["timeouts"]))
EOF
cp $out "${DGFS_OUT:-/tmp}/bench-fair.json" 2>/dev/null || true
