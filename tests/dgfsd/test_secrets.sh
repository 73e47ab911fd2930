#!/usr/bin/env bash
# Where dgfsd hands out secrets, and how long they live: answers that carry
# a key or a presigned URL (POST /keys, POST /presign) are marked
# Cache-Control: no-store; `dgfsd key` finds the state directory through
# dgfsd's config file (-c, or -d over it); manifest tokens live at most a
# day (DGFS_TOKEN_MAX_LIFETIME) wherever a lifetime is chosen (dgfsd
# --token-ttl on the command line and in the config file, dgfs token), and
# the userspace tier refuses a longer-lived token however well it is
# signed, as dgfs.ko does (tests/vm/test_auth.sh).
#   tests/dgfsd/test_secrets.sh BUILD_DIR      (as root)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"

quiet() { "$@" >/dev/null; }
# code CURL_ARGS...: the status curl got with the admin key; headers in $T/hdrs.
code() {
	n curl -sS -m 30 -o "$T/body" -D "$T/hdrs" -w '%{http_code}' "$@"
}

# ---- dgfsd --token-ttl (a dgfsd that wrongly starts is stopped by timeout) ----------------------------------------------------------------
refuse "--token-ttl 86401 is refused: hosts refuse tokens living past a day" 2 \
	"token-ttl 86401: at most 86400 s" \
	n timeout 30 "$DGFSD" --state-dir "$STATE" --token-ttl 86401
refuse "--token-ttl 7d (604800) is refused" 2 "at most 86400 s" \
	n timeout 30 "$DGFSD" --state-dir "$STATE" --token-ttl 604800
printf 'state-dir = %s\ntoken-ttl = 90000\n' "$STATE" >"$T/long.conf"
refuse "token-ttl = 90000 in the config file is refused" 2 "long.conf:2: in option \"token-ttl\"" \
	n timeout 30 "$DGFSD" --config "$T/long.conf"
check "... and nothing was made" test ! -e "$STATE"

check "dgfsd starts with --token-ttl 86400 (a day is allowed)" dgfsd_start --token-ttl 86400 ||
	finish
head -c 200000 /dev/urandom >"$T/f"
same "PUT a file" "$(code -T "$T/f" "$URL/files/f")" 201
same "its manifest" "$(code "$URL/files/f?manifest")" 200
exp=$(jget "$T/body" 'j["fastpath"]["expiry"]')
now=$(date +%s)
check "the manifest's tokens expire a day from now ($exp vs $now)" \
	test "$exp" -ge $((now + 86400 - 60)) -a "$exp" -le $((now + 86400 + 1))
ID=$(jget "$T/body" 'j["chunks"][0]["id"]')
TOK=$(jget "$T/body" 'j["chunks"][0]["token"]')
check "dgfs fetch with the manifest's day-long token reads the chunk (userspace tier)" \
	n "$DGFS" fetch --token "$TOK" --expiry "$exp" -o "$T/chunk" 127.0.0.1 "$ID"
check "... its bytes" cmp -s "$T/chunk" <(head -c "$(stat -c %s "$T/chunk")" "$T/f")

# ---- dgfs token, and the userspace tier's own check ----------------------------------
HOSTKEY=$(cat "$STATE/auth.key")
refuse "dgfs token --expiry 86401 is refused" 2 "more than 86400 s \\(a day\\)" \
	"$DGFS" token --key "$HOSTKEY" --addr 127.0.0.1 --expiry 86401 "$ID"
check "dgfs token --expiry 86400 mints" quiet "$DGFS" token --key "$HOSTKEY" \
	--addr 127.0.0.1 --expiry 86400 "$ID"
# fetch_with SECS: dgfs fetch's exit status with a token minted for SECS.
fetch_with() {
	local tok rc=0
	tok=$("$DGFS" token --beyond-max-lifetime --key "$HOSTKEY" --addr 127.0.0.1 \
		--expiry "$1" "$ID") || { echo "dgfs token failed"; return; }
	n "$DGFS" fetch --token "${tok% *}" --expiry "${tok#* }" --timeout 1500 --retries 2 \
		-o "$T/got" 127.0.0.1 "$ID" >/dev/null 2>&1 || rc=$?
	echo "$rc"
}
same "a token for a day plus 4 minutes (within the clock skew) reads" \
	"$(fetch_with $((86400 + 240)))" 0
before=$(metric dgfsd_udp_token_too_long)
same "a token for a day and 10 minutes is refused (ACCES, exit 3)" \
	"$(fetch_with $((86400 + 600)))" 3
same "a token that never expires (2^32-1) is refused" "$(fetch_with 9999999999)" 3
same "both were counted in dgfsd_udp_token_too_long" \
	"$(($(metric dgfsd_udp_token_too_long) - before))" 2

# ---- secrets are not to be cached --------------------------------------------------------
same "POST /keys" "$(code -d '{"scope":"read","name":"c"}' "$URL/keys")" 201
same "... Cache-Control: no-store (it carries a key)" "$(hdr Cache-Control)" no-store
same "POST /presign" "$(code -d '{"path":"f"}' "$URL/presign")" 200
same "... Cache-Control: no-store (the URL is as good as a key)" "$(hdr Cache-Control)" no-store
same "a refused POST /keys" "$(code -d '{"scope":"root"}' "$URL/keys")" 400
same "... no-store too" "$(hdr Cache-Control)" no-store
same "GET /keys (no secret in it)" "$(code "$URL/keys")" 200
same "... no Cache-Control: only secrets get it" "$(hdr Cache-Control)" ""

# ---- dgfsd key with dgfsd's config file ---------------------------------------------------
printf '# as dgfsd reads it\nstate-dir = %s\n' "$STATE" >"$T/dgfsd.conf"
K=$(n "$DGFSD" key add --config "$T/dgfsd.conf" --scope read --name fromconf 2>>"$T/keycli.log")
check "key add --config FILE: a key" grep -Eqx 'dgfs_[0-9]+_[0-9a-f]{64}' <<<"$K"
same "... which the running dgfsd takes" \
	"$(n curl -q -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $K" "$URL/files/f")" 200
shows "key list -c FILE shows it" 'fromconf' \
	n "$DGFSD" key list -c "$T/dgfsd.conf"
KID=${K#dgfs_}
KID=${KID%%_*}
check "key revoke --config FILE" n "$DGFSD" key revoke --config "$T/dgfsd.conf" "$KID"
same "... the key is refused at once" \
	"$(n curl -q -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $K" "$URL/files/f")" 401
printf 'state-dir = %s\n' "$T/elsewhere" >"$T/other.conf"
refuse "a config file naming another state dir: that one is used (no meta.db there)" 1 \
	"$T/elsewhere/meta.db" n "$DGFSD" key list --config "$T/other.conf"
check "-d wins over the config file's state-dir" quiet n "$DGFSD" key list -c "$T/other.conf" \
	-d "$STATE"
refuse "a missing config file is refused" 2 "cannot read config file" \
	n "$DGFSD" key list --config "$T/nosuch.conf"
printf 'state-dir = %s\nbogus = 1\n' "$STATE" >"$T/bad.conf"
refuse "a config file dgfsd would refuse is refused" 2 'unknown option "bogus"' \
	n "$DGFSD" key list --config "$T/bad.conf"
grep -Eq "$SAN_REPORT" "$T/keycli.log" && rc=0 || rc=$?
same "dgfsd key: no sanitizer report (grep exit 1)" "$rc" 1
dgfsd_stop
finish
