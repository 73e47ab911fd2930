#!/usr/bin/env bash
# 10,000 chunk add/del cycles racing 4 concurrent lookups (2 through the
# XDP kfunc, 2 through netlink), then rmmod: no Oops/WARN (vm.sh checks
# dmesg after every script) and every object freed.
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

cycles=${RACE_CYCLES:-10000}
dgfs_load
root=$(scratch race)
head -c 8192 /dev/urandom >"$root/c"
id=$(sha256 "$root/c")
check "store add" $CTL store add race path "$root"

batch=/tmp/race.batch
for ((i = 0; i < cycles; i++)); do
	echo "chunk add $id store race file c"
	echo "chunk del $id"
done >"$batch"
show=/tmp/race.show
for ((i = 0; i < 2000; i++)); do echo "chunk show $id"; done >"$show"

created=$(stat_value obj_created)
$CTL -b "$batch" >/tmp/race.out 2>&1 &
writer=$!

# The lookups run until the writer is done; each must keep working.
lookup_kfunc() {
	while kill -0 $writer 2>/dev/null; do
		$KFUNC_TEST --kmod --threads 1 --repeat 20000 "$id" >/dev/null || return 1
	done
}
lookup_netlink() {
	# Misses are expected while the chunk is out: -force keeps going.
	while kill -0 $writer 2>/dev/null; do
		$CTL -f -b "$show" >/dev/null 2>&1
		local rc=$?
		[[ $rc == 0 || $rc == 1 ]] || return 1
	done
}
lookup_kfunc & k1=$!
lookup_kfunc & k2=$!
lookup_netlink & n1=$!
lookup_netlink & n2=$!

check "$cycles add/del cycles all succeed" wait $writer
check "kfunc lookups 1 kept working" wait $k1
check "kfunc lookups 2 kept working" wait $k2
check "netlink lookups 1 kept working" wait $n1
check "netlink lookups 2 kept working" wait $n2
tail -n 3 /tmp/race.out
same "no chunk left" "$(stat_value chunks)" 0
same "every cycle made a chunk" "$(($(stat_value obj_created) - created))" "$cycles"
check "the lookups found the chunk at times" test "$(stat_value lookup_hits)" -gt 0
$CTL stats | sed 's/^/    /'
dgfs_unload
finish
