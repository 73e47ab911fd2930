#!/usr/bin/env bash
# dgfsd's netlink client (userspace/dgfsd/kmod.c) against dgfs.ko, through
# build/kmod_driver: every call, its errors with the kernel's own messages
# in the client's log lines, and each answer compared with `dgfsctl -j`.
# Also: a dump of many parts, dumps racing changes (retried, never torn),
# one client shared by threads, a callback calling back into the client.
# expect-checks: 70 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

DRV=$BUILD/kmod_driver
if [[ ! -x $DRV ]]; then
	fail "$DRV is built (see tests/vm/kmod_driver.c)"
	finish
fi
# kmod_driver is built with ASan and UBSan (halting). Many checks below
# read only its output, so its sanitizer reports go to files of their own
# too (one per process), and the end of the test fails on any of them.
san=/tmp/kmod_driver-san
rm -f "$san".*
export ASAN_OPTIONS=detect_leaks=1:log_path=$san
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$san

# json CODE: run python CODE with d = dgfsctl's JSON from stdin.
json() { python3 -c "import json, sys; d = json.load(sys.stdin); $1"; }
ctl_chunks() {
	$CTL -j chunk show "$@" | json 'print("\n".join("%s %d" % (c["id"], c["size"]) for c in d))' |
		sed '/^$/d' | sort
}
drv_chunks() { $DRV chunks "$@" | sort; }
quiet() { "$@" >/dev/null; }

refuse "no module: kmod_open is ENOENT" 1 "^kmod_driver: config-get: ENOENT$" $DRV config-get
refuse "no module: the log line says why" 1 \
	'^dgfsd: kmod: opening: No such file or directory: no generic netlink family "dgfs"' \
	$DRV config-get

dgfs_load
root=$(scratch kmod-client)
mkdir -p "$root/s1/sub" "$root/s2"
head -c 100 /dev/urandom >"$root/s1/c1"
head -c 5000 /dev/urandom >"$root/s1/sub/c2"
head -c 70000 /dev/urandom >"$root/s1/c3"
head -c 10 /dev/urandom >"$root/s2/f"
id1=$(sha256 "$root/s1/c1") id2=$(sha256 "$root/s1/sub/c2") id3=$(sha256 "$root/s1/c3")
ide=$(printf '%064d' 9)

# ---- stores ----
check "store-ensure s1 adds it" $DRV store-ensure s1 "$root/s1"
check "store-ensure s1 again with the same path" $DRV store-ensure s1 "$root/s1"
refuse "store-ensure s1 with another path is EEXIST" 1 "^kmod_driver: store-ensure: EEXIST$" \
	$DRV store-ensure s1 "$root/s2"
refuse "... logged with the kernel's message and the path s1 has" 1 \
	"^dgfsd: kmod: adding store \"s1\" at $root/s2: File exists: a store with this name exists \(its path is $root/s1\)$" \
	$DRV store-ensure s1 "$root/s2"
refuse "store-ensure of s1's directory under another name is EEXIST" 1 \
	"File exists: this directory is already a store$" $DRV store-ensure s9 "$root/s1"
refuse "store-ensure of a missing directory is ENOENT" 1 \
	"No such file or directory: store path does not exist" $DRV store-ensure s9 "$root/nope"
refuse "store-ensure with a name the kernel refuses is EINVAL" 1 \
	"Invalid argument: store name may hold only" $DRV store-ensure .. "$root/s2"
refuse "store-ensure with a name too long is refused before sending" 1 \
	"ENAMETOOLONG" $DRV store-ensure "$(printf 'n%.0s' {1..32})" "$root/s2"
check "store-ensure s2" $DRV store-ensure s2 "$root/s2"
same "dgfsctl -j store show: s1 and s2 at their paths, nothing else" \
	"$($CTL -j store show | json 'print("\n".join(sorted(s["name"] + " " + s["path"] for s in d)))')" \
	"$(printf 's1 %s\ns2 %s' "$root/s1" "$root/s2")"

# ---- chunks ----
check "chunk-add c1" $DRV chunk-add "$id1" s1 c1 100
check "chunk-add c2 (in a subdirectory)" $DRV chunk-add "$id2" s1 sub/c2 5000
check "chunk-add c3" $DRV chunk-add "$id3" s1 c3 70000
refuse "chunk-add of an indexed id is EEXIST" 1 "^kmod_driver: chunk-add: EEXIST$" \
	$DRV chunk-add "$id1" s1 c1 100
refuse "chunk-add with the wrong size is EINVAL, and says so" 1 \
	"^dgfsd: kmod: adding chunk $ide: Invalid argument: size does not match" \
	$DRV chunk-add "$ide" s1 c1 99
refuse "chunk-add in an unknown store is ENOENT" 1 "No such file or directory: no store" \
	$DRV chunk-add "$ide" s9 c1 100
refuse "chunk-add leaving the store is refused" 1 "may not contain '\.\.'" \
	$DRV chunk-add "$ide" s1 ../s2/f 10
want=$(printf '%s 100\n%s 5000\n%s 70000\n' "$id1" "$id2" "$id3" | sort)
same "chunks s1: the three" "$(drv_chunks s1)" "$want"
same "chunks s1 as dgfsctl -j chunk show store s1" "$(drv_chunks s1)" "$(ctl_chunks store s1)"
same "chunks (every store) as dgfsctl -j chunk show" "$(drv_chunks)" "$(ctl_chunks)"
same "chunks s2: none" "$($DRV chunks s2)" ""
refuse "chunks of an unknown store is ENOENT, with the kernel's message" 1 \
	"^dgfsd: kmod: dumping the chunks of store \"s9\": No such file or directory: no store with this name$" \
	$DRV chunks s9
same "chunks-head s1 1: the callback's non-zero stops the walk" "$($DRV chunks-head s1 1 | wc -l)" 1
check "chunk-del c2" $DRV chunk-del "$id2"
refuse "chunk-del c2 again is ENOENT" 1 "^kmod_driver: chunk-del: ENOENT$" $DRV chunk-del "$id2"
same "chunks s1 after the del: c1 and c3" "$(drv_chunks s1)" \
	"$(printf '%s 100\n%s 70000\n' "$id1" "$id3" | sort)"
check "chunk-add c2 back" $DRV chunk-add "$id2" s1 sub/c2 5000
same "chunks s1: the three again" "$(drv_chunks s1)" "$want"

# A dump in many parts: 1500 chunks (ids 1..1500, all one file) in s2.
many=1500
batch=/tmp/kmod-client.batch
for ((i = 1; i <= many; i++)); do
	printf 'chunk add %064d store s2 file f size 10\n' "$i"
done >"$batch"
check "dgfsctl adds $many chunks to s2" $CTL -b "$batch"
s2_want=$(ctl_chunks store s2)
same "chunks s2: all $many" "$(drv_chunks s2 | wc -l)" $many
same "chunks s2 as dgfsctl" "$(drv_chunks s2)" "$s2_want"
same "chunks s1 untouched by s2's" "$(drv_chunks s1)" "$want"

# Dumps torn by changes: a second client adds and deletes a chunk between
# the parts of the first N attempts (NLM_F_DUMP_INTR each time). Retried
# from scratch up to 5 attempts in all, then EAGAIN.
idr=$(printf 'f%063d' 1)	# not among s2's ids
race() { $DRV chunks-race s2 "$1" "$idr" s1 c1 100; }
same "dump left alone: one attempt" "$(race 0)" "attempts 1 chunks $many"
same "dump torn once: whole on the 2nd attempt" "$(race 1)" "attempts 2 chunks $many"
same "dump torn 4 times: whole on the 5th attempt" "$(race 4)" "attempts 5 chunks $many"
refuse "dump torn 5 times: EAGAIN, and says why" 1 \
	"dumping the chunks of store \"s2\": Resource temporarily unavailable: interrupted by concurrent changes 5 times in a row" \
	race 5
same "dump torn 5 times: 5 attempts, no chunk handed out" "$(race 5 2>/dev/null)" "attempts 5 chunks 0"
same "the racing changes left s1 as it was" "$(drv_chunks s1)" "$want"

check "one client, 4 threads x 5 (config get, dump, stats)" quiet $DRV parallel 4 5

same "chunks-del-all s2: deleting from inside the callback" "$($DRV chunks-del-all s2)" \
	"deleted $many"
same "dgfsctl: s2 is empty" "$($CTL chunk show store s2)" ""

# ---- config ----
cfg_ctl() {
	$CTL -j config show |
		json 'print("port %d max_read %d auth %d key_set %d" % (d["port"], d["max_read"], d["auth"], d["key_set"]))'
}
same "config-get: the defaults" "$($DRV config-get)" "port 7878 max_read 1048576 auth 1 key_set 0"
check "config-set key, port and max_read" \
	$DRV config-set 00112233445566778899aabbccddeeff 9001 2097152
same "config-get after the set" "$($DRV config-get)" "port 9001 max_read 2097152 auth 1 key_set 1"
same "config-get as dgfsctl -j config show" "$($DRV config-get)" "$(cfg_ctl)"
check "config-set max_read alone" $DRV config-set - 0 4194304
same "config-get: port and key left as they were" "$($DRV config-get)" \
	"port 9001 max_read 4194304 auth 1 key_set 1"
check "config-set of nothing is a no-op" $DRV config-set - 0 0
refuse "config-set max_read over the limit is ERANGE, with the kernel's message" 1 \
	"^dgfsd: kmod: setting the configuration: Numerical result out of range: integer out of range$" \
	$DRV config-set - 0 $((17 << 20))
check "dgfsctl config set auth off" $CTL config set auth off
same "config-get sees auth off" "$($DRV config-get)" "$(cfg_ctl)"
same "config-get: auth 0" "$($DRV config-get | awk '{print $6}')" 0
check "config back to the defaults" $CTL config set port 7878 max_read 1M auth on

# ---- stats ----
stats=$($DRV stats) && rc=0 || rc=$?
same "stats succeeds" $rc 0
# One line per counter of the list dgfsctl and /metrics share.
same "stats: one line per counter in include/dgfs_stats_names.h" "$(wc -l <<<"$stats")" \
	"$(grep -c '^[[:space:]]*X(' include/dgfs_stats_names.h)"
# dgfsctl adds the XDP program's counters (xdp_*) when it finds them, and
# the latency histograms (objects, *_latency).
ctl_all=$($CTL -j stats | json 'print("\n".join("%s %s" % kv for kv in d.items()
	if not isinstance(kv[1], dict)))')
ctl_stats=$(grep -v '^xdp_' <<<"$ctl_all" | sort)
same "stats: the names are dgfsctl's, all of them" "$(awk '{print $1}' <<<"$stats" | sort)" \
	"$(awk '{print $1}' <<<"$ctl_stats")"
missing=
for name in $(awk '{print $1}' <<<"$stats"); do
	grep -q "^$name " <<<"$ctl_all" || missing+=" $name"
done
same "stats: every name present in dgfsctl -j stats" "$missing" ""
same "stats: the values are dgfsctl's" "$(sort <<<"$stats")" "$ctl_stats"
# The latency histograms: dgfsd's parser and dgfsctl's read the same.
lat=$($DRV latency) && rc=0 || rc=$?
same "latency succeeds, one line per histogram" "$rc $(awk '{ print $1, NF }' <<<"$lat" | tr '\n' ' ')" \
	"0 request 30 disk 30 "
same "latency: the same buckets and sums as dgfsctl -j stats" "$lat" \
	"$($CTL -j stats | json 'print("\n".join("%s sum_ns %d buckets %s" % (n, d[n + "_latency"]["sum_ns"],
	" ".join(map(str, d[n + "_latency"]["buckets"]))) for n in ("request", "disk")))')"
same "stats: stores and chunks" "$(awk '$1 == "stores" || $1 == "chunks" {print $2}' <<<"$stats" |
	tr '\n' ' ')" "2 3 "

# ---- permissions ----
nocap() { setpriv --inh-caps=-all --bounding-set=-all "$@"; }
refuse "no CAP_NET_ADMIN: chunk-del is EPERM" 1 "^kmod_driver: chunk-del: EPERM$" \
	nocap $DRV chunk-del "$id1"
check "no CAP_NET_ADMIN: stats works" quiet nocap $DRV stats

dgfs_unload
refuse "after rmmod: ENOENT again" 1 "^kmod_driver: stats: ENOENT$" $DRV stats

reports=$(compgen -G "$san.*")
same "kmod_driver made no sanitizer report" "$reports" ""
[[ -z $reports ]] || head -n 40 $reports
finish
