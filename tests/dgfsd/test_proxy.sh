#!/usr/bin/env bash
# dgfsd behind a reverse proxy (--trusted-proxy CIDR): curl plays the proxy
# from a trusted address (127.0.0.1, ::1) and an untrusted one (127.0.0.2,
# bound with --interface), sending X-Forwarded-For. The client a trusted
# peer names (the right-most untrusted hop) is the one in the access log
# and the one the manifest's fast-path tokens are minted for (recomputed
# with dgfs token); an untrusted peer's header, a malformed one (logged),
# and every header without --trusted-proxy change nothing. Presigned hrefs
# follow a trusted proxy's X-Forwarded-Proto. Bad networks are refused.
#   tests/dgfsd/test_proxy.sh BUILD_DIR      (as root)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"
ALOG=$T/access.log

# ---- bad networks ---------------------------------------------------------------------------
for bad in 198.18.0.1/15 10.0.0.0/33 ::/129 proxy.example 10.0.0.0/; do
	refuse "--trusted-proxy $bad is refused" 2 "bad trusted-proxy \"$bad\"" \
		n timeout 30 "$DGFSD" --state-dir "$STATE" --trusted-proxy "$bad"
done
check "... and nothing was made" test ! -e "$STATE"

# Two from the config file, one from the command line: all three hold.
printf 'state-dir = %s\ntrusted-proxy = 127.0.0.1\ntrusted-proxy = ::1/128\n' "$STATE" \
	>"$T/dgfsd.conf"
check "dgfsd starts with trusted proxies from its config file and command line" \
	dgfsd_start_args --config "$T/dgfsd.conf" --trusted-proxy 198.18.100.0/24 \
	--access-log "$ALOG" || finish
head -c 300000 /dev/urandom >"$T/f"
same "PUT a file" "$(n curl -sS -o /dev/null -w '%{http_code}' -T "$T/f" "$URL/files/f")" 201
HOSTKEY=$(cat "$STATE/auth.key")

# via NAME FROM URL_HOST XFF...: GET /files/f?manifest&NAME from address
# FROM (to URL_HOST) with one X-Forwarded-For header per XFF; the manifest
# in $T/NAME.json. Prints the access log's client for it, then the address
# its first token was minted for (recomputed for each candidate).
via() {
	local name=$1 from=$2 host=$3 h=() x lines i
	shift 3
	for x in "$@"; do h+=(-H "X-Forwarded-For: $x"); done
	lines=$(wc -l <"$ALOG")
	n curl -sS -g -m 30 --interface "$from" -o "$T/$name.json" "${h[@]}" \
		"http://$host:8080/files/f?manifest&$name" || { echo "curl failed"; return; }
	# The line is written once the answer is sent: wait for it.
	for ((i = 0; i < 100; i++)); do
		(($(wc -l <"$ALOG") > lines)) && break
		sleep 0.05
	done
	tail -n +$((lines + 1)) "$ALOG" | awk -v p=/files/f '$5 == p && $4 == "GET" { c = $2 } END { print c }' "$ALOG"
}
# minted_for NAME ADDR: whether NAME's first token is the one ADDR would get.
minted_for() {
	local id exp tok want
	id=$(jget "$T/$1.json" 'j["chunks"][0]["id"]')
	exp=$(jget "$T/$1.json" 'j["fastpath"]["expiry"]')
	tok=$(jget "$T/$1.json" 'j["chunks"][0]["token"]')
	local try
	# dgfs token takes seconds from now: again if the second turned meanwhile.
	for try in 1 2 3 4 5; do
		want=$("$DGFS" token --key "$HOSTKEY" --addr "$2" \
			--expiry $((exp - $(date +%s))) "$id")
		[[ ${want#* } == "$exp" ]] && break
	done
	[[ -n $tok && ${want% *} == "$tok" && ${want#* } == "$exp" ]] ||
		{ echo "token $tok, for $2: ${want:-none} (expiry $exp)"; return 1; }
}

same "no header: the peer" "$(via plain 127.0.0.1 127.0.0.1)" 127.0.0.1
check "... tokens for 127.0.0.1" minted_for plain 127.0.0.1
same "trusted peer: X-Forwarded-For names the client" \
	"$(via fwd 127.0.0.1 127.0.0.1 198.18.5.5)" 198.18.5.5
check "... tokens minted for the client, 198.18.5.5" minted_for fwd 198.18.5.5
same "untrusted peer 127.0.0.2: its header is ignored" \
	"$(via untrusted 127.0.0.2 127.0.0.1 198.18.5.5)" 127.0.0.2
check "... tokens for 127.0.0.2" minted_for untrusted 127.0.0.2
same "the right-most untrusted hop, past a trusted proxy (198.18.100.9)" \
	"$(via chain 127.0.0.1 127.0.0.1 "198.18.66.66, 198.18.5.5, 198.18.100.9")" 198.18.5.5
check "... tokens for 198.18.5.5" minted_for chain 198.18.5.5
same "what the client wrote left of it is never read" \
	"$(via junk 127.0.0.1 127.0.0.1 "<script>, 198.18.5.7")" 198.18.5.7
same "two headers are one list, in order" \
	"$(via two 127.0.0.1 127.0.0.1 198.18.66.66 198.18.5.6)" 198.18.5.6
same "every hop trusted: the left-most" \
	"$(via alltrusted 127.0.0.1 127.0.0.1 "198.18.100.1, 198.18.100.2")" 198.18.100.1
same "IPv6: a trusted peer (::1) names the client" \
	"$(via v6 ::1 '[::1]' 2001:db8::5)" 2001:db8::5
check "... tokens for 2001:db8::5" minted_for v6 2001:db8::5
same "a malformed hop from a trusted proxy: ignored, the peer" \
	"$(via bad 127.0.0.1 127.0.0.1 $'198.18.5.5, not-an-ip\e[31m')" 127.0.0.1
check "... tokens for the peer" minted_for bad 127.0.0.1
check "... and logged, escaped" grep -q \
	'ignoring a malformed X-Forwarded-For from trusted proxy 127.0.0.1: "198.18.5.5, not-an-ip%1B\[31m"' \
	"$T/dgfsd.log"

# X-Forwarded-Proto: a TLS-terminating proxy's presigned URLs are https://.
presign_href() {
	n curl -sS -m 30 --interface "$1" -H "X-Forwarded-Proto: https" -H "Host: files.example" \
		-d '{"path":"f"}' "$URL/presign" >"$T/ps.json" && jget "$T/ps.json" 'j["href"]'
}
check "a trusted proxy's X-Forwarded-Proto: https -> an https href" \
	grep -q '^https://files\.example/files/f?' <<<"$(presign_href 127.0.0.1)"
check "an untrusted peer's -> http" grep -q '^http://files\.example/files/f?' \
	<<<"$(presign_href 127.0.0.2)"
dgfsd_stop

# ---- without --trusted-proxy, X-Forwarded-For is nobody's word ----------------------------------
: >"$ALOG"
check "dgfsd starts without --trusted-proxy" dgfsd_start --access-log "$ALOG"
same "no trusted proxy: the header is ignored" \
	"$(via none 127.0.0.1 127.0.0.1 198.18.5.5)" 127.0.0.1
check "... tokens for the peer" minted_for none 127.0.0.1
dgfsd_stop
finish
