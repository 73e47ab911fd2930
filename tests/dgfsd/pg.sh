# shellcheck shell=bash
# A throwaway PostgreSQL server for dgfsd's host tests (as
# tests/unit/pg_server.h does for the unit tests): Debian's postgresql
# package, initdb and pg_ctl in $T/pg, a unix socket there only (no TCP),
# run as nobody (PostgreSQL refuses root). Source after tests/dgfsd/lib.sh.
#
#   pg_start     start it; PG_URI is then dgfsd's --metadata; fails if it cannot
#                (fsync off, unless PG_FSYNC=on: the benchmarks, to match
#                SQLite's synchronous=FULL)
#   pg_stop [MODE]  stop it: pg_ctl's mode, fast or immediate (quiet when not running)
#   pg_restart   start it again on the same data directory
#   pg_cleanup   pg_stop keeping $?: trap 'pg_cleanup; dgfsd_cleanup' EXIT
#   pg_sql SQL   psql on its database, unaligned, no headers

PG_DIR= PG_BIN= PG_URI= PG_AS=()
pg_start() {
	PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[[ -x $PG_BIN/initdb ]] || { echo "no /usr/lib/postgresql/*/bin/initdb (make deps)"; return 1; }
	PG_DIR=$T/pg
	mkdir -p "$PG_DIR"
	# dgfsd drops its capabilities: without CAP_DAC_OVERRIDE, root reaches
	# the socket only through a directory others may enter.
	chmod 711 "$T"
	chmod 755 "$PG_DIR"
	if ((EUID == 0)); then
		chown nobody: "$PG_DIR"
		PG_AS=(runuser -u nobody --)
	fi
	(cd / && "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U dgfs -A trust -E UTF8 \
		--no-sync >"$PG_DIR/initdb.log" 2>&1) || { cat "$PG_DIR/initdb.log"; return 1; }
	pg_restart || return 1
	PG_URI="postgresql:///postgres?host=$PG_DIR&user=dgfs"
}
pg_restart() {
	(cd / && "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
		-o "-c listen_addresses='' -k $PG_DIR -c fsync=${PG_FSYNC:-off}" start >/dev/null 2>&1) ||
		{ cat "$PG_DIR/server.log"; return 1; }
}
pg_stop() {
	[[ -n $PG_DIR && -f $PG_DIR/data/postmaster.pid ]] || return 0
	(cd / && "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m "${1:-fast}" -w stop >/dev/null 2>&1)
}
pg_cleanup() {
	local rc=$?
	pg_stop
	return "$rc"
}
pg_sql() {
	"$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_DIR" -U dgfs -d postgres -c "$1"
}
