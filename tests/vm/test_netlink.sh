#!/usr/bin/env bash
# Every dgfsctl command against dgfs.ko, in text and JSON; bad input from
# dgfsctl and from hand-made netlink messages, each refused with a clear
# error and no change; changes refused to a caller without CAP_NET_ADMIN.
# expect-checks: 161 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

dgfs_load
shows "genl ctrl list shows the dgfs family" "Name: dgfs\b" genl ctrl list

root=$(scratch netlink)
mkdir -p "$root/s1/ab" "$root/s2" "$root/s1/sub"
printf hello >"$root/s1/ab/c1"
head -c 4096 /dev/urandom >"$root/s1/c2"
: >"$root/s1/empty"
echo outside >"$root/outside"
ln -s /etc/passwd "$root/s1/escape-abs"
ln -s ../../outside "$root/s1/sub/escape-rel"
ln -s ../c2 "$root/s1/sub/inside"
id1=$(sha256 "$root/s1/ab/c1")
id2=$(sha256 "$root/s1/c2")
id3=$(printf '%064d' 3)
ide=$(printf '%064d' 4)

# ---- the commands ----
check "store add s1" $CTL store add s1 path "$root/s1"
check "store add s2" $CTL store add s2 path "$root/s2"
same "store show s1 (empty)" "$($CTL store show s1)" "store s1 path $root/s1 chunks 0 bytes 0"
check "chunk add (path in a subdirectory)" $CTL chunk add "$id1" store s1 file ab/c1
check "chunk add with the right size" $CTL chunk add "$id2" store s1 file c2 size 4096
check "chunk add through a symlink inside the store" $CTL chunk add "$id3" store s1 file sub/inside
same "chunk show ID" "$($CTL chunk show "$id1")" "chunk $id1 store s1 path ab/c1 size 5"
same "chunk show (dump) lists all three" "$($CTL chunk show | wc -l)" 3
same "chunk show store s1" "$($CTL chunk show store s1 | wc -l)" 3
same "chunk show store s2 is empty" "$($CTL chunk show store s2)" ""
same "store show s1 counts its chunks" "$($CTL store show s1)" \
	"store s1 path $root/s1 chunks 3 bytes $((5 + 4096 + 4096))"
same "store show (dump)" "$($CTL store show | awk '{print $2}' | tr '\n' ' ')" "s1 s2 "
same "config show defaults" "$($CTL config show)" "config port 7878 max_read 1048576 auth on key unset"

# JSON: parses, and says the same as the text. dgfsctl's own status
# counts: its output is taken whole first, then parsed.
json_ok() {
	local out
	# shellcheck disable=SC2086
	out=$($CTL -j $1) || return 1
	python3 -m json.tool >/dev/null <<<"$out"
}
for c in "store show" "store show s1" "chunk show" "chunk show $id1" "config show" "stats"; do
	check "dgfsctl -j $c succeeds and python3 -m json.tool parses it" json_ok "$c"
done
same "JSON chunk show" "$($CTL -j chunk show "$id1" | python3 -c '
import json, sys; c = json.load(sys.stdin)[0]; print(c["id"], c["store"], c["path"], c["size"])')" \
	"$id1 s1 ab/c1 5"
same "JSON store dump" "$($CTL -j store show | python3 -c '
import json, sys; print(" ".join(s["name"] + ":" + str(s["chunks"]) for s in json.load(sys.stdin)))')" \
	"s1:3 s2:0"
same "JSON config" "$($CTL -j config show | python3 -c '
import json, sys; c = json.load(sys.stdin); print(c["port"], c["max_read"], c["auth"], c["key_set"])')" \
	"7878 1048576 True False"

lookups=$(stat_value lookups) hits=$(stat_value lookup_hits)
$CTL chunk show "$id2" >/dev/null
$CTL chunk show "$ide" >/dev/null 2>&1
same "stats count lookups" "$(stat_value lookups)" $((lookups + 2))
same "stats count hits" "$(stat_value lookup_hits)" $((hits + 1))
same "stats count stores" "$(stat_value stores)" 2
same "stats count chunks" "$(stat_value chunks)" 3
same "stats count chunk bytes" "$(stat_value chunk_bytes)" $((5 + 4096 + 4096))

check "config set" $CTL config set port 9000 max_read 4M auth off key random
same "config show after set" "$($CTL config show)" "config port 9000 max_read 4194304 auth off key set"
check "config set max_read 16M (the limit)" $CTL config set max_read 16M
check "config set key from stdin" bash -c "echo 00112233445566778899aabbccddeeff | $CTL config set key - auth on port 7878 max_read 1M"
same "config show after the second set" "$($CTL config show)" "config port 7878 max_read 1048576 auth on key set"

check "chunk del" $CTL chunk del "$id3"
same "chunk del is gone" "$($CTL chunk show | wc -l)" 2
check "store del of an empty store" $CTL store del s2
same "store del is gone" "$($CTL store show | awk '{print $2}')" s1

# ---- bad input: each refused with a clear message, nothing changed ----
# snapshot: the whole state, or a line saying dgfsctl failed.
snapshot() { { $CTL store show && $CTL chunk show && $CTL config show; } || echo "dgfsctl failed: $?"; }
before=$(snapshot)
shows "the snapshot holds the stores, chunks and config" "^config port" echo "$before"

refuse "store path that is a file" 1 "not a directory" $CTL store add s3 path "$root/outside"
refuse "store path that does not exist" 1 "does not exist" $CTL store add s3 path "$root/nope"
refuse "store path relative to a directory without it" 1 "does not exist" $CTL store add s3 path mnt/netlink
refuse "store name taken" 1 "exists" $CTL store add s1 path "$root/s2"
refuse "store directory taken" 1 "already a store" $CTL store add s3 path "$root/s1/"
refuse "store name with a slash" 2 "store name" $CTL store add a/b path "$root/s2"
refuse "store name .." 2 "store name" $CTL store add .. path "$root/s2"
refuse "chunk path with .." 1 "'\.\.'" $CTL chunk add "$ide" store s1 file ../outside
refuse "chunk path with .. inside" 1 "'\.\.'" $CTL chunk add "$ide" store s1 file ab/../../outside
refuse "chunk path absolute" 1 "relative" $CTL chunk add "$ide" store s1 file /etc/passwd
refuse "chunk symlink to an absolute path" 1 "leaves its store" $CTL chunk add "$ide" store s1 file escape-abs
refuse "chunk symlink climbing out" 1 "leaves its store" $CTL chunk add "$ide" store s1 file sub/escape-rel
refuse "chunk file missing" 1 "does not exist" $CTL chunk add "$ide" store s1 file nope
refuse "chunk file a directory" 1 "not a regular file" $CTL chunk add "$ide" store s1 file ab
refuse "chunk file empty" 1 "empty" $CTL chunk add "$ide" store s1 file empty
truncate -s 4G "$root/s1/huge"
refuse "chunk file of 4 GiB (over the wire format's size)" 1 "4 GiB" $CTL chunk add "$ide" store s1 file huge
refuse "chunk size mismatch" 1 "size does not match" $CTL chunk add "$ide" store s1 file c2 size 4095
refuse "chunk in an unknown store" 1 "no store" $CTL chunk add "$ide" store s9 file c2
refuse "chunk id taken" 1 "exists" $CTL chunk add "$id1" store s1 file c2
refuse "chunk id too short" 2 "" $CTL chunk add "${ide:1}" store s1 file c2
refuse "chunk id too long" 2 "" $CTL chunk add "${ide}0" store s1 file c2
refuse "chunk id not hex" 2 "" $CTL chunk add "${ide:1}g" store s1 file c2
refuse "chunk del unknown" 1 "no chunk" $CTL chunk del "$ide"
refuse "chunk show unknown" 1 "no chunk" $CTL chunk show "$ide"
refuse "store del unknown" 1 "no store" $CTL store del s9
refuse "store del while it holds chunks" 1 "still holds chunks" $CTL store del s1
refuse "config set max_read 0" 2 "" $CTL config set max_read 0
refuse "config set max_read over 16M" 2 "" $CTL config set max_read 17M
refuse "config set port 0" 2 "" $CTL config set port 0
refuse "unknown object" 2 'unknown, try "dgfsctl help"' $CTL frob show

# The kernel's own checks, with what dgfsctl never sends: each case must
# be refused with its own errno and extack message (tests/vm/nlraw.py
# holds both). Every other part of a case is valid (an existing store, a
# regular file in it, a free name and directory), so that only the
# attribute under test can be why it is refused.
export NLRAW_STORE=s1 NLRAW_FILE=c2 NLRAW_NEW_STORE=s3 NLRAW_DIR=$root/s2
nlraw() {
	local out rc
	out=$(python3 tests/vm/nlraw.py "$2" 2>&1) && rc=0 || rc=$?
	if [[ $rc == 0 ]]; then pass "$1 ($out)"; else fail "$1 (exit $rc: ${out//$'\n'/; })"; fi
}
cases=$(python3 tests/vm/nlraw.py --list) || fail "nlraw.py --list"
check "nlraw.py has at least 30 cases" test "$(wc -l <<<"$cases")" -ge 30
for c in $cases; do
	nlraw "kernel refuses $c with its errno and message" "$c"
done
same "bad input changed nothing" "$(snapshot)" "$before"
# The control: the same encoder's well-formed requests are accepted.
for c in ok-store-add ok-store-del ok-chunk-add ok-chunk-del ok-chunks-add; do
	nlraw "control: kernel accepts nlraw.py's $c" "$c"
done
# ok-chunks-add's three chunks (nlraw.py's bid(0..2)), in s1 as c2.
bids=$(for b in c0 c1 c2; do printf "$b%.0s" {1..32}; echo; done)
same "control: the chunk list's three chunks are there" \
	"$(for b in $bids; do $CTL chunk show "$b"; done | awk '$4 == "s1" && $6 == "c2"' | wc -l)" 3
for b in $bids; do $CTL chunk del "$b"; done
same "the controls left nothing behind" "$(snapshot)" "$before"

# ---- permissions: changes, store paths and chunk ids need CAP_NET_ADMIN;
# config and stats do not (docs/SECURITY.md) ----
nocap() { setpriv --inh-caps=-all --bounding-set=-all "$@"; }
refuse "no CAP_NET_ADMIN: store add" 1 "not permitted" nocap $CTL store add s3 path "$root/s2"
refuse "no CAP_NET_ADMIN: store del" 1 "not permitted" nocap $CTL store del s1
refuse "no CAP_NET_ADMIN: chunk add" 1 "not permitted" nocap $CTL chunk add "$ide" store s1 file c2
refuse "no CAP_NET_ADMIN: chunk del" 1 "not permitted" nocap $CTL chunk del "$id1"
refuse "no CAP_NET_ADMIN: config set" 1 "not permitted" nocap $CTL config set port 1234
refuse "no CAP_NET_ADMIN: store show" 1 "not permitted" nocap $CTL store show s1
refuse "no CAP_NET_ADMIN: chunk show" 1 "not permitted" nocap $CTL chunk show
check "no CAP_NET_ADMIN: config show works" nocap $CTL config show
check "no CAP_NET_ADMIN: stats works" nocap $CTL stats
same "refused changes changed nothing" "$(snapshot)" "$before"

# ---- batch mode: "chunk add" lines go many to a message (DGFS_A_CHUNKS) ----
bulk=$(scratch netlink-bulk)
check "store add bulk" $CTL store add bulk path "$bulk"
want_bytes=0
for ((i = 1; i <= 300; i++)); do
	printf '%d' $i >"$bulk/f$i"
	want_bytes=$((want_bytes + ${#i}))
done
bulk_ids() { for ((i = $2; i <= $3; i++)); do printf "%s%062x %d\n" "$1" $i $i; done; }
bulk_ids a0 1 300 | awk '{ printf "chunk add %s store bulk file f%d\n", $1, $2 }' >"$bulk.add"
bulk_ids a0 1 300 | awk '{ printf "chunk del %s\n", $1 }' >"$bulk.del"
check "batch: 300 chunk adds" $CTL -b "$bulk.add"
listed=$($CTL chunk show store bulk) shown=$($CTL store show bulk)
same "batch: the store holds the 300 chunks and their bytes" "$shown" \
	"store bulk path $bulk chunks 300 bytes $want_bytes"
same "batch: each chunk has its own file and size" \
	"$(awk '{ n = substr($6, 2); if ($8 != length(n) || $2 != sprintf("a0%062x", n)) bad++ } END { print NR, bad + 0 }' <<<"$listed")" "300 0"
check "batch: 300 chunk dels" $CTL -b "$bulk.del"
same "batch: the store is empty again" "$($CTL store show bulk)" "store bulk path $bulk chunks 0 bytes 0"
ok=0
while read -r line; do
	# shellcheck disable=SC2086
	$CTL $line && ok=$((ok + 1))
done <"$bulk.add"
same "one by one: 300 chunk adds" $ok 300
same "one by one: chunk show equals the batch's" "$($CTL chunk show store bulk)" "$listed"
same "one by one: store show equals the batch's" "$($CTL store show bulk)" "$shown"
check "batch: 300 chunk dels again" $CTL -b "$bulk.del"

# More lines than one message takes (DGFS_CHUNKS_MAX, and the message size).
chunks_before=$(stat_value chunks)
bulk_ids b0 1 2500 | awk '{ printf "chunk add %s store bulk file f%d\n", $1, $2 % 300 + 1 }' >"$bulk.big"
check "batch: 2500 chunk adds" $CTL -b - <"$bulk.big"
same "batch: stats count the 2500" "$(stat_value chunks)" $((chunks_before + 2500))
same "batch: chunk show lists the 2500" "$($CTL chunk show store bulk | wc -l)" 2500
bulk_ids b0 1 2500 | awk '{ printf "chunk del %s\n", $1 }' | $CTL -b -

# A failing line: reported as before, the lines before it added (also of
# another store, across other commands, and in its own message: line 4),
# the batch ends there without -f; with -f only that line is missing.
x() { printf "e$1%.0s" {1..32}; }
present() { for i in "$@"; do $CTL chunk show "$(x "$i")" >/dev/null 2>&1 && echo -n "$i"; done; }
{
	echo "chunk add $(x 1) store s1 file c2"
	echo "chunk add $(x 2) store bulk file f2"
	echo "store show s1"
	echo "chunk add $(x 3) store bulk file f3"
	echo "chunk add $(x 4) store bulk file nope"
	echo "chunk add $(x 5) store bulk file f5"
} >"$bulk.mixed"
err=$($CTL -b "$bulk.mixed" 2>&1 >"$bulk.out") && rc=0 || rc=$?
same "mixed batch: exit 1, one failing line" "$rc $(grep -c 'command failed' <<<"$err")" "1 1"
shows "mixed batch: says why" "does not exist" echo "$err"
shows "mixed batch: names line 5" "mixed:5: command failed" echo "$err"
same "mixed batch: store show ran after the add before it" "$(cat "$bulk.out")" \
	"store s1 path $root/s1 chunks 3 bytes $((5 + 4096 + 4096))"
same "mixed batch: lines 1, 2 and 4 added, 5 and 6 not" "$(present 1 2 3 4 5)" 123
for i in 1 2 3; do $CTL chunk del "$(x $i)"; done
err=$($CTL -f -b "$bulk.mixed" 2>&1 >/dev/null) && rc=0 || rc=$?
same "mixed batch with -f: exit 1, one failing line" "$rc $(grep -c 'command failed' <<<"$err")" "1 1"
same "mixed batch with -f: all but line 5 added" "$(present 1 2 3 4 5)" 1235
for i in 1 2 3 5; do $CTL chunk del "$(x $i)"; done

# The same id twice in a row: the second line fails as a lone add would.
printf 'chunk add %s store bulk file f1\n' "$(x 6)" "$(x 6)" "$(x 7)" >"$bulk.dup"
refuse "batch: a repeated id fails at its second line" 1 "dup:2: command failed" $CTL -b "$bulk.dup"
same "batch: the first of the two was added, the line after not" "$(present 6 7)" 6
$CTL chunk del "$(x 6)"
# A malformed "chunk add" line: its usage error, the adds before it made.
printf 'chunk add %s store bulk file f1\nchunk add 12 store bulk file f1\n' "$(x 8)" >"$bulk.usage"
refuse "batch: a malformed chunk add line is a usage error" 1 "invalid chunk ID" $CTL -b "$bulk.usage"
same "batch: the add before it was made" "$(present 8)" 8
$CTL chunk del "$(x 8)"
before=$(snapshot)
refuse "no CAP_NET_ADMIN: batch of chunk adds" 1 "not permitted" nocap $CTL -b "$bulk.add"
same "no CAP_NET_ADMIN: the batch added nothing" "$(snapshot)" "$before"

# ---- unload with chunks and a store still in place ----
dgfs_unload
refuse "dgfsctl says when the module is not loaded" 1 "module is not loaded" $CTL store show
finish
