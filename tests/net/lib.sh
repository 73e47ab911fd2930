# shellcheck shell=bash
# Helpers for the host network tests (tests/net/test_*.sh). Source after
# tests/lib.sh, with $srv and $cli naming the two namespaces (net_names).
#
#   net_names NAME [netns]
#       the test's names: namespaces srv=dgfs-NAME-srv-PID and cli (the
#       client's), PORT 7878, the addresses V4 V4_CLIENT V6 V6_CLIENT, and
#       s CMD... / c CMD... to run CMD in the server's / client's
#       namespace. s enters only the network namespace (nsenter), so bpffs
#       stays in view; with "netns" it is ip netns exec, whose own mount
#       namespace shows the namespace's /sys.
#
#   net_pair V4 V4_CLIENT [V6 V6_CLIENT]
#       the server and client namespaces joined by a veth pair, dg0 (the
#       server's) and dg1, with those addresses (/24, /64 without DAD),
#       loopback up in both; fails the test (finish) if a namespace cannot
#       be made. The pair is made inside the server's namespace, so no
#       device ever appears in ours.
#
#   net_need BINARY...
#       fails the test (finish) unless every BINARY is built and we are
#       root (the namespaces need it).
#
#   net_del
#       removes both namespaces (what a test's cleanup does last with them).
#
#   net_chunk DIR SIZE
#       SIZE random bytes in DIR, in a file named by their SHA-256 (a chunk
#       as dgfs-userd serves it); prints that id.
#
#   net_userd_setup STORE BINARY...
#       the start of a test of dgfs-userd over the veth: fails the test
#       (finish) unless every BINARY is built and we are root, then net_pair
#       on $V4 $V4_CLIENT $V6 $V6_CLIENT and the test chunks in STORE (made
#       here): one (1 byte), page (4096), odd (1 MiB + 7) and big (16 MiB),
#       with their sizes, ids and paths in the arrays size, id and path.
#
#   net_check_chunks HOST RANGES [HOW]
#       a check for each test chunk read whole from HOST and compared, then
#       one for RANGES random ranges of page, odd and big compared with dd
#       of the same bytes. The test's fetch HOST NAME [OPTIONS...] reads
#       chunk NAME into $tmp/got; HOW ends the whole chunks' check names.
#
#   userd_wait_serving PID LOG SECS
#       until dgfs-userd PID says in its log LOG that it is serving, for up
#       to SECS seconds; 1, with LOG printed, if it did not or exited.
#
#   userd_counter LOG PID NAME
#       dgfs-userd PID's counter NAME, fresh: SIGUSR1 makes it print its
#       counters to its log LOG.
net_names() {
	srv=dgfs-$1-srv-$$ cli=dgfs-$1-cli-$$
	PORT=7878
	V4=198.18.0.1 V4_CLIENT=198.18.0.2
	V6=2001:db8:2::1 V6_CLIENT=2001:db8:2::2
	if [[ ${2:-} == netns ]]; then
		s() { ip netns exec "$srv" "$@"; }
	else
		s() { nsenter --net="/run/netns/$srv" "$@"; }
	fi
	c() { ip netns exec "$cli" "$@"; }
}

net_pair() {
	ip netns add "$srv" && ip netns add "$cli" || { fail "netns add"; finish; }
	ip -n "$srv" link add dg0 type veth peer name dg1 netns "$cli"
	ip -n "$srv" addr add "$1/24" dev dg0 && ip -n "$cli" addr add "$2/24" dev dg1
	if (($# == 4)); then
		ip -n "$srv" addr add "$3/64" dev dg0 nodad && ip -n "$cli" addr add "$4/64" dev dg1 nodad
	fi
	ip -n "$srv" link set dg0 up && ip -n "$cli" link set dg1 up
	ip -n "$srv" link set lo up && ip -n "$cli" link set lo up
}

net_need() {
	local b
	for b in "$@"; do
		[[ -x $b ]] || { fail "$b is built (make userspace)"; finish; }
	done
	if [[ $(id -u) != 0 ]]; then
		fail "must run as root (network namespaces)"
		finish
	fi
}

net_del() {
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
}

net_chunk() {
	local id
	head -c "$2" /dev/urandom >"$1/new" && id=$(sha256sum "$1/new" | cut -c1-64) &&
		mv "$1/new" "$1/$id" && echo "$id"
}

net_userd_setup() {
	local store=$1 n
	shift
	net_need "$@"
	net_pair "$V4" "$V4_CLIENT" "$V6" "$V6_CLIENT"
	mkdir -p "$store"
	declare -gA size=([one]=1 [page]=4096 [odd]=$((1048576 + 7)) [big]=$((16 << 20)))
	declare -gA id path
	for n in one page odd big; do
		id[$n]=$(net_chunk "$store" "${size[$n]}")
		path[$n]=$store/${id[$n]}
	done
}

net_check_chunks() {
	local host=$1 ranges=$2 how=${3:+ $3} n i off len bad=0
	for n in one page odd big; do
		if fetch "$host" "$n" && cmp -s "$tmp/got" "${path[$n]}"; then
			pass "whole chunk $n (${size[$n]} bytes) over $host$how"
		else
			fail "whole chunk $n (${size[$n]} bytes) over $host$how"
		fi
	done
	for ((i = 0; i < ranges; i++)); do
		n=$(shuf -n1 -e page odd big)
		off=$(shuf -n1 -i 0-$((size[$n] - 1)))
		len=$(shuf -n1 -i 1-$((3 << 20)))
		dd if="${path[$n]}" iflag=skip_bytes,count_bytes skip="$off" count="$len" \
			of="$tmp/want" status=none
		if ! fetch "$host" "$n" --offset "$off" --length "$len" ||
		   ! cmp -s "$tmp/got" "$tmp/want"; then
			bad=$((bad + 1))
			echo "  mismatch: $n offset $off length $len over $host"
		fi
	done
	same "$ranges random ranges over $host match dd of the same bytes" "$bad" 0
}

userd_wait_serving() {
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		grep -q serving "$2" 2>/dev/null && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	cat "$2"
	return 1
}

userd_counter() {
	local log=$1 pid=$2 before i
	before=$(grep -c '^dgfs-userd counters:' "$log")
	kill -USR1 "$pid"
	for i in $(seq 50); do
		(($(grep -c '^dgfs-userd counters:' "$log") > before)) && break
		sleep 0.05
	done
	awk -v k="$3" '$1 == k { v = $2 } END { print v }' "$log"
}
