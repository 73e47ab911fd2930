#!/usr/bin/env bash
# The dgfs netlink family fuzzed (tests/fuzz/nlfuzz.py): random commands,
# flags and attribute trees, and damaged messages,
#  1. from root, in a namespace of its own: every reply parses, a refused
#     request changes nothing, a user's bad input is refused with a message;
#  2. from nobody without capabilities, in that namespace: every change is
#     refused, and the state (read by root before and after) is the same;
#  3. from nobody in a user and network namespace of its own: whatever it
#     may do there, the other namespaces' state stays as it was.
# No Oops, no WARN (the harness checks dmesg), and the module frees every
# object on unload.
#   FUZZ_SECONDS (default 15) per caller; tests/fuzz/vm-long.sh sets more.
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

secs=${FUZZ_SECONDS:-15}
ns=fuzz-nl
NLF=tests/fuzz/nlfuzz.py
n() { ip netns exec $ns "$@"; }
# nobody, with no capabilities at all (a command prefix: ip netns exec
# runs programs, not shell functions)
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all)
cleanup() { ip netns del $ns 2>/dev/null; }
trap cleanup EXIT

dgfs_load
ip netns add $ns && n ip link set lo up
check "namespace $ns" [ $? = 0 ]
d=$(scratch fuzz-nl)
mkdir -p "$d/sub"
for f in f0 f1 f2 sub/f3; do head -c $((RANDOM + 1)) /dev/urandom >"$d/$f"; done
ln -s /etc/passwd "$d/link-out"
ln -s f0 "$d/link-in"
chmod -R a+rX "$d"
ids=$(for f in f0 f1 f2 sub/f3; do sha256 "$d/$f"; done | paste -sd,)
check "root: a store and a chunk in $ns to start from" \
	n bash -c "$CTL store add main path $d && $CTL chunk add ${ids%%,*} store main file f0"

# 1. root
n python3 $NLF fuzz --seconds "$secs" --dir "$d" --ids "$ids" || fail "nlfuzz as root exited $?"

# 2. nobody, no capabilities, in the same namespace, with every chunk in
# place to be deleted (root's run may have left none)
n $CTL store add main path "$d" 2>/dev/null
for f in f0 f1 f2 sub/f3; do n $CTL chunk add "$(sha256 "$d/$f")" store main file $f 2>/dev/null; done
check "root: the state before nobody's run" bash -c "ip netns exec $ns python3 $NLF snapshot >/tmp/nl-before"
n "${nobody[@]}" python3 $NLF fuzz --seconds "$secs" --dir "$d" --ids "$ids" --expect-refused ||
	fail "nlfuzz as nobody exited $?"
check "root: the state after" bash -c "ip netns exec $ns python3 $NLF snapshot >/tmp/nl-after"
check "nobody changed nothing in $ns" cmp -s /tmp/nl-before /tmp/nl-after

# 3. nobody, root of a user and network namespace of its own
python3 $NLF snapshot >/tmp/nl-init-before
n python3 $NLF snapshot >/tmp/nl-before
n "${nobody[@]}" unshare -Urn python3 $NLF fuzz --seconds "$secs" --dir "$d" --ids "$ids" ||
	fail "nlfuzz as nobody in its own namespaces exited $?"
python3 $NLF snapshot >/tmp/nl-init-after
n python3 $NLF snapshot >/tmp/nl-after
check "... the initial namespace's state is unchanged" cmp -s /tmp/nl-init-before /tmp/nl-init-after
check "... $ns's state is unchanged" cmp -s /tmp/nl-before /tmp/nl-after

# Deleting the namespace frees whatever the fuzzing left in it.
cleanup
trap - EXIT
dgfs_unload
finish
