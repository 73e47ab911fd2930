#!/usr/bin/env bash
# Tokens and `auth off` (docs/SECURITY.md, "Module"):
# - a token whose expiry lies more than DGFS_TOKEN_MAX_LIFETIME (a day)
#   plus 5 minutes of clock skew ahead of the host's clock is refused,
#   however well it is signed;
# - `auth off` is said loudly: by dgfsctl every time, by the kernel once per
#   change to off, naming the namespace; a refused one says nothing of it.
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

DGFS=$BUILD/dgfs
ns=dgfs-auth
n() { ip netns exec $ns "$@"; }
n_nobody() { nsenter --net=/run/netns/$ns setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
cleanup() { ip netns del $ns 2>/dev/null; }
trap cleanup EXIT
n_stat() { n $CTL stats | awk -v k="$1" '$1 == k { print $2 }'; }

dgfs_load
ip netns add $ns
check "$ns: lo up" n ip link set lo up
root=$(scratch auth)
head -c 5000 /dev/urandom >"$root/c"
id=$(sha256 "$root/c")
key=000102030405060708090a0b0c0d0e0f
check "store add" n $CTL store add s path "$root"
check "chunk add" n $CTL chunk add "$id" store s file c
check "config set key" n $CTL config set key $key

# read_with SECS: dgfs fetch's exit status with a token for 127.0.0.1 that
# expires SECS from now (into /tmp/got).
read_with() {
	local tok rc=0
	tok=$($DGFS token --beyond-max-lifetime --key $key --addr 127.0.0.1 --expiry "$1" "$id") || {
		echo "dgfs token failed"
		return
	}
	rm -f /tmp/got
	n $DGFS fetch --token "${tok% *}" --expiry "${tok#* }" --timeout 1500 --retries 2 \
		-o /tmp/got 127.0.0.1 "$id" >/dev/null 2>&1 || rc=$?
	echo "$rc"
}

# ---- a token's lifetime is capped ----
same "a token for an hour reads" "$(read_with 3600)" 0
check "... the chunk's bytes" cmp -s /tmp/got "$root/c"
same "a token for exactly a day reads" "$(read_with 86400)" 0
rejected=$(n_stat token_rejected)
same "a token for a day and 10 minutes is refused (ACCES, exit 3)" \
	"$(read_with $((86400 + 600)))" 3
same "a token that never expires (2^32-1) is refused" "$(read_with 9999999999)" 3
same "an expired token is refused" "$(read_with -10)" 3
same "all three were counted as rejected tokens" \
	"$(($(n_stat token_rejected) - rejected))" 3

# ---- auth off is loud ----
inum=$(n readlink /proc/self/ns/net)
inum=${inum//[^0-9]/}
# The kernel's "auth off" lines about this namespace so far.
kernel_said() {
	local log
	log=$(dmesg) || { echo "dmesg failed"; return; }
	grep -c "dgfs: netns $inum: auth off: every chunk is readable by anyone who reaches port" <<<"$log"
}
same "the kernel has said nothing yet" "$(kernel_said)" 0

err=$(n_nobody $CTL config set auth off 2>&1 >/dev/null) && rc=0 || rc=$?
same "nobody: auth off is refused" "$rc" 1
check "... with no warning from dgfsctl" test "${err/reflector/}" == "$err"
same "... and none from the kernel" "$(kernel_said)" 0
same "... and auth is still on" "$(n $CTL config show)" \
	"config port 7878 max_read 1048576 auth on key set"

err=$(n $CTL config set auth off 2>&1 >/dev/null) && rc=0 || rc=$?
same "root: auth off" "$rc" 0
same "dgfsctl warns that the host is now an open reflector" "$err" \
	"dgfsctl: warning: auth off makes this host an open reflector: it answers every read without a token, so anyone who reaches the port reads every chunk, and requests with a forged source address send the replies to someone else"
same "the kernel said it once, naming the namespace" "$(kernel_said)" 1
check "... and the port" bash -c "dmesg | grep -q 'netns $inum: auth off: .* reaches port 7878,'"
rm -f /tmp/got
check "with auth off a read without a token is answered" \
	n $DGFS fetch --timeout 1500 --retries 2 -o /tmp/got 127.0.0.1 "$id"

err=$(n $CTL config set auth off 2>&1 >/dev/null)
check "auth off again: dgfsctl warns again" test "${err/open reflector/}" != "$err"
same "... the kernel does not (no change)" "$(kernel_said)" 1
check "port change while off" n $CTL config set port 7879
same "... the kernel says nothing" "$(kernel_said)" 1
check "auth on" n $CTL config set auth on
same "... the kernel says nothing" "$(kernel_said)" 1
check "auth off once more" bash -c "ip netns exec $ns $CTL config set auth off 2>/dev/null"
same "... the kernel says it again" "$(kernel_said)" 2

dgfs_unload
finish
