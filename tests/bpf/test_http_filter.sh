#!/usr/bin/env bash
# dgfsd's HTTP filter (bpf/http_filter.bpf.c) through BPF_PROG_TEST_RUN on
# the host kernel: crafted frames, the clock under the test's control, and
# 200000 mutated frames against a reference classifier, a new seed each run
# (printed; HTTP_FILTER_SEED=S repeats one) (build/http_filter_test; its
# PASS/FAIL lines are this test's checks).
#   tests/bpf/test_http_filter.sh BUILD_DIR
# expect-checks: 83 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
kernel_watch
build=${1:-build}

"$build/http_filter_test" && rc=0 || rc=$?
same "http_filter_test exits 0" "$rc" 0
refuse "http_filter_test refuses a bad option" 2 usage "$build/http_filter_test" --bench 0
# Mutated and cut frames against a reference classifier (its own PASS line).
"$build/http_filter_test" --fuzz 200000 --seed "${HTTP_FILTER_SEED:-$RANDOM}" && rc=0 || rc=$?
same "http_filter_test --fuzz exits 0" "$rc" 0
# The benchmark's cases, briefly: each must give the verdict it claims.
"$build/http_filter_test" --bench 10000 >/dev/null && rc=0 || rc=$?
same "http_filter_test --bench 10000: every case's verdict as named" "$rc" 0
finish
