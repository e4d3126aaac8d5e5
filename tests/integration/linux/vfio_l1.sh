#!/usr/bin/env bash
# PCI passthrough end to end (docs/vfio.md), with no physical device: an L1 Linux under QEMU
# (tools/kvm-in-qemu --vfio-devices: q35, QEMU's emulated Intel IOMMU with interrupt remapping,
# intel_iommu=on, an emulated e1000e NIC 8086:10d3 on a slirp network and an emulated NVMe
# controller 1b36:0010, which no L1 driver takes) measures the NVMe namespace with its own nvme
# driver, binds both to vfio-pci and boots the default Linux guest on our VMM with the NVMe as
# `--device vfio=` (default seccomp filters), an API socket and a tool disk (randread and the
# guest's script); the e1000e is hot-added through the API once the guest's shell runs.
# The guest's own drivers (guest-images/kernel.config has nvme and e1000e) take both; checked
# after L1 ended:
#   - in L1: each device has an IOMMU group and vfio-pci took it (/dev/vfio/<group>);
#   - the VMM placed both on bus 0 and ended with status 0 after the guest's `poweroff -f` (159
#     would be its own seccomp filter), with no warning about the devices;
#   - the guest lists both with their IDs, class and driver (e1000e, nvme); each memory BAR L1
#     sees has the same size in the guest, inside the VMM's PCI windows (64-bit BARs in the
#     64-bit window above 4 GiB: the NVMe's BAR 0 lies there);
#   - NVMe (DMA both ways, completions by MSI-X through the IOMMU): nvme0n1 with QEMU's serial,
#     1 MiB of random data written and read back identical with O_DIRECT, an ext4 file system
#     made on it and a file read back after a remount;
#   - e1000e: hot-added (`vmmctl add-device`, PUT /vmm/vm.add-device) after two refusals (a
#     path that is not a PCI device's, the NVMe again), its interface gets 10.0.2.15 and pings
#     QEMU's slirp gateway 10.0.2.2; then removed (`vmmctl remove-device`: the guest's acpiphp
#     releases it, the VMM resets and closes it), added again: the driver binds again and the
#     gateway answers again;
#   - /proc/interrupts in the guest: MSI-X vectors of both drivers counted;
#   - with the e1000e unbound in the guest: its registers through the mmap'd BAR 0 (a write read
#     back), its MSI-X table trapped (vector 0 masked, an address read back), its expansion ROM
#     (trapped; 55 aa). (L1 does not read the ROM itself: an L1 that had read it through sysfs
#     before the VMM started locked up once, both CPUs stuck.)
#   - the IOMMU stops a bad DMA: the guest, through devmem, gives the NIC a transmit ring at
#     0xbad00000 (above its RAM, never mapped for DMA) and moves the tail; L1's kernel logs the
#     DMAR fault for that address, and the guest, the VMM and the NVMe go on (checked after);
#   - IOPS, reported only: 4 KiB random reads at queue depth 1 and 32 (tools/kvm-in-qemu/randread.c,
#     IOPS_SECONDS each, default 5) on the namespace in L1 (its own driver) and in the guest.
# VFIO_KEEP=1 keeps the logs. Only where tools/kvm-in-qemu runs (root, QEMU, busybox) and gcc
# links static programs: else skipped.
# labels: slow linux
# requires: kvm
# timeout: 1500
# resource: linux:1
set -uo pipefail

SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
VMM="${VMM:-$PWD/vmm}"
VMMCTL="${VMMCTL:-$(dirname "$VMM")/tools/vmmctl/vmmctl}"
QEMU="${QEMU:-qemu-system-x86_64}"
BOOT_TIMEOUT=${BOOT_TIMEOUT:-600}
SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
. "$SOURCE_DIR/tests/integration/lib/require.sh"
. "$SOURCE_DIR/tests/integration/lib/l1_lib.sh"

NIC_ID="0x8086 0x10d3"  # QEMU's e1000e (82574L)
NVME_ID="0x1b36 0x0010" # QEMU's NVMe controller
BAD_IOVA=0xbad00000     # above the guest's 256 MiB of RAM, below its PCI window: never mapped
IOPS_SECONDS=${IOPS_SECONDS:-5}

# The script the guest runs (busybox sh), from the tool disk the test gives it (with randread).
# Each result is one "VFIO-..." line on the console. The e1000e's driver is used first (address,
# ping of the slirp gateway), then unbound so that the guest can program the NIC itself: its BAR
# registers read and written, then a transmit ring at BAD_IOVA (register offsets from the 82574
# datasheet / Linux's e1000e regs.h: TCTL 0x400, TDBAL 0x3800, TDBAH 0x3804, TDLEN 0x3808,
# TDH 0x3810, TDT 0x3818, TARC0 0x3840 whose bit 10 QEMU's model wants before it fetches).
write_guest_script() {
	cat >"$1" <<'GUEST'
secs=$1
bad=$2
find_dev() { for d in /sys/bus/pci/devices/*; do [ "$(cat $d/vendor) $(cat $d/device)" = "$1 $2" ] && echo $d; done; }
# The NIC is hot-added (PUT /vmm/vm.add-device) once this shell is up: wait for the guest's
# ACPI hotplug to scan its slot.
i=0
until [ -n "$(find_dev 0x8086 0x10d3)" ] || [ $i -ge 60 ]; do sleep 1; i=$((i + 1)); done
nic=$(find_dev 0x8086 0x10d3)
nvme=$(find_dev 0x1b36 0x0010)
drv() { basename "$(readlink $1/driver 2>/dev/null)"; }
md5() { md5sum <$1 | cut -c1-32; }
for d in /sys/bus/pci/devices/*; do
	echo "VFIO-PCI: ${d##*/} $(cat $d/vendor) $(cat $d/device) $(cat $d/class) driver=$(drv $d)"
done
for d in $nic $nvme; do
	i=0
	while read -r s e f; do echo "VFIO-BAR: $(cat $d/device) $i $s $e $f"; i=$((i + 1)); done <$d/resource
done
# NVMe: a pattern written and read back with O_DIRECT (DMA both ways, completions by MSI-X),
# then an ext4 file system on the namespace, a file written, unmounted, mounted, read.
n=/dev/nvme0n1
i=0
while [ ! -b $n ] && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done
echo "VFIO-NVME-DEV: $(ls /sys/block | tr '\n' ' ')serial=$(cat /sys/class/nvme/nvme0/serial 2>/dev/null)"
dd if=/dev/urandom of=/tmp/pat bs=4096 count=256 2>/dev/null
raw() {
	dd if=/tmp/pat of=$n bs=4096 seek=16 oflag=direct conv=fsync 2>/dev/null
	w=$?
	dd if=$n of=/tmp/back bs=4096 skip=16 count=256 iflag=direct 2>/dev/null
	r=$?
	echo "$1: write=$w read=$r pattern=$(md5 /tmp/pat) back=$(md5 /tmp/back)"
}
raw VFIO-NVME-RAW
mkdir -p /mnt/n
if mke2fs -q -F $n >/dev/null 2>&1 && mount -t ext4 $n /mnt/n && cp /tmp/pat /mnt/n/pat &&
	umount /mnt/n && mount -t ext4 $n /mnt/n; then
	echo "VFIO-NVME-FS: $(md5 /mnt/n/pat)"
	umount /mnt/n
else
	echo "VFIO-NVME-FS: failed"
fi
/t/randread $n 1 $secs | sed 's/^/VFIO-IOPS: /'
/t/randread $n 32 $secs | sed 's/^/VFIO-IOPS: /'
# e1000e: its driver's interface, an address on QEMU's slirp network, the gateway pinged.
ifc=$(ls $nic/net 2>/dev/null | head -1)
echo "VFIO-NET-DEV: ${ifc:-none} driver=$(drv $nic)"
if [ -n "$ifc" ]; then
	ip link set $ifc up
	ip addr add 10.0.2.15/24 dev $ifc
	# One echo per ping, each under `timeout`: busybox ping times its resends and -W with
	# alarm(), which this kernel lacks (no POSIX_TIMERS): a lost echo would wait for ever.
	i=0
	until timeout 3 ping -c 1 10.0.2.2 >/dev/null 2>&1 || [ $i -ge 20 ]; do i=$((i + 1)); done
	k=0
	for i in 1 2 3; do timeout 3 ping -c 1 10.0.2.2 >/dev/null 2>&1 && k=$((k + 1)); done
	echo "VFIO-PING: 3 echo requests, $k replies"
fi
grep -E 'nvme|eth' /proc/interrupts | sed 's/^/VFIO-IRQ: /'
# Hotplug: L1 removes the NIC through the API (the guest's acpiphp releases it), then adds it
# again; its driver binds again and the gateway answers again.
echo VFIO-HP-READY
i=0
while [ -e $nic ] && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done
echo "VFIO-HP-GONE: $([ -e $nic ] && echo no || echo yes) $(ls /sys/class/net | tr '\n' ' ')"
i=0
until [ -n "$(find_dev 0x8086 0x10d3)" ] || [ $i -ge 60 ]; do sleep 1; i=$((i + 1)); done
nic=$(find_dev 0x8086 0x10d3)
i=0
until [ -n "$nic" ] && [ -n "$(ls $nic/net 2>/dev/null)" ] || [ $i -ge 30 ]; do sleep 1; i=$((i + 1)); done
ifc=$(ls $nic/net 2>/dev/null | head -1)
echo "VFIO-HP-BACK: ${nic##*/} ${ifc:-none} driver=$(drv $nic)"
if [ -n "$ifc" ]; then
	ip link set $ifc up
	ip addr add 10.0.2.15/24 dev $ifc
	i=0
	until timeout 3 ping -c 1 10.0.2.2 >/dev/null 2>&1 || [ $i -ge 20 ]; do i=$((i + 1)); done
	k=0
	for i in 1 2 3; do timeout 3 ping -c 1 10.0.2.2 >/dev/null 2>&1 && k=$((k + 1)); done
	echo "VFIO-HP-PING: 3 echo requests, $k replies"
fi
# The NIC without its driver: the guest programs it through BAR 0 (mmap'd: a KVM memory slot
# over the device's BAR) and its MSI-X table in BAR 3 (trapped: the VMM's copy).
echo ${nic##*/} >/sys/bus/pci/drivers/e1000e/unbind
echo "VFIO-UNBOUND: driver=$(drv $nic)"
set -- $(sed -n 1p $nic/resource)
b0=$1
set -- $(sed -n 4p $nic/resource)
b3=$1
r() { devmem $((b0 + $1)) 32; }
w() { devmem $((b0 + $1)) 32 $2; }
w 0x2800 0x12345000
devmem $b3 32 0xfee01000
echo "VFIO-MMIO: status=$(r 8) rdbal=$(r 0x2800) msix0addr=$(devmem $b3 32) msix0ctl=$(devmem $((b3 + 12)) 32)"
echo 1 >$nic/rom
echo "VFIO-ROM: $(dd if=$nic/rom bs=16 count=1 2>/dev/null | od -An -tx1 | sed 's/^ *//')"
echo 0 >$nic/rom
# A bad DMA: bus mastering back on (the unbind turned it off), a transmit ring outside RAM, the
# tail moved: the NIC fetches descriptors from $bad, which L1's IOMMU has no mapping for.
printf '\006' | dd of=$nic/config bs=1 seek=4 count=1 conv=notrunc 2>/dev/null
w 0x400 0
w 0x3800 $bad
w 0x3804 0
w 0x3808 0x1000
w 0x3810 0
w 0x3818 0
w 0x3840 $(($(r 0x3840) | 0x400))
w 0x400 0x0000000a
w 0x3818 4
sleep 3
echo "VFIO-BADDMA: command=$(dd if=$nic/config bs=1 skip=4 count=1 2>/dev/null | od -An -tx1 | tr -d ' ') tdbal=$(r 0x3800) tctl=$(r 0x400) tdh=$(r 0x3810) tdt=$(r 0x3818)"
w 0x400 0
# The guest, the VMM and the other device carry on.
raw VFIO-NVME-AFTER
echo VFIO-GUEST-DONE
GUEST
}

# ---- in L1 ----

modprobe_() { if command -v kmod >/dev/null; then modprobe "$@"; else busybox modprobe "$@"; fi; }

# The address in L1 of the device with vendor and device ID "$1" ("0xVVVV 0xDDDD"), or "".
find_dev() {
	local d
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor") $(cat "$d/device")" = "$1" ] && echo "${d##*/}"
	done
}

bind_vfio() { # BDF NAME
	local bdf=$1 dev=/sys/bus/pci/devices/$1 groups="" g
	echo vfio-pci >"$dev/driver_override"
	[ -e "$dev/driver" ] && echo "$bdf" >"$dev/driver/unbind"
	echo "$bdf" >/sys/bus/pci/drivers_probe
	for g in /dev/vfio/*; do [ -e "$g" ] && groups+="${g##*/} "; done
	echo "driver=$(basename "$(readlink "$dev/driver" 2>/dev/null)")" \
		"group=$(basename "$(readlink "$dev/iommu_group" 2>/dev/null)")" \
		"dev_vfio=$groups" >"$out/l1.$2.bind"
	cp "$dev/resource" "$out/l1.$2.resource"
}

ctl() { # SOCK ARGS...: vmmctl's answer and its status on one line
	local sock=$1 out_ st
	shift
	out_=$("$VMMCTL" --sock "$sock" "$@" 2>&1)
	st=$?
	echo "status=$st $(tr -d '\n' <<<"$out_")"
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

# The same 4 KiB random reads in L1 on the NVMe namespace with L1's own driver, before the
# controller goes to vfio-pci: what passthrough is measured against.
l1_iops() {
	local bdf=$1 i
	modprobe_ nvme || return
	for ((i = 0; i < 60; i++)); do
		[ -b /dev/nvme0n1 ] && break
		sleep 1
	done
	[ -b /dev/nvme0n1 ] || return
	"$out/tools/randread" /dev/nvme0n1 1 "$IOPS_SECONDS"
	"$out/tools/randread" /dev/nvme0n1 32 "$IOPS_SECONDS"
	echo "$bdf" >/sys/bus/pci/drivers/nvme/unbind
}

boot() {
	local fifo=/tmp/vfio-l1-in.$$
	mkfifo "$fifo"
	sleep $((BOOT_TIMEOUT + 60)) >"$fifo" &
	local sleeper=$!
	# The IOMMU pins guest RAM: the locked-memory limit must cover it.
	ulimit -l unlimited
	local sock=/tmp/vfio-l1-api.$$
	timeout -k 10 "$BOOT_TIMEOUT" "$VMM" --kernel "$BZIMAGE" --initrd "$INITRAMFS" --mem 256M \
		--console stdio --api-sock "$sock" \
		--vfio-hotplug --device "vfio=/sys/bus/pci/devices/$2" --disk "$out/tools.ext4,ro" \
		--append "$CMDLINE_NORMAL noxsave vmmguest.shell=1 vmmguest.dhcp=0" \
		<"$fifo" >"$out/guest.log" 2>"$out/vmm.err" &
	vmm_pid=$!
	if wait_console "VMM-GUEST-SHELL: starting" "$BOOT_TIMEOUT"; then
		# the NIC hot-added (after two refusals that must change nothing), then the script
		ctl "$sock" add-device /sys/bus/pci/devices >"$out/hp.notpci"
		ctl "$sock" add-device "/sys/bus/pci/devices/$2" >"$out/hp.twice"
		ctl "$sock" add-device "/sys/bus/pci/devices/$1" --id nic0 >"$out/hp.add1"
		echo "mkdir -p /t && mount -o ro /dev/vda /t && sh /t/guest.sh $IOPS_SECONDS $BAD_IOVA" >"$fifo"
		if wait_console "^VFIO-HP-READY" "$BOOT_TIMEOUT"; then
			ctl "$sock" remove-device nic0 --timeout-ms 60000 >"$out/hp.remove"
			wait_console "^VFIO-HP-GONE" 120
			ctl "$sock" add-device "/sys/bus/pci/devices/$1" --id nic0 >"$out/hp.add2"
		fi
		wait_console "^VFIO-GUEST-DONE" "$BOOT_TIMEOUT"
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
	local nic nvme
	nic=$(find_dev "$NIC_ID")
	nvme=$(find_dev "$NVME_ID")
	echo "$nic" >"$out/l1.nic.bdf"
	echo "$nvme" >"$out/l1.nvme.bdf"
	if [ -z "$nic" ] || [ -z "$nvme" ]; then
		echo "in L1: no e1000e ($NIC_ID) or NVMe ($NVME_ID) on L1's bus (run.sh --vfio-devices?)"
		return
	fi
	l1_iops "$nvme" >"$out/l1.iops" 2>&1
	echo "in L1: $(tr '\n' ' ' <"$out/l1.iops")"
	bind_vfio "$nic" nic
	bind_vfio "$nvme" nvme
	echo "in L1: e1000e $nic $(cat "$out/l1.nic.bind"); NVMe $nvme $(cat "$out/l1.nvme.bind")"
	dmesg >"$out/l1.dmesg.before"
	boot "$nic" "$nvme"
	# A triple fault (status 4) of a boot in L1 now and then is L1's nested SVM under TCG, not
	# the boot (linux_stock.sh, l1_lib.sh: seen here in the suite's run of 2026-11-27, 7 s into
	# the boot): booted again, twice at most, the first try's console and log kept.
	local try
	for try in 2 3; do
		[ "$(cat "$out/vmm.status")" = 4 ] || break
		if [ "$try" = 2 ]; then
			cp "$out/guest.log" "$out/guest-first.log"
			cp "$out/vmm.err" "$out/vmm-first.err"
		fi
		echo "in L1: the VMM ended with status 4 (a triple fault): try $try"
		boot "$nic" "$nvme"
	done
	echo "in L1: the VMM ended with status $(cat "$out/vmm.status")"
	dmesg >"$out/l1.dmesg"
}

if [ -n "${VFIO_INNER:-}" ]; then
	inner
	exit 0
fi

# ---- here: L1, then the checks ----

require kvm
l1_require "tools/kvm-in-qemu gives the VMM an IOMMU and devices to pass through"
command -v gcc >/dev/null || skip "no gcc" "the IOPS tool (tools/kvm-in-qemu/randread.c) is built with gcc -static"
command -v mkfs.ext4 >/dev/null || skip "no mkfs.ext4" "the guest's tool disk is made with mkfs.ext4 -d"
eval "$("$SOURCE_DIR/guest-images/build.sh" --print-env)" || exit 1
out=$(mktemp -d "${BUILD_DIR:-$PWD}/vfio_l1.XXXXXX")
if [ -n "${VFIO_KEEP:-}" ]; then echo "note: $out is kept (VFIO_KEEP)"; else trap 'rm -rf "$out"' EXIT; fi
# The tool disk: randread (static, runs in L1 and in the guest alike) and the guest's script.
mkdir -p "$out/tools"
gcc -static -O2 -pthread -o "$out/tools/randread" "$SOURCE_DIR/tools/kvm-in-qemu/randread.c" ||
	skip "no static libc" "gcc -static cannot build tools/kvm-in-qemu/randread.c here"
write_guest_script "$out/tools/guest.sh"
mkfs.ext4 -q -F -d "$out/tools" "$out/tools.ext4" 8M || exit 1
export VMM VMMCTL SOURCE_DIR BOOT_TIMEOUT BZIMAGE INITRAMFS CMDLINE_NORMAL VFIO_INNER=1 VFIO_OUT="$out" IOPS_SECONDS
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
line() { sed -n "s/^$1: //p" "$out/guest.txt" | head -1; }
nic=$(cat "$out/l1.nic.bdf" 2>/dev/null)
nvme=$(cat "$out/l1.nvme.bdf" 2>/dev/null)
[ -n "$nic" ] || bad "L1 has no e1000e ($NIC_ID)"
[ -n "$nvme" ] || bad "L1 has no NVMe controller ($NVME_ID)"
for dev in nic nvme; do
	if grep -qE '^driver=vfio-pci group=[0-9]+ dev_vfio=.*[0-9]' "$out/l1.$dev.bind" 2>/dev/null; then
		ok "in L1, the $dev is bound to vfio-pci with an IOMMU group: $(cat "$out/l1.$dev.bind")"
	else
		bad "in L1, the $dev is not ready for VFIO: $(cat "$out/l1.$dev.bind" 2>/dev/null)"
	fi
done
tr -d '\r' <"$out/guest.log" >"$out/guest.txt" 2>/dev/null
if [ -f "$out/vmm-first.err" ]; then
	echo "note: the first boot in L1 ended in a triple fault and was booted again; its log's lines:"
	grep -m 3 'vmm: error' "$out/vmm-first.err"
	tr -d '\r' <"$out/guest-first.log" | tail -3
fi
vstatus=$(cat "$out/vmm.status" 2>/dev/null)
case $vstatus in
0) ok "the VMM ended with status 0 after the guest's poweroff (after the bad DMA too)" ;;
159) bad "the VMM was killed by SIGSYS (its own seccomp filter)" ;;
*) bad "the VMM ended with status '${vstatus:-none}'" ;;
esac
for bdf in $nic $nvme; do
	placed="$bdf: (hot-added as nic0, )?PCI 0000:00:[0-9a-f]{2}\.0"
	if grep -qE "device vfio=/sys/bus/pci/devices/$placed" "$out/vmm.err"; then
		ok "the VMM put $bdf on bus 0: $(grep -m1 -oE "$placed" "$out/vmm.err")"
	else
		bad "the VMM did not place $bdf"
	fi
done
# Hotplug of the NIC: the refusals, the add, the remove once the guest released it, the add
# again; the guest saw it go and come back, its driver bound again and pinged again.
hp() { cat "$out/hp.$1" 2>/dev/null; }
[[ "$(hp notpci)" == status=[1-9]*"not a PCI device"* ]] &&
	ok "add-device of a path that is not a PCI device's refused: $(hp notpci)" ||
	bad "add-device /sys/bus/pci/devices: '$(hp notpci)' (want a refusal)"
[[ "$(hp twice)" == status=[1-9]*"given twice"* ]] &&
	ok "add-device of the boot NVMe again refused: $(hp twice)" ||
	bad "add-device of the NVMe again: '$(hp twice)' (want 'given twice')"
for step in add1 add2; do
	if [[ "$(hp $step)" =~ ^status=0\ .*\"id\":\ ?\"nic0\".*\"bdf\":\ ?\"0000:00:[0-9a-f]{2}\.0\" ]]; then
		ok "vmmctl add-device (PUT /vmm/vm.add-device, $step): $(hp $step)"
	else
		bad "vmmctl add-device ($step): '$(hp $step)'"
	fi
done
[[ "$(hp remove)" == status=0* ]] && ok "vmmctl remove-device nic0: the guest released it" ||
	bad "vmmctl remove-device nic0: '$(hp remove)'"
gone=$(line VFIO-HP-GONE)
back=$(line VFIO-HP-BACK)
hping=$(line VFIO-HP-PING)
if [[ "$gone" == yes* ]] && [[ "$back" =~ \ eth[0-9]+\ driver=e1000e$ ]] &&
	[[ "$hping" =~ \ ([1-9][0-9]*)\ replies$ ]]; then
	ok "the NIC left the guest ($gone), came back ($back), its driver bound again and pinged 10.0.2.2: $hping"
else
	bad "the NIC's hotplug in the guest: gone '$gone', back '$back', ping '$hping'"
fi
warned=$(grep -E 'vmm: (warning|error):.*(VFIO|vfio|INTx|MSI-X|BAR|0000:)' "$out/vmm.err" | head -3)
if [ -z "$warned" ]; then
	ok "the VMM warned of nothing about the devices (reset, DMA maps, interrupts, unmapping)"
else
	bad "the VMM warned: $warned"
fi
for want in "0x8086 0x10d3 0x020000 driver=e1000e" "0x1b36 0x0010 0x010802 driver=nvme"; do
	if grep -qE "^VFIO-PCI: 0000:00:[0-9a-f]{2}\.0 $want$" "$out/guest.txt"; then
		ok "the guest's /sys/bus/pci/devices: $(grep -m1 -E "^VFIO-PCI: .* $want$" "$out/guest.txt")"
	else
		bad "the guest has no PCI function '$want' (its vendor, device, class and driver)"
	fi
done
# NVMe: DMA both ways and completions (MSI-X) through the passed-through controller.
dev=$(line VFIO-NVME-DEV)
if [[ "$dev" == *nvme0n1\ *serial=vmm-vfio-nvme* ]]; then
	ok "the guest's nvme driver made nvme0n1 of QEMU's controller: $dev"
else
	bad "no nvme0n1 with serial vmm-vfio-nvme in the guest: '$dev'"
fi
for what in VFIO-NVME-RAW VFIO-NVME-AFTER; do
	raw=$(line $what)
	if [[ "$raw" =~ ^write=0\ read=0\ pattern=([0-9a-f]{32})\ back=([0-9a-f]{32})$ ]] &&
		[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]; then
		ok "$what: 1 MiB of random data written to nvme0n1 and read back identical (O_DIRECT): $raw"
	else
		bad "$what: '$raw' (want write=0 read=0 and the same md5 twice)"
	fi
done
pattern=$(line VFIO-NVME-RAW | sed -n 's/.* pattern=\([0-9a-f]*\) .*/\1/p')
fs=$(line VFIO-NVME-FS)
if [ -n "$pattern" ] && [ "$fs" = "$pattern" ]; then
	ok "an ext4 file system on nvme0n1: the file written, unmounted, mounted again, read identical"
else
	bad "the file on nvme0n1's ext4: '$fs', want $pattern"
fi
# e1000e: its driver, an address, the slirp gateway answering.
net=$(line VFIO-NET-DEV)
ping_=$(line VFIO-PING)
if [[ "$net" =~ ^eth[0-9]+\ driver=e1000e$ ]] && [[ "$ping_" =~ \ ([1-9][0-9]*)\ replies$ ]]; then
	ok "the guest's e1000e driver ($net) pinged QEMU's slirp gateway 10.0.2.2: $ping_"
else
	bad "the e1000e: '$net', ping '$ping_' (want eth0 driver=e1000e and replies)"
fi
# /proc/interrupts: count the MSI-X vectors of each driver that fired (the sum of the CPU columns).
irq_count() { # NAME-REGEX
	grep -E "^VFIO-IRQ: .*MSI.*($1)" "$out/guest.txt" |
		awk '{ n = 0; for (i = 3; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i; if (n > 0) v++; t += n }
			END { printf "%d %d\n", v, t }'
}
for drv in nvme eth; do
	read -r vectors total < <(irq_count "$drv")
	if [ "${vectors:-0}" -gt 0 ]; then
		ok "$drv: $vectors MSI-X vectors fired in the guest, $total interrupts"
	else
		bad "$drv: no MSI-X vector of it counted in the guest's /proc/interrupts"
	fi
done
grep '^VFIO-IRQ: ' "$out/guest.txt"
unbound=$(line VFIO-UNBOUND)
[ "$unbound" = "driver=" ] || bad "the e1000e's driver did not let go: '$unbound'"
mmio=$(line VFIO-MMIO)
if [[ "$mmio" =~ ^status=0x([0-9A-F]{8})\ rdbal=0x12345000\ msix0addr=0xFEE01000\ msix0ctl=0x00000001$ ]] &&
	[ "${BASH_REMATCH[1]}" != FFFFFFFF ]; then
	ok "the guest reaches the NIC: its registers through the mapped BAR 0 (a write read back), the MSI-X table trapped: $mmio"
else
	bad "the guest's reads and writes of the BARs: '$mmio', want status not all-ones, rdbal=0x12345000, msix0addr=0xFEE01000, msix0ctl=0x00000001 (masked)"
fi
rom=$(line VFIO-ROM)
if [[ "$rom" =~ ^55\ aa(\ [0-9a-f]{2}){14}$ ]] && [[ ! "$rom" =~ (ff ){14}ff$ ]]; then
	ok "the guest reads the expansion ROM (trapped): $rom"
else
	bad "the guest's ROM starts '$rom' (want QEMU's option ROM: 55 aa, then its header)"
fi
# The bad DMA: L1's IOMMU refused it (its kernel logs the fault with the address; QEMU's model
# says so on L1's console too), and the VMM went on (the NVMe check after it, status 0 above).
baddma=$(line VFIO-BADDMA)
fault=$(diff "$out/l1.dmesg.before" "$out/l1.dmesg" 2>/dev/null | grep -m1 -iE "fault addr (0x)?0*${BAD_IOVA#0x}")
qfault=$(grep -m1 -aE "translation failure.*iova=$BAD_IOVA" "$out/l1.console" | tr -d '\r')
if [ -n "$fault" ]; then
	ok "the NIC's DMA from $BAD_IOVA (outside guest RAM) was stopped by L1's IOMMU: ${fault#> }"
	[ -z "$qfault" ] || echo "      QEMU's IOMMU model: $qfault"
else
	bad "no DMAR fault for $BAD_IOVA in L1's kernel log (guest: '$baddma'; QEMU: '${qfault:-nothing}')"
fi
echo "      the guest's NIC registers after the tail moved: $baddma"
# IOPS: reported, not judged (TCG: a fraction only).
l1q1=$(sed -n 's/.* qd=1 .*iops=\([0-9]*\).*/\1/p' "$out/l1.iops" 2>/dev/null)
l1q32=$(sed -n 's/.* qd=32 .*iops=\([0-9]*\).*/\1/p' "$out/l1.iops" 2>/dev/null)
l2q1=$(grep '^VFIO-IOPS: .* qd=1 ' "$out/guest.txt" | sed -n 's/.*iops=\([0-9]*\).*/\1/p')
l2q32=$(grep '^VFIO-IOPS: .* qd=32 ' "$out/guest.txt" | sed -n 's/.*iops=\([0-9]*\).*/\1/p')
frac() { [ -n "$1" ] && [ -n "$2" ] && [ "$2" -gt 0 ] && echo "$((100 * $1 / $2))%" || echo "?"; }
echo "IOPS (4 KiB random read, ${IOPS_SECONDS} s each, QEMU TCG: compare only as fractions):" \
	"qd1 L2 ${l2q1:-?} / L1 ${l1q1:-?} = $(frac "$l2q1" "$l1q1");" \
	"qd32 L2 ${l2q32:-?} / L1 ${l1q32:-?} = $(frac "$l2q32" "$l1q32")"
if [ -z "$l2q1" ] || [ -z "$l2q32" ]; then bad "no IOPS from the guest: $(grep '^VFIO-IOPS' "$out/guest.txt")"; fi
# BARs: each memory BAR L1 sees has the same size in the guest, inside the VMM's PCI windows:
# a 64-bit one (IORESOURCE_MEM_64, 0x100000) in the 64-bit window above 4 GiB
# (0xc000000000-0xffffffffff, base/layout.h), the others in the 32-bit one. The NVMe's BAR 0 is
# 64-bit: it must lie above 4 GiB.
# resource lines: start end flags (hex); IORESOURCE_MEM is 0x200.
for dev in nic nvme; do
	[ "$dev" = nic ] && id=0x10d3 || id=0x0010
	i=0
	mem_bars=0
	while read -r s e f; do
		if ((f & 0x200)); then
			size=$((e - s + 1))
			read -r gs ge _ < <(sed -n "s/^VFIO-BAR: $id $i //p" "$out/guest.txt")
			if ((f & 0x100000)); then
				lo=0xc000000000 hi=0xffffffffff win="64-bit"
			else
				lo=0xf0000000 hi=0xfebfffff win="32-bit"
			fi
			if [ -z "${gs:-}" ]; then
				bad "$dev BAR $i: not in the guest's resource file"
			elif [ $((ge - gs + 1)) = "$size" ] && ((gs >= lo && ge <= hi)); then
				ok "$dev BAR $i: $size bytes at $gs in the guest (as in L1), inside the $win PCI window"
			else
				bad "$dev BAR $i: guest $gs-$ge, want $size bytes inside $lo-$hi ($win)"
			fi
			if [ "$dev" = nvme ] && [ $i = 0 ]; then
				((${gs:-0} > 0xffffffff)) && ok "the NVMe's BAR 0 lies above 4 GiB ($gs)" ||
					bad "the NVMe's BAR 0 is not above 4 GiB: '${gs:-}'"
			fi
			mem_bars=$((mem_bars + 1))
		fi
		i=$((i + 1))
	done <"$out/l1.$dev.resource"
	[ "$mem_bars" -gt 0 ] || bad "L1 shows no memory BAR of the $dev"
done
if [ $fail -ne 0 ]; then
	echo "---- L1: IOMMU, DMAR and vfio lines of its kernel log"
	grep -iE 'DMAR|IOMMU|vfio' "$out/l1.dmesg" 2>/dev/null | tail -15
	echo "---- the VMM's stderr (last 20 lines)"
	tail -20 "$out/vmm.err" 2>/dev/null
	echo "---- the guest's console (last 40 lines)"
	tail -40 "$out/guest.txt" 2>/dev/null
fi
exit $fail
