#!/usr/bin/env bash
# Cluster membership on PostgreSQL (docs/CLUSTER.md): three dgfsds on one
# database of the test's own register themselves, heartbeat, and agree on
# one owner of background work; a stopped host goes down at once, a
# silent one (SIGSTOP) after --down-after, and its ownership moves to a
# live host (it is fenced); a second dgfsd with a live host's id is
# refused; bad membership options are refused before anything starts.
#   tests/dgfsd/test_cluster_pg.sh BUILD_DIR      (as root)
# expect-checks: 35
set -u
cd "$(dirname "$0")/../.."
. tests/dgfsd/cluster.sh
dgfsd_setup "${1:-build}"

# Hosts a, b, c: ports 8081..8083, each its own state dir and log. The
# first is started by dgfsd_start (its $STATE, key and leak check); the
# other two are tracked here and stopped by the trap.
PORT=([a]=8080 [b]=8081 [c]=8082)
HB=1 DOWN=3
# start_other HOST ARGS...: HOST's dgfsd (tests/dgfsd/cluster.sh).
start_other() {
	local h=$1
	shift
	cluster_host "$h" "${PORT[$h]}" "$T/state-$h" "${COMMON[@]}" "$@"
}
# hosts [PORT]: "id:up:owner" for each host, as the host on PORT sees them.
hosts() {
	n curl -sf "http://127.0.0.1:${1:-8080}/cluster/hosts" >"$T/hosts.json" &&
		jget "$T/hosts.json" '" ".join("%s:%d:%d" % (h["id"], h["up"], h["owner"]) for h in j["hosts"])'
}
# ups [PORT]: "id:up" for each host.
ups() { hosts "$@" | tr ' ' '\n' | cut -d: -f1,2 | paste -sd' '; }
owners() { hosts "$@" | tr ' ' '\n' | grep -c ':1$'; }
owner() { hosts "$@" | tr ' ' '\n' | awk -F: '$3 == 1 { print $1 }'; }
a_down_for_b() { [[ $(hosts 8081) == a:0:* ]]; }
a_up_for_b() { [[ $(hosts 8081) == a:1:* ]]; }
b_owns() { [[ $(owner 8081) == b ]]; }
a_owns() { [[ $(owner 8080) == a ]]; }

check "a PostgreSQL server of the test's own starts (unix socket only)" pg_start || finish

refuse "--host-id with a space is refused" 2 'host-id.*letters, digits' \
	"$DGFSD" --state-dir "$T/x" --metadata "$PG_URI" --host-id 'a b'
refuse "a 64-character --zone is refused" 2 'zone.*1 to 63' \
	"$DGFSD" --state-dir "$T/x" --metadata "$PG_URI" --zone "$(printf 'z%.0s' {1..64})"
refuse "--down-after under twice --heartbeat is refused" 2 'at least twice --heartbeat' \
	"$DGFSD" --state-dir "$T/x" --metadata "$PG_URI" --heartbeat 5 --down-after 9
check "... and none of them made a state dir" test ! -e "$T/x"

cluster_common		# no cluster secret: membership only
check "host a starts" dgfsd_start "${COMMON[@]}" --host-id a --zone z1 || finish
check "host b starts" start_other b --host-id b --zone z2 || finish
check "host c starts, without a --host-id" start_other c || finish
C=$(cat "$T/state-c/host.id")
check "... and made itself an id, kept in host.id" grep -Eqx 'h-[0-9a-f]{12}' <<<"$C"
same "a sees a, b and c up" "$(ups 8080)" "a:1 b:1 $C:1"
same "... and so do b and c" "$(ups 8081)/$(ups 8082)" \
	"a:1 b:1 $C:1/a:1 b:1 $C:1"
same "exactly one owner of background work, the same for all" \
	"$(owners 8080)$(owners 8081)$(owners 8082) $(owner 8081)" "111 a"
same "the database holds each host's zone and ports" \
	"$(pg_sql "SELECT string_agg(id || '/' || zone || '/' || http_port, ' ' ORDER BY id) FROM hosts")" \
	"a/z1/8080 b/z2/8081 $C/default/8082"
RK=$(n curl -sf -H 'Content-Type: application/json' --data '{"scope":"read"}' "$URL/keys" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])')
same "a read key may not see the hosts (403)" \
	"$(n curl -q -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $RK" "$URL/cluster/hosts")" 403

same "/metrics on a: 3 hosts up, 0 down, a the owner" \
	"$(metric 'dgfsd_cluster_hosts{state="up"}') $(metric 'dgfsd_cluster_hosts{state="down"}') $(metric dgfsd_cluster_owner)" \
	"3 0 1"
same "... b is not the owner" \
	"$(n curl -sf "http://127.0.0.1:8081/metrics" | awk '$1 == "dgfsd_cluster_owner" { print $2 }')" 0

# A second dgfsd with a live host's id: refused, and the first keeps its row.
# (timeout: a dgfsd that is not refused would serve on, not exit.)
refuse "a dgfsd with live host b's id is refused" 1 'host id b is in use by a live dgfsd' \
	timeout 60 ip netns exec "$NS" "$DGFSD" --state-dir "$T/state-b2" --metadata "$PG_URI" \
	--http-port 8090 --udp-port 9190 --kmod off --host-id b --heartbeat $HB --down-after $DOWN
sleep $((HB * 2))
same "... and b is still up" "$(ups 8080)" "a:1 b:1 $C:1"

# A clean stop: down at once (no session), not after --down-after.
kill "${PID[c]}"
wait "${PID[c]}"
same "c stops cleanly (exit 0)" "$?" 0
PID[c]=
same "... and a sees it down at once" "$(ups 8080)" "a:1 b:1 $C:0"
check "... as stopped" test "$(jget "$T/hosts.json" '[h["stopped"] for h in j["hosts"]]')" = \
	'[false, false, true]'

# A silent owner: a stops (SIGSTOP) holding the lock; b sees it down after
# --down-after, fences it and takes the ownership over.
check "a owns background work" test "$(owner 8081)" = a
kill -STOP "$DGFSD_PID"
check "a silent a is down for b within 30 s" wait_for 30 a_down_for_b
check "... and b owns background work within 30 s" wait_for 30 b_owns
same "... one owner only" "$(owners 8081)" 1
kill -CONT "$DGFSD_PID"
check "a, resumed, is up again within 30 s" wait_for 30 a_up_for_b
same "... and b stays the owner" "$(owner 8081) $(owner 8080)" "b b"
shows "a says it lost the ownership" 'host a: lost the connection: no longer the owner' dgfsd_log
shows "b says it fenced a" 'host b: fenced the silent owner' cat "$T/dgfsd.log"

# A crashed owner: the lock goes with its session, no fencing needed.
kill -9 "${PID[b]}"
wait "${PID[b]}" 2>/dev/null
PID[b]=
check "b killed (SIGKILL): a owns background work within 30 s" \
	wait_for 30 a_owns

# On SQLite there is no cluster: said plainly.
dgfsd_stop "a stops cleanly"
STATE=$T/state-sqlite
check "a dgfsd on SQLite starts" dgfsd_start --kmod off || finish
same "GET /cluster/hosts on SQLite -> 501" \
	"$(n curl -s -o /dev/null -w '%{http_code}' "$URL/cluster/hosts")" 501
finish
