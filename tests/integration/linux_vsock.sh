#!/usr/bin/env bash
# The default Linux guest with a virtio-vsock (--vsock cid=5,uds=PATH), over the transport in
# $TRANSPORT (mmio by default): the kernel's virtio vsock transport binds the device, and the
# guest's /usr/bin/vsock-echo (guest-images/tools/vsock-echo.c, run by the vsock check of /init)
# connects to the host, CID 2 port 1234, which the VMM maps to the Unix socket PATH_1234; a host
# helper there (linux_vsock_host.py) checks the 100000 pattern bytes the guest sends and answers
# with a line the guest prints. /init then ends the VM with a reboot.
# labels: slow linux
# requires: kvm
# timeout: 900
# resource: linux
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/linux_lib.sh"
TRANSPORT=${TRANSPORT:-mmio}
uds="$tmp/v.sock"
python3 "$SOURCE_DIR/tests/integration/linux_vsock_host.py" "${uds}_1234" >"$tmp/host" 2>&1 &
host_pid=$!
trap 'kill $host_pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do
	grep -q '^ready' "$tmp/host" 2>/dev/null && break
	sleep 0.2
done
cmdline="$CMDLINE rcupdate.rcu_cpu_stall_suppress=1 vmmguest.end=reboot vmmguest.dhcp=0"
cmdline+=" vmmguest.run=vsock vmmguest.vsock.port=1234"

start=$(date +%s.%N)
timeout 800 "$VMM" -v -v --kernel "$VMLINUX" --initrd "$INITRAMFS" --mem 128M \
	--transport "$TRANSPORT" --vsock "cid=5,uds=$uds" --append "$cmdline" \
	</dev/null >"$tmp/out" 2>"$tmp/err"
status=$?
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
tr -d '\r' <"$tmp/out" >"$tmp/log"

check "reached Run /init" 'Run /init as init process' "$tmp/log"
check "the guest drove virtio-vsock" 'virtio-vsock: driver ready' "$tmp/err"
check "/init saw the vsock device (ID 19) bound" \
	'VMM-GUEST-VIRTIO: .* device=0x0013 .*driver=vmw_vsock_virtio_transport' "$tmp/log"
check "the vsock transport driver holds the device" 'VMM-GUEST-VSOCK-DRIVER: virtio' "$tmp/log"
check "the guest's program reached the host and read its answer" \
	'VMM-GUEST-VSOCK: vsock-echo: sent 100000 bytes, reply: OK 100000 bytes intact \(status 0\)' \
	"$tmp/log"
check "the host saw the guest's greeting" '^line: hello-from-guest 100000' "$tmp/host"
check "/init ended the VM" 'VMM-GUEST-END: reboot' "$tmp/log"
check_status "$status"
echo "booted in ${elapsed}s, exit status $status"
[ $fail -eq 0 ] || cat "$tmp/host"
linux_finish
