#!/usr/bin/env bash
# `make run`: bring up a storage host in the VM: dgfs.ko loaded and a store
# on the scratch disk, then hand the console to the operator.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${DGFS_BUILD:-build}

insmod "$BUILD/dgfs.ko"
mkdir -p /mnt/store
"$BUILD/dgfsctl" store add main path /mnt/store
cat <<MSG

dgfs storage host is up: dgfs.ko loaded, store "main" at /mnt/store.
Try:
  $BUILD/dgfsctl store show
  head -c 65536 /dev/urandom > /mnt/store/c1
  $BUILD/dgfsctl chunk add \$(sha256sum /mnt/store/c1 | cut -c1-64) store main file c1
  $BUILD/dgfsctl -j chunk show
  $BUILD/dgfsctl stats
Leave with 'exit' (the VM powers off).
MSG
