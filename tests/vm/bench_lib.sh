# shellcheck shell=bash
# Host-side helpers of the benchmarks whose server is the VM and whose
# client is on the host (tests/vm/bench_remote.sh, bench_onoff.sh,
# tests/bench/bench.sh).
#
#   bench_tap NS TAP ADDR...
#                         a network namespace NS of the run's own (one left
#                         by an earlier run deleted first) with a tap device
#                         TAP for the VM's NIC (vm.sh --tap NS/TAP), up
#                         with the host's addresses ADDR.../24, loopback up
#   bench_vm_end OUT VM NS
#                         the end of the run (the EXIT trap): OUT/done tells
#                         the guest to stop, then the wait for vm.sh (pid
#                         VM, if any) and NS deleted
#   bench_vm_ready OUT VM  until the guest writes OUT/ready (its chunk id)
#                         while vm.sh (pid VM) runs, for 300 s; 1 with a
#                         message (and OUT/vm.out) if the VM stopped first
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
	[[ -z $2 ]] || wait "$2" || true
	ip netns del "$3" 2>/dev/null || true
}

bench_vm_ready() {
	local _
	for _ in $(seq 600); do
		[[ -s $1/ready ]] && return 0
		kill -0 "$2" 2>/dev/null || { cat "$1/vm.out"; echo "the VM stopped before it was ready"; return 1; }
		sleep 0.5
	done
	[[ -s $1/ready ]] || { echo "the VM was not ready within 300 s"; return 1; }
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
