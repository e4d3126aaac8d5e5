#!/usr/bin/env bash
# virtio-pmem over virtio-mmio and virtio-pci (tests/guests/virtio_pmem.c): the window above 4 GiB,
# FLUSHes answered 0 (after fsync; at once when read-only), an unknown request answered 1, a
# request without room for its answer given back empty. Then the host-side refusals: a file that
# is not a multiple of 2 MiB, a directory, a missing file. Our VMM only.
# labels: guests virtio
# requires: kvm
# timeout: 120
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

img="$LIB_TMP/pmem.img"
truncate -s 4M "$img"
for TRANSPORT in mmio pci; do
	virtio_transport_init
	for ro in 0 1; do
		opt="path=$img"
		[ $ro = 1 ] && opt="$opt,ro"
		run_vmm virtio_pmem "${vmm_transport[@]}" --pmem "$opt" \
			--append "$(guest_args split) size=4194304 ro=$ro"
		expect_pass
		expect_output '^virtio-pmem at 0x[0-9a-f]+: window 0x100000000\+0x400000'
		expect_output '^virtio-pmem: all answers ok'
	done
done

truncate -s 3M "$LIB_TMP/odd.img"
for bad in "$LIB_TMP/odd.img:non-zero multiple of 2 MiB" "$LIB_TMP:not a regular file|Is a directory" \
	"$LIB_TMP/missing:No such file"; do
	run_vmm virtio_pmem --pmem "path=${bad%%:*}"
	if [ "$RUN_STATUS" != 0 ] && [ "$RUN_STATUS" != 1 ] && grep -Eq "${bad#*:}" "$RUN_ERR"; then
		lib_ok "refused: ${bad#*:}"
	else
		lib_fail "not refused as '${bad#*:}' (status $RUN_STATUS)"
	fi
done
finish
