#!/usr/bin/env bash
# dgfsd under faults, on the host (no module):
# - SIGKILL at random moments while 50 uploads run, then a restart: every
#   file the server had committed (answered 200/201) downloads intact, no
#   half-written file is visible, and after start-up reconciliation no
#   orphan chunk file or temp file is left in the store;
# - a store on a small tmpfs that fills up: the upload that does not fit
#   gets 507, nothing of it stays, and the files stored before are intact;
#   after deleting something, uploads work again.
#   tests/dgfsd/test_faults.sh BUILD_DIR      (as root)
# expect-checks: 44 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"

# ---- SIGKILL during uploads --------------------------------------------
mkdir -p "$T/src" "$T/out" "$T/codes"
for i in $(seq 1 50); do
	# 0.3 .. 6 MiB: one to a few chunks each; some share content (dedup
	# paths under the kill too): every 5th is a copy of the one before.
	if ((i % 5 == 0)); then
		cp "$T/src/f$((i - 1))" "$T/src/f$i"
	else
		head -c $((300000 + RANDOM * 180)) /dev/urandom >"$T/src/f$i"
	fi
done

# The uploads run 5 at a time, rate-limited so that they take a few
# seconds, in the background; each records the HTTP code it got (000 when
# the server died under it). Meanwhile dgfsd is killed 3 times at random
# moments and restarted at once. The uploader goes over the files again
# until the kills are done (a file says so): on a busy machine one pass can
# end before the third kill, and the kills must land during uploads.
# Each upload's code goes to codes/fI.PASS.
uploader() {
	local i pass=0 pids=()
	while :; do
		pass=$((pass + 1))
		for i in $(seq 1 50); do
			n curl -s -o /dev/null -w '%{http_code}' --limit-rate 6M -T "$T/src/f$i" \
				"$URL/files/kill/f$i" >"$T/codes/f$i.$pass" 2>/dev/null &
			pids+=($!)
			if ((${#pids[@]} == 5)); then wait "${pids[@]}"; pids=(); fi
		done
		wait "${pids[@]}"
		pids=()
		[[ ! -e $T/kills.done ]] || break
	done
}
dgfsd_start || { fail "dgfsd starts"; finish; }
uploader &
up=$!
# Uploads answered 20x so far (one code file each, no newline in it).
whole() { grep -ls '^20' "$T/codes"/* | wc -l; }
more_whole() { (($(whole) >= $1)); }
kills=0 went_on=0
for k in 1 2 3; do
	# Each kill comes once two more uploads went through since the last
	# start (the server works again), at a random moment after that.
	base=$(whole)
	wait_for 60 more_whole $((base + 2)) && went_on=$((went_on + 1))
	sleep "0.$((RANDOM % 10))"
	kill -0 "$up" 2>/dev/null || break
	dgfsd_kill
	kills=$((kills + 1))
	dgfsd_start || { fail "dgfsd restarts after SIGKILL $kills"; touch "$T/kills.done"; finish; }
done
touch "$T/kills.done"
wait "$up"
same "dgfsd was killed 3 times during the uploads" "$kills" 3

# Restart once more (reconciliation runs at start), then check everything.
dgfsd_kill
dgfsd_start || { fail "dgfsd restarts"; finish; }
committed=0 bad=0 visible_uncommitted=0
for i in $(seq 1 50); do
	got=$(n curl -s -o "$T/out/f$i" -w '%{http_code}' "$URL/files/kill/f$i")
	# Every pass uploads the same bytes: one answered 20x is enough.
	if grep -qs '^20' "$T/codes/f$i".*; then
		committed=$((committed + 1))
		if [[ $got != 200 ]] || ! cmp -s "$T/src/f$i" "$T/out/f$i"; then
			bad=$((bad + 1))
			echo "committed file f$i: GET $got, content $(cmp "$T/src/f$i" "$T/out/f$i" 2>&1)"
		fi
	elif [[ $got == 200 ]] && ! cmp -s "$T/src/f$i" "$T/out/f$i"; then
		# An upload killed after its commit may be visible (it is whole)
		# but never a partial one.
		visible_uncommitted=$((visible_uncommitted + 1))
	fi
done
# The answers that came before the last kill was done (one file each, no
# newline in it): cut off (000, the server died under them) and whole (20x).
during() { find "$T/codes" -type f ! -newer "$T/kills.done" -exec grep -l "$1" {} + | wc -l; }
cut=$(during '^000')
echo "answers before the kills were done: $(during '^20') 20x, $cut cut off; $committed of 50 files committed"
check "the kills cut some uploads off" test "$cut" -ge 1
same "uploads went on before each kill (2 more answered 20x)" "$went_on" 3
same "every committed file downloads intact after SIGKILLs" "$bad" 0
same "no partial file is visible" "$visible_uncommitted" 0
check "after restart: no orphan chunk or temp file, no missing chunk" store_consistent
check "reconciliation reported what it removed" grep -q "reconcile: removed" "$T/dgfsd.log"

# A crash leftover by hand: a temp file and an unreferenced chunk file.
dgfsd_stop
head -c 1000 /dev/urandom >"$STATE/chunks/.tmp-99999-1"
orphan=$(head -c 4096 /dev/urandom | tee "$T/orphan" | sha256sum | cut -d' ' -f1)
cp "$T/orphan" "$STATE/chunks/$orphan"
dgfsd_start || { fail "dgfsd restarts"; finish; }
check "start-up removes a stray temp file" test ! -e "$STATE/chunks/.tmp-99999-1"
check "start-up removes an unreferenced chunk file" test ! -e "$STATE/chunks/$orphan"
check "store consistent after collecting them" store_consistent

# ---- downloads while the file is overwritten and deleted ----------------
# A slow download of a multi-chunk file keeps its chunks (read pins) while
# the file is overwritten and then deleted under it: it completes with the
# version it started with, and afterwards nothing of that version is left
# (the chunk reaper removes each once the download lets go of it). 40 MiB
# at 8 MB/s: far more than the socket buffers hold (about 10 MB on
# loopback), so dgfsd is still streaming it when the delete comes.
head -c $((40 << 20)) /dev/urandom >"$T/v1"
head -c $((1 << 20)) /dev/urandom >"$T/v2"	# small: the overwrite is quick
same "PUT race (40 MiB)" "$(n curl -s -o /dev/null -w '%{http_code}' -T "$T/v1" "$URL/files/race")" 201
rm -f "$T/race.out"
n curl -s -o "$T/race.out" --limit-rate 8M "$URL/files/race" &
dl=$!
# Under way once its first bytes are here (curl makes the file then).
check "the download is under way" wait_for 10 test -s "$T/race.out"
same "overwrite during a download" "$(n curl -s -o /dev/null -w '%{http_code}' -T "$T/v2" \
	"$URL/files/race")" 200
same "delete during the download" "$(n curl -s -o /dev/null -w '%{http_code}' -X DELETE \
	"$URL/files/race")" 204
# (Not kill -0: a finished download stays a zombie until waited for.)
got=$(stat -c %s "$T/race.out")
check "... the download was still under way then ($got of $((40 << 20)) bytes)" \
	test "$got" -lt $((30 << 20))
consistent_quietly() { store_consistent >/dev/null; }
check "... and the chunks it has yet to send are kept for it (files no file references)" \
	eval '! consistent_quietly'
check "the download completes" wait "$dl"
check "... with the version it started with" cmp -s "$T/v1" "$T/race.out"
check "after it, no chunk of either version is left behind (the reaper)" \
	wait_for 20 consistent_quietly || store_consistent

# ---- chunks uploaded and never committed --------------------------------
# PUT /chunks without the commit (a client that died between the two): the
# collector removes them once --orphan-ttl old; committed chunks stay.
dgfsd_stop
dgfsd_start --orphan-ttl 2 || { fail "dgfsd starts with --orphan-ttl 2"; finish; }
head -c 300000 /dev/urandom >"$T/lone"
head -c 300000 /dev/urandom >"$T/kept"
lone=$(sha256sum "$T/lone" | cut -c1-64) kept=$(sha256sum "$T/kept" | cut -c1-64)
same "PUT /chunks of a chunk nobody commits" "$(n curl -s -o /dev/null -w '%{http_code}' \
	-T "$T/lone" "$URL/chunks/$lone")" 201
same "PUT /chunks of a chunk that gets committed" "$(n curl -s -o /dev/null -w '%{http_code}' \
	-T "$T/kept" "$URL/chunks/$kept")" 201
same "commit a file of the second" "$(n curl -s -o /dev/null -w '%{http_code}' -X POST \
	-d "{\"chunks\":[\"$kept\"]}" "$URL/files/kept?commit")" 201
check "the uncommitted chunk is gone after its TTL" wait_for 30 test ! -e "$STATE/chunks/$lone"
# The collector has run over both by now.
check "the committed one stays" test -e "$STATE/chunks/$kept"
collected() { dgfsd_log | grep -q "removed 1 uncommitted chunk"; }
check "dgfsd logged the collection" wait_for 10 collected
same "a late commit of the collected chunk gets 409" "$(n curl -s -o /dev/null -w '%{http_code}' \
	-X POST -d "{\"chunks\":[\"$lone\"]}" "$URL/files/late?commit")" 409
check "store consistent after collecting" store_consistent

# ---- a store that fills up ---------------------------------------------
dgfsd_stop
mkdir -p "$T/small"
mount -t tmpfs -o size=24m tmpfs "$T/small"
STATE=$T/small/state
dgfsd_start || { fail "dgfsd starts on a 24 MiB tmpfs"; finish; }
head -c 8M /dev/urandom >"$T/fit1"
head -c 8M /dev/urandom >"$T/fit2"
head -c 12M /dev/urandom >"$T/big"
same "first 8 MiB file fits" "$(n curl -s -o /dev/null -w '%{http_code}' -T "$T/fit1" \
	"$URL/files/fit1")" 201
same "second 8 MiB file fits" "$(n curl -s -o /dev/null -w '%{http_code}' -T "$T/fit2" \
	"$URL/files/fit2")" 201
before=$(chunks_on_disk)
same "a 12 MiB upload into the full store gets 507" \
	"$(n curl -s -o "$T/507.json" -w '%{http_code}' -T "$T/big" "$URL/files/big")" 507
check "the 507 says the store is full" grep -q "full" "$T/507.json"
same "the failed upload is not visible" \
	"$(n curl -s -o /dev/null -w '%{http_code}' "$URL/files/big")" 404
same "the failed upload left no chunk file" "$(chunks_on_disk)" "$before"
n curl -s -o "$T/fit1.out" "$URL/files/fit1"
n curl -s -o "$T/fit2.out" "$URL/files/fit2"
check "files stored before the 507 are intact (1)" cmp -s "$T/fit1" "$T/fit1.out"
check "files stored before the 507 are intact (2)" cmp -s "$T/fit2" "$T/fit2.out"
same "after a delete there is room again" "$(n curl -s -o /dev/null -w '%{http_code}' \
	-X DELETE "$URL/files/fit1")" 204
same "... and the 12 MiB upload fits now" "$(n curl -s -o /dev/null -w '%{http_code}' \
	-T "$T/big" "$URL/files/big")" 201
n curl -s -o "$T/big.out" "$URL/files/big"
check "... and reads back intact" cmp -s "$T/big" "$T/big.out"
dgfsd_stop
check "full-store episode leaves the store consistent" store_consistent
finish
