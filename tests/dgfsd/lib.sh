# shellcheck shell=bash
# Helpers for dgfsd's host tests (tests/dgfsd/test_*.sh). Each test runs
# dgfsd and its clients in a network namespace of its own with only the
# loopback up, so its ports never meet another test's and no packet can
# leave. Source after tests/lib.sh; call dgfsd_setup first.
#
#   dgfsd_setup BUILD          namespace, temp dir ($T), binaries
#   n CMD...                   run CMD in the namespace, with $STATE's admin key
#   dgfsd_start [ARGS...]      start dgfsd on $STATE (HTTP $URL), wait for /healthz
#   dgfsd_start_args ARGS...   the same without --state-dir (e.g. --config)
#   dgfsd_stop [NAME]          SIGTERM; one check: exit 0, no sanitizer report
#   dgfsd_kill                 SIGKILL and wait (no leak check possible)
#   store_consistent           no temp file, every chunk file referenced by
#                              meta.db and every referenced chunk present
#   metric NAME                a value from /metrics
#
# Every dgfsd the tests start logs to $T/dgfsd.log. Whatever way a test
# ends, its EXIT trap stops a dgfsd still running with dgfsd_stop (so each
# one gets its leak check) and then fails the test if that log holds any
# sanitizer report at all (also from a dgfsd that was SIGKILLed).

# A sanitizer's report: ASan, LSan, UBSan (also when it goes on).
SAN_REPORT='runtime error:|ERROR: [A-Za-z]+Sanitizer|SUMMARY: [A-Za-z]+Sanitizer'

DGFSD_PID=
dgfsd_setup() {
	BUILD=$1
	# The sanitizer build: dgfsd_stop fails the test on any report or leak.
	DGFSD=${DGFSD:-$BUILD/dgfsd-asan}
	DGFS=$BUILD/dgfs
	[[ -x $DGFSD ]] || { fail "$DGFSD is built (make userspace)"; finish; }
	# A leak report needs a clean exit, which SIGTERM gives. UBSan halts
	# at its first finding (dgfsd-asan is built with
	# -fno-sanitize-recover). Reports go to the log the checks read.
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=66}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	NS=dgfsd-test-$$
	T=$(mktemp -d "${DGFSD_TEST_TMP:-/tmp}/dgfsd-test.XXXXXX")
	STATE=$T/state
	URL=http://127.0.0.1:8080
	: >"$T/dgfsd.log"
	ip netns add "$NS" || { fail "create namespace $NS"; finish; }
	ip -n "$NS" link set lo up
	# A helper sourced before this (cluster.sh) names a trap that does
	# more first: setting ours would drop it.
	trap "${DGFSD_EXIT_TRAP:-dgfsd_cleanup}" EXIT
	# A home of the test's own, whose client configs carry dgfsd's key.
	export HOME=$T/home
	unset XDG_CONFIG_HOME CURL_HOME WGETRC DGFS_API_KEY
	mkdir -p "$HOME/.aria2"
}

# dgfsd_use_key: every client the tests run sends the admin key dgfsd made
# in $STATE/admin.key, without a word in the tests: curl (~/.curlrc), wget
# (~/.wgetrc), aria2c (~/.aria2/aria2.conf) and dgfs ($DGFS_API_KEY). n()
# calls it, so a dgfsd started on another $STATE gets its own key. Files
# are replaced by rename: clients running meanwhile read whole ones.
dgfsd_use_key() {
	local k= f
	[[ -r $STATE/admin.key ]] && read -r k <"$STATE/admin.key"
	[[ $k == "${DGFS_API_KEY-}" ]] && return 0
	if [[ -z $k ]]; then
		unset DGFS_API_KEY
		rm -f "$HOME/.curlrc" "$HOME/.wgetrc" "$HOME/.aria2/aria2.conf"
		return 0
	fi
	export DGFS_API_KEY=$k
	f=$HOME/.key-config.$BASHPID
	printf 'header = "Authorization: Bearer %s"\n' "$k" >"$f" && mv -f "$f" "$HOME/.curlrc"
	printf 'header = Authorization: Bearer %s\n' "$k" >"$f" && mv -f "$f" "$HOME/.wgetrc"
	printf 'header=Authorization: Bearer %s\n' "$k" >"$f" && mv -f "$f" "$HOME/.aria2/aria2.conf"
}

dgfsd_cleanup() {
	local rc=$?
	# A dgfsd left running gets its clean stop and leak check too.
	[[ -z $DGFSD_PID ]] || dgfsd_stop "dgfsd still running at the end stops cleanly" || rc=1
	if grep -Eq "$SAN_REPORT" "$T/dgfsd.log" 2>/dev/null; then
		fail "no sanitizer report in any dgfsd's log; it has:"
		grep -E -m3 -A12 "$SAN_REPORT" "$T/dgfsd.log"
		rc=1
	elif [[ -s $T/dgfsd.log ]]; then
		pass "no sanitizer report in any dgfsd's log"
	fi
	# Anything else the test left running in the namespace.
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	mountpoint -q "$T/small" 2>/dev/null && umount "$T/small"
	rm -rf "$T"
	exit "$rc"
}

n() {
	dgfsd_use_key
	ip netns exec "$NS" "$@"
}

dgfsd_start() { dgfsd_start_args --state-dir "$STATE" "$@"; }
dgfsd_start_args() {
	local i
	# Where this dgfsd's part of the log begins (dgfsd_stop reads from there).
	DGFSD_LOG_FROM=$(($(stat -c %s "$T/dgfsd.log") + 1))
	# Not through n(): $! must be dgfsd itself (ip netns exec execs it),
	# not a subshell, or the kills below would miss it.
	ip netns exec "$NS" "$DGFSD" "$@" >>"$T/dgfsd.log" 2>&1 &
	DGFSD_PID=$!
	for ((i = 0; i < 300; i++)); do
		n curl -sf -o /dev/null "$URL/healthz" && dgfsd_use_key && return 0
		kill -0 "$DGFSD_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "dgfsd did not come up; its log:"
	dgfsd_log | tail -n 20
	dgfsd_kill
	return 1
}

# dgfsd_log: the log of the dgfsd started last.
dgfsd_log() { tail -c +"${DGFSD_LOG_FROM:-1}" "$T/dgfsd.log"; }

# dgfsd_stop [NAME]: SIGTERM, then dgfsd must exit 0 within a minute
# with no sanitizer report in its part of the log (a leak, a use after
# free, undefined behaviour): one check, whose verdict it returns.
dgfsd_stop() {
	local name=${1:-dgfsd stopped cleanly} rc i log
	[[ -n $DGFSD_PID ]] || return 0
	kill "$DGFSD_PID" 2>/dev/null
	# ASan's leak scan makes the exit slow: poll, then give up.
	for ((i = 0; i < 600; i++)); do
		kill -0 "$DGFSD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$DGFSD_PID" 2>/dev/null; then
		kill -9 "$DGFSD_PID" 2>/dev/null
		wait "$DGFSD_PID" 2>/dev/null
		DGFSD_PID=
		fail "$name (still running 60 s after SIGTERM)"
		return 1
	fi
	wait "$DGFSD_PID" 2>/dev/null && rc=0 || rc=$?
	DGFSD_PID=
	# The log read first: one that cannot be read is no clean log.
	if ! log=$(dgfsd_log); then
		fail "$name (exit $rc; its log cannot be read)"
	elif [[ $rc == 0 ]] && ! grep -Eq "$SAN_REPORT" <<<"$log"; then
		pass "$name (exit 0, no sanitizer report)"
	else
		fail "$name (exit $rc); its log says:"
		grep -E -m3 -A12 "$SAN_REPORT" <<<"$log"
	fi
}

dgfsd_kill() {
	[[ -n $DGFSD_PID ]] || return 0
	kill -9 "$DGFSD_PID" 2>/dev/null
	wait "$DGFSD_PID" 2>/dev/null
	DGFSD_PID=
}

# The chunk files on disk and the chunks meta.db references, each sorted.
chunks_on_disk() { find "$STATE/chunks" -maxdepth 1 -type f -printf '%f\n' | sort; }
chunks_in_db() {
	sqlite3 "file:$STATE/meta.db?mode=ro" "SELECT lower(hex(id)) FROM chunks" | sort
}

# store_consistent: prints what is wrong, if anything; fails then.
store_consistent() {
	local disk db
	disk=$(chunks_on_disk) db=$(chunks_in_db)
	if grep -q '^\.tmp-' <<<"$disk"; then
		echo "temp files left: $(grep -c '^\.tmp-' <<<"$disk")"
		return 1
	fi
	if [[ $disk != "$db" ]]; then
		echo "orphan chunk files: $(comm -23 <(echo "$disk") <(echo "$db") | grep -c .)," \
			"missing chunk files: $(comm -13 <(echo "$disk") <(echo "$db") | grep -c .)"
		return 1
	fi
}

metric() {
	n curl -sf "$URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

# hdr NAME: a header of the last answer, from the headers curl -D wrote
# to $T/hdrs (the final answer's, after any 100 Continue).
hdr() {
	local line v=
	while IFS= read -r line; do
		line=${line%$'\r'}
		[[ ${line,,} == "${1,,}:"* ]] && v=${line#*:}
	done <"$T/hdrs"
	printf '%s\n' "${v#"${v%%[![:space:]]*}"}"
}
# jget FILE EXPR: Python expression EXPR over j, the JSON in FILE; nothing
# if FILE is not JSON.
jget() {
	python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$1" "$2" 2>/dev/null
}
