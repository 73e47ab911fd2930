#!/usr/bin/env bash
# Numbers, not a test (`make bench-cluster`, docs/BENCHMARKS.md "Many
# hosts"): aggregate read throughput of clusters of 1, 3 and 5 storage
# hosts, over the fast path (each host's XDP program and dgfs.ko) and over
# HTTP (dgfsd). Each host is a network namespace of this VM with its own
# dgfs.ko state, XDP program on its veth and dgfsd (--kmod require); the
# VM's own namespace routes between them and a client namespace, as in
# test_cluster_fast.sh. One PostgreSQL server (data on the scratch disk),
# a database per cluster; R = min(3, hosts). The clusters of every size
# run side by side, so that each round measures every size and mode one
# after another (the order turned each round): a busy host slows them
# alike.
#
# Each cluster holds the same files (BENCH_FILES of BENCH_FILE_MB MiB,
# uploaded through its hosts in turn, so the chunks spread by placement).
# A cell: BENCH_CLIENTS clients at once, client j asking host j % N,
# each reading every file once (starting at file j); MB/s is all the
# bytes over the wall-clock time of the slowest. Modes:
#   fast      dgfs get --no-fallback: manifest over HTTP, every chunk over
#             UDP from its first replica (XDP + dgfs.ko), each chunk and
#             the whole file SHA-256-checked, written to tmpfs
#   http-get  dgfs get --http-only: the same client work, every chunk by
#             GET /chunks/{id} from the asked host (which fetches what it
#             lacks from a replica)
#   curl      curl GET /files/{path}, keep-alive, to /dev/null: the host
#             assembles the file, fetching chunks it lacks from replicas
#
#   tests/bench/cluster.sh --only reads BUILD     (host: boots the VM with this)
#   BENCH_HOSTS="1 3 5" BENCH_MODES="fast http-get curl" BENCH_ROUNDS=3 BENCH_CLIENTS=6
#   BENCH_FILES=6 BENCH_FILE_MB=4
# The guest has not the host's environment: these come from the file
# $BENCH_ENV (default $DGFS_OUT/bench-cluster.env, which tests/bench/cluster.sh
# writes), or from the environment of a script that runs this one in the VM.
#
# On the host (tests/vm/bench_cluster.sh BUILD, as root; without dgfs.ko,
# which the host cannot load): the same, every dgfsd --kmod off, so the
# fast path is dgfsd's userspace UDP tier and no XDP program runs.
set -u
cd "$(dirname "$0")/../.."
if [[ ${DGFS_VM:-} == 1 ]]; then
	. tests/vm/common.sh
	WHERE=vm W=/mnt GOT=/tmp/bcl-got KMOD=(--kmod require)
else
	. tests/lib.sh
	BUILD=${1:-build} CTL=${1:-build}/dgfsctl
	WHERE=host W=$(mktemp -d "${BENCH_TMP:-/tmp}/bcl.XXXXXX") GOT=/dev/shm/bcl-got.$$ KMOD=(--kmod off)
	chmod 755 "$W"	# PostgreSQL runs as nobody
	export HOME=$W	# no client config of the host's root
fi

BENCH_ENV=${BENCH_ENV:-${DGFS_OUT:-/nonexistent}/bench-cluster.env}
[[ ! -r $BENCH_ENV ]] || . "$BENCH_ENV"
SIZES=(${BENCH_HOSTS:-1 3 5})
MODES=(${BENCH_MODES:-fast http-get curl})
ROUNDS=${BENCH_ROUNDS:-3}
CLIENTS=${BENCH_CLIENTS:-6}
NFILES=${BENCH_FILES:-6}
FILE_MB=${BENCH_FILE_MB:-4}
OUT=${BENCH_OUT:-${DGFS_OUT:-$W}}
DGFS=$BUILD/dgfs
DGFSD=$BUILD/dgfsd
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PG_DIR=$W/pg
# Namespaces: the client's, a router's, and one per host.
P=bcl$$
cli=$P-cli rt=$P-rt
c() { ip netns exec $cli "$@"; }
pg() { (cd / && runuser -u nobody -- "$@"); }
# Host j of the cluster of N hosts: namespace $P-N-j, address 198.18.K.2
# (K counts the hosts of every cluster), its veth bN-j there.
declare -A ADDR DPID
HOSTS=()
k=0
for N in "${SIZES[@]}"; do
	for ((j = 1; j <= N; j++)); do
		k=$((k + 1))
		HOSTS+=("$N-$j")
		ADDR[$N-$j]=198.18.$k.2
	done
done

cleanup() {
	local h
	for h in "${HOSTS[@]}"; do
		[[ -n ${DPID[$h]:-} ]] && kill "${DPID[$h]}" 2>/dev/null && wait "${DPID[$h]}" 2>/dev/null
		[[ $WHERE == host ]] || ip netns exec "$P-$h" $CTL xdp detach "b$h" 2>/dev/null
		ip netns del "$P-$h" 2>/dev/null
	done
	ip netns del $cli 2>/dev/null
	ip netns del $rt 2>/dev/null
	[[ -f $PG_DIR/data/postmaster.pid ]] &&
		pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
	rm -rf "$GOT"
	[[ $WHERE == vm ]] || rm -rf "$W"
}
trap cleanup EXIT
echo "$WHERE: $(nproc) CPUs, $(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) MiB;" \
	"load average $(cut -d' ' -f1-3 /proc/loadavg) ($WHERE)"
[[ $WHERE == host ]] || dgfs_load

# link NS DEV K: a veth from the router's namespace to NS, DEV in NS at
# 198.18.K.2/24, its peer vDEV at 198.18.K.1, NS's gateway.
link() {
	local n=$1 dev=$2 k=$3
	ip netns add "$n" &&
		ip link add "$dev" netns "$n" type veth peer name "v$dev" netns $rt &&
		ip -n $rt addr add "198.18.$k.1/24" dev "v$dev" && ip -n $rt link set "v$dev" up &&
		ip -n "$n" addr add "198.18.$k.2/24" dev "$dev" &&
		ip -n "$n" link set "$dev" up && ip -n "$n" link set lo up &&
		ip -n "$n" route add default via "198.18.$k.1"
}
net() {
	local h
	ip netns add $rt && ip -n $rt link set lo up &&
		ip netns exec $rt sysctl -qw net.ipv4.ip_forward=1 || return 1
	link $cli bc0 0 || return 1
	for h in "${HOSTS[@]}"; do
		link "$P-$h" "b$h" "$(cut -d. -f3 <<<"${ADDR[$h]}")" || return 1
	done
}
check "a namespace per host (${#HOSTS[@]}) and a client's, routed by a router's" net || finish

pg_up() {
	[[ -x $PG_BIN/initdb ]] || { echo "no PostgreSQL"; return 1; }
	rm -rf "$PG_DIR" && mkdir -p "$PG_DIR" && chown nobody: "$PG_DIR" && chmod 755 "$PG_DIR" &&
		pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U dgfs -A trust -E UTF8 --no-sync \
			>"$W/initdb.log" 2>&1 &&
		pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 300 \
			-o "-c listen_addresses='' -k $PG_DIR -c fsync=off -c dynamic_shared_memory_type=mmap" \
			start >/dev/null 2>&1 || { tail -n 20 "$W/initdb.log" "$PG_DIR/server.log"; return 1; }
	for N in "${SIZES[@]}"; do
		"$PG_BIN/psql" -X -q -h $PG_DIR -U dgfs -d postgres -c "CREATE DATABASE c$N" || return 1
	done
}
check "PostgreSQL starts, a database per cluster" pg_up || finish
SECRET=$W/cluster.secret
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >$SECRET && chmod 600 $SECRET

# start N-J: host J of the cluster of N, its dgfsd with dgfs.ko, XDP on its veth.
start() {
	local h=$1 N=${1%-*} i
	mkdir -p "$W/state-$h"
	ip netns exec "$P-$h" "$DGFSD" --state-dir "$W/state-$h" "${KMOD[@]}" \
		--metadata "postgresql:///c$N?host=$PG_DIR&user=dgfs" --host-id "h${h#*-}" \
		--public-host "${ADDR[$h]}" --heartbeat 2 --down-after 60 \
		--cluster-secret-file $SECRET --replicas $((N < 3 ? N : 3)) --repair-interval 3600 \
		--public-read --access-log off --tagger off >>"$W/dgfsd-$h.log" 2>&1 &
	DPID[$h]=$!
	for ((i = 0; i < 300; i++)); do
		c curl -s -o /dev/null "http://${ADDR[$h]}:8080/healthz" && break
		sleep 0.2
	done
	((i < 300)) || { tail -n 20 "$W/dgfsd-$h.log"; return 1; }
	[[ $WHERE == host ]] || ip netns exec "$P-$h" $CTL xdp attach "b$h" mode native
}
for h in "${HOSTS[@]}"; do
	check "host $h (${ADDR[$h]}): dgfsd ${KMOD[*]}$([[ $WHERE == host ]] || echo ", XDP on b$h")" start "$h" || finish
done
# up N: how many hosts the first host of cluster N sees up.
up() {
	c curl -sf "http://${ADDR[$1-1]}:8080/cluster/hosts" -H "Authorization: Bearer ${KEY[$1]}" |
		python3 -c 'import json, sys; print(sum(h["up"] for h in json.load(sys.stdin)["hosts"]))'
}
declare -A KEY
for N in "${SIZES[@]}"; do
	KEY[$N]=$(cat "$W/state-$N-1/admin.key")
	all_up() { [[ $(up "$N") == "$N" ]]; }
	check "cluster of $N: every host up" wait_for 60 all_up
done
sleep 5		# every member list refreshed (heartbeat 2 s)

src=$W/src
mkdir -p $src "$OUT"
for ((f = 0; f < NFILES; f++)); do
	head -c $((FILE_MB << 20)) /dev/urandom >$src/f$f
done
# upload N: every file into cluster N, file f through its host f % N + 1.
upload() {
	local N=$1 f code
	for ((f = 0; f < NFILES; f++)); do
		code=$(c curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${KEY[$N]}" \
			-T $src/f$f "http://${ADDR[$N-$((f % N + 1))]}:8080/files/b/f$f")
		[[ $code == 201 ]] || { echo "f$f into cluster $N: HTTP $code"; return 1; }
	done
}
for N in "${SIZES[@]}"; do
	check "cluster of $N: $NFILES files of $FILE_MB MiB uploaded through its hosts" upload "$N" || finish
done

# client MODE N J [VERIFY]: client J's reads of every file from host
# J % N + 1; fails if one did (the fast path: a chunk not over UDP). With
# VERIFY each file is also compared with its source (dgfs get checks every
# chunk's and the file's SHA-256 itself; curl does not).
client() {
	local mode=$1 N=$2 j=$3 verify=${4:-} f i host urls=() d=$GOT/$j
	host=${ADDR[$N-$((j % N + 1))]}
	rm -rf "$d" && mkdir -p "$d"
	for ((i = 0; i < NFILES; i++)); do
		f=f$(((i + j) % NFILES))
		case $mode in
		fast) c "$DGFS" --server "http://$host:8080" get -q --no-fallback "b/$f" "$d/$f" || return 1 ;;
		http-get) c "$DGFS" --server "http://$host:8080" get -q --http-only "b/$f" "$d/$f" || return 1 ;;
		curl) urls+=("http://$host:8080/files/b/$f" -o "$([[ -n $verify ]] && echo "$d/$f" || echo /dev/null)") ;;
		esac
		[[ $mode == curl || -z $verify ]] || cmp -s "$d/$f" "$src/$f" || return 1
		[[ $mode == curl ]] || rm -f "$d/$f"
	done
	if [[ $mode == curl ]]; then
		c curl -sf "${urls[@]}" || return 1
		[[ -z $verify ]] || for ((i = 0; i < NFILES; i++)); do
			cmp -s "$d/f$i" "$src/f$i" || return 1
		done
	fi
	rm -rf "$d"
}
# cell MODE N: CLIENTS clients at once; prints seconds, or fails.
cell() {
	local mode=$1 N=$2 j pids=() t0 t1 bad=0
	t0=$(date +%s.%N)
	for ((j = 0; j < CLIENTS; j++)); do
		client "$mode" "$N" "$j" &
		pids+=($!)
	done
	for j in "${pids[@]}"; do wait "$j" || bad=1; done
	t1=$(date +%s.%N)
	((bad == 0)) && awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

# Per host: fast-path replies and bytes (dgfs.ko's counters), to see the spread.
kstats() {
	local h
	[[ $WHERE == vm ]] || return 0
	for h in "${HOSTS[@]}"; do
		echo "$h $(ip netns exec "$P-$h" $CTL stats | awk '$1 == "replies" || $1 == "bytes" { printf "%s ", $2 }')"
	done
}

# A first read of everything in each cluster and mode: page caches warm,
# every path proven to work before it is timed.
for N in "${SIZES[@]}"; do
	for m in "${MODES[@]}"; do
		check "cluster of $N, $m: a warm-up read, every file byte-exact" client "$m" "$N" 0 verify || finish
	done
done
kstats >"$OUT/kstats.before"
MB=$((CLIENTS * NFILES * FILE_MB))
: >"$OUT/results"
echo "cells: $CLIENTS clients, each reading $NFILES files of $FILE_MB MiB ($MB MiB a cell)"
for ((r = 1; r <= ROUNDS; r++)); do
	echo "round $r, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	# Turn the order each round: sizes, and modes within each.
	order=("${SIZES[@]:$(((r - 1) % ${#SIZES[@]}))}" "${SIZES[@]:0:$(((r - 1) % ${#SIZES[@]}))}")
	for N in "${order[@]}"; do
		for ((i = 0; i < ${#MODES[@]}; i++)); do
			m=${MODES[$(((i + r - 1) % ${#MODES[@]}))]}
			s=$(cell "$m" "$N") || { fail "round $r, $N hosts, $m: a client failed"; continue; }
			printf '%s %s %s %s %s\n' "$r" "$N" "$m" "$MB" "$s" >>"$OUT/results"
			awk -v n="$N" -v m="$m" -v mb="$MB" -v s="$s" \
				'BEGIN { printf "  %d hosts  %-8s %4d MiB in %6.2f s = %7.1f MB/s\n", n, m, mb, s, mb * 1.048576 / s }'
		done
	done
done
kstats >"$OUT/kstats.after"
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"

# The table: medians of the rounds; scaling against 1 host and fast path
# against each HTTP mode taken within a round, median of those.
python3 - "$OUT/results" "$OUT/kstats.before" "$OUT/kstats.after" <<'PY'
import collections, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
rate = {}
for r, n, m, mb, s in rows:
    rate[(int(r), int(n), m)] = float(mb) * 1.048576 / float(s)
sizes = sorted({k[1] for k in rate})
modes = list(dict.fromkeys(k[2] for k in rate))
rounds = sorted({k[0] for k in rate})
def med(xs):
    return statistics.median(xs) if xs else float("nan")
print()
print("| hosts | mode | MB/s (median) | rounds | vs 1 host | fast vs this |")
print("|---:|---|---:|---|---:|---:|")
for n in sizes:
    for m in modes:
        xs = [rate[(r, n, m)] for r in rounds if (r, n, m) in rate]
        base = [rate[(r, n, m)] / rate[(r, sizes[0], m)] for r in rounds
                if (r, n, m) in rate and (r, sizes[0], m) in rate]
        fv = [rate[(r, n, "fast")] / rate[(r, n, m)] for r in rounds
              if (r, n, m) in rate and (r, n, "fast") in rate]
        print("| %d | %s | %.1f | %s | %s | %s |" % (
            n, m, med(xs), " ".join("%.1f" % x for x in xs),
            "%.2fx" % med(base) if n != sizes[0] and base else "-",
            "%.2fx" % med(fv) if m != "fast" and fv else "-"))
b = {l.split()[0]: l.split()[1:] for l in open(sys.argv[2])}
a = {l.split()[0]: l.split()[1:] for l in open(sys.argv[3])}
if a:
    print()
    print("what each host's dgfs.ko served over the timed rounds (its counters):")
for h in a:
    d = [int(y) - int(x) for x, y in zip(b.get(h, ["0", "0"]), a[h])]
    if len(d) == 2:
        print("  host %s: %d replies, %.1f MB" % (h, d[0], d[1] / 1e6))
PY

for h in "${HOSTS[@]}"; do
	kill "${DPID[$h]}" && wait "${DPID[$h]}" && rc=0 || rc=$?
	DPID[$h]=
	[[ $rc == 0 ]] || fail "host $h: dgfsd exits 0 on SIGTERM (exit $rc)"
done
cleanup
trap - EXIT
[[ $WHERE == host ]] || dgfs_unload
finish
