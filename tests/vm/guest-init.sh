#!/bin/bash
# Second stage of the test VM, pid 1 with the host's root (read-only 9p) as
# its real root: mount what tests need, run each script with a dmesg check after it,
# record results in the writable share, then power off.
# From the kernel command line (see vm.sh): dgfs_repo, dgfs_net,
# dgfs_interactive, and on the debug kernel dgfs_kdebug, dgfs_moddir,
# dgfs_ko; the scripts are listed in the share's file "scripts".
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
# The debug kernel's modules.builtin* where modprobe looks for them (before
# /tmp is hidden: the cache may live there): `modprobe veth` then succeeds
# for what is built in. The host's /lib/modules is of no use to this kernel.
if [ -n "${dgfs_moddir:-}" ]; then
	mount -t tmpfs -o mode=755 tmpfs /lib/modules
	mkdir "/lib/modules/$(uname -r)"
	mount --bind "$dgfs_moddir" "/lib/modules/$(uname -r)"
fi
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
# The debug kernel's dgfs.ko in place of the stock one, so that every
# script (they load build/dgfs.ko) gets the module built for this kernel.
if [ -n "${dgfs_ko:-}" ]; then
	mount --bind "$dgfs_ko" "$dgfs_repo/build/dgfs.ko"
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

# What fails a test in a kernel log (shared with the host tests).
. tests/kernel_log.sh

# dmesg_check WHAT: PASS/FAIL line for the kernel messages since the last
# check.
dmesg_check() {
	local msgs bad
	msgs=$(dmesg -c)
	printf '%s\n' "$msgs" >> "$out/dmesg.log"
	bad=$(printf '%s\n' "$msgs" | kernel_trouble)
	if [ -z "$bad" ]; then
		echo "PASS: dmesg clean after $1"
	else
		printf 'FAIL: dmesg clean after %s\n%s\n' "$1" "$bad"
	fi
}

# The debug kernel's leak check. kmemleak reports an object that nothing
# points to once it is 5 s old (MSECS_MIN_AGE), so the scan waits until
# what the script allocated last is old enough. And only once its contents
# stayed the same from one scan to the next: a scan that finds an object
# changed since the last (which the first scan of a new object always
# does) takes it for one in use. So every check scans twice.
kmemleak=/sys/kernel/debug/kmemleak

# The hung-task watchdog's bound, relative to this guest's own grace
# period. On the debug kernel under TCG one synchronize_rcu() took 6-13 s
# idle and 12-20 s under test_unload's flood with no dgfs.ko loaded (a
# probe, docs/TESTING.md), where it takes milliseconds on hardware; an
# unload waits several in a row (destroy_workqueue() under lockdep, the
# netns batch, rcu_barrier()), so a fixed 120 s reported the kernel's
# slowness as a blocked task. Before each script: 30 grace periods, and
# never under the kernel's 120 s. A task that never wakes is still
# reported, and vm.sh's time limit still ends a guest that hangs.
hung_task_bound() {
	local t0 t1 gp_ms secs
	[ -w /proc/sys/kernel/hung_task_timeout_secs ] || return 0
	t0=$(date +%s%N)
	# membarrier(MEMBARRIER_CMD_GLOBAL): one synchronize_rcu().
	python3 -c 'import ctypes; assert ctypes.CDLL(None).syscall(324, 1, 0, 0) == 0' || return 0
	t1=$(date +%s%N)
	gp_ms=$(( (t1 - t0) / 1000000 ))
	secs=$(( gp_ms * 30 / 1000 + 1 ))
	(( secs >= 120 )) || secs=120
	echo $secs > /proc/sys/kernel/hung_task_timeout_secs
	echo "note: a grace period took $gp_ms ms: hung-task timeout $secs s"
}

if [ "${dgfs_kdebug:-0}" = 1 ]; then
	[ -w $kmemleak ] || { echo "debug kernel without $kmemleak" >&2; exit 1; }
	# Boot's own suspects are nobody's business here.
	echo scan > $kmemleak && echo scan > $kmemleak && echo clear > $kmemleak
fi

# kmemleak_split dgfs|other: the reports (stdin) that are dgfs.ko's, or the
# others. An allocation is dgfs.ko's if its backtrace has a frame in the
# module: "[dgfs]" while it is loaded, a bare address in module space
# ("] 0xffffffffa..." and up, kallsyms no longer knows it) once it is gone. On the
# debug kernel everything else is built in; the one other thing in module
# space is JIT-ed BPF, which here is ours too.
kmemleak_split() {
	awk -v want="$1" '
	function flush() {
		if (blk != "") {
			mod = blk ~ /\[dgfs\]/ || blk ~ /\] 0xffffffff[a-f][0-9a-f]+\n/
			if ((want == "dgfs") == mod) printf "%s", blk
		}
		blk = ""
	}
	/^unreferenced object/ { flush() }
	{ blk = blk $0 "\n" }
	END { flush() }'
}

# kmemleak_check SCRIPT END: scan once what SCRIPT (which ended at
# $EPOCHREALTIME END) allocated is 5 s old; FAIL for any leak of dgfs.ko's.
kmemleak_check() {
	local wait report mine others
	wait=$(awk -v e="$2" -v now="$EPOCHREALTIME" 'BEGIN { w = e + 5.5 - now; print (w > 0 ? w : 0) }')
	sleep "$wait"
	if ! { echo scan > $kmemleak && echo scan > $kmemleak; }; then
		echo "FAIL: kmemleak clean after $1 (the scan failed: kmemleak is off)"
		return
	fi
	report=$(cat $kmemleak)
	echo clear > $kmemleak
	[ -z "$report" ] || printf '=== after %s\n%s\n' "$1" "$report" >> "$out/kmemleak.log"
	mine=$(printf '%s\n' "$report" | kmemleak_split dgfs)
	others=$(printf '%s\n' "$report" | kmemleak_split other | grep -c '^unreferenced object' || true)
	[ "$others" = 0 ] ||
		echo "note: kmemleak: $others suspects outside dgfs.ko after $1 (kmemleak.log)"
	if [ -z "$mine" ]; then
		echo "PASS: kmemleak clean after $1"
	else
		printf 'FAIL: kmemleak clean after %s: dgfs.ko leaked\n%s\n' "$1" "$mine"
	fi
}

: > "$out/status"
dmesg -c > "$out/dmesg.log"    # boot messages; each script is checked alone
last_log=
for s in "${scripts[@]}"; do
	log=$out/$(basename "$s" .sh).log
	echo "=== $s"
	rc=0
	: > "$log"
	[ "${dgfs_kdebug:-0}" = 0 ] || hung_task_bound | tee -a "$log"
	begin=$EPOCHREALTIME
	bash "$s" < /dev/null 2>&1 | tee -a "$log" || rc=$?
	end=$EPOCHREALTIME
	{
		[ "${dgfs_kdebug:-0}" = 0 ] || kmemleak_check "$s" "$end"
		dmesg_check "$s"
	} | tee -a "$log"
	# How long the script ran, its own checks only (vm.sh prints it).
	echo "$rc $s $(awk -v a="$begin" -v b="$end" 'BEGIN { printf "%.0f", b - a }')" >> "$out/status"
	last_log=$log
done
# What the kernel says after the last check (deferred work, RCU callbacks,
# netns clean-up) is the last script's too.
if [ -n "$last_log" ]; then
	dmesg_check "the last script's checks" | tee -a "$last_log"
fi

if [ "${dgfs_interactive:-0}" = 1 ]; then
	echo "=== interactive shell (exit to power off)"
	# A session of its own with ttyS0 as controlling tty, for job control;
	# --norc: the same environment as the scripts get.
	PS1='\u@\h:\w\$ ' setsid -c -w bash --norc -i <> /dev/ttyS0 >&0 2>&0 || true
fi
sync
/bin/busybox poweroff -f
