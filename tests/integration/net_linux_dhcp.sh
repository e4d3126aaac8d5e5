#!/usr/bin/env bash
# Boots the default Linux guest on our VMM with a virtio-net NIC on user-mode networking
# (--net user, libslirp) and `ip=dhcp`: the kernel's IP autoconfiguration (CONFIG_IP_PNP_DHCP)
# must complete with libslirp's lease, 10.0.2.15 via 10.0.2.2. This happens in the kernel before
# /init, so it works where guest user space cannot run (emulated KVM). The VMM runs in a network
# namespace made here (loopback only), so slirp reaches nothing outside it. The VM is stopped as
# soon as the lease is logged.
# labels: slow linux
# requires: kvm netns
# timeout: 900
# resource: linux
set -uo pipefail

SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
VMM="${VMM:-$PWD/vmm}"
. "$SOURCE_DIR/tests/integration/require.sh"
require kvm netns
eval "$("$SOURCE_DIR/guest-images/build.sh" --print-env)" || exit 1

NS="vmmtest-$$"
tmp=$(mktemp -d)
vm=""
trap '[ -n "$vm" ] && kill "$vm" 2>/dev/null; ip netns del "$NS" 2>/dev/null; rm -rf "$tmp"' EXIT
ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up

cmdline="$CMDLINE ip=dhcp rcupdate.rcu_cpu_stall_suppress=1"
start=$(date +%s)
ip netns exec "$NS" timeout 800 "$VMM" --kernel "$VMLINUX" --initrd "$INITRAMFS" --mem 128M \
	--net user --append "$cmdline" </dev/null >"$tmp/out" 2>"$tmp/err" &
vm=$!
# Wait for the lease (the line after "IP-Config: Complete:" carries the address).
while kill -0 "$vm" 2>/dev/null; do
	tr -d '\r' <"$tmp/out" | grep -qE 'ipaddr=[0-9.]+, mask' && break
	sleep 2
done
sleep 1
kill "$vm" 2>/dev/null
wait "$vm" 2>/dev/null
vm=""
tr -d '\r' <"$tmp/out" >"$tmp/log"

fail=0
check() { # check WHAT REGEX
	if grep -qE -- "$2" "$tmp/log"; then
		echo "ok: $1"
	else
		echo "FAIL: $1 (no /$2/ in the console log)"
		fail=1
	fi
}
check "virtio-net probed" 'virtio_net virtio[0-9]+ eth0|eth0: .*virtio|virtio-mmio' 
check "IP-Config: Complete" 'IP-Config: Complete'
check "DHCP lease 10.0.2.15/24" 'ipaddr=10\.0\.2\.15, mask=255\.255\.255\.0, gw=10\.0\.2\.2'
check "DHCP server is slirp" 'bootserver=10\.0\.2\.2'
echo "lease after $(($(date +%s) - start)) s"
if [ $fail -ne 0 ]; then
	echo "---- guest console (last 30 lines)"
	tail -30 "$tmp/log"
	echo "---- vmm stderr"
	tail -10 "$tmp/err"
fi
exit $fail
