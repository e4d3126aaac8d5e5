#!/usr/bin/env bash
# virtio-blk multiqueue (--disk PATH,num-queues=N), driven by the virtio_blk_mq test guest
# (tests/guests/virtio_blk_mq.c): VIRTIO_BLK_F_MQ and num_queues, requests on every queue at once
# (reads of the host's pattern checked in the guest, writes read back through another queue), a
# FLUSH on each queue; the host then checks the guest's pattern in the file. On our VMM over
# virtio-mmio and virtio-pci (one MSI-X vector per queue), 2 and 4 queues, with the I/O threads
# placed by iothread-cpus; on QEMU (microvm, num-queues=2) as the peer. A bad num-queues and a
# CPU that does not exist are refused with a clear error.
# labels: guests virtio
# requires: kvm
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/blk_lib.sh" # SECTORS, pattern, make_disk, check

# check_disk FILE QUEUES: queue q wrote 8 x 8 sectors of the guest pattern at 4096 + 64q.
check_disk() {
	local n=$(($2 * 64))
	check "guest pattern at 4096..$((4096 + n - 1))" \
		cmp <(dd if="$1" bs=512 skip=4096 count=$n status=none) <(pattern G GST 4096 $n)
	check "host pattern intact" \
		cmp <(dd if="$1" bs=512 count=2048 status=none) <(pattern H HST 0 2048)
}

expect_refusal() { # REGEX: the VMM failed and said so on stderr
	if [ "$RUN_STATUS" != 0 ] && grep -qE -- "$1" "$RUN_ERR"; then
		lib_ok "refused: $(grep -E -- "$1" "$RUN_ERR" | head -1)"
	else
		lib_fail "status $RUN_STATUS, stderr lacks /$1/: $(cat "$RUN_ERR")"
	fi
}

expect_mq_output() { # QUEUES
	expect_pass
	expect_output "^MQ negotiated, num_queues $1$"
	expect_output "^$1 queues at once: 8 reads and 8 writes each: ok$"
	expect_output '^flush on every queue, writes read back through another queue: ok$'
}

disk="$LIB_TMP/mq.img"
for transport in mmio pci; do
	TRANSPORT=$transport
	virtio_transport_init
	for nq in 2 4; do
		make_disk "$disk"
		run_vmm virtio_blk_mq "${vmm_transport[@]}" \
			--disk "$disk,num-queues=$nq,iothread-cpus=0:1" \
			--append "$(guest_args split) queues=$nq"
		expect_mq_output $nq
		check_disk "$disk" $nq
	done
done

# Refusals: num-queues out of range; a CPU this host does not have.
run_vmm virtio_blk_mq --disk "$disk,num-queues=9" --append "queues=9"
expect_refusal 'num-queues=9: expected a number from 1 to 8'
run_vmm virtio_blk_mq --disk "$disk,num-queues=2,iothread-cpus=4000" --append "queues=2"
expect_refusal 'iothread-cpus: CPU 4000 does not exist'

if have_qemu; then
	TRANSPORT=mmio
	virtio_transport_init
	make_disk "$disk"
	QEMU_MACHINE=$qemu_machine run_qemu virtio_blk_mq "${qemu_extra[@]}" \
		-drive "id=d0,file=$disk,format=raw,if=none" \
		-device "virtio-blk-device,drive=d0,num-queues=2" \
		--append "$(guest_args split) queues=2"
	expect_mq_output 2
	check_disk "$disk" 2
fi
finish
