# shellcheck shell=bash
# Several dgfsds of one cluster in the test's namespace, for the cluster
# tests (sourced after tests/dgfsd/lib.sh and pg.sh). The first host is
# dgfsd_start's (its $STATE, key and leak check); the others are tracked
# in PID (name -> pid) and stopped by the EXIT trap set here, which keeps
# the test's status for dgfsd_cleanup (which exits with it).
declare -A PID

# cluster_host NAME PORT STATE_DIR ARGS...: a dgfsd on HTTP port PORT (UDP
# port 9100 + PORT - 8080), up when its /healthz answers.
cluster_host() {
	local h=$1 port=$2 dir=$3 i
	shift 3
	ip netns exec "$NS" "$DGFSD" --state-dir "$dir" --http-port "$port" \
		--udp-port $((9100 + port - 8080)) "$@" >>"$T/dgfsd.log" 2>&1 &
	PID[$h]=$!
	for ((i = 0; i < 300; i++)); do
		n curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && return 0
		kill -0 "${PID[$h]}" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# others_stop: every tracked dgfsd (a stopped one woken first); 1 if one
# of them did not exit 0.
others_stop() {
	local h rc=0
	for h in "${!PID[@]}"; do
		[[ -n ${PID[$h]-} ]] || continue
		kill -CONT "${PID[$h]}" 2>/dev/null
		kill "${PID[$h]}" 2>/dev/null
		wait "${PID[$h]}" 2>/dev/null || rc=1
		PID[$h]=
	done
	return "$rc"
}

cluster_cleanup() {
	local rc=$?
	others_stop || rc=1
	pg_stop
	return "$rc"
}
trap 'cluster_cleanup; dgfsd_cleanup' EXIT
