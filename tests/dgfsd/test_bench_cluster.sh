#!/usr/bin/env bash
# `make bench-cluster`'s host parts in short, so that they cannot rot:
# tests/vm/bench_cluster.sh on the host (clusters of 1 and 3 hosts, 3
# clients, 2 files of 1 MiB, one round), tests/dgfsd/bench_meta.sh with 40
# files and 20 samples, and tests/dgfsd/bench_repair.sh with 16 MB and one
# round. The numbers are not judged (a busy host), only that every row has
# sane ones: a timed cell and a table row for each cluster and mode; each
# metadata operation measured on both backends, p99 >= p50 > 0; the repair
# row with the dead host's bytes copied and a rate. Their own output is
# shown indented (their PASS lines are theirs, not this test's). The VM's
# variant (dgfs.ko, XDP) is not run here: under TCG it takes minutes.
#   tests/dgfsd/test_bench_cluster.sh BUILD_DIR      (as root)
# expect-checks: 9
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
BUILD=${1:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

mkdir -p "$T/reads"
BENCH_OUT=$T/reads BENCH_HOSTS="1 3" BENCH_CLIENTS=3 BENCH_FILES=2 BENCH_FILE_MB=1 BENCH_ROUNDS=1 \
	tests/vm/bench_cluster.sh "$BUILD" >"$T/reads/log" 2>&1 && rc=0 || rc=$?
sed 's/^/    /' "$T/reads/log"
same "bench_cluster.sh on the host: exit 0, no FAIL line" "$rc $(grep -c '^FAIL' "$T/reads/log")" "0 0"
same "... a timed cell for each cluster and mode, each with a positive time" \
	"$(awk '$5 > 0 { print $2, $3 }' "$T/reads/results" | sort | tr '\n' ' ')" \
	"1 curl 1 fast 1 http-get 3 curl 3 fast 3 http-get "
same "... a table row for each, with a rate" \
	"$(grep -cE '^\| [13] \| (fast|http-get|curl) \| [0-9]+\.[0-9] \|' "$T/reads/log")" 6

BENCH_META_FILES=40 BENCH_META_SAMPLES=20 tests/dgfsd/bench_meta.sh "$BUILD" >"$T/meta" 2>&1 &&
	rc=0 || rc=$?
sed 's/^/    /' "$T/meta"
same "bench_meta.sh: exit 0, no FAIL line" "$rc $(grep -c '^FAIL' "$T/meta")" "0 0"
# | op | SQLite p50 | p99 | PG p50 | p99 | ratio | CPU | CPU + CPU |
rows() {
	python3 - "$1" <<'PY'
import re, sys
ok = []
for line in open(sys.argv[1]):
    c = [x.strip() for x in line.strip().strip("|").split("|")]
    if len(c) != 8 or c[0] not in ("commit", "tag", "manifest", "stat", "list", "search"):
        continue
    v = [float(re.sub(r"[^0-9.]", "", x)) for x in c[1:5]]
    if 0 < v[0] <= v[1] and 0 < v[2] <= v[3]:
        ok.append(c[0])
print(" ".join(ok))
PY
}
same "... a row with sane p50 and p99 on both backends for every operation" "$(rows "$T/meta")" \
	"commit tag manifest stat list search"
shows "... and the load average printed" '^load average [0-9.]+ [0-9.]+ [0-9.]+ at the start' cat "$T/meta"

BENCH_REPAIR_MB=16 BENCH_ROUNDS=1 BENCH_REPAIR_RATES=100000 tests/dgfsd/bench_repair.sh "$BUILD" \
	>"$T/repair" 2>&1 && rc=0 || rc=$?
sed 's/^/    /' "$T/repair"
same "bench_repair.sh: exit 0, no FAIL line" "$rc $(grep -c '^FAIL' "$T/repair")" "0 0"
# | 100000 MB/s | MB | down | first copy | repaired | MB/s | MB/s | rounds |
same "... a row: the dead host's megabytes copied at a positive rate, one round" \
	"$(awk -F'|' '$2 ~ /100000 MB\/s/ { printf "%d %d %s", ($3 > 0), ($7 > 0), $9 + 0 }' "$T/repair")" "1 1 1"
shows "... and its line says the owner copied them" 'repaired .* the owner copied [1-9]' cat "$T/repair"
finish
