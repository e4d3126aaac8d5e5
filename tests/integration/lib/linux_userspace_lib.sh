# The default Linux guest's user space end to end, in one boot, typed at through a real terminal.
# Sourced by test_linux_userspace.py (our VMM, virtio-mmio, COM1), linux_userspace_pci.sh (our VMM,
# virtio-pci, hvc0) and linux_userspace_qemu.sh (QEMU microvm, COM1), which set:
#   RUNNER     vmm | qemu
#   TRANSPORT  mmio | pci       (vmm only)
#   CONSOLE    com1 | hvc0      where the shell runs (vmm only; QEMU uses COM1)
#   ENDING     poweroff | reboot | ctrl-a-x   how the session ends (QEMU: poweroff, then the
#              test stops it once the guest has halted)
#   GPU        1: also --gpu --screenshot (vmm only; the display checks below)
#   VSOCK      1: also --vsock (vmm only, on TRANSPORT): /init's vsock check, a guest program
#              over AF_VSOCK to a host helper (linux_vsock_host.py; see test_linux_virtiofs.py)
#   QCOW2      1: the root is a qcow2 overlay (`qemu-img create -b root.ext4 -F raw`) over the
#              read-only ext4 image (vmm only): afterwards `qemu-img check` finds the overlay
#              clean, the base is unchanged, and the checks below read the overlay's contents
#
# The guest boots from a copy of the default disk image (root=/dev/vda rw, no initramfs) with a
# virtio disk, rng and net (user networking: libslirp here, QEMU's slirp there). /init runs the
# checks of guest-images/checks:
#   blk      writes two files on the ext4 root and syncs; after the VM ends the test reads them
#            back from the image with debugfs (and e2fsck must find the file system consistent)
#   rng      reads /dev/hwrng (the virtio rng must be the kernel's current hwrng)
#   net      DHCP lease 10.0.2.15; wget of a file from an HTTP server of this test (guest ->
#            host, MD5 checked in the guest); a TCP connection from the host through hostfwd to
#            the guest (64 KiB), which answers with the MD5 of what it received (checked here)
# Timeouts are generous: on a loaded 2-core machine with emulated KVM one boot can take minutes.
#   syscall  the cost of one getpid() from 64-bit (SYSCALL) and 32-bit (INT $0x80) code
# then opens a shell on the console. The test types a command, reads its output back from the
# screen and ends the session the way ENDING says.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/linux_lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/tmux_lib.sh"

RUNNER=${RUNNER:-vmm}
TRANSPORT=${TRANSPORT:-mmio}
CONSOLE=${CONSOLE:-com1}
ENDING=${ENDING:-poweroff}
GPU=${GPU:-0}
VSOCK=${VSOCK:-0}
QCOW2=${QCOW2:-0}
QEMU="${QEMU:-qemu-system-x86_64}"
BOOT_TIMEOUT=${BOOT_TIMEOUT:-900}

[ "$RUNNER" = qemu ] && require qemu

cp --sparse=always "$DISK" "$tmp/root.ext4"
root_disk=$tmp/root.ext4
if [ "$QCOW2" = 1 ]; then
	require qemu-img
	chmod a-w "$tmp/root.ext4"
	base_md5=$(md5sum <"$tmp/root.ext4")
	if ! qemu-img create -q -f qcow2 -b "$tmp/root.ext4" -F raw "$tmp/root.qcow2"; then
		echo "FAIL: qemu-img create of the overlay failed"
		exit 1
	fi
	root_disk=$tmp/root.qcow2,backing_files=on
fi

# ---- the host side of the network checks ----
port_base=$((20000 + $$ % 10000))
http_port=$port_base
fwd_port=$((port_base + 1))
mkdir -p "$tmp/www"
head -c 300000 /dev/urandom >"$tmp/www/blob"
blob_md5=$(md5sum <"$tmp/www/blob" | cut -d' ' -f1)
python3 -m http.server "$http_port" --bind 127.0.0.1 --directory "$tmp/www" \
	>"$tmp/http.log" 2>&1 &
http_pid=$!
vsock_host=""
trap 'kill $http_pid $vsock_host 2>/dev/null; term_stop; rm -rf "$tmp"' EXIT

cmdline="$CMDLINE root=/dev/vda rootfstype=ext4 rw rcupdate.rcu_cpu_stall_suppress=1"
checks=blk,rng,net,syscall
if [ "$VSOCK" = 1 ]; then
	checks+=,vsock
	cmdline+=" vmmguest.vsock.port=1234"
	python3 "$SOURCE_DIR/tests/integration/lib/linux_vsock_host.py" "$tmp/v.sock_1234" \
		>"$tmp/vsock-host" 2>&1 &
	vsock_host=$!
	for _ in $(seq 50); do
		grep -q '^ready' "$tmp/vsock-host" 2>/dev/null && break
		sleep 0.2
	done
fi
cmdline+=" vmmguest.run=$checks vmmguest.shell=1"
cmdline+=" vmmguest.net.url=http://10.0.2.2:$http_port/blob vmmguest.net.md5=$blob_md5"
cmdline+=" vmmguest.net.echo=8080"

# The VMM's ACPI tables describe the machine (docs/acpi.md): every vCPU must come online. 2 where
# the guest kernel runs on the CPU; 1 on kvm_pvm, where Linux stops at "Bringing up secondary
# CPUs" (docs/running.md).
ncpus=2
[ "$EMULATED_KVM" = 1 ] && ncpus=1
if [ "$RUNNER" = vmm ]; then
	opts=(--kernel "$VMLINUX" --cpus "$ncpus" --mem 256M --transport "$TRANSPORT" --disk "$root_disk"
		--rng --net "user,hostfwd=tcp::$fwd_port-:8080")
	if [ "$CONSOLE" = hvc0 ]; then
		opts+=(--console virtio)
		cmdline+=" console=hvc0"
	fi
	[ "$GPU" = 1 ] && opts+=(--gpu --screenshot "$tmp/screen.png")
	[ "$VSOCK" = 1 ] && opts+=(--vsock "cid=5,uds=$tmp/v.sock")
	label="vmm $TRANSPORT $CONSOLE"
	# --foreground: the VMM reads the terminal (timeout would otherwise put it in the background).
	# Its log (-v -v: which devices the guest drove) goes to $tmp/err, not to the terminal.
	term_start bash -c "exec \"\$@\" 2>$tmp/err" vmm timeout --foreground 1200 "$VMM" -v -v \
		"${opts[@]}" --append "$cmdline"
else
	accel=(-accel tcg)
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		accel=(-enable-kvm -cpu host)
		# kvm_pvm refuses QEMU's write of MSR_IA32_ARCH_CAPABILITIES (0x10a).
		[ "$EMULATED_KVM" = 1 ] && accel=(-enable-kvm -cpu "host,-arch-capabilities")
	fi
	label="qemu microvm"
	term_start timeout --foreground 1200 "$QEMU" "${accel[@]}" -M microvm,acpi=off -m 256M \
		-smp 1 -nodefaults -no-user-config -display none -no-reboot -serial stdio \
		-kernel "$VMLINUX" -append "$cmdline" \
		-drive "id=root,if=none,format=raw,file=$tmp/root.ext4" \
		-device virtio-blk-device,drive=root -device virtio-rng-device \
		-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$fwd_port-:8080" \
		-device virtio-net-device,netdev=n0
fi
start=$(date +%s)

ok() { echo "ok: $label: $*"; }

# What the default guest's kernel read from the VMM's ACPI tables (docs/acpi.md): the XSDT, no
# complaint, every vCPU online (the MADT), the power button (the GED's PNP0C0C), each of the
# three virtio devices (blk, rng, net) exactly once and through the description of its transport
# (the DSDT's LNRO0005 devices over mmio, winning over the virtio_mmio.device= entries; PCI
# functions found through the host bridge and the MCFG's ECAM), and a poweroff through the FADT's
# sleep registers.
check_acpi() {
	local acpi_bad nvirtio nright want
	check "the kernel read our ACPI tables" 'ACPI: XSDT 0x[0-9A-F]+ .* \(v01 VMM'
	acpi_bad=$(grep -E 'ACPI( BIOS)? (Error|Warning)' "$tmp/log" | head -3)
	[ -z "$acpi_bad" ] && ok "no ACPI error or warning in the kernel's log" ||
		bad "the kernel's ACPI complained: $acpi_bad"
	check "every vCPU online ($ncpus)" "VMM-GUEST-CPUS: $ncpus\$"
	check "the power button (PNP0C0C, notified by the GED)" 'input: Power Button as /devices/LNXSYSTM:00/LNXSYBUS:00/PNP0C0C:00/'
	nvirtio=$(grep -cE '^VMM-GUEST-VIRTIO: ' "$tmp/log")
	if [ "$TRANSPORT" = pci ]; then
		nright=$(grep -cE '^VMM-GUEST-VIRTIO: .* on=0000:00:[0-9a-f]{2}\.0$' "$tmp/log")
		check "PCI configuration space through the MCFG's ECAM" 'PCI: MMCONFIG at \[mem 0xe0000000-0xefffffff\] reserved (as|in) ACPI motherboard resources?'
		check "the host bridge from the DSDT" 'ACPI: PCI Root Bridge \[PCI0\] \(domain 0000 \[bus 00-ff\]\)'
	else
		nright=$(grep -cE '^VMM-GUEST-VIRTIO: .* on=LNRO0005:[0-9a-f]{2}$' "$tmp/log")
	fi
	# 3 devices besides the console on hvc0 (virtio-console) and the display's gpu and input.
	want=3
	[ "$CONSOLE" = hvc0 ] && want=$((want + 1))
	[ "$GPU" = 1 ] && want=$((want + 3))
	[ "$VSOCK" = 1 ] && want=$((want + 1))
	if [ "$nvirtio" = "$want" ] && [ "$nright" = "$want" ]; then
		ok "each of the $want virtio devices found once, over $TRANSPORT as ACPI describes it"
	else
		bad "virtio devices: $nvirtio listed, $nright through the $TRANSPORT description, want $want: $(grep -E '^VMM-GUEST-VIRTIO: ' "$tmp/log" | tr '\n' ';')"
	fi
	if [ "$ENDING" = poweroff ]; then
		check "poweroff: the kernel powered down (not halted)" 'reboot: Power down'
		check "poweroff: the kernel entered S5 through the sleep registers" 'acpi: the guest entered S5' "$tmp/err"
	fi
}
bad() {
	echo "FAIL: $label: $*"
	fail=1
}

# ---- host -> guest through hostfwd: send random bytes, the guest answers with their MD5 ----
# The checks end with the shell: a guest that starts its shell without having listened has
# skipped or failed the net check, and waiting on would only cost the whole boot timeout.
term_wait 'VMM-GUEST-NET-ECHO: listening|VMM-GUEST-SHELL: starting' "$BOOT_TIMEOUT"
if term_wait 'VMM-GUEST-NET-ECHO: listening' 1; then
	sleep 1
	# "listening" is printed just before nc starts: until nc listens, slirp resets the forwarded
	# connection and the client tries again.
	reply=$(python3 - "$fwd_port" <<'EOF'
import hashlib, os, socket, sys, time
data = os.urandom(65536)
deadline = time.monotonic() + 600
got = "nothing"
while time.monotonic() < deadline:
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=600)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        s.close()
    except OSError:
        reply = b""
    if reply.split():
        got = reply.split()[0].decode()
        break
    time.sleep(2)
print(hashlib.md5(data).hexdigest(), got)
EOF
	)
	read -r sent got <<<"$reply"
	if [ -n "$sent" ] && [ "$sent" = "$got" ]; then
		ok "host -> guest: 65536 bytes through hostfwd, the guest's MD5 matches"
	else
		bad "host -> guest: sent MD5 ${sent:-?}, guest answered ${got:-nothing}"
	fi
else
	bad "the guest never listened for the host's connection"
fi

# ---- the shell: type a command, read its output back from the screen ----
if term_wait 'VMM-GUEST-SHELL: starting' 900 && term_wait 'vmmguest:.*# ' 300; then
	shell_at=$(($(date +%s) - start))
	ok "shell prompt ${shell_at} s after launch"
	# ash's line editor first asks the terminal where the cursor is (ESC[6n) and reads the
	# answer; keys typed before tmux answered are taken as that answer and lost. So the command
	# is typed again if nothing came of it.
	typed=1
	term_type 'echo typed-$((6 * 7)) on $(tty)'
	until term_wait 'typed-42 on /dev/' 100 || [ $typed -ge 3 ]; do
		typed=$((typed + 1))
		term_type 'echo typed-$((6 * 7)) on $(tty)'
	done
	if term_wait 'typed-42 on /dev/' 1; then
		ok "typed command ran: $(tr -d '\r' <"$tmp/term.log" | grep -oE 'typed-42 on /dev/[a-zA-Z0-9]+' | head -1)"
		term_screen_has 'typed-42 on /dev/' && ok "its output is on the screen" ||
			bad "output not on the visible screen"
	else
		bad "no output from the typed command"
	fi
	if [ "$GPU" = 1 ]; then
		# Text for the screenshot on the framebuffer console (the kernel's messages stay off
		# it: drawing and scrolling them is minutes of emulated guest kernel code)
		term_type 'for i in $(seq 20); do echo "vmm display line $i: the quick brown fox jumps over the lazy dog"; done >/dev/tty1; echo TTY1-$?-DONE'
		term_wait 'TTY1-0-DONE' 120 && ok "20 lines written to the framebuffer console" ||
			bad "could not write to /dev/tty1"
	fi
else
	bad "no shell prompt"
fi

case "$ENDING" in
ctrl-a-x) term_keys C-a x ;;
*) term_type "$ENDING" ;;
esac
if [ "$RUNNER" = qemu ]; then
	# QEMU has no halt detection (and its reset after `reboot` fails on kvm_pvm): the guest must
	# reach the kernel's halt, then the test stops QEMU.
	term_wait 'reboot: System halted' 600 && ok "'$ENDING' halted the guest" ||
		bad "'$ENDING' did not halt the guest"
	term_stop
else
	status=$(term_wait_exit 600)
	[ "$status" = 0 ] && ok "'$ENDING' ended the VM with status 0" ||
		bad "'$ENDING': exit status $status, want 0"
fi

tr -d '\r' <"$tmp/term.log" >"$tmp/log"

# ---- what the guest reported ----
check "/init ran" 'VMM-GUEST-INIT: ok'
check "blk check passed" 'VMM-GUEST-RUN: blk status 0'
check "rng check passed" 'VMM-GUEST-RUN: rng status 0'
check "DHCP lease from slirp" 'VMM-GUEST-NETADDR: eth0 .* 10\.0\.2\.15/24'
check "guest -> host: the guest's MD5 of the file matches" \
	"VMM-GUEST-NET-GET: 300000 bytes md5 $blob_md5 match"
check "net check passed" 'VMM-GUEST-RUN: net status 0'
check "syscall check passed" 'VMM-GUEST-RUN: syscall status 0'
grep -h 'syscall-cost:' "$tmp/log" | sort -u | sed "s/^/note: $label: /"
case "$CONSOLE:$RUNNER" in
hvc0:vmm) check "the shell ran on hvc0" 'typed-42 on /dev/hvc0' ;;
*) check "the shell ran on ttyS0" 'typed-42 on /dev/ttyS0' ;;
esac

# ---- what the kernel saw of our machine, and which devices it drove (the VMM's -v -v log) ----
if [ "$RUNNER" = vmm ]; then
	if [ "$TRANSPORT" = pci ]; then
		check "PCI bus enumerated" 'pci 0000:00:00.0: \[1b36:0008\]'
		check "virtio-blk-pci found" 'pci 0000:00:01.0: \[1af4:1042\]'
		check "MSI-X vectors routed" 'virtio-blk: MSI-X vector [0-9]+ -> GSI' "$tmp/err"
	else
		# (the command line's copies of the DSDT's windows: refused, see check_acpi)
		check "virtio_mmio.device= entries parsed" 'virtio-mmio: Registering device virtio-mmio\.[0-9]+ at 0xd000[0-9a-f]000'
	fi
	check "virtio-blk is vda" 'virtio_blk virtio[0-9]+: \[vda\] 131072 512-byte'
	check_acpi
	check "ext4 root mounted" 'VFS: Mounted root \(ext4 filesystem\)'
	check "the guest drove virtio-blk" 'virtio-blk: driver ready' "$tmp/err"
	check "the guest drove virtio-rng" 'virtio-rng: driver ready' "$tmp/err"
	check "the guest drove virtio-net" 'virtio-net: driver ready' "$tmp/err"
	check "/init saw the disk" 'VMM-GUEST-BLOCK: .*vda'
	check "/init saw the rng" 'VMM-GUEST-HWRNG: .*virtio'
	if [ "$CONSOLE" = hvc0 ]; then
		# The kernel logs to both ttyS0 and hvc0, which share the terminal: lines after hvc0
		# registers come twice, the second copy through the virtio-console transmit queue.
		check "hvc0 is a console" 'printk: console \[hvc0\] enabled'
		check "the guest drove virtio-console" 'virtio-console: driver ready' "$tmp/err"
		if [ "$(grep -cE 'Run /(sbin/)?init as init process' "$tmp/log")" -ge 2 ]; then
			ok "Run /init also came through hvc0"
		else
			bad "Run /init did not come through hvc0"
		fi
	fi
else
	check "QEMU: the kernel reached Run /init" 'Run /(sbin/)?init as init process'
fi
if [ "$VSOCK" = 1 ]; then
	check "the guest drove virtio-vsock" 'virtio-vsock: driver ready' "$tmp/err"
	check "/init saw the vsock device (ID 19) bound, over $TRANSPORT" \
		"VMM-GUEST-VIRTIO: .* device=0x0013 .*driver=vmw_vsock_virtio_transport on=$([ "$TRANSPORT" = pci ] && echo '0000:' || echo 'LNRO0005:')"
	check "the vsock transport driver holds the device" 'VMM-GUEST-VSOCK-DRIVER: virtio'
	check "the guest's program reached the host over vsock and read its answer" \
		'VMM-GUEST-VSOCK: vsock-echo: sent 100000 bytes, reply: OK 100000 bytes intact \(status 0\)'
	check "the host saw the guest's greeting over vsock" '^line: hello-from-guest 100000' "$tmp/vsock-host"
	check "the vsock check passed" 'VMM-GUEST-RUN: vsock status 0'
fi
if [ "$GPU" = 1 ]; then
	check "virtio-gpu bound by DRM" 'Initialized virtio_gpu'
	check "fbdev on virtio-gpu" 'virtio_gpudrmfb frame buffer device'
	check "framebuffer console" 'Console: switching to colour frame buffer device'
	check "virtio-input devices registered" 'input: .* as /devices/.*virtio'
	check "the guest drove virtio-gpu" 'virtio-gpu: driver ready' "$tmp/err"
	# Not blank: several colours, and at least a few thousand lit pixels (the 20 lines).
	if [ ! -s "$tmp/screen.png" ]; then
		bad "no screenshot written"
	elif PNGDIR="$SOURCE_DIR/tests/integration/lib" python3 - "$tmp/screen.png" <<'PY'; then
import sys
sys.path.insert(0, __import__('os').environ['PNGDIR'])
from display_png_check import read_png
w, h, bpp, rows = read_png(sys.argv[1])
lit = sum(1 for r in rows for x in range(w) if any(r[x * bpp:x * bpp + 3]))
colours = {bytes(r[x * bpp:x * bpp + 3]) for r in rows for x in range(0, w, 3)}
print(f"screenshot {w}x{h}: {lit} lit pixels, {len(colours)} colours")
sys.exit(0 if lit > 2000 and len(colours) >= 2 else 1)
PY
		ok "the screenshot shows the console's text"
	else
		bad "the screenshot is blank"
	fi
fi

# ---- the disk, read back on the host ----
if [ "$QCOW2" = 1 ]; then
	qemu-img check -q "$tmp/root.qcow2" >"$tmp/qcheck" 2>&1 &&
		ok "qemu-img check: the qcow2 overlay is clean" || bad "qemu-img check: $(tail -3 "$tmp/qcheck")"
	[ "$(md5sum <"$tmp/root.ext4")" = "$base_md5" ] && ok "the raw base is unchanged" ||
		bad "the raw base changed"
	grep -q "disk $tmp/root.qcow2: qcow2" "$tmp/err" && ok "the VMM served the root as qcow2" ||
		bad "the VMM's log does not say qcow2"
	# The overlay's contents, flattened, are what the checks below read.
	# (into a new file: the base is the overlay's backing file, which qemu-img holds open)
	qemu-img convert -O raw "$tmp/root.qcow2" "$tmp/flat.ext4" &&
		mv -f "$tmp/flat.ext4" "$tmp/root.ext4" || bad "qemu-img convert of the overlay failed"
fi
# A poweroff or reboot through /init remounts / read-only first: the file system must be clean.
# Ctrl-A x pulls the plug: the journal (synced by the check) is replayed first.
if [ "$ENDING" = ctrl-a-x ]; then
	e2fsck -fy "$tmp/root.ext4" >"$tmp/fsck" 2>&1
	[ $? -le 1 ] && ok "e2fsck after Ctrl-A x: consistent" || bad "e2fsck: $(tail -3 "$tmp/fsck")"
else
	e2fsck -fn "$tmp/root.ext4" >"$tmp/fsck" 2>&1 && ok "e2fsck -n: the file system is clean" ||
		bad "e2fsck -n: $(tail -3 "$tmp/fsck")"
fi
debugfs -R "dump /vmm-blk-lines.txt $tmp/lines.txt" "$tmp/root.ext4" >/dev/null 2>&1
debugfs -R "dump /vmm-blk-random.bin $tmp/random.bin" "$tmp/root.ext4" >/dev/null 2>&1
if seq 0 255 | sed 's/^/vmm-blk-check line /' | cmp -s - "$tmp/lines.txt"; then
	ok "the 256 lines the guest wrote are in the disk image"
else
	bad "/vmm-blk-lines.txt in the image differs from what the guest wrote"
fi
random_md5=$(sed -n 's/.*VMM-GUEST-BLK: lines [0-9a-f]* random \([0-9a-f]*\).*/\1/p' "$tmp/log" | head -1)
if [ -n "$random_md5" ] && [ "$(md5sum <"$tmp/random.bin" | cut -d' ' -f1)" = "$random_md5" ]; then
	ok "the 1 MiB random file in the image has the MD5 the guest printed"
else
	bad "/vmm-blk-random.bin in the image does not match the guest's MD5 (${random_md5:-none})"
fi
grep -q 'GET /blob' "$tmp/http.log" && ok "the host's HTTP server served the guest" ||
	bad "the host's HTTP server saw no request"

if [ $fail -ne 0 ]; then
	echo "---- terminal (last 60 lines)"
	tail -60 "$tmp/log"
fi
echo "$label: $(($(date +%s) - start)) s in all"
exit $fail
