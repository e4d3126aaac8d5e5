#!/usr/bin/env bash
# Boots the default Linux guest on our VMM with a virtio-net NIC on a tap in a network namespace
# made here, and the kernel's static IP configuration
# `ip=192.168.77.2::192.168.77.1:255.255.255.0::eth0:off`: the guest kernel must answer ping
# from the namespace (ARP and ICMP echo are answered in softirq context, no user space needed,
# so this works on emulated KVM too). Polls with ping until the guest answers or time runs out,
# then stops the VM. The subnet exists only inside the namespace.
# labels: slow linux
# requires: kvm netns ping
# timeout: 900
# resource: linux
set -uo pipefail

SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
VMM="${VMM:-$PWD/vmm}"
. "$SOURCE_DIR/tests/integration/require.sh"
require kvm netns ping
eval "$("$SOURCE_DIR/guest-images/build.sh" --print-env)" || exit 1

NS="vmmtest-$$"
TAP=vtap0
tmp=$(mktemp -d)
vm=""
trap '[ -n "$vm" ] && kill "$vm" 2>/dev/null; ip netns del "$NS" 2>/dev/null; rm -rf "$tmp"' EXIT
ip netns add "$NS" || exit 1
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev "$TAP" mode tap vnet_hdr || exit 1
ip -n "$NS" addr add 192.168.77.1/24 dev "$TAP"
ip -n "$NS" link set "$TAP" up

cmdline="$CMDLINE ip=192.168.77.2::192.168.77.1:255.255.255.0::eth0:off"
cmdline+=" rcupdate.rcu_cpu_stall_suppress=1"
start=$(date +%s)
ip netns exec "$NS" timeout 800 "$VMM" --kernel "$VMLINUX" --initrd "$INITRAMFS" --mem 128M \
	--net "tap=$TAP,mac=52:54:00:77:00:02" --append "$cmdline" </dev/null >"$tmp/out" \
	2>"$tmp/err" &
vm=$!

fail=0
answered=0
while kill -0 "$vm" 2>/dev/null; do
	# Ping only once the kernel configured the address: earlier pings cost the guest nothing
	# but the ARP queries would only be dropped.
	if tr -d '\r' <"$tmp/out" | grep -q 'IP-Config: Complete' &&
		ip netns exec "$NS" ping -c 1 -W 3 192.168.77.2 >"$tmp/ping" 2>&1; then
		answered=1
		break
	fi
	sleep 2
done
elapsed=$(($(date +%s) - start))
if [ $answered = 1 ]; then
	echo "ok: the guest kernel answered ping after ${elapsed}s"
	if ip netns exec "$NS" ping -c 3 -i 0.5 -W 3 192.168.77.2 >"$tmp/ping" 2>&1; then
		echo "ok: ping -c 3: $(tail -n 1 "$tmp/ping")"
	else
		echo "FAIL: ping -c 3 after the first answer"
		cat "$tmp/ping"
		fail=1
	fi
else
	echo "FAIL: no answer to ping (VM ended after ${elapsed}s)"
	fail=1
fi
kill "$vm" 2>/dev/null
wait "$vm" 2>/dev/null
vm=""
tr -d '\r' <"$tmp/out" >"$tmp/log"
if grep -q 'IP-Config: Complete' "$tmp/log"; then
	echo "ok: IP-Config: Complete"
else
	echo "FAIL: no IP-Config: Complete"
	fail=1
fi
if [ $fail -ne 0 ]; then
	echo "---- guest console (last 30 lines)"
	tail -30 "$tmp/log"
	echo "---- vmm stderr"
	tail -10 "$tmp/err"
fi
exit $fail
