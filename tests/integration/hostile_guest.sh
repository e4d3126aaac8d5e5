#!/usr/bin/env bash
# The hostile guest (tests/guests/hostile.c) against our VMM: every virtio device (a writable and
# a read-only virtio-blk disk, virtio-rng, virtio-console, virtio-net on user networking when the
# VMM has libslirp, virtio-vsock with no host listener: its good request is a REQUEST that the
# device answers with RST, virtio-balloon with a target of 0 so that it refuses every inflation)
# abused item by item from the virtio checklist, then a seeded random driver,
# with several seeds, over virtio-mmio and virtio-pci. The VMM must end with the guest's pass
# status (not a crash, not a hang: the run has a timeout), the abused device must report
# DEVICE_NEEDS_RESET where the spec asks for it and come back after a reset, and the other
# devices must keep working; afterwards the host checks the files: the host's pattern intact,
# the read-only disk untouched.
#
# Our VMM only: QEMU reacts to the same abuses in its own (legal) ways, e.g. it stops a broken
# queue or the whole VM ("virtio: zero sized buffers are not allowed", exit) instead of setting
# DEVICE_NEEDS_RESET, so the guest's expectations are ours.
# labels: guests virtio slow
# timeout: 600
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECTORS=16384 # 8 MiB disks
MMIO_SEEDS=${HOSTILE_SEEDS:-"1 2 3"}
PCI_SEEDS=${HOSTILE_PCI_SEEDS:-"4 5"}
ROUNDS=${HOSTILE_ROUNDS:-120}

# The host pattern of blk_pattern_fill() ('H', "HST") in sectors 0..2047, zeros up to 8 MiB.
make_disk() {
	awk 'BEGIN { for (s = 0; s < 2048; s++) for (i = 0; i < 32; i++)
		printf "H%010u-HST\n", s }' >"$1"
	truncate -s $((SECTORS * 512)) "$1"
}

net=()
if "$VMM" --help 2>&1 | grep -q 'user-mode networking' &&
	ldd "$VMM" 2>/dev/null | grep -q libslirp; then
	net=(--net user)
else
	echo "note: no libslirp in $VMM: virtio-net not tested"
fi

make_disk "$LIB_TMP/pristine.img"
rw=$LIB_TMP/rw.img
ro=$LIB_TMP/ro.img

# run_hostile TRANSPORT SEED
run_hostile() {
	local transport=$1 seed=$2 kernel append="seed=$2 rounds=$ROUNDS"
	[ "$transport" = pci ] && append="$append transport=pci"
	lib_new_run "vmm hostile $transport seed=$seed"
	kernel=$(guest_path hostile) || {
		RUN_STATUS=127
		return 0
	}
	cp "$LIB_TMP/pristine.img" "$rw"
	cp "$LIB_TMP/pristine.img" "$ro"
	timeout "$RUN_TIMEOUT" "$VMM" --kernel "$kernel" --debug-exit --mem 256M \
		--transport "$transport" --console virtio --disk "$rw" --disk "$ro,ro" --rng \
		--balloon size=0 "${net[@]}" --vsock "cid=3,uds=$LIB_TMP/v.sock" --append "$append" </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
	RUN_STATUS=$?
	if [ "$RUN_STATUS" = 124 ]; then
		lib_fail "timed out after ${RUN_TIMEOUT}s (a hang)"
	fi
}

check_files() {
	if cmp -s <(head -c $((2048 * 512)) "$rw") <(head -c $((2048 * 512)) "$LIB_TMP/pristine.img"); then
		lib_ok "file: host pattern intact on the writable disk"
	else
		lib_fail "file: the writable disk's host pattern changed"
	fi
	if cmp -s "$ro" "$LIB_TMP/pristine.img"; then
		lib_ok "file: read-only disk untouched"
	else
		lib_fail "file: the read-only disk changed"
	fi
}

check_run() {
	expect_pass
	expect_output "^hostile: seed $1, $ROUNDS rounds, [0-9]+ devices over $2: blk0 blk1\(ro\) rng0 console0"
	expect_output "^hostile: .* vsock0( |$)"
	expect_output '^checklist sweep: [0-9]+ abuses x [0-9]+ devices: ok'
	expect_output '^random driver: [0-9]+ rounds: ok'
	expect_output "^hostile: seed $1, .* balloon0( |$)" # the balloon was found and abused too
	expect_no_output 'UNEXPECTED EXCEPTION|FAIL'
	check_files
}

for seed in $MMIO_SEEDS; do
	run_hostile mmio "$seed"
	check_run "$seed" mmio
done
for seed in $PCI_SEEDS; do
	run_hostile pci "$seed"
	check_run "$seed" pci
done
finish
