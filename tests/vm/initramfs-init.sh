#!/bin/sh
# /init of the test VM (busybox): load the virtio-9p modules, mount the
# host's root read-only and make it the root with switch_root (not chroot:
# inside a chroot unshare(CLONE_NEWUSER) fails for everyone, and tests need
# unprivileged users with namespaces of their own), then go on in
# guest-init.sh.
# dgfs_repo comes from the kernel command line as an environment variable.
set -e
while read -r m; do insmod "/lib/modules/$m"; done < /lib/modules/order
# cache=loose: every exec reads binaries and libraries over 9p; caching
# them halves the round. The price: host files changed while the VM runs
# may look stale inside.
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /host
exec switch_root /host /bin/bash "${dgfs_repo:?}/tests/vm/guest-init.sh"
