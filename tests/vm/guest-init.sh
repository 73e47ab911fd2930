#!/bin/bash
# Second stage of the test VM, pid 1 with the host's root (read-only 9p) as
# its real root: mount what tests need, run each script with a dmesg check after it,
# record results in the writable share, then power off.
# From the kernel command line (see vm.sh): dgfs_repo, dgfs_net,
# dgfs_interactive; the scripts are listed in the share's file "scripts".
# Setup errors abort (pid 1 exits, the kernel panics, QEMU quits, vm.sh
# finds no status file); test failures are recorded instead.
set -euo pipefail

out=/run/dgfs-out
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=755 tmpfs /run
mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug

mkdir "$out"
mount -t 9p -o trans=virtio,version=9p2000.L out "$out"
mapfile -t scripts < "$out/scripts"

# The tmpfs on /tmp hides the host's /tmp: carry over scripts from there.
mkdir /run/carry
for s in "${scripts[@]}"; do
	case $s in /tmp/*) cp --parents "$s" /run/carry ;; esac
done
# A repository that lives under /tmp (CI may clone there) would vanish too:
# hold it on a bind mount across the new /tmp and put it back in place.
case ${dgfs_repo:?} in
/tmp/*) mkdir /run/repo && mount --bind "$dgfs_repo" /run/repo ;;
esac
mount -t tmpfs -o mode=1777 tmpfs /tmp
[ ! -d /run/carry/tmp ] || cp -a /run/carry/tmp/. /tmp/
rm -rf /run/carry
if [ -d /run/repo ]; then
	mkdir -p "$dgfs_repo"
	mount --move /run/repo "$dgfs_repo"
fi

modprobe -a virtio_blk ext4
mount /dev/vda /mnt

echo dgfs-vm > /proc/sys/kernel/hostname
ip link set lo up
if [ "${dgfs_net:-0}" = 1 ]; then
	modprobe virtio_net
	ip addr add 10.0.2.15/24 dev eth0
	ip link set eth0 up
fi

export DGFS_VM=1 DGFS_OUT=$out HOME=/root
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
cd "${dgfs_repo:?}"

# Kernel trouble worth failing a test for; the taint notes for our unsigned
# out-of-tree module are expected.
trouble='WARNING:|BUG:|Oops|general protection|refcount_t|leak|lockdep|KASAN|UBSAN|RIP:|Call Trace'
expected='module verification failed|loading out-of-tree module taints kernel'

: > "$out/status"
dmesg -c > "$out/dmesg.log"    # boot messages; each script is checked alone
for s in "${scripts[@]}"; do
	log=$out/$(basename "$s" .sh).log
	echo "=== $s"
	rc=0
	bash "$s" < /dev/null 2>&1 | tee "$log" || rc=$?

	msgs=$(dmesg -c)
	printf '%s\n' "$msgs" >> "$out/dmesg.log"
	bad=$(printf '%s\n' "$msgs" | grep -E "$trouble" | grep -vE "$expected" || true)
	if [ -z "$bad" ]; then
		echo "PASS: dmesg clean after $s"
	else
		printf 'FAIL: dmesg clean after %s\n%s\n' "$s" "$bad"
	fi | tee -a "$log"
	echo "$rc $s" >> "$out/status"
done

if [ "${dgfs_interactive:-0}" = 1 ]; then
	echo "=== interactive shell (exit to power off)"
	# A session of its own with ttyS0 as controlling tty, for job control;
	# --norc: the same environment as the scripts get.
	PS1='\u@\h:\w\$ ' setsid -c -w bash --norc -i <> /dev/ttyS0 >&0 2>&0 || true
fi
sync
/bin/busybox poweroff -f
