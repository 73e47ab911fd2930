#!/usr/bin/env bash
# Numbers, not a test (`make bench-cluster`, docs/BENCHMARKS.md "Many
# hosts"): how fast repair gives every chunk its R copies again after a
# host dies. Five plain dgfsds in one namespace (tests/dgfsd/cluster.sh),
# one PostgreSQL server of the run's own (fsync on), R=3, heartbeat 1 s,
# --down-after 4, --repair-interval 1, chunk files on the run's temp
# directory's disk. A round: a fresh database and state directories,
# BENCH_REPAIR_MB (default 512) of random files of 8 MiB uploaded through
# the hosts in turn, then one host that is not the owner of background
# work SIGKILLed; timed until the cluster lists it down, and until every
# chunk of a file has 3 copies on the live hosts again (chunk_copies,
# polled every 0.05 s or so, one query), noting when it is down (by the
# database's clock, as dgfsd judges) and when the first new copy is
# recorded. MB/s: the bytes
# of the copies the dead host held over the time from the first copy to
# "repaired", and over the time from the kill (which adds --down-after
# and the wait for the next pass). Each --repair-rate of BENCH_REPAIR_RATES (MB/s; default
# "64 100000": dgfsd's default, and as good as none) in every round, in
# turns, BENCH_ROUNDS rounds (default 2). BENCH_REPAIR_LOG=FILE keeps the
# dgfsds' log.
#   tests/dgfsd/bench_repair.sh BUILD_DIR      (as root)
set -u
cd "$(dirname "$0")/../.."
. tests/dgfsd/cluster.sh
DGFSD=${1:-build}/dgfsd
dgfsd_setup "${1:-build}"
MB=${BENCH_REPAIR_MB:-512}
ROUNDS=${BENCH_ROUNDS:-2}
RATES=(${BENCH_REPAIR_RATES:-64 100000})
FILE_MB=8
HB=1 DOWN=4
HOSTS=(h1 h2 h3 h4 h5)

PG_FSYNC=on
check "PostgreSQL of the run's own starts (fsync on)" pg_start || finish
SECRET=$T/cluster.secret
cluster_secret "$SECRET"
# q SQL: one query on the round's database.
q() { "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_DIR" -U dgfs -d "$DB" -c "$1"; }

mkdir -p "$T/src"
NF=$(((MB + FILE_MB - 1) / FILE_MB))
for ((f = 0; f < NF; f++)); do
	head -c $((FILE_MB << 20)) /dev/urandom >"$T/src/f$f"
done
echo "$NF files of $FILE_MB MiB; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# The chunks some file references that have fewer than 3 copies on the
# hosts of the list that follows it (and a closing parenthesis).
SHORT="SELECT count(*) FROM chunks c WHERE c.refs > 0 AND 3 > (SELECT count(*) FROM chunk_copies k WHERE k.chunk_id = c.id AND k.host_id IN "
short() {
	local in
	in=$(printf "'%s'," "$@")
	q "$SHORT(${in%,}))"
}
# hosts_json PORT: /cluster/hosts as the host on PORT sees it, in $T/hosts.json.
hosts_json() { n curl -sf "http://127.0.0.1:$1/cluster/hosts" >"$T/hosts.json"; }

# round R RATE: one kill and repair; prints its line, appends to $T/results.
round() {
	local r=$1 rate=$2 h i code owner victim live=() bytes nchunks t0 tdown tcopy tdone now copied0 copied1 oport in poll isdown ncopies ncopies0 nshort
	DB=r${r}_$rate
	pg_sql "CREATE DATABASE $DB" || return 1
	local uri="postgresql:///$DB?host=$PG_DIR&user=dgfs"
	mkdir -p "$T/$DB"
	for ((i = 1; i <= 5; i++)); do
		cluster_host "h$i" $((8079 + i)) "$T/$DB/h$i" --metadata "$uri" --kmod off --access-log off \
			--tagger off --public-host 127.0.0.1 --host-id "h$i" --heartbeat $HB --down-after $DOWN \
			--cluster-secret-file "$SECRET" --replicas 3 --repair-interval 1 --repair-rate "$rate" ||
			{ echo "h$i did not start; the log ends:"; tail -n 5 "$T/dgfsd.log"; return 1; }
	done
	STATE=$T/$DB/h1		# n's key: the cluster's admin key, which h1 made
	all_up() { hosts_json 8080 && [[ $(jget "$T/hosts.json" 'sum(h["up"] for h in j["hosts"])') == 5 ]]; }
	wait_for 30 all_up || { echo "not five hosts up"; return 1; }
	sleep $((HB * 3))	# every member list has all five
	for ((f = 0; f < NF; f++)); do
		code=$(n curl -s -o /dev/null -w '%{http_code}' -T "$T/src/f$f" \
			"http://127.0.0.1:$((8080 + f % 5))/files/b/f$f")
		[[ $code == 201 ]] || { echo "upload of f$f: HTTP $code"; return 1; }
	done
	[[ $(short "${HOSTS[@]}") == 0 ]] || { echo "chunks short of copies before the kill"; return 1; }
	hosts_json 8080 && owner=$(jget "$T/hosts.json" '[h["id"] for h in j["hosts"] if h["owner"]][0]')
	[[ -n $owner ]] || { echo "no owner of background work"; return 1; }
	# The last host that is not the owner dies; the owner's repair does the work.
	for h in "${HOSTS[@]}"; do [[ $h == "$owner" ]] || victim=$h; done
	for h in "${HOSTS[@]}"; do [[ $h == "$victim" ]] || live+=("$h"); done
	oport=$((8079 + ${owner#h}))
	read -r nchunks bytes < <(q "SELECT count(*), coalesce(sum(c.size), 0) FROM chunk_copies k JOIN chunks c ON c.id = k.chunk_id WHERE k.host_id = '$victim' AND c.refs > 0" | tr '|' ' ')
	copied() { n curl -sf "http://127.0.0.1:$oport/metrics" | awk '$1 == "dgfsd_repair_bytes_total" { print $2 + 0 }'; }
	copied0=$(copied)
	in=$(printf "'%s'," "${live[@]}")
	# One query a poll, by the database's clock as dgfsd judges hosts: is
	# the victim down, the live hosts' copies, the chunks still short.
	poll="SELECT (SELECT now() - heartbeat > make_interval(secs => $DOWN) FROM hosts WHERE id = '$victim'), (SELECT count(*) FROM chunk_copies WHERE host_id IN (${in%,})), ($SHORT(${in%,})))"
	IFS='|' read -r _ ncopies0 _ < <(q "$poll")
	t0=$EPOCHREALTIME
	kill -9 "${PID[$victim]}"
	wait "${PID[$victim]}" 2>/dev/null
	PID[$victim]=
	# Until no chunk is short: when the host is down, and when the first
	# new copy is recorded.
	tdown= tcopy=
	while :; do
		IFS='|' read -r isdown ncopies nshort < <(q "$poll")
		now=$EPOCHREALTIME
		[[ -n $tdown || $isdown != t ]] || tdown=$now
		[[ -n $tcopy ]] || ((ncopies == ncopies0)) || tcopy=$now
		[[ $nshort == 0 ]] && break
		((${now%.*} - ${t0%.*} < 600)) || { echo "not repaired within 600 s"; return 1; }
		sleep 0.05
	done
	tdone=$now
	copied1=$(copied)
	awk -v r="$r" -v rate="$rate" -v v="$victim" -v o="$owner" -v n="$nchunks" -v b="$bytes" \
		-v t0="$t0" -v td="${tdown:-$tdone}" -v tc="${tcopy:-$tdone}" -v te="$tdone" \
		-v c="$((${copied1:-0} - ${copied0:-0}))" -v f="$T/results" 'BEGIN {
		printf "round %d, --repair-rate %d: %s killed (owner %s), %d chunks, %.1f MB: down " \
			"after %.1f s, first copy after %.1f s, repaired after %.1f s: %.1f MB/s from the " \
			"first copy, %.1f MB/s from the kill; the owner copied %.1f MB\n", r, rate, v, o, n,
			b / 1e6, td - t0, tc - t0, te - t0, b / 1e6 / (te - tc > 0.05 ? te - tc : 0.05),
			b / 1e6 / (te - t0), c / 1e6
		printf "%d %d %.3f %.3f %.3f %d %d\n", r, rate, td - t0, tc - t0, te - t0, b, c >> f
	}'
	others_stop || echo "a dgfsd did not stop cleanly"
	[[ -z ${BENCH_REPAIR_LOG:-} ]] || cp "$T/dgfsd.log" "$BENCH_REPAIR_LOG"
	rm -rf "${T:?}/$DB"
}

: >"$T/results"
for ((r = 1; r <= ROUNDS; r++)); do
	# Turn the order of the rates each round.
	order=("${RATES[@]:$(((r - 1) % ${#RATES[@]}))}" "${RATES[@]:0:$(((r - 1) % ${#RATES[@]}))}")
	for rate in "${order[@]}"; do
		echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
		round "$r" "$rate" || { fail "round $r, --repair-rate $rate"; others_stop; }
	done
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
python3 - "$T/results" <<'PY'
import collections, statistics, sys
by = collections.defaultdict(list)
for line in open(sys.argv[1]):
    r, rate, down, first, done, b, c = line.split()
    by[int(rate)].append((float(down), float(first), float(done), int(b)))
med = statistics.median
print()
print("| --repair-rate | MB to copy | down | first copy | repaired | MB/s from the first copy "
      "| MB/s from the kill | rounds |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for rate, xs in sorted(by.items()):
    print("| %d MB/s | %.0f | %.1f s | %.1f s | %.1f s | %.1f | %.1f | %d |" % (
        rate, med([x[3] for x in xs]) / 1e6, med([x[0] for x in xs]), med([x[1] for x in xs]),
        med([x[2] for x in xs]), med([x[3] / 1e6 / max(x[2] - x[1], 0.05) for x in xs]),
        med([x[3] / 1e6 / x[2] for x in xs]), len(xs)))
PY
finish
