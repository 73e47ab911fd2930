#!/usr/bin/env bash
# dgfsd's configuration: a config file, the command line over it, and
# every kind of bad setting refused with a clear message and exit 2 before
# anything is touched; --kmod require refuses to start without dgfs.ko
# (the host has none); the auth key is made once and kept.
#   tests/dgfsd/test_config.sh BUILD_DIR      (as root)
# expect-checks: 37 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"

cat >"$T/dgfsd.conf" <<CONF
# a comment
state-dir = $T/fromconf      # trailing comment
http-port = 8080
udp-port  = 7999
token-ttl = 60
verbose = false
CONF
STATE=$T/fromconf
check "dgfsd starts from a config file" dgfsd_start_args --config "$T/dgfsd.conf" || finish
check "the config file's state dir is used" test -f "$T/fromconf/meta.db"
shows "the first start made the auth key" "made a new auth key in $T/fromconf/auth.key" dgfsd_log
printf 'hello' >"$T/h"
same "PUT h -> 201" "$(n curl -s -o /dev/null -w '%{http_code}' -T "$T/h" "$URL/files/h")" 201
# The token's expiry is minted between t0 and t1: TTL seconds after.
t0=$(date +%s)
n curl -sf -o "$T/m.json" "$URL/files/h?manifest"
t1=$(date +%s)
same "the config file's UDP port is in manifests" "$(jget "$T/m.json" 'j["fastpath"]["port"]')" 7999
expiry=$(jget "$T/m.json" 'j["fastpath"]["expiry"]')
check "the config file's token TTL is used (expiry - request time: $((${expiry:-0} - t0)) s, 60 set)" \
	test "${expiry:-0}" -ge $((t0 + 60)) -a "${expiry:-0}" -le $((t1 + 60))
dgfsd_stop "dgfsd from the config file stops cleanly"

# The command line wins over the file.
key1=$(cat "$T/fromconf/auth.key")
check "dgfsd starts from the config file with --udp-port 7990" \
	dgfsd_start_args --config "$T/dgfsd.conf" --udp-port 7990 || finish
n curl -sf -o "$T/m.json" "$URL/files/h?manifest"
same "the command line overrides the config file" "$(jget "$T/m.json" 'j["fastpath"]["port"]')" 7990
dgfsd_stop "dgfsd with --udp-port stops cleanly"
check "dgfsd starts a third time" dgfsd_start_args --config "$T/dgfsd.conf" || finish
same "the auth key is kept across restarts" "$(cat "$T/fromconf/auth.key")" "$key1"
# This start's log: it says it serves (printed after the key is loaded,
# and just after /healthz answers), and nothing of a new key before that.
serving() { dgfsd_log | grep -q '^dgfsd: serving'; }
check "the third start logged that it serves" wait_for 10 serving
lacks "... and did not make a new key" "made a new auth key" dgfsd_log
dgfsd_stop "the third dgfsd stops cleanly"

# Bad settings: exit 2, a message naming the problem, no state dir made.
bad() {
	local name=$1 pattern=$2
	shift 2
	refuse "$name" 2 "$pattern" n "$DGFSD" --state-dir "$T/never" "$@"
}
printf 'no-such-option = 1\n' >"$T/bad1.conf"
printf 'http-port 8080\n' >"$T/bad2.conf"
printf 'http-port = 99999\n' >"$T/bad3.conf"
printf 'no-auth = maybe\n' >"$T/bad4.conf"
bad "unknown option in the config file" "bad1.conf:1: unknown option" --config "$T/bad1.conf"
bad "a line without '='" "bad2.conf:1: expected" --config "$T/bad2.conf"
bad "an out-of-range port in the file" "http-port must be" --config "$T/bad3.conf"
bad "a flag that is neither true nor false" "true or false" --config "$T/bad4.conf"
bad "a missing config file" "cannot read config file" --config "$T/none.conf"
bad "a bad --kmod" "auto, off or require" --kmod sometimes
bad "a bad --udp-steer" "udp-steer is hash or cpu" --udp-steer random
bad "a bad --max-file-size" "bad max-file-size" --max-file-size 12Q
bad "--max-read above 16M" "max-read must be" --max-read 17M
bad "an unknown command-line option" "unrecognized|Usage" --frobnicate
bad "a stray argument" "unexpected argument" extra
bad "--http-filter on no such interface" "--http-filter nosuch0: no such interface" \
	--http-filter nosuch0
bad "--http-filter with a name no interface can have" "not an interface name" --http-filter a/b
bad "--syn-rate 0" "syn-rate must be 1 .. 1000000" --syn-rate 0
bad "--syn-burst past 10^6" "syn-burst must be 1 .. 1000000" --syn-burst 1000001
bad "a bad --http-filter-mode" "native or skb" --http-filter-mode hw
check "no refused start made its state dir" test ! -e "$T/never"
refuse "--kmod require without dgfs.ko refuses to start" 1 "not loaded" \
	n "$DGFSD" --state-dir "$T/req" --kmod require
refuse "a corrupt auth.key is refused, not replaced" 1 "not 32 hex digits" \
	bash -c "mkdir -p '$T/ck' && echo nonsense >'$T/ck/auth.key' &&
		ip netns exec $NS $DGFSD --state-dir '$T/ck'"
same "... and left as it was" "$(cat "$T/ck/auth.key")" nonsense
check "dgfsd --help" n "$DGFSD" --help
finish
