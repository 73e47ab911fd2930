#!/usr/bin/env bash
# dgfsd's robustness against odd but possible input (docs/DGFSD.md,
# "Robustness"): a Content-Type that listings could not carry is refused
# at upload and nothing is stored.
#   tests/dgfsd/test_robust.sh BUILD_DIR      (as root)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"

# code CURL_ARGS...: the status curl got; body in $T/body, headers in $T/hdrs.
code() {
	: >"$T/body"
	n curl -sS -m 60 -g -o "$T/body" -D "$T/hdrs" -w '%{http_code}' "$@"
}
err() { jget "$T/body" 'j["error"]'; }
listing() { n curl -sf "$URL/files/" | python3 -c 'import json, sys
print("\n".join(f["path"] + " " + f["content_type"] for f in json.load(sys.stdin)["files"]))'; }

check "dgfsd starts" dgfsd_start || finish

# ---- Content-Type ---------------------------------------------------------------------
head -c 5000 /dev/urandom >"$T/f1"
same "a plain Content-Type is kept (201)" \
	"$(code -T "$T/f1" -H 'Content-Type: text/x-plain' "$URL/files/ct/good")" 201
for ct in $'text/\xff\xfe' $'text/x-\xe9t\xe9' $'text/\xed\xa0\x80' $'a\x01b' $'a\x7f'; do
	shown=$(printf %q "$ct")
	same "Content-Type $shown is refused (400)" \
		"$(code -T "$T/f1" -H "Content-Type: $ct" "$URL/files/ct/bad")" 400
	shows "... saying why" 'bad Content-Type' err
	same "... and nothing is stored (GET 404)" "$(code "$URL/files/ct/bad")" 404
done
same "a UTF-8 Content-Type is kept (201)" \
	"$(code -T "$T/f1" -H $'Content-Type: text/x-\xc3\xa9t\xc3\xa9' "$URL/files/ct/utf8")" 201
same "the listing shows every stored file with its type" "$(listing)" \
	$'ct/good text/x-plain\nct/utf8 text/x-\xc3\xa9t\xc3\xa9'
same "the UTF-8 one's manifest answers (200)" "$(code "$URL/files/ct/utf8?manifest")" 200
# A commit's "content_type" goes through the same check.
ID1=$(sha256sum <"$T/f1" | cut -c1-64)
same "a commit with a control character in content_type is refused (400)" \
	"$(code -X POST -H 'Content-Type: application/json' \
		--data "{\"chunks\":[\"$ID1\"],\"content_type\":\"a\\u0001b\"}" \
		"$URL/files/ct/commit?commit")" 400
same "... and nothing is stored (GET 404)" "$(code "$URL/files/ct/commit")" 404
same "the same commit with a plain type works (201)" \
	"$(code -X POST -H 'Content-Type: application/json' \
		--data "{\"chunks\":[\"$ID1\"],\"content_type\":\"text/x-c\"}" \
		"$URL/files/ct/commit?commit")" 201
check "the store is consistent" store_consistent

dgfsd_stop
finish
