#!/usr/bin/env bash
# 10,000 chunk add/del cycles racing 4 concurrent lookups (2 through the
# XDP kfunc, 2 through netlink), then rmmod: no Oops/WARN (vm.sh checks
# dmesg after every script) and every object freed.
# expect-checks: 14 (tests/run-all.sh: a run that prints fewer fails)
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
rm -f /tmp/race.done /tmp/race.*.rounds

# The lookups start first and run until the writer is done (a file says
# so), each a whole round at least, every round of which must work; each
# counts its rounds in /tmp/race.NAME.rounds. The writer starts once all
# four have begun: none can miss the race.
lookup_kfunc() {
	local n=0
	until [[ -e /tmp/race.done ]]; do
		$KFUNC_TEST --kmod --threads 1 --repeat 20000 "$id" >/dev/null || return 1
		echo $((++n)) >"/tmp/race.$1.rounds"
	done
}
lookup_netlink() {
	local n=0 rc
	until [[ -e /tmp/race.done ]]; do
		# Misses are expected while the chunk is out: -force keeps going.
		$CTL -f -b "$show" >/dev/null 2>&1 && rc=0 || rc=$?
		[[ $rc == 0 || $rc == 1 ]] || return 1
		echo $((++n)) >"/tmp/race.$1.rounds"
	done
}
lookup_kfunc k1 & k1=$!
lookup_kfunc k2 & k2=$!
lookup_netlink n1 & n1=$!
lookup_netlink n2 & n2=$!
all_started() { [[ -e /tmp/race.k1.rounds && -e /tmp/race.k2.rounds &&
	-e /tmp/race.n1.rounds && -e /tmp/race.n2.rounds ]]; }
check "the 4 lookup loops are running" wait_for 120 all_started
rounds_before=$(awk '{ s += $1 } END { print s + 0 }' /tmp/race.*.rounds)

$CTL -b "$batch" >/tmp/race.out 2>&1 && rc=0 || rc=$?
rounds_after=$(awk '{ s += $1 } END { print s + 0 }' /tmp/race.*.rounds)
touch /tmp/race.done
same "$cycles add/del cycles all succeed" "$rc" 0
check "lookup rounds ran during the cycles ($((rounds_after - rounds_before)))" \
	test "$rounds_after" -gt "$rounds_before"
# loop_ok NAME PID: the loop ended well, after one round or more.
loop_ok() { wait "$2" && (($(cat "/tmp/race.$1.rounds" 2>/dev/null || echo 0) >= 1)); }
check "kfunc lookups 1 kept working ($(cat /tmp/race.k1.rounds 2>/dev/null || echo 0) rounds)" loop_ok k1 $k1
check "kfunc lookups 2 kept working ($(cat /tmp/race.k2.rounds 2>/dev/null || echo 0) rounds)" loop_ok k2 $k2
check "netlink lookups 1 kept working ($(cat /tmp/race.n1.rounds 2>/dev/null || echo 0) rounds)" loop_ok n1 $n1
check "netlink lookups 2 kept working ($(cat /tmp/race.n2.rounds 2>/dev/null || echo 0) rounds)" loop_ok n2 $n2
tail -n 3 /tmp/race.out
same "no chunk left" "$(stat_value chunks)" 0
same "every cycle made a chunk" "$(($(stat_value obj_created) - created))" "$cycles"
check "the lookups found the chunk at times" test "$(stat_value lookup_hits)" -gt 0
$CTL stats | sed 's/^/    /'
dgfs_unload
finish
