#!/usr/bin/env bash
# The storage host of `make bench` (tests/bench/bench.sh), inside the VM:
# dgfsd (--kmod off: HTTP, and its userspace UDP tier), nginx on dgfsd's
# chunk files, and dgfs.ko with XDP on the tap-backed eth0 serving the same
# files. Talks to the host through the output share ($DGFS_OUT):
#   guest writes ready (with admin.key, auth.key, guest-kernel beside it);
#   host writes ids (after uploading the files); guest registers them with
#     dgfs.ko and writes registered;
#   host writes scale-want (N); guest fills the index to N chunks and
#     writes scale-N.json; until the host writes done.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${DGFS_BUILD:-build}
. tests/bench/servers.sh
stat=
cleanup() {
	[[ -z $stat ]] || kill "$stat" 2>/dev/null
	bench_servers_stop
	$BENCH_CTL xdp detach eth0 2>/dev/null || true
}
trap cleanup EXIT

modprobe virtio_net
ip addr add 198.18.2.2/24 dev eth0
ip link set eth0 up
work=/mnt/bench
bench_servers_start $work 198.18.2.2
bench_kmod_start $work/state eth0
python3 tests/vm/cpustat_server.py 198.18.2.2 7801 &
stat=$!
bench_wait_tcp 7801
cp $work/state/admin.key $work/state/auth.key "$DGFS_OUT/"
echo "$(uname -r), $(nproc) vCPU, $(awk '/MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo)" \
	>"$DGFS_OUT/guest-kernel"
echo ok >"$DGFS_OUT/ready"
# Waiting without a fork a round (a fork is costly under TCG, and what the
# guest spends counts as the server's): a read from a FIFO nobody writes.
mkfifo /tmp/tick && exec 9<>/tmp/tick
tick() { read -r -t "$1" -u 9 || true; }

for _ in $(seq 1200); do
	[[ -e $DGFS_OUT/ids || -e $DGFS_OUT/done ]] && break
	tick 0.5
done
[[ -e $DGFS_OUT/ids ]] || { echo "the host sent no ids"; exit 1; }
bench_kmod_register "$DGFS_OUT/ids"
cat $work/state/chunks/* >/dev/null	# in the page cache for every server
echo "$(wc -l <"$DGFS_OUT/ids") chunks registered"
echo ok >"$DGFS_OUT/registered"

for _ in $(seq 2400); do
	[[ -e $DGFS_OUT/done ]] && break
	if [[ -e $DGFS_OUT/scale-want ]]; then
		n=$(cat "$DGFS_OUT/scale-want")
		rm "$DGFS_OUT/scale-want"
		s=$SECONDS
		bench_scale /mnt/scale "$n" >"$DGFS_OUT/scale-$n.tmp"
		echo "scale $n: $((SECONDS - s)) s: $(cat "$DGFS_OUT/scale-$n.tmp")"
		mv "$DGFS_OUT/scale-$n.tmp" "$DGFS_OUT/scale-$n.json"
	fi
	tick 0.5
done
$BENCH_CTL stats | grep -E '^(chunks|lookups|requests|replies|datagrams|ring_full|overloaded|xdp_)'
