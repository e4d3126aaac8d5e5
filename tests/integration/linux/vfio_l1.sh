#!/usr/bin/env bash
# PCI passthrough end to end (docs/vfio.md), with no physical device: an L1 Linux under QEMU
# (tools/kvm-in-qemu --vfio-devices: q35, QEMU's emulated Intel IOMMU with interrupt remapping,
# intel_iommu=on, an emulated e1000e NIC 8086:10d3 that no L1 driver takes) binds the NIC to
# vfio-pci and boots the default Linux guest on our VMM with `--device vfio=` and its default
# seccomp filters. Checked after L1 ended:
#   - in L1: the NIC has an IOMMU group and vfio-pci took it (/dev/vfio/<group>);
#   - the VMM started, logged the device's place on bus 0, and ended with status 0 after the
#     guest's `poweroff -f` (159 would be its own seccomp filter: a call the vfio lists lack),
#     with no warning about the device (its interrupts, DMA maps and their undoing at the end);
#   - the guest's kernel enumerated it ("pci 0000:00:NN.0: [8086:10d3]") and its
#     /sys/bus/pci/devices lists it with vendor 0x8086, device 0x10d3, class 0x020000;
#   - each memory BAR L1 sees has the same size in the guest, placed in the VMM's 32-bit PCI
#     window (0xf0000000-0xfebfffff);
#   - the guest reads and writes the NIC's registers through BAR 0 (mmap'd: a KVM memory slot
#     over the device's BAR; a write to RDBAL read back) and its MSI-X table in BAR 3 (trapped:
#     vector 0 masked, its address written and read back), with busybox's devmem;
#   - the guest reads the NIC's expansion ROM (/sys/.../rom: its BAR enabled, the contents
#     trapped): QEMU's option ROM, 55 aa and its header. (L1 does not read it itself: an L1
#     that had read it through sysfs before the VMM started locked up once, both CPUs stuck.)
# The guest has no e1000e driver (guest-images/kernel.config is not changed for this), so no
# interrupt or DMA is exercised: the device's configuration space, BAR placement and access, the
# DMA maps of guest RAM, INTx's setup and the reset at start and end are. VFIO_KEEP=1 keeps the
# logs. Only where tools/kvm-in-qemu runs (root, QEMU, busybox): else skipped.
# labels: slow linux
# requires: kvm
# timeout: 1500
# resource: linux:1
set -uo pipefail

SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
VMM="${VMM:-$PWD/vmm}"
QEMU="${QEMU:-qemu-system-x86_64}"
BOOT_TIMEOUT=${BOOT_TIMEOUT:-600}
SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
. "$SOURCE_DIR/tests/integration/lib/require.sh"
. "$SOURCE_DIR/tests/integration/lib/l1_lib.sh"

VENDOR=0x8086
DEVICE=0x10d3

# ---- in L1 ----

modprobe_() { if command -v kmod >/dev/null; then modprobe "$@"; else busybox modprobe "$@"; fi; }

# The NIC's address in L1, or "".
find_nic() {
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = $VENDOR ] && [ "$(cat "$d/device")" = $DEVICE ] && echo "${d##*/}"
	done
}

bind_vfio() {
	local bdf=$1 dev=/sys/bus/pci/devices/$1 groups="" g
	echo vfio-pci >"$dev/driver_override"
	[ -e "$dev/driver" ] && echo "$bdf" >"$dev/driver/unbind"
	echo "$bdf" >/sys/bus/pci/drivers_probe
	for g in /dev/vfio/*; do [ -e "$g" ] && groups+="${g##*/} "; done
	echo "driver=$(basename "$(readlink "$dev/driver" 2>/dev/null)")" \
		"group=$(basename "$(readlink "$dev/iommu_group" 2>/dev/null)")" \
		"dev_vfio=$groups" >"$out/l1.bind"
	cp "$dev/resource" "$out/l1.resource"

}

wait_console() { # REGEX SECONDS
	local i
	for ((i = 0; i < $2 * 2; i++)); do
		tr -d '\r' <"$out/guest.log" | grep -qE -- "$1" && return 0
		kill -0 "$vmm_pid" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}

boot() {
	local bdf=$1 fifo=/tmp/vfio-l1-in.$$
	mkfifo "$fifo"
	sleep $((BOOT_TIMEOUT + 60)) >"$fifo" &
	local sleeper=$!
	# The IOMMU pins guest RAM: the locked-memory limit must cover it.
	ulimit -l unlimited
	timeout -k 10 "$BOOT_TIMEOUT" "$VMM" --kernel "$BZIMAGE" --initrd "$INITRAMFS" --mem 256M \
		--console stdio --device "vfio=/sys/bus/pci/devices/$bdf" \
		--append "$CMDLINE_NORMAL noxsave vmmguest.shell=1 vmmguest.dhcp=0" \
		<"$fifo" >"$out/guest.log" 2>"$out/vmm.err" &
	vmm_pid=$!
	# shellcheck disable=SC2016 # typed into the guest's shell, which expands them
	if wait_console "VMM-GUEST-SHELL: starting" "$BOOT_TIMEOUT"; then
		echo 'for d in /sys/bus/pci/devices/*; do echo "VFIO-PCI: ${d##*/} $(cat $d/vendor) $(cat $d/device) $(cat $d/class)"; done' >"$fifo"
		echo 'for d in /sys/bus/pci/devices/*; do [ "$(cat $d/device)" = '$DEVICE' ] || continue; i=0; while read -r s e f; do echo "VFIO-BAR: $i $s $e $f"; i=$((i+1)); done <$d/resource; done; echo VFIO-DONE' >"$fifo"
		wait_console "^VFIO-DONE" 120
		# BAR 0 is mmap'd (a memory slot: the device's own registers), BAR 3's MSI-X table is
		# trapped (the VMM's copy): a read of each, a write read back (RDBAL, 0x2800, a plain
		# register of the NIC; vector 0's message address in the table).
		echo 'for d in /sys/bus/pci/devices/*; do [ "$(cat $d/device)" = '$DEVICE' ] || continue; set -- $(sed -n 1p $d/resource); b0=$1; set -- $(sed -n 4p $d/resource); b3=$1; devmem $((b0+0x2800)) 32 0x12345000; devmem $((b3)) 32 0xfee01000; echo "VFIO-MMIO: status=$(devmem $((b0+8)) 32) rdbal=$(devmem $((b0+0x2800)) 32) msix0addr=$(devmem $((b3)) 32) msix0ctl=$(devmem $((b3+12)) 32)"; done' >"$fifo"
		wait_console "^VFIO-MMIO: " 120
		echo 'for d in /sys/bus/pci/devices/*; do [ "$(cat $d/device)" = '$DEVICE' ] || continue; echo 1 >$d/rom; echo VFIO-ROM: $(dd if=$d/rom bs=16 count=1 2>/dev/null | od -An -tx1); echo 0 >$d/rom; done' >"$fifo"
		wait_console "^VFIO-ROM: " 120
		echo "poweroff -f" >"$fifo"
	fi
	wait "$vmm_pid"
	echo $? >"$out/vmm.status"
	kill "$sleeper" 2>/dev/null
	rm -f "$fifo"
}

inner() {
	out=$VFIO_OUT
	echo "in L1: $(kvm_probe_line)"
	# QEMU's IOMMU has interrupt remapping (intremap=on); the parameter is for an L1 kernel that
	# does not use it, where type 1 would refuse every group.
	modprobe_ vfio_iommu_type1 allow_unsafe_interrupts=1 2>/dev/null
	modprobe_ vfio-pci || echo "in L1: modprobe vfio-pci failed"
	dmesg | grep -iE 'DMAR|IOMMU|vfio' | tail -15 >"$out/l1.dmesg"
	local bdf
	bdf=$(find_nic)
	echo "$bdf" >"$out/l1.bdf"
	if [ -z "$bdf" ]; then
		echo "in L1: no e1000e ($VENDOR:$DEVICE) on L1's bus (run.sh --vfio-devices?)"
		return
	fi
	bind_vfio "$bdf"
	echo "in L1: $bdf $(cat "$out/l1.bind")"
	boot "$bdf"
	echo "in L1: the VMM ended with status $(cat "$out/vmm.status")"
}

if [ -n "${VFIO_INNER:-}" ]; then
	inner
	exit 0
fi

# ---- here: L1, then the checks ----

require kvm
l1_require "tools/kvm-in-qemu gives the VMM an IOMMU and a device to pass through"
eval "$("$SOURCE_DIR/guest-images/build.sh" --print-env)" || exit 1
out=$(mktemp -d "${BUILD_DIR:-$PWD}/vfio_l1.XXXXXX")
if [ -n "${VFIO_KEEP:-}" ]; then echo "note: $out is kept (VFIO_KEEP)"; else trap 'rm -rf "$out"' EXIT; fi
export VMM SOURCE_DIR BOOT_TIMEOUT BZIMAGE INITRAMFS CMDLINE_NORMAL VFIO_INNER=1 VFIO_OUT="$out"
L1_VFIO=1 l1_run "$out" $((BOOT_TIMEOUT + 300)) 'vmm:' "" -- bash "$SCRIPT"
status=$?
unset VFIO_INNER
if [ "$status" != 0 ]; then
	echo "FAIL: tools/kvm-in-qemu did not run the boot (status $status)"
	exit 1
fi

fail=0
ok() { echo "ok: $*"; }
bad() {
	echo "FAIL: $*"
	fail=1
}
bdf=$(cat "$out/l1.bdf" 2>/dev/null)
[ -n "$bdf" ] || bad "L1 has no e1000e ($VENDOR:$DEVICE)"
if grep -qE '^driver=vfio-pci group=[0-9]+ dev_vfio=.*[0-9]' "$out/l1.bind" 2>/dev/null; then
	ok "in L1, $bdf is bound to vfio-pci with an IOMMU group: $(cat "$out/l1.bind")"
else
	bad "in L1, $bdf is not ready for VFIO: $(cat "$out/l1.bind" 2>/dev/null)"
fi
tr -d '\r' <"$out/guest.log" >"$out/guest.txt" 2>/dev/null
vstatus=$(cat "$out/vmm.status" 2>/dev/null)
case $vstatus in
0) ok "the VMM ended with status 0 after the guest's poweroff" ;;
159) bad "the VMM was killed by SIGSYS (its own seccomp filter)" ;;
*) bad "the VMM ended with status '${vstatus:-none}'" ;;
esac
if grep -qE "device vfio=/sys/bus/pci/devices/$bdf: PCI 0000:00:[0-9a-f]{2}\.0" "$out/vmm.err"; then
	ok "the VMM put it on bus 0: $(grep -m1 -oE 'PCI 0000:00:[0-9a-f]{2}\.0' "$out/vmm.err")"
else
	bad "the VMM did not place the device"
fi
warned=$(grep -E 'vmm: (warning|error):.*(VFIO|vfio|INTx|MSI-X|BAR|0000:)' "$out/vmm.err" | head -3)
if [ -z "$warned" ]; then
	ok "the VMM warned of nothing about the device (reset, DMA maps, interrupts, unmapping)"
else
	bad "the VMM warned: $warned"
fi
if grep -qE "pci 0000:00:[0-9a-f]{2}\.0: \[8086:10d3\]" "$out/guest.txt"; then
	ok "the guest's kernel enumerated 8086:10d3"
else
	bad "no 'pci ...: [8086:10d3]' in the guest's kernel log"
fi
if grep -qE "^VFIO-PCI: 0000:00:[0-9a-f]{2}\.0 $VENDOR $DEVICE 0x020000" "$out/guest.txt"; then
	ok "/sys/bus/pci/devices in the guest: $(grep -m1 -E "^VFIO-PCI: .* $DEVICE" "$out/guest.txt")"
else
	bad "the guest's /sys/bus/pci/devices has no $VENDOR $DEVICE 0x020000"
fi
mmio=$(sed -n 's/^VFIO-MMIO: //p' "$out/guest.txt" | head -1)
if [[ "$mmio" =~ ^status=0x([0-9A-F]{8})\ rdbal=0x12345000\ msix0addr=0xFEE01000\ msix0ctl=0x00000001$ ]] &&
	[ "${BASH_REMATCH[1]}" != FFFFFFFF ]; then
	ok "the guest reaches the NIC: its registers through the mapped BAR 0 (a write read back), the MSI-X table trapped: $mmio"
else
	bad "the guest's reads and writes of the BARs: '$mmio', want status not all-ones, rdbal=0x12345000, msix0addr=0xFEE01000, msix0ctl=0x00000001 (masked)"
fi
rom=$(sed -n 's/^VFIO-ROM: //p' "$out/guest.txt" | head -1)
if [[ "$rom" =~ ^55\ aa(\ [0-9a-f]{2}){14}$ ]] && [[ ! "$rom" =~ (ff ){14}ff$ ]]; then
	ok "the guest reads the expansion ROM (trapped): $rom"
else
	bad "the guest's ROM starts '$rom' (want QEMU's option ROM: 55 aa, then its header)"
fi
# resource lines: start end flags (hex); IORESOURCE_MEM is 0x200. The guest's line i against L1's.
i=0
mem_bars=0
while read -r s e f; do
	if ((f & 0x200)); then
		size=$((e - s + 1))
		read -r gs ge _ < <(sed -n "s/^VFIO-BAR: $i //p" "$out/guest.txt")
		if [ -z "${gs:-}" ]; then
			bad "BAR $i: not in the guest's resource file"
		elif [ $((ge - gs + 1)) = "$size" ] && ((gs >= 0xf0000000 && ge <= 0xfebfffff)); then
			ok "BAR $i: $size bytes at $gs in the guest (as in L1), inside the PCI window"
		else
			bad "BAR $i: guest $gs-$ge, want $size bytes inside 0xf0000000-0xfebfffff"
		fi
		mem_bars=$((mem_bars + 1))
	fi
	i=$((i + 1))
done <"$out/l1.resource"
[ "$mem_bars" -gt 0 ] || bad "L1 shows no memory BAR of the NIC"
if [ $fail -ne 0 ]; then
	echo "---- L1: IOMMU and vfio lines of its kernel log"
	cat "$out/l1.dmesg" 2>/dev/null
	echo "---- the VMM's stderr (last 20 lines)"
	tail -20 "$out/vmm.err" 2>/dev/null
	echo "---- the guest's console (last 30 lines)"
	tail -30 "$out/guest.txt" 2>/dev/null
fi
exit $fail
