#!/usr/bin/env bash
# dgfsd --user with dgfs.ko (docs/DGFSD.md, "Privileges"): started as root
# it gives its state to nobody and runs as nobody keeping CAP_NET_ADMIN and
# nothing else (the module is in use); as nobody it still configures the
# module, registers every uploaded chunk (netlink chunk add, from files
# that are nobody's and 0600), and the module serves them: `dgfs get
# --no-fallback` from a client namespace fails unless every chunk came
# over the kernel fast path. The XDP program attached before it starts was
# loaded for another port: dgfsd loads it again for its own before it
# becomes nobody (finding an attached program by id takes CAP_SYS_ADMIN),
# and the reads go through XDP. Started as systemd's unit starts it
# (nobody with CAP_NET_ADMIN alone), it cannot: it says so and how to fix
# it, and the module's socket serves through the stack.
# expect-checks: 30 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

DGFS=$BUILD/dgfs
DGFSD=$BUILD/dgfsd
srv=dgfsd-usr cli=dgfsd-ucl
s() { ip netns exec $srv "$@"; }
c() { ip netns exec $cli "$@"; }
URL=http://198.18.0.1:8080
dpid=
healthy() { c curl -sf -o /dev/null "$URL/healthz"; }
kstat() { s $CTL -j stats | python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
cleanup() {
	s $CTL xdp detach dg0 2>/dev/null
	[[ -n $dpid ]] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	ip netns del $srv 2>/dev/null
	ip netns del $cli 2>/dev/null
}
trap cleanup EXIT

dgfs_load
check "two namespaces joined by veth (dg0, dg1)" two_hosts $srv $cli
check "xdp attach dg0 (native), for the default port" s $CTL xdp attach dg0 mode native
state=$(scratch dgfsd-user)
ip netns exec $srv "$DGFSD" --state-dir "$state" --kmod require --user nobody \
	--udp-port 7901 \
	>>/tmp/dgfsd-user.log 2>&1 &
dpid=$!
check "dgfsd --user nobody --kmod require is up" wait_for 20 healthy ||
	{ tail -n 20 /tmp/dgfsd-user.log; finish; }
st() { awk -v f="$1:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$dpid/status"; }
same "it runs as nobody" "$(st Uid)" "65534 65534 65534 65534"
same "keeping CAP_NET_ADMIN (12) alone" "$(st CapEff)/$(st CapBnd)" \
	"0000000000001000/0000000000001000"
same "no_new_privs" "$(st NoNewPrivs)" 1
export DGFS_API_KEY
DGFS_API_KEY=$(cat "$state/admin.key")
head -c 6000000 /dev/urandom >/tmp/u.bin
same "as nobody: PUT a 6 MB file" "$(c curl -sS -o /dev/null -w '%{http_code}' \
	-H "Authorization: Bearer $DGFS_API_KEY" -T /tmp/u.bin "$URL/files/u.bin")" 201
ndb=$(sqlite3 "file:$state/meta.db?mode=ro" "SELECT count(*) FROM chunks")
nmod=$(s $CTL -j chunk show store dgfsd | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
check "its chunks are in the module's index ($nmod of $ndb)" test "$ndb" -ge 2 -a "$nmod" == "$ndb"
same "every state file is nobody's" "$(find "$state" ! -user nobody | wc -l)" 0
same "chunk files are 0600" "$(find "$state/chunks" -type f ! -perm 600 | wc -l)" 0
same "as nobody, dgfsd loaded the attached XDP program again for port 7901" \
	"$(s $CTL -j xdp show dg0 | python3 -c '
import json, sys; x = json.load(sys.stdin); print(x["port"], x["mode"])')" "7901 native"
lacks "... without a warning" "warning: the XDP program kept" cat /tmp/dgfsd-user.log
before=$(s $CTL stats | awk '$1 == "replies" { print $2 }')
sub0=$(kstat xdp_submitted) stack0=$(kstat stack_requests)
check "dgfs get --no-fallback: every chunk from the module" c "$DGFS" -q --server "$URL" \
	get --no-fallback u.bin /tmp/u.got
check "... the same bytes" cmp -s /tmp/u.bin /tmp/u.got
after=$(s $CTL stats | awk '$1 == "replies" { print $2 }')
check "... the module's replies moved ($before -> $after)" test "${after:-0}" -gt "${before:-0}"
check "... handed over by XDP" test "$(kstat xdp_submitted)" -gt "$sub0"
same "... none through the stack" "$(kstat stack_requests)" "$stack0"
kill "$dpid" && wait "$dpid" && rc=0 || rc=$?
dpid=
same "dgfsd exits 0 on SIGTERM" "$rc" 0

: >/tmp/dgfsd-amb.log
ip netns exec $srv setpriv --reuid=65534 --regid=65534 --clear-groups \
	--inh-caps=+net_admin --ambient-caps=+net_admin \
	"$DGFSD" --state-dir "$state" --kmod require --udp-port 7902 >>/tmp/dgfsd-amb.log 2>&1 &
dpid=$!
check "started as nobody with CAP_NET_ADMIN alone (as the unit does), on port 7902: up" \
	wait_for 20 healthy
same "... it runs as nobody" "$(st Uid)" "65534 65534 65534 65534"
same "... the XDP program stays on port 7901" \
	"$(s $CTL -j xdp show dg0 | python3 -c '
import json, sys; print(json.load(sys.stdin)["port"])')" 7901
shows "... and dgfsd says why and what to do" \
	"warning: the XDP program kept the old port .*dg0.*dgfsctl xdp attach" cat /tmp/dgfsd-amb.log
sub0=$(kstat xdp_submitted) stack0=$(kstat stack_requests)
check "... dgfs get --no-fallback still works" c "$DGFS" -q --server "$URL" \
	get --no-fallback u.bin /tmp/u.got2
check "... the same bytes" cmp -s /tmp/u.bin /tmp/u.got2
check "... through the stack" test "$(kstat stack_requests)" -gt "$stack0"
kill "$dpid" && wait "$dpid" && rc=0 || rc=$?
dpid=
same "... exits 0 on SIGTERM" "$rc" 0
check "xdp detach dg0" s $CTL xdp detach dg0
ip netns del $srv
ip netns del $cli
dgfs_unload
finish
