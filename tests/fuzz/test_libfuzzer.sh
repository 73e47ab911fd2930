#!/usr/bin/env bash
# The libFuzzer targets of dgfsd's and the client's parsers
# (tests/fuzz/dgfsd/fuzz_*.c, built by `make test` into BUILD/fuzz/): each
# runs its seed corpus (tests/fuzz/corpus/NAME/) and the inputs that once
# failed it (tests/fuzz/regressions/NAME/, if any), then mutates for
# LIBFUZZER_SECONDS (default 10) or LIBFUZZER_RUNS inputs (default 2
# million; -1: no limit), whichever ends first. One PASS or FAIL per target. A crash, a leak, a sanitizer report,
# a failed check of the target's own, a timeout or running out of memory is
# a FAIL; the input that did it is kept as BUILD/fuzz/crashes/NAME-*, and the
# fuzzer's output as BUILD/fuzz/logs/NAME.log.
#   tests/fuzz/test_libfuzzer.sh [BUILD_DIR]
# Reproduce a FAIL: BUILD/fuzz/fuzz_NAME BUILD/fuzz/crashes/NAME-<kind>-<sha1>
# expect-checks: 8
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
secs=${LIBFUZZER_SECONDS:-10}
runs=${LIBFUZZER_RUNS:-2000000}
mkdir -p "$build/fuzz/crashes" "$build/fuzz/logs"
for src in tests/fuzz/dgfsd/fuzz_*.c; do
	bin=$build/fuzz/$(basename "$src" .c)
	name=${bin##*/fuzz_}
	seeds=tests/fuzz/corpus/$name
	log=$build/fuzz/logs/$name.log
	if [[ ! -x $bin ]]; then
		echo "FAIL: fuzz $name: $bin is missing (make test builds it)"
		continue
	fi
	if [[ ! -d $seeds ]] || [[ -z $(ls -A "$seeds") ]]; then
		echo "FAIL: fuzz $name: no seed corpus in $seeds"
		continue
	fi
	# New inputs go to a scratch corpus; the committed seeds stay as they are.
	work=$build/fuzz/corpus/$name
	mkdir -p "$work"
	rm -f "$build/fuzz/crashes/$name"-*
	# dgfsd's config parser says why for every line it refuses: millions
	# of lines. Closing the target's stderr keeps them out; libFuzzer and
	# the sanitizers still report on a descriptor of their own.
	regressions=()
	[[ -d tests/fuzz/regressions/$name ]] && regressions=("tests/fuzz/regressions/$name")
	quiet=()
	[[ $name == config ]] && quiet=(-close_fd_mask=2)
	"$bin" "${quiet[@]}" -max_total_time="$secs" -runs="$runs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$build/fuzz/crashes/$name-" \
		"$work" "$seeds" "${regressions[@]}" >"$log" 2>&1 && rc=0 || rc=$?
	crashes=$(ls "$build/fuzz/crashes/$name"-* 2>/dev/null)
	execs=$(grep -m1 -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
	if ((rc == 0)) && [[ -z $crashes ]] && ((${execs:-0} > 0)); then
		echo "PASS: fuzz $name: $execs inputs in ${secs} s at most, no crash, leak or report"
	else
		echo "FAIL: fuzz $name: exit $rc, ${execs:-no} inputs run; input kept: ${crashes:-none}; log: $log"
		grep -m1 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|fuzz_[a-z]+: )' "$log" | sed 's/^/    /'
	fi
done
