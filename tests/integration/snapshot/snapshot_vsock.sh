#!/usr/bin/env bash
# virtio-vsock across a snapshot: the vsock test guest (tests/guests/virtio_vsock.c snapshot=1)
# opens a connection to the host's echo server (vsock_host.py --echo-only on PATH_1234) and
# echoes 4 KiB; the VM is paused, snapshotted (PUT /snapshot/create) and killed; `vmm --restore
# DIR` resumes it. The guest must then get VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on its event
# queue, find its old connection gone (the device answers a packet on it with RST), connect
# again and echo 4 KiB through the restored VMM, which has bound PATH again (the killed VMM left
# its socket file behind).
# labels: snapshot virtio
# requires: kvm
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/snapshot_lib.sh"

RUN_TIMEOUT=120
kernel=$(guest_path virtio_vsock) || finish
UDS="$LIB_TMP/v.sock"
sock="$LIB_TMP/api.sock"
dir="$LIB_TMP/snap"

python3 "$SOURCE_DIR/tests/integration/lib/vsock_host.py" "$UDS" --echo-only --timeout 250 \
	>"$LIB_TMP/host.out" 2>&1 &
SNAP_PIDS+=($!)
for _ in $(seq 50); do
	grep -q '^ready' "$LIB_TMP/host.out" 2>/dev/null && break
	sleep 0.2
done

lib_new_run "vmm virtio_vsock snapshot=1 (to be snapshotted)"
"$VMM" --landlock-rules "$LIB_TMP:rw" --kernel "$kernel" --debug-exit --console stdio --api-sock "$sock" \
	--vsock "cid=5,uds=$UDS" --append "transport=mmio snapshot=1" </dev/null >"$RUN_OUT" \
	2>"$RUN_ERR" &
SNAP_PID=$!
SNAP_PIDS+=("$SNAP_PID")
snap_wait_sock "$sock" "$SNAP_PID" || lib_fail "the API socket never came"
for _ in $(seq 600); do
	tr -d '\r' <"$RUN_OUT" | grep -q '^SNAP-READY' && break
	kill -0 "$SNAP_PID" 2>/dev/null || break
	sleep 0.1
done
expect_output '^snapshot: port [0-9]+ connected to host port 1234, 4096 bytes echoed'
expect_output '^SNAP-READY'
if got=$(snap_take "$sock" "$dir"); then
	lib_ok "paused and snapshotted with the connection open"
else
	lib_fail "snapshot: $got"
	lib_dump_output
fi
snap_kill "$SNAP_PID"
[ -S "$UDS" ] && lib_ok "the killed VMM left $UDS behind (the restore must replace it)"

run_restore "vmm --restore (vsock)" --restore "$dir" --landlock-rules "$LIB_TMP:rw" # its socket
expect_pass
expect_no_output '^SNAP-READY' # went on, did not boot again
expect_output '^snapshot: TRANSPORT_RESET received, connections dropped, CID still 5'
expect_output '^snapshot: the old connection is gone \(RST\)'
expect_output '^snapshot: connected again after the restore, 4096 bytes echoed'
[ ! -e "$UDS" ] && lib_ok "the restored VMM removed $UDS at exit" ||
	lib_fail "$UDS still there after the restored VMM exited"
finish
