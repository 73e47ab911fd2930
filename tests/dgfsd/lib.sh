# shellcheck shell=bash
# Helpers for dgfsd's host tests (tests/dgfsd/test_*.sh). Each test runs
# dgfsd and its clients in a network namespace of its own with only the
# loopback up, so its ports never meet another test's and no packet can
# leave. Source after tests/lib.sh; call dgfsd_setup first.
#
#   dgfsd_setup BUILD          namespace, temp dir ($T), binaries
#   n CMD...                   run CMD in the namespace, with $STATE's admin key
#   dgfsd_start [ARGS...]      start dgfsd on $STATE (HTTP $URL), wait for /healthz
#   dgfsd_stop / dgfsd_kill    SIGTERM and wait / SIGKILL and wait
#   store_consistent           no temp file, every chunk file referenced by
#                              meta.db and every referenced chunk present
#   metric NAME                a value from /metrics

DGFSD_PID=
dgfsd_setup() {
	BUILD=$1
	# The sanitizer build: dgfsd_stop fails the test on any report or leak.
	DGFSD=${DGFSD:-$BUILD/dgfsd-asan}
	DGFS=$BUILD/dgfs
	[[ -x $DGFSD ]] || { fail "$DGFSD is built (make userspace)"; finish; }
	# A leak report needs a clean exit, which SIGTERM gives; UBSan's
	# findings count too. Reports go to the log the checks read.
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=66}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=0}
	NS=dgfsd-test-$$
	T=$(mktemp -d "${DGFSD_TEST_TMP:-/tmp}/dgfsd-test.XXXXXX")
	STATE=$T/state
	URL=http://127.0.0.1:8080
	ip netns add "$NS" || { fail "create namespace $NS"; finish; }
	ip -n "$NS" link set lo up
	trap dgfsd_cleanup EXIT
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
	[[ -n $DGFSD_PID ]] && kill -9 "$DGFSD_PID" 2>/dev/null && wait "$DGFSD_PID" 2>/dev/null
	# Anything else the test left running in the namespace.
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	mountpoint -q "$T/small" 2>/dev/null && umount "$T/small"
	rm -rf "$T"
}

n() {
	dgfsd_use_key
	ip netns exec "$NS" "$@"
}

dgfsd_start() {
	local i
	# Not through n(): $! must be dgfsd itself (ip netns exec execs it),
	# not a subshell, or the kills below would miss it.
	ip netns exec "$NS" "$DGFSD" --state-dir "$STATE" "$@" >>"$T/dgfsd.log" 2>&1 &
	DGFSD_PID=$!
	for ((i = 0; i < 100; i++)); do
		n curl -sf -o /dev/null "$URL/healthz" && dgfsd_use_key && return 0
		kill -0 "$DGFSD_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "dgfsd did not come up; its log:"
	tail -n 20 "$T/dgfsd.log"
	DGFSD_PID=
	return 1
}

# dgfsd_stop: SIGTERM, then dgfsd must exit 0 with no sanitizer report in
# its log (a leak, a use after free, undefined behaviour): one check.
dgfsd_stop() {
	local rc
	[[ -n $DGFSD_PID ]] || return 0
	kill "$DGFSD_PID" 2>/dev/null
	wait "$DGFSD_PID" 2>/dev/null && rc=0 || rc=$?
	DGFSD_PID=
	if [[ $rc == 0 ]] && ! grep -Eq 'Sanitizer|runtime error:' "$T/dgfsd.log"; then
		pass "dgfsd stopped cleanly (exit 0, no sanitizer report)"
	else
		fail "dgfsd stopped cleanly (exit $rc); its log says:"
		grep -E -A12 'Sanitizer|runtime error:' "$T/dgfsd.log" | head -n 40
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
