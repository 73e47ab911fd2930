#!/usr/bin/env bash
# `make run`: bring up a whole storage host in the VM: dgfs.ko loaded, the
# XDP program on the virtio NIC, dgfsd serving HTTP on 8080 with its state
# on the scratch disk and the kernel fast path on UDP 7878; QEMU forwards
# both to the host's 127.0.0.1. Then print the admin key dgfsd made, and
# how to use it, and hand the console to the operator.
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
# Every request but /healthz needs a key: the first start wrote an admin key.
KEY=$(cat /mnt/dgfsd/admin.key)
head -c $((5 << 20)) /dev/urandom >/tmp/demo.bin
curl -sf -o /dev/null -H "Authorization: Bearer $KEY" -T /tmp/demo.bin \
	http://127.0.0.1:8080/files/demo.bin
# A small corpus under samples/, tagged by dgfsd as it comes in.
tests/vm/sample-corpus.sh /tmp/samples
for f in /tmp/samples/*; do
	curl -sf -o /dev/null -H "Authorization: Bearer $KEY" -T "$f" \
		"http://127.0.0.1:8080/files/samples/${f##*/}"
done
READ=$("$BUILD/dgfsd" key add --state-dir /mnt/dgfsd --scope read --name demo-reader 2>/dev/null)
U=http://127.0.0.1:$HTTP_PORT
cat <<MSG

dgfs storage host is up: dgfs.ko loaded, XDP on eth0 ($($CTL xdp show eth0)),
dgfsd serving (log: /tmp/dgfsd.log, state: /mnt/dgfsd), a demo file demo.bin
and a tagged sample corpus under samples/ (texts in English and Chinese, a
photo with EXIF, an image with text, a spoken MP3, a PDF).

The web UI: open $U/ in a browser and sign in with the admin key below.

Every request but /healthz needs an API key. The admin key (from
/mnt/dgfsd/admin.key; it may read, write and manage keys) and a read-only key:
  export DGFS_API_KEY=$KEY
  READ_KEY=$READ
From another terminal on the host, after that export:
  curl -H "Authorization: Bearer \$DGFS_API_KEY" $U/files/                 # list
  curl -H "Authorization: Bearer \$DGFS_API_KEY" -T FILE $U/files/NAME     # upload
  curl -H "Authorization: Bearer \$READ_KEY" -o OUT $U/files/NAME          # download
  $BUILD/dgfs get --server $U --fast-port $UDP_PORT demo.bin /tmp/demo.bin  # dgfs sends \$DGFS_API_KEY
  $BUILD/dgfs put --server $U FILE NAME
  $BUILD/dgfs presign --server $U demo.bin      # a URL curl or a browser opens without a key
  $BUILD/dgfs tag ls --server $U samples/pond.jpg
  $BUILD/dgfs search --server $U 'garden -type=audio'   # tags and full text
  curl -H "Authorization: Bearer \$DGFS_API_KEY" -d '{"scope":"write","prefix":"photos"}' $U/keys
(dgfs get reads the chunks over UDP through QEMU's forward into the NIC's XDP
program and dgfs.ko.) Metrics: curl -H "Authorization: Bearer \$READ_KEY" $U/metrics
Here: $BUILD/dgfsd key list|add|revoke --state-dir /mnt/dgfsd
      $CTL stats | $CTL -j chunk show | $CTL store show
Leave with 'exit' (the VM powers off).
MSG
