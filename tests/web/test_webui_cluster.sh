#!/usr/bin/env bash
# The web UI's Cluster page and GET /cluster/repair (docs/WEBUI.md,
# docs/HTTP.md) on a real small cluster: four dgfsds on a PostgreSQL of
# the test's own, R=3, h1 the owner of background work.
# - GET /cluster/repair: 401 without a key, 403 with a read key, and the
#   figures /metrics gives (after a repair, when they are not 0); a
#   single host answers {"cluster": false}.
# - In headless Chromium (tests/web/webui_cluster.mjs): a read key gets no
#   Cluster page; the admin key sees the four hosts up and no chunk short;
#   h4 killed, the page shows it down and chunks short of copies, then,
#   repaired, 0 short and copies made. The page's screenshot is kept as
#   build/webui-cluster.png.
#   tests/web/test_webui_cluster.sh BUILD_DIR      (as root)
# expect-checks: 40
set -u
cd "$(dirname "$0")/../.."
. tests/dgfsd/cluster.sh
dgfsd_setup "${1:-build}"

NPM_DIR=$(realpath -m "$BUILD/web-npm")
check "the web UI is built ($BUILD/web/cluster.js, make web)" test -f "$BUILD/web/assets/cluster.js" ||
	finish
check "playwright-core is installed ($NPM_DIR, make web)" \
	test -f "$NPM_DIR/node_modules/playwright-core/package.json" || finish
check "Debian's chromium is there (make deps)" test -x /usr/bin/chromium || finish

NFILES=${NFILES:-8}
HB=1 DOWN=4
# Seconds a killed host may take to show down, and repair to end.
WAIT_S=${WAIT_S:-120}

check "a PostgreSQL server of the test's own starts" pg_start || finish
# Repair at 2 MB/s every 5 s: a pass's "short" figure stays up between
# passes for longer than the page's refresh (3 s).
cluster_dirs 4 --replicas 3 --repair-interval 5 --repair-rate 2
check "h1 starts" dgfsd_start "${COMMON[@]}" --host-id h1 --zone z1 || finish
owner1() { [[ $(n curl -sf "$URL/cluster/repair" | jget /dev/stdin 'j["owner"]') == true ]]; }
check "h1 owns background work (the only host)" wait_for 30 owner1
for i in 2 3 4; do
	check "h$i starts" start_other h$i "${PORT[h$i]}" "${SDIR[h$i]}" --host-id h$i || finish
done
all_up() { [[ $(ups 8080) == "h1:1 h2:1 h3:1 h4:1" ]]; }
check "h1 sees four hosts up" wait_for 30 all_up

mkdir -p "$T/files"
ok=0
for ((i = 0; i < NFILES; i++)); do
	head -c $((1600000 + i * 7919)) /dev/urandom >"$T/files/f$i"
	[[ $(n curl -s -o /dev/null -w '%{http_code}' -T "$T/files/f$i" "$URL/files/r/f$i") == 201 ]] &&
		ok=$((ok + 1))
done
same "$NFILES uploads answer 201" "$ok" "$NFILES"

# --- GET /cluster/repair ---
same "GET /cluster/repair without a key -> 401" \
	"$(n curl -q -s -o /dev/null -w '%{http_code}' "$URL/cluster/repair")" 401
RK=$(n curl -sf -H 'Content-Type: application/json' --data '{"scope":"read"}' "$URL/keys" |
	jget /dev/stdin 'j["key"]')
same "... with a read key -> 403" \
	"$(n curl -q -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $RK" "$URL/cluster/repair")" 403
passed() { (($(n curl -sf "$URL/cluster/repair" | jget /dev/stdin 'j["repair"]["passes"]') >= 1)); }
check "with the admin key: a whole pass within 30 s" wait_for 30 passed
n curl -sf "$URL/cluster/repair" >"$T/repair.json"
n curl -sf "$URL/metrics" >"$T/metrics.txt"
metric() { awk -v m="$1" '$1 == m { print $2 }' "$T/metrics.txt"; }
same "... and it says who it is, that it owns the work, and when the last pass ended" \
	"$(jget "$T/repair.json" '"%s %s %s %s" % (j["cluster"], j["self"], j["owner"], abs(j["repair"]["last_pass"] - __import__("time").time()) < 60)')" \
	"True h1 True True"
same "... as does /metrics (dgfsd_cluster_owner)" "$(metric dgfsd_cluster_owner)" 1

# A single host (SQLite metadata) is no cluster.
check "a single-host dgfsd starts" cluster_host solo 8090 "$T/state-solo" --kmod off
read -r SOLOKEY <"$T/state-solo/admin.key"
same "its GET /cluster/repair -> 200 {\"cluster\": false}" \
	"$(n curl -q -s -w ' %{http_code}' -H "Authorization: Bearer $SOLOKEY" http://127.0.0.1:8090/cluster/repair | tr -d '\n')" \
	'{"cluster":false} 200'
kill "${PID[solo]}" && wait "${PID[solo]}"
same "... and stops cleanly" "$?" 0
PID[solo]=

# --- The Cluster page in Chromium ---
read -r KEY <"$STATE/admin.key"
SHOT=$BUILD/webui-cluster.png
rm -f "$SHOT"
ip netns exec "$NS" env URL="$URL" KEY="$KEY" READ_KEY="$RK" HOSTS="h1 h2 h3 h4" \
	ROW0="127.0.0.1:8080|z1|up|||plain" KILL_HOST=h4 KILL_PID="${PID[h4]}" WAIT_S="$WAIT_S" \
	SHOT="$SHOT" NPM_DIR="$NPM_DIR" HOME="$HOME" node tests/web/webui_cluster.mjs >"$T/driver.log" 2>&1
rc=$?
cat "$T/driver.log"
grep -q '^FAIL: ' "$T/driver.log" && DGFS_FAILED=1
[[ $rc == 0 ]] || grep -q '^FAIL: ' "$T/driver.log" || fail "the browser driver exited $rc"
# Killed by the driver; by us if it stopped before that.
kill -9 "${PID[h4]}" 2>/dev/null
wait "${PID[h4]}" 2>/dev/null
PID[h4]=
# Repaired, the cluster is quiet (nothing changes between the two reads),
# and repair's counters are no longer 0.
n curl -sf "$URL/cluster/repair" >"$T/repair.json"
n curl -sf "$URL/metrics" >"$T/metrics.txt"
same "after the repair, GET /cluster/repair's figures are /metrics' (short misplaced lost copied failed refused bytes handed_off)" \
	"$(jget "$T/repair.json" '" ".join(str(x) for r in [j["repair"]] for x in [r["chunks"]["short"], r["chunks"]["misplaced"], r["chunks"]["lost"], r["copies"]["copied"], r["copies"]["failed"], r["copies"]["refused"], r["bytes"], r["handed_off"]])')" \
	"$(for m in 'dgfsd_repair_chunks{state="short"}' 'dgfsd_repair_chunks{state="misplaced"}' \
		'dgfsd_repair_chunks{state="lost"}' 'dgfsd_repair_copies_total{result="copied"}' \
		'dgfsd_repair_copies_total{result="failed"}' 'dgfsd_repair_copies_total{result="refused"}' \
		dgfsd_repair_bytes_total dgfsd_repair_handed_off_total; do metric "$m"; done | paste -sd' ')"
check "... copies made (dgfsd_repair_copies_total{result=\"copied\"} > 0)" \
	test "$(metric 'dgfsd_repair_copies_total{result="copied"}')" -gt 0

for h in h2 h3; do
	kill "${PID[$h]}" && wait "${PID[$h]}"
	same "$h stops cleanly (exit 0)" "$?" 0
	PID[$h]=
done
dgfsd_stop "h1 stops cleanly"
finish
