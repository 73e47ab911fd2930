# shellcheck shell=bash
# The client side of `make bench`: one measurement ("cell") of one server
# on one workload at one concurrency, as one JSON line.
#
#   bench_lists MANIFEST DIR        the ids and URL paths each server reads
#   bench_cell SERVER WORKLOAD CONC ROUND
#
# SERVER: kernel (dgfs.ko), dgfsd-udp (dgfsd's userspace tier), dgfsd-http,
# nginx. WORKLOAD: 4k (random 4 KiB files) or 1m (1 MiB files). CONC
# requests outstanding: dgfs-bench's window or wrk's connections, one
# client thread either way.
#
# The caller sets BUILD, BENCH_ADDR (the servers' address), BENCH_KEY (the
# fast path's key, hex), BENCH_DURATION (seconds), BENCH_WHERE (vm|host),
# and defines bench_client CMD... (runs CMD where the client runs) and
# bench_cpu SERVER (prints the server's CPU seconds so far).
# Sources tests/bench/servers.sh for the ports.

BENCH_LISTS=

bench_lists() {
	local manifest=$1 dir=$2 w
	BENCH_LISTS=$dir
	mkdir -p "$dir"
	for w in 4k 1m; do
		awk -v w=$w '$1 == w { print $3 }' "$manifest" >"$dir/ids-$w"
		awk -v w=$w '$1 == w { print "/files/bench/" w "/" $2 }' "$manifest" >"$dir/http-$w"
		awk -v w=$w '$1 == w { print "/" $3 }' "$manifest" >"$dir/nginx-$w"
		[[ -s $dir/ids-$w ]] || { echo "bench: no $w files in $manifest" >&2; return 1; }
	done
}

# bench_run SERVER SIZE CONC: the client's own JSON result (empty if none).
bench_run() {
	local server=$1 size=$2 conc=$3 workload port list
	[[ $size == 4096 ]] && workload=4k || workload=1m
	case $server in
	kernel | dgfsd-udp)
		[[ $server == kernel ]] && port=$BENCH_PORT_KERNEL || port=$BENCH_PORT_UDP
		bench_client "$BUILD/dgfs-bench" -p $port --key "$BENCH_KEY" --threads 1 \
			--window "$conc" --duration "$BENCH_DURATION" --size "$size" --random \
			--timeout 5000 --token-ttl 43200 --json "$BENCH_ADDR" $(cat "$BENCH_LISTS/ids-$workload") \
			2>>"${BENCH_LOG:-/dev/null}"
		;;
	dgfsd-http | nginx)
		list=$BENCH_LISTS/http-$workload port=$BENCH_PORT_HTTP
		[[ $server == nginx ]] && list=$BENCH_LISTS/nginx-$workload port=$BENCH_PORT_NGINX
		bench_client wrk -t1 -c"$conc" -d"$BENCH_DURATION"s --timeout 5s \
			-s "$PWD/tests/bench/wrk_paths.lua" "http://$BENCH_ADDR:$port" -- "$list" \
			2>>"${BENCH_LOG:-/dev/null}" | tee -a "${BENCH_LOG:-/dev/null}" | sed -n 's/^JSON //p'
		;;
	esac
}

bench_cell() {
	local server=$1 workload=$2 conc=$3 round=$4 size c0 c1 res retried=0 t0=$EPOCHREALTIME
	case $workload in
	4k) size=4096 ;;
	1m) size=1048576 ;;
	esac
	c0=$(bench_cpu "$server")
	res=$(bench_run "$server" $size "$conc") || true
	if [[ -z $res ]]; then
		# A client that could not start (dgfs-bench's probe of the chunks
		# went unanswered: a stalled guest on a loaded host) gets one more
		# try, which the result says.
		echo "bench: $server $workload $conc round $round: no result, once more" >&2
		retried=1
		c0=$(bench_cpu "$server")
		res=$(bench_run "$server" $size "$conc") || true
	fi
	c1=$(bench_cpu "$server")
	python3 - "$BENCH_WHERE" "$server" "$workload" "$conc" "$round" "$size" "$res" "$c0" "$c1" "$retried" "$t0" <<'PY'
import json, sys, time
where, server, workload, conc, rnd, size, res, c0, c1, retried, t0 = sys.argv[1:]
size = int(size)
try:
    r = json.loads(res)
except ValueError:
    r = {}
x = {"kind": "cell", "where": where, "server": server, "workload": workload,
     "conc": int(conc), "round": int(rnd), "size": size, "retried": int(retried)}
if "requests" in r:	# wrk
    secs = r["duration_us"] / 1e6
    x.update(completed=r["requests"], seconds=secs, req_per_s=r["requests"] / secs,
             p50_us=r["p50_us"], p99_us=r["p99_us"],
             errors=r["errors"] + r["status_errors"], timeouts=0)
elif "completed" in r:	# dgfs-bench
    x.update(completed=r["completed"], seconds=r["seconds"], req_per_s=r["req_per_s"],
             p50_us=r["p50_us"], p99_us=r["p99_us"], errors=r["errors"],
             timeouts=r["timeouts"], sent=r["sent"], max_us=r["max_us"])
else:
    x.update(completed=0, seconds=0, req_per_s=0, p50_us=0, p99_us=0, errors=1, timeouts=0,
             failed=res[:200] or "no output")
# Payload only, the same for both protocols: MB = 10^6 bytes.
gb = x["completed"] * size / 1e9
x["mb_per_s"] = gb * 1e3 / x["seconds"] if x["seconds"] else 0
x["server_cpu_s"] = float(c1) - float(c0)
x["cpu_s_per_gb"] = x["server_cpu_s"] / gb if gb else None
x["wall_s"] = round(time.time() - float(t0), 2)	# the cell's cost, overheads included
print(json.dumps(x))
PY
}
