#!/usr/bin/env bash
# TLS between the hosts of a cluster (docs/CLUSTER.md, "TLS between
# hosts"): three dgfsds with --tls-cert and --cluster-ca (a CA of the
# test's own) on one PostgreSQL database, R=3 W=1. Files uploaded through
# each host get their 3 copies over HTTPS, and no cluster signature or
# internal path crosses the loopback in the clear (an AF_PACKET capture,
# which does see a plain internal request sent on purpose). A host whose
# certificate another CA signed, one whose certificate names another
# address, and one that serves plain HTTP all join and are owners by
# placement, yet get no copy: the others refuse to call them, and say so.
# Bad options are refused at start.
#   tests/dgfsd/test_cluster_tls.sh BUILD_DIR      (as root)
# expect-checks: 36
set -u
cd "$(dirname "$0")/../.."
SCHEME=https
. tests/dgfsd/cluster.sh
dgfsd_setup "${1:-build}"
command -v openssl >/dev/null || { fail "openssl is installed (make deps)"; finish; }

. tests/dgfsd/pki.sh
check "openssl: the cluster's CA, and another" eval 'pki_ca ca && pki_ca rogue'
check "openssl: certificates for 127.0.0.1 (h1..h3), from the other CA (h4), for 198.18.0.9 (h5)" \
	eval 'pki_cert h1 IP:127.0.0.1 && pki_cert h2 IP:127.0.0.1 && pki_cert h3 IP:127.0.0.1 &&
	pki_cert h4 IP:127.0.0.1 rogue && pki_cert h5 IP:198.18.0.9'
[[ -s $P/h5.pem ]] || { cat "$P/openssl.log"; finish; }
# Every curl here (lib.sh's too) trusts the cluster's CA.
export CURL_CA_BUNDLE=$P/ca.pem

NFILES=${NFILES:-24}
HB=1 DOWN=3
URL=https://127.0.0.1:8080

check "a PostgreSQL server of the test's own starts" pg_start || finish
cluster_dirs 6 --replicas 3 --write-quorum 1
tls() { echo --tls-cert "$P/$1.pem" --tls-key "$P/$1.key" --cluster-ca "$P/${2:-ca}.pem"; }

# ---- bad options: refused, nothing made ------------------------------------------------------
refuse "--cluster-ca without --tls-cert is refused" 2 'needs --cluster-secret-file and --tls-cert' \
	timeout 30 ip netns exec "$NS" "$DGFSD" --state-dir "$T/x" "${COMMON[@]}" --cluster-ca "$P/ca.pem"
refuse "--cluster-ca of a key, not a certificate, is refused" 1 'holds no PEM certificate' \
	timeout 30 ip netns exec "$NS" "$DGFSD" --state-dir "$T/x" "${COMMON[@]}" \
	--tls-cert "$P/h1.pem" --tls-key "$P/h1.key" --cluster-ca "$P/ca.key"
check "... and neither made a state dir" test ! -e "$T/x"

# ---- three hosts, HTTPS between them ---------------------------------------------------------
# shellcheck disable=SC2046
check "h1 starts (HTTPS, --cluster-ca)" dgfsd_start "${COMMON[@]}" --host-id h1 $(tls h1) || finish
for i in 2 3; do
	# shellcheck disable=SC2046
	check "h$i starts" start_other h$i "${PORT[h$i]}" "${SDIR[h$i]}" --host-id h$i $(tls h$i) || finish
done
three_up() { [[ $(ups 8082) == "h1:1 h2:1 h3:1" ]]; }
check "every host sees three hosts up" wait_for 30 three_up
same "/cluster/hosts says each serves HTTPS" \
	"$(jget "$T/hosts.json" '" ".join("%s:%s" % (h["id"], h["tls"]) for h in j["hosts"])')" \
	"h1:True h2:True h3:True"
same "the hosts table says so" "$(pg_sql "SELECT string_agg(id || ':' || tls, ' ' ORDER BY id) FROM hosts")" \
	"h1:true h2:true h3:true"
sleep 3	# every member list refreshed

# What crosses the loopback while the uploads replicate.
ip netns exec "$NS" python3 tests/dgfsd/sniff.py "DGFS-Cluster" "DGFS-Cluster control" >"$T/sniff.out" 2>&1 &
SNIFF=$!
wait_for 10 grep -q ready "$T/sniff.out"
mkdir -p "$T/files"
for ((i = 0; i < NFILES; i++)); do
	head -c $((600000 + (i * 7919) % 900000)) /dev/urandom >"$T/files/f$i"
done
ok=0
for ((i = 0; i < NFILES; i++)); do
	code=$(n curl -s -o /dev/null -w '%{http_code}' -T "$T/files/f$i" \
		"https://127.0.0.1:$((8080 + i % 3))/files/r/f$i")
	[[ $code == 201 ]] && ok=$((ok + 1))
done
same "all $NFILES uploads through h1..h3 answer 201" "$ok" "$NFILES"
CHUNKS=$(pg_sql "SELECT count(*) FROM chunks")
same "every chunk has its 3 copies, on disk, sent over HTTPS" \
	"$(on_disk h1 h2 h3 | wc -l)" "$((3 * CHUNKS))"
for i in 1 2 3; do
	same "every file reads back byte-exact from h$i" "$(read_all $((8079 + i)))" 0
done
# The control: a plain internal request the capture must see.
ip netns exec "$NS" curl -s -o /dev/null -H "Authorization: DGFS-Cluster control" \
	"http://127.0.0.1:8080/internal/chunks/control" || true
sleep 0.5
kill -TERM "$SNIFF" && wait "$SNIFF"
count() { awk -v p="$1" '{ n = $NF; $NF = ""; sub(/ $/, "") } $0 == p { print n }' "$T/sniff.out"; }
check "the capture saw the plain control request ($(count "DGFS-Cluster control") frames)" \
	test "$(count "DGFS-Cluster control")" -ge 1
same "... and no other signature: none crossed in the clear" \
	"$(count "DGFS-Cluster")" "$(count "DGFS-Cluster control")"
check "... out of many frames ($(count frames))" test "$(count frames)" -gt 100

# ---- hosts the others must not trust ------------------------------------------------------------
# h4: a certificate another CA signed; h5: one for another address; h6:
# plain HTTP. Each is an owner of chunks by placement.
# shellcheck disable=SC2046
check "h4 starts (its certificate from another CA)" start_other h4 "${PORT[h4]}" "${SDIR[h4]}" --host-id h4 $(tls h4 rogue)
# shellcheck disable=SC2046
check "h5 starts (its certificate names 198.18.0.9)" start_other h5 "${PORT[h5]}" "${SDIR[h5]}" --host-id h5 $(tls h5)
SCHEME=http check "h6 starts (plain HTTP)" start_other h6 "${PORT[h6]}" "${SDIR[h6]}" --host-id h6
six_up() { [[ $(ups 8080) == "h1:1 h2:1 h3:1 h4:1 h5:1 h6:1" ]]; }
check "h1 sees six hosts up" wait_for 30 six_up
sleep 3	# every member list refreshed
: >"$T/log.mark" && MARK=$(stat -c %s "$T/dgfsd.log")
mkdir -p "$T/files2"
for ((i = 0; i < NFILES; i++)); do
	head -c $((600000 + (i * 7919) % 900000)) /dev/urandom >"$T/files2/f$i"
done
codes=()
for ((i = 0; i < NFILES; i++)); do
	codes+=("$(n curl -s -o /dev/null -w '%{http_code}' -T "$T/files2/f$i" \
		"https://127.0.0.1:$((8080 + i % 3))/files/s/f$i")")
done
ok=$(printf '%s\n' "${codes[@]}" | grep -c '^201$')
# A chunk whose 3 owners are all untrusted (1 in 20) gets no copy at all: 503.
same "$NFILES more uploads through h1..h3 answer 201, or 503 (no copy could be made)" \
	"$(printf '%s\n' "${codes[@]}" | grep -cv '^\(201\|503\)$')" 0
check "... most of them 201 ($ok)" test "$ok" -ge $((NFILES / 2))
for h in h4 h5 h6; do
	same "$h holds no chunk" "$(find "${SDIR[$h]}/chunks" -maxdepth 1 -type f -name '[0-9a-f]*' | wc -l)" 0
done
check "... though chunks got fewer than 3 copies for them (placement chose them)" \
	test "$(pg_sql "SELECT count(*) FROM chunks c WHERE (SELECT count(*) FROM chunk_copies k WHERE k.chunk_id = c.id) < 3")" -gt 0
since() { tail -c +$((MARK + 1)) "$T/dgfsd.log"; }
shows "the hosts say h4's certificate failed" 'host h4: TLS failed, not called: .*certif' since
shows "... and h5's does not name its address" "host h5: TLS failed, not called: .*(name|subject|127\.0\.0\.1)" since
shows "... and that h6 serves plain HTTP, so it is not called" \
	'host h6 serves plain HTTP: not called, since --cluster-ca wants TLS' since
same "h1..h3 still hold 3 copies of every chunk of the first files" \
	"$(pg_sql "SELECT count(*) FROM file_chunks fc JOIN files f ON f.id = fc.file_id WHERE convert_from(f.path, 'UTF8') LIKE 'r/%' AND (SELECT count(*) FROM chunk_copies k WHERE k.chunk_id = fc.chunk_id AND k.host_id IN ('h1', 'h2', 'h3')) <> 3")" 0

check "h2..h6 stop cleanly" others_stop
dgfsd_stop
finish
