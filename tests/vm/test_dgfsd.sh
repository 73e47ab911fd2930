#!/usr/bin/env bash
# dgfsd with dgfs.ko: the whole storage host on Debian's 6.1 kernel. A
# server namespace runs dgfsd (state on the ext4 scratch disk) with the XDP
# program on its veth; a client namespace uploads over HTTP with curl and
# `dgfs put`, and reads with `dgfs get --no-fallback`, which fails unless
# every chunk came over the kernel fast path. Checks that the module's
# index follows uploads, deletes and restarts, and that its counters and
# the XDP program's move.
# expect-checks: 68 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

DGFS=$BUILD/dgfs
DGFSD=$BUILD/dgfsd
srv=dgfsd-srv cli=dgfsd-cli
s() { ip netns exec $srv "$@"; }
c() { ip netns exec $cli "$@"; }
URL=http://198.18.0.1:8080
dpid=
cleanup() {
	[[ -n $dpid ]] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	s $CTL xdp detach dg0 2>/dev/null
	ip netns del $srv 2>/dev/null
	ip netns del $cli 2>/dev/null
}
trap cleanup EXIT

# The kernel log from here on is this script's (the unload checks read it).
dmesg_from=$(($(dmesg | wc -l) + 1))
dgfs_load
check "two namespaces joined by veth (dg0, dg1)" two_hosts $srv $cli

state=$(scratch dgfsd)
# Every request but /healthz needs a key: curl and dgfs send the admin key
# dgfsd made on its first start.
use_admin_key() {
	export CURL_HOME=/tmp/dgfsd-curl DGFS_API_KEY
	DGFS_API_KEY=$(cat "$state/admin.key") && mkdir -p "$CURL_HOME" &&
		printf 'header = "Authorization: Bearer %s"\n' "$DGFS_API_KEY" >"$CURL_HOME/.curlrc"
}
start_dgfsd() {
	local i
	ip netns exec $srv "$DGFSD" --state-dir "$state" --kmod require "$@" \
		>>/tmp/dgfsd.log 2>&1 &
	dpid=$!
	for ((i = 0; i < 100; i++)); do
		c curl -sf -o /dev/null "$URL/healthz" && use_admin_key && return 0
		sleep 0.2
	done
	tail -n 20 /tmp/dgfsd.log
	return 1
}
# stop_dgfsd: SIGTERM; one check that dgfsd exits 0.
stop_dgfsd() {
	local rc
	kill "$dpid" && wait "$dpid" && rc=0 || rc=$?
	dpid=
	same "dgfsd exits 0 on SIGTERM" "$rc" 0
}
kstat() { s $CTL stats | awk -v k="$1" '$1 == k { print $2 }'; }
# module_chunks / db_chunks: the chunk ids, sorted; each fails if its
# query does (a failed query must not read as "no chunks").
module_chunks() {
	local out
	out=$(s $CTL -j chunk show store dgfsd) || return 1
	python3 -c '
import json, sys
print("\n".join(sorted(c["id"] for c in json.load(sys.stdin))))' <<<"$out"
}
db_chunks() {
	local out
	out=$(sqlite3 "file:$state/meta.db?mode=ro" "SELECT lower(hex(id)) FROM chunks") || return 1
	sort <<<"$out"
}
# index_matches NAME: both queries work, the metadata references chunks,
# and the module's index holds exactly those.
index_matches() {
	local m d
	if ! m=$(module_chunks); then fail "$1 (dgfsctl chunk show failed)"; return 1; fi
	if ! d=$(db_chunks); then fail "$1 (the metadata query failed)"; return 1; fi
	if [[ -z $d ]]; then fail "$1 (the metadata references no chunk)"; return 1; fi
	same "$1 ($(wc -l <<<"$d") chunks)" "$m" "$d"
}

check "dgfsd starts with dgfs.ko (--kmod require)" start_dgfsd
shows "dgfsd made the store in the module" "^store dgfsd path $state/chunks " s $CTL store show dgfsd
same "dgfsd set the key in the module" "$(s $CTL -j config show | python3 -c '
import json, sys; print(json.load(sys.stdin)["key_set"])')" True
check "xdp attach dg0 (native)" s $CTL xdp attach dg0 mode native
# ss must work and list the module's sockets (kernel sockets have no
# process): only then does "no users:" mean no userspace socket.
ports=$(s ss -Hulpn 'sport = :7878') && rc=0 || rc=$?
same "ss lists the fast-path port's sockets (IPv4 and IPv6)" "$rc $(grep -c . <<<"$ports")" "0 2"
lacks "no userspace socket on the fast-path port (the module serves it)" users: echo "$ports"

src=/mnt/dgfsd-src
rm -rf $src && mkdir -p $src
for f in small:4096 mid:$((3 << 20)) big:$((20 << 20)); do
	head -c "${f#*:}" /dev/urandom >"$src/${f%:*}"
done
for f in small mid big; do
	same "curl upload $f" "$(c curl -s -o /dev/null -w '%{http_code}' -T "$src/$f" \
		"$URL/files/vm/$f")" 201
done
index_matches "the module indexes exactly the chunks the metadata references"

before=$(kstat replies)
xdp_before=$(kstat xdp_submitted)
for f in small mid big; do
	rm -f /tmp/got
	if c $DGFS get --server $URL --no-fallback -q --stats-json /tmp/get.json "vm/$f" /tmp/got &&
	   cmp -s /tmp/got "$src/$f"; then
		pass "dgfs get $f over the kernel fast path, no HTTP fallback"
	else
		fail "dgfs get $f over the kernel fast path, no HTTP fallback"
	fi
done
same "no chunk came by HTTP fallback" "$(python3 -c '
import json; print(json.load(open("/tmp/get.json"))["fallback"])')" 0
check "the module's reply counter moved" test "$(kstat replies)" -gt "$before"
check "the XDP program handed the requests over" test "$(kstat xdp_submitted)" -gt "$xdp_before"
metrics=$(c curl -sf "$URL/metrics")
check "/metrics shows the module's counters" grep -q '^dgfs_kmod_replies [1-9]' <<<"$metrics"
mv() { awk -v m="$1" '$1 == m { print $2 }' <<<"$metrics"; }
check "/metrics: the module's request latency histogram counted the reads ($(mv dgfs_kmod_request_duration_seconds_count))" \
	test "$(mv dgfs_kmod_request_duration_seconds_count)" -gt 0
same "... its +Inf bucket is its count" \
	"$(mv 'dgfs_kmod_request_duration_seconds_bucket{le="+Inf"}')" \
	"$(mv dgfs_kmod_request_duration_seconds_count)"
check "... and its disk read histogram is there" \
	grep -q '^dgfs_kmod_disk_read_duration_seconds_count [0-9]' <<<"$metrics"
check "... gauges typed gauge (queued)" grep -q '^# TYPE dgfs_kmod_queued gauge$' <<<"$metrics"
check "/metrics shows the XDP program's counters" grep -q '^dgfs_xdp_' <<<"$metrics"
check "/metrics says the kernel serves the fast path" \
	grep -q '^dgfsd_fastpath_kernel 1' <<<"$metrics"

# dgfs put: client-side dedup, chunks registered in the module too.
cp "$src/big" "$src/big2" && printf 'x' >>"$src/big2"
check "dgfs put of a modified file" c $DGFS put --server $URL -q --stats-json /tmp/put.json \
	"$src/big2" vm/big2
up=$(python3 -c 'import json; print(json.load(open("/tmp/put.json"))["uploaded"])')
check "dgfs put uploaded at most 2 of the file's chunks ($up)" test "$up" -le 2
if c $DGFS get --server $URL --no-fallback -q vm/big2 /tmp/got && cmp -s /tmp/got "$src/big2"
then pass "dgfs get of the put file over the kernel fast path"
else fail "dgfs get of the put file over the kernel fast path"; fi

# Deletes leave the module's index.
same "DELETE vm/mid" "$(c curl -s -o /dev/null -w '%{http_code}' -X DELETE "$URL/files/vm/mid")" 204
index_matches "after a delete the module's index equals the metadata's"

# Restart: reconciliation refills the module's index.
stop_dgfsd
one=$(db_chunks | head -n1)
check "remove a chunk from the module by hand" s $CTL chunk del "$one"
check "dgfsd restarts" start_dgfsd
index_matches "after restart the module's index equals the metadata's again"
if c $DGFS get --server $URL --no-fallback -q vm/big /tmp/got && cmp -s /tmp/got "$src/big"
then pass "fast path works after the restart"
else fail "fast path works after the restart"; fi

# Another port: dgfsd configures the module and loads the XDP program that
# is already attached again, so that it catches the new port.
stop_dgfsd
check "dgfsd restarts with --udp-port 7901 --max-read 2M" start_dgfsd --udp-port 7901 --max-read 2M
same "the attached XDP program followed to port 7901, max_read 2M" \
	"$(s $CTL -j xdp show dg0 | python3 -c '
import json, sys; x = json.load(sys.stdin); print(x["port"], x["max_read"], x["mode"])')" \
	"7901 $((2 << 20)) native"
sub0=$(kstat xdp_submitted) stack0=$(kstat stack_requests)
if c $DGFS get --server $URL --no-fallback -q vm/big /tmp/got && cmp -s /tmp/got "$src/big"
then pass "fast path on port 7901"
else fail "fast path on port 7901"; fi
check "... through XDP" test "$(kstat xdp_submitted)" -gt "$sub0"
same "... none through the stack" "$(kstat stack_requests)" "$stack0"
grep -q "warning: the XDP program kept" /tmp/dgfsd.log && fail "dgfsd warned about XDP" ||
	pass "dgfsd did not warn about XDP"

# dgfs.ko unloaded and loaded again (an upgrade) under the running dgfsd:
# HTTP goes on, and within a few seconds of the new module dgfsd has
# configured it and refilled its index.
check "xdp detach dg0, for rmmod" s $CTL xdp detach dg0
# Counted only in a live dgfsd's fd table: one that died has none.
fds=$(ls -l "/proc/$dpid/fd") && rc=0 || rc=$?
same "dgfsd is alive and its fds can be listed" "$rc $(cat "/proc/$dpid/comm" 2>/dev/null)" "0 dgfsd"
check "... it has open fds (its sockets, its database)" test "$(grep -c ' -> ' <<<"$fds")" -gt 3
lacks "... none of them a BPF program (libxdp's calls ran in a child)" bpf-prog echo "$fds"
# The detached program is freed after an RCU grace period: only then does
# its reference on the module go.
for _ in $(seq 50); do
	rmmod dgfs 2>/dev/null && break
	sleep 0.2
done
check "rmmod dgfs under a running dgfsd" bash -c "! grep -q '^dgfs ' /proc/modules"
for _ in $(seq 50); do
	grep -q "dgfs.ko cannot be reached" /tmp/dgfsd.log && break
	sleep 0.2
done
check "dgfsd noticed the module gone" grep -q "dgfs.ko cannot be reached" /tmp/dgfsd.log
if c $DGFS get --server $URL -q vm/big /tmp/got && cmp -s /tmp/got "$src/big"
then pass "downloads go on without the module (HTTP)"
else fail "downloads go on without the module (HTTP)"; fi
check "insmod dgfs.ko again" insmod "$BUILD/dgfs.ko"
refilled() { [[ $(module_chunks 2>/dev/null) == "$(db_chunks)" ]]; }
wait_for 20 refilled
index_matches "dgfsd refilled the new module's index"
same "... and configured it (port, key)" "$(s $CTL -j config show | python3 -c '
import json, sys; x = json.load(sys.stdin); print(x["port"], x["key_set"])')" "7901 True"
check "xdp attach dg0 again" s $CTL xdp attach dg0 mode native
sub0=$(kstat xdp_submitted)
if c $DGFS get --server $URL --no-fallback -q vm/big /tmp/got && cmp -s /tmp/got "$src/big"
then pass "fast path through the new module"
else fail "fast path through the new module"; fi
check "... through XDP" test "$(kstat xdp_submitted)" -gt "$sub0"
check "dgfsd said it configured the new module" \
	grep -q "without our store (reloaded?): configuring it again" /tmp/dgfsd.log

# A chunk file damaged in place: the module serves what the file holds,
# so the fast path fails. dgfsd scrub --repair removes it, an upload of the
# content writes it again, and dgfsd makes the module's entry anew on the
# new file (the module holds the file it was given open).
bad=$(c curl -sf "$URL/files/vm/big?manifest" | python3 -c '
import json, sys; print(json.load(sys.stdin)["chunks"][0]["id"])')
check "vm/big's first chunk file is there (${bad:0:12}..)" test -n "$bad" -a -f "$state/chunks/$bad"
head -c "$(stat -c %s "$state/chunks/$bad")" /dev/urandom >/tmp/junk
cat /tmp/junk >"$state/chunks/$bad"
c $DGFS get --server $URL --no-fallback -q vm/big /tmp/got 2>/dev/null && rc=0 || rc=$?
same "a chunk file damaged in place fails dgfs get --no-fallback (exit 1: SHA-256)" "$rc" 1
s "$DGFSD" scrub --state-dir "$state" --repair >/tmp/scrub.out 2>&1 && rc=0 || rc=$?
same "dgfsd scrub --repair finds it and removes it (exit 1)" \
	"$rc $(grep -c "^bad $bad: .*removed" /tmp/scrub.out)" "1 1"
check "dgfs put of the same content repairs it" c $DGFS put --server $URL -q "$src/big" vm/big
if c $DGFS get --server $URL --no-fallback -q vm/big /tmp/got && cmp -s /tmp/got "$src/big"
then pass "... and the kernel fast path serves the repaired chunk"
else fail "... and the kernel fast path serves the repaired chunk"; fi
index_matches "... the module's index still matches the metadata"

stop_dgfsd
check "xdp detach dg0" s $CTL xdp detach dg0
# The module keeps the store and its chunks after dgfsd stops (the fast
# path goes on serving); clear them so the module can go.
for id in $(module_chunks); do s $CTL chunk del "$id"; done
check "store del dgfsd" s $CTL store del dgfsd
ip netns del $srv
ip netns del $cli
dgfs_unload
# Two instances went in this script: each says "unloaded, objects
# created N destroyed N"; one that leaked says "leak: objects created N
# destroyed M" instead.
msgs=$(dmesg | tail -n +"$dmesg_from") || fail "dmesg"
same "both modules freed every object they created" \
	"$(grep -cE 'dgfs: unloaded, objects created ([0-9]+) destroyed \1$' <<<"$msgs") balanced, $(grep -c 'dgfs: leak:' <<<"$msgs") leaked" \
	"2 balanced, 0 leaked"
finish
