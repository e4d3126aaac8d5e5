#!/usr/bin/env bash
# A real Debian 12 system on our VMM: Debian's stock cloud kernel (linux-image-cloud-amd64) with
# the initrd Debian's initramfs-tools made for it, booted directly (no firmware) on the root
# partition of Debian's cloud-style GPT image (guest-images/debian-image.sh: debootstrap,
# systemd, udev, systemd-networkd, a serial getty; built from Debian's archive and cached), each
# boot on its own qcow2 overlay of the image. Two boots on our VMM, over virtio-pci and over
# virtio-mmio (found through the DSDT: Debian's kernel ignores virtio_mmio.device=), 2 vCPUs,
# 512 MiB, the disk and a libslirp NIC (--net user); and the same kernel, initrd, image and
# command line on QEMU (q35, virtio-blk-pci, virtio-net-pci on user networking) as the peer
# (printed as "peer ok" / "peer FAIL", not counted). The image's unit vmm-debian-check prints
# "VMM-DEBIAN-..." lines on the serial console once systemd says the boot is done, then powers
# off (vmmdebian.poweroff on the command line). Each boot must:
#   - reach multi-user.target with systemd's state "running" and `systemctl --failed` empty;
#   - bring both vCPUs online, mount the image's root (/dev/vda3), bind virtio-blk and
#     virtio-net over the transport asked for, and get slirp's 10.0.2.15 by DHCP (networkd);
#   - show a login prompt on ttyS0 (the getty), print `systemd-analyze`'s line;
#   - power off through systemd and end the VMM with exit status 0.
# The pci boot (unless DEBIAN_HOTPLUG=0) also has an API socket and vmmdebian.hotplug= on its
# command line: once booted, the check prints "VMM-DEBIAN-HOTPLUG: ready" and waits; the host
# (here or in L1, watching the console) hot-adds through vmmctl (PUT /vmm/vm.add-*) a disk
# (16 MiB of ext4 labelled vmmhp, serial vmm-debian-hp0), a NIC on a tap with a fixed MAC
# (when a tap can be made), a vsock, a 2 MiB pmem device, a shared folder (add-fs vmmhpfs on
# virtiofsd's socket, when /usr/lib/qemu/virtiofsd is installed; the VM's RAM --mem-shared) and
# a third vCPU (--cpus boot=2,max=3, `vmmctl resize --vcpus 3`), and once the guest has seen
# them removes them all (PUT /vmm/vm.remove-device) and resizes back to 2 vCPUs. Debian's
# udev, the image's own, must:
#   - make /dev/disk/by-id/virtio-vmm-debian-hp0 and /dev/disk/by-label/vmmhp for the disk,
#     `udevadm info` showing ID_SERIAL, ID_PATH=pci-..., ID_FS_TYPE=ext4, ID_FS_LABEL; the
#     guest mounts it by its label and reads the marker the host wrote;
#   - rename the NIC with that MAC to its predictable name (en*: one of its ID_NET_NAME_*),
#     driver virtio_net, which networkd then takes (20-dhcp.network);
#   - load the vsock driver (vmw_vsock_virtio_transport) and the pmem ones (virtio_pmem,
#     nd_pmem: modules of the cloud kernel) from the devices' modaliases: the vsock bound,
#     /dev/pmem0 reads the file's marker;
#   - load virtiofs (a module) for the virtio-fs device, which binds it; the guest mounts the
#     tag, reads the host's mark and writes a file the host reads back afterwards, unmounts;
#   - see cpu2 arrive (ACPI CPU hotplug); whether Debian onlines it by itself is reported (the
#     guest onlines it otherwise), then /proc/cpuinfo lists 3; at the resize back the guest
#     offlines and ejects it and cpu2 goes;
#   - after the removes: the links, the NIC, the share's device and cpu2 gone, and `udevadm
#     monitor` (block, net, virtio, cpu) have seen the adds and the removes of the disk, the
#     NIC, pmem0, the virtio-fs device (and its bind) and cpu2.
# The hotplug's times as the guest saw them are printed (from its "ready" to each device).
# A table of times (the VMM's wall time, systemd-analyze, the check's uptime) ends the output.
#
# Where it runs: as linux_stock.sh. On kvm_pvm Debian's kernel cannot run (guest kernel code is
# emulated there: cmpxchg16b, then its INT3 self-test fail), so the boots run inside
# tools/kvm-in-qemu (an L1 Linux under QEMU's TCG with nested SVM), side by side, and the checks
# here after L1 ended, without the QEMU peer there unless DEBIAN_PEER=1 (it doubles the test's
# time in L1). DEBIAN_DIRECT=1 forces the direct boots; DEBIAN_KEEP=1 keeps the logs.
# The first run builds the image (root, debootstrap: about 5 minutes, then cached).
# labels: slow linux
# requires: kvm root
# timeout: 2400
# resource: linux:2
set -uo pipefail

SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
VMM="${VMM:-$PWD/vmm}"
VMMCTL="${VMMCTL:-$(dirname "$VMM")/tools/vmmctl/vmmctl}"
QEMU="${QEMU:-qemu-system-x86_64}"
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
# Each boot, side by side with the two others: in tools/kvm-in-qemu on a busy 2-CPU host ours took
# 455 and 480 s to power off, QEMU over 480 s (2026-11-26). The pci boot's hotplug adds 30-60 s
# to it there (2026-11-27; with the share and the vCPU the pci boot took 271-342 s, the mmio one
# 232-277 s).
BOOT_TIMEOUT=${BOOT_TIMEOUT:-720}
SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
. "$SOURCE_DIR/tests/integration/lib/require.sh"
. "$SOURCE_DIR/tests/integration/lib/l1_lib.sh"

# ---- the boots (here, or in L1: then only they run there, with $DEBIAN_OUT shared) ----

# The pci boot's hotplug (the image's vmm-debian-check, hotplug()): the disk's serial (udev's
# /dev/disk/by-id/virtio-SERIAL), the NIC's MAC, the markers the guest reads back.
HP_SERIAL=vmm-debian-hp0
HP_MAC=52:54:00:de:b1:01
HP_DISK_MARK=vmm-debian-hotplug-disk-marker
HP_PMEM_MARK=vmm-debian-hotplug-pmem-marker
HP_FS_TAG=vmmhpfs
HP_FS_MARK=vmm-debian-hotplug-fs-marker

# until_console NAME REGEX PID: waits for REGEX on NAME's console (false once the VMM ended).
until_console() {
	while kill -0 "$3" 2>/dev/null; do
		tr -d '\r' <"$out/$1.log" 2>/dev/null | grep -qE -- "$2" && return 0
		sleep 1
	done
	return 1
}

# hp_ctl NAME WHAT ARGS...: vmmctl ARGS on NAME's API socket; its output, then "ms N" (the
# request's time) and "status N", in $out/NAME.hp-WHAT.
hp_ctl() {
	local f=$out/$1.hp-$2 t0 st
	shift 2
	t0=$(date +%s%N)
	"$VMMCTL" --sock "$hp_dir/api.sock" "$@" >"$f" 2>&1
	st=$?
	echo "ms $((($(date +%s%N) - t0) / 1000000))" >>"$f"
	echo "status $st" >>"$f"
}

# The host's side of the hotplug, beside the boot PID: once the guest is ready, adds a disk
# (the ext4 image hp-disk.img, serial $HP_SERIAL), a NIC on the tap $hp_tap (when one could
# be made), a vsock and a pmem device, a shared folder (virtiofsd's socket, when it runs) and a
# third vCPU; once the guest has seen them, removes them all and gives the vCPU back.
hotplug_drive() {
	local name=$1 pid=$2 id
	until_console "$name" 'VMM-DEBIAN-HOTPLUG: ready$' "$pid" || return 0
	hp_ctl "$name" add-disk add-disk "$out/hp-disk.img" --serial "$HP_SERIAL" --id hpdisk0
	[ -z "$hp_tap" ] || hp_ctl "$name" add-net add-net "$hp_tap" --mac "$HP_MAC" --id hpnet0
	hp_ctl "$name" add-vsock add-vsock 7 "$hp_dir/vsock.sock" --id hpvsock0
	hp_ctl "$name" add-pmem add-pmem "$hp_dir/pmem.img" --id hppmem0
	[[ $hp_kinds != *fs* ]] || hp_ctl "$name" add-fs add-fs "$HP_FS_TAG" "$hp_dir/fs.sock" --id hpfs0
	hp_ctl "$name" resize-up resize --vcpus 3
	until_console "$name" 'VMM-DEBIAN-HOTPLUG: ready to remove$' "$pid" || return 0
	for id in hpdisk0 ${hp_tap:+hpnet0} hpvsock0 hppmem0; do
		# TCG in L1 is slow: a minute for the guest's release, not the default 10 s.
		hp_ctl "$name" "remove-$id" remove-device "$id" --timeout-ms 60000
	done
	[[ $hp_kinds != *fs* ]] || hp_ctl "$name" remove-hpfs0 remove-device hpfs0 --timeout-ms 60000
	hp_ctl "$name" resize-down resize --vcpus 2 --timeout-ms 60000
}

# The hotplug's files beside the pci boot: the API socket, the vsock's socket and the pmem file
# (2 MiB, the marker its first line) in $hp_dir, on this machine's own /tmp (in L1 $out is
# L1's 9p share, where a Unix socket or a shared mapping may not work); a tap for the NIC,
# when one can be made ($hp_tap, else empty); virtiofsd serving $hp_dir/share (its file
# "mark" holding $HP_FS_MARK) on $hp_dir/fs.sock, when it is installed ($hp_fsd: its PID);
# the kinds for the guest in $hp_kinds (the vCPU, cpu, always).
hotplug_setup() {
	hp_dir=$(mktemp -d /tmp/vmm-debian-hp.XXXXXX)
	printf '%s\n' "$HP_PMEM_MARK" >"$hp_dir/pmem.img"
	truncate -s 2M "$hp_dir/pmem.img"
	hp_tap=vmmdeb$$
	hp_kinds=disk,net,vsock,pmem
	if ! ip tuntap add "$hp_tap" mode tap user "$(id -u)" 2>/dev/null; then
		hp_tap="" hp_kinds=disk,vsock,pmem
	fi
	[ -z "$hp_tap" ] || ip link set "$hp_tap" up
	hp_fsd=""
	if [ -x "$VIRTIOFSD" ]; then
		mkdir "$hp_dir/share"
		echo "$HP_FS_MARK" >"$hp_dir/share/mark"
		"$VIRTIOFSD" --socket-path="$hp_dir/fs.sock" -o source="$hp_dir/share" -o cache=none \
			>"$out/$1.hp-virtiofsd.log" 2>&1 &
		hp_fsd=$!
		hp_kinds+=,fs
		# its socket, before the VMM's add-fs connects to it
		for _ in $(seq 50); do [ -S "$hp_dir/fs.sock" ] && break || sleep 0.2; done
	fi
	hp_kinds+=,cpu
	echo "$hp_kinds" >"$out/$1.hp-kinds"
}

# The file the guest wrote in the share is kept in $out/NAME.hp-fs-from-guest for the checks.
hotplug_cleanup() {
	[ -z "$hp_tap" ] || ip link del "$hp_tap" 2>/dev/null
	if [ -n "$hp_fsd" ]; then
		cp "$hp_dir/share/from-guest" "$out/$1.hp-fs-from-guest" 2>/dev/null
		kill "$hp_fsd" 2>/dev/null
		wait "$hp_fsd" 2>/dev/null
	fi
	rm -rf "$hp_dir"
}

# One boot on our VMM: NAME TRANSPORT; its console in $out/NAME.log, stderr in NAME.err, exit
# status in NAME.status, seconds in NAME.secs. The pci boot, unless DEBIAN_HOTPLUG=0, has an
# API socket, room for a third vCPU, its RAM in a memfd virtiofsd can map (--mem-shared) and
# the hotplug (hotplug_drive).
boot_vmm() {
	local name=$1 transport=$2 start=$SECONDS append=$cmdline api=() cpus=2 pid drive="" watch=""
	rm -f "$out/$name".hp-*
	if [ "$transport" = pci ] && [ "${DEBIAN_HOTPLUG:-1}" = 1 ]; then
		hotplug_setup "$name"
		append+=" vmmdebian.hotplug=$hp_kinds vmmdebian.hpserial=$HP_SERIAL vmmdebian.hpmac=$HP_MAC"
		append+=" vmmdebian.hpfstag=$HP_FS_TAG"
		api=(--api-sock "$hp_dir/api.sock" --landlock-rules "$out:rw,$hp_dir:rw" --mem-shared)
		cpus=boot=2,max=3
	fi
	timeout -k 10 "$BOOT_TIMEOUT" "$VMM" --kernel "$DEBIAN_KERNEL" --initrd "$DEBIAN_INITRD" \
		--cpus "$cpus" --mem 512M --transport "$transport" \
		--disk "$out/$name.qcow2,backing_files=on,backing_dirs=${DEBIAN_IMAGE%/*}" --net user \
		"${api[@]}" --append "$append" </dev/null >"$out/$name.log" 2>"$out/$name.err" &
	pid=$!
	if [ ${#api[@]} != 0 ]; then
		hotplug_drive "$name" "$pid" &
		drive=$!
	fi
	# In L1 a console silent for DEBIAN_STALL s (default 150: a whole boot there takes 230-340
	# s beside another) is a stall of L1's nested SVM (l1_watch_stall): stopped, booted again.
	if [ -n "${DEBIAN_INNER:-}" ]; then
		l1_watch_stall "$out/$name.log" "$out/$name.stall" "${hp_dir:-/nonexistent}/api.sock" \
			"$pid" "${DEBIAN_STALL:-150}" &
		watch=$!
	fi
	wait "$pid"
	echo $? >"$out/$name.status"
	echo $((SECONDS - start)) >"$out/$name.secs"
	# These two only, not every job: virtiofsd (hotplug_setup) ends with its VMM's connection,
	# and has none when the boot ended before the hotplug added the folder (a triple fault in
	# L1: a bare "wait" then waited for it until the test's timeout, 960 s).
	[ -z "$drive" ] || wait "$drive"
	[ -z "$watch" ] || wait "$watch"
	[ ${#api[@]} = 0 ] || hotplug_cleanup "$name"
}

boot_qemu() {
	local name=$1 start=$SECONDS cpu=host
	# kvm_pvm refuses QEMU's write of MSR_IA32_ARCH_CAPABILITIES (0x10a).
	[ -e /sys/module/kvm_pvm ] && cpu=host,-arch-capabilities
	timeout -k 10 "$BOOT_TIMEOUT" "$QEMU" -enable-kvm -cpu "$cpu" -M q35 -smp 2 -m 512M \
		-nodefaults -no-user-config -display none -no-reboot -serial stdio \
		-kernel "$DEBIAN_KERNEL" -initrd "$DEBIAN_INITRD" -append "$cmdline" \
		-drive "id=d0,if=none,format=qcow2,file=$out/$name.qcow2" -device virtio-blk-pci,drive=d0 \
		-netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
		</dev/null >"$out/$name.log" 2>"$out/$name.err"
	echo $? >"$out/$name.status"
	echo $((SECONDS - start)) >"$out/$name.secs"
}

run_boots() {
	local start=$SECONDS name
	cmdline="$DEBIAN_CMDLINE vmmdebian.poweroff"
	# In L1 the guests' CPU is TCG's EPYC without AVX: XSAVE there makes the kernel warn and
	# sometimes fault (linux_stock.sh); noxsave avoids it.
	[ -n "${DEBIAN_INNER:-}" ] && cmdline+=" noxsave"
	# All three side by side, QEMU (the slowest) first; in L1 they share its two vCPUs. There the
	# peer is off unless DEBIAN_PEER=1: it took 473 s of the test's 510 (ours 294 and 261 s, side
	# by side, 2026-11-26), the suite's longest pole, while directly on a KVM it costs a minute.
	if [ "${DEBIAN_PEER:-1}" = 1 ] && command -v "$QEMU" >/dev/null; then
		boot_qemu qemu &
	fi
	boot_vmm vmm-pci pci &
	boot_vmm vmm-mmio mmio &
	wait
	for name in qemu vmm-pci vmm-mmio; do
		[ -f "$out/$name.secs" ] && echo "$name: $(cat "$out/$name.secs") s"
	done
	echo "the boots side by side: $((SECONDS - start)) s"
	# In L1 a triple fault (status 4), a stall or no end now and then is L1's nested SVM under
	# TCG (linux_stock.sh): that boot once more, alone, on a fresh overlay, twice at most, its
	# first try kept and shown by the checks.
	local try
	for name in vmm-pci vmm-mmio; do
		for try in 2 3; do
			[ -n "${DEBIAN_INNER:-}" ] && l1_boot_again "$out" "$name" "$try" || continue
			qemu-img create -q -f qcow2 -b "$DEBIAN_IMAGE" -F raw "$out/$name.qcow2"
			boot_vmm "$name" "${name#vmm-}"
			echo "$name: a triple fault or a stall in L1, try $try alone: $(cat "$out/$name.secs") s"
		done
	done
}

if [ -n "${DEBIAN_INNER:-}" ]; then
	out=$DEBIAN_OUT
	echo "in L1: $(kvm_probe_line)"
	run_boots
	exit 0
fi

command -v qemu-img >/dev/null || skip "no qemu-img" "the boots' overlays need qemu-img (qemu-utils)"
env_out=$("$SOURCE_DIR/guest-images/debian-image.sh" --print-env) ||
	skip "no Debian image" "guest-images/debian-image.sh could not build the image (above)"
set -a # exported: tools/kvm-in-qemu runs the boots in L1 with this environment
eval "$env_out"
set +a
echo "kernel: $DEBIAN_KERNEL_PACKAGE ($DEBIAN_KERNEL_RELEASE), $DEBIAN_KERNEL"
echo "image:  $DEBIAN_IMAGE"
# Not under /tmp: L1 mounts its own tmpfs there, over the share.
out=$(mktemp -d "${BUILD_DIR:-$PWD}/linux_debian.XXXXXX")
if [ -n "${DEBIAN_KEEP:-}" ]; then echo "note: $out is kept (DEBIAN_KEEP)"; else trap 'rm -rf "$out"' EXIT; fi
# One thin overlay per boot: the cached image stays the read-only template. The disk the pci
# boot hot-adds: 16 MiB of ext4 labelled vmmhp, its /marker holding $HP_DISK_MARK.
fresh_overlays() {
	local name
	for name in qemu vmm-pci vmm-mmio; do
		rm -f "$out/$name".*
		qemu-img create -q -f qcow2 -b "$DEBIAN_IMAGE" -F raw "$out/$name.qcow2" ||
			{ echo "FAIL: qemu-img create an overlay of $DEBIAN_IMAGE" && exit 1; }
	done
	rm -rf "$out/hp-disk.img" "$out/hp-root"
	mkdir "$out/hp-root"
	echo "$HP_DISK_MARK" >"$out/hp-root/marker"
	mkfs.ext4 -q -F -L vmmhp -d "$out/hp-root" "$out/hp-disk.img" 16M ||
		{ echo "FAIL: mkfs.ext4 the disk to hot-add" && exit 1; }
}
fresh_overlays
start=$SECONDS
if l1_wanted "${DEBIAN_DIRECT:-0}"; then
	l1_require "$L1_PVM_WHY"
	echo "where: $L1_PVM_WHY, so the boots run in an L1 Linux under QEMU's TCG with nested SVM" \
		"(tools/kvm-in-qemu), where kvm_amd runs guest kernel and user code; the checks here"
	export VMM VMMCTL QEMU SOURCE_DIR BOOT_TIMEOUT DEBIAN_INNER=1 DEBIAN_OUT="$out"
	export DEBIAN_HOTPLUG=${DEBIAN_HOTPLUG:-1}
	export DEBIAN_PEER=${DEBIAN_PEER:-0}
	l1_run "$out" $((BOOT_TIMEOUT + 240)) 'qemu:|vmm-pci:|vmm-mmio:|the boots' fresh_overlays \
		-- bash "$SCRIPT"
	status=$?
	unset DEBIAN_INNER
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
# QEMU is the peer: its results are printed, not counted.
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

# What the image's check printed after VMM-DEBIAN-KEY: (first match), "-" when absent.
marker_of() {
	local s
	# Anywhere in a line: the getty's prompt ends without a newline, kernel lines may come first;
	# from the console with the kernel's messages that broke into a line taken out.
	s=$(sed -n "s/^.*VMM-DEBIAN-$2: //p" "$out/$1.user.txt" | head -1 | sed 's/ *$//')
	echo "${s:--}"
}

# NAME KEY WANT-REGEX WHAT
check_marker() {
	local got
	got=$(marker_of "$1" "$2")
	if grep -qE -- "$3" <<<"$got"; then ok "$1: $4 ($got)"; else bad "$1: $4: VMM-DEBIAN-$2 is '$got'"; fi
}

check_log() {
	if grep -qE -- "$3" "$out/$1.txt"; then ok "$1: $2"; else bad "$1: $2 (no /$3/)"; fi
}

# The checks of one boot: NAME TRANSPORT.
check_boot() {
	local name=$1 transport=$2 status acpi_bad prompt
	status=$(cat "$out/$name.status")
	case $status in
	0) ok "$name: exit status 0 after systemd's poweroff ($(cat "$out/$name.secs") s)" ;;
	124 | 137) bad "$name: no end within $BOOT_TIMEOUT s (a hang: status $status)" ;;
	*) bad "$name: exit status $status, want 0" ;;
	esac
	if grep -q 'KVM internal error' "$out/$name.err"; then
		bad "$name: KVM could not run the guest: $(grep -m1 'KVM internal error' "$out/$name.err")"
	fi
	check_log "$name" "the initrd's init mounted the root and ran systemd" 'systemd\[1\]: systemd 252'
	check_marker "$name" STATE '^running$' "systemd's state after the boot"
	check_marker "$name" TARGET '^multi-user.target active$' "multi-user.target reached"
	check_marker "$name" FAILED '^none$' "systemctl --failed is empty"
	check_marker "$name" KERNEL "^$DEBIAN_KERNEL_RELEASE\$" "Debian's kernel"
	check_marker "$name" CPUS '^2 online=0-1$' "both vCPUs online"
	check_marker "$name" ROOT '^/dev/vda3 ext4 rw' "the image's root partition, read-write"
	check_log "$name" "virtio-blk over $transport" "VMM-DEBIAN-VIRTIO: virtio[0-9]+ virtio_blk $transport\$"
	check_log "$name" "virtio-net over $transport" "VMM-DEBIAN-VIRTIO: virtio[0-9]+ virtio_net $transport\$"
	check_marker "$name" IPV4 ' 10\.0\.2\.15/24' "the NIC's address from slirp's DHCP"
	check_marker "$name" ROUTE '^default via 10\.0\.2\.2 ' "the default route from DHCP"
	# A readout for the table below, not a check: its one console line was once garbled by
	# the console's other writers under load (the suite's run, 2026-11-26).
	if [ "$(marker_of "$name" ANALYZE)" = - ]; then
		echo "note: $name: no VMM-DEBIAN-ANALYZE line on the console (systemd-analyze's readout)"
	else
		check_marker "$name" ANALYZE '^Startup finished in ' "systemd-analyze"
	fi
	# The host name is the image's "debian", or what DHCP named it (our libslirp says "vmm").
	# agetty writes the host name and " login: " apart, and the console's other writers (the
	# check's lines, the kernel's) can land between them under load: the suite's run of
	# 2026-11-26 found no 'HOST login:' on a console whose boot was otherwise complete.
	# The check waits (up to 60 s) for agetty to wait for a name before it powers off (its
	# GETTY line): under TCG the getty could still be starting when the boot's jobs were done,
	# and the power-off took it down before its prompt (the suite's run of 2026-11-27).
	echo "note: $name: $(marker_of "$name" GETTY)"
	prompt=$(grep -aoE '[a-z0-9-]+ login:' "$out/$name.txt" | head -1)
	if [ -n "$prompt" ]; then
		ok "$name: a login prompt on ttyS0, the serial getty's ('$prompt')"
	elif grep -aqE '(^| )login: ?$' "$out/$name.txt"; then
		ok "$name: a login prompt on ttyS0, the serial getty's, its host name apart:" \
			"$(grep -aE '(^| )login: ?$' "$out/$name.txt" | head -1)"
	else
		bad "$name: no login prompt ('HOST login:') on ttyS0; the lines with 'login':" \
			"$(grep -ai 'login' "$out/$name.txt" | head -3)"
	fi
	check_marker "$name" END '^poweroff$' "the check asked systemd to power off"
	check_log "$name" "the kernel powered down" 'reboot: Power down'
	[ "$name" = qemu ] || check_log "$name" "the kernel read our ACPI tables" 'ACPI: XSDT 0x[0-9A-F]+ .* \(v01 VMM'
	acpi_bad=$(grep -E 'ACPI( BIOS)? (Error|Warning)' "$out/$name.txt" | head -3)
	if [ -z "$acpi_bad" ]; then
		ok "$name: no ACPI error or warning in the kernel's log"
	else
		bad "$name: the kernel's ACPI complained: $acpi_bad"
	fi
}

# The hotplug's requests: NAME WHAT STATUS REGEX DESCRIPTION (vmmctl's output in NAME.hp-WHAT).
check_ctl() {
	local f=$out/$1.hp-$2 st ms
	st=$(sed -n 's/^status //p' "$f" 2>/dev/null)
	ms=$(sed -n 's/^ms //p' "$f" 2>/dev/null)
	if [ "$st" = "$3" ] && grep -qE -- "$4" "$f"; then
		ok "$1: $5: $(grep -v '^ms \|^status ' "$f" | tr -d '\n ') ($ms ms)"
	else
		bad "$1: $5: $(tr '\n' ' ' <"$f" 2>/dev/null || echo 'not sent')"
	fi
}

# NAME REGEX WHAT: one of the guest's HOTPLUG-UDEV lines (an event udevadm monitor saw) matches.
check_udev_event() {
	if sed -n 's/^.*VMM-DEBIAN-HOTPLUG-UDEV: //p' "$out/$1.user.txt" | grep -qE -- "$2"; then
		ok "$1: udev's event for $3 ($(sed -n 's/^.*VMM-DEBIAN-HOTPLUG-UDEV: //p' "$out/$1.user.txt" |
			grep -E -- "$2" | head -1))"
	else
		bad "$1: no udev event for $3 (no HOTPLUG-UDEV line /$2/)"
	fi
}

# The pci boot's hotplug: what the VMM answered, and what the guest's udev made of each device.
check_hotplug() {
	local name=$1 kinds nic udev vdev from_guest
	kinds=$(cat "$out/$name.hp-kinds" 2>/dev/null)
	if [ -z "$kinds" ]; then
		echo "not run: $name: the hotplug (DEBIAN_HOTPLUG=0)"
		return
	fi
	check_marker "$name" HOTPLUG '^ready$' "the check waited for the hotplug (vmmdebian.hotplug=$kinds)"
	check_ctl "$name" add-disk 0 '"bdf": *"0000:00:[0-9a-f]{2}\.0"' "vmmctl add-disk --serial $HP_SERIAL"
	check_marker "$name" HOTPLUG-DISK "^/dev/disk/by-id/virtio-$HP_SERIAL -> /dev/vd[b-z] after [0-9.]+s sectors=32768\$" \
		"udev's /dev/disk/by-id/virtio-$HP_SERIAL for the hot-added disk, 16 MiB"
	udev=$(marker_of "$name" HOTPLUG-DISK-UDEV)
	for want in "ID_SERIAL=$HP_SERIAL" 'ID_PATH=pci-0000:00:[0-9a-f]{2}\.0' ID_FS_TYPE=ext4 ID_FS_LABEL=vmmhp; do
		if grep -qE -- "(^| )$want( |\$)" <<<"$udev"; then
			ok "$name: udevadm info on the disk: $want"
		else
			bad "$name: udevadm info on the disk has no /$want/: $udev"
		fi
	done
	check_marker "$name" HOTPLUG-DISK-LABEL '^/dev/disk/by-label/vmmhp -> /dev/vd[b-z]$' "udev's by-label link (blkid read the ext4)"
	check_marker "$name" HOTPLUG-DISK-READ "^$HP_DISK_MARK\$" "the guest mounted it by its label and read the marker"
	check_ctl "$name" remove-hpdisk0 0 '' "vmmctl remove-device hpdisk0 (the guest released it)"
	check_marker "$name" HOTPLUG-DISK-REMOVED '^gone after ' "the disk and udev's links went"
	check_udev_event "$name" '^add block vd[b-z]$' "the disk's add"
	check_udev_event "$name" '^remove block vd[b-z]$' "the disk's remove"
	if [[ $kinds == *net* ]]; then
		check_ctl "$name" add-net 0 '"id": *"hpnet0"' "vmmctl add-net on a tap, --mac $HP_MAC"
		check_marker "$name" HOTPLUG-NET "^en[a-z0-9]+ after [0-9.]+s mac=$HP_MAC\$" "the hot-added NIC, renamed by udev"
		nic=$(marker_of "$name" HOTPLUG-NET | cut -d' ' -f1)
		udev=$(marker_of "$name" HOTPLUG-NET-UDEV)
		if grep -qE -- "ID_NET_NAME_[A-Z]+=$nic( |\$)" <<<"$udev" && grep -q 'ID_NET_DRIVER=virtio_net' <<<"$udev"; then
			ok "$name: $nic is udev's predictable name (udevadm info: $udev)"
		else
			bad "$name: $nic is none of udev's names, or no ID_NET_DRIVER=virtio_net: $udev"
		fi
		# "failed" is networkd's too (it took the link, its setup failed): seen once in seven
		# boots in L1, cause unknown (the image prints networkctl's list only); said, not failed.
		check_marker "$name" HOTPLUG-NET-NETWORKD "^$nic [a-z-]+ (configuring|configured|failed)\$" \
			"networkd took the link udev initialized (20-dhcp.network; no DHCP server on the tap)"
		[[ $(marker_of "$name" HOTPLUG-NET-NETWORKD) != *" failed" ]] ||
			echo "note: $name: networkd took $nic but its setup failed (not the DHCP wait it usually is)"
		check_ctl "$name" remove-hpnet0 0 '' "vmmctl remove-device hpnet0"
		check_marker "$name" HOTPLUG-NET-REMOVED "^gone after [0-9.]+s: $nic\$" "$nic went"
		check_udev_event "$name" '^add net ' "the NIC's add"
		check_udev_event "$name" '^remove net ' "the NIC's remove"
	else
		echo "not run: $name: the NIC (no tap could be made where the VMM ran)"
	fi
	check_ctl "$name" add-vsock 0 '"id": *"hpvsock0"' "vmmctl add-vsock"
	check_marker "$name" HOTPLUG-VSOCK '^virtio[0-9]+ after [0-9.]+s driver=vmw_vsock_virtio_transport /dev/vsock$' \
		"udev loaded the vsock driver (a module), which bound the device"
	check_ctl "$name" remove-hpvsock0 0 '' "vmmctl remove-device hpvsock0"
	check_marker "$name" HOTPLUG-VSOCK-REMOVED '^gone after ' "the vsock device went"
	check_ctl "$name" add-pmem 0 '"id": *"hppmem0"' "vmmctl add-pmem (2 MiB)"
	check_marker "$name" HOTPLUG-PMEM "^pmem0 after [0-9.]+s first-line=$HP_PMEM_MARK\$" "/dev/pmem0 with the file's marker"
	check_marker "$name" HOTPLUG-PMEM-UDEV 'modules=virtio_pmem nd_pmem$' "udev loaded virtio_pmem and nd_pmem (modules)"
	check_ctl "$name" remove-hppmem0 0 '' "vmmctl remove-device hppmem0"
	check_marker "$name" HOTPLUG-PMEM-REMOVED '^gone after ' "/dev/pmem0 went"
	check_udev_event "$name" '^add block pmem0$' "pmem0's add"
	check_udev_event "$name" '^remove block pmem0$' "pmem0's remove"
	if [[ $kinds == *fs* ]]; then
		check_ctl "$name" add-fs 0 '"id": *"hpfs0"' "vmmctl add-fs $HP_FS_TAG (virtiofsd's socket, --mem-shared)"
		check_marker "$name" HOTPLUG-FS '^virtio[0-9]+ after [0-9.]+s driver=virtiofs modules=virtiofs( fuse)?$' \
			"udev loaded virtiofs (a module), which bound the virtio-fs device"
		from_guest=$(head -1 "$out/$name.hp-fs-from-guest" 2>/dev/null)
		check_marker "$name" HOTPLUG-FS-MOUNT "^tag=$HP_FS_TAG mark=$HP_FS_MARK wrote=vmm-debian-from-guest-[0-9a-f-]+ unmounted\$" \
			"the guest mounted the share by its tag, read the host's mark, wrote a file, unmounted"
		if [[ $from_guest == vmm-debian-from-guest-* ]] && marker_of "$name" HOTPLUG-FS-MOUNT | grep -qF "wrote=$from_guest "; then
			ok "$name: the host reads the file the guest wrote in the share: $from_guest"
		else
			bad "$name: the guest's file in the share: '$from_guest'"
		fi
		check_ctl "$name" remove-hpfs0 0 '' "vmmctl remove-device hpfs0"
		check_marker "$name" HOTPLUG-FS-REMOVED '^gone after ' "the virtio-fs device went"
		vdev=$(marker_of "$name" HOTPLUG-FS | cut -d' ' -f1)
		check_udev_event "$name" "^add virtio $vdev\$" "the virtio-fs device's add"
		check_udev_event "$name" "^bind virtio $vdev\$" "the virtio-fs device's bind (virtiofs)"
		check_udev_event "$name" "^remove virtio $vdev\$" "the virtio-fs device's remove"
	else
		echo "not run: $name: the shared folder ($VIRTIOFSD is not installed where the VMM ran)"
	fi
	check_ctl "$name" resize-up 0 '' "vmmctl resize --vcpus 3 (--cpus boot=2,max=3)"
	check_marker "$name" HOTPLUG-CPU '^cpu2 after [0-9.]+s online-by=(debian|hand) cpu2-online=1 cpuinfo=3 online=0-2 present=0-2$' \
		"cpu2 arrived, online, /proc/cpuinfo lists 3"
	check_udev_event "$name" '^add cpu cpu2$' "cpu2's add"
	check_udev_event "$name" '^bind cpu cpu2$' "cpu2's bind (the ACPI processor driver)"
	check_udev_event "$name" '^online cpu cpu2$' "cpu2's online"
	case $(marker_of "$name" HOTPLUG-CPU) in
	*online-by=debian*) echo "note: $name: Debian onlined cpu2 by itself" ;;
	*online-by=hand*) echo "note: $name: Debian left cpu2 offline (no udev rule onlines a CPU); the check onlined it" ;;
	esac
	check_ctl "$name" resize-down 0 '' "vmmctl resize --vcpus 2 (the guest offlined and ejected cpu2)"
	check_marker "$name" HOTPLUG-CPU-REMOVED '^gone after [0-9.]+s: cpu2 cpuinfo=2 online=0-1 present=0-1$' "cpu2 went"
	check_udev_event "$name" '^offline cpu cpu2$' "cpu2's offline (the kernel's, before the eject)"
	check_udev_event "$name" '^remove cpu cpu2$' "cpu2's remove"
	check_log "$name" "the hotplug's check ended" 'VMM-DEBIAN-HOTPLUG: done$'
}

names=(vmm-pci vmm-mmio)
if [ -f "$out/qemu.status" ]; then
	names+=(qemu)
else
	echo "not run: the boot on QEMU (in L1 only with DEBIAN_PEER=1; or $QEMU is not installed)"
fi
for name in "${names[@]}"; do
	tr -d '\r' <"$out/$name.log" >"$out/$name.txt"
	console_unbroken "$out/$name.txt" >"$out/$name.user.txt"
	transport=${name#vmm-}
	[ "$name" = qemu ] && peer=1 && transport=pci
	check_boot "$name" "$transport"
	[ "$name" = vmm-pci ] && check_hotplug "$name"
	peer=0
done
for name in vmm-pci vmm-mmio; do
	[ -f "$out/$name-first.status" ] || continue
	echo "note: $name: the first boot in L1 ended with status $(cat "$out/$name-first.status")" \
		"(4: a triple fault, 124: no end) and was booted again; its console's last lines:"
	tr -d '\r' <"$out/$name-first.log" | tail -5
	[ ! -f "$out/$name-first.stall" ] || sed "s/^/note: $name: stall: /" "$out/$name-first.stall"
done

# ---- the times (not checked) ----
echo "machine  | wall (VMM started to exit) | check done (uptime) | systemd-analyze"
for name in "${names[@]}"; do
	printf '%-8s | %-26s | %-19s | %s\n' "$name" "$(cat "$out/$name.secs") s" \
		"$(marker_of "$name" DONE | cut -d' ' -f1) s" "$(marker_of "$name" ANALYZE)"
done
for name in "${names[@]}"; do
	sed -n 's/^.*VMM-DEBIAN-BLAME: */blame: /p' "$out/$name.txt" | head -3 | sed "s/^/note: $name: /"
done
# The hotplug, as the guest timed it: from its "ready" to each device's line (udev's link, the
# renamed NIC, the bound driver), and from "ready to remove" to each gone.
if [ -s "$out/vmm-pci.hp-kinds" ]; then
	for k in DISK NET VSOCK PMEM FS CPU; do
		add=$(marker_of vmm-pci "HOTPLUG-$k" | grep -oE 'after [0-9.]+s')
		rm=$(marker_of vmm-pci "HOTPLUG-$k-REMOVED" | grep -oE 'after [0-9.]+s')
		[ -z "$add$rm" ] || echo "hotplug in vmm-pci: $k: ready -> seen ${add:-?}, ready to remove -> gone ${rm:-?}"
	done
fi

if [ $fail -ne 0 ] || [ $peer_failed -ne 0 ]; then
	for name in "${names[@]}"; do
		echo "---- $name: console (last 40 lines)"
		tail -40 "$out/$name.txt"
		echo "---- $name: stderr (last 10 lines)"
		tail -10 "$out/$name.err"
	done
fi
exit $fail
