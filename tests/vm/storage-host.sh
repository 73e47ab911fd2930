#!/usr/bin/env bash
# `make run`: bring up a whole storage host in the VM: dgfs.ko loaded, the
# XDP program on the virtio NIC, dgfsd serving HTTP on 8080 with its state
# on the scratch disk and the kernel fast path on UDP 7878; QEMU forwards
# both to the host's 127.0.0.1. Then hand the console to the operator.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${DGFS_BUILD:-build}
CTL=$BUILD/dgfsctl
HTTP_PORT=${DGFS_HTTP_PORT:-8080}
UDP_PORT=${DGFS_UDP_PORT:-7878}

modprobe -a $(modinfo -F depends "$BUILD/dgfs.ko" | tr , ' ')
insmod "$BUILD/dgfs.ko"
# The host reaches the guest through QEMU's forwards at 127.0.0.1, so that
# is the fast-path address manifests must name.
"$BUILD/dgfsd" --state-dir /mnt/dgfsd --kmod require --public-host 127.0.0.1 \
	>/tmp/dgfsd.log 2>&1 &
for _ in $(seq 50); do
	curl -sf -o /dev/null http://127.0.0.1:8080/healthz && break
	sleep 0.2
done
if ! curl -sf -o /dev/null http://127.0.0.1:8080/healthz; then
	cat /tmp/dgfsd.log
	echo "dgfsd did not start"
	exit 1
fi
# virtio_net may lack the queues native XDP wants: fall back to skb mode.
$CTL xdp attach eth0 mode native 2>/dev/null || $CTL xdp attach eth0 mode skb
head -c $((5 << 20)) /dev/urandom >/tmp/demo.bin
curl -sf -o /dev/null -T /tmp/demo.bin http://127.0.0.1:8080/files/demo.bin
cat <<MSG

dgfs storage host is up: dgfs.ko loaded, XDP on eth0 ($($CTL xdp show eth0)),
dgfsd serving (log: /tmp/dgfsd.log, state: /mnt/dgfsd), a demo file demo.bin.
From another terminal on the host:
  curl http://127.0.0.1:$HTTP_PORT/files/                        # list
  curl -T FILE http://127.0.0.1:$HTTP_PORT/files/NAME            # upload
  curl -o OUT http://127.0.0.1:$HTTP_PORT/files/NAME             # download
  $BUILD/dgfs get --server http://127.0.0.1:$HTTP_PORT --fast-port $UDP_PORT demo.bin /tmp/demo.bin
  $BUILD/dgfs put --server http://127.0.0.1:$HTTP_PORT FILE NAME
(dgfs get reads the chunks over UDP through QEMU's forward into the NIC's XDP
program and dgfs.ko.) Metrics: http://127.0.0.1:$HTTP_PORT/metrics
Here: $CTL stats | $CTL -j chunk show | $CTL store show
Leave with 'exit' (the VM powers off).
MSG
