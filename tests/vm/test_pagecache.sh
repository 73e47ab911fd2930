#!/usr/bin/env bash
# dgfs.ko and the page cache: reads served from it mark its pages
# accessed (so hot chunks stay cached), and a read of a chunk that is not
# cached reads ahead instead of one page at a time.
# expect-checks: 12 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

DGFS=$BUILD/dgfs
server_and_client || finish

root=$(scratch pagecache)
head -c $((64 << 10)) /dev/urandom >"$root/hot"
head -c $((16 << 20)) /dev/urandom >"$root/cold"
hot=$(sha256 "$root/hot") cold=$(sha256 "$root/cold")
key=000102030405060708090a0b0c0d0e0f
check "server: store, chunks, key" \
	s $CTL -b - <<<"store add main path $root
chunk add $hot store main file hot
chunk add $cold store main file cold
config set key $key max_read 16M" || finish
# No XDP program: requests reach the module through its sockets.
fetch() { c $DGFS fetch --key $key -o /tmp/got 198.18.0.1 "$1"; }

# ---- pages served are marked accessed ----
# The hot chunk in the page cache, read ahead by fadvise (which marks
# nothing), then read over the fast path.
sync && echo 3 >/proc/sys/vm/drop_caches
python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)' "$root/hot"
out=$(python3 tests/vm/page_flags.py "$root/hot" ip netns exec $cli \
	$DGFS fetch --key $key -o /tmp/got 198.18.0.1 "$hot") && rc=0 || rc=$?
echo "$out"
same "the hot chunk came over the fast path" "$rc $(cmp -s /tmp/got "$root/hot" && echo same)" "0 same"
same "before: its 16 pages cached, none marked accessed" \
	"$(awk '$1 == "before" { print $3, $9 }' <<<"$out")" "16 0"
same "after the read: all 16 marked accessed (referenced or active)" \
	"$(awk '$1 == "after" { print $3, $9, $11 }' <<<"$out")" "16 16 0"

# ---- a read of an uncached chunk reads ahead ----
# Read requests the scratch disk completed (/sys/block/DEV/stat, field 1)
# while the whole cold chunk is read: one a page would be 4096.
disk=$(basename "$(findmnt -no SOURCE /mnt)")
disk_reads() { awk '{ print $1 }' "/sys/block/$disk/stat"; }
sync && echo 3 >/proc/sys/vm/drop_caches
r0=$(disk_reads) m0=$(s $CTL stats | awk '$1 == "cache_misses" { print $2 }')
check "the cold 16 MiB chunk over the fast path" \
	c $DGFS fetch --key $key --timeout 5000 -o /tmp/got 198.18.0.1 "$cold"
check "... whole" cmp -s /tmp/got "$root/cold"
r1=$(disk_reads) m1=$(s $CTL stats | awk '$1 == "cache_misses" { print $2 }')
check "... read from the disk by slow reads (cache_misses $m0 -> $m1)" test "$m1" -gt "$m0"
check "... in fewer than 1024 disk reads: $((r1 - r0))" test $((r1 - r0)) -lt 1024

server_and_client_down
dgfs_unload
finish
