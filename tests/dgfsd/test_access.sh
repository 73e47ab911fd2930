#!/usr/bin/env bash
# dgfsd's access control (docs/DGFSD.md, "Access control") with real
# clients: the first start's admin key (admin.key 0600, the key alone,
# meta.db holding only its hash); every endpoint but /healthz refused
# without a key (401, JSON, WWW-Authenticate), with a bad or revoked key
# too; read, write and admin scopes (403 past them); a key limited to a
# prefix refused outside it, whatever the URL's encoding; keys added and
# revoked with `dgfsd key` and the admin API while dgfsd runs;
# --public-read and --public-metrics; presigned URLs in curl (working,
# then tampered, expired, revoked); dgfs put/get with --api-key,
# $DGFS_API_KEY and ~/.config/dgfs/key, in that order; the access log and
# its reopening on SIGHUP.
#   tests/dgfsd/test_access.sh BUILD_DIR      (as root)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"
ALOG=$T/access.log

# bare CMD...: a client with no key anywhere (no rc files, no $DGFS_API_KEY).
mkdir -p "$T/bare"
bare() { ip netns exec "$NS" env -u DGFS_API_KEY -u XDG_CONFIG_HOME HOME="$T/bare" "$@"; }
# code [KEY] CURL_ARGS...: the status curl got; body in $T/body, headers in $T/hdrs.
# KEY "-" sends none.
code() {
	local key=$1
	shift
	: >"$T/body"
	if [[ $key == - ]]; then
		bare curl -sS -m 30 -g --path-as-is -o "$T/body" -D "$T/hdrs" -w '%{http_code}' "$@"
	else
		bare curl -sS -m 30 -g --path-as-is -o "$T/body" -D "$T/hdrs" -w '%{http_code}' \
			-H "Authorization: Bearer $key" "$@"
	fi
}
err() { jget "$T/body" 'j["error"]'; }
# `dgfsd key` under the sanitizers too: their reports are looked for at the end.
keyadd() { n "$DGFSD" key add --state-dir "$STATE" "$@" 2>>"$T/keycli.log"; }
keyrevoke() { n "$DGFSD" key revoke --state-dir "$STATE" "$@" 2>>"$T/keycli.log"; }
quiet() { "$@" >/dev/null; }

check "dgfsd starts" dgfsd_start --access-log "$ALOG" || finish
ADMIN=$(cat "$STATE/admin.key")

# ---- the first admin key ------------------------------------------------------------
same "admin.key is mode 0600" "$(stat -c %a "$STATE/admin.key")" 600
same "admin.key is one line" "$(wc -l <"$STATE/admin.key")" 1
check "admin.key holds the key alone (dgfs_<id>_<64 hex>)" \
	grep -Eqx 'dgfs_1_[0-9a-f]{64}' "$STATE/admin.key"
check "the log says where the admin key is" \
	grep -q "made admin key 1 in $STATE/admin.key" "$T/dgfsd.log"
same "presign.key is mode 0600" "$(stat -c %a "$STATE/presign.key")" 600
secret=${ADMIN##*_}
want_hash=$(printf '%s' "$secret" | xxd -r -p | sha256sum | cut -c1-64)
same "meta.db holds the SHA-256 of the admin key's secret" \
	"$(sqlite3 "file:$STATE/meta.db?mode=ro" "SELECT lower(hex(hash)) FROM keys WHERE id = 1")" \
	"$want_hash"
# grep exits 1 when it finds nothing, 2 when it cannot read: only 1 passes.
grep -qF "$secret" "$STATE"/meta.db* && rc=0 || rc=$?
same "the secret is nowhere in meta.db or its WAL (grep exit 1)" "$rc" 1
cat "$STATE"/meta.db* | xxd -p | tr -d '\n' >"$T/db.hex"
check "the hash's bytes are in meta.db or its WAL (the search below can find bytes)" \
	grep -qF "$want_hash" "$T/db.hex"
grep -qF "${secret:0:32}" "$T/db.hex" && rc=0 || rc=$?
same "... the secret's bytes are not (grep exit 1)" "$rc" 1

# ---- without a key: 401 everywhere but /healthz ----------------------------------------
echo original >"$T/orig"
same "admin: PUT keep/f" "$(code "$ADMIN" -T "$T/orig" "$URL/files/keep/f")" 201
ID0=$(printf original'\n' | sha256sum | cut -c1-64)
same "/healthz needs no key" "$(code - "$URL/healthz")" 200
for req in "GET /files/" "GET /files" "GET /files/?prefix=keep/" "GET /files/keep/f" \
	"HEAD /files/keep/f" "GET /files/keep/f?manifest" "PUT /files/keep/f" \
	"DELETE /files/keep/f" "POST /files/keep/f?commit" "POST /chunks/missing" \
	"PUT /chunks/$ID0" "GET /chunks/$ID0" "GET /metrics" "GET /keys" "POST /keys" \
	"DELETE /keys/1" "POST /presign" "GET /nosuch" "PATCH /files/keep/f" \
	"GET /files/../etc/passwd" "GET /chunks/nothex"; do
	m=${req%% *} u=${req#* }
	case $m in
	HEAD) c=$(code - -I "$URL$u") ;;
	PUT) c=$(code - -T "$T/orig" "$URL$u") ;;
	POST) c=$(code - -X POST -d '{"ids":[]}' "$URL$u") ;;
	*) c=$(code - -X "$m" "$URL$u") ;;
	esac
	same "no key: $req -> 401" "$c" 401
	if [[ $m != HEAD ]]; then
		check "no key: $req: a JSON error" test -n "$(err)"
	fi
	check "no key: $req: WWW-Authenticate: Bearer" \
		grep -qi '^WWW-Authenticate: Bearer' "$T/hdrs"
done
same "no key: keep/f is unchanged" "$(code "$ADMIN" "$URL/files/keep/f")/$(cat "$T/body")" \
	"200/original"
same "a malformed key -> 401" "$(code "dgfs_1_xyz" "$URL/files/")" 401
same "a wrong secret -> 401" "$(code "dgfs_1_$(printf '%064d' 0)" "$URL/files/")" 401
same "another scheme -> 401" \
	"$(code - -H "Authorization: Basic $(printf 'a:b' | base64)" "$URL/files/")" 401
same "/healthz stays open, even to a bad key" \
	"$(code "dgfs_1_xyz" "$URL/healthz")" 200

# ---- scopes ----------------------------------------------------------------------------------
READ=$(keyadd --scope read --name reader)
WRITE=$(keyadd --scope write --name writer)
check "key add prints the key alone on stdout" \
	bash -c "grep -Eqx 'dgfs_[0-9]+_[0-9a-f]{64}' <<<'$READ' && grep -Eqx 'dgfs_[0-9]+_[0-9a-f]{64}' <<<'$WRITE'"
echo "new content" >"$T/new"
id_new=$(sha256sum <"$T/new" | cut -c1-64)
same "read: GET a file" "$(code "$READ" "$URL/files/keep/f")" 200
same "read: its manifest" "$(code "$READ" "$URL/files/keep/f?manifest")" 200
same "read: a listing" "$(code "$READ" "$URL/files/")" 200
same "read: GET /chunks/{id}" "$(code "$READ" "$URL/chunks/$ID0")" 200
same "read: /metrics" "$(code "$READ" "$URL/metrics")" 200
same "read: PUT a file -> 403" "$(code "$READ" -T "$T/new" "$URL/files/keep/f")" 403
same "read: ... the error names the scope" "$(err)" "this needs a write key; this one is read"
same "read: DELETE -> 403" "$(code "$READ" -X DELETE "$URL/files/keep/f")" 403
same "read: commit -> 403" "$(code "$READ" -d '{"chunks":[]}' "$URL/files/keep/g?commit")" 403
same "read: PUT /chunks -> 403" "$(code "$READ" -T "$T/new" "$URL/chunks/$id_new")" 403
same "read: POST /chunks/missing -> 403 (dedup tells readers nothing)" \
	"$(code "$READ" -d "{\"ids\":[\"$ID0\"]}" "$URL/chunks/missing")" 403
same "read: GET /keys -> 403" "$(code "$READ" "$URL/keys")" 403
same "read: keep/f is unchanged" "$(code "$ADMIN" "$URL/files/keep/f")/$(cat "$T/body")" \
	"200/original"
same "write: PUT /chunks" "$(code "$WRITE" -T "$T/new" "$URL/chunks/$id_new")" 201
same "write: POST /chunks/missing" \
	"$(code "$WRITE" -d "{\"ids\":[\"$ID0\"]}" "$URL/chunks/missing")/$(jget "$T/body" 'len(j["missing"])')" \
	"200/0"
same "write: commit" "$(code "$WRITE" -d "{\"chunks\":[\"$id_new\"]}" "$URL/files/keep/g?commit")" 201
same "write: PUT a file" "$(code "$WRITE" -T "$T/new" "$URL/files/keep/h")" 201
same "write: DELETE" "$(code "$WRITE" -X DELETE "$URL/files/keep/h")" 204
same "write: GET /keys -> 403" "$(code "$WRITE" "$URL/keys")" 403
same "write: POST /keys -> 403" "$(code "$WRITE" -d '{"scope":"read"}' "$URL/keys")" 403

# ---- a key limited to a prefix -----------------------------------------------------------
for f in pub/a pub/sub/b pubx/c priv/d pub; do
	echo "content of $f" >"$T/src"
	code "$ADMIN" -T "$T/src" "$URL/files/$f" >/dev/null
done
PRE=$(keyadd --scope write --prefix pub --name tenant)
same "prefix: GET pub/a" "$(code "$PRE" "$URL/files/pub/a")" 200
same "prefix: GET pub/sub/b" "$(code "$PRE" "$URL/files/pub/sub/b")" 200
same "prefix: GET %70ub/a (decoded first: pub/a)" "$(code "$PRE" "$URL/files/%70ub/a")" 200
same "prefix: GET pub%2Fa (decoded first: pub/a)" "$(code "$PRE" "$URL/files/pub%2Fa")" 200
same "prefix: GET priv/d -> 403" "$(code "$PRE" "$URL/files/priv/d")" 403
same "prefix: ... the error names the prefix" "$(err)" "this key reaches only pub/"
same "prefix: GET pubx/c -> 403 (a segment, not a string prefix)" \
	"$(code "$PRE" "$URL/files/pubx/c")" 403
same "prefix: GET pub itself -> 403" "$(code "$PRE" "$URL/files/pub")" 403
same "prefix: GET pub/../priv/d -> 400" "$(code "$PRE" "$URL/files/pub/../priv/d")" 400
same "prefix: GET pub/%2e%2e/priv/d -> 400" "$(code "$PRE" "$URL/files/pub/%2e%2e/priv/d")" 400
same "prefix: GET pub%2F..%2Fpriv/d -> 400" "$(code "$PRE" "$URL/files/pub%2F..%2Fpriv/d")" 400
same "prefix: GET pub//../priv/d -> 400" "$(code "$PRE" "$URL/files/pub//../priv/d")" 400
same "prefix: GET pub/%00/../priv/d -> 400" "$(code "$PRE" "$URL/files/pub/%00/../priv/d")" 400
same "prefix: manifest of priv/d -> 403" "$(code "$PRE" "$URL/files/priv/d?manifest")" 403
same "prefix: PUT pub/new" "$(code "$PRE" -T "$T/new" "$URL/files/pub/new")" 201
same "prefix: PUT priv/new -> 403" "$(code "$PRE" -T "$T/new" "$URL/files/priv/new")" 403
same "prefix: PUT %70riv/new -> 403" "$(code "$PRE" -T "$T/new" "$URL/files/%70riv/new")" 403
same "prefix: DELETE priv/d -> 403" "$(code "$PRE" -X DELETE "$URL/files/priv/d")" 403
same "prefix: commit to priv/x -> 403" \
	"$(code "$PRE" -d "{\"chunks\":[\"$id_new\"]}" "$URL/files/priv/x?commit")" 403
same "prefix: priv/d is unchanged" "$(code "$ADMIN" "$URL/files/priv/d")/$(cat "$T/body")" \
	"200/content of priv/d"
same "prefix: listing everything lists pub/ only" \
	"$(code "$PRE" "$URL/files/")/$(jget "$T/body" '" ".join(f["path"] for f in j["files"])')" \
	"200/pub/a pub/new pub/sub/b"
same "prefix: listing prefix=pu lists pub/ only" \
	"$(code "$PRE" "$URL/files/?prefix=pu")/$(jget "$T/body" '" ".join(f["path"] for f in j["files"])')" \
	"200/pub/a pub/new pub/sub/b"
same "prefix: listing prefix=pub/sub" \
	"$(code "$PRE" "$URL/files/?prefix=pub/sub")/$(jget "$T/body" '" ".join(f["path"] for f in j["files"])')" \
	"200/pub/sub/b"
same "prefix: listing prefix=priv -> 403" "$(code "$PRE" "$URL/files/?prefix=priv")" 403
same "prefix: listing prefix=pub%2F..%2Fpriv -> 400" \
	"$(code "$PRE" "$URL/files/?prefix=pub%2F..%2Fpriv")" 400
id_priv=$(jget <(n curl -s "$URL/files/priv/d?manifest") 'j["chunks"][0]["id"]')
id_pub=$(jget <(n curl -s "$URL/files/pub/a?manifest") 'j["chunks"][0]["id"]')
same "prefix: GET /chunks of a chunk under pub/" "$(code "$PRE" "$URL/chunks/$id_pub")" 200
same "prefix: GET /chunks of priv/d's chunk -> 403" "$(code "$PRE" "$URL/chunks/$id_priv")" 403
same "prefix: GET /keys -> 403" "$(code "$PRE" "$URL/keys")" 403
refuse "key add: an admin key cannot have a prefix" 2 "no --prefix" \
	n "$DGFSD" key add --state-dir "$STATE" --scope admin --prefix pub
refuse "key add: a prefix with .. is refused" 2 "bad --prefix" \
	n "$DGFSD" key add --state-dir "$STATE" --scope read --prefix 'pub/../priv'
refuse "key add: an unknown scope is refused" 2 "read, write or admin" \
	n "$DGFSD" key add --state-dir "$STATE" --scope root
refuse "key add: a state dir without meta.db is refused" 1 "meta.db" \
	n "$DGFSD" key add --state-dir "$T/nosuch" --scope read
check "... and not made" test ! -e "$T/nosuch"

# ---- keys added and revoked while dgfsd runs ----------------------------------------------------
n "$DGFSD" key list --state-dir "$STATE" >"$T/list" 2>>"$T/keycli.log"
check "key list names the keys" grep -q 'tenant' "$T/list"
check "key list shows the prefix" grep -q 'pub/' "$T/list"
grep -qF "${READ##*_}" "$T/list" && rc=0 || rc=$?
same "key list shows no secret (grep exit 1)" "$rc" 1
RID=${READ#dgfs_}
RID=${RID%%_*}
same "before revoke: the read key works" "$(code "$READ" "$URL/files/keep/f")" 200
check "key revoke while dgfsd runs" keyrevoke "$RID"
same "after revoke: the very next request is 401" "$(code "$READ" "$URL/files/keep/f")" 401
same "... saying so" "$(err)" "API key revoked"
refuse "key revoke again: revoked already" 1 "revoked already" \
	n "$DGFSD" key revoke --state-dir "$STATE" "$RID"
refuse "key revoke of an unknown id" 1 "no key 999" \
	n "$DGFSD" key revoke --state-dir "$STATE" 999

# The admin API.
same "API: POST /keys" \
	"$(code "$ADMIN" -d '{"scope":"read","prefix":"pub/sub","name":"api"}' "$URL/keys")" 201
AKEY=$(jget "$T/body" 'j["key"]')
AID=$(jget "$T/body" 'j["id"]')
same "API: the new key's prefix" "$(jget "$T/body" 'j["prefix"]')" "pub/sub/"
same "API: the new key works at once" "$(code "$AKEY" "$URL/files/pub/sub/b")" 200
same "API: ... within its prefix only" "$(code "$AKEY" "$URL/files/pub/a")" 403
same "API: GET /keys" "$(code "$ADMIN" "$URL/keys")" 200
same "API: GET /keys lists every key, revoked ones too" \
	"$(jget "$T/body" '" ".join("%d:%s:%s" % (k["id"], k["scope"], "r" if k["revoked"] else "-") for k in j["keys"])')" \
	"1:admin:- 2:read:r 3:write:- 4:write:- $AID:read:-"
grep -qF "${AKEY##*_}" "$T/body" && rc=0 || rc=$?
same "API: GET /keys shows no secret (grep exit 1)" "$rc" 1
same "API: an admin key with a prefix -> 400" \
	"$(code "$ADMIN" -d '{"scope":"admin","prefix":"pub"}' "$URL/keys")" 400
same "API: a bad scope -> 400" "$(code "$ADMIN" -d '{"scope":"root"}' "$URL/keys")" 400
same "API: a prefix with .. -> 400" "$(code "$ADMIN" -d '{"scope":"read","prefix":"a/../b"}' "$URL/keys")" 400
same "API: DELETE /keys/$AID" "$(code "$ADMIN" -X DELETE "$URL/keys/$AID")" 204
same "API: the revoked key is refused at once" "$(code "$AKEY" "$URL/files/pub/sub/b")" 401
same "API: DELETE it again -> 409" "$(code "$ADMIN" -X DELETE "$URL/keys/$AID")" 409
same "API: DELETE an unknown key -> 404" "$(code "$ADMIN" -X DELETE "$URL/keys/999")" 404
same "API: DELETE /keys/01 -> 400" "$(code "$ADMIN" -X DELETE "$URL/keys/01")" 400

# ---- presigned URLs ------------------------------------------------------------------------
presign() { code "$1" -d "$2" "$URL/presign"; }
same "presign: a read key signs a GET" \
	"$(presign "$PRE" '{"path":"pub/a","expires_in":600}')" 200
PURL=$(jget "$T/body" 'j["url"]')
check "presign: the URL has expires, keyid and sig" \
	grep -Eq '^/files/pub/a\?expires=[0-9]+&keyid=[0-9]+&sig=[0-9a-f]{64}$' <<<"$PURL"
same "presign: curl with no key fetches it" "$(code - "$URL$PURL")/$(cat "$T/body")" \
	"200/content of pub/a"
same "presign: HEAD with it" "$(code - -I "$URL$PURL")" 200
same "presign: ... its manifest too (the same read)" \
	"$(code - "$URL${PURL%%\?*}?manifest&${PURL#*\?}")" 200
same "presign: a tampered sig -> 403" "$(code - "$URL${PURL%?}$([[ ${PURL: -1} == 0 ]] && echo 1 || echo 0)")" 403
same "presign: another path -> 403" "$(code - "$URL${PURL/pub\/a/pub/new}")" 403
same "presign: another method -> 403" "$(code - -X DELETE "$URL$PURL")" 403
same "presign: ... and pub/a is still there" "$(code "$ADMIN" "$URL/files/pub/a")" 200
exp=$(sed -E 's/.*expires=([0-9]+).*/\1/' <<<"$PURL")
same "presign: a later expiry -> 403" "$(code - "$URL${PURL/expires=$exp/expires=$((exp + 1000))}")" 403
same "presign: another key id -> 403" "$(code - "$URL${PURL/keyid=/keyid=1}")" 403
same "presign: without sig it is a request without a key -> 401" \
	"$(code - "$URL${PURL%%&sig=*}")" 401
same "presign: for a listing -> 403" "$(code - "$URL/files/?sig=00")" 403
same "presign: outside the key's prefix -> 403" \
	"$(presign "$PRE" '{"path":"priv/d"}')" 403
same "presign: a write key signs a PUT" "$(presign "$WRITE" '{"path":"x","method":"PUT"}')" 200
same "presign: a POST cannot be presigned -> 400" \
	"$(presign "$PRE" '{"path":"pub/x","method":"POST"}')" 400
RK2=$(keyadd --scope read)
same "presign: a read key cannot sign a PUT -> 403" \
	"$(presign "$RK2" '{"path":"pub/a","method":"PUT"}')" 403
same "presign: more than 7 days -> 400" "$(presign "$PRE" '{"path":"pub/a","expires_in":604801}')" 400
same "presign: no key -> 401" "$(code - -d '{"path":"pub/a"}' "$URL/presign")" 401
same "presign: a presigned URL cannot mint another -> 403" \
	"$(code - -d '{"path":"pub/a"}' "$URL/presign?${PURL#*\?}")" 403
# A PUT: curl -T with no key uploads through it.
same "presign: sign a PUT" "$(presign "$PRE" '{"path":"pub/up","method":"PUT"}')" 200
UURL=$(jget "$T/body" 'j["url"]')
same "presign: curl -T with no key" "$(code - -T "$T/new" "$URL$UURL")" 201
same "presign: ... stored" "$(code "$ADMIN" "$URL/files/pub/up")/$(cat "$T/body")" "200/new content"
same "presign: the PUT URL does not GET -> 403" "$(code - "$URL$UURL")" 403
# dgfs presign prints a whole URL.
DURL=$(n "$DGFS" --server "$URL" --api-key "$PRE" presign --expires 60 pub/sub/b)
same "dgfs presign: curl with no key fetches its URL" "$(code - "$DURL")/$(cat "$T/body")" \
	"200/content of pub/sub/b"
# Expiry: a URL that lives 1 second, used once the clock is past it.
presign "$PRE" '{"path":"pub/a","expires_in":1}' >/dev/null
EURL=$(jget "$T/body" 'j["url"]')
eexp=$(sed -E 's/.*expires=([0-9]+).*/\1/' <<<"$EURL")
while (($(date +%s) <= eexp)); do sleep 0.2; done
same "presign: expired -> 403" "$(code - "$URL$EURL")" 403
same "... saying so" "$(err)" "presigned URL expired"
# Revoking the key that signed revokes its URLs.
PID_=${PRE#dgfs_}
PID_=${PID_%%_*}
check "revoke the prefix key" keyrevoke "$PID_"
same "presign: the URL of a revoked key -> 403" "$(code - "$URL$PURL")" 403

# ---- dgfs with a key from each place -------------------------------------------------------------
head -c 3000000 /dev/urandom >"$T/big"
KF=$(keyadd --scope write --name file)
mkdir -p "$T/kh/.config/dgfs" "$T/kh644/.config/dgfs"
printf '%s\n' "$KF" >"$T/kh/.config/dgfs/key"
chmod 600 "$T/kh/.config/dgfs/key"
dg() { ip netns exec "$NS" env -u DGFS_API_KEY -u XDG_CONFIG_HOME "$@"; }
refuse "dgfs put without a key: 401, exit 10, says where a key goes" 10 \
	"HTTP 401.*--api-key" dg HOME="$T/bare" "$DGFS" -q --server "$URL" put "$T/big" d/none
check "dgfs put --api-key" dg HOME="$T/bare" "$DGFS" -q --server "$URL" --api-key "$WRITE" \
	put "$T/big" d/opt
check "dgfs get --api-key (after the command)" dg HOME="$T/bare" "$DGFS" -q get --server "$URL" \
	--api-key "$WRITE" d/opt "$T/got1"
check "... the same bytes" cmp -s "$T/big" "$T/got1"
check "dgfs put with \$DGFS_API_KEY" dg HOME="$T/bare" DGFS_API_KEY="$WRITE" "$DGFS" -q \
	--server "$URL" put "$T/big" d/env
check "dgfs get with \$DGFS_API_KEY" dg HOME="$T/bare" DGFS_API_KEY="$WRITE" "$DGFS" -q \
	--server "$URL" get d/env "$T/got2"
check "... the same bytes" cmp -s "$T/big" "$T/got2"
dg HOME="$T/kh" "$DGFS" -q --server "$URL" put "$T/big" d/file 2>"$T/kf.err" && rc=0 || rc=$?
same "dgfs put with ~/.config/dgfs/key" "$rc" 0
check "... no warning for a 0600 key file" test ! -s "$T/kf.err"
check "dgfs get with ~/.config/dgfs/key" dg HOME="$T/kh" "$DGFS" -q --server "$URL" \
	get d/file "$T/got3"
check "... the same bytes" cmp -s "$T/big" "$T/got3"
check "dgfs ls, stat, rm with ~/.config/dgfs/key" bash -c "
	ip netns exec $NS env -u DGFS_API_KEY HOME='$T/kh' '$DGFS' --server '$URL' ls d/ | grep -q d/file &&
	ip netns exec $NS env -u DGFS_API_KEY HOME='$T/kh' '$DGFS' --server '$URL' stat d/file >/dev/null &&
	ip netns exec $NS env -u DGFS_API_KEY HOME='$T/kh' '$DGFS' --server '$URL' rm d/file"
KFID=${KF#dgfs_}
KFID=${KFID%%_*}
same "the key file's key is the one used (its id in the access log)" \
	"$(awk -v p=/files/d/file '$5 == p && $4 == "DELETE" { print $3 }' "$ALOG")" "$KFID"
printf '%s\n' "$KF" >"$T/kh644/.config/dgfs/key"
chmod 644 "$T/kh644/.config/dgfs/key"
refuse "a key file others can read draws a warning" 0 "can be read by others" \
	dg HOME="$T/kh644" "$DGFS" --server "$URL" ls d/
check "--api-key wins over \$DGFS_API_KEY and the file" quiet dg HOME="$T/kh" \
	DGFS_API_KEY="dgfs_1_$(printf '%064d' 0)" "$DGFS" -q --server "$URL" --api-key "$WRITE" ls
check "\$DGFS_API_KEY wins over the file" quiet dg HOME="$T/kh644" DGFS_API_KEY="$WRITE" \
	"$DGFS" -q --server "$URL" ls
refuse "... a bad \$DGFS_API_KEY is used, not the file" 10 "HTTP 401: invalid API key" \
	dg HOME="$T/kh" DGFS_API_KEY="dgfs_1_$(printf '%064d' 0)" "$DGFS" -q --server "$URL" ls
refuse "a key with a newline is refused" 9 "not one" \
	dg HOME="$T/bare" "$DGFS" -q --server "$URL" --api-key $'a\nb' ls
refuse "a revoked key: dgfs get fails with 401" 10 "API key revoked" \
	dg HOME="$T/bare" "$DGFS" -q --server "$URL" --api-key "$READ" get d/opt "$T/got4"

# ---- the access log ---------------------------------------------------------------------------
check "access log: one line per request, with the key id" \
	grep -Eq "^[0-9T:.-]+Z 127\.0\.0\.1 3 PUT /files/keep/h 201 [0-9]+ [0-9.]+$" "$ALOG"
check "access log: anonymous requests as -" grep -Eq " - GET /files/keep/f 401 " "$ALOG"
check "access log: presigned requests as ID/presigned" \
	grep -Eq " $PID_/presigned PUT /files/pub/up 201 " "$ALOG"
# Raw bytes in the request line (curl would escape them itself).
same "a request line with raw UTF-8 and %0A -> 400" "$(n python3 -c '
import os, socket
s = socket.create_connection(("127.0.0.1", 8080), timeout=30)
s.sendall(b"GET /files/log/caf\xc3\xa9%0Ax HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
          b"Authorization: Bearer " + os.environ["DGFS_API_KEY"].encode() + b"\r\n\r\n")
print(s.recv(100).split()[1].decode())')" 400
check "access log: raw bytes escaped, the URL's own escapes kept" \
	grep -q ' 1 GET /files/log/caf%C3%A9%0Ax 400 ' "$ALOG"
grep -qF "sig=" "$ALOG" && rc=0 || rc=$?
same "access log: no signature in it (grep exit 1)" "$rc" 1
grep -qF "$secret" "$ALOG" "$T/dgfsd.log" && rc=0 || rc=$?
same "access log and stderr: no key in them (grep exit 1)" "$rc" 1
mv "$ALOG" "$ALOG.1"
kill -HUP "$DGFSD_PID"
# The reopen happens in dgfsd's main thread: wait for the new file.
for _ in $(seq 100); do
	code "$ADMIN" "$URL/files/hup/probe" >/dev/null
	[[ -s $ALOG ]] && break
	sleep 0.1
done
check "SIGHUP: a new access log, with the next requests" grep -q "GET /files/hup/probe 404" "$ALOG"
code "$ADMIN" "$URL/files/hup/probe2" >/dev/null
check "SIGHUP: ... a request after it goes to the new file only" \
	bash -c "grep -q 'hup/probe2' '$ALOG' && ! grep -q 'hup/probe2' '$ALOG.1'"
check "SIGHUP: dgfsd still runs" kill -0 "$DGFSD_PID"
dgfsd_stop

# ---- --public-read, --public-metrics ------------------------------------------------------------
check "dgfsd starts with --public-read" dgfsd_start --public-read --access-log off
same "public read: GET without a key" "$(code - "$URL/files/keep/f")/$(cat "$T/body")" "200/original"
same "public read: a manifest without a key" "$(code - "$URL/files/keep/f?manifest")" 200
same "public read: a listing without a key" "$(code - "$URL/files/")" 200
same "public read: GET /chunks without a key" "$(code - "$URL/chunks/$ID0")" 200
same "public read: PUT without a key -> 401" "$(code - -T "$T/new" "$URL/files/keep/f")" 401
same "public read: DELETE without a key -> 401" "$(code - -X DELETE "$URL/files/keep/f")" 401
same "public read: POST /chunks/missing without a key -> 401" \
	"$(code - -d '{"ids":[]}' "$URL/chunks/missing")" 401
same "public read: /metrics without a key -> 401" "$(code - "$URL/metrics")" 401
same "public read: /keys without a key -> 401" "$(code - "$URL/keys")" 401
same "public read: a bad key is still refused -> 401" \
	"$(code "dgfs_1_$(printf '%064d' 0)" "$URL/files/keep/f")" 401
same "public read: a revoked key is still refused -> 401" "$(code "$READ" "$URL/files/keep/f")" 401
same "public read: a write key writes" "$(code "$WRITE" -T "$T/new" "$URL/files/keep/w")" 201
check "no access log with --access-log off" bash -c "test -s '$ALOG' && ! grep -q 'keep/w' '$ALOG'"
dgfsd_stop
check "dgfsd starts with --public-metrics" dgfsd_start --public-metrics
same "public metrics: /metrics without a key" "$(code - "$URL/metrics")" 200
same "public metrics: GET a file without a key -> 401" "$(code - "$URL/files/keep/f")" 401
check "the second start made no new admin key" \
	bash -c "[[ \$(cat '$STATE/admin.key') == '$ADMIN' ]] && [[ \$(grep -c 'made admin key' '$T/dgfsd.log') == 1 ]]"
check "dgfsd key: no sanitizer report" bash -c "! grep -Eq 'Sanitizer|runtime error:' '$T/keycli.log'"
same "the admin key still works after restarts" "$(code "$ADMIN" "$URL/keys")" 200
dgfsd_stop
finish
