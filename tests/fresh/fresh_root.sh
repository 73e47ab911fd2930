#!/usr/bin/env bash
# The README's commands on a machine that has none of the packages.
#
# A minimal Debian 12 root (debootstrap --variant=minbase), a clean clone of
# the committed tree copied in, and inside it, with chroot, what a new user
# types: the README's one install line, then `make` (which runs `make deps`
# first), then `make run` driven through its console. A package missing
# from `make deps`, or anything the Makefile works out before deps has run,
# fails here even on a machine that already holds every package.
#
#   tests/fresh/fresh_root.sh [--build-only]
#
# The base tarball and the downloaded .debs are cached in $DGFS_CACHE
# (default /var/cache/dgfs), outside any clone, so only a machine's first
# run downloads them; the root itself is made anew every time.
# Ends with "N passed, N failed" like every other test program.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/tests/lib.sh"

build_only=0
case ${1:-} in
--build-only) build_only=1 ;;
"") ;;
*) echo "usage: $0 [--build-only]" >&2; exit 2 ;;
esac

cache=${DGFS_CACHE:-/var/cache/dgfs}
tarball=$cache/bookworm-minbase.tgz
root=$repo/build/fresh-root
log=$repo/build/fresh-root.log
# Host-side ports for `make run` inside the root: not the defaults, so a
# `make run` of the developer's own is not in the way.
http_port=${FRESH_HTTP_PORT:-18080}
udp_port=${FRESH_UDP_PORT:-17878}

command -v debootstrap >/dev/null || {
	apt-get update -q && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends debootstrap
}

mkdir -p "$cache/debs" "$repo/build"
if [ ! -f "$tarball" ]; then
	echo "fresh-root: making the base tarball $tarball"
	work=$(mktemp -d "$cache/tarball.XXXXXX")
	debootstrap --variant=minbase --make-tarball="$work/base.tgz" bookworm "$work/root" >/dev/null
	mv "$work/base.tgz" "$tarball"
	rm -rf "$work"
fi

# Everything that holds the root's mounts runs in a mount namespace of its
# own: when it ends, by success, failure or signal, the mounts go with it.
cleanup() {
	[ -z "${vm_pid:-}" ] || kill -- "-$vm_pid" 2>/dev/null || true
	rm -rf "$root"
}
trap cleanup EXIT
rm -rf "$root"
start=$(date +%s)
echo "fresh-root: unpacking a bare Debian 12 root"
debootstrap --variant=minbase --unpack-tarball="$tarball" bookworm "$root" >/dev/null
# The committed tree, as a clone would hold it: no build/, nothing untracked.
git clone --quiet --no-hardlinks "$repo" "$root/root/dgfs"
# This machine's own certificate authorities (a network that inspects TLS
# has one), as a new machine on the same network would be given them: the
# README's ca-certificates install then trusts them, for npm's registry too.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
	mkdir -p "$root/usr/local/share/ca-certificates"
	cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi
echo "fresh-root: root ready in $(($(date +%s) - start)) s; log in $log"

# The new user's session: the README's own install line (read from the
# README, so the two cannot drift apart), then make: deps, objtree, build.
setup=$(grep -m1 '^    apt-get update && apt-get install ' "$repo/README.md") ||
	{ echo "FAIL: README.md has no fresh-machine install line"; exit 1; }
printf '%s\n' 'set -euo pipefail' 'export DEBIAN_FRONTEND=noninteractive' \
	"$setup" 'cd /root/dgfs' 'make' > "$root/root/session.sh"

# in_root CMD...: run CMD in the root, as a login of its own would see it.
in_root() {
	unshare --mount --propagation private bash -c '
		set -e
		r=$1; shift
		mount -t proc proc "$r/proc"
		mount -t sysfs sysfs "$r/sys"
		mount --rbind /dev "$r/dev"
		mount --bind "$0" "$r/var/cache/apt/archives"
		exec chroot "$r" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
	' "$cache/debs" "$root" "$@"
}

t0=$(date +%s)
if in_root bash /root/session.sh > "$log" 2>&1; then
	pass "fresh root: make (deps, objtree, build) succeeds on the first run"
else
	fail "fresh root: make (deps, objtree, build) succeeds on the first run; last lines:"
	tail -n 30 "$log" | sed 's/^/    /'
fi
echo "fresh-root: make took $(($(date +%s) - t0)) s"
for f in dgfs.ko dgfsd dgfsctl dgfs bpf/dgfs_xdp.bpf.o; do
	check "fresh root: build/$f exists" test -s "$root/root/dgfs/build/$f"
done

if [ $build_only = 0 ] && [ $DGFS_FAILED = 0 ]; then
	# `make run` as the README has it, with the console on a pipe: wait
	# for its shell, use the store from outside, leave with `exit`.
	t0=$(date +%s)
	in_fifo=$(mktemp -u "$repo/build/fresh-run.XXXXXX")
	mkfifo "$in_fifo"
	# A process group of its own (set -m), so cleanup reaches QEMU too.
	set -m
	in_root env DGFS_HTTP_PORT=$http_port DGFS_UDP_PORT=$udp_port \
		make -C /root/dgfs run < "$in_fifo" > "$log.run" 2>&1 &
	vm_pid=$!
	set +m
	exec 7> "$in_fifo"
	rm -f "$in_fifo"
	url=http://127.0.0.1:$http_port
	up=0
	for _ in $(seq 300); do
		if in_root curl -sf -o /dev/null "$url/healthz" 2>/dev/null; then up=1; break; fi
		kill -0 "$vm_pid" 2>/dev/null || break
		sleep 1
	done
	check "fresh root: make run serves HTTP on the host's port $http_port" test $up = 1
	# make run prints the admin key once the storage host is up.
	key=
	for _ in $(seq 120); do
		[ $up = 1 ] || break
		key=$(grep -ao -m1 'DGFS_API_KEY=dgfs_[A-Za-z0-9_]*' "$log.run" | cut -d= -f2) || true
		[ -z "$key" ] || break
		sleep 1
	done
	check "fresh root: make run prints the admin key" test -n "$key"
	if [ -n "$key" ]; then
		# The README's "from another terminal on the host", with the
		# root's own curl and dgfs.
		check "fresh root: a file goes in through make run's forward" \
			in_root bash -c "head -c 3000000 /dev/urandom > /root/f.bin &&
				curl -sf -H 'Authorization: Bearer $key' -T /root/f.bin \
					$url/files/fresh/f.bin -o /dev/null"
		check "fresh root: dgfs get reads it back over the fast path, byte for byte" \
			in_root env DGFS_API_KEY="$key" bash -c "/root/dgfs/build/dgfs get --server $url \
				--fast-port $udp_port --no-fallback fresh/f.bin /root/f.back &&
				cmp /root/f.bin /root/f.back"
	fi
	# The guest's shell opens its console only once the storage host is
	# up; say exit until the VM is gone.
	ok=0
	for _ in $(seq 60); do
		echo exit >&7 2>/dev/null || true
		sleep 1
		kill -0 "$vm_pid" 2>/dev/null || { ok=1; break; }
	done
	exec 7>&-
	check "fresh root: make run powers off after exit" test $ok = 1
	wait "$vm_pid" 2>/dev/null || true
	vm_pid=
	[ $DGFS_FAILED = 0 ] || tail -n 30 "$log.run" | sed 's/^/    /'
	echo "fresh-root: make run round took $(($(date +%s) - t0)) s"
fi

echo "fresh-root: $(($(date +%s) - start)) s in all"
finish
