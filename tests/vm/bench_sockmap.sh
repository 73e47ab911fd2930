#!/usr/bin/env bash
# tests/bench/bench_sockmap.sh in the VM, on Debian's 6.1 (the kernel dgfs
# ships for), its table and rows in the VM's output directory:
#   tests/vm/vm.sh --out build/vm-sockmap tests/vm/bench_sockmap.sh
# Numbers, not a test (SOCKMAP_ROUNDS, SOCKMAP_SECS, SOCKMAP_CELLS pass on).
cd "$(dirname "$0")/../.."
SOCKMAP_OUT=$DGFS_OUT/sockmap tests/bench/bench_sockmap.sh build
