#!/usr/bin/env bash
# The storage host of tests/vm/bench_onoff.sh, inside the VM: dgfs.ko with
# XDP on the tap-backed eth0 (one queue, virtio-net's default), the NIC's
# interrupts on CPU 0, one 16 MiB chunk in the page cache, and
# tests/vm/bench_control.py on TCP 7802 for the host to read per-CPU busy
# time and counters and to switch the setting under test. Tells the host
# it is ready through the output share and stays up until it says "done".
set -eu
cd "$(dirname "$0")/../.."
BUILD=${DGFS_BUILD:-build}
CTL=$BUILD/dgfsctl
key=000102030405060708090a0b0c0d0e0f	# the same in bench_onoff.sh
guest=198.18.3.2
cleanup() {
	[[ -z ${ctl_pid:-} ]] || kill "$ctl_pid" 2>/dev/null
	$CTL xdp detach eth0 2>/dev/null || true
}
trap cleanup EXIT

modprobe virtio_net
ip addr add $guest/24 dev eth0
ip link set eth0 up
modprobe -a $(modinfo -F depends "$BUILD/dgfs.ko" | tr , ' ')
insmod "$BUILD/dgfs.ko"

# Every interrupt of the NIC on CPU 0, as a one-queue NIC's are on its
# queue's CPU: without balancing CPU 0 does all the work. (Which CPU the
# kernel picked by itself would otherwise vary from boot to boot.)
nic=$(basename "$(readlink -f /sys/class/net/eth0/device)")
for irq in $(awk -v n="$nic" '$NF ~ "^" n "-" { sub(":", "", $1); print $1 }' /proc/interrupts); do
	echo 0 >/proc/irq/$irq/smp_affinity_list || echo "IRQ $irq stays where it is"
done
grep -E "$nic-" /proc/interrupts || true
echo "queues: $(ls -d /sys/class/net/eth0/queues/rx-* | wc -l) rx," \
	"$(ls -d /sys/class/net/eth0/queues/tx-* | wc -l) tx; $(nproc) CPUs"

# One 16 MiB chunk, named by its id.
store=/mnt/bench && rm -rf $store && mkdir -p $store
head -c $((16 << 20)) /dev/urandom >$store/tmp
id=$(sha256sum $store/tmp | cut -c1-64)
mv $store/tmp $store/$id
cat $store/$id >/dev/null	# in the page cache

$CTL store add bench path $store
$CTL chunk add "$id" store bench file "$id"
$CTL config set key "$key"
$CTL xdp attach eth0 mode native
$CTL xdp show eth0
python3 tests/vm/bench_control.py $guest 7802 "$CTL" &
ctl_pid=$!
# Python takes seconds to start under TCG: ready means it listens.
for _ in $(seq 150); do
	ss -Hltn 'sport = :7802' | grep -q . && break
	sleep 0.2
done
echo "$id" >"$DGFS_OUT/ready"
for _ in $(seq 7000); do	# VM_TIMEOUT (bench_onoff.sh: 3600 s) ends it first
	[[ -e $DGFS_OUT/done ]] && break
	sleep 0.5
done
[[ -e $DGFS_OUT/done ]] || { echo "the host never said done"; exit 1; }
$CTL stats | grep -E '^(requests|replies|balanced|datagrams|ring_full|client_full|overloaded|xdp_)'
grep -E "$nic-" /proc/interrupts || true
