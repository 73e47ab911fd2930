#!/usr/bin/env bash
# dgfsd under load: one 8 MiB file downloaded by 200 curl clients at once,
# every copy checked by SHA-256; then 50 distinct 2-4 MiB files uploaded
# at once (all 201), each downloaded and compared; then both together (50
# more uploads while 100 clients download); the store is consistent
# afterwards. The same load runs twice, each time on a fresh store:
# - on dgfsd-asan (ASan, LSan, UBSan): it must stop cleanly with no
#   sanitizer report;
# - on the plain dgfsd, whose RSS is sampled every 0.2 s meanwhile: its
#   peak (VmHWM) must stay under a bound (see RSS_BOUND_MIB below). The
#   bound is about dgfsd itself, not ASan's shadow and quarantine.
#   tests/dgfsd/test_http_load.sh BUILD_DIR      (as root)
# expect-checks: 31 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"
DGFSD_ASAN=$DGFSD DGFSD_PLAIN=$BUILD/dgfsd
[[ -x $DGFSD_PLAIN ]] || { fail "$DGFSD_PLAIN is built (make userspace)"; finish; }

# dgfsd buffers at most one chunk (FastCDC max, 4 MiB) per upload, and
# there are at most --max-uploads (64) of them: 50 uploads at once are
# 200 MiB in the worst case (in practice far less: a buffer's pages are
# touched only as far as its chunk goes). Downloads are sendfile() or a
# 256 KiB read buffer each: 200 at once are at most 50 MiB. On top come
# SQLite's page cache, libmicrohttpd, 1 MiB thread stacks (touched only a
# little) and libmagic's database (~10 MiB): 400 MiB leaves room for all of
# it and still catches a server that holds whole files (8 MiB x 200
# downloads = 1.6 GiB, or 150 MiB of uploads twice over) in memory.
RSS_BOUND_MIB=400
NDL=200 NUP=50

sha() { sha256sum "$1" | cut -c1-64; }
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$DGFSD_PID/status" 2>/dev/null; }

# Uploads in progress, sampled from /metrics every 0.05 s while RUN exists.
uploads_sampler() {
	touch "$T/run"
	n bash -c 'while [[ -e $2 ]]; do
		curl -sf -m 5 "$1/metrics" | awk "\$1 == \"dgfsd_uploads_in_progress\" { print \$2 }"
		sleep 0.05
	done' _ "$URL" "$T/run" >"$T/inprog" &
	INPROG=$!
}
uploads_sampler_stop() {
	rm -f "$T/run"
	wait "$INPROG"
	sort -n "$T/inprog" | tail -n1
}

# The test's data, the same for both rounds.
head -c $((8 << 20)) /dev/urandom >"$T/8m"
want=$(sha "$T/8m")
# make_files FIRST COUNT: random files $T/up.FIRST.. of 2-4 MiB.
declare -A SHAS
make_files() {
	local i
	for ((i = $1; i < $1 + $2; i++)); do
		head -c $(((2 << 20) + RANDOM * 64)) /dev/urandom >"$T/up.$i"
		SHAS[$i]=$(sha "$T/up.$i")
	done
}
make_files 0 $((2 * NUP))

# downloads OUT COUNT: COUNT clients fetch 8m.bin at once, from one shell
# in the namespace; each writes the SHA-256 of what it got and curl's exit
# status (-f: non-2xx is an error) to OUT.i.
downloads() {
	n bash -c 'for ((i = 0; i < $3; i++)); do
		{ curl -sS -m 120 -f "$1" | sha256sum | cut -c1-64; echo "rc=${PIPESTATUS[0]}"; } >"$2.$i" 2>&1 &
	done
	wait' _ "$URL/files/load/8m.bin" "$1" "$2"
}
# downloads_good OUT COUNT: how many got the right bytes.
downloads_good() {
	local i good=0
	for ((i = 0; i < $2; i++)); do
		[[ $(cat "$1.$i") == "$want"$'\n'"rc=0" ]] && good=$((good + 1))
	done
	echo "$good"
	((good == $2)) || head -n3 "$1".* | head -n 20 >&2
}
# upload_batch FIRST COUNT: upload them all at once.
upload_batch() {
	n bash -c 'for ((i = $3; i < $3 + $4; i++)); do
		curl -sS -m 120 -o /dev/null -w "%{http_code}" -T "$2/up.$i" "$1/files/load/up/$i.bin" \
			>"$2/code.$i" 2>&1 &
	done
	wait' _ "$URL" "$T" "$1" "$2"
}
# verify_batch FIRST COUNT NAME: every upload 201, every file reads back.
verify_batch() {
	local i c201=0 ok=0
	for ((i = $1; i < $1 + $2; i++)); do
		[[ $(cat "$T/code.$i") == 201 ]] && c201=$((c201 + 1))
	done
	same "$3: $2 uploads at once, all 201" "$c201" "$2"
	# One shell in the namespace fetches them one after the other.
	n bash -c 'for ((i = $2; i < $2 + $3; i++)); do
		curl -sS -m 60 -f "$1/files/load/up/$i.bin" | sha256sum | cut -c1-64
	done' _ "$URL" "$1" "$2" >"$T/got.sha"
	for ((i = $1; i < $1 + $2; i++)); do
		[[ $(sed -n "$((i - $1 + 1))p" "$T/got.sha") == "${SHAS[$i]}" ]] && ok=$((ok + 1))
	done
	same "$3: each of the $2 files reads back with its SHA-256" "$ok" "$2"
}

# load_round NAME: the whole load on a fresh store, against $DGFSD.
load_round() {
	local r=$1 code t0 peak mixdl
	STATE=$T/state-$r
	rm -rf "$T/dl" && mkdir -p "$T/dl"
	check "$r: dgfsd starts" dgfsd_start || return 1
	same "$r: \$DGFSD_PID is dgfsd itself" "$(cat "/proc/$DGFSD_PID/comm" 2>/dev/null)" \
		"$(basename "$DGFSD" | cut -c1-15)"
	if [[ $r == plain ]]; then
		# RSS samples, every 0.2 s, for as long as dgfsd runs.
		(
			while kill -0 "$DGFSD_PID" 2>/dev/null; do
				status_kb VmRSS
				sleep 0.2
			done
		) >"$T/rss" &
		SAMPLER=$!
	fi

	# ---- 200 downloads of one 8 MiB file at once ------------------------------
	code=$(n curl -sS -m 60 -o /dev/null -w '%{http_code}' -T "$T/8m" "$URL/files/load/8m.bin")
	same "$r: PUT load/8m.bin -> 201" "$code" 201
	t0=$SECONDS
	downloads "$T/dl/dl" "$NDL"
	echo "$r: $NDL downloads took $((SECONDS - t0)) s"
	same "$r: $NDL concurrent downloads, all with the right SHA-256" \
		"$(downloads_good "$T/dl/dl" "$NDL")" "$NDL"

	# ---- 50 uploads of distinct 2-4 MiB files at once --------------------------
	uploads_sampler
	t0=$SECONDS
	upload_batch 0 "$NUP"
	echo "$r: $NUP uploads took $((SECONDS - t0)) s"
	peak=$(uploads_sampler_stop)
	check "$r: the uploads ran concurrently (up to ${peak:-0} in progress at once)" \
		test "${peak:-0}" -ge 2
	verify_batch 0 "$NUP" "$r: batch 1"

	# ---- both at once: 50 more uploads while 100 clients download --------------
	t0=$SECONDS
	downloads "$T/dl/mix" 100 &
	mixdl=$!
	upload_batch "$NUP" "$NUP"
	wait "$mixdl"
	echo "$r: mixed load took $((SECONDS - t0)) s"
	same "$r: 100 downloads during 50 uploads, all with the right SHA-256" \
		"$(downloads_good "$T/dl/mix" 100)" 100
	verify_batch "$NUP" "$NUP" "$r: batch 2"

	# ---- afterwards -------------------------------------------------------------
	same "$r: dgfsd counts $((2 * NUP + 1)) files" "$(metric dgfsd_files)" $((2 * NUP + 1))
	same "$r: no upload left in progress" "$(metric dgfsd_uploads_in_progress)" 0
	if [[ $r == plain ]]; then
		local hwm rss_peak
		hwm=$(status_kb VmHWM)
		kill "$SAMPLER" 2>/dev/null
		wait "$SAMPLER" 2>/dev/null
		rss_peak=$(sort -n "$T/rss" | tail -n1)
		echo "dgfsd memory: VmRSS peak sampled $((${rss_peak:-0} / 1024)) MiB over" \
			"$(wc -l <"$T/rss") samples, VmHWM $((${hwm:-0} / 1024)) MiB (bound $RSS_BOUND_MIB MiB)"
		check "$r: RSS was sampled during the load" test "$(wc -l <"$T/rss")" -ge 5
		check "$r: dgfsd's peak RSS (VmHWM $((${hwm:-0} / 1024)) MiB) < $RSS_BOUND_MIB MiB" \
			test "${hwm:-999999999}" -lt $((RSS_BOUND_MIB << 10))
	fi
	dgfsd_stop "$r: dgfsd stops cleanly after the load"
	check "$r: the store is consistent" store_consistent
}

# The sanitized round first: its reports matter most.
DGFSD=$DGFSD_ASAN
load_round asan
DGFSD=$DGFSD_PLAIN
load_round plain
finish
