#!/usr/bin/env bash
# PostgreSQL restarted mid-upload (issue 14, docs/CLUSTER.md "If the
# database goes away"): three dgfsds on one PostgreSQL database of the
# test's own, R=3 W=2. Twice (pg_ctl stop -m fast, then -m immediate, each
# time started again on the same data directory) the server goes away
# while uploads are in flight through every host (rate-limited, so each
# is still sending when it stops). Then every upload either answered 201
# and its file reads back byte-exact from every host, or answered a 5xx
# with a message and left nothing: GET 404 on every host, no listing
# entry, no row in the database. The metadata holds no half-committed
# file (chunk lists, refs, chunk_copies and the chunk files agree); every
# dgfsd is still running, registers again, and the next upload through
# each host commits at the first try.
#   tests/dgfsd/test_cluster_pgrestart.sh BUILD_DIR      (as root)
# expect-checks: 36
set -u
cd "$(dirname "$0")/../.."
. tests/dgfsd/cluster.sh
dgfsd_setup "${1:-build}"

NUP=${NUP:-6}		# uploads in flight per restart
HB=1 DOWN=6
HOSTS=(h1 h2 h3)

check "a PostgreSQL server of the test's own starts" pg_start || finish
cluster_dirs 3 --replicas 3
check "h1 starts" dgfsd_start "${COMMON[@]}" --host-id h1 || finish
for h in h2 h3; do
	check "$h starts" start_other "$h" "${PORT[$h]}" "${SDIR[$h]}" --host-id "$h" || finish
done
all_up() { [[ $(ups 8080) == "h1:1 h2:1 h3:1" ]]; }
check "every host sees three hosts up" wait_for 30 all_up
sleep $((HB * 3))	# every member list refreshed

# alive: every dgfsd still runs.
alive() {
	kill -0 "$DGFSD_PID" "${PID[h2]}" "${PID[h3]}" 2>/dev/null
}
# status_everywhere PATH: "h1:CODE h2:CODE h3:CODE" of GET /files/PATH.
status_everywhere() {
	local h out=
	for h in "${HOSTS[@]}"; do
		out+="$h:$(n curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[$h]}/files/$1") "
	done
	echo "${out% }"
}
# listed PREFIX: the paths GET /files/?prefix=PREFIX lists on h1.
listed() {
	n curl -sf "http://127.0.0.1:8080/files/?prefix=$1" >"$T/list.json" &&
		jget "$T/list.json" '" ".join(sorted(f["path"] for f in j["files"]))'
}
# halves: files whose chunk list is not the whole file, chunks whose refs
# are not their references, file_chunks of a chunk with no row.
halves() {
	pg_sql "SELECT (SELECT count(*) FROM files f WHERE f.nchunks <> (SELECT count(*) FROM file_chunks fc WHERE fc.file_id = f.id) OR f.size <> (SELECT coalesce(sum(fc.size), 0) FROM file_chunks fc WHERE fc.file_id = f.id)) || ' ' || (SELECT count(*) FROM chunks c WHERE c.refs <> (SELECT count(*) FROM file_chunks fc WHERE fc.chunk_id = c.id)) || ' ' || (SELECT count(*) FROM file_chunks fc WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = fc.chunk_id))"
}
# unbacked: chunks of committed files with fewer than 2 (W) copies that
# are chunk files on live hosts.
unbacked() {
	pg_sql "SELECT encode(chunk_id, 'hex') || ' ' || host_id FROM chunk_copies" | sort >"$T/copies.table"
	on_disk "${HOSTS[@]}" >"$T/copies.disk"
	comm -12 "$T/copies.table" "$T/copies.disk" | cut -d' ' -f1 | sort | uniq -c |
		awk '$1 >= 2 { print $2 }' >"$T/backed"
	pg_sql "SELECT DISTINCT encode(chunk_id, 'hex') FROM file_chunks" | sort |
		comm -23 - "$T/backed" | wc -l
}

# round MODE NAME: NUP uploads of 3 to 4 MB through h1..h3 at 150 to 400
# KB/s (8 to 25 s each); PostgreSQL stopped with MODE 3 s in, started
# again 4 s later; then the checks.
round() {
	local mode=$1 p=$2 i h code pids=() inflight=0 ok=0 bad=0 gone=0 answered=0 files
	mkdir -p "$T/$p"
	for ((i = 0; i < NUP; i++)); do
		head -c $((3000000 + i * 173417)) /dev/urandom >"$T/$p/u$i"
	done
	for ((i = 0; i < NUP; i++)); do
		h=${HOSTS[i % 3]}
		n curl -s -o "$T/$p/u$i.body" -w '%{http_code}' --limit-rate $((150 + i * 50))k \
			--max-time 120 -T "$T/$p/u$i" "http://127.0.0.1:${PORT[$h]}/files/$p/u$i" \
			>"$T/$p/u$i.code" 2>/dev/null &
		pids+=($!)
	done
	sleep 3
	for i in "${pids[@]}"; do kill -0 "$i" 2>/dev/null && inflight=$((inflight + 1)); done
	same "$p: all $NUP uploads are still sending when PostgreSQL stops ($mode)" "$inflight" "$NUP"
	check "$p: pg_ctl stop -m $mode" pg_stop "$mode"
	sleep 4
	check "$p: PostgreSQL starts again on the same data directory" pg_restart
	wait "${pids[@]}"
	files=$(pg_sql "SELECT string_agg(convert_from(path, 'UTF8'), ' ' ORDER BY path) FROM files WHERE convert_from(path, 'UTF8') LIKE '$p/%'")
	for ((i = 0; i < NUP; i++)); do
		code=$(cat "$T/$p/u$i.code")
		if [[ $code == 201 ]]; then
			ok=$((ok + 1))
			for h in "${HOSTS[@]}"; do
				code=$(n curl -s --max-time 60 -o "$T/got" -w '%{http_code}' \
					"http://127.0.0.1:${PORT[$h]}/files/$p/u$i")
				cmp -s "$T/got" "$T/$p/u$i" && continue
				bad=$((bad + 1))
				echo "    $p/u$i through $h: $code $(head -c 200 "$T/got")"
			done
		elif [[ $code == 5[0-9][0-9] && -s $T/$p/u$i.body ]]; then
			echo "    $p/u$i: $code $(head -c 200 "$T/$p/u$i.body")"
			code=$(status_everywhere "$p/u$i")
			[[ $code == "h1:404 h2:404 h3:404" && " $files " != *" $p/u$i "* ]] && continue
			gone=$((gone + 1))
			echo "    $p/u$i: GET $code; in the database: $files"
		else
			answered=$((answered + 1))
			echo "    $p/u$i: answered '$code' ($(head -c 200 "$T/$p/u$i.body" 2>/dev/null))"
		fi
	done
	echo "    $p: $ok of $NUP committed"
	same "$p: every upload answered 201, or a 5xx with a message" "$answered" 0
	same "$p: each of the $ok that answered 201 reads back byte-exact from every host" "$bad" 0
	same "$p: each that failed left no file: 404 on every host, no row" "$gone" 0
	same "$p: the listing holds exactly the files that answered 201" "$(listed "$p/")" \
		"$(for ((i = 0; i < NUP; i++)); do [[ $(cat "$T/$p/u$i.code") == 201 ]] && echo "$p/u$i"; done | sort | paste -sd' ')"
	same "$p: no half-committed file: every chunk list whole, every refs right, no dangling chunk" \
		"$(halves)" "0 0 0"
	same "$p: every chunk of a committed file has W=2 copies in chunk_copies that are chunk files" \
		"$(unbacked)" 0
	check "$p: no dgfsd crashed" alive
	check "$p: every host sees three hosts up again" wait_for 60 all_up
	# The first try: a dgfsd that still held a dead session would fail it.
	head -c 2500000 /dev/urandom >"$T/$p/after"
	code=
	for h in "${HOSTS[@]}"; do
		code+="$(n curl -s -o /dev/null -w '%{http_code}' -T "$T/$p/after" \
			"http://127.0.0.1:${PORT[$h]}/files/$p/after-$h") "
	done
	same "$p: the next upload through each host commits at the first try" "${code% }" "201 201 201"
	bad=0
	for h in "${HOSTS[@]}"; do
		n curl -s -o "$T/got" "http://127.0.0.1:8080/files/$p/after-$h"
		cmp -s "$T/got" "$T/$p/after" || bad=$((bad + 1))
	done
	same "$p: ... and each reads back byte-exact from h1" "$bad" 0
}

round fast a
round immediate b
shows "the hosts said they could not reach the database" 'cannot reach the database' cat "$T/dgfsd.log"

check "h2 and h3 stop cleanly" others_stop
lacks "no dgfsd wrote the cluster secret to its log" "$(cat "$SECRET")" cat "$T/dgfsd.log"
dgfsd_stop "h1 stops cleanly"
finish
