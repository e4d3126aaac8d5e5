#!/usr/bin/env bash
# Debian 12's stock cloud kernel (guest-images/stock.sh, with its busybox initramfs) booted
# through Debian's SeaBIOS: `--firmware bios-256k.bin --kernel K --initrd I --append ...`, 2 vCPUs,
# 256 MiB, an 8 MiB disk over virtio-pci whose first line is a marker. What it proves beyond
# firmware_linux.sh: the ACPI tables the VMM hands the firmware through fw_cfg's etc/table-loader
# reach a kernel that reads ACPI only (no MP-table parser): the kernel finds the RSDP SeaBIOS
# placed, our XSDT (OEM "VMM"), the MADT's two CPUs and the DSDT's PCI host bridge, logs no ACPI
# error or warning, and its /init reads /dev/vda; it ends with `reboot -f` (exit status 0).
# QEMU (q35, the same SeaBIOS file, -kernel) boots the same beside it as a peer: printed, not
# counted.
#
# On kvm_pvm (guest kernel code emulated) Debian's kernel cannot run (linux_stock.sh says why),
# so there the boots run inside tools/kvm-in-qemu (one L1, both boots side by side) and the
# checks here afterwards. FW_STOCK_KEEP=1 keeps the logs; FW_STOCK_PEER=0 leaves QEMU out;
# FW_STOCK_STALL (default 60) is how long a silent console of ours in L1 is a stall (l1_lib.sh).
# FIRMWARE_KIND=ovmf (firmware_ovmf.sh) boots through Debian's OVMF.fd instead, with QEMU's
# i440FX machine (-M pc) as the peer: the platform the VMM shows a UEFI image (an i440FX host
# bridge, the PIIX4 PM timer).
# labels: slow linux firmware
# requires: kvm
# timeout: 1400
# resource: linux:2
set -uo pipefail

SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
VMM="${VMM:-$PWD/vmm}"
VMMCTL="${VMMCTL:-$(dirname "$VMM")/tools/vmmctl/vmmctl}"
QEMU="${QEMU:-qemu-system-x86_64}"
BOOT_TIMEOUT=${BOOT_TIMEOUT:-420}
FIRMWARE_KIND=${FIRMWARE_KIND:-seabios}
if [ "$FIRMWARE_KIND" = ovmf ]; then
	BIOS=${OVMF_FD:-/usr/share/ovmf/OVMF.fd}
	QEMU_MACHINE=pc
else
	BIOS=${SEABIOS_DIR:-/usr/share/seabios}/bios-256k.bin
	QEMU_MACHINE=q35
fi
SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
. "$SOURCE_DIR/tests/integration/lib/require.sh"
. "$SOURCE_DIR/tests/integration/lib/l1_lib.sh"

boot_vmm() {
	local start=$SECONDS sock=/tmp/vmm-fw-stock-$$.sock pid # /tmp: L1's own tmpfs
	printf '%s\n' "$FW_STOCK_MARKER" >"$out/vmm.img"
	truncate -s 8M "$out/vmm.img"
	timeout -k 10 "$BOOT_TIMEOUT" "$VMM" --firmware "$BIOS" --firmware-log "$out/vmm.fw" \
		--kernel "$STOCK_KERNEL" --initrd "$STOCK_INITRAMFS" --append "$cmdline" \
		--cpus 2 --mem 256M --transport pci --disk "$out/vmm.img" --api-sock "$sock" \
		</dev/null >"$out/vmm.log" 2>"$out/vmm.err" &
	pid=$!
	[ -n "${FW_STOCK_INNER:-}" ] &&
		l1_watch_stall "$out/vmm.log" "$out/vmm.stall" "$sock" "$pid" "${FW_STOCK_STALL:-60}" &
	wait "$pid"
	echo $? >"$out/vmm.status"
	wait
	rm -f "$sock"
	echo $((SECONDS - start)) >"$out/vmm.secs"
}

boot_qemu() {
	local start=$SECONDS cpu=host
	printf '%s\n' "$FW_STOCK_MARKER" >"$out/qemu.img"
	truncate -s 8M "$out/qemu.img"
	[ -e /sys/module/kvm_pvm ] && cpu=host,-arch-capabilities
	timeout -k 10 "$BOOT_TIMEOUT" "$QEMU" -enable-kvm -cpu "$cpu" -M "$QEMU_MACHINE" -smp 2 -m 256M \
		-nodefaults -no-user-config -display none -no-reboot -serial stdio -bios "$BIOS" \
		-kernel "$STOCK_KERNEL" -initrd "$STOCK_INITRAMFS" -append "$cmdline" \
		-drive "id=d0,if=none,format=raw,file=$out/qemu.img" -device virtio-blk-pci,drive=d0 \
		</dev/null >"$out/qemu.log" 2>"$out/qemu.err"
	echo $? >"$out/qemu.status"
	echo $((SECONDS - start)) >"$out/qemu.secs"
}

run_boots() {
	cmdline=$STOCK_CMDLINE_NORMAL
	[ -e /sys/module/kvm_pvm ] && cmdline=$STOCK_CMDLINE_EMULATED_KVM
	[ -n "${FW_STOCK_INNER:-}" ] && cmdline+=" noxsave" # TCG's EPYC in L1: linux_stock.sh
	cmdline+=" vmmstock.disk=1"
	[ "${FW_STOCK_PEER:-1}" = 1 ] && command -v "$QEMU" >/dev/null && boot_qemu &
	boot_vmm &
	wait
	# In L1 a triple fault or a stall now and then is L1's nested SVM under TCG (l1_boot_again):
	# that boot again, alone, twice at most, its first try kept and shown. A boot beside QEMU's
	# ended so in 4 of 6 runs on 2026-11-27 (2 triple faults, 2 consoles stopped mid-line early in
	# the kernel's boot, as in the suite's runs); each boot alone passed.
	local try
	for try in 2 3; do
		[ -n "${FW_STOCK_INNER:-}" ] && l1_boot_again "$out" vmm "$try" || break
		boot_vmm
		echo "vmm: a triple fault or a stall in L1, try $try alone: $(cat "$out/vmm.secs") s"
	done
	for name in vmm qemu; do
		[ -f "$out/$name.secs" ] && echo "$name: status $(cat "$out/$name.status"), $(cat "$out/$name.secs") s"
	done
}

if [ -n "${FW_STOCK_INNER:-}" ]; then
	out=$FW_STOCK_OUT
	echo "in L1: $(kvm_probe_line)"
	run_boots
	exit 0
fi

[ -r "$BIOS" ] || skip "no $FIRMWARE_KIND" "$BIOS is missing (Debian's seabios/ovmf, tools/setup.sh)"
echo "firmware: $BIOS"
env_out=$("$SOURCE_DIR/guest-images/stock.sh" --print-env) ||
	skip "no stock kernel" "guest-images/stock.sh could not fetch Debian's kernel (above)"
set -a
eval "$env_out"
FW_STOCK_MARKER="VMM-FW-STOCK-MARKER $$-$RANDOM"
set +a
out=$(mktemp -d "${BUILD_DIR:-$PWD}/firmware_stock.XXXXXX")
if [ -n "${FW_STOCK_KEEP:-}" ]; then echo "note: $out is kept"; else trap 'rm -rf "$out"' EXIT; fi
if l1_wanted; then
	# OVMF in L2 makes the host's QEMU (7.2) abort L1 within seconds in most runs:
	# "tcg_handle_interrupt: assertion failed: (qemu_mutex_iothread_locked())", an interrupt raised
	# by its nested-SVM code without the lock (both tries of the suite's run, 2026-11-26). So on
	# kvm_pvm (where OVMF itself cannot run: x87) the OVMF boot is skipped; FW_OVMF_L1=1 tries.
	[ "$FIRMWARE_KIND" = ovmf ] && [ "${FW_OVMF_L1:-0}" != 1 ] &&
		skip "L1 aborts" "$L1_PVM_WHY and OVMF cannot run on kvm_pvm (x87); tools/kvm-in-qemu's QEMU aborts L1 under OVMF (tcg_handle_interrupt assertion); FW_OVMF_L1=1 tries"
	l1_require "$L1_PVM_WHY"
	echo "where: $L1_PVM_WHY: the boots run in an L1 Linux (tools/kvm-in-qemu), the checks here"
	export VMM VMMCTL QEMU SOURCE_DIR BOOT_TIMEOUT FIRMWARE_KIND FW_STOCK_PEER FW_STOCK_STALL FW_STOCK_INNER=1 FW_STOCK_OUT="$out"
	# room for a second boot of ours (above; a third comes after a stall, stopped within 70 s)
	l1_run "$out" $((2 * BOOT_TIMEOUT + 240)) 'vmm:|qemu:' "" -- bash "$SCRIPT"
	unset FW_STOCK_INNER
	[ -f "$out/vmm.status" ] || { echo "FAIL: L1 did not run the boots"; exit 1; }
else
	echo "where: directly on this host's KVM ($(kvm_probe_line))"
	run_boots
fi

fail=0
peer=0
ok() { if [ "$peer" = 1 ]; then echo "peer ok: $*"; else echo "ok: $*"; fi; }
bad() { if [ "$peer" = 1 ]; then echo "peer FAIL (not counted): $*"; else echo "FAIL: $*"; fail=1; fi; }
check() { if grep -qE -- "$3" "$out/$1.txt"; then ok "$1: $2"; else bad "$1: $2 (no /$3/)"; fi; }

check_boot() {
	local name=$1 status
	tr -d '\r' <"$out/$name.log" >"$out/$name.txt"
	status=$(cat "$out/$name.status")
	[ "$status" = 0 ] && ok "$name: exit status 0 after the guest's reboot -f" ||
		bad "$name: exit status $status, want 0"
	check "$name" "the kernel found an RSDP" 'ACPI: RSDP 0x[0-9A-F]+ '
	# SeaBIOS keeps our XSDT; OVMF installs each table through its ACPI table protocol, which
	# writes an XSDT of its own.
	[ "$name" = vmm ] && [ "$FIRMWARE_KIND" = seabios ] &&
		check "$name" "the XSDT is ours (OEM VMM), through the firmware" \
			'ACPI: XSDT 0x[0-9A-F]+ .* \(v01 VMM'
	[ "$name" = vmm ] && check "$name" "the MADT is ours" 'ACPI: APIC 0x[0-9A-F]+ .* VMM'
	check "$name" "the kernel reached /init" 'Run /init as init process'
	check "$name" "/init ran" '^VMM-STOCK-INIT: ok'
	check "$name" "both vCPUs online (the MADT)" '^VMM-STOCK-CPUS: 2 online=0-1$'
	check "$name" "/dev/vda with the marker" "^VMM-STOCK-VDA: yes sectors=16384 first-line=$FW_STOCK_MARKER\$"
	if grep -qE 'ACPI( BIOS)? (Error|Warning)' "$out/$name.txt"; then
		bad "$name: ACPI complained: $(grep -m2 -E 'ACPI( BIOS)? (Error|Warning)' "$out/$name.txt")"
	else
		ok "$name: no ACPI error or warning"
	fi
}

check_boot vmm
if [ -f "$out/vmm-first.status" ]; then
	echo "note: the first boot in L1 ended with status $(cat "$out/vmm-first.status"); its stderr's last lines:"
	tail -4 "$out/vmm-first.err"
	[ -f "$out/vmm-first.stall" ] && cat "$out/vmm-first.stall"
fi
if [ "$fail" = 1 ]; then
	echo "---- vmm: console's last lines, stderr, firmware log's last lines"
	tail -15 "$out/vmm.txt"
	tail -5 "$out/vmm.err"
	tail -8 "$out/vmm.fw"
fi
if [ -f "$out/qemu.status" ]; then
	peer=1
	check_boot qemu
fi
[ "$fail" = 0 ] && echo "checks: all passed" || echo "checks: some failed"
exit "$fail"
