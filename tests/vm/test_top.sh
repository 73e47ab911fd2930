#!/usr/bin/env bash
# Live monitoring of dgfs.ko: `dgfsctl clients` (DGFS_CMD_CLIENTS_GET) and
# dgfs-top (`dgfsctl top`):
# - the clients dump names each client that read, with exactly its
#   requests, which add up to the requests counter; it needs CAP_NET_ADMIN;
# - dgfs-top, in batch (count) mode while dgfs-bench loads the host,
#   prints frames whose requests/s, latency and busiest client move;
# - dgfs-top in tmux redraws in place: two captures a few seconds apart
#   both show the frame, with moving numbers, and q quits it.
# expect-checks: 24 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

DGFS=$BUILD/dgfs
TOP=$BUILD/dgfs-top
key=000102030405060708090a0b0c0d0e0f
tm() { tmux -L dgfs-top "$@"; }
cleanup_first() {
	tm kill-server 2>/dev/null
	[[ -z ${load:-} ]] || kill "$load" 2>/dev/null
}
server_and_client || finish

serve_small top 4096 "a 4 KiB"
check "client: a second address, 198.18.0.3" ip -n $cli addr add 198.18.0.3/24 dev dg1
val() { awk -v k="$2" '$1 == k { print $2 }' <<<"$1"; }

# ---- the clients dump ----------------------------------------------------------
same "no client before any request" "$(s $CTL clients)" ""
out=$(c python3 tests/vm/udp_read.py 198.18.0.1 7878 "$small" "$root/small" 5 \
	"$DGFS token --key $key --expiry 600 $small --addr" "ip netns exec $srv $CTL stats" \
	requests 198.18.0.2 198.18.0.3)
same "5 reads from each of two addresses" "$out" "198.18.0.2 5
198.18.0.3 5"
same "clients: each address with exactly its 5 requests" "$(s $CTL clients | sort)" \
	"client 198.18.0.2 requests 5
client 198.18.0.3 requests 5"
same "clients: they add up to the requests counter" \
	"$(s $CTL -j clients | python3 -c 'import json, sys; print(sum(c["requests"] for c in json.load(sys.stdin)))')" \
	"$(val "$(s $CTL stats)" requests)"
refuse "clients: without CAP_NET_ADMIN, EPERM" 1 "Operation not permitted" \
	s setpriv --inh-caps=-all --bounding-set=-all $CTL clients
nocap_stats() { s setpriv --inh-caps=-all --bounding-set=-all $CTL stats >/dev/null; }
check "stats: still open to anyone" nocap_stats

# ---- dgfs-top in batch mode, under load ----------------------------------------
# 200 reads a second from 198.18.0.2 (open loop), for as long as the test needs.
c $BUILD/dgfs-bench --key $key --duration 60 --rate 200 --size 4096 --timeout 2000 \
	198.18.0.1 "$small" >/dev/null 2>&1 &
load=$!
frames=$(s $TOP interval 1 count 3) && rc=0 || rc=$?
same "dgfs-top count 3: exits 0" $rc 0
echo "$frames"
same "... three frames" "$(grep -c '^dgfs-top ' <<<"$frames")" 3
last=$(awk '/^dgfs-top /{ f = "" } { f = f $0 "\n" } END { printf "%s", f }' <<<"$frames")
rate=$(awk '$1 == "requests/s" { print int($2) }' <<<"$last")
check "... requests/s of the last frame is positive ($rate)" test "${rate:-0}" -gt 0
check "... and so is its replies/s" awk '$1 == "requests/s" { exit !($4 > 0) }' <<<"$last"
check "... its latency p50 is a duration, not a dash" \
	grep -Eq '^latency +p50 [0-9.]+(ns|us|ms|s) ' <<<"$last"
check "... its busiest client is the loaded one, with a rate" \
	awk '/^CLIENT/ { getline; exit !($1 == "198.18.0.2" && $2 > 0) }' <<<"$last"
check "... the quiet one shows no rate" \
	awk '$1 == "198.18.0.3" { found = 1; exit !($2 == 0 && $3 == 5) } END { exit !found }' <<<"$last"
check "... the ring backlog line" grep -Eq '^rings +queued [0-9]+  fullest [0-9]+/1024' <<<"$last"

# ---- dgfs-top in tmux ---------------------------------------------------------
check "tmux: dgfs-top in a 100x30 window" \
	tm new-session -d -s top -x 100 -y 30 "ip netns exec $srv $TOP"
sleep 3
one=$(tm capture-pane -p -t top)
sleep 2.5
two=$(tm capture-pane -p -t top)
echo "$two"
check "tmux: the frame is on the screen" grep -q '^dgfs-top .*interval' <<<"$two"
same "tmux: redrawn in place: one frame on the screen, not a log" "$(grep -c '^dgfs-top ' <<<"$two")" 1
check "tmux: requests/s under load is positive" \
	awk '$1 == "requests/s" { exit !($2 > 0) }' <<<"$two"
total() { awk '$1 == "198.18.0.2" { print $3 }' <<<"$1"; }
check "tmux: the numbers move: 198.18.0.2's requests $(total "$one") -> $(total "$two")" \
	test "$(total "$two")" -gt "$(total "$one")"
check "tmux: q quits it" tm send-keys -t top q
gone() { ! tm has-session -t top 2>/dev/null; }
check "tmux: ... and the window closes" wait_for 10 gone
kill $load 2>/dev/null
wait $load 2>/dev/null
load=

server_and_client_down
dgfs_unload
finish
