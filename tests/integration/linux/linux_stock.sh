#!/usr/bin/env bash
# Debian 12's stock cloud kernel, a guest nobody here built (guest-images/stock.sh: the kernel
# linux-image-cloud-amd64 depends on, from Debian's archive, with a busybox initramfs whose /init
# is guest-images/stock/init.sh), on our VMM with its default seccomp filters and a log that is
# empty before the guest runs (no -v: issue 46's crash needed a VMM that had logged nothing).
# Two boots, side by side: over virtio-pci and over virtio-mmio, 2 vCPUs, 256 MiB, the serial
# console, an 8 MiB disk whose first line is a marker, the VMM's ACPI tables (firmware/acpi).
# Each must:
#   - end with exit status 0 after the guest's `reboot -f` (pci) or `poweroff -f` (mmio: the
#     kernel's ACPI S5 through the FADT's sleep control register; there /init first waits for the
#     ACPI power button, which the test presses with `vmmctl power-button` (PUT /actions
#     PowerButton) once /init says it waits: the Generic Event Device's _EVT, the `button`
#     module's KEY_POWER on "Power Button"'s event device) (159 = SIGSYS: the VMM's own
#     filter killed it; then the boot runs again with --seccomp log and the kernel's audit lines,
#     which name the thread and the call, are printed, where that kernel writes them: not in L1);
#   - bring both vCPUs online (the MADT) and log no ACPI error or warning;
#   - list the DSDT's VM generation counter as ACPI device VMGENCTR:00 (Debian's cloud kernel has
#     no driver for it: no CONFIG_VIRT_DRIVERS) and read a non-zero 16-byte ID at 0xA0000 through
#     /dev/mem (the ID's change on a restore: tests/integration/linux/linux_vmgenid.sh);
#   - show in the kernel's log that rtc_cmos read the CMOS clock and set the system clock, to the
#     host's UTC date, and that the kernel reached "Run /init as init process";
#   - run /init: the kernel release, the RTC through /sys, /proc/driver/rtc and `hwclock -r`, the
#     virtio modules of the package loaded, and /dev/vda with the marker read from it: over mmio
#     too, where Debian's kernel (no VIRTIO_MMIO_CMDLINE_DEVICES) finds the device in the DSDT.
# Then the same kernel, initramfs and disk on QEMU (q35: SeaBIOS, ACPI, virtio-blk-pci, 2 vCPUs)
# as the peer, with the same checks (printed as "peer ok" / "peer FAIL", not counted), and a
# table of what each machine showed the kernel (CPUs, disk, RTC, warnings, time to /init).
# (microvm is no peer here: its ACPI tables say "no CMOS RTC", so the kernel reads no clock, and
# its reset after `reboot -f` does not end QEMU.)
#
# Where it runs: on a KVM that runs guest kernel code (hardware, or nested) the boots run here.
# On kvm_pvm (guest kernel code emulated by KVM's x86 emulator) Debian's kernel cannot boot at
# all: SLUB's `lock cmpxchg16b` and then the INT3 self-test of alternative_instructions() are
# emulation failures (KVM_EXIT_INTERNAL_ERROR, the VMM exits 1 with the registers) long before
# any driver probes; the project's own kernel has patches for that (guest-images/patches/), a
# stock kernel has not. So there the whole test runs inside tools/kvm-in-qemu (an L1 Linux under
# QEMU's TCG with nested SVM and kvm_amd): the boots there, the checks here after L1 ended. It
# says so in its output, and runs no QEMU peer there unless STOCK_PEER=1. STOCK_DIRECT=1 forces
# the direct boots; STOCK_KEEP=1 keeps the logs.
# labels: slow linux
# requires: kvm
# timeout: 1200
# resource: linux:2
set -uo pipefail

SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
VMM="${VMM:-$PWD/vmm}"
VMMCTL="${VMMCTL:-$(dirname "$VMM")/tools/vmmctl/vmmctl}"
QEMU="${QEMU:-qemu-system-x86_64}"
BOOT_TIMEOUT=${BOOT_TIMEOUT:-240}
SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
. "$SOURCE_DIR/tests/integration/lib/require.sh"
. "$SOURCE_DIR/tests/integration/lib/l1_lib.sh"

# ---- the boots (here, or in L1: then only they run there, with $STOCK_OUT shared) ----

# Presses boot NAME's power button through its API socket SOCK once /init says it waits for it
# (again every 10 s while the VMM runs, for a press that came before /init opened the event
# device); vmmctl's first status and output in NAME.button.
press_button() {
	local name=$1 sock=$2 pid=$3 i
	for ((i = 0; i < BOOT_TIMEOUT; i++)); do
		grep -q '^VMM-STOCK-BUTTON: waiting' "$out/$name.log" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 1
	done
	for i in 1 2 3 4 5; do
		kill -0 "$pid" 2>/dev/null || return 0
		if [ "$i" = 1 ]; then
			"$VMMCTL" --sock "$sock" power-button >"$out/$name.button" 2>&1
			echo "status $?" >>"$out/$name.button"
		else
			"$VMMCTL" --sock "$sock" power-button >/dev/null 2>&1
			echo "pressed again ($i)" >>"$out/$name.button"
		fi
		sleep 10
	done
}

# One boot on our VMM: NAME TRANSPORT [VMM ARGS...]; its console in $out/NAME.log, stderr in
# NAME.err, exit status in NAME.status, seconds in NAME.secs.
boot_vmm() {
	local name=$1 transport=$2 start=$SECONDS end="" sock pid
	shift 2
	# Over mmio the guest waits for the power button and ends with `poweroff -f` (ACPI S5), over
	# PCI it ends with `reboot -f`. The socket in /tmp: L1's own tmpfs (not the 9p share).
	sock=/tmp/vmm-stock-$$-$name.sock
	[ "$transport" = mmio ] && end=" vmmstock.end=button"
	printf '%s\n' "$STOCK_MARKER" >"$out/$name.img"
	truncate -s 8M "$out/$name.img"
	# No -v: issue 46's crash needed a VMM that had logged nothing before the guest read the clock.
	timeout -k 10 "$BOOT_TIMEOUT" "$VMM" --kernel "$STOCK_KERNEL" --initrd "$STOCK_INITRAMFS" \
		--cpus 2 --mem 256M --transport "$transport" --disk "$out/$name.img" --api-sock "$sock" \
		"$@" --append "$cmdline$end" </dev/null >"$out/$name.log" 2>"$out/$name.err" &
	pid=$!
	[ "$transport" = mmio ] && press_button "$name" "$sock" "$pid" &
	l1_watch_stall "$out/$name.log" "$out/$name.stall" "$sock" "$pid" "${STOCK_STALL:-60}" &
	wait "$pid"
	echo $? >"$out/$name.status"
	wait
	rm -f "$sock"
	echo $((SECONDS - start)) >"$out/$name.secs"
}

boot_qemu() {
	local name=$1 start=$SECONDS cpu=host
	printf '%s\n' "$STOCK_MARKER" >"$out/$name.img"
	truncate -s 8M "$out/$name.img"
	# kvm_pvm refuses QEMU's write of MSR_IA32_ARCH_CAPABILITIES (0x10a).
	[ -e /sys/module/kvm_pvm ] && cpu=host,-arch-capabilities
	timeout -k 10 "$BOOT_TIMEOUT" "$QEMU" -enable-kvm -cpu "$cpu" -M q35 -smp 2 -m 256M \
		-nodefaults -no-user-config -display none -no-reboot -serial stdio \
		-kernel "$STOCK_KERNEL" -initrd "$STOCK_INITRAMFS" -append "$cmdline" \
		-drive "id=d0,if=none,format=raw,file=$out/$name.img" -device virtio-blk-pci,drive=d0 \
		</dev/null >"$out/$name.log" 2>"$out/$name.err"
	echo $? >"$out/$name.status"
	echo $((SECONDS - start)) >"$out/$name.secs"
}

run_boots() {
	local start=$SECONDS name
	cmdline=$STOCK_CMDLINE_NORMAL
	[ -e /sys/module/kvm_pvm ] && cmdline=$STOCK_CMDLINE_EMULATED_KVM
	cmdline+=" vmmstock.disk=1"
	# In L1 the guests' CPU is TCG's EPYC without AVX: XSAVE there makes the kernel warn
	# ("XSAVE consistency problem", then a CPUID dump) on both VMMs. While it printed that, 1 of
	# about 15 boots of ours ended in a triple fault and L1 itself panicked once (stack guard page, in
	# KVM_RUN); QEMU's 5 boots passed. With noxsave all 12 of ours passed (2026-11-26), faster.
	[ -n "${STOCK_INNER:-}" ] && cmdline+=" noxsave"
	date -u +%F >"$out/host-date"
	# All three side by side, QEMU (the slowest) first; in L1 they share its two vCPUs. There the
	# peer is off unless STOCK_PEER=1: on a loaded CI host it held L1 past its time (the suite's
	# run of 2026-11-26 failed so), and it doubles L1's load; directly on a KVM it costs seconds.
	if [ "${STOCK_PEER:-1}" = 1 ] && command -v "$QEMU" >/dev/null; then
		boot_qemu qemu &
	fi
	boot_vmm vmm-pci pci &
	boot_vmm vmm-mmio mmio &
	wait
	for name in qemu vmm-pci vmm-mmio; do
		[ -f "$out/$name.secs" ] && echo "$name: $(cat "$out/$name.secs") s"
	done
	echo "the boots side by side: $((SECONDS - start)) s"
	# In L1 a triple fault (status 4) of one boot out of many is L1's nested SVM under TCG (L1
	# itself panicked inside KVM_RUN once, and a fault came back on 1 of ~30 boots with noxsave,
	# never twice in a row), and so is a stall (l1_watch_stall): that boot once more, alone, its
	# first try kept and shown by the checks.
	# Twice at most: 2 of the 7 boots seen on 2026-11-27 stalled (one in CI, one here), too many
	# to bet on the next boot alone.
	local try
	for name in vmm-pci vmm-mmio; do
		for try in 2 3; do
			[ -n "${STOCK_INNER:-}" ] && l1_boot_again "$out" "$name" "$try" || continue
			boot_vmm "$name" "${name#vmm-}"
			echo "$name: a triple fault or a stall in L1, try $try alone: $(cat "$out/$name.secs") s"
		done
	done
	date -u +%F >>"$out/host-date"
	# A VMM killed by its own filter: the first such boot again in log mode, whose calls outside
	# the filter the kernel's audit lines name (thread and call). Not in L1: its kernel writes no
	# audit lines (no audit rules there), and strace, which would name them, took minutes there.
	for name in vmm-pci vmm-mmio; do
		[ "$(cat "$out/$name.status")" = 159 ] || continue
		if [ -n "${STOCK_INNER:-}" ]; then
			echo "not run in L1" >"$out/$name-log.audit"
			break
		fi
		boot_vmm "$name-log" "${name#vmm-}" --seccomp log
		dmesg 2>/dev/null | grep -E 'type=1326.*comm=' | tail -20 >"$out/$name-log.audit"
		break
	done
}

if [ -n "${STOCK_INNER:-}" ]; then
	out=$STOCK_OUT
	echo "in L1: $(kvm_probe_line)"
	run_boots
	exit 0
fi

env_out=$("$SOURCE_DIR/guest-images/stock.sh" --print-env) ||
	skip "no stock kernel" "guest-images/stock.sh could not fetch Debian's kernel (above)"
set -a # exported: tools/kvm-in-qemu runs the boots in L1 with this environment
eval "$env_out"
STOCK_MARKER="VMM-STOCK-DISK-MARKER $$-$RANDOM"
set +a
echo "kernel: $STOCK_PACKAGE $STOCK_PACKAGE_VERSION ($STOCK_KERNEL_RELEASE), $STOCK_KERNEL"
# Not under /tmp: L1 mounts its own tmpfs there, over the share.
out=$(mktemp -d "${BUILD_DIR:-$PWD}/linux_stock.XXXXXX")
if [ -n "${STOCK_KEEP:-}" ]; then echo "note: $out is kept (STOCK_KEEP)"; else trap 'rm -rf "$out"' EXIT; fi
start=$SECONDS
if l1_wanted "${STOCK_DIRECT:-0}"; then
	l1_require "$L1_PVM_WHY"
	echo "where: $L1_PVM_WHY, so the boots run in an L1 Linux under QEMU's TCG with nested SVM" \
		"(tools/kvm-in-qemu), where kvm_amd runs guest kernel and user code; the checks here"
	export VMM QEMU SOURCE_DIR BOOT_TIMEOUT STOCK_INNER=1 STOCK_OUT="$out"
	export STOCK_PEER=${STOCK_PEER:-0}
	l1_run "$out" $((BOOT_TIMEOUT + 300)) 'qemu:|vmm-pci:|vmm-mmio:|the boots' "" -- bash "$SCRIPT"
	status=$?
	unset STOCK_INNER
	if [ "$status" != 0 ]; then
		echo "FAIL: tools/kvm-in-qemu did not run the boots twice"
		exit 1
	fi
else
	echo "where: directly on this host's KVM ($(kvm_probe_line))"
	run_boots
fi
echo "boots: $((SECONDS - start)) s"

# ---- the checks ----
fail=0
# QEMU is the peer: its results are printed, not counted (nested in tools/kvm-in-qemu it hung
# early in its boot now and then, e.g. right after the ACPI tables, with our VMM's boots fine).
ok() { if [ "$peer" = 1 ]; then echo "peer ok: $*"; else echo "ok: $*"; fi; }
bad() {
	if [ "$peer" = 1 ]; then
		echo "peer FAIL (not counted): $*"
		peer_failed=1
	else
		echo "FAIL: $*"
		fail=1
	fi
}
peer=0
peer_failed=0
# The kernel's messages and /init's lines of one boot, carriage returns dropped. (Read from a
# file: `tr | grep -q` fails under pipefail when grep stops early and tr gets SIGPIPE.)
log_of() { cat "$out/$1.txt"; }

# The kernel's timestamp of the first line containing TEXT in boot NAME ("-" when absent).
stamp_of() {
	local s
	s=$(log_of "$1" | grep -F -m1 -- "$2" | sed -n 's/^\[ *\([0-9.]*\)\] .*/\1/p')
	echo "${s:--}"
}

# What /init printed after VMM-STOCK-KEY: (first match), "-" when absent.
marker_of() {
	local s
	s=$(log_of "$1" | sed -n "s/^VMM-STOCK-$2: //p" | head -1)
	echo "${s:--}"
}

check_log() {
	if grep -qE -- "$3" "$out/$1.txt"; then ok "$1: $2"; else bad "$1: $2 (no /$3/)"; fi
}

# The checks of one boot: NAME KIND (vmm-pci, vmm-mmio, qemu).
check_boot() {
	local name=$1 kind=$2 status rtc_date vda end=reboot cpus acpi_bad
	[ "$kind" = vmm-mmio ] && end=poweroff
	status=$(cat "$out/$name.status")
	case $status in
	0) ok "$name: exit status 0 after the guest's $end ($(cat "$out/$name.secs") s)" ;;
	159) bad "$name: exit status 159: killed by SIGSYS (the VMM's own seccomp filter)" ;;
	124 | 137) bad "$name: no end within $BOOT_TIMEOUT s (a hang: status $status)" ;;
	*) bad "$name: exit status $status, want 0" ;;
	esac
	if grep -q 'KVM internal error' "$out/$name.err"; then
		bad "$name: KVM could not run the guest: $(grep -m1 'KVM internal error' "$out/$name.err")"
	fi
	# "rtc_cmos rtc_cmos: setting system clock to 2026-11-26T08:42:25 UTC (1795682545)"; with
	# ACPI (QEMU) the device is the PNP one, "rtc_cmos 00:03".
	check_log "$name" "rtc_cmos registered the CMOS clock as rtc0" 'rtc_cmos [^ ]+: registered as rtc0'
	rtc_date=$(log_of "$name" | sed -n 's/.*rtc_cmos [^ ]*: setting system clock to \([0-9-]*\)T[0-9:]* UTC.*/\1/p' | head -1)
	if [ -z "$rtc_date" ]; then
		bad "$name: no 'rtc_cmos ...: setting system clock to' in the kernel's log"
	elif grep -qxF "$rtc_date" "$out/host-date"; then
		ok "$name: rtc_cmos set the system clock from the CMOS clock: $rtc_date, the host's UTC date"
	else
		bad "$name: rtc_cmos set the system clock to $rtc_date, the host's UTC date is $(head -1 "$out/host-date")"
	fi
	check_log "$name" "the kernel reached Run /init" 'Run /init as init process'
	if grep -q 'Attempted to kill init' "$out/$name.txt"; then
		bad "$name: user space did not run: $(log_of "$name" | grep -m1 'Attempted to kill init')"
	fi
	# /init's lines: user space ran.
	check_log "$name" "/init ran" '^VMM-STOCK-INIT: ok'
	check_log "$name" "uname: $STOCK_KERNEL_RELEASE" "^VMM-STOCK-KERNEL: $STOCK_KERNEL_RELEASE\$"
	check_log "$name" "/sys/class/rtc/rtc0 is rtc_cmos, the system clock's source" \
		'^VMM-STOCK-RTC: name=rtc_cmos.* date=20[0-9-]+ time=[0-9:]+ hctosys=1'
	check_log "$name" "/proc/driver/rtc reads the clock" '^VMM-STOCK-PROC-RTC: rtc_date 20[0-9-]+'
	check_log "$name" "hwclock -r reads the clock" \
		'^VMM-STOCK-HWCLOCK: [A-Z][a-z]{2} [A-Z][a-z]{2} +[0-9]+ [0-9:]{8} 20[0-9]{2}'
	check_log "$name" "the package's virtio modules loaded" '^VMM-STOCK-INSMOD: virtio_blk status 0'
	vda=$(marker_of "$name" VDA)
	if [ "$vda" = "yes sectors=16384 first-line=$STOCK_MARKER" ]; then
		ok "$name: /dev/vda, 8 MiB, its first line is the disk's marker"
	else
		bad "$name: /dev/vda: '$vda', want 'yes sectors=16384 first-line=$STOCK_MARKER'"
	fi
	cpus=$(marker_of "$name" CPUS)
	if [ "$cpus" = "2 online=0-1" ]; then
		ok "$name: both vCPUs online ($cpus)"
	else
		bad "$name: CPUs: '$cpus', want '2 online=0-1'"
	fi
	# Linux prints the CPU's model name (CPUID 0x80000002-4), or its vendor and family/model
	# ("AMD 17/01") when those leaves are zeros, as KVM_GET_SUPPORTED_CPUID gives them.
	if grep -qE 'smpboot: CPU0: [A-Za-z]+ [0-9a-f]+/[0-9a-f]+ \(family' "$out/$name.txt"; then
		bad "$name: no CPU model name: $(grep -m1 -oE 'smpboot: CPU0: [^(]*' "$out/$name.txt")"
	else
		check_log "$name" "the CPU's model name (CPUID brand string)" 'smpboot: CPU0: .+ \(family'
	fi
	[ "$kind" = qemu ] || check_log "$name" "the kernel read our ACPI tables" 'ACPI: XSDT 0x[0-9A-F]+ .* \(v01 VMM'
	if [ "$kind" != qemu ]; then
		local vgen
		vgen=$(marker_of "$name" VMGENID)
		if [[ "$vgen" =~ ^hid=VMGENCTR\ driver=[a-z_]*\ id=(\ [0-9a-f]{2}){16}$ ]] &&
			[[ ! "$vgen" =~ id=(\ 00){16}$ ]]; then
			ok "$name: the VM generation counter is ACPI device VMGENCTR:00, its ID at 0xA0000 is not zero ($vgen)"
		else
			bad "$name: VM generation counter: '$vgen', want 'hid=VMGENCTR driver=... id=' and 16 bytes, not all zero"
		fi
	fi
	acpi_bad=$(log_of "$name" | grep -E 'ACPI( BIOS)? (Error|Warning)' | head -3)
	if [ -z "$acpi_bad" ]; then
		ok "$name: no ACPI error or warning in the kernel's log"
	else
		bad "$name: the kernel's ACPI complained: $acpi_bad"
	fi
	if [ "$kind" = vmm-mmio ]; then
		if grep -qx 'status 0' "$out/$name.button" 2>/dev/null; then
			ok "$name: vmmctl power-button (PUT /actions PowerButton) answered 204"
		else
			bad "$name: vmmctl power-button: $(cat "$out/$name.button" 2>/dev/null || echo 'never run: /init did not wait for the button')"
		fi
		check_log "$name" "/init read KEY_POWER (type 1, code 116, pressed) from the Power Button" \
			'^VMM-STOCK-BUTTON: event type,code,value= +1 +116 +1$'
	fi
	check_log "$name" "/init ended the VM with $end -f" "^VMM-STOCK-END: $end"
	[ "$end" = reboot ] || check_log "$name" "the kernel powered down" 'reboot: Power down'
}

names=(vmm-pci vmm-mmio)
if [ -f "$out/qemu.status" ]; then
	names+=(qemu)
else
	echo "not run: the boot on QEMU (in L1 only with STOCK_PEER=1; or $QEMU is not installed)"
fi
for name in "${names[@]}"; do
	tr -d '\r' <"$out/$name.log" >"$out/$name.txt"
	[ "$name" = qemu ] && peer=1
	check_boot "$name" "$name"
	peer=0
done
for name in vmm-pci vmm-mmio; do
	[ -f "$out/$name-first.status" ] || continue
	if [ -f "$out/$name-first.stall" ]; then
		echo "note: $name: the first boot in L1 stalled and was booted again:"
		cat "$out/$name-first.stall"
		echo "its console's and stderr's last lines:"
	else
		echo "note: $name: the first boot in L1 ended in a triple fault (status" \
			"$(cat "$out/$name-first.status")) and was booted again; its console's and stderr's last lines:"
	fi
	tr -d '\r' <"$out/$name-first.log" | tail -5
	tail -12 "$out/$name-first.err"
done
for name in vmm-pci vmm-mmio; do
	[ -f "$out/$name-log.audit" ] || continue
	if [ -f "$out/$name-log.status" ]; then
		echo "---- $name: killed by SIGSYS; the same boot with --seccomp log ended with status" \
			"$(cat "$out/$name-log.status"); the kernel's audit lines (comm= is the thread):"
		cat "$out/$name-log.audit"
	else
		echo "not run: $name: the boot with --seccomp log (L1's kernel writes no audit lines;" \
			"on the host: vmm --seccomp log, then dmesg | grep type=1326)"
	fi
done

# ---- what each machine showed the kernel (not checked: issue 48 has what differs) ----
echo "machine  | CPUs (/proc/cpuinfo, online) | /dev/vda | /sys/class/rtc/rtc0      | warnings | Run /init"
for name in "${names[@]}"; do
	printf '%-8s | %-28s | %-8s | %-24s | %-8s | %s s\n' "$name" "$(marker_of "$name" CPUS)" \
		"$(marker_of "$name" VDA | cut -d' ' -f1)" "$(marker_of "$name" RTC | sed 's/ date=.*//')" \
		"$(log_of "$name" | grep -cE '^\[ *[0-9.]+\] (WARNING:|BUG:)')" "$(stamp_of "$name" 'Run /init')"
done
for name in "${names[@]}"; do
	log_of "$name" | grep -E '^\[ *[0-9.]+\] (WARNING:|BUG:)|APIC: ACPI MADT or MP tables are not detected|smpboot: Allowing' |
		head -4 | sed "s/^/note: $name: /"
done

if [ $fail -ne 0 ] || [ $peer_failed -ne 0 ]; then
	for name in "${names[@]}"; do
		echo "---- $name: console (last 30 lines)"
		log_of "$name" | tail -30
		echo "---- $name: stderr (last 10 lines)"
		tail -10 "$out/$name.err"
	done
fi
exit $fail
