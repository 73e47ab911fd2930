#!/usr/bin/env bash
# Runs every dgfs test and ends with one line "N passed, N failed".
#   tests/run-all.sh BUILD_DIR
# Host: the unit tests (ASan+UBSan builds), the BPF tests on the host
# kernel, tests/net/ (network namespaces on the host, no module) and
# tests/dgfsd/ (dgfsd and its clients in a namespace, no module).
# VM: every tests/vm/test_*.sh in one boot of Debian's 6.1 kernel.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
logs=$build/test-logs
rm -rf "$logs" && mkdir -p "$logs"
passed=0 failed=0

# count LOG: add a log's PASS/FAIL lines to the totals.
count() {
	local p f
	p=$(grep -c '^PASS: ' "$1") f=$(grep -c '^FAIL: ' "$1")
	passed=$((passed + p)) failed=$((failed + f))
	grep '^FAIL: ' "$1" | sed "s|^|  $(basename "$1" .log): |"
	return 0
}

# run NAME CMD...: run one test program; a crash or a non-zero exit without
# a FAIL line of its own still counts as a failure.
run() {
	local name=$1 rc
	shift
	echo "== $name"
	"$@" >"$logs/$name.log" 2>&1 && rc=0 || rc=$?
	count "$logs/$name.log"
	if [[ $rc != 0 ]] && ! grep -q '^FAIL: ' "$logs/$name.log"; then
		echo "  $name: exited $rc without a FAIL line; last lines:"
		tail -n 15 "$logs/$name.log" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
}

for t in "$build"/unit/test_*; do
	[[ -x $t ]] && run "unit-$(basename "$t")" "$t"
done

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
run bpf-host tests/bpf/host.sh "$build"
for t in tests/bpf/test_*.sh tests/net/test_*.sh tests/dgfsd/test_*.sh; do
	[[ -x $t ]] && run "$(basename "$(dirname "$t")")-$(basename "$t" .sh)" "$t" "$build"
done

# The VM's console log repeats the scripts' lines; count the per-script
# logs the guest wrote instead.
echo "== vm"
start=$(date +%s)
vm_failed_before=$failed
tests/vm/vm.sh --out "$build/vm-run" tests/vm/test_*.sh >"$logs/vm.log" 2>&1 && rc=0 || rc=$?
for l in "$build"/vm-run/test_*.log; do
	[[ -f $l ]] && count "$l"
done
if [[ $rc != 0 && $failed == "$vm_failed_before" ]]; then
	echo "  vm: exited $rc without a FAIL line; last lines:"
	tail -n 25 "$logs/vm.log" | sed 's/^/    /'
	failed=$((failed + 1))
fi
echo "vm round: $(($(date +%s) - start)) s"

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
