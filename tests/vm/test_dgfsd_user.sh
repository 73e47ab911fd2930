#!/usr/bin/env bash
# dgfsd --user with dgfs.ko (docs/DGFSD.md, "Privileges"): started as root
# it gives its state to nobody and runs as nobody keeping CAP_NET_ADMIN and
# CAP_BPF alone (the module is in use); as nobody it still configures the
# module, registers every uploaded chunk (netlink chunk add, from files
# that are nobody's and 0600), and the module serves them: `dgfs get
# --no-fallback` from a client namespace fails unless every chunk came
# over the kernel fast path.
# expect-checks: 16 (tests/run-all.sh: a run that prints fewer fails)
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
cleanup() {
	[[ -n $dpid ]] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	ip netns del $srv 2>/dev/null
	ip netns del $cli 2>/dev/null
}
trap cleanup EXIT

dgfs_load
check "two namespaces joined by veth (dg0, dg1)" two_hosts $srv $cli
state=$(scratch dgfsd-user)
ip netns exec $srv "$DGFSD" --state-dir "$state" --kmod require --user nobody \
	>>/tmp/dgfsd-user.log 2>&1 &
dpid=$!
up=0
for ((i = 0; i < 100; i++)); do
	c curl -sf -o /dev/null "$URL/healthz" && up=1 && break
	sleep 0.2
done
same "dgfsd --user nobody --kmod require is up" "$up" 1
[[ $up == 1 ]] || { tail -n 20 /tmp/dgfsd-user.log; finish; }
st() { awk -v f="$1:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$dpid/status"; }
same "it runs as nobody" "$(st Uid)" "65534 65534 65534 65534"
same "keeping CAP_NET_ADMIN (12) and CAP_BPF (39) alone" "$(st CapEff)/$(st CapBnd)" \
	"0000008000001000/0000008000001000"
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
before=$(s $CTL stats | awk '$1 == "replies" { print $2 }')
check "dgfs get --no-fallback: every chunk from the module" c "$DGFS" -q --server "$URL" \
	get --no-fallback u.bin /tmp/u.got
check "... the same bytes" cmp -s /tmp/u.bin /tmp/u.got
after=$(s $CTL stats | awk '$1 == "replies" { print $2 }')
check "... the module's replies moved ($before -> $after)" test "${after:-0}" -gt "${before:-0}"
kill "$dpid" && wait "$dpid" && rc=0 || rc=$?
dpid=
same "dgfsd exits 0 on SIGTERM" "$rc" 0
ip netns del $srv
ip netns del $cli
dgfs_unload
finish
