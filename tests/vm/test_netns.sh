#!/usr/bin/env bash
# Two network namespaces are two storage hosts: their stores, chunks and
# config are their own, and deleting a namespace frees its state.
# expect-checks: 20 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

nsa=dgfs-a nsb=dgfs-b
cleanup() { ip netns del $nsa 2>/dev/null; ip netns del $nsb 2>/dev/null; }
trap cleanup EXIT
a() { ip netns exec $nsa "$@"; }
b() { ip netns exec $nsb "$@"; }

dgfs_load
ip netns add $nsa && ip netns add $nsb
root=$(scratch netns)
mkdir -p "$root/a" "$root/b"
echo "chunk of a" >"$root/a/c"
echo "chunk of b" >"$root/b/c"
ida=$(sha256 "$root/a/c") idb=$(sha256 "$root/b/c")

check "a: store add" a $CTL store add sa path "$root/a"
check "a: chunk add" a $CTL chunk add "$ida" store sa file c
check "b: store add" b $CTL store add sb path "$root/b"
check "b: chunk add" b $CTL chunk add "$idb" store sb file c
check "b: the same directory may be a store in another namespace" \
	b $CTL store add sa path "$root/a"
check "a: config set" a $CTL config set port 9001 auth off

same "a sees only its stores" "$(a $CTL store show | awk '{print $2}')" sa
same "b sees only its stores" "$(b $CTL store show | awk '{print $2}' | sort | tr '\n' ' ')" "sa sb "
same "a sees only its chunks" "$(a $CTL chunk show | awk '{print $2}')" "$ida"
same "b sees only its chunks" "$(b $CTL chunk show | awk '{print $2}')" "$idb"
refuse "a cannot find b's chunk" 1 "no chunk" a $CTL chunk show "$idb"
same "a's kfunc finds a's chunk" "$(a $KFUNC_TEST --kmod "$ida")" "size 11"
same "a's kfunc does not find b's chunk" "$(a $KFUNC_TEST --kmod "$idb")" "missing -2"
same "b's config is untouched" "$(b $CTL config show)" "config port 7878 max_read 1048576 auth on key unset"
same "the initial namespace has nothing" "$($CTL store show)" ""

# Namespace teardown runs in a workqueue: wait for it.
destroyed=$(stat_value obj_destroyed)
ip netns del $nsb
for _ in $(seq 100); do
	(($(stat_value obj_destroyed) >= destroyed + 3)) && break
	sleep 0.1
done
same "deleting b freed its 2 stores and 1 chunk" "$(($(stat_value obj_destroyed) - destroyed))" 3
same "a is untouched" "$(a $CTL chunk show | awk '{print $2}')" "$ida"

# Unload with a namespace still holding state: the module frees it.
dgfs_unload
finish
