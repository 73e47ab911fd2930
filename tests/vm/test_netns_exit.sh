#!/usr/bin/env bash
# Namespace exit waits no RCU grace period of its own: rmmod with N serving
# namespaces (each with a store, so sockets, rings and an IO workqueue) takes
# about as long as rmmod with none. The core waits one grace period for all
# of them between pre_exit and exit; an exit that waited one more per
# namespace (as dgfs_net_exit() did) makes rmmod, and a batch of dying
# namespaces, wait N of them in a row, which under a flood on the debug
# kernel blocked rmmod over 120 s. The bound is relative to the control
# measured in the same run, not a fixed time.
# expect-checks: 13 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

n=${EXIT_NAMESPACES:-32}
rounds=3
names=()
cleanup() {
	local ns
	for ns in "${names[@]}"; do ip netns del "$ns" 2>/dev/null; done
	names=()
}
trap cleanup EXIT

root=$(scratch netns-exit)
echo "a chunk" >"$root/c"

# rmmod_ms: how long rmmod took, in ms (the module logs its unload; a
# failed rmmod prints nothing, which fails the caller's check).
rmmod_ms() {
	local t0 t1
	t0=$(date +%s%N)
	rmmod dgfs || return 1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

# serve_in NETNS...: a store in each (the first store add opens the
# sockets and makes the rings).
serve_in() {
	local ns
	for ns; do
		ip netns exec "$ns" $CTL store add s path "$root" >/dev/null || return 1
	done
}

serve_in_init() { $CTL store add s path "$root" >/dev/null; }
ctl=() many=()
for ((r = 1; r <= rounds; r++)); do
	# Control: only the initial namespace serves.
	dgfs_load
	serve_in_init || fail "round $r: store add in the initial namespace"
	t=$(rmmod_ms) && ctl+=("$t") || fail "round $r: rmmod (control)"

	# The same, and n more namespaces serving.
	dgfs_load
	serve_in_init || fail "round $r: store add in the initial namespace"
	for ((i = 0; i < n; i++)); do
		ip netns add "dgfs-x$i" && names+=("dgfs-x$i")
	done
	check "round $r: a store in each of $n namespaces" serve_in "${names[@]}"
	t=$(rmmod_ms) && many+=("$t") || fail "round $r: rmmod with $n namespaces"
	check "round $r: the module freed every object" bash -c \
		"dmesg | grep -E 'dgfs: (unloaded|leak)' | tail -1 |
		 grep -Eq 'dgfs: unloaded, objects created ([0-9]+) destroyed \1\$'"
	cleanup
done

# The fastest of each: the least disturbed by whatever else the host runs.
min() { printf '%s\n' "$@" | sort -n | head -1; }
c=$(min "${ctl[@]}") m=$(min "${many[@]}")
echo "rmmod: ${ctl[*]} ms with 1 serving namespace, ${many[*]} ms with $((n + 1))"
# A grace period costs several ms even on an idle guest (tens under TCG):
# 32 of them in a row at least double an rmmod that waits three or four.
check "rmmod with $((n + 1)) serving namespaces (${m} ms) takes under twice as long as with 1 (${c} ms)" \
	test "$m" -lt $((2 * c))
finish
