#!/usr/bin/env bash
# tools/bench in quick mode (one run per VMM, tiny sizes): proves every subcommand of `all` but
# boot, and vhost-user-blk, runs end to end on our VMM and on QEMU (net too, where root and ip
# netns are there) and writes its table and plot. Never asserts a timing (shared hosts), so it
# runs beside the Linux boots (no `linux` resource); bench_quick_boot.sh checks the boot
# benchmark, which boots Linux.
# Also checks the boot-timer guest against our VMM's --boot-timer report, where the VMM has it.
# labels: bench
# requires: kvm
# timeout: 900
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

out="$LIB_TMP/bench"
what=startup,memory,blk,exit-cost,net,api,snapshot,ratelimit,vsock,vhost-user-blk,working-set
RUN_LABEL="tools/bench $what --quick"
if VMM="$VMM" GUESTS="$GUESTS" QEMU="$QEMU" "$SOURCE_DIR/tools/bench" "$what" --quick \
	--boot-timeout 300 --out "$out" >"$LIB_TMP/bench.out" 2>"$LIB_TMP/bench.err"; then
	lib_ok "exit status 0"
else
	lib_fail "exit status $?"
	tail -n 60 "$LIB_TMP/bench.err"
fi
cat "$LIB_TMP/bench.out"

RUN_OUT="$out/results.md"
[ -f "$RUN_OUT" ] || : >"$RUN_OUT"
expect_output '^\| bench \| metric \| better \| vmm \|'
expect_output '^\| startup \| launch to guest output \(ms\) \| lower \| [0-9]'
expect_output '^\| memory \| peak RSS \(MiB\) \| lower \| [0-9]'
expect_output '^\| exit-cost \| MMIO write, exit to user space \(ns\) \| lower \| [0-9]'
expect_output '^\| exit-cost \| MMIO write, ioeventfd \(ns\) \| lower \| [0-9]'
if [ -f "$GUESTS/ws_touch.elf" ]; then
	expect_output '^\| working-set \| Uffd, memory file cached: restore to first answer, with its working set \(ms\) \| lower \| [0-9]'
	expect_output '^\| working-set \| File, memory file evicted: restore to first answer, cold \(ms\) \| lower \| [0-9]'
fi
if [ -f "$GUESTS/blk_bench.elf" ]; then
	expect_output '^\| blk \| 4K randread qd=32 \(IOPS\) \| higher \| [0-9]'
	expect_output '^\| snapshot \| snapshot of the paused guest, request to answer \(ms\) \| lower \| [0-9]'
	expect_output '^\| snapshot \| restore: launch to running \(control socket\) \(ms\) \| lower \| [0-9]'
	expect_output '^\| snapshot \| restore: PUT /snapshot/load, mem_backend File: launch to running \(ms\) \| lower \| [0-9]'
	expect_output '^\| snapshot \| restore: PUT /snapshot/load, mem_backend Uffd: launch to running \(ms\) \| lower \| [0-9]'
	expect_output '^\| snapshot \| 5 clones: private memory per clone, mean \(MiB\) \| lower \| [0-9]'
else
	expect_output 'blk: skipped: blk_bench guest missing'
fi
# vhost-user-blk (not in all): ours and QEMU on one qemu-storage-daemon, and our own disk.
if [ -f "$GUESTS/blk_bench.elf" ] && command -v qemu-storage-daemon >/dev/null; then
	expect_output '^\| vhost-user-blk \| 4K randread qd=32 \(IOPS\) \| higher \| [0-9]'
	have_qemu && expect_output '^\| bench \|.* \| qemu-vhost-user \|.* vmm-in-process \|'
fi
if [ "$(id -u)" = 0 ] && ip netns list >/dev/null 2>&1; then
	expect_output '^\| net \| guest->host 60-byte frames \(frames/s\) \| higher \| [0-9]'
	expect_output '^\| net \| host->guest 1514-byte frames \(Mbit/s\) \| higher \| [0-9]'
	expect_output '^\| net \| guest->host 60-byte frames, 2 queue pairs \(frames/s\) \| higher \| [0-9]'
	expect_output '^\| net \| guest->host 1514-byte frames, 2 queue pairs \(Mbit/s\) \| higher \| [0-9]'
	expect_output '^\| net \| host->guest 60-byte frames, 2 queue pairs \(frames/s\) \| higher \| [0-9]'
else
	expect_output 'net: skipped: needs root and ip netns'
fi
if have_qemu; then
	expect_output '^\| bench \| metric \| better \| vmm \| qemu-microvm \| qemu-q35 \|'
	# QEMU's best configuration for the disk too: an IOThread and io_uring.
	[ -f "$GUESTS/blk_bench.elf" ] && expect_output '^\| bench \|.* \| qemu-iothread \|.* vmm/qemu-iothread \|'
fi
if command -v gnuplot >/dev/null; then
	for f in ratios.png ratios.svg; do
		if [ -s "$out/$f" ]; then lib_ok "$f written"; else lib_fail "$f missing"; fi
	done
fi

# The boot timer itself: the guest's first instruction hits it exactly once.
if "$VMM" --help | grep -q -- --boot-timer; then
	run_vmm boot_timer --boot-timer
	expect_pass
	RUN_OUT="$RUN_ERR"
	expect_output '^boot-timer: setup-to-first-run-us=[0-9]+ first-run-to-timer-us=[0-9]+ to-run-init-us=- total-us=[0-9]+ to-timer-us=[0-9]+ timer-hits=1 '
else
	echo "note: $VMM has no --boot-timer yet: boot-timer report not checked"
fi
finish
