#!/usr/bin/env bash
# `make bench`'s code in short, so that it cannot rot: tests/bench/bench.sh's
# host part with --quick (1 s runs, one round) with dgfs.ko loaded, so that
# every server it measures runs: dgfs.ko (through its socket), dgfsd's UDP
# tier, dgfsd over HTTP and nginx, on 4 KiB and 1 MiB files; then one scale
# step (10^3 chunks) and the report with its doc section and plot. The
# numbers themselves are not judged (TCG), only that each is sane.
# expect-checks: 18 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

dgfs_load
out=/tmp/bench-smoke
r=$out/results.jsonl
lookups=100000
# /mnt: dgfsd's chunk files on a disk, as the module serves them (not tmpfs).
check "bench.sh --quick --host-only runs" env BENCH_OUT=$out BENCH_TMP=/mnt \
	BENCH_LOOKUPS=$lookups tests/bench/bench.sh --quick --host-only --no-doc "$BUILD"
for s in kernel dgfsd-udp dgfsd-http nginx; do
	for w in 4k 1m; do
		same "$s, $w: every cell has sane numbers" \
			"$(python3 tests/bench/report.py "$r" --sanity host $s $w)" ok
	done
done
lookup=$(grep '"kind": "lookup"' "$r")
same "scale: 1000 chunks in the index" "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["chunks"])' "$lookup")" 1000
same "scale: every lookup of a registered id hits" \
	"$(python3 -c 'import json,sys; x = json.loads(sys.argv[1]); print(x["hits"], x["misses"])' "$lookup")" "$lookups 0"
# bench_settle: the fill was followed by a wait of whole seconds, one busy
# figure each, that ended idle (under 10%) or at its bound (120 s).
same "scale: the lookups waited for an idle machine after the fill" \
	"$(python3 -c 'import json,sys; x = json.loads(sys.argv[1]); s, t = x["settle_s"], x["settle_busy_pct"]
print("ok" if 1 <= s <= 120 and len(t) == s and (t[-1] < 10 or s == 120) else (s, t))' "$lookup")" ok

# The report: a row per server and concurrency in each workload's table,
# the doc's section replaced (and nothing around it), a PNG.
python3 tests/bench/report.py "$r" >/tmp/bench-smoke.md
same "report: 2 tables of 2 concurrencies x 4 servers" \
	"$(grep -cE '^\| (1|4) \| (dgfs.ko \+ XDP|dgfsd UDP tier|dgfsd HTTP|nginx) \|' /tmp/bench-smoke.md)" 16
cp docs/BENCHMARKS.md /tmp/doc.md
python3 tests/bench/report.py "$r" --doc /tmp/doc.md --png /tmp/bench-smoke.png --plot-dir "$out" >/dev/null
same "report: the doc's section replaced, the rest kept" \
	"$(sed '/<!-- bench:begin -->/,/<!-- bench:end -->/d' /tmp/doc.md | sha256sum)" \
	"$(sed '/<!-- bench:begin -->/,/<!-- bench:end -->/d' docs/BENCHMARKS.md | sha256sum)"
same "report: the plot is a PNG" "$(head -c 4 /tmp/bench-smoke.png | tail -c 3)" PNG
dgfs_unload
finish
