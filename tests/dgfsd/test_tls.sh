#!/usr/bin/env bash
# dgfsd over HTTPS (--tls-cert/--tls-key, here from the config file) with a
# throwaway CA made by openssl in the test's temp dir: curl trusts it with
# --cacert and refuses it without, or for a host name the certificate does
# not name; plain HTTP to the TLS port gets no answer; presigned URLs come
# back as https://; dgfs put/get with --cacert and $DGFS_CACERT round-trip
# (chunks over the fast path, and over HTTPS with --http-only), and fail
# with a certificate error without the CA. A missing, malformed, encrypted
# or mismatched certificate or key stops dgfsd at start, nonzero, before it
# makes its state directory.
#   tests/dgfsd/test_tls.sh BUILD_DIR      (as root)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"
command -v openssl >/dev/null || { fail "openssl is installed (make deps)"; finish; }

# ---- a CA and a server certificate for 127.0.0.1 and localhost ----------------------------
. tests/dgfsd/pki.sh
check "openssl: a CA" pki_ca ca
check "openssl: a server certificate for IP 127.0.0.1 and localhost" \
	pki_cert server "IP:127.0.0.1,DNS:localhost"
check "openssl: another key" pki_key "$P/other.key"
check "openssl: the server key, encrypted" ossl pkey -in "$P/server.key" -aes256 \
	-passout pass:secret -out "$P/server-enc.key"
[[ -s $P/server.pem && -s $P/ca.pem ]] || { cat "$P/openssl.log"; finish; }

# ---- a bad pair stops dgfsd at start --------------------------------------------------------
# nostart NAME PATTERN ARGS...: dgfsd with ARGS must exit 1 saying PATTERN,
# and make no state directory (timeout stops one that wrongly starts).
nostart() {
	refuse "$1" 1 "$2" n timeout 30 "$DGFSD" --state-dir "$STATE" "${@:3}"
	check "... and no state directory was made" test ! -e "$STATE"
	rm -rf "$STATE"
}
nostart "--tls-cert without --tls-key" "needs both --tls-cert and --tls-key" \
	--tls-cert "$P/server.pem"
nostart "a missing certificate file" "cannot read the TLS certificate $P/nosuch.pem: No such file" \
	--tls-cert "$P/nosuch.pem" --tls-key "$P/server.key"
nostart "a key from another pair" "is not the key of the certificate in --tls-cert" \
	--tls-cert "$P/server.pem" --tls-key "$P/other.key"
nostart "a key where the certificate goes" "holds no PEM certificate" \
	--tls-cert "$P/server.key" --tls-key "$P/server.key"
nostart "a certificate where the key goes" "holds no PEM private key" \
	--tls-cert "$P/server.pem" --tls-key "$P/server.pem"
nostart "an encrypted key" "is encrypted: dgfsd needs it without a passphrase" \
	--tls-cert "$P/server.pem" --tls-key "$P/server-enc.key"
nostart "a directory as the key" "is not a PEM file" \
	--tls-cert "$P/server.pem" --tls-key "$P"

# ---- HTTPS, from the config file ---------------------------------------------------------
printf 'state-dir = %s\ntls-cert = %s\ntls-key = %s\naccess-log = %s\n' "$STATE" \
	"$P/server.pem" "$P/server.key" "$T/access.log" >"$T/dgfsd.conf"
URL=https://127.0.0.1:8080
# lib.sh's curl calls (the start's /healthz poll, metric) trust the test CA
# through curl's own variable; the checks below say for themselves.
export CURL_CA_BUNDLE=$P/ca.pem
check "dgfsd starts with tls-cert and tls-key in its config file" \
	dgfsd_start_args --config "$T/dgfsd.conf" || finish
check "its log says HTTPS" grep -q "serving $STATE: HTTPS on port 8080" "$T/dgfsd.log"
unset CURL_CA_BUNDLE

# tcurl ARGS...: curl with the admin key, no curl variable; prints the status,
# body in $T/body; its exit status is curl's.
tcurl() {
	: >"$T/body"
	n env -u CURL_CA_BUNDLE curl -sS -m 30 -o "$T/body" -w '%{http_code}' "$@" 2>"$T/curl.err"
}
same "curl --cacert: /healthz over HTTPS" "$(tcurl --cacert "$P/ca.pem" "$URL/healthz")" 200
head -c 3000000 /dev/urandom >"$T/big"
same "curl --cacert: PUT a file" "$(tcurl --cacert "$P/ca.pem" -T "$T/big" "$URL/files/t/big")" 201
same "curl --cacert: GET it" "$(tcurl --cacert "$P/ca.pem" "$URL/files/t/big")" 200
check "... the same bytes" cmp -s "$T/big" "$T/body"
tcurl "$URL/healthz" >/dev/null && rc=0 || rc=$?
same "curl without the CA: certificate refused (exit 60)" "$rc" 60
check "... saying why" grep -q "SSL certificate problem" "$T/curl.err"
tcurl --cacert "$P/ca.pem" https://127.0.0.2:8080/healthz >/dev/null && rc=0 || rc=$?
same "curl to a host the certificate does not name: refused (exit 60)" "$rc" 60
out=$(tcurl --cacert "$P/ca.pem" http://127.0.0.1:8080/healthz) && rc=0 || rc=$?
check "plain HTTP to the TLS port: no HTTP answer (curl exit $rc, status $out)" \
	test "$rc" != 0 -a "$out" == 000
# A TLS 1.1 client (OpenSSL's own floor lowered): dgfsd allows 1.2 and 1.3 only.
n openssl s_client -connect 127.0.0.1:8080 -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' \
	-CAfile "$P/ca.pem" </dev/null >"$T/s11" 2>&1 && rc=0 || rc=$?
check "a TLS 1.1 handshake is refused (s_client exit $rc)" test "$rc" != 0
n openssl s_client -connect 127.0.0.1:8080 -tls1_2 -CAfile "$P/ca.pem" -verify_return_error \
	</dev/null >"$T/s12" 2>&1 && rc=0 || rc=$?
check "... a TLS 1.2 one with the same client works (exit $rc)" test "$rc" == 0

# ---- presigned URLs carry https:// -------------------------------------------------------
same "presign over HTTPS" \
	"$(tcurl --cacert "$P/ca.pem" -d '{"path":"t/big","expires_in":600}' "$URL/presign")" 200
href=$(jget "$T/body" 'j["href"]')
check "href is https://127.0.0.1:8080/files/t/big?... ($href)" \
	grep -Eq '^https://127\.0\.0\.1:8080/files/t/big\?expires=[0-9]+&keyid=1&sig=[0-9a-f]{64}$' \
	<<<"$href"
same "curl with no key fetches the href" \
	"$(n env -u CURL_CA_BUNDLE curl -q -sS -m 30 -o "$T/body" -w '%{http_code}' \
		--cacert "$P/ca.pem" "$href")" 200
check "... the same bytes" cmp -s "$T/big" "$T/body"

# ---- dgfs over HTTPS -------------------------------------------------------------------
dg() { n "$DGFS" -q --server "$URL" "$@"; }
check "dgfs put --cacert" dg --cacert "$P/ca.pem" put "$T/big" t/put
check "dgfs get --cacert (chunks over the fast path)" dg --cacert "$P/ca.pem" get \
	--stats-json "$T/st1" t/put "$T/got1"
check "... the same bytes" cmp -s "$T/big" "$T/got1"
same "... no chunk over HTTPS" "$(jget "$T/st1" 'j["fallback"]')" 0
check "dgfs get --cacert --http-only (chunks over HTTPS)" dg --cacert "$P/ca.pem" get \
	--http-only t/put "$T/got2"
check "... the same bytes" cmp -s "$T/big" "$T/got2"
DGFS_CACERT=$P/ca.pem n "$DGFS" -q --server "$URL" ls t/ >"$T/ls" 2>&1 && rc=0 || rc=$?
same "\$DGFS_CACERT: dgfs ls works" "$rc" 0
check "... and lists t/put" grep -q "t/put" "$T/ls"
refuse "dgfs get without the CA fails with a certificate error (exit 12)" 12 \
	"SSL certificate problem.*--cacert FILE or \\\$DGFS_CACERT" dg get t/put "$T/got3"
check "... and writes nothing" test ! -e "$T/got3"
refuse "dgfs put without the CA fails too (exit 12)" 12 "SSL certificate problem" dg put "$T/big" t/no
refuse "dgfs to a host the certificate does not name fails (exit 12)" 12 "subject name" \
	n "$DGFS" -q --server https://127.0.0.2:8080 --cacert "$P/ca.pem" ls
refuse "dgfs --cacert with a file that is not there" 9 "cannot read the CA file" \
	dg --cacert "$P/nosuch.pem" ls
check "dgfs presign prints an https:// URL" bash -c "
	ip netns exec $NS env DGFS_API_KEY='$DGFS_API_KEY' '$DGFS' --server '$URL' \
		--cacert '$P/ca.pem' presign t/put | grep -Eq '^https://127\.0\.0\.1:8080/files/t/put\?'"
check "the access log has the HTTPS requests" \
	grep -Eq " 127\.0\.0\.1 1 PUT /files/t/big 201 " "$T/access.log"
dgfsd_stop
finish
