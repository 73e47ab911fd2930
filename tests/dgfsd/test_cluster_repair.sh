#!/usr/bin/env bash
# Repair, rebalancing and draining (docs/CLUSTER.md): five dgfsds on one
# PostgreSQL database of the test's own, R=3.
# - A fetch from a replica for GET /files runs off the HTTP event thread:
#   with the hosts that hold a chunk stopped (SIGSTOP), another GET on the
#   same event thread (--http-threads 1) answers at once.
# - One host killed: within a bound every chunk has 3 copies again on
#   distinct live hosts (chunk_copies and the chunk files alike), and every
#   file reads back byte-exact from every live host.
# - A host that joins gets its share: every chunk it now owns copied to it,
#   every copy made goes to an owner by the rendezvous hash (computed here
#   apart from dgfsd, tests/dgfsd/rendezvous.py). The surplus copies wait
#   while the killed host is down; once it is forgotten they are trimmed,
#   and each chunk is held by exactly its 3 owners. A read loop through
#   every host meanwhile gets every file byte-exact, also while the new
#   host holds part of its share and while the surplus goes.
# - Trims that must be refused (no or a wrong signature, a chunk the host
#   owns, a copy the host lacks, a surplus copy whose owner lacks the
#   bytes) change nothing.
# - A host drained says when it holds nothing more; stopped, every file
#   still reads.
# - A peer that sends bytes that are not the chunk: repair refuses them and
#   records nothing.
#   tests/dgfsd/test_cluster_repair.sh BUILD_DIR      (as root)
# expect-checks: 88
set -u
cd "$(dirname "$0")/../.."
. tests/dgfsd/cluster.sh
dgfsd_setup "${1:-build}"

NFILES=${NFILES:-60}
HB=1 DOWN=4
# Seconds within which repair must restore every chunk's copies.
REPAIR_BOUND=${REPAIR_BOUND:-90}

# table HOSTS...: "CHUNK HOST" for every row of chunk_copies on those hosts.
table() {
	local in
	in=$(printf "'%s'," "$@")
	pg_sql "SELECT encode(chunk_id, 'hex') || ' ' || host_id FROM chunk_copies WHERE host_id IN (${in%,})" | sort
}
# short LIVE...: chunks (of files) with fewer than 3 copies on the hosts LIVE.
short() {
	local in
	in=$(printf "'%s'," "$@")
	pg_sql "SELECT count(*) FROM chunks c WHERE c.refs > 0 AND (SELECT count(DISTINCT host_id) FROM chunk_copies k WHERE k.chunk_id = c.id AND k.host_id IN (${in%,})) < 3"
}
repaired() { [[ $(short "$@") == 0 ]]; }
# copies_match LIVE...: the rows of the live hosts are their chunk files.
copies_match() { [[ $(table "$@") == "$(on_disk "$@")" ]]; }
host_metric() {
	n curl -sf "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'
}

check "a PostgreSQL server of the test's own starts" pg_start || finish
# Repair at 8 MB/s: a joining host's share takes seconds to copy, long
# enough for reads to run through every host meanwhile.
cluster_dirs 6 --replicas 3 --repair-interval 1 --repair-rate 8

# h1 serves HTTP on one event thread: a request that blocked it would
# stall every other one.
check "h1 starts (--http-threads 1)" dgfsd_start "${COMMON[@]}" --host-id h1 --http-threads 1 ||
	finish
for i in 2 3 4 5; do
	check "h$i starts" start_other h$i "${PORT[h$i]}" "${SDIR[h$i]}" --host-id h$i || finish
done
all_up() { [[ $(ups 8080) == "h1:1 h2:1 h3:1 h4:1 h5:1" ]]; }
check "every host sees five hosts up" wait_for 30 all_up
sleep $((HB * 3))	# every member list refreshed

make_files
same "all $NFILES uploads through h1..h5 answer 201" "$(upload_all 5)" "$NFILES"
CHUNKS=$(pg_sql "SELECT count(*) FROM chunks")
check "every chunk has 3 copies on h1..h5" repaired h1 h2 h3 h4 h5

# --- A fetch from a slow replica does not hold the event thread. ---
# A file whose first chunk h1 lacks, and one whose chunks h1 all has.
FAR=$(pg_sql "SELECT convert_from(f.path, 'UTF8') FROM files f JOIN file_chunks fc ON fc.file_id = f.id AND fc.idx = 0 WHERE NOT EXISTS (SELECT 1 FROM chunk_copies k WHERE k.chunk_id = fc.chunk_id AND k.host_id = 'h1') ORDER BY f.path LIMIT 1")
NEAR=$(pg_sql "SELECT convert_from(f.path, 'UTF8') FROM files f WHERE NOT EXISTS (SELECT 1 FROM file_chunks fc WHERE fc.file_id = f.id AND NOT EXISTS (SELECT 1 FROM chunk_copies k WHERE k.chunk_id = fc.chunk_id AND k.host_id = 'h1')) ORDER BY f.path LIMIT 1")
FARID=$(pg_sql "SELECT encode(fc.chunk_id, 'hex') FROM files f JOIN file_chunks fc ON fc.file_id = f.id AND fc.idx = 0 WHERE convert_from(f.path, 'UTF8') = '$FAR'")
mapfile -t HOLDERS < <(pg_sql "SELECT host_id FROM chunk_copies WHERE chunk_id = '\\x$FARID'")
check "a file h1 partly lacks (${FAR:-none}) and one it holds whole (${NEAR:-none})" \
	test -n "$FAR" -a -n "$NEAR" -a "${#HOLDERS[@]}" = 3
# Its holders stopped: they accept connections (the kernel does) and say nothing.
for h in "${HOLDERS[@]}"; do kill -STOP "${PID[$h]}"; done
n curl -s --max-time 60 -o "$T/far.got" "http://127.0.0.1:8080/files/$FAR" &
FARPID=$!
n curl -s --max-time 60 -o "$T/farchunk.got" "http://127.0.0.1:8080/chunks/$FARID" &
CHUNKPID=$!
sleep 0.5
NEARTIME=$(n curl -s --max-time 30 -o "$T/near.got" -w '%{time_total}' "http://127.0.0.1:8080/files/$NEAR")
HZTIME=$(n curl -s --max-time 30 -o /dev/null -w '%{time_total}' "http://127.0.0.1:8080/healthz")
check "while h1 waits on silent replicas, a GET of a file it holds answers within 1 s (${NEARTIME}s)" \
	awk -v t="$NEARTIME" 'BEGIN { exit !(t > 0 && t < 1) }'
check "... and /healthz within 1 s (${HZTIME}s)" awk -v t="$HZTIME" 'BEGIN { exit !(t > 0 && t < 1) }'
check "... and that file is byte-exact" cmp -s "$T/near.got" "$T/files/${NEAR#r/}"
for h in "${HOLDERS[@]}"; do kill -CONT "${PID[$h]}"; done
wait "$FARPID" "$CHUNKPID"
check "the replicas woken, the slow GET of $FAR completes byte-exact" \
	cmp -s "$T/far.got" "$T/files/${FAR#r/}"
same "... and so does GET /chunks/{id} of its first chunk" \
	"$(sha256sum <"$T/farchunk.got" | cut -d' ' -f1)" "$FARID"
check "every host sees five hosts up again" wait_for 30 all_up

# owner_port: the HTTP port of the owner of background work (repair runs there).
owner_port() {
	local o
	n curl -sf "http://127.0.0.1:8080/cluster/hosts" >"$T/hosts.json" || return 1
	o=$(jget "$T/hosts.json" '[h["id"] for h in j["hosts"] if h["owner"]][0]')
	[[ -n $o && -n ${PORT[$o]-} ]] && echo "${PORT[$o]}"
}

# --- One host of five killed: repair restores three copies. ---
OWNER=$(owner_port)
check "one host owns background work (port ${OWNER:-none})" test -n "$OWNER"
wait_short0() { [[ $(host_metric "$(owner_port)" 'dgfsd_repair_chunks{state="short"}') == 0 ]]; }
check "its /metrics says no chunk is short of copies" wait_for 30 wait_short0
COPIED0=$(host_metric "$OWNER" 'dgfsd_repair_copies_total{result="copied"}')
same "... and repair copied nothing while every chunk had its copies" "$COPIED0" 0
kill -9 "${PID[h3]}"
wait "${PID[h3]}" 2>/dev/null
PID[h3]=
H3_COPIES=$(pg_sql "SELECT count(*) FROM chunk_copies WHERE host_id = 'h3'")
T0=$SECONDS
check "h3 killed (it held $H3_COPIES copies): within $REPAIR_BOUND s every chunk has 3 copies on live hosts again" \
	wait_for "$REPAIR_BOUND" repaired h1 h2 h4 h5
echo "    (repaired after $((SECONDS - T0)) s; h3 is down after ${DOWN} s)"
LIVE=(h1 h2 h4 h5)
check "... chunk_copies of the live hosts are exactly their chunk files" copies_match "${LIVE[@]}"
same "... on distinct hosts: no chunk listed twice for a host, $CHUNKS chunks with >= 3" \
	"$(pg_sql "SELECT count(*) FROM (SELECT chunk_id FROM chunk_copies WHERE host_id IN ('h1','h2','h4','h5') GROUP BY chunk_id HAVING count(DISTINCT host_id) >= 3) x")" \
	"$CHUNKS"
same "... and every chunk file holds the bytes of its id" "$(files_ok "${LIVE[@]}")" 0
for h in "${LIVE[@]}"; do
	same "h3 killed and repaired: every file reads back byte-exact from $h" "$(read_all "${PORT[$h]}")" 0
done
OWNER=$(owner_port)
check "the owner's /metrics counts the copies it made (>= $H3_COPIES)" \
	test "$(host_metric "$OWNER" 'dgfsd_repair_copies_total{result="copied"}')" -ge "$H3_COPIES"
check "... and says no chunk is short of copies" wait_for 30 wait_short0

# --- A host joins: it gets its share, the surplus copies go, reads stay right. ---
# read_loop HOSTS...: until $T/reads.stop exists, every file through each
# of HOSTS in turn; a line "H6COPIES COPIES TRIMS HOST FILE ok|bad" for
# each read in $T/reads.log, H6COPIES being h6's chunk_copies rows when it
# began, COPIES those of every host but the dead h3, and TRIMS 1 once
# $T/trimming exists (the cluster whole, trims may run), else 0.
read_loop() {
	local i h c r t
	while :; do
		for ((i = 0; i < NFILES; i++)); do
			for h in "$@"; do
				[[ -e $T/reads.stop ]] && return 0
				[[ -e $T/trimming ]] && t=1 || t=0
				c=$(pg_sql "SELECT count(*) FILTER (WHERE host_id = 'h6') || ' ' || count(*) FROM chunk_copies WHERE host_id <> 'h3'")
				n curl -s --max-time 60 -o "$T/loop.got" "http://127.0.0.1:${PORT[$h]}/files/r/f$i"
				cmp -s "$T/loop.got" "$T/files/f$i" && r=ok || r=bad
				echo "$c $t $h f$i $r" >>"$T/reads.log"
			done
		done
	done
}
# copies_now: "CHUNK HOST" of every copy on the live hosts, sorted.
copies_now() { table h1 h2 h4 h5 h6; }
# trims RESULT: the owner's dgfsd_repair_trims_total{result=RESULT}.
trims() { host_metric "$(owner_port)" "dgfsd_repair_trims_total{result=\"$1\"}"; }
copies_now >"$T/copies.before"
check "h6 joins" start_other h6 "${PORT[h6]}" "${SDIR[h6]}" --host-id h6 || finish
read_loop h1 h2 h4 h5 h6 &
LOOP=$!
six_up() { [[ $(ups 8080) == "h1:1 h2:1 h3:0 h4:1 h5:1 h6:1" ]]; }
check "every host sees h6 up" wait_for 30 six_up
sleep $((HB * 3))	# every member list has it
passes() { host_metric "$(owner_port)" dgfsd_repair_passes_total; }
P0=$(passes)
# Two whole passes since h6 was in every member list, the last finding nothing to do.
placed() {
	local port
	port=$(owner_port) || return 1
	(($(host_metric "$port" dgfsd_repair_passes_total) >= P0 + 2)) &&
		[[ $(host_metric "$port" 'dgfsd_repair_chunks{state="misplaced"}') == 0 ]]
}
check "within $REPAIR_BOUND s h6 holds copies and no chunk's owner lacks one" wait_for "$REPAIR_BOUND" placed
LIVE=(h1 h2 h4 h5 h6)
H6=$(pg_sql "SELECT count(*) FROM chunk_copies WHERE host_id = 'h6'")
# The owners by the hash itself (tests/dgfsd/rendezvous.py) over the live
# hosts, as the hosts table describes them.
mapfile -t MEMBERS < <(pg_sql "SELECT id || ':' || zone || ':' || capacity FROM hosts WHERE id IN ('h1','h2','h4','h5','h6') ORDER BY id")
pg_sql "SELECT encode(id, 'hex') FROM chunks WHERE refs > 0" |
	python3 tests/dgfsd/rendezvous.py 3 "${MEMBERS[@]}" |
	awk '{ for (i = 2; i <= NF; i++) print $1, $i }' | sort >"$T/owners"
copies_now >"$T/copies.placed"
same "each of the $CHUNKS chunks is held by its 3 owners by the rendezvous hash (table and disk)" \
	"$(comm -23 "$T/owners" "$T/copies.placed" | wc -l) $(comm -23 "$T/owners" <(on_disk "${LIVE[@]}") | wc -l) $(wc -l <"$T/owners")" \
	"0 0 $((3 * CHUNKS))"
same "... and every copy made since h6 joined ($(comm -13 "$T/copies.before" "$T/copies.placed" | wc -l), h6's $H6 among them) went to an owner by the hash" \
	"$(comm -13 "$T/copies.before" "$T/copies.placed" | comm -23 - "$T/owners" | wc -l)" 0
# Five hosts of equal capacity (one file system): 3/5 of the chunks each, give or take.
check "... h6's share: $H6 of $CHUNKS chunks (at least a third of them)" test "$H6" -ge $((CHUNKS / 3))
# While the killed h3 is down the surplus copies wait (docs/CLUSTER.md).
SURPLUS=$(comm -23 "$T/copies.placed" "$T/owners" | wc -l)
sleep 3	# more passes: still no trim
same "while h3 is down, the $SURPLUS surplus copies stay: the owner trimmed none, and its gauge counts their chunks" \
	"$(trims trimmed) $(host_metric "$(owner_port)" 'dgfsd_repair_chunks{state="surplus"}') $(copies_now | comm -23 - "$T/owners" | wc -l)" \
	"0 $(comm -23 "$T/copies.placed" "$T/owners" | cut -d' ' -f1 | sort -u | wc -l) $SURPLUS"
check "... there are some ($SURPLUS)" test "$SURPLUS" -gt 0
# h3 forgotten (a host that never comes back): the cluster is whole again.
: >"$T/trimming"
pg_sql "DELETE FROM hosts WHERE id = 'h3'" >/dev/null
P1=$(passes)
# Two whole passes since, the last finding no surplus copy.
trimmed() {
	local port
	port=$(owner_port) || return 1
	(($(host_metric "$port" dgfsd_repair_passes_total) >= P1 + 2)) &&
		[[ $(host_metric "$port" 'dgfsd_repair_chunks{state="surplus"}') == 0 ]]
}
check "h3 forgotten: within $REPAIR_BOUND s no chunk has a surplus copy" wait_for "$REPAIR_BOUND" trimmed
: >"$T/reads.stop"
wait "$LOOP"
# Reads while h6 held some of its share but not yet all of it, and while
# the surplus copies went.
MID=$(awk -v all="$H6" '$1 > 0 && $1 < all' "$T/reads.log")
TRIMMING=$(awk -v lo=$((3 * CHUNKS)) -v hi=$((3 * CHUNKS + SURPLUS)) '$3 == 1 && $2 > lo && $2 < hi' "$T/reads.log")
same "while h6 took its share and the surplus went, every read of a file through every live host was byte-exact ($(wc -l <"$T/reads.log") reads)" \
	"$(grep -vc ' ok$' "$T/reads.log")" 0
check "... $(grep -c . <<<"$MID") of them while h6 held some but not all of its $H6 copies, through each of the 5 hosts" \
	test "$(awk '{ print $4 }' <<<"$MID" | sort -u | paste -sd' ')" = "h1 h2 h4 h5 h6"
check "... $(grep -c . <<<"$TRIMMING") of them while some but not all surplus copies were gone, through each of the 5 hosts" \
	test "$(awk '{ print $4 }' <<<"$TRIMMING" | sort -u | paste -sd' ')" = "h1 h2 h4 h5 h6"
copies_now >"$T/copies.after"
same "placement matches the hash exactly: every chunk has its 3 owners' copies and no other (table, disk)" \
	"$(comm -3 "$T/owners" "$T/copies.after" | wc -l) $(comm -3 "$T/owners" <(on_disk "${LIVE[@]}") | wc -l)" "0 0"
# A trim of a copy a read streams on its holder waits for a later pass (failed, counted).
same "... the owner counts $SURPLUS copies trimmed ($(trims failed) tries put off)" "$(trims trimmed)" "$SURPLUS"
check "... every host's chunk_copies rows are exactly its chunk files" copies_match "${LIVE[@]}"
same "... which hold the bytes of their ids" "$(files_ok "${LIVE[@]}")" 0
for h in "${LIVE[@]}"; do
	same "after the trims every file reads back byte-exact from $h" "$(read_all "${PORT[$h]}")" 0
done

# --- Trims that must be refused change nothing. ---
# sign METHOD PATH SECRETFILE: the internal API's headers, as peer.c makes them.
sign() {
	python3 - "$@" <<'PY'
import hashlib, hmac, sys, time
method, path, secret = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read().rstrip(b"\n")
date = str(int(time.time()))
sig = hmac.new(secret, f"{method}\n{path}\n{date}".encode(), hashlib.sha256).hexdigest()
print(f"X-Dgfs-Date: {date}")
print(f"Authorization: DGFS-Cluster {sig}")
PY
}
# trim_call HOST ID [SECRETFILE]: the status of DELETE /internal/chunks/ID
# on HOST, signed with SECRETFILE (default the cluster's; "-": unsigned).
trim_call() {
	local hdr=()
	if [[ ${3:-$SECRET} != - ]]; then
		mapfile -t hdr < <(sign DELETE "/internal/chunks/$2" "${3:-$SECRET}")
		hdr=(-H "${hdr[0]}" -H "${hdr[1]}")
	fi
	# curl -q: not the admin key n's curlrc gives (the internal API refuses keys).
	ip netns exec "$NS" curl -q -s -o /dev/null -w '%{http_code}' -X DELETE "${hdr[@]}" \
		"http://127.0.0.1:${PORT[$1]}/internal/chunks/$2"
}
# has HOST ID: "file row" for what HOST holds of chunk ID ("- -" nothing).
has() {
	echo "$([[ -f ${SDIR[$1]}/chunks/$2 ]] && echo file || echo -)" \
		"$([[ $(pg_sql "SELECT count(*) FROM chunk_copies WHERE chunk_id = '\\x$2' AND host_id = '$1'") == 1 ]] && echo row || echo -)"
}
read -r C CO1 CO2 CO3 < <(python3 tests/dgfsd/rendezvous.py 3 "${MEMBERS[@]}" < <(head -n1 "$T/owners" | cut -d' ' -f1))
CH=$(printf '%s\n' "${LIVE[@]}" | grep -vxF -e "$CO1" -e "$CO2" -e "$CO3" | head -n1)
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/wrong.secret"
same "a trim of chunk ${C:0:12}.. on its owner $CO1: unsigned -> 401, wrong secret -> 403, signed -> 409 (it owns it)" \
	"$(trim_call "$CO1" "$C" -) $(trim_call "$CO1" "$C" "$T/wrong.secret") $(trim_call "$CO1" "$C")" "401 403 409"
same "... and $CO1 still holds it (file, row)" "$(has "$CO1" "$C")" "file row"
same "a trim on $CH, which holds no copy of it -> 404" "$(trim_call "$CH" "$C")" 404
# Owner $CO2 loses the bytes but not its row: its file is overwritten with
# other bytes of the same size (a file gone or cut short its own host
# notices and forgets: test_cluster_lost_copy.sh); then a surplus copy on
# $CH (its file and its row).
FAILED0=$(trims failed)
cp "${SDIR[$CO2]}/chunks/$C" "$T/c.good"
head -c "$(stat -c %s "$T/c.good")" /dev/urandom >"${SDIR[$CO2]}/chunks/$C"
cp "${SDIR[$CO1]}/chunks/$C" "${SDIR[$CH]}/chunks/$C"
pg_sql "INSERT INTO chunk_copies (chunk_id, host_id) VALUES ('\\x$C', '$CH')" >/dev/null
same "a surplus copy on $CH whose owner $CO2 lacks the bytes: a signed trim -> 409" "$(trim_call "$CH" "$C")" 409
trim_failed() { (($(trims failed) >= FAILED0 + 2)); }
check "... the owner's own trims of it fail too (/metrics)" wait_for 30 trim_failed
same "... and $CH keeps it (file, row), $CO2's row untouched" "$(has "$CH" "$C") $(has "$CO2" "$C")" "file row file row"
shows "... $CH says why in its log" "trim: kept chunk $C: its owner $CO2 did not give its bytes" cat "$T/dgfsd.log"
cp "$T/c.good" "${SDIR[$CO2]}/chunks/$C"
gone_surplus() { [[ $(has "$CH" "$C") == "- -" ]]; }
check "$CO2's bytes back: within $REPAIR_BOUND s the owner has $CH drop its copy (file, row)" \
	wait_for "$REPAIR_BOUND" gone_surplus
same "... placement matches the hash exactly again" "$(copies_now | comm -3 "$T/owners" - | wc -l)" 0

# --- A host drained, then stopped. ---
refuse "dgfsd drain of a host that is not there: exit 1" 1 'no host nosuch' \
	n "$DGFSD" drain --server http://127.0.0.1:8080 nosuch
same "POST /cluster/drain with a bad body -> 400" \
	"$(n curl -s -o /dev/null -w '%{http_code}' -d '{"host": 7}' http://127.0.0.1:8080/cluster/drain)" 400
H2=$(pg_sql "SELECT count(*) FROM chunk_copies WHERE host_id = 'h2'")
shows "dgfsd drain h2 says it is draining ($H2 copies)" "host h2: draining" \
	n "$DGFSD" drain --server http://127.0.0.1:8081 h2
drained() { n "$DGFSD" drain --server http://127.0.0.1:8080 --status h2 >/dev/null 2>&1; }
check "within $REPAIR_BOUND s dgfsd drain --status h2 says it is drained" wait_for "$REPAIR_BOUND" drained
same "... h2 holds no chunk file and no chunk_copies row" \
	"$(on_disk h2 | wc -l) $(pg_sql "SELECT count(*) FROM chunk_copies WHERE host_id = 'h2'")" "0 0"
LIVE=(h1 h4 h5 h6)
check "... every chunk has 3 copies on h1 h4 h5 h6" repaired "${LIVE[@]}"
check "... their chunk_copies rows are exactly their chunk files" copies_match "${LIVE[@]}"
check "h2's /metrics counts the copies it handed off (>= $H2)" \
	test "$(host_metric 8081 dgfsd_repair_handed_off_total)" -ge "$H2"
# Placement passes a draining host over: an upload through it stores nothing there.
head -c 1500000 /dev/urandom >"$T/during"
same "an upload through the drained h2 -> 201" \
	"$(n curl -s -o /dev/null -w '%{http_code}' -T "$T/during" http://127.0.0.1:8081/files/r/during)" 201
DURING="FROM chunk_copies k JOIN file_chunks fc ON fc.chunk_id = k.chunk_id JOIN files f ON f.id = fc.file_id WHERE convert_from(f.path, 'UTF8') = 'r/during'"
same "... none of its chunks on h2 (table, disk), each on 3 other hosts" \
	"$(pg_sql "SELECT count(*) $DURING AND k.host_id = 'h2'") $(on_disk h2 | wc -l) $(pg_sql "SELECT min(c) FROM (SELECT count(DISTINCT k.host_id) c $DURING GROUP BY k.chunk_id) x")" \
	"0 0 3"
kill "${PID[h2]}" && wait "${PID[h2]}"
same "h2 stops cleanly (exit 0)" "$?" 0
PID[h2]=
for h in "${LIVE[@]}"; do
	same "h2 drained and stopped: every file reads back byte-exact from $h" "$(read_all "${PORT[$h]}")" 0
done
check "... and the file uploaded through it during the drain, from h1" \
	cmp -s "$T/during" <(n curl -sf http://127.0.0.1:8080/files/r/during)

# --- A host that gives bytes that are not the chunk: refused, nothing recorded. ---
X=$(pg_sql "SELECT encode(chunk_id, 'hex') FROM chunk_copies WHERE host_id IN ('h1','h4','h5','h6') GROUP BY chunk_id HAVING count(*) = 3 ORDER BY 1 LIMIT 1")
# Its live holders (h3's row, if any, is a dead host's).
mapfile -t XH < <(pg_sql "SELECT host_id FROM chunk_copies WHERE chunk_id = '\\x$X' AND host_id IN ('h1','h4','h5','h6') ORDER BY host_id")
BADH=${XH[0]}
cp "${SDIR[$BADH]}/chunks/$X" "$T/x.good"
# Its bytes changed on $BADH (same size), its other copies gone.
printf 'hostile' | dd of="${SDIR[$BADH]}/chunks/$X" bs=1 seek=1000 conv=notrunc status=none
for h in "${XH[@]:1}"; do rm -f "${SDIR[$h]}/chunks/$X"; done
pg_sql "DELETE FROM chunk_copies WHERE chunk_id = '\\x$X' AND host_id <> '$BADH'"
REF0=$(( $(host_metric "$(owner_port)" 'dgfsd_repair_copies_total{result="refused"}') ))
refused() { (($(host_metric "$(owner_port)" 'dgfsd_repair_copies_total{result="refused"}') > REF0)); }
check "chunk ${X:0:12}.. corrupted on $BADH, its only copy: repair refuses its bytes (/metrics)" \
	wait_for 30 refused
sleep 3	# more passes: still nothing
same "... and records no other copy of it" \
	"$(pg_sql "SELECT string_agg(host_id, ' ') FROM chunk_copies WHERE chunk_id = '\\x$X'")" "$BADH"
same "... nor stores one on any host" "$(on_disk "${LIVE[@]}" | grep -c "^$X ")" 1
shows "... and says so in its log" "gave bytes that are not chunk $X" cat "$T/dgfsd.log"
cp "$T/x.good" "${SDIR[$BADH]}/chunks/$X"
check "its good bytes back on $BADH: within $REPAIR_BOUND s it has 3 copies again" \
	wait_for "$REPAIR_BOUND" repaired "${LIVE[@]}"
check "... and every chunk_copies row is a chunk file" copies_match "${LIVE[@]}"
same "every file reads back byte-exact from h1" "$(read_all 8080)" 0

for h in "${!PID[@]}"; do
	[[ -n ${PID[$h]} ]] || continue
	kill "${PID[$h]}" && wait "${PID[$h]}"
	same "$h stops cleanly (exit 0)" "$?" 0
	PID[$h]=
done
lacks "no dgfsd wrote the cluster secret to its log" "$(cat "$SECRET")" cat "$T/dgfsd.log"
dgfsd_stop "h1 stops cleanly"
finish
