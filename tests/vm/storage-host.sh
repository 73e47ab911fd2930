#!/usr/bin/env bash
# `make run`: bring up a storage host in the VM (dgfs.ko loaded, a store on
# the scratch disk, a key, the XDP program on the virtio NIC), then hand the
# console to the operator.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${DGFS_BUILD:-build}
CTL=$BUILD/dgfsctl

modprobe -a $(modinfo -F depends "$BUILD/dgfs.ko" | tr , ' ')
insmod "$BUILD/dgfs.ko"
mkdir -p /mnt/store
$CTL store add main path /mnt/store
key=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
$CTL config set key "$key"
# virtio_net may lack the queues native XDP wants: fall back to skb mode.
$CTL xdp attach eth0 mode native 2>/dev/null || $CTL xdp attach eth0 mode skb
head -c 1048576 /dev/urandom >/mnt/store/demo
id=$(sha256sum /mnt/store/demo | cut -c1-64)
$CTL chunk add "$id" store main file demo
cat <<MSG

dgfs storage host is up: dgfs.ko loaded, store "main" at /mnt/store,
XDP on eth0 ($($CTL xdp show eth0)), one demo chunk:
  $id
The host reaches the fast path at 127.0.0.1:${DGFS_UDP_PORT:-7878} (QEMU forwards it; the
guest sees requests from 10.0.2.2, so tokens are minted for that address).
From another terminal on the host:
  t=\$($BUILD/dgfs token --key $key --addr 10.0.2.2 $id)
  $BUILD/dgfs fetch --token \${t% *} --expiry \${t#* } -o /tmp/demo 127.0.0.1 $id
Here: $CTL stats | $CTL -j chunk show | $CTL store show
Leave with 'exit' (the VM powers off).
MSG
