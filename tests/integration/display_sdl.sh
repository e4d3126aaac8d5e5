#!/usr/bin/env bash
# The real SDL2 window (--display sdl) on a virtual X server (xvfb-run): the virtio_gpu guest
# draws its picture, and at exit --screenshot reads back what the window shows
# (SDL_RenderReadPixels), which must match the picture pixel for pixel. Skipped without xvfb-run
# or in a VMM built without SDL2.
# labels: guests virtio display slow
# requires: kvm xvfb-run
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require kvm xvfb-run
if "$VMM" --kernel /dev/null --display sdl 2>&1 | grep -q "built without SDL2"; then
	skip "built without SDL2" "this vmm was built without SDL2 (libsdl2-dev)"
fi

shot="$LIB_TMP/window.png"
VMM_REAL="$VMM"
VMM="$LIB_TMP/vmm-xvfb"
printf '#!/bin/sh\nexec xvfb-run -a -s "-screen 0 1280x1024x24" "%s" "$@"\n' "$VMM_REAL" >"$VMM"
chmod +x "$VMM"
run_vmm virtio_gpu --display sdl --screenshot "$shot" --append "width=320 height=200"
expect_pass
expect_output '^gpu pattern 320x200 drawn'
if python3 "$SOURCE_DIR/tests/integration/display_png_check.py" "$shot" 320 200; then
	lib_ok "window screenshot matches"
else
	lib_fail "window screenshot differs"
	lib_dump_output
fi
finish
