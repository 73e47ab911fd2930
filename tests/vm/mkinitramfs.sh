#!/bin/bash
# Build the test VM's initramfs: static busybox, the modules that mounting
# the host's root over virtio-9p needs (none for a kernel that has them
# built in), and initramfs-init.sh as /init.
# Usage: tests/vm/mkinitramfs.sh KVER OUT [MODDIR]   (no-op while OUT is up
# to date; MODDIR, the kernel's modules, defaults to /lib/modules/KVER)
set -euo pipefail

[ $# -eq 2 ] || [ $# -eq 3 ] || { echo "usage: $0 KVER OUT [MODDIR]" >&2; exit 2; }
ver=$1 out=$2 moddir=${3:-/lib/modules/$1}
here=$(cd "$(dirname "$0")" && pwd)

# Up to date if newer than every input (another kernel gets another OUT).
stale=0
for f in "$here/mkinitramfs.sh" "$here/initramfs-init.sh" /bin/busybox \
	"$moddir/modules.dep"; do
	[ "$out" -nt "$f" ] || stale=1
done
[ $stale = 1 ] || exit 0

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,host,lib/modules}
cp /bin/busybox "$root/bin/"
for app in $(/bin/busybox --list | grep -vx busybox); do ln -s busybox "$root/bin/$app"; done
cp "$here/initramfs-init.sh" "$root/init"

# modprobe gives the dependency order; shared dependencies repeat, keep the
# first; built-ins ("builtin NAME") need nothing. busybox insmod cannot read
# compressed modules: unpack them here. modprobe -d wants the directory
# that holds lib/modules/KVER: make one that points at MODDIR.
base=$(mktemp -d)
trap 'rm -rf "$root" "$base"' EXIT
mkdir -p "$base/lib/modules"
ln -s "$(realpath "$moddir")" "$base/lib/modules/$ver"
: > "$root/lib/modules/order"
modprobe -a --show-depends -d "$base" -S "$ver" 9p 9pnet_virtio virtio_pci |
awk '$1 == "insmod" && !seen[$2]++ { print $2 }' |
while read -r ko; do
	name=$(basename "$ko" .xz)
	case $ko in
	*.xz) xz -dc "$ko" > "$root/lib/modules/$name" ;;
	*) cp "$ko" "$root/lib/modules/$name" ;;
	esac
	echo "$name" >> "$root/lib/modules/order"
done

mkdir -p "$(dirname "$out")"
(cd "$root" && find . | cpio -o -H newc --quiet) > "$out.$$"
mv "$out.$$" "$out"
