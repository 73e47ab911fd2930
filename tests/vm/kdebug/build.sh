#!/bin/bash
# Build the debug kernel for the VM tests (KASAN, KMEMLEAK, lockdep, UBSAN...)
# from Debian's linux-source-6.1 with kdebug.config, once per machine.
#
#   tests/vm/kdebug/build.sh          build if needed; print the kernel's dir
#   tests/vm/kdebug/build.sh --dir    print the dir only (exit 1 if not built)
#
# The result is cached outside the clone, keyed by a hash of the config
# fragment, this script (both without their comments), the source tarball
# and the compiler and pahole versions: ${DGFS_CACHE:-/var/cache/dgfs}/kdebug-KEY/
# holds
#   tree/       the whole build tree: KDIR for `make -C tree M=...` (it has
#               vmlinux and resolve_btfids, so modules get BTF)
#   bzImage     what QEMU boots
#   modules/    lib/modules/RELEASE from modules_install: modules.builtin*
#               (modprobe of a built-in succeeds), modules.dep
#   release     the kernel release (6.1.N-dgfs-debug)
#   build-seconds  how long the build took
# It is built in kdebug-KEY.build, renamed into place when complete; a build
# that was stopped goes on from where it stopped at the next call.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tarball=${KDEBUG_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
cache=${DGFS_CACHE:-/var/cache/dgfs}
frag=$here/kdebug.config

only_dir=0
case ${1:-} in
--dir) only_dir=1 ;;
'') ;;
*) echo "usage: $0 [--dir]" >&2; exit 2 ;;
esac

[ -f "$tarball" ] || { echo "no $tarball (apt-get install linux-source-6.1)" >&2; exit 1; }
command -v pahole >/dev/null || { echo "pahole missing (apt-get install dwarves)" >&2; exit 1; }

# The tarball is hashed by name, size and time (hashing 130 MB at every
# call would cost more than it saves); the rest by content, less comments
# and blank lines (a reworded comment is no reason for an hour's build) but
# with the fragment's "# CONFIG_X is not set".
key=$( {
	awk '/^[[:space:]]*$/ { next }
	     /^[[:space:]]*#/ && !/^# CONFIG_[A-Za-z0-9_]+ is not set$/ { next }
	     { print }' "$frag" "$0"
	stat -L -c '%n %s %Y' "$tarball"
	gcc -dumpfullversion
	pahole --version
} | sha256sum | cut -c1-16)
dir=$cache/kdebug-$key

if [ -f "$dir/release" ]; then
	echo "$dir"
	exit 0
fi
if [ $only_dir = 1 ]; then
	echo "debug kernel not built yet ($dir): run make kdebug" >&2
	exit 1
fi

mkdir -p "$cache"
# One build at a time; a second caller waits and then finds the result.
exec 9>"$cache/kdebug.lock"
flock 9
if [ -f "$dir/release" ]; then
	echo "$dir"
	exit 0
fi

# The build runs in $dir.build and is renamed into place when complete. A
# build that was stopped (a session's end, a kill) left that directory
# behind: kbuild is incremental, so the next call goes on from where it
# stopped instead of paying the whole hour again. Only a tree whose
# configuration step finished (the stamp) is resumed.
new=$dir.build
log=$cache/kdebug-$key.log
if [ ! -f "$new/configured" ]; then
	rm -rf "$new"
	mkdir -p "$new"
	echo "kdebug: building the debug kernel in $new (log: $log)" >&2
	(
		set -x
		mkdir "$new/tree"
		tar -xJf "$tarball" -C "$new/tree" --strip-components=1
		cd "$new/tree"
		make -s KCONFIG_ALLCONFIG="$frag" allnoconfig
		make -s olddefconfig
	) >"$log" 2>&1 || { echo "kdebug: configuring failed, see $log" >&2; rm -rf "$new"; exit 1; }
	date +%s > "$new/configured"
else
	echo "kdebug: resuming the stopped build in $new (log: $log)" >&2
fi
start=$(cat "$new/configured")

# Kconfig drops what it cannot satisfy without a word: check every line of
# the fragment made it into the final .config.
missing=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*) want=$line ;;
	"# CONFIG_"*" is not set") want=$line ;;
	*) continue ;;
	esac
	if ! grep -qxF -- "$want" "$new/tree/.config"; then
		echo "kdebug: .config lacks: $want" >&2
		missing=1
	fi
done < "$frag"
[ $missing = 0 ] || exit 1

(
	set -x
	cd "$new/tree"
	make -j"$(nproc)" all
	rm -rf "$new/modroot"
	make -s modules_install INSTALL_MOD_PATH="$new/modroot"
) >>"$log" 2>&1 || { echo "kdebug: build failed, see $log" >&2; tail -n 30 "$log" >&2; exit 1; }

cd "$new"
release=$(cat tree/include/config/kernel.release)
mv "modroot/lib/modules/$release" modules
rm -rf modroot
# The build and source links point into the tree's old place, and nothing
# reads them.
rm -f modules/build modules/source
cp tree/arch/x86/boot/bzImage bzImage
# From the start of the first attempt: a resumed build's figure includes
# the time it stood stopped.
echo $(($(date +%s) - start)) > build-seconds
echo "$release" > release
cd /
rm -f "$new/configured"
mv "$new" "$dir"
mv "$log" "$dir/build.log"
echo "kdebug: built $release in $(cat "$dir/build-seconds") s" >&2
echo "$dir"
