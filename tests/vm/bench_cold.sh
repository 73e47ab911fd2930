#!/usr/bin/env bash
# A cold read: one 16 MiB chunk over the fast path right after the page
# cache was dropped, so every byte comes from the disk through the slow
# path. Prints, per round, the seconds, MB/s and the disk's read requests.
# A benchmark, not a test: it asserts nothing.
#
#   tests/vm/vm.sh --out build/bench-cold tests/vm/bench_cold.sh
#   BENCH_BUILDS="build/before build" ...   each build's dgfs.ko in turn
set -eu
cd "$(dirname "$0")/../.."
BUILDS=${BENCH_BUILDS:-${DGFS_BUILD:-build}}
ROUNDS=${BENCH_ROUNDS:-3}
srv=bench-srv cli=bench-cli
s() { ip netns exec $srv "$@"; }
c() { ip netns exec $cli "$@"; }
cleanup() {
	ip netns del $srv 2>/dev/null || true
	ip netns del $cli 2>/dev/null || true
}
trap cleanup EXIT

store=/mnt/bench-cold && rm -rf $store && mkdir -p $store
head -c $((16 << 20)) /dev/urandom >$store/tmp
id=$(sha256sum $store/tmp | cut -c1-64)
mv $store/tmp $store/$id
key=000102030405060708090a0b0c0d0e0f
disk=$(basename "$(findmnt -no SOURCE /mnt)")
disk_reads() { awk '{ print $1 }' "/sys/block/$disk/stat"; }
ms() { echo $(($(date +%s%N) / 1000000)); }

ip netns add $srv && ip netns add $cli
ip link add dg0 netns $srv type veth peer name dg1 netns $cli
s ip addr add 198.18.0.1/24 dev dg0 && c ip addr add 198.18.0.2/24 dev dg1
s ip link set dg0 up && c ip link set dg1 up && s ip link set lo up

echo "read_ahead_kb of $disk: $(cat /sys/block/$disk/queue/read_ahead_kb)"
printf '%-24s %5s %8s %8s %11s\n' build round seconds MB/s disk-reads
for BUILD in $BUILDS; do
	modprobe -a $(modinfo -F depends "$BUILD/dgfs.ko" | tr , ' ')
	insmod "$BUILD/dgfs.ko"
	s "$BUILD/dgfsctl" store add bench path $store
	s "$BUILD/dgfsctl" chunk add "$id" store bench file "$id"
	s "$BUILD/dgfsctl" config set key $key max_read 16M
	tag=$(basename "$(dirname "$(readlink -f "$BUILD/dgfs.ko")")")-$(md5sum <"$BUILD/dgfs.ko" | cut -c1-8)
	for ((i = 1; i <= ROUNDS; i++)); do
		sync && echo 3 >/proc/sys/vm/drop_caches
		r0=$(disk_reads) t0=$(ms)
		c "$BUILD/dgfs" fetch --key $key --timeout 5000 -o /tmp/cold 198.18.0.1 "$id"
		t1=$(ms) r1=$(disk_reads)
		cmp -s /tmp/cold $store/$id || echo "round $i: the chunk came back wrong"
		printf '%-24s %5d %8.2f %8.1f %11d\n' "$tag" "$i" "$(bc -l <<<"($t1 - $t0) / 1000")" \
			"$(bc -l <<<"16.777216 / (($t1 - $t0) / 1000)")" $((r1 - r0))
	done
	s "$BUILD/dgfsctl" chunk del "$id"
	s "$BUILD/dgfsctl" store del bench
	rmmod dgfs
done
