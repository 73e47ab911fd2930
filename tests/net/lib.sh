# shellcheck shell=bash
# Helpers for the host network tests (tests/net/test_*.sh). Source after
# tests/lib.sh, with $srv and $cli naming the two namespaces.
#
#   net_pair V4 V4_CLIENT [V6 V6_CLIENT]
#       the server and client namespaces joined by a veth pair, dg0 (the
#       server's) and dg1, with those addresses (/24, /64 without DAD),
#       loopback up in both; fails the test (finish) if a namespace cannot
#       be made. The pair is made inside the server's namespace, so no
#       device ever appears in ours.
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
