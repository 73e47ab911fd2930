#!/usr/bin/env bash
# dgfsd serves the web UI (userspace/dgfsd/web.c, docs/WEBUI.md): GET /
# is index.html and /assets/NAME the assets, without a key (the page asks
# for one), with their types, nosniff and a CSP that allows only the
# page's own origin; nothing outside the web directory is reachable, not
# through "..", its escapes, a symlink or a dotfile; the API still wants
# its key. No browser here (test_webui.sh drives one).
#   tests/web/test_web_serve.sh BUILD_DIR      (as root)
# expect-checks: 29
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"

# code ARGS...: curl without any key; the status, headers in $T/hdrs.
code() {
	: >"$T/body"
	ip netns exec "$NS" curl -q -sS -m 30 --path-as-is -o "$T/body" -D "$T/hdrs" \
		-w '%{http_code}' "$@"
}

WEB=$T/web
mkdir -p "$WEB/assets/sub" "$T/outside"
printf '<!doctype html><title>t</title>\n' >"$WEB/index.html"
printf 'export const x = 1;\n' >"$WEB/assets/a.js"
printf 'body{}\n' >"$WEB/assets/sub/b.css"
printf 'secret\n' >"$T/outside/secret.js"
printf 'hidden\n' >"$WEB/assets/.hidden.js"
printf 'no type\n' >"$WEB/assets/notes.unknown"
ln -s "$T/outside/secret.js" "$WEB/assets/link.js"
ln -s "$T/outside" "$WEB/assets/dir"
mkdir "$WEB/assets/adir.js"

check "dgfsd starts with --web-dir" dgfsd_start --web-dir "$WEB" || finish

st=$(code "$URL/")
same "GET / without a key -> 200 index.html" "$st $(cat "$T/body")" \
	"200 <!doctype html><title>t</title>"
same "... as text/html" "$(hdr Content-Type)" "text/html; charset=utf-8"
same "... with a CSP allowing only self" "$(hdr Content-Security-Policy)" \
	"default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
same "... and nosniff" "$(hdr X-Content-Type-Options)" nosniff
same "HEAD / -> 200, its length" "$(code -I "$URL/") $(hdr Content-Length)" \
	"200 $(stat -c %s "$WEB/index.html")"
st=$(code "$URL/assets/a.js")
same "GET /assets/a.js -> 200, its content" "$st $(cat "$T/body")" "200 export const x = 1;"
same "... as JavaScript (a module script needs it)" "$(hdr Content-Type)" \
	"text/javascript; charset=utf-8"
same "GET /assets/sub/b.css -> 200 text/css" \
	"$(code "$URL/assets/sub/b.css") $(hdr Content-Type)" "200 text/css; charset=utf-8"
same "GET /assets/nosuch.js -> 404" "$(code "$URL/assets/nosuch.js")" 404
same "... with nosniff too" "$(hdr X-Content-Type-Options)" nosniff

# Out of the directory: every way is refused, and nothing of it is sent.
for u in /assets/../../outside/secret.js /assets/%2e%2e/%2e%2e/outside/secret.js \
	/assets/sub/..%2f..%2f../outside/secret.js /assets/%2Fetc/passwd; do
	st=$(code "$URL$u")
	lacks "GET $u -> $st, not the file" 'secret|root:' cat "$T/body"
	check "... a 4xx ($st)" test "${st:0:1}" = 4
done
same "a symlink to a file outside -> 404" "$(code "$URL/assets/link.js")" 404
same "a symlinked directory -> 404" "$(code "$URL/assets/dir/secret.js")" 404
same "a dotfile -> 404" "$(code "$URL/assets/.hidden.js")" 404
same "a directory -> 404" "$(code "$URL/assets/adir.js")" 404
same "a file of a type not served -> 404" "$(code "$URL/assets/notes.unknown")" 404
same "PUT / -> 405" "$(code -X PUT --data x "$URL/")" 405

# The API is as closed as before.
same "GET /files/ without a key -> still 401" "$(code "$URL/files/")" 401
same "GET /nosuch without a key -> still 401" "$(code "$URL/nosuch")" 401

dgfsd_stop
# Asked for and missing: dgfsd says so and does not start.
refuse "a --web-dir that is not there stops dgfsd" 1 "web-dir $T/nosuch" \
	ip netns exec "$NS" "$DGFSD" --state-dir "$STATE" --web-dir "$T/nosuch"
finish
