# shellcheck shell=bash
# Host-side helpers of the benchmarks whose server is the VM and whose
# client is on the host (tests/vm/bench_remote.sh, bench_onoff.sh,
# bench_rtt.sh, bench_mib.sh, tests/bench/bench.sh).
#
#   bench_tap NS TAP ADDR...
#                         a network namespace NS of the run's own (one left
#                         by an earlier run deleted first) with a tap device
#                         TAP for the VM's NIC (vm.sh --tap NS/TAP), up
#                         with the host's addresses ADDR.../24, loopback up
#   bench_vm_end OUT VM NS
#                         the end of the run (the EXIT trap): OUT/done tells
#                         the guest to stop, then the wait for vm.sh (pid
#                         VM, if any; a message if it failed) and NS deleted
#   bench_vm_wait OUT VM FILE SECS
#                         until the guest writes OUT/FILE (not empty) while
#                         vm.sh (pid VM) runs, for SECS s; 1 with a message
#                         (and the end of OUT/vm.out) if the VM stopped or
#                         the time ran out
#   bench_vm_ready OUT VM  bench_vm_wait for OUT/ready (its chunk id), 300 s
#   bench_data DIR N4K N1M
#                         DIR/4k/f0... N4K files of 4 KiB, DIR/1m/f0... N1M
#                         of 1 MiB, random bytes (DIR emptied first)
#   bench_pin_vcpus TAP [OUT]
#                         pin the VM on TAP's vCPU n to host CPU (n + 1) mod
#                         the host's CPUs (one vCPU: CPU 1; two on a 2-CPU
#                         host: vCPU 0 on CPU 1, vCPU 1 on CPU 0), its other
#                         threads to CPU 0; sets BENCH_PIN_CLIENT to the
#                         prefix that puts a client on CPU 0 too. OUT, the
#                         VM's --out directory, tells it from another VM
#                         on a tap of the same name (another namespace's)
#   bench_qemu_pid TAP [OUT]
#                         that VM's QEMU process
#   bench_guest_cpu NS ADDR
#                         the guest's busy CPU seconds so far, from
#                         tests/vm/cpustat_server.py on ADDR:7801
#
# `make bench`'s guest (tests/bench/guest.sh), shared by tests/bench/bench.sh,
# tests/vm/bench_rtt.sh and bench_mib.sh, one at a time in a script:
#
#   bench_guest_up NS TAP OUT DATA WORKLOAD...
#                         boot it with one vCPU on TAP in a namespace NS
#                         (bench_tap: the host 198.18.2.1, the guest
#                         198.18.2.2, guest.sh's), OUT its --out directory,
#                         emptied first (OUT/vm.out its console), and set
#                         the EXIT trap to bench_guest_down; when it is
#                         ready, pin it (bench_pin_vcpus), upload DATA's
#                         files (upload.py: OUT/manifest; bench_lists:
#                         OUT/lists) and wait until the ids of each
#                         WORKLOAD (4k, 1m) are registered with its dgfs.ko
#                         (OUT/ids). Then sets client.sh's BENCH_ADDR,
#                         BENCH_KEY, BENCH_WHERE (not BENCH_DURATION),
#                         bench_client (the client in NS, pinned) and
#                         bench_cpu (the guest's busy time), and BENCH_QEMU
#                         (QEMU's pid). 1 with a message if a step failed
#   bench_guest_down      bench_vm_end of that VM, the EXIT trap cleared
#   bench_guest_ask WHAT ARG FILE [SECS]
#                         ask the guest to do WHAT with ARG (guest.sh's
#                         OUT/WHAT-want; FILE removed first), then
#                         bench_vm_wait SECS (120) for its FILE
#   bench_guest_mtu N     both ends of the link (TAP, the guest's eth0) at
#                         MTU N; 1 with a message if either refused
#   bench_qemu_ns         the host's view of its QEMU, in ns so far: the
#                         vCPU thread's time on a CPU and waiting for one
#                         (schedstat), and the time on a CPU of QEMU's other
#                         threads (the NIC's backend, the 9p shares)
#
# Why pin: unpinned, the scheduler lets QEMU's vCPU, its virtio-net backend
# and the client compete for both cores, and the server's rate swings with
# it (BENCH_PIN=0 to see: 1.8x-5.7x where pinned runs of bench_remote.sh
# gave 3.7x-4.0x).

BENCH_PIN_CLIENT=()

bench_tap() {
	local ns=$1 tap=$2 a
	shift 2
	ip netns del "$ns" 2>/dev/null || true
	ip netns add "$ns" || return 1
	ip -n "$ns" tuntap add dev "$tap" mode tap || return 1
	for a in "$@"; do
		ip -n "$ns" addr add "$a/24" dev "$tap" || return 1
	done
	ip -n "$ns" link set "$tap" up && ip -n "$ns" link set lo up
}

bench_vm_end() {
	touch "$1/done"
	[[ -z $2 ]] || wait "$2" || echo "bench: the VM's run failed (see $1)" >&2
	ip netns del "$3" 2>/dev/null || true
}

bench_vm_wait() {
	local i
	for ((i = 0; i < $4 * 5; i++)); do
		[[ -s $1/$3 ]] && return 0
		kill -0 "$2" 2>/dev/null || {
			tail -n 30 "$1/vm.out" >&2
			echo "bench: the VM stopped before it wrote $3" >&2
			return 1
		}
		sleep 0.2
	done
	echo "bench: no $3 from the VM within $4 s" >&2
	return 1
}

bench_vm_ready() { bench_vm_wait "$1" "$2" ready 300; }

bench_data() {
	local i
	rm -rf "$1" && mkdir -p "$1/4k" "$1/1m"
	for ((i = 0; i < $2; i++)); do head -c 4096 /dev/urandom >"$1/4k/f$i"; done
	for ((i = 0; i < $3; i++)); do head -c 1048576 /dev/urandom >"$1/1m/f$i"; done
}

bench_qemu_pid() {
	local out=
	[[ -z ${2:-} ]] || out=".*,path=$2,"
	pgrep -f "^qemu-system-x86_64 -name dgfs-vm$out.*ifname=$1,"
}

bench_pin_vcpus() {
	local qpid t cpu n=$(nproc) where=
	[[ ${BENCH_PIN:-1} == 1 && $n -ge 2 ]] || return 0
	qpid=$(bench_qemu_pid "$@") || return 1
	[[ $qpid =~ ^[0-9]+$ ]] || { echo "bench: more than one VM on $1: $qpid" >&2; return 1; }
	for t in /proc/$qpid/task/*; do
		if [[ $(cat "$t/comm") =~ ^CPU\ ([0-9]+)/TCG$ ]]; then
			cpu=$(((BASH_REMATCH[1] + 1) % n))
			where+=" vCPU ${BASH_REMATCH[1]} on CPU $cpu,"
		else
			cpu=0
		fi
		taskset -p -c $cpu "${t##*/}" >/dev/null
	done
	BENCH_PIN_CLIENT=(taskset -c 0)
	echo "pinned (QEMU $qpid):$where its other threads and the client on CPU 0"
}

bench_guest_cpu() {	# bash's /dev/tcp: no Python start-up a call
	ip netns exec "$1" bash -c 'exec 3<>"/dev/tcp/$0/7801" && read -r busy hz <&3 &&
		echo "$busy $hz"' "$2" | awk '{ print $1 / $2 }'
}

# The guest's namespace, tap, out directory; vm.sh's pid, QEMU's.
BENCH_GUEST_NS='' BENCH_GUEST_TAP='' BENCH_GUEST_OUT='' BENCH_VM='' BENCH_QEMU=''

# shellcheck disable=SC2034,SC2317 # for client.sh and the caller
bench_guest_up() {
	local ns=$1 tap=$2 out=$3 data=$4 w
	shift 4
	BENCH_GUEST_NS=$ns BENCH_GUEST_TAP=$tap BENCH_GUEST_OUT=$out BENCH_VM=
	rm -rf "$out" && mkdir -p "$out" || return 1
	trap bench_guest_down EXIT	# whatever stops the script, the VM goes too
	bench_tap "$ns" "$tap" 198.18.2.1 || return 1
	# One vCPU: what the guest spends is the server's.
	VM_TIMEOUT=${VM_TIMEOUT:-3000} tests/vm/vm.sh --tap "$ns/$tap" --smp 1 --out "$out" \
		tests/bench/guest.sh >"$out/vm.out" 2>&1 &
	BENCH_VM=$!
	bench_vm_ready "$out" $BENCH_VM || return 1
	# As tests/vm/bench_remote.sh: the vCPU thread gets host CPU 1 to
	# itself; QEMU's other threads and the client share CPU 0.
	bench_pin_vcpus "$tap" "$out" || return 1
	BENCH_QEMU=$(bench_qemu_pid "$tap" "$out") || return 1
	BENCH_ADDR=198.18.2.2 BENCH_WHERE=vm
	ip netns exec "$ns" python3 tests/bench/upload.py "http://$BENCH_ADDR:$BENCH_PORT_HTTP" "$out/admin.key" \
		"$data" >"$out/manifest" || return 1
	bench_lists "$out/manifest" "$out/lists" || return 1
	for w in "$@"; do cat "$out/lists/ids-$w" || return 1; done >"$out/ids"
	bench_vm_wait "$out" $BENCH_VM registered 120 || return 1
	BENCH_KEY=$(cat "$out/auth.key")
	bench_client() { ip netns exec "$BENCH_GUEST_NS" "${BENCH_PIN_CLIENT[@]}" "$@"; }
	bench_cpu() { bench_guest_cpu "$BENCH_GUEST_NS" "$BENCH_ADDR"; }
}

bench_guest_down() {
	trap - EXIT
	bench_vm_end "$BENCH_GUEST_OUT" "$BENCH_VM" "$BENCH_GUEST_NS"
}

bench_guest_ask() {
	rm -f "$BENCH_GUEST_OUT/$3"
	echo "$2" >"$BENCH_GUEST_OUT/$1-want.tmp" && mv "$BENCH_GUEST_OUT/$1-want.tmp" "$BENCH_GUEST_OUT/$1-want"
	bench_vm_wait "$BENCH_GUEST_OUT" "$BENCH_VM" "$3" "${4:-120}"
}

bench_guest_mtu() {
	local got
	ip -n "$BENCH_GUEST_NS" link set "$BENCH_GUEST_TAP" mtu "$1" || return 1	# a tap's maximum is 65521
	bench_guest_ask mtu "$1" mtu-done || return 1
	got=$(cat "$BENCH_GUEST_OUT/mtu-done")
	[[ $got == "ok $1" ]] || { echo "bench: the guest's MTU $1: $got" >&2; return 1; }
}

bench_qemu_ns() {
	local t run wait vrun=0 vwait=0 other=0
	for t in "/proc/$BENCH_QEMU/task/"*; do
		read -r run wait _ <"$t/schedstat" || continue
		if [[ $(cat "$t/comm") == "CPU 0/TCG" ]]; then
			vrun=$run vwait=$wait
		else
			other=$((other + run))
		fi
	done
	echo "$vrun $vwait $other"
}
