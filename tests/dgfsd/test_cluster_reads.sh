#!/usr/bin/env bash
# Reads from every replica (docs/CLUSTER.md "Reads from the replicas",
# docs/PROTOCOL.md "Replicas in a manifest", docs/CLIENT.md "get"): five
# dgfsds on one PostgreSQL database of the test's own, R=3, the userspace
# UDP tier. A manifest lists, for each chunk, exactly the 3 hosts that
# hold it (the answering host first when it is one) with their fast-path
# ports; dgfs get --no-fallback reads every file over UDP from them, the
# tokens of one host good on all (the cluster's key). With a holder
# SIGKILLed but not yet down (the manifests still list it), every file
# still reads byte-exact with --no-fallback, the client counts the
# failovers, tries the dead host at most once per worker, and takes no
# longer than CLIENT.md's bound; a replica that sends wrong bytes is passed
# over; with every holder of a chunk dead the read fails with a clear error.
#   tests/dgfsd/test_cluster_reads.sh BUILD_DIR      (as root)
# expect-checks: 42
set -u
cd "$(dirname "$0")/../.."
. tests/dgfsd/cluster.sh
dgfsd_setup "${1:-build}"

NFILES=${NFILES:-30}
# A killed host stays "up" in the database for the whole test: finding it
# dead is the client's work, not the manifest's.
HB=1 DOWN=300
TMO=1000	# dgfs get --timeout (ms): what a silent replica costs

# get FILE OUT [ARGS...]: dgfs get --no-fallback of r/FILE through h1; its
# stats in $T/st.json, its stderr in $T/get.err.
get() {
	local f=$1 out=$2
	shift 2
	rm -f "$T/st.json" "$out"
	n "$DGFS" --server http://127.0.0.1:8080 get --no-fallback --timeout "$TMO" \
		--stats-json "$T/st.json" "$@" "r/$f" "$out" 2>"$T/get.err"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# gets PHASE JOBS FILE...: get each with -j JOBS and compare it; prints
# "FAILED MS": the files that failed or differ, and the milliseconds spent
# in dgfs get. Each one's stats are kept as $T/st/PHASE-FILE.json.
gets() {
	local phase=$1 jobs=$2 f t0 ms=0 bad=0
	shift 2
	mkdir -p "$T/st"
	for f in "$@"; do
		t0=$(now_ms)
		get "$f" "$T/got/$f" -j "$jobs" && rc=0 || rc=$?
		ms=$((ms + $(now_ms) - t0))
		[[ $rc == 0 ]] && cmp -s "$T/files/$f" "$T/got/$f" || bad=$((bad + 1))
		cp "$T/st.json" "$T/st/$phase-$f.json" 2>/dev/null
	done
	echo "$bad $ms"
}
# stats PHASE EXPR: Python EXPR over s, the stats of PHASE's gets; tot(KEY,
# HOST) sums a per-host count over them.
stats() {
	python3 - "$T/st" "$1" "$2" <<'PY'
import glob, json, os, sys
d, phase, expr = sys.argv[1:]
s = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(d, phase + "-*.json")))]
def tot(key, host):
    return sum(x[key] for j in s for x in j["hosts"] if x["id"] == host)
print(eval(expr))
PY
}

check "a PostgreSQL server of the test's own starts" pg_start || finish
cluster_dirs 5 --replicas 3 --repair-interval 3600
check "h1 starts" dgfsd_start "${COMMON[@]}" --host-id h1 --udp-port 9100 || finish
for i in 2 3 4 5; do
	check "h$i starts" start_other h$i "${PORT[h$i]}" "${SDIR[h$i]}" --host-id h$i || finish
done
all_up() { [[ $(ups 8080) == "h1:1 h2:1 h3:1 h4:1 h5:1" ]]; }
check "h1 sees five hosts up" wait_for 30 all_up
sleep $((HB * 3))	# every member list refreshed
check "the hosts' own auth.key files differ (tokens work across hosts by the cluster's key only)" \
	test "$(cat "${SDIR[h1]}/auth.key" "${SDIR[h2]}/auth.key" "${SDIR[h3]}/auth.key" | sort -u | wc -l)" = 3

# NFILES files of 1.6 MB .. 2.2 MB and one of 40 MB (many chunks), each
# through host i % 5, by PUT /files (exactly R copies of each chunk).
mkdir -p "$T/m" "$T/got"
make_files
head -c 40000000 /dev/urandom >"$T/files/big"
ok=$(upload_all 5)
code=$(n curl -s -o /dev/null -w '%{http_code}' -T "$T/files/big" http://127.0.0.1:8081/files/r/big)
same "all $((NFILES + 1)) uploads through h1..h5 answer 201" "$ok/$code" "$NFILES/201"

: >"$T/files/empty"
same "an empty file uploaded through h2; dgfs get --no-fallback through h1: exit 0, empty" \
	"$(n curl -s -o /dev/null -w '%{http_code}' -T "$T/files/empty" http://127.0.0.1:8081/files/r/empty) $(get empty "$T/got/empty" && echo ok) $(stat -c %s "$T/got/empty" 2>&1)" \
	"201 ok 0"

# Every manifest from h1, and the copies on disk (the truth), compared.
FILES=(big)
for ((i = 0; i < NFILES; i++)); do FILES+=("f$i"); done
fetch_manifests() {
	local f
	for f in "${FILES[@]}"; do
		n curl -sf "http://127.0.0.1:8080/files/r/$f?manifest" >"$T/m/$f.json" || return 1
	done
}
check "h1 gives every file's manifest" fetch_manifests
on_disk h1 h2 h3 h4 h5 >"$T/copies.disk"
# analyze: "CHUNKS WRONG_SET WRONG_COUNT H1_NOT_FIRST BAD_ADDR FIRSTS" where
# FIRSTS counts, for each host, the chunk entries that list it first.
analyze() {
	python3 - "$T/m" "$T/copies.disk" <<'PY'
import collections, json, os, sys
mdir, disk = sys.argv[1], sys.argv[2]
holders = collections.defaultdict(set)
for line in open(disk):
    c, h = line.split()
    holders[c].add(h)
n = wrong_set = wrong_count = not_first = bad_addr = 0
firsts = collections.Counter()
for name in sorted(os.listdir(mdir)):
    m = json.load(open(os.path.join(mdir, name)))
    hosts = m["fastpath"]["hosts"]
    for h in hosts:
        if h["host"] != "127.0.0.1" or h["port"] != 9099 + int(h["id"][1:]):
            bad_addr += 1
    for c in m["chunks"]:
        n += 1
        ids = [hosts[i]["id"] for i in c["replicas"]]
        wrong_set += set(ids) != holders[c["id"]]
        wrong_count += len(ids) != 3 or len(set(ids)) != 3
        not_first += "h1" in holders[c["id"]] and ids[0] != "h1"
        firsts[ids[0]] += 1
print(n, wrong_set, wrong_count, not_first, bad_addr,
      " ".join("%s:%d" % (h, firsts[h]) for h in sorted(firsts)))
PY
}
read -r NCH WSET WCOUNT NOTFIRST BADADDR FIRSTS <<<"$(analyze)"
same "each chunk's replicas in its manifest are exactly the hosts holding it on disk ($NCH chunks)" \
	"$WSET $((NCH > NFILES))" "0 1"
same "... 3 distinct hosts for every chunk (R)" "$WCOUNT" 0
same "... h1, which answers, first whenever it holds the chunk" "$NOTFIRST" 0
same "... each host with its own fast-path port (9100 + its number - 1) and --public-host" \
	"$BADADDR" 0
# Of the chunks h1 lacks, the first replica is the chunk's rendezvous
# winner: spread over the others.
same "... the chunks h1 lacks start with 3 or 4 different hosts ($FIRSTS)" \
	"$(tr ' ' '\n' <<<"$FIRSTS" | grep -v '^h1:' | grep -vc ':0$' | awk '{ print ($1 >= 3) }')" 1

# All hosts up: every file over the fast path, from the replicas; the
# times spent in dgfs get are the bounds' base below.
read -r BAD BASE_BIG <<<"$(gets up-big 1 big)"
read -r BAD2 BASE <<<"$(gets up 4 "${FILES[@]:1}")"
same "all hosts up: dgfs get --no-fallback reads every file byte-exact, no fallback, no failover" \
	"$((BAD + BAD2)) $(stats 'up*' 'len(s), sum(j["fallback"] + j["failover"] for j in s)')" \
	"0 ($((NFILES + 1)), 0)"
same "... every host served chunks over its fast path (tokens from h1 good on all)" \
	"$(stats 'up*' 'sum(tot("chunks", h) > 0 for h in ("h1", "h2", "h3", "h4", "h5"))')" 5

# firsts FILE|all HOST: "FILES CHUNKS": the files with a chunk that lists
# HOST first, and how many such chunks.
firsts_of() {
	python3 - "$T/m" "$1" "$2" <<'PY'
import json, os, sys
mdir, what, victim = sys.argv[1:]
files = chunks = 0
for name in sorted(os.listdir(mdir)):
    if what != "all" and name != what + ".json":
        continue
    m = json.load(open(os.path.join(mdir, name)))
    hosts = m["fastpath"]["hosts"]
    k = sum(hosts[c["replicas"][0]]["id"] == victim for c in m["chunks"])
    files += k > 0
    chunks += k
print(files, chunks)
PY
}
# The victim: the host other than h1 that comes first for most of big's chunks.
X='' XBIG=0
for h in h2 h3 h4 h5; do
	read -r _ k <<<"$(firsts_of big $h)"
	((k > XBIG)) && X=$h XBIG=$k
done
XPORT=$((9099 + ${X#h}))
read -r XFILES XCHUNKS <<<"$(firsts_of all "$X")"
check "$X comes first for several of big's chunks ($XBIG; $XCHUNKS in $XFILES files)" \
	test "$XBIG" -ge 2

# (bash's own "Killed" line about it is no news: the group's stderr.)
{ kill -9 "${PID[$X]}" && wait "${PID[$X]}"; } 2>/dev/null
PID[$X]=
check "$X SIGKILLed: h1 still lists it up (--down-after $DOWN)" eval '[[ " $(ups 8080) " == *" $X:1 "* ]]'
check "... and still names it in manifests" \
	eval 'n curl -sf "http://127.0.0.1:8080/files/r/big?manifest" | grep -q "\"id\": *\"$X\""'

# big with one worker: each of its chunks that lists X first fails over,
# but only the first read tried X; the others passed it over at once.
read -r BAD TBIG <<<"$(gets dead-big 1 big)"
cp "$T/get.err" "$T/big.err"
same "$X dead: dgfs get --no-fallback of big (-j 1): exit 0, byte-exact, none by HTTP" \
	"$BAD $(stats dead-big 's[0]["fallback"]')" "0 0"
same "... each of the $XBIG chunks listing $X first failed over" \
	"$(stats dead-big 's[0]["failover"] >= '"$XBIG")" True
same "... $X served nothing, was tried by one read only, then passed over" \
	"$(stats dead-big '[(h["chunks"], h["failed"], h["passed_over"]) for h in s[0]["hosts"] if h["id"] == "'"$X"'"]')" \
	"[(0, 1, True)]"
check "... it said so: '$X (127.0.0.1 port $XPORT): timed out ...; the other chunks pass it over'" \
	grep -Eq "fast path: $X \(127.0.0.1 port $XPORT\): timed out: (nothing listens|no reply at all).*the other chunks pass it over" "$T/big.err"
# CLIENT.md: each worker loses at most one --timeout to a dead replica. The
# download: at least one --timeout (the failover happened), at most twice
# its time with all hosts up (the machine's load) plus one --timeout plus 3 s.
check "... in ${TBIG} ms: between --timeout ($TMO) and 2 x ${BASE_BIG} + $TMO + 3000 ms" \
	test "$TBIG" -ge "$TMO" -a "$TBIG" -le $((2 * BASE_BIG + TMO + 3000))

# Every small file, one dgfs get each, 4 workers.
read -r BAD TALL <<<"$(gets dead 4 "${FILES[@]:1}")"
# The small files with a chunk that lists X first, and those chunks.
XF=$((XFILES - 1)) XC=$((XCHUNKS - XBIG))
same "$X dead: every small file reads byte-exact with --no-fallback, none by HTTP, none from $X" \
	"$BAD $(stats dead 'sum(j["fallback"] for j in s), tot("chunks", "'"$X"'")')" "0 (0, 0)"
same "... failovers counted: at least the $XC chunks listing $X first" \
	"$(stats dead 'sum(j["failover"] for j in s) >= '"$XC")" True
same "... $X tried by at most one read per worker (4) in each get" \
	"$(stats dead 'all(h["failed"] <= 4 for j in s for h in j["hosts"] if h["id"] == "'"$X"'")')" True
# Each of the XF gets that list X first finds it dead anew: one --timeout
# at least (the failover happened), at most one more than all of them took
# with every host up (twice that, and 3 s, for the machine's load).
check "... in ${TALL} ms: between $XF x $TMO and 2 x ${BASE} + $XF x $TMO + 3000 ms" \
	test "$TALL" -ge $((XF * TMO)) -a "$TALL" -le $((2 * BASE + XF * TMO + 3000))

# A replica that sends wrong bytes: a chunk whose first replica Y (alive)
# has a corrupted copy; the next replica gives it.
read -r CF CID Y <<<"$(python3 - "$T/m" "$X" <<'PY'
import json, os, sys
mdir, victim = sys.argv[1:]
for name in sorted(os.listdir(mdir)):
    m = json.load(open(os.path.join(mdir, name)))
    hosts = m["fastpath"]["hosts"]
    for c in m["chunks"]:
        ids = [hosts[i]["id"] for i in c["replicas"]]
        if victim not in ids[:2] and c["size"] > 100000:
            print(name[:-5], c["id"], ids[0])
            sys.exit(0)
PY
)"
cp "${SDIR[$Y]}/chunks/$CID" "$T/chunk.good"
printf 'garbage!' | dd of="${SDIR[$Y]}/chunks/$CID" bs=1 seek=5000 conv=notrunc 2>/dev/null
get "$CF" "$T/got/$CF" -v && rc=0 || rc=$?
same "$Y's copy of a chunk of $CF corrupted: --no-fallback still reads it byte-exact" \
	"$rc $(cmp -s "$T/files/$CF" "$T/got/$CF" && echo same)" "0 same"
check "... $Y's bytes were refused (SHA-256 mismatch) and the next replica tried" \
	grep -q "chunk $CID from $Y (127.0.0.1 port $((9099 + ${Y#h}))): SHA-256 mismatch.*trying its next replica" "$T/get.err"
same "... $Y not passed over for its other chunks (failed 1, not passed_over), failover >= 1" \
	"$(jget "$T/st.json" '[(h["failed"], h["passed_over"]) for h in j["hosts"] if h["id"] == "'"$Y"'"] + [j["failover"] >= 1]')" \
	"[[1, false], true]"
cp "$T/chunk.good" "${SDIR[$Y]}/chunks/$CID"

# Every holder of a chunk dead: one held by three hosts other than h1
# (X among them if it can be), the ones still alive SIGKILLed too.
read -r LF _ LHOSTS <<<"$(python3 - "$T/m" "$X" <<'PY'
import json, os, sys
mdir, victim = sys.argv[1:]
best = None
for name in sorted(os.listdir(mdir)):
    m = json.load(open(os.path.join(mdir, name)))
    hosts = m["fastpath"]["hosts"]
    for c in m["chunks"]:
        ids = [hosts[i]["id"] for i in c["replicas"]]
        if "h1" not in ids and (best is None or victim in ids):
            best = (name[:-5], c["id"], ",".join(ids))
print(*best)
PY
)"
for h in ${LHOSTS//,/ }; do
	[[ -n ${PID[$h]} ]] || continue
	{ kill -9 "${PID[$h]}" && wait "${PID[$h]}"; } 2>/dev/null
	PID[$h]=
done
T0=$(now_ms)
get "$LF" "$T/got/lost" && rc=0 || rc=$?
TLOST=$(($(now_ms) - T0))
same "all of $LHOSTS dead (not yet down): dgfs get --no-fallback of $LF exits 8 (TIMEOUT)" "$rc" 8
# (Another chunk of the file may be the one that failed first: its holders are the same three.)
check "... saying the chunk and what each replica did" \
	grep -Eq "fast path, chunk [0-9a-f]{64}: none of its 3 replicas gave it: .*timed out" "$T/get.err"
check "... naming all three" eval 'for h in ${LHOSTS//,/ }; do grep -q "$h (127.0.0.1 port" "$T/get.err" || exit 1; done'
check "... and leaving no file behind" eval '! ls -A "$T/got" | grep -q "lost"'
# A chunk's three silent replicas: three --timeouts at most, and 3 s.
check "... within 3 x --timeout + 3000 ms (${TLOST} ms)" test "$TLOST" -le $((3 * TMO + 3000))
n "$DGFS" --server http://127.0.0.1:8080 get -q --timeout 200 "r/$LF" "$T/got/lost" 2>"$T/get.err" && rc=0 || rc=$?
same "... without --no-fallback: the HTTP fallback fails too (h1 finds no live copy): exit 10, 503" \
	"$rc $(grep -c 'HTTP 503' "$T/get.err")" "10 1"

lacks "no dgfsd wrote the cluster secret to its log" "$(cat "$SECRET")" cat "$T/dgfsd.log"
dgfsd_stop "h1 stops cleanly"
finish
