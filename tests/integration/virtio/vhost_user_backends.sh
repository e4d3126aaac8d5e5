#!/usr/bin/env bash
# The vhost-user front-end (virtio/vhost_user) against the real Debian back-ends, with no KVM and
# no guest: tests/vhost_user (vhost_user_check) shares a memfd as guest RAM, lays a split ring in
# it and plays the guest's driver.
#  - qemu-storage-daemon, vhost-user-blk export over a raw file: GET_CONFIG capacity, sectors
#    written, read back, flushed and found in the file, GET_VRING_BASE; then the daemon is
#    killed: the front-end sees it within seconds and nothing hangs, a new daemon on the same
#    socket is reconnected and serves I/O again.
#  - the same daemon through the VMM's vhost-user-blk device model (virtio/vhost_user/vu_blk.c):
#    config space from GET_CONFIG, DRIVER_OK, I/O with interrupts from the device's I/O thread;
#    the daemon killed with the ring drained: the device reconnects to the restarted one itself.
#  - dpdk-testpmd's vhost-user port (no huge pages) through the vhost-user-net device model
#    (vu_net.c), testpmd looping its port in macswap mode: a frame sent on tx comes back on rx
#    with its MACs swapped; testpmd killed while rx buffers are posted: the device reconnects to
#    the restarted one itself and frames flow again. Left out, with a note, without dpdk-testpmd
#    (Debian's dpdk-dev).
#  - virtiofsd over a directory: FUSE_INIT, LOOKUP, OPEN, READ of a file made here, the bytes
#    compared; then virtiofsd killed and restarted: the rings handed to the new one as they are,
#    a new FUSE_INIT (a guest's remount), the file read again.
# Skipped (77) when qemu-storage-daemon or virtiofsd is not installed (tools/setup.sh installs
# qemu-system-common, which has both, and dpdk-dev, which has dpdk-testpmd).
# labels: vhost_user
# requires: root
# timeout: 180
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

CHECK=$BUILD_DIR/tests/vhost_user_check
QSD=${QSD:-qemu-storage-daemon}
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
TESTPMD=${TESTPMD:-dpdk-testpmd}
[ -x "$CHECK" ] || { echo "FAIL: $CHECK not built (ninja vhost_user_check)"; exit 1; }
command -v "$QSD" >/dev/null || skip "no vhost-user back-end" "$QSD not installed (qemu-system-common)"
[ -x "$VIRTIOFSD" ] || skip "no vhost-user back-end" "$VIRTIOFSD not installed (qemu-system-common)"

PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$LIB_TMP" "/var/run/dpdk/vu-check-$$-"* # testpmd's EAL runtime files
}
trap cleanup EXIT

# check LABEL CMD...: runs vhost_user_check; a pass needs its "PASS" line and status 0.
check() {
	local label=$1 out status line
	shift
	# shellcheck disable=SC2034 # lib_ok and lib_fail print it
	RUN_LABEL=$label
	out=$(timeout 60 "$CHECK" "$@" 2>&1)
	status=$?
	while IFS= read -r line; do echo "  $line"; done <<<"$out"
	if [ $status -eq 0 ] && grep -qx PASS <<<"$out"; then
		lib_ok "vhost_user_check $1 passed"
	else
		lib_fail "vhost_user_check $1: status $status"
	fi
}

# --- vhost-user-blk: qemu-storage-daemon ------------------------------------------------------
disk=$LIB_TMP/disk.raw
blk_sock=$LIB_TMP/blk.sock
truncate -s 4M "$disk"
qsd_cmd="$QSD --blockdev driver=file,node-name=disk,filename=$disk \
--export type=vhost-user-blk,id=exp0,node-name=disk,addr.type=unix,addr.path=$blk_sock,writable=on"
$qsd_cmd >"$LIB_TMP/qsd.log" 2>&1 &
PIDS+=($!)
check "vhost-user-blk" blk "$blk_sock" "$disk"
kill "${PIDS[-1]}" 2>/dev/null
wait "${PIDS[-1]}" 2>/dev/null

# Killed mid-session, restarted on the same socket (the restart command records its pid).
$qsd_cmd >"$LIB_TMP/qsd2.log" 2>&1 &
PIDS+=($!)
check "vhost-user-blk, back-end killed and restarted" blk "$blk_sock" "$disk" "${PIDS[-1]}" \
	"$qsd_cmd >$LIB_TMP/qsd3.log 2>&1 & echo \$! >$LIB_TMP/qsd3.pid"
[ -f "$LIB_TMP/qsd3.pid" ] && PIDS+=("$(cat "$LIB_TMP/qsd3.pid")")

# The same daemon through the vhost-user-blk device model, killed with the ring drained and
# restarted: the device reconnects by itself. The restarted daemon above goes first (the new
# one takes its socket).
if [ -f "$LIB_TMP/qsd3.pid" ]; then
	kill "$(cat "$LIB_TMP/qsd3.pid")" 2>/dev/null
	while kill -0 "$(cat "$LIB_TMP/qsd3.pid")" 2>/dev/null; do sleep 0.1; done
fi
$qsd_cmd >"$LIB_TMP/qsd4.log" 2>&1 &
PIDS+=($!)
check "vhost-user-blk device, back-end killed and restarted" blkdev "$blk_sock" "$disk" \
	"${PIDS[-1]}" "$qsd_cmd >$LIB_TMP/qsd5.log 2>&1 & echo \$! >$LIB_TMP/qsd5.pid"
[ -f "$LIB_TMP/qsd5.pid" ] && PIDS+=("$(cat "$LIB_TMP/qsd5.pid")")

# --- vhost-user-net: dpdk-testpmd ----------------------------------------------------------------
if command -v "$TESTPMD" >/dev/null; then
	net_sock=$LIB_TMP/net.sock
	# no huge pages, no PCI, a small mbuf pool; its main and forwarding lcores both on the
	# first CPU this test may use (a one-CPU runner works too); an EAL prefix of its own per
	# start (runs in parallel do not collide, and the restarted one reuses nothing of the killed
	# one's runtime files: with the same prefix it once failed "Cannot init memzone" in the
	# suite's run); --stats-period keeps it running without a terminal. DPDK does not remove a
	# stale socket, so the restart does.
	cpu=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')
	tp_cmd() { # tp_cmd N: the command of testpmd's Nth start
		echo "$TESTPMD --lcores 0@$cpu,1@$cpu --no-huge -m 256 --no-pci" \
			"--file-prefix=vu-check-$$-$1 --vdev net_vhost0,iface=$net_sock,queues=1 --" \
			"--port-topology=loop --forward-mode=macswap --nb-cores=1 --total-num-mbufs=4096" \
			"--stats-period=60"
	}
	$(tp_cmd 1) >"$LIB_TMP/testpmd.log" 2>&1 &
	PIDS+=($!)
	check "vhost-user-net device, testpmd killed and restarted" net "$net_sock" "${PIDS[-1]}" \
		"rm -f $net_sock; $(tp_cmd 2) >$LIB_TMP/testpmd2.log 2>&1 & echo \$! >$LIB_TMP/tp2.pid"
	[ -f "$LIB_TMP/tp2.pid" ] && PIDS+=("$(cat "$LIB_TMP/tp2.pid")")
else
	echo "  note: vhost-user-net not checked: $TESTPMD not installed (Debian's dpdk-dev)"
fi

# --- virtio-fs: virtiofsd ---------------------------------------------------------------------
share=$LIB_TMP/share
mkdir -p "$share"
head -c 3000 /dev/urandom >"$share/data.bin"
"$VIRTIOFSD" --socket-path="$LIB_TMP/fs.sock" -o source="$share" -o cache=none \
	>"$LIB_TMP/virtiofsd.log" 2>&1 &
PIDS+=($!)
check "virtio-fs" fs "$LIB_TMP/fs.sock" "$share" data.bin
kill "${PIDS[-1]}" 2>/dev/null
wait "${PIDS[-1]}" 2>/dev/null

# virtiofsd killed and restarted: the rings go to the new one as they are, a FUSE_INIT starts a
# new session (a guest's remount), the file reads again
fsd_cmd="$VIRTIOFSD --socket-path=$LIB_TMP/fs.sock -o source=$share -o cache=none"
$fsd_cmd >>"$LIB_TMP/virtiofsd.log" 2>&1 &
PIDS+=($!)
check "virtio-fs, virtiofsd killed and restarted" fs "$LIB_TMP/fs.sock" "$share" data.bin \
	"${PIDS[-1]}" "$fsd_cmd >>$LIB_TMP/virtiofsd2.log 2>&1 & echo \$! >$LIB_TMP/fsd2.pid"
[ -f "$LIB_TMP/fsd2.pid" ] && PIDS+=("$(cat "$LIB_TMP/fsd2.pid")")
if [ "$LIB_CHECKS_FAILED" -gt 0 ]; then
	for log in "$LIB_TMP"/*.log; do echo "--- $log"; tail -20 "$log"; done
fi
finish
