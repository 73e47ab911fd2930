#!/usr/bin/env bash
# The storage host of tests/vm/bench_remote.sh, inside the VM: dgfs.ko with
# XDP on the tap-backed eth0 (port 7878) and dgfs-userd on the same chunk
# (port 7879). Tells the host it is ready through the output share, serves
# its CPU counters on TCP 7801, and stays up until the host says "done".
set -eu
cd "$(dirname "$0")/../.."
BUILD=${DGFS_BUILD:-build}
CTL=$BUILD/dgfsctl
key=000102030405060708090a0b0c0d0e0f	# the same in bench_remote.sh
userd=
cleanup() {
	[[ -z $userd ]] || kill "$userd" 2>/dev/null
	[[ -z ${stat:-} ]] || kill "$stat" 2>/dev/null
	$CTL xdp detach eth0 2>/dev/null || true
}
trap cleanup EXIT

modprobe virtio_net
ip addr add 198.18.1.2/24 dev eth0
ip link set eth0 up
modprobe -a $(modinfo -F depends "$BUILD/dgfs.ko" | tr , ' ')
insmod "$BUILD/dgfs.ko"

# One 16 MiB chunk, named by its id so that both servers find it.
store=/mnt/bench && rm -rf $store && mkdir -p $store
head -c $((16 << 20)) /dev/urandom >$store/tmp
id=$(sha256sum $store/tmp | cut -c1-64)
mv $store/tmp $store/$id
cat $store/$id >/dev/null	# in the page cache for both

$CTL store add bench path $store
$CTL chunk add "$id" store bench file "$id"
$CTL config set key "$key"
$CTL xdp attach eth0 mode native
$CTL xdp show eth0
"$BUILD/dgfs-userd" -p 7879 --key "$key" --threads "${BENCH_USERD_THREADS:-$(nproc)}" $store \
	>/tmp/userd.log 2>&1 &
userd=$!
python3 tests/vm/cpustat_server.py 198.18.1.2 7801 &
stat=$!
# Python takes seconds to start under TCG: ready means both are listening.
for _ in $(seq 150); do
	ss -Hltn 'sport = :7801' | grep -q . && ss -Hlun 'sport = :7879' | grep -q . && break
	sleep 0.2
done

# BENCH_PERF=1 on the host: profile the first run (kernel path, 4 KiB),
# from before "ready" until the host says "first-run-done".
if [[ -e $DGFS_OUT/perf ]]; then
	perf record -q -a -g -o /tmp/perf.data -- sleep 600 >/dev/null 2>&1 &
	perf=$!
	for _ in $(seq 100); do	# perf takes a while to start under TCG
		[[ -s /tmp/perf.data ]] && break
		sleep 0.2
	done
	sleep 1
fi
echo "$id" >"$DGFS_OUT/ready"
if [[ -n ${perf:-} ]]; then
	for _ in $(seq 600); do
		[[ -e $DGFS_OUT/first-run-done ]] && break
		sleep 0.2
	done
	kill -INT "$perf" && wait "$perf" || true
	perf report -i /tmp/perf.data --no-children --percent-limit 0.7 --stdio \
		>"$DGFS_OUT/perf.txt" 2>&1 || true
	perf report -i /tmp/perf.data --no-children -g none --percent-limit 0.3 --stdio \
		>"$DGFS_OUT/perf-flat.txt" 2>&1 || true
	perf report -i /tmp/perf.data --children -g none --percent-limit 1 --stdio \
		>"$DGFS_OUT/perf-children.txt" 2>&1 || true
fi
for _ in $(seq 1200); do
	[[ -e $DGFS_OUT/done ]] && break
	sleep 0.5
done
[[ -e $DGFS_OUT/done ]] || { echo "the host never said done"; exit 1; }
$CTL stats | grep -E '^(requests|replies|datagrams|ring_full|overloaded|xdp_)'
kill "$userd" && wait "$userd" || true
userd=
tail -n 30 /tmp/userd.log | grep -E '^(requests|replies|datagrams|send_errors) '
