#!/usr/bin/env bash
# dgfs.ko's latency histograms (DGFS_A_LATENCY; `dgfsctl stats`, dgfsd's
# netlink client, /metrics):
# - N reads move the request histogram by exactly N, through the socket
#   and through XDP, as they move `requests`; its sum lies within the
#   bounds of the buckets they landed in; a status reply counts, a
#   malformed request (no reply) does not; cached reads wait for no disk;
# - a cold read from a device that delays every read by 200 ms (dm-delay)
#   lands in a bucket above 134 ms (2^27 ns), in the request and in
#   the disk histogram, above the same read warm;
# - dgfsd's parser (kmod_driver latency) and dgfsctl read the same numbers;
#   nothing waits in the rings at rest (queued, queued_max);
# - the module parameter latency=N stops the stamps: reads are answered
#   and counted, the histogram stands still; Y starts them again.
# expect-checks: 48 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

DGFS=$BUILD/dgfs
DRV=$BUILD/kmod_driver
key=000102030405060708090a0b0c0d0e0f
img=/mnt/latency.img mnt=/tmp/latency dm=dgfs-latency loop=

cleanup_first() {
	s $CTL xdp detach dg0 2>/dev/null
	slow_fs_remove
}
server_and_client || finish

serve_small latency 8192 "an 8 KiB"

# hist: both histograms as dgfsd reads them, "NAME sum_ns S buckets B0..B25".
hist() { s $DRV latency; }
stats() { s $CTL stats; }
val() { awk -v k="$2" '$1 == k { print $2 }' <<<"$1"; }
# moved NAME BEFORE AFTER: what histogram NAME gained between two hist
# outputs: "COUNT SUM LOW HIGH FIRST LAST", LOW and HIGH the least and the
# most those latencies can sum to in the buckets they landed in (HIGH -1:
# one is in the unbounded last), FIRST and LAST the lowest and highest
# bucket that gained any (-1 if none).
moved() {
	printf '%s\n--\n%s\n' "$2" "$3" | awk -v h="$1" '
	$1 == "--" { after = 1; next }
	$1 != h { next }
	!after { for (i = 0; i < 26; i++) b[i] = $(5 + i); s = $3; next }
	{
		first = last = -1
		for (i = 0; i < 26; i++) {
			d = $(5 + i) - b[i]
			if (!d) continue
			c += d
			lo += d * (i ? 2 ^ (9 + i) : 0)
			if (i == 25) inf = 1; else hi += d * 2 ^ (10 + i)
			if (first < 0) first = i
			last = i
		}
		printf "%d %d %.0f %.0f %d %d\n", c, $3 - s, lo, inf ? -1 : hi, first, last
	}'
}
field() { awk -v n="$1" '{ print $n }' <<<"$2"; }
reads() {
	c python3 tests/vm/udp_read.py 198.18.0.1 7878 "$1" "$2" "$3" \
		"$DGFS token --key $key --expiry 600 $1 --addr" "ip netns exec $srv $CTL stats" \
		requests 198.18.0.2
}

# ---- N reads, through the socket, then through XDP ----------------------------
for path in socket xdp; do
	if [[ $path == xdp ]]; then
		check "server: xdp attach dg0 (native)" s $CTL xdp attach dg0 mode native
	fi
	h0=$(hist) st0=$(stats)
	out=$(reads "$small" "$root/small" 20)
	same "$path: 20 reads of the 8 KiB chunk, each answered whole" "$out" "198.18.0.2 20"
	h1=$(hist) st1=$(stats)
	m=$(moved request "$h0" "$h1")
	same "$path: the request histogram counted exactly 20" "$(field 1 "$m")" 20
	same "$path: ... as many as the requests counter" \
		"$(($(val "$st1" requests) - $(val "$st0" requests)))" "$(field 1 "$m")"
	check "$path: ... their sum ($(field 2 "$m") ns) within their buckets' bounds ($(field 3 "$m") .. $(field 4 "$m"))" \
		test "$(field 2 "$m")" -ge "$(field 3 "$m")" -a "$(field 2 "$m")" -le "$(field 4 "$m")"
	same "$path: cached reads wait for no disk" "$(field 1 "$(moved disk "$h0" "$h1")")" 0
	if [[ $path == xdp ]]; then
		same "xdp: the XDP program handed all 20 over" \
			"$(($(val "$st1" xdp_submitted) - $(val "$st0" xdp_submitted)))" 20
	fi
done
warm=$(field 6 "$m")

# ---- the switch: module parameter latency (for measuring the stamps' cost) ----
param=/sys/module/dgfs/parameters/latency
same "the stamps are on by default (parameter latency)" "$(cat $param)" Y
check "latency=N" bash -c "echo N >$param"
h0=$(hist)
same "stamps off: 10 reads answered whole, 10 requests counted" \
	"$(reads "$small" "$root/small" 10)" "198.18.0.2 10"
same "... and none in the request histogram" "$(field 1 "$(moved request "$h0" "$(hist)")")" 0
refuse "latency=maybe is refused" 1 "Invalid argument" bash -c "echo maybe >$param"
same "... and changes nothing" "$(cat $param)" N
check "latency=Y" bash -c "echo Y >$param"
h0=$(hist)
same "stamps on again: 10 reads answered whole, 10 requests counted" "$(reads "$small" "$root/small" 10)" "198.18.0.2 10"
same "... and the request histogram counted exactly 10" "$(field 1 "$(moved request "$h0" "$(hist)")")" 10

# A status reply is a reply; a malformed request gets none.
h0=$(hist) st0=$(stats)
refuse "an unknown chunk is answered NOENT" 4 "NOENT|unknown|no such" \
	c $DGFS fetch --key $key --timeout 2000 --retries 1 -o /tmp/got 198.18.0.1 "$(printf '%064d' 7)"
h1=$(hist) st1=$(stats)
n=$(($(val "$st1" noent) - $(val "$st0" noent)))
check "... counted noent ($n)" test $n -ge 1
same "... each NOENT reply counted in the request histogram" "$(field 1 "$(moved request "$h0" "$h1")")" $n
s $CTL xdp detach dg0
h0=$(hist) st0=$(stats)
malformed() { c python3 tests/vm/flood.py 198.18.0.1 7878 "$small" 0000000000000000 0 0 5 >/dev/null; }
check "5 malformed requests (length 0), through the socket" malformed
malformed_ge() { (($(val "$(stats)" malformed) >= $1)); }
check "... counted malformed" wait_for 10 malformed_ge $(($(val "$st0" malformed) + 5))
same "... and not in the histogram: no reply" "$(field 1 "$(moved request "$h0" "$(hist)")")" 0

# ---- a cold read from a device that delays every read ------------------------
modprobe -a loop dm_delay 2>/dev/null
# slow_fs and delay (reads of the device wait MS ms): tests/vm/common.sh.
mkdir -p $mnt
check "a 64 KiB chunk on ext4 on a dm-delay device" slow_fs $((64 << 10)) || finish
cold=$(sha256 $mnt/c)
# What the reads are checked against: a copy, since reading the file itself
# (the same kernel) would bring it back into the page cache.
cp $mnt/c /tmp/cold
check "server: a store on it, the chunk" \
	s $CTL -b - <<<"store add slow path $mnt
chunk add $cold store slow file c" || finish
check "reads of the device now wait 200 ms" delay 200
sync && echo 1 >/proc/sys/vm/drop_caches
h0=$(hist) st0=$(stats)
same "the cold chunk, read once, whole" "$(reads "$cold" /tmp/cold 1)" "198.18.0.2 1"
h1=$(hist) st1=$(stats)
check "... a cache miss" test "$(val "$st1" cache_misses)" -gt "$(val "$st0" cache_misses)"
d=$(moved disk "$h0" "$h1") r=$(moved request "$h0" "$h1")
check "... the disk histogram counted its waits ($(field 1 "$d"))" test "$(field 1 "$d")" -ge 1
# The longest wait is the device's 200 ms. Not every one: a page whose
# read went out in the same readahead, in a bio of its own, can still be
# finishing when the first wait ends (dm-delay lets expired bios go from a
# worker), and its wait is then short (a fresh-clone run: 2 waits, buckets
# 8 and 18).
check "... the longest in a bucket above 2^27 ns (134 ms): buckets $(field 5 "$d")..$(field 6 "$d")" \
	test "$(field 6 "$d")" -ge 18
same "... the request histogram counted it once" "$(field 1 "$r")" 1
check "... in a bucket above 2^27 ns too: bucket $(field 5 "$r")" test "$(field 5 "$r")" -ge 18
check "... above every bucket of the cached reads (up to $warm)" test "$(field 5 "$r")" -gt "$warm"
h0=$(hist)
same "the same chunk again, now cached" "$(reads "$cold" /tmp/cold 1)" "198.18.0.2 1"
h1=$(hist) r2=$(moved request "$h0" "$h1")
same "... no disk wait" "$(field 1 "$(moved disk "$h0" "$h1")")" 0
check "... in a lower bucket than cold: $(field 5 "$r2") < $(field 5 "$r")" \
	test "$(field 5 "$r2")" -lt "$(field 5 "$r")"
delay 0

# ---- dgfsd's parser and dgfsctl agree; nothing waits at rest -----------------
both=$(hist) st=$(stats)
for h in request disk; do
	same "$h: kmod_driver (dgfsd's parser) and dgfsctl: the same count and sum" \
		"$(awk -v h=$h '$1 == h { for (i = 5; i <= 30; i++) c += $i; print c, $3 }' <<<"$both")" \
		"$(awk -v h=${h}_latency '$1 == h { print $3, $5 }' <<<"$st")"
done
same "queued and queued_max at rest" "$(val "$st" queued) $(val "$st" queued_max)" "0 0"

umount $mnt
server_and_client_down
dgfs_unload
finish
