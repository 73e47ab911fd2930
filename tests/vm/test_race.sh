#!/usr/bin/env bash
# 10,000 chunk add/del cycles racing 4 concurrent lookups (2 through the
# XDP kfunc, 2 through netlink), then rmmod: no Oops/WARN (vm.sh checks
# dmesg after every script) and every object freed.
#
# The kfunc loops race the module's index, not the kernel's XDP dispatcher:
# each keeps its program attached to a device that carries no traffic (one
# end each of a veth pair), so their BPF_PROG_TEST_RUNs find it in the
# dispatcher and never re-patch it (tests/bpf/kfunc_test.c). Re-patched at
# every run, the dispatcher killed the debug kernel under the two loops
# with an int3 in bpf_dispatcher_xdp_func, dgfs.ko not involved
# (docs/TESTING.md). Where the kernel has kprobe events (the stock one),
# the script checks that the dispatcher's static call is not updated while
# they race.
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

ip link add race-k1 type veth peer name race-k2 || fail "a veth pair for the kfunc programs"
trap 'touch /tmp/race.done; ip link del race-k1 2>/dev/null' EXIT

# Dispatcher updates (static call updates, kernel-wide) while the kfunc
# loops race: a kprobe's hit count, if this kernel has kprobe events.
tr=/sys/kernel/tracing
[[ -e $tr/kprobe_events ]] || tr=/sys/kernel/debug/tracing
kprobe=
if echo 'p:dgfs_race/sc_update __static_call_update' >>"$tr/kprobe_events" 2>/dev/null; then
	echo 1 >"$tr/events/dgfs_race/sc_update/enable" && kprobe=dgfs_race/sc_update
fi
# kprobe_profile: event name (without its group), hits, misses.
sc_updates() { awk '$1 == "sc_update" { print $2 }' "$tr/kprobe_profile"; }

# The lookups start first and run until the writer is done (a file says
# so), each a whole round at least, every round of which must work; each
# counts its rounds in /tmp/race.NAME.rounds. The writer starts once all
# four have begun: none can miss the race.
lookup_kfunc() {
	$KFUNC_TEST --kmod --attach "race-$1" --threads 1 --repeat 20000 \
		--until /tmp/race.done --progress "/tmp/race.$1.rounds" "$id" >/dev/null
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
[[ -z $kprobe ]] || updates_before=$(sc_updates)

$CTL -b "$batch" >/tmp/race.out 2>&1 && rc=0 || rc=$?
rounds_after=$(awk '{ s += $1 } END { print s + 0 }' /tmp/race.*.rounds)
[[ -z $kprobe ]] || updates_after=$(sc_updates)
touch /tmp/race.done
same "$cycles add/del cycles all succeed" "$rc" 0
check "lookup rounds ran during the cycles ($((rounds_after - rounds_before)))" \
	test "$rounds_after" -gt "$rounds_before"
if [[ -n $kprobe ]]; then
	same "the XDP dispatcher was not re-patched while the kfunc loops ran" \
		"$((updates_after - updates_before)) static call updates" "0 static call updates"
	echo 0 >"$tr/events/$kprobe/enable"
	echo "-:$kprobe" >>"$tr/kprobe_events"
else
	echo "(dispatcher updates not counted: this kernel has no kprobe events)"
fi
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
