#!/usr/bin/env bash
# The guest of tests/net/test_vm_one_vcpu.sh: eth0 on the host's tap, what
# CPUs the kernel sees written to the output share ($DGFS_OUT/cpus), then
# up until the host writes done, when the NIC's transmit timeouts so far
# go to $DGFS_OUT/tx-timeouts.
set -eu
modprobe virtio_net
ip addr add 198.18.2.2/24 dev eth0
ip link set eth0 up
echo "$(cat /sys/devices/system/cpu/online) $(cat /sys/devices/system/cpu/possible)" >"$DGFS_OUT/cpus"
echo ok >"$DGFS_OUT/ready"
for _ in $(seq 1200); do
	[[ -e $DGFS_OUT/done ]] && break
	sleep 0.5
done
cat /sys/class/net/eth0/queues/tx-0/tx_timeout >"$DGFS_OUT/tx-timeouts"
