#!/usr/bin/env bash
# The storage host of `make bench` (tests/bench/bench.sh), inside the VM:
# dgfsd (--kmod off: HTTP, and its userspace UDP tier), nginx on dgfsd's
# chunk files, and dgfs.ko with XDP on the tap-backed eth0 serving the same
# files. Talks to the host through the output share ($DGFS_OUT):
#   guest writes ready (with admin.key, auth.key, guest-kernel beside it);
#   host writes ids (after uploading the files); guest registers them with
#     dgfs.ko and writes registered;
#   host writes scale-want (N); guest fills the index to N chunks and
#     writes scale-N.json; reset-want: the guest reloads dgfs.ko with the
#     bench's chunks alone and writes reset-done; snap-want (TAG): the
#     guest writes snap-TAG.txt; mtu-want (N): eth0's MTU set to N (XDP
#     stays attached: virtio-net on 6.1 refuses XDP above ~3.5 KB, but
#     not a larger MTU after it; requests are small, replies leave by
#     the stack), mtu-done says "ok N" or the error; until the host
#     writes done.
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

# snapshot: what the scale runs' cells are read against (the host asks
# before and after each cell): the module's counters, memory and reclaim,
# how much of the served files is in the page cache, drops on the way in.
snapshot() {
	echo "time $(date +%s.%N)"
	$BENCH_CTL stats | grep -v '^[a-z_]*latency'
	awk '{ print "meminfo_" $1, $2 }' /proc/meminfo | tr -d :
	sed 's/^/vmstat_/' /proc/vmstat
	awk 'NR == 1 { print "cpu_user", $2 + $3; print "cpu_sys", $4; print "cpu_idle", $5;
		print "cpu_irq", $7; print "cpu_softirq", $8 }' /proc/stat
	awk 'NR > 2 && $1 ~ /^(filp|kmalloc-128|kmalloc-8|kmalloc-16|dentry|apparmor|lsm_file)/ {
		print "slab_" $1, $2 }' /proc/slabinfo
	fincore -b -n -o RES $work/state/chunks/* | awk '{ s += $1 } END { print "served_cached_bytes", s }'
	awk '/^(Udp|Tcp|Ip):/ { p = tolower(substr($1, 1, length($1) - 1))
		if (!h[p]) { split($0, k); h[p] = 1 } else for (i = 2; i <= NF; i++) print p "_" k[i], $i }' /proc/net/snmp
	local d=0 sq=0 x y z
	while read -r x y z _; do d=$((d + 16#$y)) sq=$((sq + 16#$z)); done </proc/net/softnet_stat
	echo "softnet_dropped $d"
	echo "softnet_squeezed $sq"
	# Each task's CPU ticks (user + system): who else ran beside the
	# fast path (the names are in parentheses, so a task's is one word).
	cat /proc/[0-9]*/stat 2>/dev/null | awk '{ print "task_" $2 "_" $1, $14 + $15 }'
	for f in rx_dropped rx_missed_errors rx_fifo_errors rx_packets tx_packets tx_bytes; do
		echo "eth0_$f $(cat /sys/class/net/eth0/statistics/$f)"
	done
	echo "eth0_tx_timeouts $(cat /sys/class/net/eth0/queues/tx-0/tx_timeout)"
}
perf=

for _ in $(seq 2400); do
	[[ -e $DGFS_OUT/done ]] && break
	if [[ -e $DGFS_OUT/snap-want ]]; then
		tag=$(cat "$DGFS_OUT/snap-want")
		rm "$DGFS_OUT/snap-want"
		snapshot >"$DGFS_OUT/snap-$tag.tmp" 2>&1
		mv "$DGFS_OUT/snap-$tag.tmp" "$DGFS_OUT/snap-$tag.txt"
	fi
	if [[ -e $DGFS_OUT/perf-want ]]; then	# profile until perf-stop-want
		ptag=$(cat "$DGFS_OUT/perf-want")	# a snap may come in between
		rm "$DGFS_OUT/perf-want"
		perf record -q -a -g -o /tmp/perf-$ptag.data -- sleep 600 >/dev/null 2>&1 &
		perf=$!
		for _ in $(seq 100); do	# perf takes a while to start under TCG
			[[ -s /tmp/perf-$ptag.data ]] && break
			tick 0.1
		done
		echo ok >"$DGFS_OUT/perf-started"
	fi
	if [[ -e $DGFS_OUT/perf-stop-want && -n $perf ]]; then
		rm "$DGFS_OUT/perf-stop-want"
		kill -INT "$perf" && wait "$perf" || true
		perf=
		perf report -i /tmp/perf-$ptag.data --no-children -g none --percent-limit 0.3 --stdio \
			>"$DGFS_OUT/perf-$ptag-flat.txt" 2>&1 || true
		perf report -i /tmp/perf-$ptag.data --no-children --percent-limit 1 --stdio \
			>"$DGFS_OUT/perf-$ptag.txt" 2>&1 || true
		perf report -i /tmp/perf-$ptag.data --children -g none --percent-limit 1 --stdio \
			>"$DGFS_OUT/perf-$ptag-children.txt" 2>&1 || true
		rm -f /tmp/perf-$ptag.data
		echo ok >"$DGFS_OUT/perf-stopped"
	fi
	if [[ -e $DGFS_OUT/mtu-want ]]; then
		n=$(cat "$DGFS_OUT/mtu-want")
		rm "$DGFS_OUT/mtu-want"
		if r=$(ip link set eth0 mtu "$n" 2>&1); then r="ok $n"; fi
		echo "$r" >"$DGFS_OUT/mtu-done.tmp" && mv "$DGFS_OUT/mtu-done.tmp" "$DGFS_OUT/mtu-done"
	fi
	if [[ -e $DGFS_OUT/reset-want ]]; then
		rm "$DGFS_OUT/reset-want"
		s=$SECONDS
		bench_scale_reset $work/state "$DGFS_OUT/ids" eth0 >/dev/null
		echo "reset: $((SECONDS - s)) s, $($BENCH_CTL stats | awk '$1 == "chunks" { print $2 }') chunks"
		echo ok >"$DGFS_OUT/reset-done"
	fi
	if [[ -e $DGFS_OUT/scale-want ]]; then
		n=$(cat "$DGFS_OUT/scale-want")
		rm "$DGFS_OUT/scale-want"
		s=$SECONDS
		[[ ! -e $DGFS_OUT/settle-env ]] || . "$DGFS_OUT/settle-env"	# bench_settle's knobs
		bench_scale /mnt/scale "$n" "$DGFS_OUT/settle-$n.txt" >"$DGFS_OUT/scale-$n.tmp"
		echo "scale $n: $((SECONDS - s)) s: $(cat "$DGFS_OUT/scale-$n.tmp")"
		mv "$DGFS_OUT/scale-$n.tmp" "$DGFS_OUT/scale-$n.json"
	fi
	tick 0.5
done
$BENCH_CTL stats | grep -E '^(chunks|lookups|requests|replies|datagrams|ring_full|overloaded|xdp_)'
# A NIC whose transmit queue timed out lost the run's traffic from then on
# (cells of "No route to host"): say so, and fail the VM's run.
t=$(cat /sys/class/net/eth0/queues/tx-0/tx_timeout)
[[ $t == 0 ]] || { echo "eth0's transmit queue timed out $t times: the cells after the first are void"; exit 1; }
