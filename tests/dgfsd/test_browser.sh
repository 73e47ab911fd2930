#!/usr/bin/env bash
# Browser safety (docs/HTTP.md, "Browser safety"): every answer carries
# X-Content-Type-Options: nosniff; a file of a type a browser would run
# (HTML, SVG, XHTML, XML, JavaScript, unknown) is served with
# Content-Disposition: attachment, safe types inline; file content has a
# sandboxing Content-Security-Policy.
#   tests/dgfsd/test_browser.sh BUILD_DIR      (as root)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"

code() {
	: >"$T/body"
	n curl -sS -m 60 -g -o "$T/body" -D "$T/hdrs" -w '%{http_code}' "$@"
}

check "dgfsd starts" dgfsd_start || finish
printf '<html><script>alert(1)</script></html>\n' >"$T/page"
for t in text/html 'TEXT/HTML; charset=utf-8' image/svg+xml application/xhtml+xml \
	text/javascript application/xml text/xml application/x-unknown; do
	st=$(code -T "$T/page" -H "Content-Type: $t" "$URL/files/b/f")
	check "PUT a file as $t -> 201/200 ($st)" test "$st" = 201 -o "$st" = 200
	st=$(code "$URL/files/b/f")
	same "GET of a $t file -> 200, Content-Disposition: attachment" \
		"$st $(hdr Content-Disposition)" "200 attachment"
	same "... and X-Content-Type-Options: nosniff" "$(hdr X-Content-Type-Options)" nosniff
done
for t in text/plain image/png application/pdf video/mp4; do
	same "PUT a file as $t -> 200" "$(code -T "$T/page" -H "Content-Type: $t" "$URL/files/b/f")" 200
	st=$(code "$URL/files/b/f")
	same "GET of a $t file -> 200 inline (no Content-Disposition)" \
		"$st $(hdr Content-Type) [$(hdr Content-Disposition)]" "200 $t []"
	same "... with a sandboxing Content-Security-Policy" "$(hdr Content-Security-Policy)" \
		"default-src 'none'; sandbox"
done
# A guessed type (no Content-Type given): libmagic says text/html.
same "PUT without a Content-Type -> 201" "$(code -T "$T/page" -H 'Content-Type:' "$URL/files/b/guessed")" 201
st=$(code "$URL/files/b/guessed")
same "GET of an HTML file uploaded without a type -> attachment" \
	"$st $(hdr Content-Type) $(hdr Content-Disposition)" "200 text/html attachment"
same "a range of it too -> 206 attachment" \
	"$(code -r 0-5 "$URL/files/b/guessed") $(hdr Content-Disposition)" "206 attachment"

# nosniff on every kind of answer, errors included.
for req in "GET /healthz" "GET /metrics" "GET /files/" "GET /files/b/f?manifest" \
	"HEAD /files/b/f" "GET /files/nosuch" "GET /nosuch" "PATCH /files/b/f" \
	"GET /files/%2e%2e/x" "POST /chunks/missing" "GET /keys"; do
	m=${req%% *} u=${req#* }
	if [[ $m == HEAD ]]; then st=$(code -I "$URL$u"); else st=$(code -X "$m" "$URL$u"); fi
	same "$req ($st): X-Content-Type-Options: nosniff" "$(hdr X-Content-Type-Options)" nosniff
done
st=$(n env -u DGFS_API_KEY curl -q -sS -o /dev/null -D "$T/hdrs" -w '%{http_code}' "$URL/files/")
same "no key: 401" "$st" 401
same "no key: X-Content-Type-Options: nosniff" "$(hdr X-Content-Type-Options)" nosniff

dgfsd_stop
finish
