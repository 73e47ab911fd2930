#!/usr/bin/env bash
# Numbers, not a test: dgfsd's HTTP downloads against nginx on the host
# (issue 13's table), in one run. dgfsd (--kmod off --public-read
# --access-log off) and nginx (tests/bench/servers.sh's config: sendfile,
# tcp_nopush, open_file_cache, 2 workers) in a network namespace of their
# own, wrk -t1 over loopback, rounds alternating which server goes first.
#
#   tests/dgfsd/bench_nginx.sh [BUILD_DIR]        (as root)
#   BENCH_ROUNDS=3 BENCH_SECS=5 BENCH_CELLS="4k:32 1m:32 64m:4" ...
#
# The files: 16 random 4 KiB files, 16 of 1 MiB (each one dgfsd chunk, its
# chunk file hard-linked into nginx's root: both read the same page-cache
# pages) and one of 64 MiB (dgfsd's FastCDC chunks; nginx a copy). Each
# request GETs a random one of its size. Server CPU: the server's own
# processes' user + system time (/proc/PID/stat), as seconds per GB of
# payload. Prints one table: the median of the rounds, and each ratio
# against nginx taken within a round, then the median of those.
set -eu
cd "$(dirname "$0")/../.."
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
inner=0
[[ ${1-} == --inner ]] && { inner=1; shift; }
BUILD=${1:-build}
ROUNDS=${BENCH_ROUNDS:-3} SECS=${BENCH_SECS:-5}
CELLS=${BENCH_CELLS:-"4k:32 1m:32 64m:4"}
OUT=${BENCH_OUT:-$BUILD/bench-nginx}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
BUILD=$(cd "$BUILD" && pwd)

if ((inner == 0)); then
	ns=dgfs-bench-nginx-$$
	ip netns add $ns
	trap 'ip netns del $ns' EXIT
	ip -n $ns link set lo up
	echo "load before: $(cat /proc/loadavg)"
	BENCH_OUT=$OUT ip netns exec $ns "$0" --inner "$BUILD" >"$OUT/results.jsonl"
	echo "load after:  $(cat /proc/loadavg)"
	python3 - "$OUT/results.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cells = []
for r in rows:
    k = (r["workload"], r["conc"])
    if k not in cells:
        cells.append(k)
def med(xs):
    return statistics.median(xs) if xs else float("nan")
print("| file | conns | server | req/s | MB/s | CPU s/GB | req/s vs nginx | CPU/GB vs nginx | rounds |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
for w, c in cells:
    by = {}
    for r in rows:
        if (r["workload"], r["conc"]) == (w, c):
            by.setdefault(r["server"], {})[r["round"]] = r
    for s in ("dgfsd", "nginx"):
        rs = by.get(s, {})
        rq = med([x["req_per_s"] for x in rs.values()])
        mb = med([x["mb_per_s"] for x in rs.values()])
        cpu = med([x["cpu_s_per_gb"] for x in rs.values() if x["cpu_s_per_gb"]])
        if s == "nginx":
            rr = cr = "-"
        else:
            n = by.get("nginx", {})
            rr = "%.2fx" % med([rs[k]["req_per_s"] / n[k]["req_per_s"] for k in rs if k in n and n[k]["req_per_s"]])
            cr = "%.2fx" % med([rs[k]["cpu_s_per_gb"] / n[k]["cpu_s_per_gb"] for k in rs
                                if k in n and n[k]["cpu_s_per_gb"] and rs[k]["cpu_s_per_gb"]])
        print("| %s | %d | %s | %s | %.1f | %.3g | %s | %s | %d |" % (w, c, s, format(round(rq), ","), mb, cpu, rr, cr, len(rs)))
PY
	exit 0
fi

# ---- inside the namespace ------------------------------------------------
. tests/bench/servers.sh
work=$(mktemp -d "${BENCH_TMP:-/tmp}/dgfs-bench-nginx.XXXXXX")
trap 'bench_servers_stop; rm -rf "$work"' EXIT
mkdir -p "$work/data/4k" "$work/data/1m"
for ((i = 0; i < 16; i++)); do
	head -c 4096 /dev/urandom >"$work/data/4k/f$i"
	head -c 1048576 /dev/urandom >"$work/data/1m/f$i"
done
bench_servers_start "$work" 127.0.0.1 >&2
url=http://127.0.0.1:$BENCH_PORT_HTTP
python3 tests/bench/upload.py $url "$work/state/admin.key" "$work/data" >"$work/manifest"
# nginx's root: the same inodes under the names dgfsd serves them by.
www=$work/www
mkdir -p "$www/4k" "$www/1m" "$www/64m"
while read -r w name id _; do
	ln "$work/state/chunks/$id" "$www/$w/$name"
done <"$work/manifest"
head -c $((64 << 20)) /dev/urandom >"$www/64m/f0"
curl -sf -o /dev/null -H "Authorization: Bearer $(cat "$work/state/admin.key")" \
	-T "$www/64m/f0" "$url/files/bench/64m/f0"
sed -i "s|root .*;|root $www;|" "$work/nginx.conf"
kill -HUP "$BENCH_NGINX_PID"
sleep 1
for w in 4k 1m 64m; do
	(cd "$www/$w" && ls) | sed "s|^|/files/bench/$w/|" >"$work/dgfsd-$w"
	(cd "$www/$w" && ls) | sed "s|^|/$w/|" >"$work/nginx-$w"
done
cat "$work"/state/chunks/* "$www"/64m/f0 >/dev/null	# all in the page cache

cpu() {	# the server's processes' CPU seconds so far
	local pids t=0 p
	[[ $1 == dgfsd ]] && pids=$BENCH_DGFSD_PID || pids="$BENCH_NGINX_PID $(pgrep -P "$BENCH_NGINX_PID")"
	for p in $pids; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
	awk -v t=$t -v hz="$(getconf CLK_TCK)" 'BEGIN { print t / hz }'
}

cell() {	# SERVER WORKLOAD CONC ROUND: one JSON line
	local s=$1 w=$2 c=$3 round=$4 port=$BENCH_PORT_HTTP c0 c1 res size
	[[ $s == nginx ]] && port=$BENCH_PORT_NGINX
	case $w in 4k) size=4096 ;; 1m) size=1048576 ;; 64m) size=$((64 << 20)) ;; esac
	c0=$(cpu "$s")
	res=$(wrk -t1 -c"$c" -d"$SECS"s --timeout 10s -s "$PWD/tests/bench/wrk_paths.lua" \
		"http://127.0.0.1:$port" -- "$work/$s-$w" | sed -n 's/^JSON //p')
	c1=$(cpu "$s")
	python3 - "$s" "$w" "$c" "$round" "$size" "$res" "$c0" "$c1" <<'PY'
import json, sys
s, w, c, rnd, size, res, c0, c1 = sys.argv[1:]
r = json.loads(res) if res else {"requests": 0, "duration_us": 1, "errors": 1, "status_errors": 0}
secs = r["duration_us"] / 1e6
gb = r["requests"] * int(size) / 1e9
cpu = float(c1) - float(c0)
print(json.dumps({"server": s, "workload": w, "conc": int(c), "round": int(rnd),
                  "req_per_s": r["requests"] / secs, "mb_per_s": gb * 1e3 / secs,
                  "errors": r["errors"] + r["status_errors"], "cpu_s": cpu,
                  "cpu_s_per_gb": cpu / gb if gb else None}))
PY
}

for ((round = 1; round <= ROUNDS; round++)); do
	for wc in $CELLS; do
		w=${wc%:*} c=${wc#*:}
		if ((round % 2)); then order="dgfsd nginx"; else order="nginx dgfsd"; fi
		for s in $order; do cell "$s" "$w" "$c" "$round"; done
	done
done
