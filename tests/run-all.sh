#!/usr/bin/env bash
# Runs every dgfs test and ends with one line "N passed, N failed".
#   tests/run-all.sh [--only KIND]... [BUILD_DIR]
# KIND (repeatable; default all): unit, bpf, net, dgfsd, fuzz, tagger, web, vm.
# Host: the unit tests (ASan+UBSan builds), the BPF tests on the host
# kernel, tests/net/ (network namespaces on the host, no module) and
# tests/dgfsd/ (dgfsd and its clients in a namespace, no module),
# tests/tagger/ (dgfs-tagger on files the tests write) and
# tests/fuzz/test_*.sh (libFuzzer targets of dgfsd's and the client's
# parsers, briefly) and tests/web/ (dgfsd's web UI, in headless Chromium).
# VM: every tests/vm/test_*.sh in one boot of Debian's 6.1 kernel.
#
# What counts (docs/TESTING.md): every "PASS: " and "FAIL: " line. A test
# program also fails, once, for each of these: it exited non-zero without
# a FAIL line; it printed fewer checks than its source file declares with
# a line "expect-checks: N" (in a comment; without one, at least 1: a test
# that checks nothing is no pass); its output holds a sanitizer report;
# its unit binary is missing; its host script has no run bit; a VM script
# left no log or no exit status.
set -uo pipefail
cd "$(dirname "$0")/.."
kinds=()
while [[ ${1:-} == --only ]]; do
	case ${2:-} in
	unit | bpf | net | dgfsd | fuzz | tagger | web | vm) kinds+=("$2") ;;
	*) echo "usage: $0 [--only unit|bpf|net|dgfsd|fuzz|tagger|web|vm]... [BUILD_DIR]" >&2; exit 2 ;;
	esac
	shift 2
done
build=${1:-build}
logs=$build/test-logs
rm -rf "$logs" && mkdir -p "$logs"
passed=0 failed=0
shopt -s nullglob

# Sanitized programs halt at UB (-fno-sanitize-recover); this covers one
# built without that flag.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
SAN_REPORT='runtime error:|ERROR: [A-Za-z]+Sanitizer|SUMMARY: [A-Za-z]+Sanitizer'

want() { ((${#kinds[@]} == 0)) || [[ " ${kinds[*]} " == *" $1 "* ]]; }

# problem NAME WHY: one failure that is no FAIL line of the test's own.
problem() {
	echo "  $1: $2"
	failed=$((failed + 1))
}

# expected_checks SOURCE: the fewest checks SOURCE's program may print.
expected_checks() {
	local n
	n=$(grep -m1 -oE 'expect-checks: *[0-9]+' "$1" | grep -oE '[0-9]+$')
	echo "${n:-1}"
}

# judge NAME SOURCE LOG STATUS [NOT_A_CHECK]: add LOG's PASS/FAIL lines to
# the totals and fail what the top of this file says. NOT_A_CHECK: an
# extended regex of PASS/FAIL lines counted but not as the test's own
# checks (the VM harness's dmesg line).
judge() {
	local name=$1 src=$2 log=$3 rc=$4 skip=${5:-'^$'} p f own min bad=0
	p=$(grep -ac '^PASS: ' "$log") f=$(grep -ac '^FAIL: ' "$log")
	passed=$((passed + p)) failed=$((failed + f))
	grep -a '^FAIL: ' "$log" | sed "s|^|  $name: |"
	own=$(grep -aE '^(PASS|FAIL): ' "$log" | grep -aEvc -- "$skip")
	min=$(expected_checks "$src")
	if [[ $rc != 0 ]] && ((f == 0)); then
		problem "$name" "exited $rc without a FAIL line"; bad=1
	fi
	if ((own < min)); then
		problem "$name" "printed $own checks; $src expects at least $min"; bad=1
	fi
	if grep -aEq "$SAN_REPORT" "$log"; then
		problem "$name" "a sanitizer report:"
		grep -aE -m2 -A8 "$SAN_REPORT" "$log" | sed 's/^/    /'
		bad=1
	fi
	if ((bad)); then
		echo "  $name: last lines of $log:"
		tail -n 15 "$log" | sed 's/^/    /'
	fi
	return 0
}

# run NAME SOURCE CMD...: run one test program and judge it.
run() {
	local name=$1 src=$2 rc
	shift 2
	echo "== $name"
	"$@" >"$logs/$name.log" 2>&1 && rc=0 || rc=$?
	judge "$name" "$src" "$logs/$name.log" "$rc"
}

if want unit; then
	for src in tests/unit/test_*.c; do
		t=$build/unit/$(basename "$src" .c)
		if [[ -x $t ]]; then
			run "unit-$(basename "$t")" "$src" "$t"
		else
			echo "== unit-$(basename "$t")"
			problem "unit-$(basename "$t")" "$t is missing (make test builds it)"
		fi
	done
fi

# host_script KIND SCRIPT: one host test script, which must be executable.
host_script() {
	local name
	name=$1-$(basename "$2" .sh)
	if [[ -x $2 ]]; then
		run "$name" "$2" "$2" "$build"
	else
		echo "== $name"
		problem "$name" "$2 is not executable (chmod +x; it did not run)"
	fi
}
if want bpf; then
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	host_script bpf tests/bpf/host.sh
	for t in tests/bpf/test_*.sh; do host_script bpf "$t"; done
fi
for kind in net dgfsd fuzz tagger web; do
	want $kind || continue
	for t in tests/$kind/test_*.sh; do host_script $kind "$t"; done
done

# The VM's console log repeats the scripts' lines; count the per-script
# logs the guest wrote instead, each script's own (a log left from an
# earlier run must not count: the directory is emptied first).
if want vm; then
	echo "== vm"
	start=$(date +%s)
	vm_failed_before=$failed
	vmout=$build/vm-run
	scripts=(tests/vm/test_*.sh)
	rm -rf "$vmout"
	# One boot for all scripts: the unload and access tests alone take
	# minutes under TCG, so the round gets more than vm.sh's default.
	VM_TIMEOUT=${VM_TIMEOUT:-3000} tests/vm/vm.sh --out "$vmout" "${scripts[@]}" \
		>"$logs/vm.log" 2>&1 && rc=0 || rc=$?
	for s in "${scripts[@]}"; do
		name=vm-$(basename "$s" .sh)
		log=$vmout/$(basename "$s" .sh).log
		vrc=$(awk -v s="$s" '$2 == s { print $1 }' "$vmout/status" 2>/dev/null)
		if [[ ! -f $log ]]; then
			problem "$name" "no log: it never ran (the VM crashed or timed out?)"
		elif [[ -z $vrc ]]; then
			judge "$name" "$s" "$log" 0 'dmesg clean after'
			problem "$name" "no exit status: it did not finish (the VM crashed or timed out?)"
		else
			judge "$name" "$s" "$log" "$vrc" 'dmesg clean after'
		fi
	done
	if [[ $rc != 0 && $failed == "$vm_failed_before" ]]; then
		problem vm "tests/vm/vm.sh exited $rc without a FAIL line; last lines:"
		tail -n 25 "$logs/vm.log" | sed 's/^/    /'
	fi
	echo "vm round: $(($(date +%s) - start)) s"
fi

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
