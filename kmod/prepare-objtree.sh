#!/bin/bash
# Prepare a private kbuild objtree for Debian 12's 6.1 kernel that produces
# module BTF (needed for kfuncs). Debian's headers package lacks vmlinux and
# resolve_btfids, so kbuild would skip BTF; we supply both.
# Usage: kmod/prepare-objtree.sh OUTDIR      (idempotent)
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$(realpath -m "$1")

# Newest 6.1 headers that also have a matching kernel image (the BTF source).
ver=
for d in $(printf '%s\n' /usr/src/linux-headers-6.1.*-amd64 | sort -rV); do
	v=${d#/usr/src/linux-headers-}
	if [ -f "/boot/vmlinuz-$v" ]; then ver=$v; break; fi
done
[ -n "$ver" ] || { echo "no linux-headers-6.1.*-amd64 with /boot/vmlinuz" >&2; exit 1; }
hdr=/usr/src/linux-headers-$ver

# kernelrelease is written last, so its presence means a complete tree.
if [ "$(cat "$out/kernelrelease" 2>/dev/null)" = "$ver" ] &&
   [ -f "$out/vmlinux" ] && [ -x "$out/tools/bpf/resolve_btfids/resolve_btfids" ]; then
	exit 0
fi

command -v pahole >/dev/null || { echo "pahole missing (apt-get install dwarves)" >&2; exit 1; }
grep -qx CONFIG_DEBUG_INFO_BTF_MODULES=y "$hdr/.config" ||
	{ echo "$hdr/.config lacks CONFIG_DEBUG_INFO_BTF_MODULES" >&2; exit 1; }
# Refuse to replace a directory we did not make.
if [ -e "$out" ] && [ ! -f "$out/kernelrelease" ] && [ -n "$(ls -A "$out")" ]; then
	echo "$out exists and is not an objtree made by $0" >&2; exit 1
fi

# Build beside OUTDIR and swap in at the end, so an interrupted run leaves
# no half-made tree behind.
mkdir -p "$(dirname "$out")"
new=$(mktemp -d "$out.new.XXXXXX")
src=$(mktemp -d "$out.src.XXXXXX")
trap 'rm -rf "$new" "$src"' EXIT

echo "objtree for $ver at $out"

# 1. vmlinux: the bzImage payload is xz; the first xz stream is the ELF
#    vmlinux (stripped, but with .BTF and .BTF_ids).
# (awk, not head: head would SIGPIPE grep and trip pipefail)
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "/boot/vmlinuz-$ver" | awk -F: 'NR == 1 { print $1 }')
[ -n "$off" ] || { echo "no xz payload in /boot/vmlinuz-$ver" >&2; exit 1; }
# xz stops reading after the stream; feed it via <() so tail's SIGPIPE
# does not count (the .BTF check below catches a bad extraction).
xz -dc --single-stream < <(tail -c +"$((off + 1))" "/boot/vmlinuz-$ver") > "$new/vmlinux"
# Read the whole section table before matching: `readelf | grep -q` under
# pipefail fails at random when grep exits early and readelf gets SIGPIPE.
sections=$(readelf -S "$new/vmlinux")
[[ $sections == *' .BTF '* ]] || { echo "extracted vmlinux has no .BTF" >&2; exit 1; }

# 2. resolve_btfids from the matching source, extracting only what its
#    build reads.
echo "building resolve_btfids"
tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$src" --strip-components=1 \
	linux-source-6.1/Makefile linux-source-6.1/tools linux-source-6.1/scripts \
	linux-source-6.1/include/uapi linux-source-6.1/arch/x86/include/uapi \
	linux-source-6.1/include/linux/btf_ids.h
make -s -C "$src/tools/bpf/resolve_btfids" -j"$(nproc)" >/dev/null

# 3. The objtree proper. The headers dir holds real files except the
#    scripts/tools links; its Makefile includes the -common tree by absolute
#    path, which stays the srctree.
cp -a "$hdr/." "$new/"
kbuild_scripts=$(readlink -f "$hdr/scripts")
objtool=$(readlink -f "$hdr/tools/objtool/objtool")
rm "$new/scripts" "$new/tools"
ln -s "$kbuild_scripts" "$new/scripts"
mkdir -p "$new/tools/objtool" "$new/tools/bpf/resolve_btfids"
ln -s "$objtool" "$new/tools/objtool/objtool"
cp "$src/tools/bpf/resolve_btfids/resolve_btfids" "$new/tools/bpf/resolve_btfids/"
echo "$ver" > "$new/kernelrelease"

rm -rf "$out"
mv "$new" "$out"
echo "objtree ready: $out ($ver)"
