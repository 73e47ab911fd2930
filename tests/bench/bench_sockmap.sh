#!/usr/bin/env bash
# Numbers, not a test: dgfsd's HTTP to a client on the same host over
# plain loopback TCP against the same with sockmap redirection (issue 15,
# item 6), in one run.
#
#   tests/bench/bench_sockmap.sh [BUILD_DIR]        (as root)
#   SOCKMAP_ROUNDS=3 SOCKMAP_SECS=5 SOCKMAP_CELLS="4k:32 1m:8" ...
#
# dgfsd (--kmod off --public-read --access-log off) and wrk -t1 in a
# network namespace of their own, both in a cgroup (v2) of their own. The
# "sockmap" rounds attach tests/bench/sockmap_redirect.bpf.c's sock_ops
# program to that cgroup (its sk_msg program stays attached to the
# sockhash throughout), so each connection wrk opens has both ends in the
# sockhash and every send() or sendfile() of either end goes straight to
# the other's receive queue; the "plain" rounds detach it. Rounds
# alternate which goes first. Files: 16 random 4 KiB, 16 of 1 MiB (one
# chunk each, so dgfsd sends the 1 MiB bodies with sendfile()).
#
# Prints, per cell and mode: req/s, p50/p99 (wrk's), dgfsd's CPU (user +
# system, /proc/PID/stat) and the whole cgroup's (dgfsd + wrk, cpu.stat)
# per GB, ratios against plain within a round (their median), and what
# the sk_msg program saw: bytes it ran on and bytes it redirected, per
# byte of payload (so a sendfile() body that bypasses it shows as 0).
# Before the rounds: each file fetched with curl in each mode, compared
# byte for byte.
set -eu
[[ -z ${SOCKMAP_TRACE-} ]] || set -x
cd "$(dirname "$0")/../.."
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
inner=0
[[ ${1-} == --inner ]] && { inner=1; shift; }
BUILD=${1:-build}
ROUNDS=${SOCKMAP_ROUNDS:-3} SECS=${SOCKMAP_SECS:-5}
CELLS=${SOCKMAP_CELLS:-"4k:32 1m:8"}
OUT=${SOCKMAP_OUT:-$BUILD/bench-sockmap}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
BUILD=$(cd "$BUILD" && pwd)
OBJ=$BUILD/bpf/sockmap_redirect.bpf.o

if ((inner == 0)); then
	[[ -f $OBJ && -x $BUILD/dgfsd ]] || { echo "build first: make" >&2; exit 1; }
	ns=dgfs-bench-sockmap-$$
	# `ip netns exec` mounts a sysfs of its own over /sys: the cgroup v2
	# hierarchy and a BPF file system are mounted under /tmp instead
	# (the same hierarchy as /sys/fs/cgroup's; the pins' own bpffs).
	mnt=$(mktemp -d /tmp/dgfs-sockmap-mnt-XXXXXX)	# no dot: libbpf pins refuse one
	mkdir "$mnt/cgroup" "$mnt/bpf"
	cg=$mnt/cgroup/dgfs-bench-sockmap-$$ pin=$mnt/bpf/sockmap
	cleanup() {
		bpftool cgroup detach "$cg" sock_ops pinned "$pin/add_established" 2>/dev/null || true
		rm -rf "$pin"
		rmdir "$cg" 2>/dev/null || true
		umount "$mnt/cgroup" "$mnt/bpf" 2>/dev/null || true
		rmdir "$mnt/cgroup" "$mnt/bpf" "$mnt"	# never rm -r: a cgroup tree
		ip netns del "$ns" 2>/dev/null || true
	}
	trap cleanup EXIT
	mount -t cgroup2 none "$mnt/cgroup"
	mount -t bpf bpf "$mnt/bpf"
	mkdir "$cg"
	bpftool prog loadall "$OBJ" "$pin" pinmaps "$pin"
	bpftool prog attach pinned "$pin/redirect_to_peer" msg_verdict pinned "$pin/socks"
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	: >"$OUT/checks.txt"
	echo "load before: $(cat /proc/loadavg)"
	SOCKMAP_OUT=$OUT SOCKMAP_CG=$cg SOCKMAP_PIN=$pin \
		ip netns exec "$ns" "$0" --inner "$BUILD" >"$OUT/results.jsonl"
	echo "load after:  $(cat /proc/loadavg)"
	cat "$OUT/checks.txt"
	PYTHONPATH=tests/bench python3 - "$OUT/results.jsonl" <<'PY'
import sys
from rounds import cells, load, med, ratio
print("| file | conns | mode | req/s | MB/s | p50 | p99 | dgfsd CPU s/GB | dgfsd+wrk CPU s/GB "
      "| req/s vs plain | dgfsd CPU vs plain | dgfsd+wrk CPU vs plain | sk_msg saw / payload "
      "| redirected / payload | errors | rounds |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for (w, c), by in cells(load(sys.argv[1]), lambda r: (r["workload"], r["conc"])):
    for m in ("plain", "sockmap"):
        rs = list(by.get(m, {}).values())
        if not rs:
            continue
        print("| %s | %d | %s | %s | %.1f | %s | %s | %.3g | %.3g | %s | %s | %s | %.2f | %.2f | %d | %d |" % (
            w, c, m, format(round(med([x["req_per_s"] for x in rs])), ","),
            med([x["mb_per_s"] for x in rs]),
            "%.0f µs" % med([x["p50_us"] for x in rs]), "%.0f µs" % med([x["p99_us"] for x in rs]),
            med([x["dgfsd_s_per_gb"] for x in rs]), med([x["cg_s_per_gb"] for x in rs]),
            ratio(by, m, "plain", "req_per_s"), ratio(by, m, "plain", "dgfsd_s_per_gb"),
            ratio(by, m, "plain", "cg_s_per_gb"),
            med([x["msg_bytes_per_payload"] for x in rs]),
            med([x["redir_bytes_per_payload"] for x in rs]),
            sum(x["errors"] for x in rs), len(rs)))
PY
	exit 0
fi

# ---- inside the namespace ------------------------------------------------
cg=$SOCKMAP_CG pin=$SOCKMAP_PIN
work=$(mktemp -d "${SOCKMAP_TMP:-/tmp}/dgfs-bench-sockmap.XXXXXX")
dgfsd_pid=
trap '[[ -z $dgfsd_pid ]] || { kill $dgfsd_pid; wait $dgfsd_pid; } 2>/dev/null; rm -rf "$work"' EXIT
# in_cg CMD...: CMD run as a member of the cgroup.
in_cg() { sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$@"; }
sockmap_on() {
	bpftool cgroup attach "$cg" sock_ops pinned "$pin/add_established"
}
sockmap_off() {
	bpftool cgroup detach "$cg" sock_ops pinned "$pin/add_established" 2>/dev/null || true
}
# The sk_msg program's counters: "MSGS BYTES REDIRECTED REDIRECTED_BYTES".
redirect_stats() {
	bpftool -j map dump pinned "$pin/stats" | python3 -c '
import json, sys
v = json.load(sys.stdin)[0]["formatted"]["value"]
print(v["msgs"], v["bytes"], v["redirected"], v["redirected_bytes"])'
}

. tests/bench/servers.sh
mkdir -p "$work/data/4k" "$work/data/1m"
for ((i = 0; i < 16; i++)); do
	head -c 4096 /dev/urandom >"$work/data/4k/f$i"
	head -c 1048576 /dev/urandom >"$work/data/1m/f$i"
done
# dgfsd in the cgroup from its start: the sock_ops program runs for an
# accepted socket in its listener's cgroup.
# (A subshell that joins and execs: $! is dgfsd itself.)
(echo $BASHPID >"$cg/cgroup.procs" && exec "$BUILD/dgfsd" --state-dir "$work/state" \
	--listen 127.0.0.1 -p $BENCH_PORT_HTTP --udp-port $BENCH_PORT_UDP --kmod off \
	--public-read --access-log off --tagger off) >"$work/dgfsd.log" 2>&1 &
dgfsd_pid=$!
bench_wait_tcp $BENCH_PORT_HTTP || { tail "$work/dgfsd.log" >&2; exit 1; }
url=http://127.0.0.1:$BENCH_PORT_HTTP
python3 tests/bench/upload.py $url "$work/state/admin.key" "$work/data" >"$work/manifest"
for w in 4k 1m; do
	(cd "$work/data/$w" && ls) | sed "s|^|/files/bench/$w/|" >"$work/paths-$w"
done
cat "$work"/state/chunks/* >/dev/null	# all in the page cache

# Every file through each mode, byte for byte, and whether sk_msg saw it.
for mode in plain sockmap; do
	[[ $mode == sockmap ]] && sockmap_on || sockmap_off
	read -r m0 b0 r0 rb0 <<<"$(redirect_stats)"
	bad=0
	while read -r w name _; do
		in_cg curl -sf -o "$work/got" "$url/files/bench/$w/$name" &&
			cmp -s "$work/got" "$work/data/$w/$name" || bad=$((bad + 1))
	done <"$work/manifest"
	read -r m1 b1 r1 rb1 <<<"$(redirect_stats)"
	echo "check: $mode: $bad of 32 files differ from what was uploaded (curl);" \
		"sk_msg ran $((m1 - m0)) times on $((b1 - b0)) bytes, redirected $((rb1 - rb0)) bytes" \
		>>"$OUT/checks.txt"
done
sockmap_off

cpu_dgfsd() { awk '{ print $14 + $15 }' "/proc/$dgfsd_pid/stat"; }
cpu_cg() { awk '$1 == "usage_usec" { print $2 }' "$cg/cpu.stat"; }

cell() {	# MODE WORKLOAD CONC ROUND: one JSON line
	local mode=$1 w=$2 c=$3 round=$4 d0 d1 g0 g1 s0 s1 res size
	case $w in 4k) size=4096 ;; 1m) size=1048576 ;; esac
	[[ $mode == sockmap ]] && sockmap_on || sockmap_off
	d0=$(cpu_dgfsd) g0=$(cpu_cg) s0=$(redirect_stats)
	res=$(in_cg wrk -t1 -c"$c" -d"$SECS"s --timeout 10s -s "$PWD/tests/bench/wrk_paths.lua" \
		"$url" -- "$work/paths-$w" | sed -n 's/^JSON //p')
	d1=$(cpu_dgfsd) g1=$(cpu_cg) s1=$(redirect_stats)
	python3 - "$mode" "$w" "$c" "$round" "$size" "$res" "$d0" "$d1" "$g0" "$g1" \
		"$(getconf CLK_TCK)" "$s0" "$s1" <<'PY'
import json, sys
mode, w, c, rnd, size, res, d0, d1, g0, g1, hz, s0, s1 = sys.argv[1:]
r = json.loads(res) if res else {"requests": 0, "duration_us": 1, "errors": 1,
                                 "status_errors": 0, "p50_us": 0, "p99_us": 0}
secs = r["duration_us"] / 1e6
payload = r["requests"] * int(size)
gb = payload / 1e9
s0, s1 = [int(x) for x in s0.split()], [int(x) for x in s1.split()]
dg = (int(d1) - int(d0)) / int(hz)
cg = (int(g1) - int(g0)) / 1e6
print(json.dumps({"mode": mode, "workload": w, "conc": int(c), "round": int(rnd),
                  "req_per_s": r["requests"] / secs, "mb_per_s": gb * 1e3 / secs,
                  "p50_us": r["p50_us"], "p99_us": r["p99_us"],
                  "errors": r["errors"] + r["status_errors"],
                  "dgfsd_s_per_gb": dg / gb if gb else None,
                  "cg_s_per_gb": cg / gb if gb else None,
                  "msg_bytes_per_payload": (s1[1] - s0[1]) / payload if payload else None,
                  "redir_bytes_per_payload": (s1[3] - s0[3]) / payload if payload else None}))
PY
}

for ((round = 1; round <= ROUNDS; round++)); do
	for wc in $CELLS; do
		w=${wc%:*} c=${wc#*:}
		if ((round % 2)); then order="plain sockmap"; else order="sockmap plain"; fi
		for m in $order; do cell "$m" "$w" "$c" "$round"; done
	done
done
sockmap_off
