#!/usr/bin/env bash
# Replicated writes and reads from any host (docs/CLUSTER.md): five
# dgfsds on one PostgreSQL database of the test's own, R=3. Files
# uploaded through different hosts read back byte-exact from every host;
# each chunk has exactly 3 copies on 3 distinct hosts, in chunk_copies and
# in the hosts' chunk directories alike; with two hosts SIGKILLed at once every file
# still reads; with too few hosts for --write-quorum an upload is refused
# and nothing is committed; the internal API refuses requests without the
# cluster's signature, with a wrong one, with an API key, and a body that
# is not its chunk; a dgfsd pushed out of its id says so once.
#   tests/dgfsd/test_cluster_repl.sh BUILD_DIR      (as root)
# expect-checks: 53
set -u
cd "$(dirname "$0")/../.."
. tests/dgfsd/cluster.sh
dgfsd_setup "${1:-build}"

NFILES=${NFILES:-200}
HB=1 DOWN=3

# sign METHOD PATH SECRETFILE [DATE]: the internal API's headers, as peer.c makes them.
sign() {
	python3 - "$@" <<'PY'
import hashlib, hmac, sys, time
method, path, secret = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read().rstrip(b"\n")
date = sys.argv[4] if len(sys.argv) > 4 else str(int(time.time()))
sig = hmac.new(secret, f"{method}\n{path}\n{date}".encode(), hashlib.sha256).hexdigest()
print(f"X-Dgfs-Date: {date}")
print(f"Authorization: DGFS-Cluster {sig}")
PY
}
# internal METHOD ID BODYFILE [CURL ARGS...]: the HTTP status of an internal request to h2.
internal() {
	local m=$1 id=$2 body=$3
	shift 3
	ip netns exec "$NS" curl -q -s -o /dev/null -w '%{http_code}' -X "$m" \
		${body:+--data-binary "@$body"} "$@" "http://127.0.0.1:8081/internal/chunks/$id"
}

check "a PostgreSQL server of the test's own starts" pg_start || finish
# Hosts h1..h5 on ports 8080..8084; h1 is dgfsd_start's ($STATE, its
# admin key, which every host knows: the keys are in the database).
cluster_dirs 5 --replicas 3

# Bad cluster options: refused, nothing made. (timeout and the namespace:
# a dgfsd that is not refused would serve on, not exit.)
refuse "a missing --cluster-secret-file is refused" 2 'cannot open the cluster secret' \
	timeout 30 ip netns exec "$NS" "$DGFSD" --state-dir "$T/x" --metadata "$PG_URI" --cluster-secret-file "$T/nosuch"
printf 'short' >"$T/short.secret" && chmod 600 "$T/short.secret"
refuse "a secret under 32 bytes is refused" 2 'must be 32 to 1024 bytes' \
	timeout 30 ip netns exec "$NS" "$DGFSD" --state-dir "$T/x" --metadata "$PG_URI" --cluster-secret-file "$T/short.secret"
cp "$SECRET" "$T/open.secret" && chmod 640 "$T/open.secret"
refuse "a secret its group may read is refused" 2 'open to its group or others' \
	timeout 30 ip netns exec "$NS" "$DGFSD" --state-dir "$T/x" --metadata "$PG_URI" --cluster-secret-file "$T/open.secret"
refuse "--write-quorum over --replicas is refused" 2 'cannot be more than --replicas' \
	timeout 30 ip netns exec "$NS" "$DGFSD" --state-dir "$T/x" --metadata "$PG_URI" --replicas 2 --write-quorum 3
refuse "a cluster secret with SQLite metadata is refused" 2 'needs the metadata in PostgreSQL' \
	timeout 30 ip netns exec "$NS" "$DGFSD" --state-dir "$T/x" --cluster-secret-file "$SECRET"
check "... and none of them made a state dir" test ! -e "$T/x"

check "h1 starts" dgfsd_start "${COMMON[@]}" --host-id h1 || finish
for i in 2 3 4; do
	check "h$i starts" start_other h$i "${PORT[h$i]}" "${SDIR[h$i]}" --host-id h$i || finish
done
# h5 asks for all three copies before a file commits.
check "h5 starts (--write-quorum 3)" start_other h5 8084 "${SDIR[h5]}" --host-id h5 \
	--write-quorum 3 || finish
all_up() { [[ $(ups 8084) == "h1:1 h2:1 h3:1 h4:1 h5:1" ]]; }
check "every host sees five hosts up" wait_for 30 all_up
sleep $((HB * 3))	# every member list refreshed

# NFILES files of 1.6 MB .. 2.2 MB, each through host f % 5.
make_files
same "all $NFILES uploads through h1..h5 answer 201" "$(upload_all 5)" "$NFILES"
FILES=$(pg_sql "SELECT count(*) FROM files")
same "... and the database holds $NFILES files" "$FILES" "$NFILES"
check "... at least half of them of several chunks" \
	test "$(pg_sql "SELECT count(*) FROM files WHERE nchunks >= 2")" -ge $((NFILES / 2))
for i in 1 2 3 4 5; do
	same "every file reads back byte-exact from h$i" "$(read_all $((8079 + i)))" 0
done

# A range across chunk boundaries, from every host (each lacks some of them).
tail -c +100001 "$T/files/f1" | head -c 1400000 >"$T/range.want"
bad=0
for i in 1 2 3 4 5; do
	n curl -s -r 100000-1499999 "http://127.0.0.1:$((8079 + i))/files/r/f1" >"$T/range.got"
	cmp -s "$T/range.want" "$T/range.got" || bad=$((bad + 1))
done
same "bytes 100000-1499999 of a file read right from every host" "$bad" 0

CHUNKS=$(pg_sql "SELECT count(*) FROM chunks")
same "every chunk has exactly 3 copies in chunk_copies" \
	"$(pg_sql "SELECT count(*) FROM chunks c WHERE (SELECT count(DISTINCT host_id) FROM chunk_copies k WHERE k.chunk_id = c.id) <> 3")/$(pg_sql "SELECT count(*) FROM chunk_copies")" \
	"0/$((3 * CHUNKS))"
pg_sql "SELECT encode(chunk_id, 'hex') || ' ' || host_id FROM chunk_copies" | sort >"$T/copies.table"
on_disk h1 h2 h3 h4 h5 >"$T/copies.disk"
same "... and the chunk files in the hosts' state dirs are exactly those copies" \
	"$(diff "$T/copies.table" "$T/copies.disk" | head -n 3)$(wc -l <"$T/copies.disk")" \
	"$((3 * CHUNKS))"
same "... no host holds more than its share by far (each has some, none all)" \
	"$(cut -d' ' -f2 "$T/copies.disk" | sort | uniq -c | awk -v n="$CHUNKS" '$1 > 0 && $1 < n' | wc -l)" 5

# What dgfs get does: the manifest from h1, each chunk over the UDP fast
# path from h1 (which has only some), the others by GET /chunks/{id},
# which h1 answers from a replica.
NOT1=$(pg_sql "SELECT encode(chunk_id, 'hex') FROM chunk_copies GROUP BY chunk_id HAVING NOT bool_or(host_id = 'h1') LIMIT 1")
same "GET /chunks/{id} on h1, which lacks the chunk, gives its bytes" \
	"$(n curl -sf "http://127.0.0.1:8080/chunks/$NOT1" | sha256sum | cut -d' ' -f1)" "$NOT1"
F1=$(pg_sql "SELECT convert_from(f.path, 'UTF8') FROM files f JOIN file_chunks fc ON fc.file_id = f.id WHERE f.nchunks >= 2 AND fc.chunk_id NOT IN (SELECT chunk_id FROM chunk_copies WHERE host_id = 'h1') LIMIT 1")
check "dgfs get through h1 of ${F1:-a file} whose chunks h1 partly lacks: byte-exact" \
	eval 'n "$DGFS" get --server http://127.0.0.1:8080 "$F1" "$T/dg.out" >/dev/null 2>&1 &&
	cmp -s "$T/dg.out" "$T/files/${F1#r/}"'

# The internal API: the cluster's signature, nothing else.
ID=$(head -n 1 "$T/copies.table" | cut -d' ' -f1)
head -c 100000 /dev/urandom >"$T/rand.bin"
RID=$(sha256sum "$T/rand.bin" | cut -d' ' -f1)
P=/internal/chunks/$RID
mapfile -t H < <(sign PUT "$P" "$SECRET")
same "internal PUT without a signature -> 401" "$(internal PUT "$RID" "$T/rand.bin")" 401
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/wrong.secret"
mapfile -t W < <(sign PUT "$P" "$T/wrong.secret")
same "internal PUT signed with a wrong secret -> 403" \
	"$(internal PUT "$RID" "$T/rand.bin" -H "${W[0]}" -H "${W[1]}")" 403
mapfile -t S < <(sign PUT "$P" "$SECRET" $(($(date +%s) - 3600)))
same "internal PUT signed an hour ago -> 403" \
	"$(internal PUT "$RID" "$T/rand.bin" -H "${S[0]}" -H "${S[1]}")" 403
same "internal PUT and GET with the admin key -> 401, 401" \
	"$(internal PUT "$RID" "$T/rand.bin" -H "Authorization: Bearer $DGFS_API_KEY")/$(internal GET "$ID" "" -H "Authorization: Bearer $DGFS_API_KEY")" \
	"401/401"
head -c 100000 /dev/urandom >"$T/other.bin"
same "internal PUT, signed, of bytes that are not the chunk -> 400" \
	"$(internal PUT "$RID" "$T/other.bin" -H "${H[0]}" -H "${H[1]}")" 400
check "... and h2 stored nothing under that id" test ! -e "${SDIR[h2]}/chunks/$RID"
same "internal PUT, signed, of the chunk's bytes -> 201, stored and recorded" \
	"$(internal PUT "$RID" "$T/rand.bin" -H "${H[0]}" -H "${H[1]}") $(cmp -s "$T/rand.bin" "${SDIR[h2]}/chunks/$RID" && echo same) $(pg_sql "SELECT host_id FROM chunk_copies WHERE chunk_id = '\\x$RID'")" \
	"201 same h2"
mapfile -t G < <(sign GET "/internal/chunks/$RID" "$SECRET")
same "internal GET, signed, gives the chunk's bytes" \
	"$(ip netns exec "$NS" curl -q -sf -H "${G[0]}" -H "${G[1]}" "http://127.0.0.1:8081/internal/chunks/$RID" | sha256sum | cut -d' ' -f1)" \
	"$RID"
same "a signature is for its own method and chunk: PUT's for GET -> 403" \
	"$(internal GET "$RID" "" -H "${H[0]}" -H "${H[1]}")" 403

# Two hosts SIGKILLed at once (R=3): their copies are gone, and no
# committed file is lost: every file reads from the other three (placement
# order, the dead hosts passed over).
kill -9 "${PID[h3]}" "${PID[h4]}"
wait "${PID[h3]}" "${PID[h4]}" 2>/dev/null
PID[h3]= PID[h4]=
for i in 1 2 5; do
	same "h3 and h4 killed: every file still reads byte-exact from h$i" "$(read_all $((8079 + i)))" 0
done

# Too few hosts for h5's --write-quorum 3: h2 stops cleanly, h3 and h4 are
# dead; h1 and h5 are left.
kill "${PID[h2]}" && wait "${PID[h2]}"
PID[h2]=
two_up() { [[ $(ups 8084) == "h1:1 h2:0 h3:0 h4:0 h5:1" ]]; }
check "h5 sees h1 and h5 up, the rest down" wait_for 30 two_up
# Every member list without them (a stale one would pick dead owners).
sleep $((HB * 3))
head -c 900000 /dev/urandom >"$T/late"
same "an upload through h5 (W=3) with 2 hosts up -> 503" \
	"$(n curl -s -o /dev/null -w '%{http_code}' -T "$T/late" http://127.0.0.1:8084/files/r/late)" 503
same "... and nothing committed: 404 on h5 and h1, $NFILES files in the database" \
	"$(n curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8084/files/r/late) $(n curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/files/r/late) $(pg_sql "SELECT count(*) FROM files")" \
	"404 404 $NFILES"
same "the same upload through h1 (W=2) -> 201" \
	"$(n curl -s -o /dev/null -w '%{http_code}' -T "$T/late" http://127.0.0.1:8080/files/r/late2)" 201
same "... each of its chunks on h1 and h5" \
	"$(pg_sql "SELECT DISTINCT string_agg(host_id, ' ' ORDER BY host_id) FROM chunk_copies WHERE chunk_id IN (SELECT fc.chunk_id FROM file_chunks fc JOIN files f ON f.id = fc.file_id WHERE f.path = 'r/late2') GROUP BY chunk_id")" \
	"h1 h5"
check "... and it reads back byte-exact from h5" \
	cmp -s "$T/late" <(n curl -sf http://127.0.0.1:8084/files/r/late2)

# A dgfsd whose id another took over tries again at every heartbeat, and
# says so once. h5 goes silent, a new dgfsd takes the id h5, h5 resumes.
kill -STOP "${PID[h5]}"
h5_down() { [[ $(ups 8080) == *"h5:0"* ]]; }
check "h5 stopped (SIGSTOP) is down within 30 s" wait_for 30 h5_down
MARK=$(stat -c %s "$T/dgfsd.log")
check "a new dgfsd takes the id h5 over" start_other h5b 8090 "$T/state-h5b" --host-id h5
kill -CONT "${PID[h5]}"
sleep $((HB * 8))
same "the old h5 said 'host id h5 is in use' once in 8 heartbeats" \
	"$(tail -c +$((MARK + 1)) "$T/dgfsd.log" | grep -c 'host id h5 is in use')" 1

for h in h5b h5; do
	kill "${PID[$h]}" && wait "${PID[$h]}"
	same "$h stops cleanly (exit 0)" "$?" 0
	PID[$h]=
done
lacks "no dgfsd wrote the cluster secret to its log" "$(cat "$SECRET")" cat "$T/dgfsd.log"
dgfsd_stop "h1 stops cleanly"
finish
