#!/bin/bash
# Smoke test for the VM harness: we are in the VM, on the 6.1 target kernel.
set -uo pipefail

echo "PASS: vm boots"
rel=$(uname -r)
case $rel in
6.1.*) echo "PASS: uname -r is $rel" ;;
*) echo "FAIL: uname -r is $rel, want 6.1.*"; exit 1 ;;
esac
