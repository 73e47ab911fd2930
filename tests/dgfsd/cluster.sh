# shellcheck shell=bash
# Several dgfsds of one cluster in the test's namespace, for the cluster
# tests. It sources what it builds on (tests/lib.sh, tests/dgfsd/lib.sh,
# pg.sh), so a test sources this file alone, before dgfsd_setup. The first
# host is dgfsd_start's (its $STATE, key and leak check); the others are
# tracked in PID (name -> pid) and stopped by the EXIT trap set here, which
# keeps the test's status for dgfsd_cleanup (which exits with it).
. "${BASH_SOURCE[0]%/*}/../lib.sh"
. "${BASH_SOURCE[0]%/*}/lib.sh"
. "${BASH_SOURCE[0]%/*}/pg.sh"

declare -A PID

# The hosts' scheme: https for hosts with --tls-cert (curl then trusts the
# test's CA through CURL_CA_BUNDLE).
SCHEME=${SCHEME:-http}

# cluster_host NAME PORT STATE_DIR ARGS...: a dgfsd on HTTP port PORT (UDP
# port 9100 + PORT - 8080), up when its /healthz answers (over TLS whoever
# signed its certificate: that it is trusted is for the tests to check).
cluster_host() {
	local h=$1 port=$2 dir=$3 i
	shift 3
	ip netns exec "$NS" "$DGFSD" --state-dir "$dir" --http-port "$port" \
		--udp-port $((9100 + port - 8080)) "$@" >>"$T/dgfsd.log" 2>&1 &
	PID[$h]=$!
	for ((i = 0; i < 300; i++)); do
		n curl -sk -o /dev/null "$SCHEME://127.0.0.1:$port/healthz" && return 0
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

# cluster_secret FILE: a new random cluster secret in FILE, mode 600.
cluster_secret() {
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$1" && chmod 600 "$1"
}

# cluster_common ARGS...: COMMON, the options every host of the test
# gets: the test's PostgreSQL (pg_start first), no module, 127.0.0.1, the
# test's $HB and $DOWN, no automatic tagging (test_cluster_tags.sh tests
# it: ARGS may turn it on again, --tag-workers N), then ARGS.
cluster_common() {
	COMMON=(--metadata "$PG_URI" --kmod off --public-host 127.0.0.1 --heartbeat "$HB"
		--down-after "$DOWN" --tag-workers 0 "$@")
}

# cluster_dirs N ARGS...: hosts h1..hN of a replicating cluster. PORT[hI]
# is 8079 + I, SDIR[hI] its state dir ($STATE for h1, dgfsd_start's),
# $SECRET a new cluster secret, and COMMON (cluster_common) ends with
# --cluster-secret-file $SECRET and ARGS.
declare -A PORT SDIR
cluster_dirs() {
	local i n=$1
	shift
	for ((i = 1; i <= n; i++)); do
		PORT[h$i]=$((8079 + i))
		SDIR[h$i]=$T/state-h$i
	done
	SDIR[h1]=$STATE
	SECRET=$T/cluster.secret
	cluster_secret "$SECRET"
	cluster_common --cluster-secret-file "$SECRET" "$@"
}

# start_other NAME PORT STATE ARGS...: cluster_host with the test's
# options for every host (its array COMMON) first.
start_other() {
	local h=$1 port=$2 dir=$3
	shift 3
	cluster_host "$h" "$port" "$dir" "${COMMON[@]}" "$@"
}

# ups [PORT]: "ID:UP ..." of every host, as the host on PORT (8080) lists them.
ups() {
	n curl -sf "$SCHEME://127.0.0.1:${1:-8080}/cluster/hosts" >"$T/hosts.json" &&
		jget "$T/hosts.json" '" ".join("%s:%d" % (h["id"], h["up"]) for h in j["hosts"])'
}

# make_files: NFILES random files $T/files/f0 .. of 1.6 to 2.2 MB (FastCDC
# cuts after 256 KiB, 1 MiB on average: many have two chunks or more).
make_files() {
	local i
	mkdir -p "$T/files"
	for ((i = 0; i < NFILES; i++)); do
		head -c $((1600000 + (i * 7919) % 600000)) /dev/urandom >"$T/files/f$i"
	done
}

# upload_all NHOSTS: PUT /files/r/fN of each $T/files/fN through host
# h$((N % NHOSTS + 1)); prints how many answered 201.
upload_all() {
	local i ok=0 code
	for ((i = 0; i < NFILES; i++)); do
		code=$(n curl -s -o /dev/null -w '%{http_code}' -T "$T/files/f$i" \
			"$SCHEME://127.0.0.1:$((8080 + i % $1))/files/r/f$i")
		[[ $code == 201 ]] && ok=$((ok + 1))
	done
	echo "$ok"
}

# read_all PORT: files $T/files/f0 .. f$((NFILES - 1)), uploaded as
# /files/r/fN, read from the host on PORT and compared; prints how many
# differ or failed.
read_all() {
	local port=$1 i args=() bad=0
	rm -rf "$T/got" && mkdir -p "$T/got"
	for ((i = 0; i < NFILES; i++)); do
		args+=("$SCHEME://127.0.0.1:$port/files/r/f$i" -o "$T/got/f$i")
	done
	n curl -s --max-time 300 "${args[@]}" >/dev/null 2>&1
	for ((i = 0; i < NFILES; i++)); do
		cmp -s "$T/files/f$i" "$T/got/f$i" || bad=$((bad + 1))
	done
	echo "$bad"
}

# on_disk HOSTS...: "CHUNK HOST" for every chunk file in the hosts' state
# dirs (the test's array SDIR), sorted.
on_disk() {
	local h
	for h in "$@"; do
		find "${SDIR[$h]}/chunks" -maxdepth 1 -type f -name '[0-9a-f]*' -printf "%f $h\n"
	done | sort
}

cluster_cleanup() {
	local rc=$?
	others_stop || rc=1
	pg_stop
	return "$rc"
}
# The tests source this before dgfsd_setup, whose own trap would
# replace this one (and leave hosts and PostgreSQL running): it sets
# DGFSD_EXIT_TRAP instead.
DGFSD_EXIT_TRAP='cluster_cleanup; dgfsd_cleanup'
trap "$DGFSD_EXIT_TRAP" EXIT

# files_ok HOSTS...: how many chunk files on those hosts do not hold the
# bytes of their name (0: every one does).
files_ok() {
	local h f bad=0
	for h in "$@"; do
		for f in "${SDIR[$h]}"/chunks/[0-9a-f]*; do
			[[ -e $f ]] || continue
			[[ $(sha256sum <"$f" | cut -d' ' -f1) == "${f##*/}" ]] || bad=$((bad + 1))
		done
	done
	echo "$bad"
}
