#!/usr/bin/env bash
# The default Linux guest (initramfs, shell on COM1) with a NIC served by dpdk-testpmd over
# vhost-user (--net vhost-user=SOCK,mac=...; virtio/vhost_user/vu_net.c), testpmd looping its
# port in macswap mode (every frame comes back with its addresses swapped):
#   1. the guest's eth0 has the MAC given with mac= and its link is up (VIRTIO_NET_F_STATUS);
#   2. frames the guest sends (DHCP discovers) come back: eth0's rx_packets grows;
#   3. testpmd is killed and restarted on the same socket: the device reconnects by itself (rx
#      buffers posted: resumed at the used index, docs/vhost-user.md) and frames come back again;
#   4. the guest powers off: the VMM exits 0.
# Needs KVM: on a host without it, it is skipped (77).
# labels: slow linux vhost_user
# requires: kvm root
# timeout: 1200
# resource: linux:2
. "$(dirname "${BASH_SOURCE[0]}")/../lib/linux_lib.sh"

TESTPMD=${TESTPMD:-dpdk-testpmd}
command -v "$TESTPMD" >/dev/null || skip "no vhost-user back-end" "$TESTPMD not installed (dpdk-dev)"
TRANSPORT=${TRANSPORT:-mmio}
sock=$tmp/net.sock
vmm_pid=""
tp_pid=""
sleeper=""
trap 'kill $sleeper $tp_pid 2>/dev/null; kill -9 $vmm_pid 2>/dev/null; rm -rf "$tmp" "/var/run/dpdk/vu-linux-$$"' EXIT

start_testpmd() { # no huge pages; DPDK does not remove a stale socket
	local cpu
	cpu=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')
	rm -f "$sock"
	"$TESTPMD" --lcores "0@$cpu,1@$cpu" --no-huge -m 256 --no-pci --file-prefix="vu-linux-$$" \
		--vdev "net_vhost0,iface=$sock,queues=1" -- --port-topology=loop \
		--forward-mode=macswap --nb-cores=1 --total-num-mbufs=4096 --stats-period=60 \
		>>"$tmp/testpmd.log" 2>&1 &
	tp_pid=$!
	for _ in $(seq 100); do
		[ -S "$sock" ] && return 0
		sleep 0.1
	done
	echo "FAIL: testpmd made no socket"
	fail=1
}
# rx_grows TAG: the guest broadcasts two DHCP discovers (udhcpc waits with poll(), not alarm():
# the default guest's kernel has no POSIX timers, so a ping that gets no answer never ends); the
# frames come back, addresses swapped
rx_grows() {
	type_cmd "a=\$(cat /sys/class/net/eth0/statistics/rx_packets); udhcpc -i eth0 -n -q -t 2 -T 1 -s /bin/true >/dev/null 2>&1; b=\$(cat /sys/class/net/eth0/statistics/rx_packets); echo $1=\$((b - a))"
	wait_for "^$1=[0-9]+" 60
	check "$1: frames the guest sent came back" "^$1=[1-9]"
}

start_testpmd
mkfifo "$tmp/in"
sleep 1200 >"$tmp/in" &
sleeper=$!
"$VMM" --kernel "$VMLINUX" --initrd "$INITRAMFS" --mem 512M --console stdio \
	--transport "$TRANSPORT" --net vhost-user="$sock",mac=02:00:00:00:00:33 \
	--append "$CMDLINE vmmguest.shell=1 vmmguest.dhcp=0" <"$tmp/in" >"$tmp/log" 2>"$tmp/err" &
vmm_pid=$!
if ! wait_for "VMM-GUEST-SHELL: starting" 1000; then
	echo "FAIL: no shell"
	fail=1
	linux_finish
fi
sleep 2
type_cmd 'ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; sleep 1; echo MAC=$(cat /sys/class/net/eth0/address) CARRIER=$(cat /sys/class/net/eth0/carrier)'
wait_for "^MAC=" 60
check "eth0 has the MAC given, its link up" "^MAC=02:00:00:00:00:33 CARRIER=1"
rx_grows FIRST

kill -9 "$tp_pid"
wait "$tp_pid" 2>/dev/null
sleep 1
start_testpmd
sleep 4
check "the VMM reconnected" "back-end reconnected" "$tmp/err"
rx_grows AFTER

type_cmd "poweroff -f"
for _ in $(seq 120); do
	kill -0 "$vmm_pid" 2>/dev/null || break
	sleep 1
done
if kill -0 "$vmm_pid" 2>/dev/null; then
	echo "FAIL: the guest did not power off within 120 s"
	fail=1
	kill -9 "$vmm_pid"
fi
wait "$vmm_pid"
check_status $?
if [ $fail -ne 0 ]; then
	echo "---- testpmd (last 20 lines)"
	tail -20 "$tmp/testpmd.log"
fi
linux_finish
