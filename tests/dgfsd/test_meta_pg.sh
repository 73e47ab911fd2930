#!/usr/bin/env bash
# dgfsd with its metadata in PostgreSQL (--metadata postgresql://...,
# docs/DGFSD.md, "Metadata in PostgreSQL"), on a server of the test's own
# (tests/dgfsd/pg.sh; one that does not start fails the test): uploads,
# downloads, listings, deletes and keys go through PostgreSQL and outlive
# a restart of dgfsd; tags, search and the graph answer from PostgreSQL
# (their own suites: test_tags_pg.sh, test_search_pg.sh,
# test_meta_agree.sh); a config naming neither SQLite nor PostgreSQL is
# refused.
#   tests/dgfsd/test_meta_pg.sh BUILD_DIR      (as root)
# expect-checks: 28
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
. tests/dgfsd/pg.sh
dgfsd_setup "${1:-build}"
# The server stops first; dgfsd_cleanup still sees how the test exited.
trap 'pg_cleanup; dgfsd_cleanup' EXIT

code() {
	: >"$T/body"
	n curl -sS -m 60 -g -o "$T/body" -w '%{http_code}' "$@"
}
sum() { n curl -sf "$URL/files/$1" | sha256sum; }
put() { n "$DGFS" --server "$URL" put -q "$@"; }

check "a PostgreSQL server of the test's own starts (unix socket only)" pg_start || finish
check "dgfsd starts with --metadata $PG_URI" dgfsd_start --metadata "$PG_URI" || finish
check "the admin key is in PostgreSQL, not in a meta.db" \
	test "$(pg_sql 'SELECT count(*) FROM keys')" = 1 -a ! -e "$STATE/meta.db"

head -c $((5 << 20)) /dev/urandom >"$T/a"
head -c 70000 /dev/urandom >"$T/b"
check "dgfs put a (5 MiB)" put "$T/a" d/a
same "PUT /files/d/b -> 201" "$(code -T "$T/b" "$URL/files/d/b")" 201
same "a reads back whole" "$(sum d/a)" "$(sha256sum <"$T/a")"
same "b reads back whole" "$(sum d/b)" "$(sha256sum <"$T/b")"
same "the listing has both, in order" \
	"$(code "$URL/files?prefix=d/") $(jget "$T/body" '[f["path"] for f in j["files"]]')" \
	'200 ["d/a", "d/b"]'
same "PostgreSQL holds both files and a's chunks" \
	"$(pg_sql 'SELECT count(*) FROM files'), $(pg_sql "SELECT count(*) > 1 FROM file_chunks f JOIN files p ON p.id = f.file_id WHERE p.path = 'd/a'")" \
	"2, t"
same "a chunk file on disk for each chunk row" \
	"$(find "$STATE/chunks" -maxdepth 1 -type f ! -name '.tmp-*' | wc -l)" \
	"$(pg_sql 'SELECT count(*) FROM chunks')"

# Tags, search and the graph answer from PostgreSQL.
same "POST /files/d/a?tags -> 200" \
	"$(code -X POST -H 'Content-Type: application/json' --data '{"add":["x"]}' "$URL/files/d/a?tags")" 200
for u in "search?q=x" "graph?tag=x" "tags?prefix=x" tags/implies "files/d/a?tags" "files/d/a?related"; do
	same "GET /$u -> 200" "$(code "$URL/$u")" 200
done
same "... the tag is in PostgreSQL" \
	"$(pg_sql "SELECT count(*) FROM file_tags JOIN tags ON tags.id = tag_id WHERE name = 'x'")" 1

same "DELETE /files/d/b -> 204" "$(code -X DELETE "$URL/files/d/b")" 204
same "... its chunk goes from PostgreSQL and from the disk alike" \
	"$(pg_sql 'SELECT count(*) FROM files') $(find "$STATE/chunks" -maxdepth 1 -type f ! -name '.tmp-*' | wc -l)" \
	"1 $(pg_sql 'SELECT count(*) FROM chunks')"
dgfsd_stop "dgfsd stops cleanly"
check "dgfsd starts again on the same database" dgfsd_start --metadata "$PG_URI" || finish
same "a still reads back whole" "$(sum d/a)" "$(sha256sum <"$T/a")"
same "b stays deleted" "$(code "$URL/files/d/b")" 404
dgfsd_stop "dgfsd stops cleanly again"

printf 'state-dir = %s\nmetadata = %s\n' "$STATE" "$PG_URI" >"$T/dgfsd.conf"
shows "dgfsd key list -c FILE finds the admin key in PostgreSQL" '^1[[:space:]].*admin' \
	"$DGFSD" key list -c "$T/dgfsd.conf"
refuse "--metadata mysql://x is refused" 2 'sqlite.*postgresql:// URI' \
	"$DGFSD" --state-dir "$STATE" --metadata mysql://x
finish
