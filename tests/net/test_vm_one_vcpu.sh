#!/usr/bin/env bash
# The benchmarks' guest: one vCPU (tests/vm/vm.sh --smp 1), its NIC on a
# tap in a namespace of ours, driven from the host. Under TCG a guest's
# memory barriers are real only if the machine may have a second vCPU
# (vm.sh gives it room for one that never comes online); without them the
# guest's virtio-net and QEMU's I/O thread lose a kick now and then and
# the guest's NIC stops sending for good. Checks: one CPU online and two
# possible; a flood of full-size ICMP echoes, 64 outstanding, keeps the
# guest's transmit ring busy and is answered to the end; the NIC never
# timed out; the VM's run passed (its dmesg clean).
#   tests/net/test_vm_one_vcpu.sh BUILD_DIR      (as root)
# expect-checks: 4 (tests/run-all.sh: a run that prints fewer fails)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/vm/bench_lib.sh

BUILD=${1:-build}
ECHOES=${DGFS_TEST_ECHOES:-1000000}
ns=dgfs-onevcpu-$$ tap=dgtap5 guest=198.18.2.2	# the guest script's address
out=$(mkdir -p "$BUILD" && cd "$BUILD" && pwd)/vm-one-vcpu
rm -rf "$out" && mkdir -p "$out"
vm=
trap 'bench_vm_end "$out" "$vm" $ns' EXIT
bench_tap $ns $tap 198.18.2.1 || { fail "a namespace with a tap"; finish; }
VM_TIMEOUT=${VM_TIMEOUT:-1200} tests/vm/vm.sh --tap $ns/$tap --smp 1 --out "$out" \
	tests/vm/one_vcpu_guest.sh >"$out/vm.out" 2>&1 &
vm=$!
bench_vm_ready "$out" $vm || { fail "the VM comes up"; finish; }

same "one vCPU online, room for a second (TCG keeps the guest's barriers)" "$(cat "$out/cpus")" "0 0-1"
res=$(ip netns exec $ns python3 tests/vm/icmp_rtt.py $guest "$ECHOES" 0 1472 64)
echo "echoes: $res"
same "$ECHOES full-size echoes, 64 outstanding, answered to the end" \
	"$(python3 -c 'import json, sys; x = json.loads(sys.argv[1]); print(x["gave_up"], x["received"] >= 0.99 * x["count"])' "$res")" \
	"False True"
touch "$out/done"
check "the VM's run passed (its dmesg clean)" wait $vm
vm=
same "the guest's NIC never timed out" "$(cat "$out/tx-timeouts" 2>/dev/null)" 0
finish
