#!/usr/bin/env bash
# Debian 12's cloud-style GPT image (guest-images/debian-image.sh: a BIOS boot partition with
# GRUB's core.img, an ESP with GRUB for EFI at the removable path, the ext4 root with Debian's
# stock cloud kernel) booted as a PC boots it, with nothing handed to the kernel by the VMM:
#   - SeaBIOS (bios-256k.bin) -> GRUB for i386-pc from the MBR -> the kernel and its initrd;
#   - OVMF (OVMF.fd)          -> GRUB for EFI (EFI/BOOT/BOOTX64.EFI) -> the same.
# Each on its own qcow2 overlay, 2 vCPUs, 512 MiB, the disk over virtio-pci and a libslirp NIC.
# Each must show GRUB loading the kernel, systemd reaching multi-user.target ("running", nothing
# failed), both vCPUs (our MADT, through the firmware), the root on /dev/vda3, slirp's DHCP
# address, and the serial getty's login prompt; the image's check unit prints those
# (VMM-DEBIAN-... lines). The command line is GRUB's, so nothing asks for a power-off: once the
# check is done the VMM is stopped (SIGTERM). QEMU (q35 with SeaBIOS) boots the same as a peer.
#
# On kvm_pvm Debian's kernel cannot run: the boots run in tools/kvm-in-qemu (linux_stock.sh
# says why), the checks here. DEBIAN_IMAGE_SH names another debian-image.sh (default: this
# tree's; the test skips without one). FW_DEBIAN_ONLY=seabios|ovmf runs one firmware,
# FW_DEBIAN_PEER=0 no QEMU; FW_DEBIAN_KEEP=1 keeps the logs. On kvm_pvm it skips (77): L1
# aborts in the host's QEMU during GRUB's boot (below); FW_DEBIAN_L1=1 runs it there anyway.
# labels: slow linux firmware
# requires: kvm root
# timeout: 1800
# resource: linux:2
set -uo pipefail

SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
VMM="${VMM:-$PWD/vmm}"
QEMU="${QEMU:-qemu-system-x86_64}"
BOOT_TIMEOUT=${BOOT_TIMEOUT:-900}
SEABIOS=${SEABIOS_DIR:-/usr/share/seabios}/bios-256k.bin
OVMF=${OVMF_FD:-/usr/share/ovmf/OVMF.fd}
SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
. "$SOURCE_DIR/tests/integration/lib/require.sh"
. "$SOURCE_DIR/tests/integration/lib/l1_lib.sh"

# Runs the command after "--" with its console in $out/NAME.log until the image's check is done
# (VMM-DEBIAN-DONE) and a login prompt showed, or BOOT_TIMEOUT; then stops it.
run_until_done() {
	local name=$1 start=$SECONDS pid
	shift 2
	qemu-img create -q -f qcow2 -b "$DEBIAN_IMAGE" -F raw "$out/$name.qcow2"
	"$@" </dev/null >"$out/$name.log" 2>"$out/$name.err" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null && [ $((SECONDS - start)) -lt "$BOOT_TIMEOUT" ]; do
		grep -aq 'VMM-DEBIAN-DONE' "$out/$name.log" && grep -aqE '[a-z0-9-]+ login:' "$out/$name.log" && break
		sleep 2
	done
	echo $((SECONDS - start)) >"$out/$name.secs"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	echo $? >"$out/$name.status"
}

boot_vmm() {
	local name=$1 fw=$2
	run_until_done "$name" -- "$VMM" --firmware "$fw" --firmware-log "$out/$name.fw" --cpus 2 \
		--mem 512M --transport pci \
		--disk "$out/$name.qcow2,backing_files=on,backing_dirs=${DEBIAN_IMAGE%/*}" --net user
}

boot_qemu() {
	local cpu=host
	[ -e /sys/module/kvm_pvm ] && cpu=host,-arch-capabilities
	run_until_done qemu -- "$QEMU" -enable-kvm -cpu "$cpu" -M q35 -smp 2 -m 512M -nodefaults \
		-no-user-config -display none -serial stdio -bios "$SEABIOS" \
		-drive "id=d0,if=none,format=qcow2,file=$out/qemu.qcow2" -device virtio-blk-pci,drive=d0 \
		-netdev user,id=n0 -device virtio-net-pci,netdev=n0
}

run_boots() {
	[ "${FW_DEBIAN_ONLY:-seabios}" = seabios ] && boot_vmm vmm-seabios "$SEABIOS" &
	[ "${FW_DEBIAN_ONLY:-ovmf}" = ovmf ] && boot_vmm vmm-ovmf "$OVMF" &
	[ "${FW_DEBIAN_PEER:-1}" = 1 ] && command -v "$QEMU" >/dev/null && boot_qemu &
	wait
	for name in vmm-seabios vmm-ovmf qemu; do
		[ -f "$out/$name.secs" ] && echo "$name: $(cat "$out/$name.secs") s"
	done
}

if [ -n "${FW_DEBIAN_INNER:-}" ]; then
	out=$FW_DEBIAN_OUT
	echo "in L1: $(kvm_probe_line)"
	run_boots
	exit 0
fi

image_sh=${DEBIAN_IMAGE_SH:-$SOURCE_DIR/guest-images/debian-image.sh}
[ -x "$image_sh" ] || skip "no debian-image.sh" "$image_sh is missing (the Debian image's recipe)"
command -v qemu-img >/dev/null || skip "no qemu-img" "the overlays need qemu-img (qemu-utils)"
for f in "$SEABIOS" "$OVMF"; do [ -r "$f" ] || skip "no firmware" "$f is missing (tools/setup.sh)"; done
# In tools/kvm-in-qemu the host's QEMU aborts L1 within seconds of the OVMF boot: "tcg_handle_
# interrupt: assertion failed", its emulation of a nested guest's `mov cr8` raising an interrupt
# without its big lock (QEMU 7.2, and 10.0 from bookworm-backports, 2026-11-26); the SeaBIOS boot
# alone reaches GRUB's menu, but GRUB's load of the initrd through the BIOS disk calls took over
# ten minutes there. So on kvm_pvm this test cannot run; FW_DEBIAN_L1=1 tries anyway
# (FW_DEBIAN_ONLY=seabios FW_DEBIAN_PEER=0 for the SeaBIOS boot alone).
if l1_wanted && [ "${FW_DEBIAN_L1:-0}" != 1 ]; then
	skip "L1 aborts" "kvm_pvm needs tools/kvm-in-qemu for Debian's kernel, whose QEMU aborts under OVMF (tcg_handle_interrupt assertion) and where GRUB loads the initrd through SeaBIOS for over ten minutes; FW_DEBIAN_L1=1 tries"
fi
env_out=$("$image_sh" --print-env) || skip "no Debian image" "$image_sh could not build it (above)"
set -a
eval "$env_out"
set +a
out=$(mktemp -d "${BUILD_DIR:-$PWD}/firmware_debian.XXXXXX")
if [ -n "${FW_DEBIAN_KEEP:-}" ]; then echo "note: $out is kept"; else trap 'rm -rf "$out"' EXIT; fi
if l1_wanted; then
	l1_require "$L1_PVM_WHY"
	echo "where: kvm_pvm cannot run Debian's kernel: the boots run in tools/kvm-in-qemu"
	export VMM QEMU SOURCE_DIR BOOT_TIMEOUT SEABIOS OVMF FW_DEBIAN_ONLY FW_DEBIAN_PEER FW_DEBIAN_INNER=1 FW_DEBIAN_OUT="$out"
	l1_run "$out" $((BOOT_TIMEOUT + 300)) 'vmm-|qemu:' "" -- bash "$SCRIPT"
	unset FW_DEBIAN_INNER
else
	run_boots
fi

fail=0
peer=0
ok() { if [ "$peer" = 1 ]; then echo "peer ok: $*"; else echo "ok: $*"; fi; }
bad() { if [ "$peer" = 1 ]; then echo "peer FAIL (not counted): $*"; else echo "FAIL: $*"; fail=1; fi; }
check() { if grep -qE -- "$3" "$out/$1.txt"; then ok "$1: $2"; else bad "$1: $2 (no /$3/)"; fi; }

check_boot() {
	local name=$1
	tr -d '\r' <"$out/$name.log" | tr -cd '[:print:]\n\t' >"$out/$name.txt"
	check "$name" "GRUB loaded the kernel" 'Loading Linux [0-9]'
	check "$name" "systemd started from the root" 'systemd\[1\]: systemd 252'
	check "$name" "systemd running" 'VMM-DEBIAN-STATE: running'
	check "$name" "multi-user.target" 'VMM-DEBIAN-TARGET: multi-user.target active'
	check "$name" "nothing failed" 'VMM-DEBIAN-FAILED: none'
	check "$name" "both vCPUs" 'VMM-DEBIAN-CPUS: 2 online=0-1'
	check "$name" "the root on /dev/vda3" 'VMM-DEBIAN-ROOT: /dev/vda3 ext4 rw'
	check "$name" "DHCP from slirp" 'VMM-DEBIAN-IPV4: .* 10\.0\.2\.15/24'
	check "$name" "a login prompt" '[a-z0-9-]+ login:'
	[ "$name" = qemu ] || check "$name" "our ACPI tables" 'ACPI: APIC 0x[0-9A-F]+ .* VMM'
	sed -n 's/^.*VMM-DEBIAN-ANALYZE: */systemd-analyze: /p' "$out/$name.txt" | head -1 | sed "s/^/note: $name: /"
}

ls "$out"/vmm-*.status >/dev/null 2>&1 || { echo "FAIL: no boot ran (L1 failed?)"; exit 1; }
for name in vmm-seabios vmm-ovmf; do
	[ -f "$out/$name.status" ] || continue
	check_boot "$name"
	if [ "$fail" = 1 ]; then
		echo "---- $name: the console's last lines, stderr"
		tail -8 "$out/$name.txt"
		tail -5 "$out/$name.err"
	fi
done
if [ -f "$out/qemu.status" ]; then
	peer=1
	check_boot qemu
fi
[ "$fail" = 0 ] && echo "checks: all passed" || echo "checks: some failed"
exit "$fail"
