#!/usr/bin/env bash
# dgfs's XDP program fuzzed on the host kernel (no dgfs.ko here): a
# million random and mutated frames through BPF_PROG_TEST_RUN, each judged
# against tests/fuzz/xdp_fuzz.c's reference, then a shorter round with
# another port and max_read in rodata. `make fuzz` runs far more.
#   tests/bpf/test_fuzz_xdp.sh BUILD_DIR
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
kernel_watch
build=${1:-build}
XF=$build/xdp_fuzz

if [[ ! -x $XF ]]; then
	fail "no $XF (tests/fuzz/fuzz.mk builds it)"
	finish
fi
$XF --frames 1000000 || fail "xdp_fuzz exited $?"
$XF --frames 200000 --port 9000 --max-read 4096 || fail "xdp_fuzz (port 9000, max_read 4096) exited $?"
finish
