#!/usr/bin/env bash
# virtio-input keyboard and tablet (tests/guests/virtio_input.c): config space, statusq, and
# events injected with --input-script, read back by the guest in order with exact codes. On QEMU
# (virtio-keyboard-device, virtio-tablet-device) the config space and statusq only.
# labels: guests virtio display
# requires: kvm
# timeout: 120
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

script="$LIB_TMP/input.txt"
cat >"$script" <<'END'
# keyboard: KEY_A press and release, KEY_LEFTSHIFT press
key 30 1
key 30 0
key 42 1
# tablet: move to (1000, 2000), click BTN_LEFT
abs 1000 2000
btn 0x110 1
btn 0x110 0
END
run_vmm virtio_input --input-script "$script" --append events
expect_pass
expect_output '^keyboard: 6 events as injected'
expect_output '^tablet: 7 events as injected'

printf 'key 30 9\n' >"$script"
run_vmm virtio_input --input-script "$script"
expect_status 2

if have_qemu; then
	QEMU_MACHINE=microvm,acpi=off run_qemu virtio_input -global virtio-mmio.force-legacy=false \
		-device virtio-keyboard-device -device virtio-tablet-device
	expect_pass
	expect_output '^virtio-input ok'
fi
finish
