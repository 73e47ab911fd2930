#!/usr/bin/env bash
# Balancing: `dgfsctl config set balance on` serves each client's requests
# on a CPU chosen by a hash of its address, not on the CPU that received
# them. Every request here is received on CPU 0 (the client sends pinned
# there, and the veth's NAPI runs where it is scheduled), from 16 client
# addresses. Checked, through XDP and through the socket (no XDP):
# - the setting: off by default, shown, refused when malformed;
# - off: nothing is handed to another CPU (counter balanced);
# - on: every reply byte-exact; each client's requests all go to one CPU
#   (balanced moves by all or none of its reads: in order, one ring), and
#   the clients spread: some on CPU 1, some left on CPU 0.
# expect-checks: 31 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/vm/common.sh

DGFS=$BUILD/dgfs
key=000102030405060708090a0b0c0d0e0f
reads=4
cleanup_first() { s $CTL xdp detach dg0 2>/dev/null; }
server_and_client

root=$(scratch balance)
head -c 4096 /dev/urandom >"$root/page"
page=$(sha256 "$root/page")
check "server: store add" s $CTL store add main path "$root"
check "server: chunk add" s $CTL chunk add "$page" store main file page
check "server: config set key" s $CTL config set key $key
clients=()
for i in $(seq 10 25); do clients+=(198.18.0.$i); done
check "client: 16 more addresses on dg1" bash -c \
	"for a in ${clients[*]}; do ip -n $cli addr add \$a/24 dev dg1 || exit 1; done"

# The setting.
json_balance() { s $CTL -j config show | python3 -c 'import json, sys; print(json.load(sys.stdin)["balance"])'; }
same "balance is off by default (JSON)" "$(json_balance)" False
same "... and not shown in text" "$(s $CTL config show)" "config port 7878 max_read 1048576 auth on key set"
refuse "config set balance maybe is refused" 2 "invalid balance \"maybe\": must be on or off" \
	s $CTL config set balance maybe
same "... and changes nothing" "$(json_balance)" False

# spread WHAT: $reads reads of the page by every client, sent from CPU 0,
# and how many of each client's went to another CPU: $moved clients all,
# $stayed none, $split some, $bad failed.
spread() {
	local a d out
	moved=0 stayed=0 split=0
	# Not a process substitution: the guest has no /dev/fd.
	out=$(c taskset -c 0 python3 tests/vm/udp_read.py 198.18.0.1 7878 "$page" "$root/page" $reads \
		"$DGFS token --key $key --expiry 600 $page --addr" "ip netns exec $srv $CTL stats" balanced \
		"${clients[@]}")
	while read -r a d; do
		case $d in
		0) stayed=$((stayed + 1)) ;;
		$reads) moved=$((moved + 1)) ;;
		[0-9]*) split=$((split + 1)); echo "  $1: $a: $d of $reads reads balanced" ;;
		*) echo "  $1: $a $d" ;;
		esac
	done <<<"$out"
	bad=$((${#clients[@]} - moved - stayed - split))	# failed, or never reported
	echo "  $1: $moved clients on the other CPU, $stayed on the receiving one, $split split, $bad failed"
}

for path in xdp socket; do
	if [[ $path == xdp ]]; then
		check "server: xdp attach dg0 (native)" s $CTL xdp attach dg0 mode native
	else
		check "server: xdp detach dg0 (requests through the socket)" s $CTL xdp detach dg0
	fi
	check "$path: config set balance off" s $CTL config set balance off
	spread "$path, off"
	same "$path, off: every client's reads answered byte-exact" "$bad" 0
	same "$path, off: no request went to another CPU" "$((moved + split))" 0
	check "$path: config set balance on" s $CTL config set balance on
	spread "$path, on"
	same "$path, on: every client's reads answered byte-exact" "$bad" 0
	same "$path, on: each client's reads all on one CPU (none split)" "$split" 0
	check "$path, on: clients served on the other CPU" test "$moved" -gt 0
	check "$path, on: clients served on the receiving CPU" test "$stayed" -gt 0
done
same "config show says balance on" "$(s $CTL config show)" \
	"config port 7878 max_read 1048576 auth on key set balance on"

server_and_client_down
trap - EXIT
dgfs_unload
finish
