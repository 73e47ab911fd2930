#!/usr/bin/env bash
# Numbers, not a test: dgfsd on the host (no module, so the fast path is
# dgfsd's userspace UDP tier), client and server in one namespace over
# loopback. Prints MB/s for uploads (curl, dgfs put) and downloads (curl,
# aria2c -x8, dgfs get over HTTP only, dgfs get over the fast path), and
# dgfs get's ratio against curl, the alternative a user would pick.
#   tests/dgfsd/bench_http.sh BUILD_DIR [SIZE_MIB]      (as root; make bench-dgfsd)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
# The plain build: numbers are about dgfsd, not the sanitizers.
DGFSD=${1:-build}/dgfsd
dgfsd_setup "${1:-build}"
size_mib=${2:-256}
STATE=${DGFSD_BENCH_STATE:-$T/state}

dgfsd_start || { fail "dgfsd starts"; finish; }
head -c $((size_mib << 20)) /dev/urandom >"$T/src"
sync

# secs CMD...: wall-clock seconds of CMD, best of 3 runs.
secs() {
	local best= s e t i
	for i in 1 2 3; do
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; echo 0; return; }
		e=$(date +%s.%N)
		t=$(echo "$e - $s" | bc -l)
		if [[ -z $best ]] || (($(echo "$t < $best" | bc -l))); then best=$t; fi
	done
	echo "$best"
}
mbs() { echo "scale=1; $size_mib / $1" | bc -l; }

# Each upload under a new name, so each stores the file (no dedup) ...
k=0
up_curl() { k=$((k + 1)); n curl -sf -o /dev/null -T "$T/src" "$URL/files/bench/c$k$RANDOM"; }
t_up_curl=$(secs up_curl)
# ... except dgfs put, whose point is dedup: time a first put of new data.
for i in 1 2 3; do head -c $((size_mib << 20)) /dev/urandom >"$T/new$i"; done
j=0
up_dgfs() { j=$((j + 1)); n "$DGFS" -q --server "$URL" put "$T/new$j" "bench/p$j"; }
t_up_dgfs=$(secs up_dgfs)
n curl -sf -o /dev/null -T "$T/src" "$URL/files/bench/file"
t_curl=$(secs n curl -sf -o "$T/out" "$URL/files/bench/file")
t_aria=$(secs n aria2c -q -x8 -s8 -k1M --allow-overwrite=true -d "$T" -o out2 "$URL/files/bench/file")
t_http=$(secs n "$DGFS" -q --server "$URL" get --http-only bench/file "$T/out3")
t_fast=$(secs n "$DGFS" -q --server "$URL" get --no-fallback bench/file "$T/out4")
cmp -s "$T/src" "$T/out4" || echo "WARNING: dgfs get output differs"

printf '%-44s %8s\n' "run ($size_mib MiB, best of 3)" "MB/s"
printf '%-44s %8s\n' "upload: curl -T" "$(mbs "$t_up_curl")"
printf '%-44s %8s\n' "upload: dgfs put (new data, zstd, -j 8)" "$(mbs "$t_up_dgfs")"
printf '%-44s %8s\n' "download: curl" "$(mbs "$t_curl")"
printf '%-44s %8s\n' "download: aria2c -x8" "$(mbs "$t_aria")"
printf '%-44s %8s\n' "download: dgfs get --http-only" "$(mbs "$t_http")"
printf '%-44s %8s\n' "download: dgfs get (UDP tier)" "$(mbs "$t_fast")"
echo "dgfs get (fast path) vs curl: $(echo "scale=2; $t_curl / $t_fast" | bc -l)x"
dgfsd_stop
finish
