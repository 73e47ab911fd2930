#!/usr/bin/env bash
# Who may change dgfs.ko, whose files it serves, who sees what it holds
# (docs/SECURITY.md, "Module"):
# - a local user who makes its own user and network namespace is root
#   there, and still may not change anything (the hole of issue 10: as
#   nobody, a store, a chunk naming root's 0600 file, auth off, and a read
#   on 127.0.0.1 used to return the file);
# - a caller that may change dgfs (CAP_NET_ADMIN in the initial user
#   namespace) still cannot serve a file it could not open itself;
# - store paths and chunk ids are for the same callers only;
# - asking for the family does not load the module.
set -u
self=$(realpath "$0")
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

DGFS=$BUILD/dgfs
ns=dgfs-acc
priv=
cleanup() {
	[[ -n $priv ]] && kill "$priv" 2>/dev/null
	ip netns del $ns 2>/dev/null
	mountpoint -q "/lib/modules/$(uname -r)" && umount "/lib/modules/$(uname -r)"
}
trap cleanup EXIT

as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
# In $ns: root (initial user namespace); nobody; nobody holding
# CAP_NET_ADMIN in the initial user namespace and nothing else (no
# CAP_DAC_*): past the netlink check, with a user's file access.
n() { ip netns exec $ns "$@"; }
n_nobody() { nsenter --net=/run/netns/$ns setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
n_netadmin() { nsenter --net=/run/netns/$ns setpriv --reuid=65534 --regid=65534 \
	--clear-groups --inh-caps=+net_admin --ambient-caps=+net_admin "$@"; }

quiet() { "$@" >/dev/null; }

# The intruder: nobody, root of the user and network namespaces it just made
# (DIR: nobody's own directory, for output and the "done" mark).
intruder() {
	local dir=$1
	same "nobody is root in its user namespace" "$(id -u)" 0
	check "... and admin of its network namespace (lo up)" ip link set lo up
	refuse "userns root: store add over a root directory holding the secret" 1 \
		"Operation not permitted" $CTL store add s path "$root"
	refuse "userns root: chunk add naming the secret" 1 "Operation not permitted" \
		$CTL chunk add "$sid" store s file secret
	refuse "userns root: config set auth off" 1 "Operation not permitted" \
		$CTL config set auth off
	refuse "... and says what it takes" 1 "CAP_NET_ADMIN in the initial user namespace" \
		$CTL config set auth off
	refuse "userns root: store add at /" 1 "Operation not permitted" \
		$CTL store add all path /
	refuse "userns root: store add over its own directory (symlinks to the secret)" 1 \
		"Operation not permitted" $CTL store add own path "$dir/store"
	refuse "userns root: chunk add through a symlink" 1 "Operation not permitted" \
		$CTL chunk add "$sid" store own file inner-link
	local rc=0
	$DGFS fetch --timeout 200 --retries 1 -o "$dir/stolen" 127.0.0.1 "$sid" \
		>/dev/null 2>&1 || rc=$?
	same "a fast-path read on 127.0.0.1 gets no answer (timed out, exit 8)" "$rc" 8
	check "... and wrote nothing" test ! -e "$dir/stolen"
	echo "$DGFS_FAILED" >"$dir/intruder-done"
	exec sleep infinity
}

root=/mnt/access
key=000102030405060708090a0b0c0d0e0f
if [[ ${1:-} == --intruder ]]; then
	sid=$3	# the secret's SHA-256; any id would do for the index
	intruder "$2"
fi

dgfs_load
root=$(scratch access)
chmod 755 "$root"
head -c 5000 /dev/urandom >"$root/secret"
chmod 600 "$root/secret"
sid=$(sha256 "$root/secret")
# nobody's own directory (for a store of its own, and its outputs).
mine=$root/nobody
mkdir -p "$mine/store" "$root/private"
chmod 700 "$root/private"
head -c 3000 /dev/urandom >"$mine/store/own"
chmod 600 "$mine/store/own"
oid=$(sha256 "$mine/store/own")
# A root-owned 0600 file inside nobody's store, and links to both secrets.
cp "$root/secret" "$mine/store/planted"
chmod 600 "$mine/store/planted"
ln -s planted "$mine/store/inner-link"
ln -s "$root/secret" "$mine/store/outer-link"
chown -R 65534:65534 "$mine"
chown root:root "$mine/store/planted"
same "the secret is root's, mode 0600" "$(stat -c '%U %a' "$root/secret")" "root 600"
refuse "nobody cannot read the secret itself" 1 "Permission denied" as_nobody cat "$root/secret"

# ---- the reproduction: nobody, as root of its own namespaces ----
# The intruder's half runs as `setpriv --reuid=65534 ... unshare -Urn bash
# THIS --intruder DIR` (below), then stays in its namespaces (exec sleep) for
# root to look at what they hold.
# (setpriv itself, not the as_nobody function: $! must be the intruder.)
setpriv --reuid=65534 --regid=65534 --clear-groups \
	unshare -Urn bash "$self" --intruder "$mine" "$sid" &
priv=$!
for _ in $(seq 600); do
	[[ -e $mine/intruder-done ]] && break
	sleep 0.1
done
if [[ $(cat "$mine/intruder-done" 2>/dev/null) != 0 ]]; then
	fail "the intruder's half finished, its checks passed"
fi
in_priv() { nsenter -t "$priv" -n "$@"; }
check "the intruder's network namespace is its own" \
	test "$(readlink /proc/$priv/ns/net)" != "$(readlink /proc/self/ns/net)"
same "nobody's namespace holds no store" "$(in_priv $CTL store show)" ""
same "... and no chunk" "$(in_priv $CTL chunk show)" ""
same "... and its config is the default" "$(in_priv $CTL config show)" \
	"config port 7878 max_read 1048576 auth on key unset"
same "nothing bound the fast-path port there" "$(in_priv ss -Huan 'sport = :7878')" ""
kill "$priv"
wait "$priv" 2>/dev/null
priv=

# A container's root: root of a user namespace of its own, with a network
# namespace it made or one it was given.
refuse "container root (root's unshare -Urn): store add" 1 "Operation not permitted" \
	unshare -Urn $CTL store add s path "$root"
ip netns add $ns
check "$ns: lo up" n ip link set lo up
refuse "container root in a namespace made for it: store add" 1 "Operation not permitted" \
	nsenter --net=/run/netns/$ns unshare -Ur $CTL store add s path "$root"

# ---- past the netlink check, opens are still the caller's ----
refuse "netadmin nobody: store at a directory it cannot search" 1 \
	"store directory is not searchable by the caller" \
	n_netadmin $CTL store add p path "$root/private"
check "netadmin nobody: store add at /" n_netadmin $CTL store add all path /
# Each refusal on its own: a chunk that got in anyway goes again, so that
# the next case fails (if it does) for its own reason.
refuse_secret() {
	refuse "$@"
	n $CTL chunk del "$sid" 2>/dev/null
}
refuse_secret "netadmin nobody: chunk add of root's 0600 file through a store at /" 1 \
	"chunk file is not readable by the caller" \
	n_netadmin $CTL chunk add "$sid" store all file "${root#/}/secret"
refuse_secret "netadmin nobody: chunk add through a directory it cannot search" 1 \
	"not searchable by the caller" \
	n_netadmin $CTL chunk add "$sid" store all file "${root#/}/private/x"
check "netadmin nobody: store add over its own directory" \
	n_netadmin $CTL store add own path "$mine/store"
refuse_secret "netadmin nobody: chunk add of a root 0600 file planted in its store" 1 \
	"chunk file is not readable by the caller" \
	n_netadmin $CTL chunk add "$sid" store own file planted
refuse_secret "netadmin nobody: ... through a symlink inside the store" 1 \
	"chunk file is not readable by the caller" \
	n_netadmin $CTL chunk add "$sid" store own file inner-link
refuse_secret "netadmin nobody: ... through a symlink that leaves the store" 1 \
	"chunk path leaves its store" \
	n_netadmin $CTL chunk add "$sid" store own file outer-link
check "netadmin nobody: chunk add of its own 0600 file" \
	n_netadmin $CTL chunk add "$oid" store own file own
same "$ns holds only nobody's own chunk" "$(n $CTL chunk show | awk '{print $2}')" "$oid"

# Root in the initial user namespace still may.
check "root: chunk add of the secret through the store at /" \
	n $CTL chunk add "$sid" store all file "${root#/}/secret"
check "root: config set key" n $CTL config set key $key
rm -f /tmp/got
if n $DGFS fetch --key $key -o /tmp/got 127.0.0.1 "$sid" && cmp -s /tmp/got "$root/secret"; then
	pass "root's chunk is served (127.0.0.1, token)"
else
	fail "root's chunk is served (127.0.0.1, token)"
fi

# ---- who sees store paths and chunk ids ----
refuse "nobody: store show" 1 "Operation not permitted" n_nobody $CTL store show
refuse "nobody: store show NAME" 1 "Operation not permitted" n_nobody $CTL store show all
refuse "nobody: chunk show" 1 "Operation not permitted" n_nobody $CTL chunk show
refuse "nobody: chunk show ID (is there such a chunk?)" 1 "Operation not permitted" \
	n_nobody $CTL chunk show "$sid"
refuse "nobody: chunk show store NAME" 1 "Operation not permitted" \
	n_nobody $CTL chunk show store all
same "nobody: config show works (the key is never shown)" "$(n_nobody $CTL config show)" \
	"config port 7878 max_read 1048576 auth on key set"
check "nobody: stats works" quiet n_nobody $CTL stats
check "netadmin nobody: chunk show ID" quiet n_netadmin $CTL chunk show "$sid"

ip netns del $ns
dgfs_unload

# ---- asking for the family does not load the module ----
aliases=$(modinfo -F alias "$BUILD/dgfs.ko") && rc=0 || rc=$?
same "modinfo reads dgfs.ko" "$rc" 0
same "dgfs.ko has no genetlink family alias" "$aliases" ""
# Installed where modprobe finds it (an overlay on the read-only tree), a
# user's lookup of the family must still not load it.
# Debian's tree is large and read-only here: an overlay on it. The debug
# kernel (no overlayfs) has a few index files there: a copy on a tmpfs.
kver=$(uname -r)
mkdir -p /tmp/mods/upper /tmp/mods/work /tmp/mods/copy
modules_writable() {
	if modprobe overlay 2>/dev/null; then
		mount -t overlay overlay -o "lowerdir=/lib/modules/$kver,upperdir=/tmp/mods/upper,workdir=/tmp/mods/work" \
			"/lib/modules/$kver"
	else
		cp -a "/lib/modules/$kver/." /tmp/mods/copy/ &&
			mount --bind /tmp/mods/copy "/lib/modules/$kver"
	fi
}
if modules_writable &&
	mkdir -p "/lib/modules/$kver/updates" && cp "$BUILD/dgfs.ko" "/lib/modules/$kver/updates/" &&
	depmod -a; then
	pass "dgfs.ko installed for modprobe"
else
	fail "dgfs.ko installed for modprobe"
fi
check "modprobe finds it" modprobe -n dgfs
refuse "nobody's dgfsctl: the module is not loaded" 1 "module is not loaded" \
	as_nobody $CTL config show
check "... and it stayed unloaded" test ! -e /sys/module/dgfs
umount "/lib/modules/$kver"
finish
