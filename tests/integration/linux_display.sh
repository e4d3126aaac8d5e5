#!/usr/bin/env bash
# The default Linux guest with a headless virtio-gpu and virtio-input keyboard and tablet
# (--gpu): the kernel binds virtio-gpu (DRM, fbdev emulation), puts its framebuffer console on it
# (console=tty0) and registers the input devices; the screenshot written at exit (--screenshot)
# must not be blank: the console's text is on it. /init ends the VM with a reboot, which ends the
# VMM and writes the screenshot.
# labels: slow linux display
# requires: kvm
# timeout: 900
# resource: linux
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/linux_lib.sh"
shot="$tmp/screen.png"
cmdline="$CMDLINE console=tty0 rcupdate.rcu_cpu_stall_suppress=1 vmmguest.end=reboot"

start=$(date +%s.%N)
timeout 800 "$VMM" -v -v --kernel "$VMLINUX" --initrd "$INITRAMFS" --mem 128M --gpu \
	--screenshot "$shot" --append "$cmdline" </dev/null >"$tmp/out" 2>"$tmp/err"
status=$?
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
tr -d '\r' <"$tmp/out" >"$tmp/log"

check "virtio-gpu bound by DRM" 'Initialized virtio_gpu' "$tmp/log"
check "fbdev on virtio-gpu" 'virtio_gpudrmfb frame buffer device' "$tmp/log"
check "framebuffer console" 'Console: switching to colour frame buffer device' "$tmp/log"
check "virtio-input devices registered" 'input: .* as /devices/.*virtio' "$tmp/log"
check "reached Run /init" 'Run /init as init process' "$tmp/log"
check "the guest drove virtio-gpu" 'virtio-gpu: driver ready' "$tmp/err"
check_status "$status"
if [ -s "$shot" ]; then
	# Not blank: several colours, and at least a few thousand lit pixels (console text).
	if PNGDIR="$SOURCE_DIR/tests/integration" python3 - "$shot" <<'PY'; then
import sys
sys.path.insert(0, __import__('os').environ['PNGDIR'])
from display_png_check import read_png
w, h, bpp, rows = read_png(sys.argv[1])
lit = sum(1 for r in rows for x in range(w) if any(r[x * bpp:x * bpp + 3]))
colours = {bytes(r[x * bpp:x * bpp + 3]) for r in rows for x in range(0, w, 3)}
print(f"screenshot {w}x{h}: {lit} lit pixels, {len(colours)} colours")
sys.exit(0 if lit > 2000 and len(colours) >= 2 else 1)
PY
		echo "ok: the screenshot shows the console"
	else
		echo "FAIL: the screenshot is blank"
		fail=1
	fi
else
	echo "FAIL: no screenshot written"
	fail=1
fi
echo "booted in ${elapsed}s, exit status $status"
linux_finish
