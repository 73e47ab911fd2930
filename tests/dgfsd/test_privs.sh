#!/usr/bin/env bash
# dgfsd's privileges (docs/DGFSD.md, "Privileges"): the state directory and
# chunks/ are 0700 and every file in them 0600 (made so, and fixed at start
# when an older dgfsd left them open); --user NAME gives the state to NAME
# and runs as NAME with no capability left (none is needed without dgfs.ko)
# but CAP_NET_BIND_SERVICE for a port below 1024, no_new_privs, and still
# serves uploads, downloads and HTTPS with a key only root can read; bad
# --user values are refused; the shipped systemd unit passes
# `systemd-analyze verify` with nothing to say, and a broken copy does not.
#   tests/dgfsd/test_privs.sh BUILD_DIR      (as root)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"
# nobody must reach $STATE under the test's 0700 temp dir.
chmod 711 "$T"

mode() { stat -c %a "$1"; }
# modes_private: every directory 700 and file 600 in $STATE and chunks/, or what is not.
modes_private() {
	local bad
	bad=$(find "$STATE" -maxdepth 2 \( -type d ! -perm 700 -o -type f ! -perm 600 \) \
		-printf '%p %m\n') || return 1
	[[ -z $bad ]] || { echo "$bad"; return 1; }
}
# status FIELD: a line of dgfsd's /proc/PID/status, its value.
status() { awk -v f="$1:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$DGFSD_PID/status"; }

# ---- modes -----------------------------------------------------------------------------------
check "dgfsd starts (as root)" dgfsd_start || finish
head -c 3000000 /dev/urandom >"$T/f"
same "PUT a file" "$(n curl -sS -o /dev/null -w '%{http_code}' -T "$T/f" "$URL/files/f")" 201
same "the state directory is 0700" "$(mode "$STATE")" 700
same "chunks/ is 0700" "$(mode "$STATE/chunks")" 700
nchunks=$(find "$STATE/chunks" -type f | wc -l)
check "there are chunk files ($nchunks)" test "$nchunks" -ge 2
check "every chunk file, meta.db and its WAL, every key: 0600" modes_private
dgfsd_stop
# As an older dgfsd left them: open to all.
chmod 755 "$STATE" "$STATE/chunks"
chmod 644 "$STATE/meta.db" "$(find "$STATE/chunks" -type f | head -1)"
check "dgfsd starts on a state directory others may read" dgfsd_start
check "... and made it private again" modes_private
check "... saying so" grep -q "made 4 files in $STATE private to its user" "$T/dgfsd.log"
dgfsd_stop

# ---- --user ---------------------------------------------------------------------------------
refuse "--user nosuchuser is refused" 1 "--user nosuchuser: no such user" \
	n timeout 30 "$DGFSD" --state-dir "$STATE" --user nosuchuser
refuse "--user root is refused" 1 "is root: name an unprivileged user" \
	n timeout 30 "$DGFSD" --state-dir "$STATE" --user root
refuse "--user when not started as root is refused" 1 "needs dgfsd started as root" \
	n timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups "$DGFSD" \
	--state-dir "$T/x" --user nobody

# A certificate and key only root can read: read before the user change.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" \
	-out "$T/cert.pem" 2>"$T/openssl.log" || { cat "$T/openssl.log"; fail "openssl"; }
chmod 600 "$T/key.pem"
URL=https://127.0.0.1:8080
export CURL_CA_BUNDLE=$T/cert.pem
check "dgfsd starts with --user nobody and a root-only TLS key" \
	dgfsd_start --user nobody --tls-cert "$T/cert.pem" --tls-key "$T/key.pem" || finish
same "it runs as nobody (real, effective, saved, fs uid)" "$(status Uid)" \
	"65534 65534 65534 65534"
same "... in group nogroup only" "$(status Gid)/$(status Groups)" "65534 65534 65534 65534/"
same "no effective capability" "$(status CapEff)" 0000000000000000
same "no permitted capability" "$(status CapPrm)" 0000000000000000
same "an empty bounding set" "$(status CapBnd)" 0000000000000000
same "no_new_privs" "$(status NoNewPrivs)" 1
same "the state is nobody's" "$(find "$STATE" ! -user nobody | wc -l)" 0
check "the log says so" grep -q "running as nobody (uid 65534), keeping no capability" \
	"$T/dgfsd.log"
head -c 2000000 /dev/urandom >"$T/g"
same "as nobody: PUT a file over HTTPS" \
	"$(n curl -sS -o /dev/null -w '%{http_code}' -T "$T/g" "$URL/files/g")" 201
check "... dgfs get it (fast path)" n "$DGFS" -q --server "$URL" --cacert "$T/cert.pem" \
	get g "$T/got"
check "... the same bytes" cmp -s "$T/g" "$T/got"
check "... its new chunks are nobody's, 0600" modes_private
same "... every file still nobody's" "$(find "$STATE" ! -user nobody | wc -l)" 0
dgfsd_stop
unset CURL_CA_BUNDLE

URL=http://127.0.0.1:80
check "dgfsd --user nobody --http-port 80" dgfsd_start --user nobody --http-port 80 || finish
same "keeps CAP_NET_BIND_SERVICE alone (bit 10)" "$(status CapEff)/$(status CapBnd)" \
	"0000000000000400/0000000000000400"
same "GET on port 80" "$(n curl -sS -o /dev/null -w '%{http_code}' "$URL/files/f")" 200
dgfsd_stop
URL=http://127.0.0.1:8080

# As systemd's AmbientCapabilities= starts it: nobody with CAP_NET_ADMIN
# (and here CAP_BPF too, as an older unit gave); without dgfs.ko dgfsd
# needs neither and drops both.
REAL_DGFSD=$DGFSD
printf '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+net_admin,+bpf --ambient-caps=+net_admin,+bpf "%s" "$@"\n' \
	"$PWD/$REAL_DGFSD" >"$T/ambient.sh"
chmod 755 "$T/ambient.sh"
DGFSD=$T/ambient.sh
check "dgfsd started as nobody with ambient CAP_NET_ADMIN and CAP_BPF" dgfsd_start
same "... runs as nobody" "$(status Uid)" "65534 65534 65534 65534"
same "... dropped both (no dgfs.ko): effective, permitted, ambient" \
	"$(status CapEff)/$(status CapPrm)/$(status CapAmb)" \
	"0000000000000000/0000000000000000/0000000000000000"
check "... saying so" grep -q "dropped the capabilities it does not need (kept 0x0)" "$T/dgfsd.log"
same "... and serves" "$(n curl -sS -o /dev/null -w '%{http_code}' "$URL/files/f")" 200
dgfsd_stop
DGFSD=$REAL_DGFSD

# ---- the systemd unit -------------------------------------------------------------------------
UNIT=userspace/dgfsd/dgfsd.service
# verify_unit FILE: systemd-analyze verify's exit status and every word it
# said (it warns and exits 0 on unknown or bad settings: silence is the pass).
verify_unit() {
	mkdir -p "$T/unit"
	# The binary it names must exist: the built one stands in for it.
	sed "s|^ExecStart=/usr/local/sbin/dgfsd|ExecStart=$PWD/$DGFSD|" "$1" >"$T/unit/dgfsd.service"
	systemd-analyze verify "$T/unit/dgfsd.service" 2>&1 && echo "exit 0" || echo "exit $?"
}
command -v systemd-analyze >/dev/null || fail "systemd-analyze is installed (make deps)"
same "systemd-analyze verify $UNIT: exit 0, nothing said" "$(verify_unit "$UNIT")" "exit 0"
sed 's/^ProtectSystem=strict/ProtectSystem=strictest/' "$UNIT" >"$T/broken.service"
check "... a broken copy (a bad value) is not silent" \
	test "$(verify_unit "$T/broken.service")" != "exit 0"
sed 's/^NoNewPrivileges=yes/NoNewPrivilege=yes/' "$UNIT" >"$T/broken.service"
check "... nor one with a misspelt key" test "$(verify_unit "$T/broken.service")" != "exit 0"
for k in DynamicUser=yes StateDirectory=dgfsd NoNewPrivileges=yes ProtectSystem=strict \
	'CapabilityBoundingSet=CAP_NET_ADMIN' 'AmbientCapabilities=CAP_NET_ADMIN' \
	'RestrictAddressFamilies=AF_INET AF_INET6 AF_NETLINK AF_UNIX' \
	'SystemCallFilter=@system-service bpf'; do
	check "the unit has $k" grep -qx "$k" "$UNIT"
done
sed "s|^ExecStart=/usr/local/sbin/dgfsd|ExecStart=$PWD/$DGFSD|" "$UNIT" >"$T/unit/dgfsd.service"
exposure=$(systemd-analyze security --offline=yes "$T/unit/dgfsd.service" 2>&1 |
	sed -nE 's/.*Overall exposure level for dgfsd.service: ([0-9.]+).*/\1/p')
check "systemd-analyze security: exposure ${exposure:-unknown} is at most 2.0 (of 10)" \
	awk -v e="${exposure:-99}" 'BEGIN { exit !(e <= 2.0) }'
finish
