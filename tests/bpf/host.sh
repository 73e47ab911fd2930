#!/usr/bin/env bash
# BPF tests on the host kernel (no dgfs.ko here): the kfunc-calling test
# program must load without the module and run through BPF_PROG_TEST_RUN.
# expect-checks: 5 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
kernel_watch
build=${1:-build}
kt=$build/kfunc_test
id=$(printf '%064d' 7)

same "kfunc program loads and runs without dgfs.ko" "$($kt "$id")" nokmod
same "kfunc program aborts on a runt packet" "$($kt short)" aborted
same "kfunc program runs 2x50000 times" "$($kt --threads 2 --repeat 50000 "$id")" "runs 100000"
refuse "asking for the kfunc without dgfs.ko fails cleanly" 1 "is dgfs.ko loaded" $kt --kmod "$id"
refuse "kfunc_test rejects a malformed id" 2 usage $kt abc
finish
