#!/usr/bin/env bash
# dgfsd --af-xdp on Debian's 6.1 kernel: tests/net/test_dgfsd_afxdp.sh in
# the guest (veth, copy mode), with dgfsd's plain build (ASan under TCG is
# too slow for its start-up waits). Here libxdp can use its dispatcher
# (the host's kernel refuses freplace: tests/vm/test_http_filter.sh), so
# what a SIGKILL leaves is the dispatcher with its links pinned in bpffs,
# not a lone program.
# expect-checks: 48 (tests/run-all.sh: a run that prints fewer fails; in the VM
# round no "dmesg clean after" line counts, the net test's own among them)
set -u
cd "$(dirname "$0")/../.."
BUILD=${DGFS_BUILD:-build}
DGFSD=${DGFSD:-$BUILD/dgfsd} exec tests/net/test_dgfsd_afxdp.sh "$BUILD"
