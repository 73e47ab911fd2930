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
# destroyed (it logs the two counts when it goes).
dgfs_unload() {
	check "rmmod dgfs" rmmod dgfs
	check "dgfs freed every object it created" \
		bash -c "dmesg | grep -Eq 'dgfs: unloaded, objects created ([0-9]+) destroyed \1$'"
}

# A fresh directory on the scratch disk.
scratch() {
	local d=/mnt/$1
	rm -rf "$d" && mkdir -p "$d" && echo "$d"
}

sha256() { sha256sum "$1" | cut -c1-64; }

# stat_value NAME [NETNS]: one counter from `dgfsctl stats`.
stat_value() {
	$CTL stats | awk -v k="$1" '$1 == k { print $2 }'
}
