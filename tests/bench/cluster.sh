#!/usr/bin/env bash
# `make bench-cluster`: issue 14's benchmarks of a cluster, in one command
# (docs/BENCHMARKS.md, "Many hosts"). Numbers, not a test.
#   reads   aggregate read throughput with 1, 3 and 5 hosts, fast path and
#           HTTP, in the VM (tests/vm/bench_cluster.sh, one boot)
#   reads-host  the same on the host, without dgfs.ko (the fast path is
#           dgfsd's userspace UDP tier): quicker than TCG
#   meta    metadata latency, SQLite against PostgreSQL, on the host
#           (tests/dgfsd/bench_meta.sh)
#   repair  repair speed after a host is killed, on the host
#           (tests/dgfsd/bench_repair.sh)
# The host's load average is printed before and after each part.
#
#   tests/bench/cluster.sh [--only reads|reads-host|meta|repair]... [--quick] [BUILD]
#
# --quick: each part small and short (a check that it runs, not numbers).
# The parts' own BENCH_* variables pass through (the VM's through the file
# bench-cluster.env in its output directory, BUILD/bench-cluster).
set -u
cd "$(dirname "$0")/../.."
parts=() quick=0
while (($#)); do
	case $1 in
	--only)
		case ${2:-} in reads | reads-host | meta | repair) parts+=("$2") ;;
		*) echo "--only reads|reads-host|meta|repair" >&2; exit 2 ;; esac
		shift 2 ;;
	--quick) quick=1; shift ;;
	-*) echo "usage: $0 [--only reads|reads-host|meta|repair]... [--quick] [BUILD]" >&2; exit 2 ;;
	*) break ;;
	esac
done
BUILD=${1:-build}
((${#parts[@]})) || parts=(reads reads-host meta repair)
if ((quick)); then
	export BENCH_ROUNDS=${BENCH_ROUNDS:-1}
	export BENCH_HOSTS=${BENCH_HOSTS:-"1 3"} BENCH_FILES=${BENCH_FILES:-2} BENCH_FILE_MB=${BENCH_FILE_MB:-1}
	export BENCH_CLIENTS=${BENCH_CLIENTS:-2}
	export BENCH_META_FILES=${BENCH_META_FILES:-60} BENCH_META_SAMPLES=${BENCH_META_SAMPLES:-30}
	export BENCH_REPAIR_MB=${BENCH_REPAIR_MB:-12}
fi
load() { echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) ($1)"; }
echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) CPUs, $(date -u +%FT%RZ)"
rc=0
for p in "${parts[@]}"; do
	echo "== $p"
	load "before $p"
	case $p in
	reads)
		out=$BUILD/bench-cluster
		mkdir -p "$out"
		# The guest's settings: the BENCH_* variables set here.
		env | grep -E '^BENCH_(HOSTS|MODES|ROUNDS|CLIENTS|FILES|FILE_MB)=' |
			sed -E "s/^([A-Z_]+)=(.*)$/\1='\2'/" >"$out/bench-cluster.env"
		# The console shows the guest's lines as they come; its log keeps them
		# ($out/bench_cluster.log).
		VM_TIMEOUT=${VM_TIMEOUT:-1800} tests/vm/vm.sh --out "$out" tests/vm/bench_cluster.sh || rc=1
		;;
	reads-host) tests/vm/bench_cluster.sh "$BUILD" || rc=1 ;;
	meta) tests/dgfsd/bench_meta.sh "$BUILD" || rc=1 ;;
	repair) tests/dgfsd/bench_repair.sh "$BUILD" || rc=1 ;;
	esac
	load "after $p"
done
exit "$rc"
