#!/usr/bin/env bash
# PCI hotplug (docs/hotplug.md) with Debian 12's stock cloud kernel, which has ACPI and acpiphp
# built in (CONFIG_HOTPLUG_PCI_ACPI=y): one boot on our VMM (2 vCPUs, 256 MiB, its disk over
# virtio-pci so the VM has a PCI bus, --api-sock), /init in its hotplug mode
# (guest-images/stock/init.sh, vmmstock.end=hotplug). The test, through vmmctl:
#   - when /init waits, adds a disk (vmmctl add-disk IMG --id hp0: 200 with {"id", "bdf"}) and,
#     when a tap can be made, a NIC (add-net TAP --id hpnet0); asks for the same id again and an
#     unknown id's removal (400s, nothing added);
#   - the guest must list the hotplug slots (/sys/bus/pci/slots, from the DSDT's _SUN), see
#     /dev/vdb arrive (sysfs; busybox has no udev) with the image's size, write a line to it
#     and read it back, and see eth0 arrive;
#   - when /init is ready, removes both (remove-device: 204 once the guest's _EJ0 released
#     them); /dev/vdb and eth0 must go;
#   - adds a vsock (add-vsock 7 SOCK --id hpvs0) and a pmem device (add-pmem FILE --id hppm0,
#     2 MiB, a marker on its first line): the guest's vmw_vsock_virtio_transport binds the
#     vsock device, /dev/pmem0 arrives and reads the marker (Debian's modules: vsock,
#     vmw_vsock_virtio_transport, libnvdimm, nd_pmem, virtio_pmem, in the initramfs); removes
#     both: the device and /dev/pmem0 go (vmmstock.hpvp=1);
#   - when virtiofsd is installed, adds a shared folder (add-fs hpshare SOCK --id hpfs0; guest
#     RAM is a memfd, --mem-shared, which virtiofsd maps): Debian's virtiofs module binds it,
#     /init mounts the tag, reads the host's marker, writes a file the host then reads, and
#     unmounts; removes it: the device goes (vmmstock.hpfs=1);
#   - adds the disk again: /init reads the line it wrote before;
#   - removes the disk the VM started with (drive0, /dev/vda; not the root disk: /init runs from
#     its initramfs): 204 once the guest released it, /dev/vda goes;
#   - the VMM ends with status 0 after the guest's poweroff -f.
# Then, when QEMU is installed, the same kernel and /init on QEMU's q35 (a PCIe root port, its
# ACPI hotplug) with QMP's device_add and device_del as the peer: not counted, timed the same
# way. Printed: the time from the add request (vmmctl add-disk; QMP device_add) to /init's
# "/dev/vdb arrived" line on the console, and from the remove request to "vdb gone", each
# measured on the host (the console looked at every 50 ms, /init looks at sysfs every 50 ms).
# Where it runs: as linux_stock.sh (on kvm_pvm in tools/kvm-in-qemu's L1, the checks here).
# labels: slow linux api
# requires: kvm
# timeout: 900
# resource: linux:2
set -uo pipefail

SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
VMM="${VMM:-$PWD/vmm}"
QEMU="${QEMU:-qemu-system-x86_64}"
VMMCTL="${VMMCTL:-$(dirname "$VMM")/tools/vmmctl/vmmctl}"
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-400}
SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
. "$SOURCE_DIR/tests/integration/lib/require.sh"
. "$SOURCE_DIR/tests/integration/lib/l1_lib.sh"

# ---- the boot (here, or in L1) ----

# until_line REGEX PID [LOG]: waits for /init's line in LOG (default vmm) (false when the
# machine ended or after BOOT_TIMEOUT).
until_line() {
	local i
	for ((i = 0; i < BOOT_TIMEOUT * 2; i++)); do
		tr -d '\r' <"$out/${3:-vmm}.log" 2>/dev/null | grep -qE -- "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}

# ctl NAME ARGS...: vmmctl's output and status into $out/NAME (status on the last line), with
# the request's duration in ms.
ctl() {
	local name=$1 t0 t1
	shift
	t0=$(date +%s%N)
	"$VMMCTL" --sock "$sock" "$@" >"$out/$name" 2>&1
	local st=$?
	t1=$(date +%s%N)
	echo "ms $(((t1 - t0) / 1000000))" >>"$out/$name"
	echo "status $st" >>"$out/$name"
}

# stamp NAME: the time now, ms, into $out/NAME.ms.
stamp() { echo $(($(date +%s%N) / 1000000)) >"$out/$1.ms"; }

# line_stamp NAME REGEX PID: once /init's line REGEX shows, the time, ms, into $out/NAME.ms
# (the console looked at, at most, every 50 ms).
line_stamp() {
	local i
	for ((i = 0; i < BOOT_TIMEOUT * 20; i++)); do
		if grep -qE -- "$2" "$out/$4.log" 2>/dev/null; then
			stamp "$1"
			return 0
		fi
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

drive() {
	local pid=$1
	until_line '^VMM-STOCK-HOTPLUG: waiting$' "$pid" || return
	stamp vmm-add-req
	line_stamp vmm-add-seen '^VMM-STOCK-HOTPLUG-ADDED' "$pid" vmm &
	ctl add1 add-disk "$out/hp.img" --id hp0
	[ "$net" = 1 ] && ctl addnet add-net vmmhp0 --id hpnet0
	ctl addvs add-vsock 7 "$vpdir/vs.sock" --id hpvs0
	ctl addpm add-pmem "$vpdir/pm.img" --id hppm0
	[ "$fs" = 1 ] && ctl addfs add-fs hpshare "$vpdir/fs.sock" --id hpfs0
	ctl dup add-disk "$out/other.img" --id hp0
	ctl rmnone remove-device nope
	wait
	until_line '^VMM-STOCK-HOTPLUG: ready to remove' "$pid" || return
	stamp vmm-rm-req
	line_stamp vmm-rm-seen '^VMM-STOCK-HOTPLUG-REMOVED' "$pid" vmm &
	ctl rm1 remove-device hp0
	[ "$net" = 1 ] && ctl rmnet remove-device hpnet0
	ctl rmvs remove-device hpvs0
	ctl rmpm remove-device hppm0
	[ "$fs" = 1 ] && ctl rmfs remove-device hpfs0
	wait
	until_line '^VMM-STOCK-HOTPLUG: waiting again' "$pid" || return
	ctl add2 add-disk "$out/hp.img" --id hp0
	until_line '^VMM-STOCK-HOTPLUG: remove the boot disk' "$pid" || return
	ctl rmboot remove-device drive0
}

# qmp SOCK COMMAND-JSON: one QMP command (after the capabilities handshake); its answer on
# stdout.
qmp() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()
for cmd in ('{"execute": "qmp_capabilities"}', sys.argv[2]):
    f.write(cmd + "\n"); f.flush()
    while True:
        line = json.loads(f.readline())
        if "return" in line or "error" in line:
            break
print(json.dumps(line))
PY
}

# The peer: QEMU q35, the same kernel and /init, the disk through a PCIe root port.
boot_qemu() {
	local cmdline=$1 qsock=/tmp/vmm-stock-hp-qmp-$$.sock cpu=host pid start=$SECONDS
	[ -e /sys/module/kvm_pvm ] && cpu=host,-arch-capabilities # linux_stock.sh says why
	truncate -s 4M "$out/qhp.img"
	timeout -k 10 "$BOOT_TIMEOUT" "$QEMU" -enable-kvm -cpu "$cpu" -M q35 -smp 2 \
		-m 256M -nodefaults -no-user-config -display none -no-reboot -serial stdio \
		-kernel "$STOCK_KERNEL" -initrd "$STOCK_INITRAMFS" -append "$cmdline vmmstock.end=hotplug" \
		-drive "id=d0,if=none,format=raw,file=$out/root.img" -device virtio-blk-pci,drive=d0 \
		-device pcie-root-port,id=rp1,chassis=1 \
		-blockdev "driver=file,filename=$out/qhp.img,node-name=hp0" \
		-qmp "unix:$qsock,server=on,wait=off" </dev/null >"$out/qemu.log" 2>"$out/qemu.err" &
	pid=$!
	(
		until_line '^VMM-STOCK-HOTPLUG: waiting$' "$pid" qemu || exit
		stamp qemu-add-req
		line_stamp qemu-add-seen '^VMM-STOCK-HOTPLUG-ADDED' "$pid" qemu &
		qmp "$qsock" '{"execute": "device_add", "arguments": {"driver": "virtio-blk-pci", "drive": "hp0", "id": "hpd", "bus": "rp1"}}' >"$out/qemu-add"
		wait
		until_line '^VMM-STOCK-HOTPLUG: ready to remove' "$pid" qemu || exit
		stamp qemu-rm-req
		line_stamp qemu-rm-seen '^VMM-STOCK-HOTPLUG-REMOVED' "$pid" qemu &
		qmp "$qsock" '{"execute": "device_del", "arguments": {"id": "hpd"}}' >"$out/qemu-rm"
		wait
		until_line '^VMM-STOCK-HOTPLUG: waiting again' "$pid" qemu || exit
		qmp "$qsock" '{"execute": "device_add", "arguments": {"driver": "virtio-blk-pci", "drive": "hp0", "id": "hpd", "bus": "rp1"}}' >"$out/qemu-add2"
	) &
	wait "$pid"
	echo $? >"$out/qemu.status"
	wait
	rm -f "$qsock"
	echo "qemu: $((SECONDS - start)) s"
}

run_boot() {
	local cmdline=$STOCK_CMDLINE_NORMAL pid start=$SECONDS
	[ -e /sys/module/kvm_pvm ] && cmdline=$STOCK_CMDLINE_EMULATED_KVM
	[ -n "${STOCK_INNER:-}" ] && cmdline+=" noxsave" # linux_stock.sh says why
	net=0
	if ip tuntap add vmmhp0 mode tap user "$(id -u)" 2>/dev/null; then
		ip link set vmmhp0 up
		net=1
		cmdline+=" vmmstock.hpnet=1"
	fi
	sock=/tmp/vmm-stock-hp-$$.sock
	# the vsock's socket and the pmem file: on the machine's own /tmp (in L1 $out is shared
	# with the host, where a Unix socket or a shared mapping may not work)
	vpdir=/tmp/vmm-stock-hp-$$.d
	mkdir -p "$vpdir"
	printf 'VMM-STOCK-PMEM-MARK\n' >"$vpdir/pm.img"
	truncate -s 2M "$vpdir/pm.img"
	cmdline+=" vmmstock.hpvp=1 vmmstock.hprmboot=1"
	# the shared folder: virtiofsd in the same /tmp (its socket), a marker for the guest to read
	fs=0
	if [ -x "$VIRTIOFSD" ]; then
		mkdir -p "$vpdir/share"
		echo VMM-STOCK-FS-MARK >"$vpdir/share/mark"
		"$VIRTIOFSD" --socket-path="$vpdir/fs.sock" -o source="$vpdir/share" -o cache=none \
			>"$out/virtiofsd.log" 2>&1 &
		fs=1
		cmdline+=" vmmstock.hpfs=1"
	fi
	printf 'VMM-STOCK-ROOT\n' >"$out/root.img"
	truncate -s 8M "$out/root.img"
	truncate -s 4M "$out/hp.img" "$out/other.img"
	timeout -k 10 "$BOOT_TIMEOUT" "$VMM" --kernel "$STOCK_KERNEL" --initrd "$STOCK_INITRAMFS" \
		--cpus 2 --mem 256M --mem-shared --transport pci --disk "$out/root.img" --api-sock "$sock" \
		--landlock-rules "$out:rw,$vpdir:rw" \
		--append "$cmdline vmmstock.end=hotplug" </dev/null >"$out/vmm.log" 2>"$out/vmm.err" &
	pid=$!
	drive "$pid" &
	local driver=$!
	wait "$pid"
	echo $? >"$out/vmm.status"
	# the driver only, not every job: virtiofsd ends with its VMM's connection, and has none
	# when the boot ended before the folder was added (a triple fault in L1)
	wait "$driver"
	echo "$net" >"$out/net"
	echo "$fs" >"$out/fs"
	if [ "$fs" = 1 ]; then
		cp "$vpdir/share/from-guest" "$out/fs-from-guest" 2>/dev/null
		pkill -f -- "--socket-path=$vpdir/fs.sock" 2>/dev/null
	fi
	[ "$net" = 1 ] && ip link del vmmhp0 2>/dev/null
	rm -f "$sock"
	rm -rf "$vpdir"
	echo "vmm: $((SECONDS - start)) s"
	# In L1 a boot that did not end well (a stall: 124, a triple fault: 4) is L1's to retry
	# (l1_run); the checks show the last one.
	if [ -n "${STOCK_INNER:-}" ] && [ "$(cat "$out/vmm.status")" != 0 ]; then
		echo "vmm: ended with status $(cat "$out/vmm.status"): L1 once more"
		return 3
	fi
	# the peer gets no NIC: /init would wait for one
	# (nor a vsock or pmem device: not what it is timed for)
	cmdline=${cmdline/ vmmstock.hpvp=1/}
	cmdline=${cmdline/ vmmstock.hpfs=1/}
	cmdline=${cmdline/ vmmstock.hprmboot=1/}
	command -v "$QEMU" >/dev/null && boot_qemu "${cmdline/ vmmstock.hpnet=1/}"
	return 0
}

if [ -n "${STOCK_INNER:-}" ]; then
	out=$STOCK_OUT
	echo "in L1: $(kvm_probe_line)"
	run_boot
	exit $?
fi

env_out=$("$SOURCE_DIR/guest-images/stock.sh" --print-env) ||
	skip "no stock kernel" "guest-images/stock.sh could not fetch Debian's kernel (above)"
set -a
eval "$env_out"
set +a
out=$(mktemp -d "${BUILD_DIR:-$PWD}/linux_stock_hotplug.XXXXXX")
if [ -n "${STOCK_KEEP:-}" ]; then echo "note: $out is kept (STOCK_KEEP)"; else trap 'rm -rf "$out"' EXIT; fi
if l1_wanted "${STOCK_DIRECT:-0}"; then
	l1_require "$L1_PVM_WHY"
	echo "where: kvm_pvm, so the boot runs in tools/kvm-in-qemu's L1 (linux_stock.sh says why)"
	# A boot in L1 stalls now and then (linux_stock.sh: a vCPU stuck inside L1's KVM): the suite's
	# run of 2026-11-27 waited out a first L1 of 600 s, the second passed in a minute. So each
	# L1 gets 240 s (one ran 54 s here, idle; the boots get 180 s each) and three tries.
	BOOT_TIMEOUT=180
	export VMM VMMCTL QEMU SOURCE_DIR BOOT_TIMEOUT STOCK_INNER=1 STOCK_OUT="$out"
	L1_ATTEMPTS=3 l1_run "$out" 240 'vmm:|qemu:' "" -- bash "$SCRIPT"
	unset STOCK_INNER
else
	echo "where: directly on this host's KVM ($(kvm_probe_line))"
	run_boot
fi

# ---- the checks ----
fail=0
ok() { echo "ok: $*"; }
bad() {
	echo "FAIL: $*"
	fail=1
}
tr -d '\r' <"$out/vmm.log" >"$out/vmm.txt" 2>/dev/null
# /init's lines with the kernel's messages that broke into them taken out ("bound a[   10.55]
# pci ...: BAR 0 ...", newline, "fter 0s driver=..."). The kernel's own checks read vmm.txt.
console_unbroken "$out/vmm.txt" >"$out/vmm.init.txt"
line() { sed -n "s/^VMM-STOCK-$1: //p" "$out/vmm.init.txt" | head -1; }
ctl_status() { sed -n 's/^status //p' "$out/$1" 2>/dev/null; }
ctl_ms() { sed -n 's/^ms //p' "$out/$1" 2>/dev/null; }
expect_ctl() { # NAME STATUS REGEX WHAT
	if [ "$(ctl_status "$1")" = "$2" ] && grep -qE -- "$3" "$out/$1"; then
		ok "$4: $(grep -v '^ms \|^status ' "$out/$1" | tr -d '\n ') ($(ctl_ms "$1") ms)"
	else
		bad "$4: $(cat "$out/$1" 2>/dev/null || echo 'not run')"
	fi
}
expect_line() { # KEY REGEX WHAT
	local v
	v=$(line "$1")
	if grep -qE -- "$2" <<<"$v"; then ok "$3: $v"; else bad "$3: '$v' (want /$2/)"; fi
}
net=$(cat "$out/net" 2>/dev/null || echo 0)
st=$(cat "$out/vmm.status" 2>/dev/null)
[ "$st" = 0 ] && ok "the VMM ended with status 0 after the guest's poweroff" || bad "VMM status '$st'"
expect_line SLOTS '^[0-9]' "the guest lists the hotplug slots (/sys/bus/pci/slots)"
expect_ctl add1 0 '"bdf": *"0000:00:[0-9a-f]{2}\.0"' "vmmctl add-disk hp0"
expect_line HOTPLUG-ADDED '^vdb after [0-9]+s sectors=8192$' "/dev/vdb arrived, 4 MiB"
expect_line HOTPLUG-RW '^VMM-STOCK-HOTPLUG-DATA-' "the guest wrote /dev/vdb and read it back"
expect_ctl dup 1 'hp0' "the same id again: refused"
expect_ctl rmnone 1 'no device' "removing an unknown id: refused"
expect_ctl rm1 0 '' "vmmctl remove-device hp0 (the guest released it)"
expect_line HOTPLUG-REMOVED '^vdb gone' "/dev/vdb went"
written=$(line HOTPLUG-RW)
expect_ctl add2 0 '"id": *"hp0"' "vmmctl add-disk hp0 again"
expect_line HOTPLUG-AGAIN "^vdb after [0-9]+s first-line=${written:-none}\$" "added again, the line written before read back"
expect_ctl rmboot 0 '' "vmmctl remove-device drive0 (the disk the VM started with)"
expect_line HOTPLUG-BOOT-REMOVED '^vda gone' "/dev/vda (the boot disk) went"
expect_ctl addvs 0 '"id": *"hpvs0"' "vmmctl add-vsock hpvs0"
expect_line HOTPLUG-VSOCK '^bound after [0-9]+s driver=vmw_vsock_virtio_transport$' "the guest's vsock driver bound the hot-added device"
expect_ctl addpm 0 '"id": *"hppm0"' "vmmctl add-pmem hppm0"
expect_line HOTPLUG-PMEM '^pmem0 after [0-9]+s first-line=VMM-STOCK-PMEM-MARK$' "/dev/pmem0 arrived with the file's marker"
expect_ctl rmvs 0 '' "vmmctl remove-device hpvs0"
expect_line HOTPLUG-VSOCK-REMOVED '^gone' "the vsock device went"
expect_ctl rmpm 0 '' "vmmctl remove-device hppm0"
expect_line HOTPLUG-PMEM-REMOVED '^pmem0 gone' "/dev/pmem0 went"
fs=$(cat "$out/fs" 2>/dev/null || echo 0)
if [ "$fs" = 1 ]; then
	expect_ctl addfs 0 '"id": *"hpfs0"' "vmmctl add-fs hpfs0"
	from_guest=$(head -1 "$out/fs-from-guest" 2>/dev/null)
	expect_line HOTPLUG-FS "^bound after [0-9]+s driver=[a-z_]+ mark=VMM-STOCK-FS-MARK wrote=${from_guest:-none}\$" \
		"the guest mounted the hot-added share, read the host's marker and wrote a file"
	if [[ $from_guest == VMM-STOCK-FS-FROM-GUEST-* ]]; then
		ok "the host reads the guest's file in the shared folder: $from_guest"
	else
		bad "the guest's file in the shared folder: '${from_guest}'"
	fi
	expect_ctl rmfs 0 '' "vmmctl remove-device hpfs0"
	expect_line HOTPLUG-FS-REMOVED '^gone' "the virtio-fs device went"
else
	echo "not run: the shared folder ($VIRTIOFSD is not installed where the VMM ran)"
fi
if [ "$net" = 1 ]; then
	expect_ctl addnet 0 '"id": *"hpnet0"' "vmmctl add-net hpnet0"
	expect_line HOTPLUG-NET '^eth0 after [0-9]+s mac=' "eth0 arrived"
	expect_ctl rmnet 0 '' "vmmctl remove-device hpnet0"
	expect_line HOTPLUG-NET-REMOVED '^eth0 gone' "eth0 went"
else
	echo "not run: the NIC (no tap could be made where the VMM ran)"
fi
if grep -qE 'ACPI( BIOS)? (Error|Warning)' "$out/vmm.txt"; then
	bad "the kernel's ACPI complained: $(grep -m3 -E 'ACPI( BIOS)? (Error|Warning)' "$out/vmm.txt")"
else
	ok "no ACPI error or warning in the kernel's log"
fi
grep -E 'acpiphp|pci 0000:00:[0-9a-f]{2}\.0: \[1af4' "$out/vmm.txt" | head -6 | sed 's/^/note: /'

# ---- the timings, ours and the peer's (printed, not counted) ----
ms_between() { # FROM TO: ms between two stamps, "-" when one is missing
	if [ -f "$out/$1.ms" ] && [ -f "$out/$2.ms" ]; then
		echo $(($(cat "$out/$2.ms") - $(cat "$out/$1.ms")))
	else
		echo -
	fi
}
if [ -f "$out/qemu.status" ]; then
	tr -d '\r' <"$out/qemu.log" >"$out/qemu.txt"
	for k in HOTPLUG-ADDED HOTPLUG-RW HOTPLUG-REMOVED HOTPLUG-AGAIN; do
		v=$(sed -n "s/^VMM-STOCK-$k: //p" "$out/qemu.txt" | head -1)
		echo "peer: qemu: $k: ${v:-none} (status $(cat "$out/qemu.status"))"
	done
fi
echo "machine | add request -> /dev/vdb in the guest | remove request -> vdb gone"
printf '%-7s | %-34s | %s\n' vmm "$(ms_between vmm-add-req vmm-add-seen) ms" "$(ms_between vmm-rm-req vmm-rm-seen) ms"
[ -f "$out/qemu.status" ] &&
	printf '%-7s | %-34s | %s\n' qemu "$(ms_between qemu-add-req qemu-add-seen) ms" "$(ms_between qemu-rm-req qemu-rm-seen) ms"

if [ $fail -ne 0 ]; then
	echo "---- console (last 40 lines)"
	tail -40 "$out/vmm.txt"
	echo "---- vmm stderr (last 15 lines)"
	tail -15 "$out/vmm.err"
fi
exit $fail
