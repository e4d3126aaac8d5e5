#!/bin/sh
# vsock check: the virtio vsock transport is bound to the device, and /usr/bin/vsock-echo talks to
# the host (CID 2) over AF_VSOCK:
#   vmmguest.vsock.port=PORT    the host port (the VMM connects it to its Unix socket PATH_PORT)
#   vmmguest.vsock.bytes=N      bytes sent after the greeting line (default 100000)
. /usr/share/vmmguest/lib.sh

drv=/sys/bus/virtio/drivers/vmw_vsock_virtio_transport
bound=""
for dev in "$drv"/virtio*; do
	[ -e "$dev" ] && bound="$bound${bound:+ }${dev##*/}"
done
echo "VMM-GUEST-VSOCK-DRIVER: ${bound:-(none)}"
[ -n "$bound" ] || exit 1
port=$(cmdline_value vmmguest.vsock.port)
bytes=$(cmdline_value vmmguest.vsock.bytes)
[ -n "$port" ] || exit 0
vsock-echo "$port" "${bytes:-100000}" >/tmp/.vsock-reply 2>&1
rc=$?
last=""
while IFS= read -r line; do last=$line; done </tmp/.vsock-reply
echo "VMM-GUEST-VSOCK: $last (status $rc)"
exit $rc
