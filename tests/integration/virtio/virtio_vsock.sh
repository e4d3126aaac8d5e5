#!/usr/bin/env bash
# virtio-vsock over virtio-mmio (tests/guests/virtio_vsock.c) against a host helper
# (vsock_host.py) on the Unix sockets of --vsock cid=N,uds=PATH: guest->host echo with every byte
# checked, 16 connections at once, credit exhaustion and recovery (the device must stop at the
# guest's 4 KiB and go on after each CREDIT_UPDATE), and a host-initiated connection
# (CONNECT 5000 / OK) whose bytes the guest checks and echoes back. Split and packed rings.
# The VMM removes PATH when it exits.
# Our VMM only: QEMU's vsock needs the vhost_vsock module (vhost-vsock-pci), not loaded here.
# TRANSPORT=pci (virtio_vsock_pci.sh): the same over modern virtio-pci.
# labels: guests virtio
# requires: kvm
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

RUN_TIMEOUT=120
virtio_transport_init
UDS="$LIB_TMP/v.sock"

for ring in split packed; do
	python3 "$SOURCE_DIR/tests/integration/lib/vsock_host.py" "$UDS" --timeout 110 \
		>"$LIB_TMP/host-$ring.out" 2>&1 &
	host_pid=$!
	for _ in $(seq 50); do # its echo and source servers listen before the guest connects
		grep -q '^ready' "$LIB_TMP/host-$ring.out" 2>/dev/null && break
		sleep 0.2
	done
	run_vmm virtio_vsock "${vmm_transport[@]}" --vsock "cid=7,uds=$UDS" \
		--append "$(guest_args $ring) ring=$ring"
	expect_pass
	expect_output "^virtio-vsock at 0x[0-9a-f]+: guest CID 7, $ring ring"
	expect_output '^echo: 65536 bytes both ways ok'
	expect_output '^many: 16 connections ok'
	expect_output '^credit: [1-9][0-9]* stalls at 4096 bytes, recovered each time, 32768 bytes ok'
	expect_output '^host: 65536 bytes from the host checked and echoed'
	[ ! -e "$UDS" ] && lib_ok "$UDS removed at exit (seccomp on)" ||
		lib_fail "$UDS still there after the VMM exited"
	if wait "$host_pid"; then
		lib_ok "host side: $(tr '\n' ';' <"$LIB_TMP/host-$ring.out")"
	else
		lib_fail "host side failed: $(cat "$LIB_TMP/host-$ring.out")"
	fi
	grep -q '^echo connections: 17$' "$LIB_TMP/host-$ring.out" &&
		lib_ok "17 echo connections seen by the host" ||
		lib_fail "echo connections: $(grep connections "$LIB_TMP/host-$ring.out")"
done

# Bad options are refused with a clear message.
for bad in "cid=2,uds=$UDS" "cid=3" "uds=$UDS" "cid=3,uds=$UDS,x=1"; do
	run_vmm virtio_vsock --vsock "$bad"
	if [ "$RUN_STATUS" -ne 0 ] && grep -q "vsock" "$RUN_ERR"; then
		lib_ok "--vsock $bad refused: $(head -1 "$RUN_ERR")"
	else
		lib_fail "--vsock $bad: status $RUN_STATUS"
	fi
done
finish
