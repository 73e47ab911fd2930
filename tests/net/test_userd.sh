#!/usr/bin/env bash
# dgfs-userd, dgfs fetch and dgfs-bench end to end, on the host (no kernel
# module): a server and a client network namespace joined by a veth pair
# (198.18.0.0/15, set aside for benchmarks, and 2001:db8::/32, for documentation), the
# server serving chunks this script makes, the client reading them over
# IPv4 and IPv6, whole and in random ranges, through refusals, malformed
# datagrams and a lossy link. Nothing leaves the two namespaces.
#   tests/net/test_userd.sh BUILD_DIR      (as root)
# expect-checks: 97 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/net/lib.sh
kernel_watch

BUILD=${1:-build}
DGFS=$BUILD/dgfs
USERD=$BUILD/dgfs-userd
BENCH=$BUILD/dgfs-bench
KEY=000102030405060708090a0b0c0d0e0f
net_names userd netns

tmp=$(mktemp -d /tmp/dgfs-userd-test.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# ---- the two hosts, and the chunks: files named by their SHA-256 --------------
store=$tmp/store
net_userd_setup "$store" "$DGFS" "$USERD" "$BENCH"

# start_userd LOG ARGS...: a server in the server namespace; waits until it
# serves. Its pid goes to $userd_pid.
start_userd() {
	local log=$1
	shift
	# `ip netns exec` execs the program in place: $! is the server.
	ip netns exec "$srv" "$USERD" "$@" >"$log" 2>&1 &
	userd_pid=$!
	pids+=("$userd_pid")
	userd_wait_serving "$userd_pid" "$log" 5
}

# counter NAME: the server's counter, fresh.
counter() { userd_counter "$tmp/userd.log" "$main_pid" "$1"; }

check "dgfs-userd starts (auth on, 2 threads)" \
	start_userd "$tmp/userd.log" -p $PORT --key $KEY --threads 2 -v "$store"
main_pid=$userd_pid

# fetch HOST NAME [options]: a chunk into $tmp/got.
fetch() {
	local host=$1 n=$2
	shift 2
	rm -f "$tmp/got"
	c "$DGFS" fetch -p $PORT --key $KEY "$@" -o "$tmp/got" "$host" "${id[$n]}"
}

# ---- whole chunks and ranges ---------------------------------------------------
for host in $V4 $V6; do
	net_check_chunks $host 15
done
if fetch $V4 odd --window 1 --req-size 1000 && cmp -s "$tmp/got" "${path[odd]}"; then
	pass "window 1 of 1000-byte requests"
else
	fail "window 1 of 1000-byte requests"
fi
c "$DGFS" fetch -p $PORT --key $KEY $V4 "${id[page]}" >"$tmp/stdout"
check "fetch writes to stdout without -o" cmp -s "$tmp/stdout" "${path[page]}"

# ---- refusals --------------------------------------------------------------------
bad_before=$(counter token_bad) expired_before=$(counter token_expired)
refuse "a token under another key: ACCES" 3 "ACCES" \
	fetch $V4 page --key 0f0e0d0c0b0a09080706050403020100
check "... and no data written" test ! -s "$tmp/got"
refuse "an expired token: ACCES" 3 "ACCES" fetch $V4 page --expiry -10
check "... and no data written" test ! -s "$tmp/got"
tok=$("$DGFS" token --key $KEY --addr 198.18.0.99 --expiry 600 "${id[page]}")
rm -f "$tmp/got"
refuse "a token minted for another address: ACCES" 3 "ACCES" \
	c "$DGFS" fetch -p $PORT --token "${tok% *}" --expiry "${tok#* }" -o "$tmp/got" \
	$V4 "${id[page]}"
check "... and no data written" test ! -s "$tmp/got"
tok=$("$DGFS" token --key $KEY --addr $V4_CLIENT --expiry 600 "${id[page]}")
rm -f "$tmp/got"
c "$DGFS" fetch -p $PORT --token "${tok% *}" --expiry "${tok#* }" -o "$tmp/got" \
	$V4 "${id[page]}"
check "a token minted for our address by dgfs token works" cmp -s "$tmp/got" "${path[page]}"
tok=$("$DGFS" token --key $KEY --addr $V6_CLIENT --expiry 600 "${id[page]}")
rm -f "$tmp/got"
c "$DGFS" fetch -p $PORT --token "${tok% *}" --expiry "${tok#* }" -o "$tmp/got" \
	$V6 "${id[page]}"
check "... and over IPv6 (the address is not mapped)" cmp -s "$tmp/got" "${path[page]}"
same "the server counted 2 bad tokens" "$(counter token_bad)" $((bad_before + 2))
same "the server counted 1 expired token" "$(counter token_expired)" $((expired_before + 1))
refuse "an unknown chunk: NOENT" 4 "NOENT" \
	c "$DGFS" fetch -p $PORT --key $KEY -o "$tmp/got" $V4 "$(printf '%064d' 5)"
refuse "an offset at the end: RANGE" 5 "RANGE" fetch $V6 page --offset 4096
refuse "an offset far past the end: RANGE" 5 "RANGE" fetch $V4 one --offset 1G
refuse "a chunk larger than --max-size: nothing buffered" 9 "larger than --max-size 1048576" \
	fetch $V4 odd --max-size 1M
check "... and no data written" test ! -s "$tmp/got"
refuse "--max-size 0 is a usage error" 2 "max-size must be" fetch $V4 odd --max-size 0
refuse "a bad chunk id is a usage error" 2 "64 hexadecimal" \
	c "$DGFS" fetch --key $KEY $V4 abcd
refuse "nobody listening: timed out" 8 "timed out" \
	fetch $V4 page -p 7879 --timeout 50 --retries 2

# A corrupt chunk file: its bytes do not hash to its name.
fake=$(printf 'ab%062d' 0)
cp "${path[page]}" "$store/$fake"
printf 'X' | dd of="$store/$fake" bs=1 seek=100 conv=notrunc status=none
rm -f "$tmp/got"
refuse "a corrupt chunk: SHA-256 mismatch, exit 1" 1 "SHA-256 mismatch" \
	c "$DGFS" fetch -p $PORT --key $KEY -o "$tmp/got" $V4 "$fake"
check "... and nothing written" test ! -e "$tmp/got"

# A server with auth on and no key refuses everything; --no-auth serves all.
check "a second server without a key starts" \
	start_userd "$tmp/nokey.log" -p 7880 "$store"
nokey_pid=$userd_pid
refuse "auth on without a key: every request is ACCES" 3 "ACCES" \
	fetch $V4 page -p 7880
kill -TERM "$nokey_pid"
wait "$nokey_pid"
same "... and that was counted as no key" \
	"$(awk '$1 == "token_no_key" { print $2 }' "$tmp/nokey.log")" 1
check "a --no-auth server starts" start_userd "$tmp/noauth.log" -p 7881 --no-auth "$store"
noauth_pid=$userd_pid
rm -f "$tmp/got"
c "$DGFS" fetch -p 7881 -o "$tmp/got" $V6 "${id[odd]}"
check "--no-auth: a fetch without any token works" cmp -s "$tmp/got" "${path[odd]}"
kill -TERM "$noauth_pid"
wait "$noauth_pid"

# ---- malformed datagrams: dropped, counted, never answered ------------------------
malformed_before=$(counter malformed)
# The client sends the malformed datagrams and then a well-formed one (a
# zero token: ACCES), waits for that answer, and tells the script; the
# script waits until the server has counted every malformed one (so it
# is done with them) and tells the client, which only then looks for
# replies: no fixed wait decides that "nothing came".
cat >"$tmp/malformed.py" <<'EOF'
import os, socket, struct, sys, time
host, port, chunk, flag = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3]), sys.argv[4]
def req(magic=0x44474653, version=1, op=1, flags=0, length=4096):
    return struct.pack(">IBBHQ32sQII8s", magic, version, op, flags, 1, chunk, 0,
                       length, int(time.time()) + 60, b"\0" * 8)
good = req()
bad = [b"", good[:71], good + b"\0", good * 2, req(magic=0x44474654), req(version=2),
       req(op=0x81), req(flags=1), req(length=0), req(length=(1 << 20) + 1)]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.connect((host, port))
for b in bad:
    s.send(b)
s.send(good)
replies, status = 0, -2
s.settimeout(30)
try:
    while True:
        r = s.recv(2048)
        if len(r) == 32 and r[:4] == b"DGFS" and struct.unpack(">IBBH", r[:8])[3] == 3:
            status = 3
            break
        replies += 1
except socket.timeout:
    pass
open(flag + ".sent", "w").close()
limit = time.time() + 60
while not os.path.exists(flag + ".counted") and time.time() < limit:
    time.sleep(0.05)
s.setblocking(False)
try:
    while True:
        s.recv(2048)
        replies += 1
except BlockingIOError:
    pass
print(len(bad), replies, status)
EOF
# malformed HOST: prints "SENT REPLIES STATUS".
malformed() {
	local before pid
	before=$(counter malformed)
	rm -f "$tmp/mf.sent" "$tmp/mf.counted"
	c python3 "$tmp/malformed.py" "$1" $PORT "${id[page]}" "$tmp/mf" >"$tmp/mf.out" &
	pid=$!
	counted() { (($(counter malformed) >= before + 10)); }
	wait_for 30 test -e "$tmp/mf.sent" && wait_for 30 counted
	touch "$tmp/mf.counted"
	wait "$pid"
	cat "$tmp/mf.out"
}
read -r sent replies status < <(malformed $V4)
same "10 malformed datagrams got no reply" "$replies" 0
same "a well-formed one with a bad token got ACCES alone" "$status" 3
read -r sent6 replies6 _ < <(malformed $V6)
same "... the same over IPv6" "$replies6" 0
same "the server counted all $((sent + sent6)) as malformed" \
	"$(counter malformed)" $((malformed_before + sent + sent6))
for why in size magic version op flags length; do
	check "malformed_$why counted" test "$(counter malformed_$why)" -gt 0
done

# ---- a lossy link: re-requests deliver the right bytes ------------------------------
# lossy DEV: drop 10% of what DEV sends. netem where the kernel has it;
# else (this project's host kernel has no sch_netem) a tc BPF program that
# drops UDP datagrams at random.
lossy() {
	local ns=$1 dev=$2
	ip netns exec "$ns" tc qdisc add dev "$dev" root netem loss 10% 2>/dev/null && return
	[[ -f $tmp/loss.o ]] ||
		clang -O2 -target bpf -I/usr/include/"$(uname -m)"-linux-gnu \
			-c tests/net/loss.bpf.c -o "$tmp/loss.o" || return 1
	ip netns exec "$ns" tc qdisc add dev "$dev" clsact &&
		ip netns exec "$ns" tc filter add dev "$dev" egress bpf da obj "$tmp/loss.o" sec tc
}
check "10% loss on dg1 (client to server)" lossy "$cli" dg1
check "10% loss on dg0 (server to client)" lossy "$srv" dg0
# link_drops: what the lossy qdiscs of both ends have dropped so far
# (netem and clsact both count their drops); empty if tc fails.
link_drops() {
	local a b
	a=$(c tc -s qdisc show dev dg1) && b=$(s tc -s qdisc show dev dg0) || return 1
	printf '%s\n%s\n' "$a" "$b" | grep -o 'dropped [0-9]*' | awk '{ n += $2 } END { print n + 0 }'
}
# The main server sends with UDP GSO: the link sees (and drops) up to 44
# datagrams as one. A second server without GSO makes the loss fall on
# single datagrams.
check "a server without GSO starts" start_userd "$tmp/nogso.log" -p 7882 --key $KEY --no-gso "$store"
nogso_pid=$userd_pid
for port in $PORT 7882; do
	for host in $V4 $V6; do
		rereq=0 drops0=$(link_drops)
		for n in odd big; do
			what="10% loss both ways, port $port: chunk $n over $host"
			if fetch $host $n -p $port -v 2>"$tmp/lossy.log" &&
			   cmp -s "$tmp/got" "${path[$n]}"; then
				r=$(grep -o 're-requests [0-9]*' "$tmp/lossy.log")
				pass "$what ($r)"
				rereq=$((rereq + ${r#re-requests }))
			else
				fail "$what"
				cat "$tmp/lossy.log"
			fi
		done
		# What the checks above are about: the link dropped datagrams
		# (the qdiscs' own count; a loaded host drops some without any
		# loss set up, so re-requests alone would not show it), and the
		# client asked again.
		drops=$(($(link_drops) - ${drops0:-0}))
		check "... port $port over $host: the link dropped packets ($drops) and the client re-requested ($rereq)" \
			test "$drops" -gt 0 -a "$rereq" -gt 0
	done
done
kill -TERM "$nogso_pid"
wait "$nogso_pid"
off=12345 len=2000000
dd if="${path[big]}" iflag=skip_bytes,count_bytes skip=$off count=$len of="$tmp/want" status=none
if fetch $V4 big --offset $off --length $len && cmp -s "$tmp/got" "$tmp/want"; then
	pass "10% loss: a range"
else
	fail "10% loss: a range"
fi
for q in root clsact; do
	c tc qdisc del dev dg1 $q 2>/dev/null
	s tc qdisc del dev dg0 $q 2>/dev/null
done

# ---- the bench against the server ----------------------------------------------------
bench() {
	c "$BENCH" -p $PORT --key $KEY --duration 2 "$@" --json "$V4" "${id[big]}" "${id[odd]}"
}
json_get() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
out=$(bench --threads 2 --window 8 --size 4096 --random 2>"$tmp/bench.log")
cat "$tmp/bench.log"
check "bench 4 KiB random, closed loop: > 0 req/s" \
	python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1])["req_per_s"] <= 0)' "$out"
# What this machine can do now: the fixed-rate run below is held to it.
capacity=$(json_get "$out" req_per_s)
same "... with 0 errors" "$(json_get "$out" errors)" 0
same "... and 0 timeouts" "$(json_get "$out" timeouts)" 0
out=$(bench --threads 1 --window 2 --size 1M --sequential 2>"$tmp/bench.log")
cat "$tmp/bench.log"
check "bench 1 MiB sequential: > 0 req/s" \
	python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1])["req_per_s"] <= 0)' "$out"
same "... with 0 errors" "$(json_get "$out" errors)" 0
out=$(bench --threads 2 --rate 2000 --size 4096 2>"$tmp/bench.log")
cat "$tmp/bench.log"
# Never faster than asked (pacing); at least 3/4 of what was asked or of
# the closed-loop rate measured above, whichever is less (a busy machine
# is no failure of the pacing).
check "bench fixed rate 2000/s: at most 2100 req/s, at least 3/4 of min(2000, $capacity)" \
	python3 -c 'import json,sys; r=json.loads(sys.argv[1])["req_per_s"]; cap=float(sys.argv[2])
print("fixed rate:", r, "req/s; closed loop:", cap)
sys.exit(not 0.75 * min(2000, cap) <= r <= 2100)' "$out" "${capacity:-0}"
same "... with 0 errors" "$(json_get "$out" errors)" 0
c "$BENCH" -p $PORT --duration 1 --rate 100 "$V6" "${id[page]}" >"$tmp/bench.txt" 2>&1
check "bench without a key: the ACCES is reported" grep -q "ACCES" "$tmp/bench.txt"

# --source: the threads spread over the client's addresses (the host sees
# several clients), each with tokens for its own (a token for another
# address is answered ACCES: an error).
V4_CLIENT2=198.18.0.3
check "client: a second address, $V4_CLIENT2" c ip addr add $V4_CLIENT2/24 dev dg1
bench --threads 4 --window 4 --size 4096 --random --duration 3 \
	--source $V4_CLIENT,$V4_CLIENT2 >"$tmp/bench.json" 2>"$tmp/bench.log" &
bench_pid=$!
# The local addresses of the bench's sockets, as the kernel has them.
both_sources() {
	[[ $(c ss -Hun "dst $V4" | awk '{ sub(/:[0-9]+$/, "", $(NF - 1)); print $(NF - 1) }' | sort -u | xargs) == \
		"$V4_CLIENT $V4_CLIENT2" ]]
}
check "bench --source A,B: its sockets send from both" wait_for 5 both_sources
wait "$bench_pid"
out=$(cat "$tmp/bench.json")
cat "$tmp/bench.log"
check "... > 0 req/s" python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1])["req_per_s"] <= 0)' "$out"
same "... with 0 errors (each address's tokens its own)" "$(json_get "$out" errors)" 0
same "... and 0 timeouts" "$(json_get "$out" timeouts)" 0
refuse "bench --source with a bad address is refused" 2 'is not an IP address' \
	c "$BENCH" --source $V4_CLIENT,198.18.0.x "$V4" "${id[page]}"
refuse "bench: more --source addresses than threads is refused" 2 'need --threads 2' \
	c "$BENCH" --source $V4_CLIENT,$V4_CLIENT2 "$V4" "${id[page]}"
refuse "bench --source not of this host: cannot reach from it" 1 "from 198.18.0.9: Cannot assign" \
	c "$BENCH" -p $PORT --key $KEY --source 198.18.0.9 "$V4" "${id[page]}"
refuse "bench --source of the other family than the host's is refused" 1 "not an IPv4 address" \
	c "$BENCH" -p $PORT --key $KEY --source $V6_CLIENT "$V4" "${id[page]}"

# ---- --steer: how datagrams reach the workers ----------------------------------------
refuse "--steer with an unknown mode: exit 2" 2 "bad --steer" \
	s "$USERD" --steer random --threads 2 "$store"
# thread_cpu_on PID CPU: the CPU seconds x100 of PID's thread pinned to CPU alone.
thread_cpu_on() {
	local t
	for t in /proc/"$1"/task/*; do
		[[ $(awk '/^Cpus_allowed_list/ { print $2 }' "$t/status") == "$2" ]] &&
			awk '{ print $14 + $15 }' "$t/stat" && return
	done
	echo none
}
steer_port=7883
for mode in shared cpu; do
	steer_port=$((steer_port + 1))
	check "--steer $mode: a 2-worker server starts" \
		start_userd "$tmp/steer-$mode.log" -p $steer_port --key $KEY --threads 2 \
		--steer $mode "$store" || continue
	steer_pid=$userd_pid
	for host in $V4 $V6; do
		bad=0
		for n in one page odd big; do
			fetch $host $n -p $steer_port && cmp -s "$tmp/got" "${path[$n]}" ||
				bad=$((bad + 1))
		done
		same "--steer $mode: all 4 chunks byte-exact over $host" "$bad" 0
	done
	# 8 client sockets, all sending from CPU 0: under --steer cpu every
	# request is received on CPU 0 (veth takes a packet in on the
	# sender's CPU) and so goes to the worker pinned there; the kernel's
	# hash would have given the worker on CPU 1 some of the 8.
	a0=$(thread_cpu_on "$steer_pid" 0) a1=$(thread_cpu_on "$steer_pid" 1)
	out=$(c taskset -c 0 "$BENCH" -p $steer_port --key $KEY --duration 2 --threads 8 \
		--window 4 --size 4096 --json "$V4" "${id[big]}" 2>"$tmp/bench.log")
	check "--steer $mode: 8 client sockets, 2 s of 4 KiB reads, > 0 req/s" \
		python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1])["req_per_s"] <= 0)' "$out"
	same "... with 0 errors and 0 timeouts" \
		"$(json_get "$out" errors) $(json_get "$out" timeouts)" "0 0"
	if [[ $mode == cpu ]]; then
		b0=$(thread_cpu_on "$steer_pid" 0) b1=$(thread_cpu_on "$steer_pid" 1)
		if [[ "$a0$a1$b0$b1" == *none* ]]; then
			fail "--steer cpu: a worker thread pinned to CPU 0 and one to CPU 1"
		else
			# At most a tenth (the hash gives it about half).
			check "--steer cpu: the worker on CPU 0 served ($(((b0 - a0) * 10)) ms of CPU), the one on CPU 1 at most a tenth of that ($(((b1 - a1) * 10)) ms)" \
				test $((b0 - a0)) -ge 10 -a $((10 * (b1 - a1))) -le $((b0 - a0))
		fi
	fi
	kill -TERM "$steer_pid"
	wait "$steer_pid"
done

# ---- a clean exit -------------------------------------------------------------------------
kill -TERM "$main_pid"
for _ in $(seq 50); do
	kill -0 "$main_pid" 2>/dev/null || break
	sleep 0.1
done
check "SIGTERM: the server exits" bash -c "! kill -0 $main_pid 2>/dev/null"
wait "$main_pid" && rc=0 || rc=$?
same "... with status 0" "$rc" 0
check "... printing its counters" grep -q "^dgfs-userd: stopped" "$tmp/userd.log"
check "... with no send errors" test "$(awk '$1 == "send_errors" { v = $2 } END { print v }' \
	"$tmp/userd.log")" = 0
finish
