#!/usr/bin/env bash
# Zero-copy, asserted: the kernel path's reply carries the page-cache page
# itself, not a copy of it. tests/vm/zerocopy_probe.py sends a read, waits
# until the reply is queued on its socket, then rewrites those bytes of the
# chunk's file in place, and only then reads the reply: a page frag shows
# the new bytes, a copy the old ones. dgfs-userd (pread + sendmsg) is the
# control that shows the probe can tell the two apart.
# expect-checks: 14 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

DGFS=$BUILD/dgfs
srv=zc-srv cli=zc-cli
s() { ip netns exec $srv "$@"; }
c() { ip netns exec $cli "$@"; }
userd=
cleanup() {
	[[ -z $userd ]] || { kill "$userd" 2>/dev/null; wait "$userd" 2>/dev/null; }
	s $CTL xdp detach dg0 2>/dev/null
	ip netns del $srv 2>/dev/null
	ip netns del $cli 2>/dev/null
}
trap cleanup EXIT

dgfs_load
check "two namespaces joined by veth (dg0, dg1)" two_hosts $srv $cli

root=$(scratch zerocopy)
# Named by its id, as dgfs-userd finds chunks.
head -c $((1 << 20)) /dev/urandom >"$root/tmp"
id=$(sha256 "$root/tmp")
mv "$root/tmp" "$root/$id"
key=000102030405060708090a0b0c0d0e0f
check "server: store add" s $CTL store add main path "$root"
check "server: chunk add" s $CTL chunk add "$id" store main file "$id"
check "server: config set key" s $CTL config set key $key
check "server: xdp attach dg0 (native)" s $CTL xdp attach dg0 mode native
ip netns exec $srv "$BUILD/dgfs-userd" -p 7879 --key $key --threads 1 "$root" &
userd=$!

# probe HOST PORT OFFSET: what the reply carried (shared, copied, other)
probe() {
	local tok
	tok=$($DGFS token --key $key --addr "$4" --expiry 600 "$id")
	c python3 tests/vm/zerocopy_probe.py "$1" "$2" "$id" ${tok% *} ${tok#* } "$root/$id" "$3" 1000
}
userd_listens() { local l; l=$(s ss -Hlun 'sport = :7879') && [[ -n $l ]]; }
check "dgfs-userd listens on 7879" wait_for 30 userd_listens

cat "$root/$id" >/dev/null
same "kernel path over IPv4, cached page: the reply is the page-cache page" \
	"$(probe 198.18.0.1 7878 4096 198.18.0.2)" shared
same "kernel path over IPv6, cached page: the reply is the page-cache page" \
	"$(probe 2001:db8:2::1 7878 12288 2001:db8:2::2)" shared

# Not in the page cache: the worker reads the page in and sends that page.
misses=$(s $CTL stats | awk '$1 == "cache_misses" { print $2 }')
sync && echo 1 >/proc/sys/vm/drop_caches
same "kernel path, page read in for the request: the reply is the page-cache page" \
	"$(probe 198.18.0.1 7878 65536 198.18.0.2)" shared
check "... and that read was a page-cache miss" \
	test "$(s $CTL stats | awk '$1 == "cache_misses" { print $2 }')" -gt "$misses"

same "control: dgfs-userd's reply is a copy (the probe tells them apart)" \
	"$(probe 198.18.0.1 7879 20480 198.18.0.2)" copied

cleanup
trap - EXIT
dgfs_unload
finish
