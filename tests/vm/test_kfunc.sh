#!/usr/bin/env bash
# An XDP program calling dgfs.ko's kfunc loads and runs (BPF_PROG_TEST_RUN
# on the 6.1 kernel), and sees the index as netlink changes it.
# expect-checks: 13 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
refuse "the kfunc program needs the module" 1 "is dgfs.ko loaded" $KFUNC_TEST --kmod "$(printf '%064d' 1)"
dgfs_load
root=$(scratch kfunc)
head -c 12345 /dev/urandom >"$root/c"
id=$(sha256 "$root/c")
$CTL store add k path "$root"

same "the same object still loads without calling the module" "$($KFUNC_TEST "$id")" nokmod
same "kfunc: unknown chunk" "$($KFUNC_TEST --kmod "$id")" "missing -2"
check "chunk add" $CTL chunk add "$id" store k file c
same "kfunc: chunk size" "$($KFUNC_TEST --kmod "$id")" "size 12345"
lookups=$(stat_value lookups)
same "kfunc: 2 threads x 10000 runs" "$($KFUNC_TEST --kmod --threads 2 --repeat 10000 "$id")" "runs 20000"
same "kfunc lookups are counted" "$(($(stat_value lookups) - lookups))" 20000
check "chunk del" $CTL chunk del "$id"
same "kfunc: deleted chunk" "$($KFUNC_TEST --kmod "$id")" "missing -2"
same "kfunc: runt packet" "$($KFUNC_TEST --kmod short)" aborted
dgfs_unload
finish
