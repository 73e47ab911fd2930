# shellcheck shell=bash
# A throwaway PKI in the test's temp dir ($P, under $T), made by openssl;
# sourced after tests/dgfsd/lib.sh. Its messages go to $P/openssl.log.
#   pki_key FILE               an EC P-256 private key
#   pki_ca NAME                $P/NAME.key and $P/NAME.pem: a CA
#   pki_cert NAME SAN [CA]     $P/NAME.key and $P/NAME.pem: a server
#                              certificate for SAN ("IP:127.0.0.1,DNS:x"),
#                              signed by CA (default: ca)
P=$T/pki
mkdir -p "$P"
ossl() { openssl "$@" 2>>"$P/openssl.log"; }
pki_key() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
pki_ca() {
	pki_key "$P/$1.key" &&
		ossl req -x509 -new -key "$P/$1.key" -out "$P/$1.pem" -days 2 -subj "/CN=dgfs test $1" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign"
}
pki_cert() {
	local ca=${3:-ca}
	pki_key "$P/$1.key" &&
		ossl req -new -key "$P/$1.key" -out "$P/$1.csr" -subj "/CN=$1" &&
		printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
			"$2" >"$P/$1.ext" &&
		ossl x509 -req -in "$P/$1.csr" -CA "$P/$ca.pem" -CAkey "$P/$ca.key" -CAcreateserial \
			-days 2 -extfile "$P/$1.ext" -out "$P/$1.pem"
}
