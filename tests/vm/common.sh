# shellcheck shell=bash
# Helpers for the tests that run inside the VM (tests/vm/vm.sh): they are
# root on Debian's 6.1 kernel, the repository read-only at its own path,
# /mnt a scratch ext4 disk, /tmp a tmpfs.
. tests/lib.sh

BUILD=${DGFS_BUILD:-build}
CTL=$BUILD/dgfsctl
KFUNC_TEST=$BUILD/kfunc_test

if [[ ${DGFS_VM:-} != 1 ]]; then
	echo "FAIL: $0 must run inside the VM (tests/vm/vm.sh)"
	exit 1
fi

# insmod loads no dependencies: load what modinfo lists first.
dgfs_load() {
	local deps
	deps=$(modinfo -F depends "$BUILD/dgfs.ko" | tr , ' ')
	[[ -z $deps ]] || modprobe -a $deps
	check "insmod dgfs.ko" insmod "$BUILD/dgfs.ko"
}

# Unload and check the module's own account: every object it created was
# destroyed (it logs the two counts when it goes; only this unload's line
# counts, not an earlier load's). A BPF program that called the kfuncs holds
# the module until its deferred free has run (RCU, a workqueue): on the
# debug kernel that can take seconds after the program's last fd is gone
# (more than 60 s once, right after a flood, on a loaded host), so wait for
# the holders to go (up to 60 s, 300 s there) first, and if they do not,
# say what still holds it.
dgfs_unheld() { [[ ! -e /sys/module/dgfs/refcnt || $(cat /sys/module/dgfs/refcnt) == 0 ]]; }
dgfs_unload() {
	local mark said
	if ! wait_for $((${dgfs_kdebug:-0} == 1 ? 300 : 60)) dgfs_unheld; then
		echo "dgfs.ko still held (refcnt $(cat /sys/module/dgfs/refcnt)); BPF programs:"
		bpftool prog show 2>&1 | grep -E '^[0-9]+:' | sed 's/^/  /'
	fi
	mark=$(kernel_log_mark)
	check "rmmod dgfs" rmmod dgfs
	said=$(kernel_log_since "$mark" | grep 'dgfs: ')
	if grep -Eq 'dgfs: unloaded, objects created ([0-9]+) destroyed \1$' <<<"$said"; then
		pass "dgfs freed every object it created"
	else
		fail "dgfs freed every object it created (it said: ${said:-nothing})"
	fi
}

# A fresh directory on the scratch disk.
scratch() {
	local d=/mnt/$1
	rm -rf "$d" && mkdir -p "$d" && echo "$d"
}

sha256() { sha256sum "$1" | cut -c1-64; }

# serve_small NAME SIZE ARTICLE: on the server (s), a store "main" in the
# scratch directory NAME with one chunk "small" of SIZE random bytes, and
# the key $key; sets root and small. One check, "server: store, ARTICLE
# chunk, key" (ARTICLE: "a 4 KiB"); a test that cannot go on without it
# finishes.
serve_small() {
	root=$(scratch "$1")
	head -c "$2" /dev/urandom >"$root/small"
	small=$(sha256 "$root/small")
	check "server: store, $3 chunk, key" \
		s $CTL -b - <<<"store add main path $root
chunk add $small store main file small
config set key $key" || finish
}

# A device that answers late, for the tests that need one (test_latency,
# test_netns_stall); the script sets img (the loop device's file), mnt, dm
# (the dm-delay device's name) and loop= (set here).
# slow_fs SIZE: a chunk file c of SIZE random bytes in an ext4 file system
# on a loop device, under a dm-delay device (no delay yet), mounted
# read-only at $mnt. (No udev in the VM: the device's node is devtmpfs's
# /dev/dm-N.)
slow_fs() {
	loop=$(truncate -s 64M $img && losetup -f --show $img) &&
		mkfs.ext4 -q -F "$loop" && mount "$loop" $mnt &&
		head -c "$1" /dev/urandom >$mnt/c && umount $mnt &&
		dmsetup create $dm --table "0 $(blockdev --getsz "$loop") delay $loop 0 0" &&
		mount -o ro "/dev/$(dmsetup info -c --noheadings -o blkdevname $dm)" $mnt
}

# delay MS: reads of the slow device wait MS ms; 0 lets them all go. A
# suspend first sends every read that waits (dm-delay's presuspend).
delay() {
	local n
	n=$(blockdev --getsz "$loop") &&
		dmsetup suspend --nolockfs $dm &&
		dmsetup load $dm --table "0 $n delay $loop 0 $1 $loop 0 0" &&
		dmsetup resume $dm
}

# slow_fs_remove: all of slow_fs undone, quietly (for a cleanup).
slow_fs_remove() {
	umount $mnt 2>/dev/null
	dmsetup remove $dm 2>/dev/null
	[[ -z $loop ]] || losetup -d "$loop"
	loop=
	rm -f $img
}

# stat_value NAME [NETNS]: one counter from `dgfsctl stats`.
stat_value() {
	$CTL stats | awk -v k="$1" '$1 == k { print $2 }'
}

# server_and_client: the module loaded and two_hosts dgfs-srv dgfs-cli
# ($srv, $cli), s() and c() to run a command in each. server_and_client_down
# (also on exit) runs the script's own cleanup_first if it has one, then
# removes both namespaces (before dgfs_unload: their sockets hold the module).
server_and_client() {
	srv=dgfs-srv cli=dgfs-cli
	s() { ip netns exec $srv "$@"; }
	c() { ip netns exec $cli "$@"; }
	trap server_and_client_down EXIT
	dgfs_load
	check "two namespaces joined by veth (dg0, dg1)" two_hosts $srv $cli
}
server_and_client_down() {
	! declare -F cleanup_first >/dev/null || cleanup_first
	ip netns del $srv 2>/dev/null
	ip netns del $cli 2>/dev/null
}

# two_hosts SRV CLI: network namespaces SRV and CLI joined by a veth pair:
# dg0 in SRV (198.18.0.1/24, 2001:db8:2::1/64), dg1 in CLI (198.18.0.2/24,
# 2001:db8:2::2/64), both up with their loopbacks. Fails if any step does.
two_hosts() {
	local srv=$1 cli=$2
	ip netns add "$srv" && ip netns add "$cli" &&
		ip link add dg0 netns "$srv" type veth peer name dg1 netns "$cli" &&
		ip -n "$srv" addr add 198.18.0.1/24 dev dg0 &&
		ip -n "$cli" addr add 198.18.0.2/24 dev dg1 &&
		ip -n "$srv" addr add 2001:db8:2::1/64 dev dg0 nodad &&
		ip -n "$cli" addr add 2001:db8:2::2/64 dev dg1 nodad &&
		ip -n "$srv" link set dg0 up && ip -n "$cli" link set dg1 up &&
		ip -n "$srv" link set lo up && ip -n "$cli" link set lo up
}
