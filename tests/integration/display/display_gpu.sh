#!/usr/bin/env bash
# virtio-gpu 2D, headless (tests/guests/virtio_gpu.c): the guest draws a known picture (full
# transfer over a two-piece backing, then a partial update) and --screenshot writes the scanout
# at VMM exit; tests/integration/lib/display_png_check.py compares it with the same picture
# computed in python, pixel for pixel, over virtio-mmio and virtio-pci. QEMU (virtio-gpu-device) runs the
# same guest (no screenshot there).
# labels: guests virtio display
# requires: kvm
# timeout: 120
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

check_png() {
	if python3 "$SOURCE_DIR/tests/integration/lib/display_png_check.py" "$@"; then
		lib_ok "screenshot $1 matches"
	else
		lib_fail "screenshot $1 differs"
	fi
}

for size in "320 200" "64 40"; do
	set -- $size
	shot="$LIB_TMP/shot-$1x$2.png"
	run_vmm virtio_gpu --gpu --screenshot "$shot" --append "width=$1 height=$2"
	expect_pass
	expect_output "^gpu pattern $1x$2 drawn"
	check_png "$shot" "$1" "$2"
done

# The same over virtio-pci (MSI-X).
shot="$LIB_TMP/shot-pci.png"
run_vmm virtio_gpu --transport pci --gpu --screenshot "$shot" --append "transport=pci width=64 height=40"
expect_pass
check_png "$shot" 64 40

# Without a scanout there is nothing to write: a warning, no file, the guest's status kept.
shot="$LIB_TMP/none.png"
run_vmm hello --screenshot "$shot"
expect_pass
if [ ! -e "$shot" ] && grep -q "never set a scanout" "$RUN_ERR"; then
	lib_ok "no scanout, no screenshot"
else
	lib_fail "screenshot without a scanout"
fi

# Bad display options are usage errors.
run_vmm hello --display bogus
expect_status 2

if have_qemu; then
	QEMU_MACHINE=microvm,acpi=off run_qemu virtio_gpu -global virtio-mmio.force-legacy=false \
		-device virtio-gpu-device -append "width=320 height=200"
	expect_pass
	expect_output '^gpu pattern 320x200 drawn'
fi
finish
