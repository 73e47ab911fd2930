#!/usr/bin/env bash
# The storage host of tests/vm/bench_afxdp_remote.sh, inside the VM, without
# dgfs.ko: one 16 MiB chunk, and tests/vm/bench_afxdp_control.py on TCP 7801
# switching dgfs-userd on UDP 7878 between its socket tier and --af-xdp eth0
# (the tap-backed virtio NIC) at the host's word. Tells the host it is ready
# through the output share and stays up until the host says "done"; then
# writes what the NIC and the kernel said about XDP on it.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${DGFS_BUILD:-build}
key=000102030405060708090a0b0c0d0e0f	# the same in bench_afxdp_remote.sh
ctl=
cleanup() {
	[[ -z $ctl ]] || kill "$ctl" 2>/dev/null
	[[ -z $ctl ]] || wait "$ctl" 2>/dev/null || true	# it stops its dgfs-userd first
}
trap cleanup EXIT

modprobe virtio_net
ip addr add 198.18.1.2/24 dev eth0
ip link set eth0 up
echo "== eth0's queues: $(ls /sys/class/net/eth0/queues | tr '\n' ' ')"

store=/mnt/bench && rm -rf $store && mkdir -p $store
head -c $((16 << 20)) /dev/urandom >$store/tmp
id=$(sha256sum $store/tmp | cut -c1-64)
mv $store/tmp $store/$id
cat $store/$id >/dev/null	# in the page cache

python3 tests/vm/bench_afxdp_control.py 198.18.1.2 7801 "$BUILD/dgfs-userd" $key $store eth0 \
	>/tmp/control.log 2>&1 &
ctl=$!
for _ in $(seq 150); do	# Python takes seconds to start under TCG
	ss -Hltn 'sport = :7801' | grep -q . && break
	sleep 0.2
done
echo "$id" >"$DGFS_OUT/ready"
for _ in $(seq 2400); do
	[[ -e $DGFS_OUT/done ]] && break
	sleep 0.5
done
[[ -e $DGFS_OUT/done ]] || { echo "the host never said done"; exit 1; }
echo "== eth0's queues now: $(ls /sys/class/net/eth0/queues | tr '\n' ' ')"
echo "== the kernel on XDP and AF_XDP (dmesg)"
dmesg | grep -iE 'xdp|virtio_net|eth0' || echo "(nothing)"
echo "== the servers' logs"
tail -n 40 /tmp/userd-*.log 2>/dev/null | grep -vE '^(malformed_|token_|mtu_probes)' || true
cat /tmp/control.log
