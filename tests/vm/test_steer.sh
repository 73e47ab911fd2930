#!/usr/bin/env bash
# dgfs-userd --steer cpu on Debian's 6.1: its sk_reuseport program
# (bpf/reuseport_steer.bpf.c) loads and attaches, replies are byte-exact,
# and datagrams received on CPU 0 all go to the worker pinned there.
# No module: two namespaces joined by veth.
# expect-checks: 6 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

KEY=000102030405060708090a0b0c0d0e0f
srv=dgfs-steer-srv cli=dgfs-steer-cli
c() { ip netns exec $cli "$@"; }
pid=
cleanup() {
	[[ -z $pid ]] || { kill "$pid"; wait "$pid"; } 2>/dev/null
	ip netns del $srv 2>/dev/null
	ip netns del $cli 2>/dev/null
}
trap cleanup EXIT
check "two namespaces joined by veth" two_hosts $srv $cli || finish
dir=$(scratch steer)
head -c $((1048576 + 7)) /dev/urandom >"$dir/c"
id=$(sha256 "$dir/c")
mv "$dir/c" "$dir/$id"

ip netns exec $srv "$BUILD/dgfs-userd" --key $KEY --threads 2 --steer cpu "$dir" \
	>"$dir/log" 2>&1 &
pid=$!
check "dgfs-userd --steer cpu starts (its BPF program loaded and attached)" \
	wait_for 20 grep -q "steer cpu" "$dir/log" || { cat "$dir/log"; finish; }
for host in 198.18.0.1 2001:db8:2::1; do
	rm -f "$dir/got"
	c "$BUILD/dgfs" fetch --key $KEY -o "$dir/got" $host "$id"
	check "a 1 MiB + 7 chunk over $host, byte-exact" cmp -s "$dir/got" "$dir/$id"
done
# ticks_on CPU: CPU time (ticks) of dgfs-userd's thread pinned to CPU alone.
ticks_on() {
	local t
	for t in /proc/$pid/task/*; do
		[[ $(awk '/^Cpus_allowed_list/ { print $2 }' "$t/status") == "$1" ]] &&
			awk '{ print $14 + $15 }' "$t/stat" && return
	done
	echo 0
}
a0=$(ticks_on 0) a1=$(ticks_on 1)
c taskset -c 0 "$BUILD/dgfs-bench" --key $KEY --duration 2 --threads 8 --window 4 \
	198.18.0.1 "$id" >/dev/null 2>&1
b0=$(ticks_on 0) b1=$(ticks_on 1)
# At most a tenth on CPU 1 (its wake-ups to look at stop, coarse tick
# accounting under TCG): the kernel's hash would give it about half.
check "8 client sockets on CPU 0: the worker on CPU 0 served ($((b0 - a0)) ticks), the one on CPU 1 at most a tenth of that ($((b1 - a1)))" \
	test $((b0 - a0)) -ge 5 -a $((10 * (b1 - a1))) -le $((b0 - a0))
kill -TERM "$pid"
wait "$pid" && rc=0 || rc=$?
pid=
same "SIGTERM: it exits 0" "$rc" 0
finish
