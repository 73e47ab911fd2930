#!/usr/bin/env bash
# A lost copy (docs/CLUSTER.md "A lost copy"): five dgfsds on one
# PostgreSQL database of the test's own, R=3.
# - h3 killed, some of its chunk files deleted by hand and one cut short,
#   h3 started again: its start-up removes exactly those chunks' records of
#   its own (a line each), lists no chunk it never held as missing, and
#   keeps every record whose file is there and every other host's.
# - Repair then brings each of those chunks back to exactly 3 copies (h3's
#   file made again) within a bound.
# - A chunk file deleted on h4 while it runs: its repair pass removes the
#   record and the copy is made again.
# - Every file reads byte-exact through every running host throughout (a
#   read loop), and from h3 at once after its restart.
#   tests/dgfsd/test_cluster_lost_copy.sh BUILD_DIR      (as root)
# expect-checks: 28
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
. tests/dgfsd/pg.sh
. tests/dgfsd/cluster.sh
dgfsd_setup "${1:-build}"

NFILES=${NFILES:-20}
HB=1 DOWN=4
# Seconds within which repair must restore every chunk's copies.
REPAIR_BOUND=${REPAIR_BOUND:-60}

# rows HOST: "CHUNK" of every chunk_copies row of HOST, sorted.
rows() { pg_sql "SELECT encode(chunk_id, 'hex') FROM chunk_copies WHERE host_id = '$1'" | sort; }
# table HOSTS...: "CHUNK HOST" for every row of chunk_copies on those hosts.
table() {
	local in
	in=$(printf "'%s'," "$@")
	pg_sql "SELECT encode(chunk_id, 'hex') || ' ' || host_id FROM chunk_copies WHERE host_id IN (${in%,})" | sort
}
# exactly3: every referenced chunk has exactly 3 rows, on distinct hosts.
exactly3() {
	[[ $(pg_sql "SELECT count(*) FROM chunks c WHERE c.refs > 0 AND (SELECT count(DISTINCT host_id) FROM chunk_copies k WHERE k.chunk_id = c.id) <> 3") == 0 ]]
}
# has_files HOST CHUNKS...: HOST holds every one of CHUNKS, each file its chunk's bytes.
has_files() {
	local h=$1 c
	shift
	for c in "$@"; do
		[[ -f ${SDIR[$h]}/chunks/$c ]] || return 1
		[[ $(sha256sum <"${SDIR[$h]}/chunks/$c" | cut -d' ' -f1) == "$c" ]] || return 1
	done
}
# restored HOST CHUNKS...: each of CHUNKS recorded on HOST again, its file there, and
# every chunk with exactly 3 copies.
restored() {
	local h=$1 c
	shift
	for c in "$@"; do
		[[ $(pg_sql "SELECT count(*) FROM chunk_copies WHERE host_id = '$h' AND chunk_id = '\\x$c'") == 1 ]] ||
			return 1
	done
	has_files "$h" "$@" && exactly3
}
host_metric() {
	n curl -sf "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'
}
# read_loop: until $T/reads.stop exists, every file through each running
# host (h3 only while $T/h3.up exists); "HOST FILE ok|bad" in $T/reads.log.
read_loop() {
	local i h r
	while :; do
		for ((i = 0; i < NFILES; i++)); do
			for h in h1 h2 h3 h4 h5; do
				[[ -e $T/reads.stop ]] && return 0
				[[ $h != h3 || -e $T/h3.up ]] || continue
				n curl -s --max-time 60 -o "$T/loop.got" "http://127.0.0.1:${PORT[$h]}/files/r/f$i"
				cmp -s "$T/loop.got" "$T/files/f$i" && r=ok || r=bad
				# h3 killed during this read: not a failure of the others.
				[[ $r == bad && $h == h3 && ! -e $T/h3.up ]] && r=skip
				echo "$h f$i $r" >>"$T/reads.log"
			done
		done
	done
}

check "a PostgreSQL server of the test's own starts" pg_start || finish
cluster_dirs 5 --replicas 3 --repair-interval 1
check "h1 starts" dgfsd_start "${COMMON[@]}" --host-id h1 || finish
for i in 2 3 4 5; do
	check "h$i starts" start_other h$i "${PORT[h$i]}" "${SDIR[h$i]}" --host-id h$i || finish
done
all_up() { [[ $(ups 8080) == "h1:1 h2:1 h3:1 h4:1 h5:1" ]]; }
check "every host sees five hosts up" wait_for 30 all_up
sleep $((HB * 3))	# every member list refreshed

make_files
same "all $NFILES uploads through h1..h5 answer 201" "$(upload_all 5)" "$NFILES"
check "every chunk has exactly 3 copies" exactly3
: >"$T/reads.log"
touch "$T/h3.up"
read_loop &
LOOP=$!

# --- h3 killed; files of its store deleted and one cut short; h3 again. ---
mapfile -t H3 < <(rows h3)
check "h3 holds at least 6 copies (${#H3[@]})" test "${#H3[@]}" -ge 6
rm -f "$T/h3.up"
kill -9 "${PID[h3]}"
wait "${PID[h3]}" 2>/dev/null
PID[h3]=
OTHERS_BEFORE=$(table h1 h2 h4 h5)
LOST=("${H3[@]:0:4}")
SHORT=${H3[4]}
rm -f "${LOST[@]/#/${SDIR[h3]}/chunks/}"
truncate -s 1000 "${SDIR[h3]}/chunks/$SHORT"
GONE=$(printf '%s\n' "${LOST[@]}" "$SHORT" | sort)
FROM=$(($(stat -c %s "$T/dgfsd.log") + 1))
# Its database session may take a moment to end (the id is in use till then).
for ((i = 0; i < 20; i++)); do
	start_other h3 "${PORT[h3]}" "${SDIR[h3]}" --host-id h3 && break
	sleep 0.5
done
h3_runs() { [[ -n ${PID[h3]} ]] && kill -0 "${PID[h3]}"; }
check "h3 starts again" h3_runs
touch "$T/h3.up"
same "right away, every file reads byte-exact from h3" "$(read_all "${PORT[h3]}")" 0
tail -c +"$FROM" "$T/dgfsd.log" >"$T/h3start.log"
same "h3's start-up log names the 5 lost copies, one line each, and no other chunk" \
	"$(grep -oE 'dgfsd: copies: chunk [0-9a-f]{64}' "$T/h3start.log" | awk '{ print $4 }' | sort)" \
	"$GONE"
lacks "... and lists no chunk it never held as missing" 'dgfsd: reconcile: chunk ' cat "$T/h3start.log"
shows "... and counts 5 chunks missing" 'reconcile: .*; 5 chunks missing;' cat "$T/h3start.log"
shows "... and one summary of its records checked" \
	"dgfsd: copies: 5 of this host's ${#H3[@]} chunk_copies records had no chunk file" cat "$T/h3start.log"
same "h3's /metrics counts 5 records removed" \
	"$(host_metric "${PORT[h3]}" dgfsd_repair_lost_copies_total)" 5
# Repair may have copied some back already: the records kept are those not lost.
KEPT=$(comm -23 <(printf '%s\n' "${H3[@]}") <(echo "$GONE"))
check "h3's records of the files still there all stay" \
	test -z "$(comm -23 <(echo "$KEPT") <(rows h3))"
check "no other host's record went" \
	test -z "$(comm -23 <(echo "$OTHERS_BEFORE") <(table h1 h2 h4 h5))"
T0=$SECONDS
# shellcheck disable=SC2086
check "within $REPAIR_BOUND s each lost chunk is back on h3 and every chunk has exactly 3 copies" \
	wait_for "$REPAIR_BOUND" restored h3 $GONE
echo "    (restored after $((SECONDS - T0)) s)"

# --- A file deleted on h4 while it runs: its repair pass notices. ---
mapfile -t H4 < <(rows h4)
DEL4=${H4[0]}
rm -f "${SDIR[h4]}/chunks/$DEL4"
T0=$SECONDS
check "a chunk file deleted on the running h4: within $REPAIR_BOUND s it is back and every chunk has exactly 3 copies" \
	wait_for "$REPAIR_BOUND" restored h4 "$DEL4"
echo "    (restored after $((SECONDS - T0)) s)"
shows "... h4 logged its record removed" "dgfsd: copies: chunk $DEL4 .* is missing here" \
	cat "$T/dgfsd.log"

touch "$T/reads.stop"
wait "$LOOP"
READS=$(wc -l <"$T/reads.log")
check "the read loop ran ($READS reads), h3 among its hosts" grep -q '^h3 ' "$T/reads.log"
same "every read through every running host was byte-exact" "$(grep -c ' bad$' "$T/reads.log")" 0
check "every chunk file on every host holds the bytes of its id" test "$(files_ok h1 h2 h3 h4 h5)" = 0
check "chunk_copies is exactly the hosts' chunk files" \
	test "$(table h1 h2 h3 h4 h5)" = "$(on_disk h1 h2 h3 h4 h5)"
finish
