#!/usr/bin/env bash
# `make fuzz`'s VM round: the VM fuzz scripts, longer than `make test` runs
# them (tests/vm/vm.sh runs this as one script and checks dmesg after it).
set -u
cd "$(dirname "$0")/../.."
rc=0
FUZZ_FRAMES=${FUZZ_FRAMES:-1000000} tests/vm/test_fuzz_xdp.sh || rc=1
FUZZ_SECONDS=${FUZZ_SECONDS:-120} tests/vm/test_fuzz_netlink.sh || rc=1
exit $rc
