#!/usr/bin/env bash
# dgfs-userd --af-xdp on Debian's 6.1 kernel: tests/net/test_afxdp.sh in
# the guest (veth, copy mode). 6.1 tells where it has read the AF_XDP TX
# ring only after sending all it saw (userspace/server/xsk.c, "Rings");
# the host's kernel tells after every sendto(), so a sender that writes
# over a ring that looks full stalls here and not there.
# expect-checks: 42 (tests/run-all.sh: a run that prints fewer fails; in the VM
# round no "dmesg clean after" line counts, the net test's own among them)
set -u
cd "$(dirname "$0")/../.."
exec tests/net/test_afxdp.sh "${DGFS_BUILD:-build}"
