#!/usr/bin/env bash
# Namespaces are storage hosts that cannot hold each other up, and one that
# never serves costs little:
# - a namespace without a store has no rings; XDP requests to it are
#   passed on and counted (no_rings); the first store add makes them;
# - one host's chunk on a device that does not answer (dm-delay) takes
#   its 256 slow reads and no more; another host's cold reads still finish;
#   deleting the stuck host hangs no other namespace's teardown; once the
#   device answers, the stuck host's reads finish and it is freed.
# expect-checks: 44 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

DGFS=$BUILD/dgfs
key=000102030405060708090a0b0c0d0e0f
stuck=dgfs-stuck stuckc=dgfs-stuckc srv=dgfs-srv cli=dgfs-cli
idle=dgfs-idle idlec=dgfs-idlec other=dgfs-other
img=/mnt/stall.img mnt=/tmp/stall dm=dgfs-stall loop=
st() { ip netns exec $stuck "$@"; }
stc() { ip netns exec $stuckc "$@"; }
s() { ip netns exec $srv "$@"; }
c() { ip netns exec $cli "$@"; }
i() { ip netns exec $idle "$@"; }
ic() { ip netns exec $idlec "$@"; }
# nstat NETNS NAME: one of a namespace's counters.
nstat() { ip netns exec "$1" $CTL stats | awk -v k="$2" '$1 == k { print $2 }'; }
# For wait_for, which runs its command again each time:
stat_is() { [[ $(nstat "$1" "$2") == "$3" ]]; }
destroyed_ge() { (($(stat_value obj_destroyed) >= $1)); }

cleanup() {
	# The device first: reads waiting on it hold their namespace.
	dmsetup info $dm >/dev/null 2>&1 && delay 0
	i $CTL xdp detach dg0 2>/dev/null
	for ns in $stuck $stuckc $srv $cli $idle $idlec $other; do
		ip netns del $ns 2>/dev/null
	done
	slow_fs_remove
}
trap cleanup EXIT

# The CPUs the kernel may ever bring up ("0-1", "0,2-3"): one ring each.
possible_cpus() {
	local r n=0 a
	IFS=, read -ra r </sys/devices/system/cpu/possible
	for a in "${r[@]}"; do n=$((n + ${a#*-} - ${a%-*} + 1)); done
	echo $n
}

dgfs_load
ncpus=$(possible_cpus)

# ---- a namespace that never serves has no rings ---------------------------
check "idle host and its client (veth)" two_hosts $idle $idlec
same "a namespace without stores has no rings" "$(nstat $idle rings)" 0
check "idle: xdp attach dg0 (native)" i $CTL xdp attach dg0 mode native
chunk0=$(printf '%064d' 0)
# requests BYTES COUNT: from the client, to the idle host, auth off or not.
requests() { ic python3 tests/vm/flood.py 198.18.0.1 7878 $chunk0 0000000000000000 0 "$1" "$2" >/dev/null; }
check "client: 5 requests to the idle host" requests 4096 5
check "... reach the module through XDP, which finds no rings and counts them" \
	wait_for 10 stat_is $idle no_rings 5
same "... which XDP passed on: valid, none submitted or rejected" \
	"$(nstat $idle xdp_requests_valid) $(nstat $idle xdp_submitted) $(nstat $idle xdp_kmod_rejected)" "5 0 0"
same "... and still no rings" "$(nstat $idle rings)" 0

root=$(scratch stall)
mkdir -p "$root/idle1" "$root/idle2"
i $CTL store add s1 path "$root/idle1" & p1=$!
i $CTL store add s2 path "$root/idle2" & p2=$!
wait $p1 && r1=0 || r1=$?
wait $p2 && r2=0 || r2=$?
same "two racing first store adds both succeed" "$r1 $r2" "0 0"
same "... and made one ring per possible CPU" "$(nstat $idle rings)" "$ncpus"
check "client: 5 more requests" requests 4096 5
check "... now submitted to the rings" wait_for 10 stat_is $idle xdp_submitted 5
same "... none counted as no_rings" "$(nstat $idle no_rings)" 5
check "idle: both stores deleted" bash -c "ip netns exec $idle $CTL store del s1 && ip netns exec $idle $CTL store del s2"
same "... the rings stay until the namespace goes" "$(nstat $idle rings)" "$ncpus"
i $CTL xdp detach dg0

# ---- the rings are charged to whoever made them -----------------------------
# The first store add in a namespace makes its rings (GFP_KERNEL_ACCOUNT):
# its memory cgroup must grow by at least the rings' bytes more than the
# same command's does when the rings are there already (the control: the
# command's own page tables, stack and the like).
cg=/sys/fs/cgroup
# charge NETNS STORE: the kernel memory charged to a fresh memory cgroup
# while `store add` runs in it.
charge() {
	local g=$cg/dgfs-charge-$1 before
	mkdir "$g" || return 1
	before=$(awk '$1 == "kernel" { print $2 }' "$g/memory.stat")
	bash -c "echo \$\$ >$g/cgroup.procs && exec ip netns exec $1 $CTL store add $2 path $root/idle1" ||
		return 1
	echo $(($(awk '$1 == "kernel" { print $2 }' "$g/memory.stat") - before))
}
if [[ ${dgfs_kdebug:-0} == 1 ]] && ! grep -qw memory $cg/cgroup.controllers 2>/dev/null; then
	echo "SKIP: the rings' memory cgroup charge (the debug kernel has no CONFIG_MEMCG)"
else
	mountpoint -q $cg || mount -t cgroup2 none $cg
	echo +memory >$cg/cgroup.subtree_control
	ring=$(bpftool btf dump file /sys/kernel/btf/dgfs format raw |
		sed -n "s/.*STRUCT 'dgfs_ring' size=\([0-9]*\).*/\1/p")
	check "dgfs.ko's BTF gives the ring's size ($ring bytes)" test "${ring:-0}" -gt 0
	ctl=$(charge $idle s3) fresh=
	check "memcg: the second host's first store add" ip netns add dgfs-memcg &&
		fresh=$(charge dgfs-memcg m)
	check "... charged its $ncpus rings ($((ncpus * ${ring:-0})) bytes) to the caller's memory cgroup (+${fresh:-?} bytes, +${ctl:-?} with rings made before)" \
		test $((${fresh:-0} - ${ctl:-0})) -ge $((ncpus * ${ring:-1}))
	same "... which made them" "$(nstat dgfs-memcg rings)" "$ncpus"
	ip netns del dgfs-memcg
	i $CTL store del s3
fi

# ---- a device that does not answer ------------------------------------------
modprobe -a loop dm_delay 2>/dev/null	# both built into the debug kernel
check "device mapper has the delay target" bash -c "dmsetup targets | grep -qw delay"
mkdir -p $mnt
check "a 4 MiB chunk on ext4 on a dm-delay device" slow_fs $((4 << 20)) || finish
idstuck=$(sha256 $mnt/c)
stuck_setup() {
	st $CTL store add slow path $mnt && st $CTL chunk add "$idstuck" store slow file c &&
		st $CTL config set auth off
}
check "stuck host and its client" two_hosts $stuck $stuckc
check "stuck host: store on the slow device, chunk, auth off" stuck_setup || finish

check "serving host and its client" two_hosts $srv $cli
mkdir -p "$root/srv"
declare -a ids
for n in 0 1 2; do
	head -c $((512 << 10)) /dev/urandom >"$root/srv/$n"
	ids[n]=$(sha256 "$root/srv/$n")
done
srv_setup() {
	local n
	s $CTL store add main path "$root/srv" || return
	for n in 0 1 2; do s $CTL chunk add "${ids[n]}" store main file $n || return; done
	s $CTL config set key $key
}
check "serving host: store and 3 chunks on the scratch disk, key" srv_setup || finish

# Nothing is cached (what the test wrote is written back first, or it
# stays), and reads of the slow device now wait 10 minutes.
sync && echo 1 >/proc/sys/vm/drop_caches
check "the slow device holds reads back" delay 600000 || finish

flood_stuck() { stc python3 tests/vm/flood.py 198.18.0.1 7878 "$idstuck" 0000000000000000 0 4096 300 >/dev/null; }
check "stuck client: 300 cold reads, never waiting for an answer" flood_stuck
check "... all 300 taken off the rings" wait_for 30 stat_is $stuck requests 300
same "... 256 of them wait for the device, the rest were answered AGAIN" \
	"$(nstat $stuck slow_reads) $(nstat $stuck overloaded)" "256 44"

misses=$(nstat $srv cache_misses)
bad=0
for n in 0 1 2; do
	if c timeout 60 $DGFS fetch --key $key -o /tmp/got 198.18.0.1 "${ids[n]}" &&
		cmp -s /tmp/got "$root/srv/$n"; then :; else bad=$((bad + 1)); fi
done
same "the serving host's cold reads all finish, right" "$bad" 0
check "... they did go to its disk" test "$(nstat $srv cache_misses)" -ge $((misses + 3))
same "... and are done" "$(nstat $srv slow_reads)" 0
same "the stuck host still waits for its device" "$(nstat $stuck slow_reads)" 256

# Namespaces are torn down one after another, in one thread: a stuck one
# would hold every other one's teardown.
destroyed=$(stat_value obj_destroyed)
check "delete the stuck host (returns at once)" timeout 10 ip netns del $stuck
other_setup() {
	ip netns add $other && mkdir -p "$root/other" && echo other >"$root/other/c" &&
		ip netns exec $other $CTL store add o path "$root/other" &&
		ip netns exec $other $CTL chunk add "$(sha256 "$root/other/c")" store o file c
}
check "another host: store and chunk" other_setup
ip netns del $other
check "delete it: its 2 objects are freed while the stuck host waits" \
	wait_for 60 destroyed_ge $((destroyed + 2))
same "... and the stuck host's are not (its reads hold it)" \
	"$(($(stat_value obj_destroyed) - destroyed))" 2
if c timeout 60 $DGFS fetch --key $key -o /tmp/got 198.18.0.1 "${ids[0]}" &&
	cmp -s /tmp/got "$root/srv/0"; then
	pass "the serving host still answers"
else
	fail "the serving host still answers"
fi

check "the device answers again" delay 0
check "the stuck host's reads finish, and its store and chunk are freed" \
	wait_for 60 destroyed_ge $((destroyed + 4))
same "only the serving host's 4 objects are left" \
	"$(($(stat_value obj_created) - $(stat_value obj_destroyed)))" 4

check "stuck client: delete" ip netns del $stuckc
umount $mnt && dmsetup remove $dm && losetup -d "$loop" && loop=
for ns in $srv $cli $idle $idlec; do ip netns del $ns; done
dgfs_unload
finish
