#!/usr/bin/env bash
# dgfsd's HTTP filter on Debian's 6.1 kernel: build/http_filter_test
# (BPF_PROG_TEST_RUN, the 6.1 verifier; its cases and 20000 fuzzed
# frames); then, with dgfs.ko, dgfsd --http-filter dg0 and dgfs's
# fast-path program together in libxdp's dispatcher (the host's kernel
# has none): both listed, `dgfs get --no-fallback` through both to the
# kernel fast path, a SYN flood held to the limit, and at dgfsd's stop the
# filter gone and the fast path still there.
# expect-checks: 23 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

DGFS=$BUILD/dgfs
DGFSD=$BUILD/dgfsd
RATE=20 BURST=40
srv=hf-srv cli=hf-cli
s() { ip netns exec $srv "$@"; }
c() { ip netns exec $cli "$@"; }
# xdp-loader needs the system's bpffs, which `ip netns exec` hides.
S() { nsenter --net="/run/netns/$srv" "$@"; }
URL=http://198.18.0.1:8080
dpid=
cleanup() {
	[[ -n $dpid ]] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	if [[ -e /run/netns/$srv ]]; then
		s $CTL xdp detach dg0 2>/dev/null
		S xdp-loader unload --all dg0 >/dev/null 2>&1
		rm -rf /sys/fs/bpf/dgfs-http-filter/netns-"$(stat -L -c %i "/run/netns/$srv")"-*
	fi
	ip netns del $srv 2>/dev/null
	ip netns del $cli 2>/dev/null
}
trap cleanup EXIT

"$BUILD/http_filter_test" >/tmp/hf-unit.log 2>&1 && rc=0 || rc=$?
grep '^FAIL' /tmp/hf-unit.log
same "http_filter_test (BPF_PROG_TEST_RUN on 6.1) exits 0 ($(grep -c '^PASS' /tmp/hf-unit.log) passes)" \
	"$rc" 0

"$BUILD/http_filter_test" --fuzz 20000 --seed "$RANDOM" && rc=0 || rc=$?
same "http_filter_test --fuzz 20000 on 6.1 exits 0" "$rc" 0

dgfs_load
check "two namespaces joined by veth (dg0, dg1)" two_hosts $srv $cli
ip -n $cli addr add 198.18.0.3/24 dev dg1
state=$(scratch hf)
# Not through s(): $! must be dgfsd itself (ip netns exec execs it).
ip netns exec $srv "$DGFSD" --state-dir "$state" --kmod require --tagger off --access-log off \
	--http-filter dg0 --syn-rate $RATE --syn-burst $BURST >/tmp/hf-dgfsd.log 2>&1 &
dpid=$!
up() { c curl -sf -o /dev/null "$URL/healthz"; }
check "dgfsd --kmod require --http-filter dg0 comes up" wait_for 60 up ||
	{ tail -n 20 /tmp/hf-dgfsd.log; finish; }
check "dgfsctl xdp attach dg0 beside the filter" s $CTL xdp attach dg0 mode native
status=$(S xdp-loader status dg0)
echo "$status"
check "xdp-loader: one dispatcher on dg0" grep -q xdp_dispatcher <<<"$status"
check "... holding the filter" grep -q '\bhttp_filter\b' <<<"$status"
check "... and the fast-path program" grep -q '\bdgfs_xdp\b' <<<"$status"

key=$(cat "$state/admin.key")
H="Authorization: Bearer $key"
head -c $((3 << 20)) /dev/urandom >/tmp/hf-src
same "a 3 MiB file uploaded through the filter" \
	"$(c curl -s -o /dev/null -w '%{http_code}' -H "$H" -T /tmp/hf-src "$URL/files/f")" 201
kstat() { s $CTL stats | awk -v k="$1" '$1 == k { print $2 }'; }
before=$(kstat xdp_submitted)
if c env DGFS_API_KEY="$key" $DGFS get --server $URL --no-fallback -q f /tmp/hf-got &&
   cmp -s /tmp/hf-got /tmp/hf-src; then
	pass "dgfs get --no-fallback through both programs: byte-exact"
else
	fail "dgfs get --no-fallback through both programs: byte-exact"
fi
check "... the fast-path program handed the requests to dgfs.ko" \
	test "$(kstat xdp_submitted)" -gt "$before"

c python3 tests/net/synflood.py 198.18.0.3 198.18.0.1 8080 2 >/tmp/hf-flood.json
# (No process substitution here: the VM has no /dev/fd.)
read -r sent synacks took <<<"$(python3 -c '
import json; r = json.load(open("/tmp/hf-flood.json")); print(r["sent"], r["synacks"], r["seconds"])')"
echo "flood: $(cat /tmp/hf-flood.json)"
high=$(awk -v b=$BURST -v r=$RATE -v t="$took" 'BEGIN { printf "%d\n", b + r * (t + 0.5) + 5 }')
check "a flood ($sent SYNs in $took s, more than 5x the limit's $high)" [ "$sent" -gt $((5 * high)) ]
check "SYN+ACKs back ($synacks) held to burst + rate x time ($BURST .. $high)" \
	[ "$synacks" -ge "$BURST" -a "$synacks" -le "$high" ]
metrics=$(c curl -sf -H "$H" "$URL/metrics")
metric() { awk -v k="$1" '$1 == k { print $2 }' <<<"$metrics"; }
dropped=$(metric dgfsd_http_filter_syn_dropped_total)
check "/metrics: the filter's drops ($dropped) are the flood's SYNs not answered (+-2)" \
	[ $((dropped - (sent - synacks))) -le 2 -a $(((sent - synacks) - dropped)) -le 2 ]
check "/metrics: the fast-path program's counters too" grep -q '^dgfs_xdp_submitted [1-9]' \
	<<<"$metrics"

kill "$dpid" && wait "$dpid" && rc=0 || rc=$?
dpid=
same "dgfsd exits 0 on SIGTERM" "$rc" 0
status=$(S xdp-loader status dg0)
check "at stop the filter came off dg0" eval '! grep -q "\bhttp_filter\b" <<<"$status"'
check "... and the fast-path program stayed" grep -q '\bdgfs_xdp\b' <<<"$status"
check "dgfsctl xdp detach dg0" s $CTL xdp detach dg0
ip netns del $srv
ip netns del $cli
dgfs_unload
finish
