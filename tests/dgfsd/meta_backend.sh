# shellcheck shell=bash
# Runs a dgfsd host test on either metadata backend: DGFS_TEST_META=pg
# starts a PostgreSQL server of the test's own (tests/dgfsd/pg.sh) and
# gives every dgfsd_start --metadata on it; unset or "sqlite", the test
# runs as it always did (meta.db in $STATE). Source after dgfsd_setup.
#
#   meta_q SQL          one query on dgfsd's metadata, columns joined by '|'
#   meta_bytes 'TEXT'   a path literal in that dialect (SQLite BLOB, PostgreSQL bytea)
#   meta_path_text COL  a path column as text, for LIKE
#   META_TEXT_ID        file_text's column holding files.id (rowid, file_id)
#   META_KEY_ARGS       what `dgfsd key` needs to find the metadata
META=${DGFS_TEST_META:-sqlite}
case $META in
sqlite)
	meta_q() { sqlite3 "file:$STATE/meta.db?mode=ro" "$1"; }
	meta_bytes() { printf "CAST('%s' AS BLOB)" "$1"; }
	meta_path_text() { printf 'CAST(%s AS TEXT)' "$1"; }
	META_TEXT_ID=rowid
	META_KEY_ARGS=(--state-dir "$STATE")
	;;
pg)
	. tests/dgfsd/pg.sh
	# The server stops first; dgfsd_cleanup still sees how the test exited.
	trap 'pg_cleanup; dgfsd_cleanup' EXIT
	check "a PostgreSQL server of the test's own starts" pg_start || finish
	dgfsd_start() { dgfsd_start_args --state-dir "$STATE" --metadata "$PG_URI" "$@"; }
	meta_q() { pg_sql "$1"; }
	meta_bytes() { printf "convert_to('%s', 'UTF8')" "$1"; }
	meta_path_text() { printf "convert_from(%s, 'UTF8')" "$1"; }
	META_TEXT_ID=file_id
	printf 'state-dir = %s\nmetadata = %s\n' "$STATE" "$PG_URI" >"$T/meta.conf"
	META_KEY_ARGS=(-c "$T/meta.conf")
	;;
*)
	echo "DGFS_TEST_META=$META: sqlite or pg"
	exit 2
	;;
esac
echo "metadata backend: $META"
