# shellcheck shell=bash
# The servers `make bench` compares, started the same way in the VM
# (tests/bench/guest.sh), on the host and in the smoke run
# (tests/bench/bench.sh): dgfsd with --kmod off (HTTP and its userspace UDP
# tier), nginx on dgfsd's own chunk files, and dgfs.ko on the same files.
# All three serve one set of files from one page cache.
#
#   bench_servers_start WORK ADDR  dgfsd (state WORK/state) and nginx on ADDR
#   bench_servers_stop             both, and the cpustat server if any
#   bench_kmod_start STATE [IFACE] dgfs.ko serving STATE's chunks (XDP on IFACE)
#   bench_kmod_register FILE       register the chunks FILE lists (id per line)
#   bench_scale DIR N [REPORT]     fill the index up to N chunks, wait for
#                                  the machine to go idle, time lookups
#   bench_settle [REPORT]          wait until the CPUs are idle (bounded)
#   bench_scale_reset STATE IDS IFACE
#                                  dgfs.ko reloaded with the bench's own
#                                  chunks only (the index cannot shrink fast)
#
# Callers set BUILD and run this as root, inside the server's namespace.

BENCH_PORT_KERNEL=7878		# dgfs.ko
BENCH_PORT_UDP=7879		# dgfsd's userspace tier
BENCH_PORT_HTTP=8080		# dgfsd over HTTP
BENCH_PORT_NGINX=8081		# nginx
BENCH_CTL=${BUILD:-build}/dgfsctl
BENCH_DGFSD_PID= BENCH_NGINX_PID=

# bench_nginx_conf WORK ROOT ADDR: nginx's config for static files, as its
# documentation advises (sendfile with tcp_nopush, open_file_cache, no
# access log, a worker per CPU), every path it writes under WORK.
bench_nginx_conf() {
	local work=$1 root=$2 addr=$3
	cat >"$work/nginx.conf" <<EOF
# Written by tests/bench/servers.sh.
user root;			# dgfsd's chunk files are root's, mode 0600
worker_processes auto;		# one per CPU
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events {
	worker_connections 1024;
}
http {
	sendfile on;
	tcp_nopush on;
	tcp_nodelay on;
	open_file_cache max=10000 inactive=60s;
	open_file_cache_valid 60s;
	open_file_cache_min_uses 1;
	open_file_cache_errors on;
	access_log off;
	default_type application/octet-stream;
	client_body_temp_path $work/nginx-body;
	proxy_temp_path $work/nginx-proxy;
	fastcgi_temp_path $work/nginx-fastcgi;
	uwsgi_temp_path $work/nginx-uwsgi;
	scgi_temp_path $work/nginx-scgi;
	server {
		listen $addr:$BENCH_PORT_NGINX;
		root $root;
	}
}
EOF
}

# bench_wait_tcp PORT: until something listens on TCP PORT (30 s at most).
bench_wait_tcp() {
	local i
	for ((i = 0; i < 300; i++)); do
		[[ -n $(ss -Hltn "sport = :$1") ]] && return 0
		sleep 0.1
	done
	echo "bench: nothing listens on TCP port $1" >&2
	return 1
}

bench_servers_start() {
	local work=$1 addr=$2
	mkdir -p "$work"
	"$BUILD/dgfsd" --state-dir "$work/state" --listen "$addr" -p $BENCH_PORT_HTTP \
		--udp-port $BENCH_PORT_UDP --kmod off --public-read --access-log off \
		--tagger off >"$work/dgfsd.log" 2>&1 &
	BENCH_DGFSD_PID=$!
	bench_wait_tcp $BENCH_PORT_HTTP || { tail "$work/dgfsd.log" >&2; return 1; }
	bench_nginx_conf "$work" "$work/state/chunks" "$addr"
	nginx -p "$work" -c "$work/nginx.conf" -e "$work/nginx-error.log" \
		-g 'daemon off;' >"$work/nginx.out" 2>&1 &
	BENCH_NGINX_PID=$!
	bench_wait_tcp $BENCH_PORT_NGINX || { cat "$work/nginx.out" "$work/nginx-error.log" >&2; return 1; }
}

# bench_server_pids NAME: the processes whose CPU time is NAME's.
bench_server_pids() {
	case $1 in
	dgfsd-udp | dgfsd-http) echo "$BENCH_DGFSD_PID" ;;
	nginx) echo "$BENCH_NGINX_PID" $(pgrep -P "$BENCH_NGINX_PID") ;;
	esac
}

bench_servers_stop() {
	[[ -z $BENCH_NGINX_PID ]] || { kill "$BENCH_NGINX_PID"; wait "$BENCH_NGINX_PID"; } 2>/dev/null
	[[ -z $BENCH_DGFSD_PID ]] || { kill "$BENCH_DGFSD_PID"; wait "$BENCH_DGFSD_PID"; } 2>/dev/null
	BENCH_NGINX_PID= BENCH_DGFSD_PID=
}

# bench_kmod_start STATE [IFACE]: load dgfs.ko with dgfsd's chunk directory
# as its store and dgfsd's key (so one token serves both); XDP on IFACE
# when given, else requests reach the module through its socket.
bench_kmod_start() {
	local state=$1 iface=${2:-}
	[[ -e /sys/module/dgfs ]] || {
		modprobe -a $(modinfo -F depends "$BUILD/dgfs.ko" | tr , ' ')
		insmod "$BUILD/dgfs.ko"
	}
	$BENCH_CTL store add bench path "$state/chunks" &&
		$BENCH_CTL config set key "$(cat "$state/auth.key")" &&
		$BENCH_CTL config set port $BENCH_PORT_KERNEL || return 1
	[[ -z $iface ]] || $BENCH_CTL xdp attach "$iface" mode native
}

bench_kmod_register() {
	sed 's/.*/chunk add & store bench file &/' "$1" | $BENCH_CTL -b -
}

# bench_scale_reset STATE IDS IFACE: back to the bench's chunks alone,
# so that one boot can measure a small and a big index in turn. Deleting
# 10^6 chunks is a request each; unloading the module drops them at once.
bench_scale_reset() {
	$BENCH_CTL xdp detach "$3" && rmmod dgfs && BENCH_SCALE_HAVE=0 &&
		bench_kmod_start "$1" "$3" && bench_kmod_register "$2"
}

# bench_settle [REPORT]: wait until the machine is idle, so that what
# follows a fill measures the index and not work the fill left behind.
# (Measured, docs/BENCHMARKS.md "After the fill": after 10^6 chunks the
# guest is idle within the first second; the rhashtable's growth, run by
# a system_wq kworker as the table passes 75%, is done when the fill
# returns. The wait makes sure of it at every size.) Idle: its CPUs busy
# (/proc/stat: all but idle and iowait) under BENCH_SETTLE_PCT % (10) of
# one second; BENCH_SETTLE_MAX s (120) at most. Sets BENCH_SETTLE_S (the
# seconds waited) and BENCH_SETTLE_TRACE (busy % each second) and prints
# both on stderr. With REPORT: what ran meanwhile, by tests/bench/busy.py,
# into REPORT; BENCH_SETTLE_PERF=1 adds a profile of the wait (perf -a)
# as REPORT-perf (under TCG perf's own start keeps the guest busy for the
# first seconds of the wait). It waits on a FIFO nobody writes: no fork a
# second, which would be busy time of its own under TCG.
bench_settle() {
	local report=${1:-} snap= perf= fd fifo u n s i w q sq st busy0 all0 busy1 all1 pct
	BENCH_SETTLE_S=0 BENCH_SETTLE_TRACE=
	if [[ -n $report ]]; then
		snap=$(mktemp -d) && bench_settle_snap "$snap/a" || return 1
		if [[ ${BENCH_SETTLE_PERF:-0} == 1 ]]; then
			perf record -q -a -g -F 250 -o "$snap/perf.data" -- sleep 600 >/dev/null 2>&1 &
			perf=$!
		fi
	fi
	fifo=$(mktemp -u) && mkfifo "$fifo" && exec {fd}<>"$fifo" && rm "$fifo" || return 1
	read -r _ u n s i w q sq st _ </proc/stat
	busy0=$((u + n + s + q + sq + st)) all0=$((u + n + s + i + w + q + sq + st))
	while ((BENCH_SETTLE_S < ${BENCH_SETTLE_MAX:-120})); do
		read -r -t 1 -u "$fd" _ || true
		BENCH_SETTLE_S=$((BENCH_SETTLE_S + 1))
		read -r _ u n s i w q sq st _ </proc/stat
		busy1=$((u + n + s + q + sq + st)) all1=$((u + n + s + i + w + q + sq + st))
		pct=$(((busy1 - busy0) * 100 / (all1 > all0 ? all1 - all0 : 1)))
		BENCH_SETTLE_TRACE+="${BENCH_SETTLE_TRACE:+ }$pct"
		busy0=$busy1 all0=$all1
		((pct >= ${BENCH_SETTLE_PCT:-10})) || break
	done
	exec {fd}<&-
	echo "bench: $( ((pct < ${BENCH_SETTLE_PCT:-10})) && echo idle || echo "still busy") after $BENCH_SETTLE_S s (busy % each second: $BENCH_SETTLE_TRACE)" >&2
	[[ -n $report ]] || return 0
	bench_settle_snap "$snap/b" || return 1	# before perf's own exit, slow under TCG
	[[ -z $perf ]] || { kill -INT "$perf" && wait "$perf" || true; }
	{
		echo "waited $BENCH_SETTLE_S s for an idle machine; busy % each second: $BENCH_SETTLE_TRACE"
		python3 tests/bench/busy.py "$snap/a" "$snap/b" "$BENCH_SETTLE_S"
	} >"$report" 2>&1
	if [[ -n $perf ]]; then
		perf report -i "$snap/perf.data" --no-children -g none --percent-limit 0.5 --stdio \
			>"$report-perf" 2>&1 || true
	fi
	rm -rf "$snap"
}

# bench_settle_snap DIR: what bench_settle's report compares (busy.py).
bench_settle_snap() {
	mkdir -p "$1" || return 1
	cat /proc/[0-9]*/task/[0-9]*/stat >"$1/tasks" 2>/dev/null || true	# tasks that ended meanwhile
	cat /proc/stat >"$1/stat" && cat /proc/softirqs >"$1/softirqs" &&
		cat /proc/interrupts >"$1/interrupts" && cat /proc/vmstat >"$1/vmstat" || return 1
	[[ ! -e /sys/module/dgfs ]] || $BENCH_CTL stats >"$1/dgfs" 2>/dev/null || true
}

# A prefix no SHA-256 of the bench's files shares: the scale ids are it and
# 8 hex digits, as tests/bench/index_lookup.bpf.c builds them.
BENCH_SCALE_PREFIX=5ca1e000000000000000000000000000000000000000000000000000
BENCH_SCALE_HAVE=0

# bench_scale DIR N [REPORT]: add filler chunks (store "scale" in DIR)
# until the index holds N, the bench's own included, wait for the machine
# to go idle (bench_settle, REPORT passed on), then print one JSON line:
# the mean ns of an XDP program run with a lookup of a random filler id
# and without one, how many of the lookups hit, and the seconds waited.
bench_scale() {
	local dir=$1 want=$2 report=${3:-} have add out base
	if ((BENCH_SCALE_HAVE == 0)); then
		mkdir -p "$dir" && head -c 4096 /dev/urandom >"$dir/f" &&
			$BENCH_CTL store add scale path "$dir" || return 1
	fi
	have=$($BENCH_CTL stats | awk '$1 == "chunks" { print $2 }')
	add=$((want - have))
	if ((add > 0)); then
		# Every filler chunk is the same small file: what is measured is
		# the index, not the files.
		awk -v p=$BENCH_SCALE_PREFIX -v a="$BENCH_SCALE_HAVE" -v b=$((BENCH_SCALE_HAVE + add)) \
			'BEGIN { for (i = a; i < b; i++) printf "chunk add %s%08x store scale file f\n", p, i }' |
			$BENCH_CTL -b - || return 1
		BENCH_SCALE_HAVE=$((BENCH_SCALE_HAVE + add))
	fi
	bench_settle "$report" || return 1
	out=$("$BUILD/index_lookup" --kmod --repeat "${BENCH_LOOKUPS:-1000000}" "$BENCH_SCALE_HAVE" $BENCH_SCALE_PREFIX) &&
		base=$("$BUILD/index_lookup" --repeat "${BENCH_LOOKUPS:-1000000}" "$BENCH_SCALE_HAVE" $BENCH_SCALE_PREFIX) ||
		return 1
	python3 - "$($BENCH_CTL stats | awk '$1 == "chunks" { print $2 }')" "$BENCH_SCALE_HAVE" "$out" "$base" \
		"$BENCH_SETTLE_S" "$BENCH_SETTLE_TRACE" <<'PY'
import json, sys
chunks, filler, out, base = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split()
settle_s, settle_trace = int(sys.argv[5]), [int(p) for p in sys.argv[6].split()]
k = dict(zip(out[::2], map(int, out[1::2])))
b = dict(zip(base[::2], map(int, base[1::2])))
print(json.dumps({"kind": "lookup", "chunks": chunks, "filler": filler,
                  "ns_per_run": k["ns_per_run"], "ns_baseline": b["ns_per_run"],
                  "ns_per_lookup": k["ns_per_run"] - b["ns_per_run"],
                  "hits": k["hits"], "misses": k["misses"],
                  "settle_s": settle_s, "settle_busy_pct": settle_trace}))
PY
}
