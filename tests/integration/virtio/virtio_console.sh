#!/usr/bin/env bash
# virtio-console over virtio-mmio (tests/guests/virtio_console.c), port 0 (hvc0): the guest's line
# on transmitq0 must reach the host side, and a line fed on the host side (a pipe on stdin, not a
# terminal) must reach the guest's receiveq0, which echoes it. Our VMM (--console virtio: COM1
# and hvc0 share stdout) and QEMU microvm (hvc0 on stdio, COM1 to a file). Split and packed rings;
# input given at once (before the guest's driver is ready) and a second later.
# TRANSPORT=pci (virtio_console_pci.sh): the same over modern virtio-pci (our VMM with
# --transport pci, QEMU q35 with virtio-serial-pci), MSI-X on the split-ring runs, INTx on the
# packed-ring runs.
# labels: guests virtio
# requires: kvm
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

INPUT=ping-from-host

virtio_transport_init
qemu_serial=$(qemu_model serial)

# feed DELAY: the input line, after DELAY seconds (the pipe stays open meanwhile).
feed() {
	sleep "$1"
	printf '%s\n' "$INPUT"
}

# run_vmm_fed DELAY RING: like run_vmm, but stdin is a pipe carrying the input line.
run_vmm_fed() {
	local kernel
	lib_new_run "vmm virtio_console ${vmm_transport[*]} --console virtio (input after $1 s, $2 ring)"
	kernel=$(guest_path virtio_console) || {
		RUN_STATUS=127
		return 0
	}
	feed "$1" | timeout "$RUN_TIMEOUT" "$VMM" --kernel "$kernel" --debug-exit --mem 256M \
		"${vmm_transport[@]}" --console virtio \
		--append "$(guest_args $2) input=$INPUT ring=$2" >"$RUN_OUT" 2>"$RUN_ERR"
	RUN_STATUS=${PIPESTATUS[1]}
}

# run_qemu_fed DELAY RING: hvc0 on stdio (CON_OUT), COM1 to a file (RUN_OUT).
run_qemu_fed() {
	local kernel packed=off
	[ "$2" = packed ] && packed=on
	lib_new_run "qemu($qemu_machine) virtio_console (input after $1 s, $2 ring)"
	kernel=$(guest_path virtio_console) || {
		RUN_STATUS=127
		return 0
	}
	CON_OUT="$LIB_TMP/console$LIB_RUNS.out"
	feed "$1" | timeout "$RUN_TIMEOUT" "$QEMU" -enable-kvm -cpu host,-arch-capabilities \
		-M "$qemu_machine" -m 256M -nodefaults -no-user-config -nographic \
		-serial "file:$RUN_OUT" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-kernel "$kernel" "${qemu_extra[@]}" -chardev stdio,id=con0 \
		-device "$qemu_serial,packed=$packed$qemu_opts" -device virtconsole,chardev=con0 \
		-append "$(guest_args $2) input=$INPUT ring=$2" >"$CON_OUT" 2>"$RUN_ERR"
	RUN_STATUS=${PIPESTATUS[1]}
}

# expect_console FILE: the two lines the guest sent through hvc0.
expect_console() {
	local f=$1
	for line in "virtio-console: hello from hvc0" "virtio-console echo: $INPUT"; do
		if tr -d '\r' <"$f" | grep -qxF -- "$line"; then
			lib_ok "console has \"$line\""
		else
			lib_fail "console lacks \"$line\""
			lib_dump_output
		fi
	done
}

expect_guest_ok() {
	expect_pass
	if [ "$TRANSPORT" = pci ]; then
		local kind=MSI-X
		[ "$1" = packed ] && kind=INTx
		expect_output "^console: virtio-pci 00:[0-9a-f]{2}\.0, BAR 0x[0-9a-f]+, $kind "
	fi
	expect_output '^transmitq: line sent, buffer returned by interrupt: ok$'
	expect_output "^receiveq: input \"$INPUT\"\$"
}

for run in "0 split" "1 packed"; do
	set -- $run
	run_vmm_fed "$1" "$2"
	expect_guest_ok "$2"
	expect_console "$RUN_OUT"
done

if have_qemu && [ -r /dev/kvm ]; then
	for run in "0 split" "1 packed"; do
		set -- $run
		run_qemu_fed "$1" "$2"
		expect_guest_ok "$2"
		expect_console "$CON_OUT"
	done
fi
finish
