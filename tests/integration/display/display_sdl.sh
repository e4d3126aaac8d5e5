#!/usr/bin/env bash
# The real SDL2 window (--display sdl) on a virtual X server (Xvfb): the virtio_gpu guest
# draws its picture, and at exit --screenshot reads back what the window shows
# (SDL_RenderReadPixels), which must match the picture pixel for pixel. Skipped without Xvfb
# or in a VMM built without SDL2.
# labels: guests virtio display slow
# requires: kvm Xvfb
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

require kvm Xvfb
if "$VMM" --kernel /dev/null --display sdl 2>&1 | grep -q "built without SDL2"; then
	skip "built without SDL2" "this vmm was built without SDL2 (libsdl2-dev)"
fi

shot="$LIB_TMP/window.png"
VMM_REAL="$VMM"
VMM="$LIB_TMP/vmm-xvfb"
# The VMM on a private X server, which picks a free display and writes its number to fd 3. Not
# xvfb-run: its own clean-up failed once in CI ("problem while cleaning up temporary directory",
# exit 5) after a run that had passed. The wrapper's status is the VMM's.
cat >"$VMM" <<EOF
#!/bin/sh
num="$LIB_TMP/display.\$\$"
Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp 3>"\$num" 2>"$LIB_TMP/xvfb.err" &
x=\$!
for _ in \$(seq 100); do [ -s "\$num" ] && break; sleep 0.1; done
[ -s "\$num" ] || { echo "Xvfb did not start: \$(cat "$LIB_TMP/xvfb.err")" >&2; kill \$x; exit 99; }
DISPLAY=:\$(cat "\$num") "$VMM_REAL" "\$@"
st=\$?
kill \$x 2>/dev/null
wait \$x 2>/dev/null
exit \$st
EOF
chmod +x "$VMM"
run_vmm virtio_gpu --display sdl --screenshot "$shot" --append "width=320 height=200"
expect_pass
expect_output '^gpu pattern 320x200 drawn'
if python3 "$SOURCE_DIR/tests/integration/lib/display_png_check.py" "$shot" 320 200; then
	lib_ok "window screenshot matches"
else
	lib_fail "window screenshot differs"
	lib_dump_output
fi
finish
