#!/bin/bash
# Boot Debian 12's 6.1 kernel (or the debug kernel of tests/vm/kdebug/)
# under QEMU (TCG: no /dev/kvm needed) with the host's root shared
# read-only, run test scripts in it as root, and report.
# See tests/vm/README.md.
set -euo pipefail

usage() {
	echo "usage: $0 [--interactive] [--net] [--tap NETNS/IFNAME] [--smp N] [--kernel stock|debug] [--out DIR] SCRIPT [SCRIPT...]" >&2
	exit 2
}

repo=$(cd "$(dirname "$0")/../.." && pwd)
interactive=0 net=0 tap= smp=2 out=$repo/build/vm-run/last kernel=${VM_KERNEL:-stock}
while [ $# -gt 0 ]; do
	case $1 in
	--interactive) interactive=1 ;;
	--net) net=1 ;;
	--out) [ $# -ge 2 ] || usage; out=$2; shift ;;
	--tap) [ $# -ge 2 ] && [[ $2 == ?*/?* ]] || usage; tap=$2; shift ;;
	--smp) [ $# -ge 2 ] && [[ $2 =~ ^[1-9]$ ]] || usage; smp=$2; shift ;;
	--kernel) [ $# -ge 2 ] || usage; kernel=$2; shift ;;
	-*) usage ;;
	*) break ;;
	esac
	shift
done
[ $# -gt 0 ] || [ $interactive = 1 ] || usage

for s in "$@"; do
	case $s in
	/*) [ -f "$s" ] ;;
	*) [ -f "$repo/$s" ] ;;
	esac || { echo "no such script: $s (relative paths start at $repo)" >&2; exit 2; }
done

case $kernel in
stock)
	# Newest Debian 6.1 kernel that has its modules installed.
	ver=${VM_KVER:-}
	if [ -z "$ver" ]; then
		for k in $(printf '%s\n' /boot/vmlinuz-6.1.*-amd64 | sort -rV); do
			v=${k#/boot/vmlinuz-}
			if [ -d "/lib/modules/$v" ]; then ver=$v; break; fi
		done
	fi
	[ -n "$ver" ] || { echo "no /boot/vmlinuz-6.1.*-amd64 with modules" >&2; exit 1; }
	moddir=/lib/modules/$ver
	;;
debug)
	# Built once per machine by `make kdebug` (tests/vm/kdebug/build.sh).
	kdir=$("$repo/tests/vm/kdebug/build.sh" --dir) || exit 1
	ver=$(cat "$kdir/release")
	moddir=$kdir/modules
	# The guest puts this dgfs.ko in place of build/dgfs.ko, so scripts
	# load the module built for the kernel they run on.
	ko=$repo/build/kdebug/dgfs.ko
	[ -f "$ko" ] || { echo "no $ko: run make kdebug" >&2; exit 1; }
	;;
*) usage ;;
esac

mkdir -p "$repo/build/vm" "$out"
out=$(cd "$out" && pwd)
rm -f "$out/status" "$out/console.log" "$out/dmesg.log"
# The guest reads its work list from "scripts" (the kernel command line is
# too small for it).
for s in "$@"; do
	rm -f "$out/$(basename "$s" .sh).log"
	printf '%s\n' "$s"
done > "$out/scripts"

rd=$repo/build/vm/initramfs-$ver.cpio
"$repo/tests/vm/mkinitramfs.sh" "$ver" "$rd" "$moddir"

# Boot the uncompressed ELF vmlinux (PVH entry): TCG takes ~3 s to unpack
# the bzImage. Debian's is the bzImage's xz payload. Not the debug kernel's:
# its PVH entry code is KASAN-instrumented and faults before KASAN's shadow
# memory exists, so it boots from its bzImage.
if [ "$kernel" = debug ]; then
	vmlinux=$kdir/bzImage
else
	vmlinux=$repo/build/vm/vmlinux-$ver
	if [ ! "$vmlinux" -nt "/boot/vmlinuz-$ver" ]; then
		off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "/boot/vmlinuz-$ver" | awk -F: 'NR == 1 { print $1 }')
		xz -dc --single-stream < <(tail -c +"$((off + 1))" "/boot/vmlinuz-$ver") > "$vmlinux.$$"
		mv "$vmlinux.$$" "$vmlinux"
	fi
fi

# A fresh scratch disk per run, so runs neither share state nor collide.
disk=$repo/build/vm/scratch-$$.img
trap 'rm -f "$disk"' EXIT
truncate -s 1G "$disk"
mkfs.ext4 -q -F "$disk"

# The debug kernel's ACPI interpreter (instrumented like the rest) takes
# ~25 s per device to run the _PRT loop in the i440FX machine's tables; the
# q35 machine's _PRT is a plain table.
if [ "$kernel" = debug ]; then machine=q35; else machine=pc; fi
# no_timer_check: on a loaded host a TCG vCPU can miss the ticks the
# kernel's IO-APIC timer check waits for at boot, and it panics ("IO-APIC +
# timer doesn't work", seen under load 14); the check proves nothing here.
append="console=ttyS0 quiet panic=-1 no_timer_check dgfs_repo=$repo dgfs_net=$net dgfs_interactive=$interactive"
# The debug kernel's guest mounts its modules.builtin* at /lib/modules
# (modprobe of a built-in then succeeds) and its dgfs.ko over build/dgfs.ko,
# and scans for leaks after each script.
[ "$kernel" = stock ] || append+=" dgfs_kdebug=1 dgfs_moddir=$moddir dgfs_ko=$ko"
# Its reports' backtraces (an RCU stall's, a soft lockup's) are printed at
# the default level, which "quiet" keeps off the console: a guest that
# hangs never writes its dmesg.log, so the console must show them.
[ "$kernel" = stock ] || append+=" loglevel=5"

# A guest of one vCPU is given room for a second (maxcpus) that never comes
# online: TCG translates a guest's barriers (x86's "lock; addl", the
# kernel's smp_mb()) into real ones only when the machine can have more
# than one vCPU, and virtio needs them against QEMU's I/O thread. Without,
# the guest's "add a buffer, then read whether to kick" and QEMU's "enable
# kicks, then read the ring" miss each other now and then, and the guest's
# NIC stops sending for good (NETDEV WATCHDOG under make bench).
maxcpus=$smp
[ "$smp" -gt 1 ] || maxcpus=2
# debug-threads: the vCPU threads are named "CPU n/TCG" (benchmarks pin them).
qemu=(qemu-system-x86_64 -name dgfs-vm,debug-threads=on -nographic -no-reboot -m 2048
	-smp "$smp,maxcpus=$maxcpus" -M "$machine"
	-bios qboot.rom -kernel "$vmlinux" -initrd "$rd" -append "$append"
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$out,mount_tag=out,security_model=none"
	-drive "file=$disk,format=raw,if=virtio")
# VM_MONITOR=PATH: QEMU's monitor on a unix socket, to look at a live guest.
[ -z "${VM_MONITOR:-}" ] || qemu+=(-monitor "unix:$VM_MONITOR,server=on,wait=off")
if [ $net = 1 ]; then
	qemu+=(-netdev "user,id=n0,hostfwd=udp:127.0.0.1:${DGFS_UDP_PORT:-7878}-:7878,hostfwd=tcp:127.0.0.1:${DGFS_HTTP_PORT:-8080}-:8080"
		-device "virtio-net-pci,netdev=n0")
elif [ -z "$tap" ]; then
	qemu+=(-nic none)
fi
# A NIC on a tap device that the caller made in a network namespace of its
# own: the guest is then a host on that namespace's link (benchmarks drive
# it from outside the VM). QEMU opens the tap from inside the namespace.
if [ -n "$tap" ]; then
	qemu=(ip netns exec "${tap%%/*}" "${qemu[@]}"
		-netdev "tap,id=t0,ifname=${tap#*/},script=no,downscript=no"
		-device "virtio-net-pci,netdev=t0")
fi

# The debug kernel's checks make a round several times slower.
if [ "$kernel" = debug ]; then limit=${VM_TIMEOUT:-3600}; else limit=${VM_TIMEOUT:-1200}; fi
echo "vm: kernel $ver ($kernel), results in $out"
start=$EPOCHREALTIME
qrc=0
if [ $interactive = 1 ]; then
	# The user owns the session: no timeout; QEMU needs the terminal.
	"${qemu[@]}" 2>&1 | tee "$out/console.log" || qrc=$?
else
	# stdin from /dev/null keeps the terminal ours; --foreground lets ^C
	# reach QEMU.
	timeout --foreground -k 10 "$limit" "${qemu[@]}" < /dev/null 2>&1 |
		tee "$out/console.log" || qrc=$?
fi
awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "vm: round took %.1f s\n", b - a }'

fail=0
if [ $qrc = 124 ]; then
	echo "FAIL: VM timed out after $limit s"; fail=1
elif [ $qrc != 0 ]; then
	echo "FAIL: QEMU exited with $qrc"; fail=1
fi
if [ ! -f "$out/status" ]; then
	echo "FAIL: no $out/status: the VM crashed before running the scripts"
	exit 1
fi
while read -r rc s secs; do
	why=
	[ "$rc" = 0 ] || why="exit $rc"
	if grep -qE '^FAIL: (dmesg|kmemleak) clean after' "$out/$(basename "$s" .sh).log"; then
		why="${why:+$why, }kernel trouble in dmesg"
	fi
	if [ -z "$why" ]; then echo "PASS: $s (${secs:-?} s)"; else echo "FAIL: $s ($why, ${secs:-?} s)"; fail=1; fi
done < "$out/status"
if [ "$(wc -l < "$out/status")" != $# ]; then
	echo "FAIL: only $(wc -l < "$out/status") of $# scripts finished (VM crashed or timed out)"
	fail=1
fi
exit $fail
