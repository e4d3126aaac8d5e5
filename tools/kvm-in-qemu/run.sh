#!/usr/bin/env bash
# Runs a command where /dev/kvm exists, on a host that has none: inside an L1 Linux VM under
# QEMU's TCG emulator with a virtual CPU offering nested SVM (or VMX), where Debian's kvm_amd
# (kvm_intel) gives an emulated KVM; or, with --arch aarch64, an arm64 L1 (QEMU's virt board
# with EL2 and a GICv3, Debian's arm64 kernel, whose built-in KVM runs arm64 guests). The L1 VM
# sees the host's root read-only with a tmpfs overlay, the writable folders given by --rw
# (default: the repository's parent) at their own paths, and runs COMMAND as root in the current
# folder with the current environment. Its exit status is COMMAND's. Slow (every instruction of
# L1 and L2 is emulated); see README.md.
#
#   tools/kvm-in-qemu/run.sh [OPTIONS] -- COMMAND [ARG...]
#   tools/kvm-in-qemu/run.sh --arch aarch64 --print-l2-kernel
#     --arch ARCH     L1's architecture: x86_64 (default) or aarch64. An L1 of another
#                     architecture than the host cannot run the host's programs: its userland is
#                     an arm64 busybox (first in PATH, and /bin/sh), COMMAND is a busybox sh
#                     command line, and only programs built for L1 (with the host's multiarch
#                     libraries, e.g. the cross-built VMM) run there
#     --print-l2-kernel  (aarch64) print the path of a guest kernel for L2, the raw Image of
#                     Debian's linux-image-cloud-arm64 (fetched into the cache first), and exit
#     --cpus N        L1's vCPUs (default 2; TCG runs one host thread per vCPU)
#     --mem SIZE      L1's RAM (default 4G)
#     --cpu MODEL     QEMU -cpu (default EPYC,+svm,+npt; also e.g. qemu64,+svm,+npt; aarch64:
#                     max,pauth=off; max,pauth-impdef=on gives L1 and L2 pointer authentication)
#     --rw DIR        a writable share (repeatable; default the repository's parent folder)
#     --timeout SECS  kill L1 after SECS (default 3600)
#     --log FILE      also copy L1's console to FILE
#     --stall SECS    stop L1 once its own kernel reports a CPU stuck that long (a soft lockup
#                     of SECS or more: TCG's L1 sometimes stops making progress and never
#                     recovers; default 240, 0 never); the console then says "kvm-in-qemu: L1
#                     stalled" and the exit is a failure without the command's status
#     --silence SECS  stop L1 once it has not touched its heartbeat (a file stage2.sh touches
#                     every 15 s while the command runs) for SECS: an L1 whose CPUs all stopped
#                     says nothing, not even a soft lockup (default 240, 0 never); the console
#                     then says "kvm-in-qemu: L1 stalled" as above
#     --gic VERSION   (aarch64) L1's interrupt controller: 3 (default, a GICv3) or 2
#                     (a GICv2 with the virtualization extensions: L1's KVM then offers its
#                     guests a GICv2 only, as some older Arm servers do)
#     --kernel KIND   L1's kernel: release (default: Debian's linux-image-<arch> of the host's
#                     release) or backports (the newer one of <release>-backports, 6.12 on
#                     Debian 12, downloaded through a sources list of its own: debs.sh
#                     fetch_bpo_deb; extracted beside the release's). The arm64 CPU templates
#                     need it: Linux 6.7 and later let user space lower ID registers.
#     --vfio-devices  L1 is a q35 machine with QEMU's emulated Intel IOMMU (intel-iommu, with
#                     interrupt remapping; intel_iommu=on on L1's command line), an emulated
#                     e1000e NIC (8086:10d3) on a QEMU user network of its own (slirp: gateway
#                     10.0.2.2) and an emulated NVMe controller (1b36:0010, serial vmm-vfio-nvme,
#                     one 64 MiB namespace on a scratch file), which no L1 driver takes, for
#                     passthrough tests (docs/vfio.md): L1 binds them to vfio-pci and hands them
#                     to a VMM. aarch64: the virt board with QEMU's SMMUv3 (iommu=smmuv3;
#                     iommu.passthrough=1 on L1's command line: L1's own devices keep identity
#                     DMA, VFIO's domains are translated) and the same NVMe controller, no NIC
#
# One L1 at a time: a second run waits for the first (a lock in the cache folder); two TCG L1s on
# a small host would each run too slowly for the boots' timeouts.
# Environment: KVM_IN_QEMU_CACHE (default ~/.cache/vmm-kvm-in-qemu) holds the kernel package,
# its extracted tree and the initramfs (aarch64's in its subfolder aarch64/, with the arm64
# busybox and the L2 kernel); KVM_IN_QEMU_KERNEL_DEB, a linux-image .deb to use instead of
# downloading Debian's current one. L1's emulator is Debian's backported QEMU (10.x on
# Debian 12) that l1-qemu.sh builds with the project's patches into a private prefix on first use
# (7.2 and Debian's own 10.0.2 binary abort L1 under OVMF in L2); when it cannot, the system's
# QEMU (default qemu-system-x86_64), saying so.
# KVM_IN_QEMU_BIN names another emulator for L1 alone (QEMU stays the tests' peer inside L1),
# with KVM_IN_QEMU_DATADIR its ROM folder (-L) when it is not an installed one;
# KVM_IN_QEMU_BIN=system is the system's QEMU. KVM_IN_QEMU_TCG_THREAD=single runs L1's vCPUs on
# one host thread (TCG's thread=single) instead of one each (multi, the default).
# aarch64's L1 runs on the system's qemu-system-aarch64 (Debian 12's 7.2 runs L1's KVM), or on
# KVM_IN_QEMU_BIN.
# Needs: qemu-system-x86 (aarch64: qemu-system-arm), busybox-static, cpio, apt-get (first run
# only), and root (QEMU's 9p server must read every file of the host's root and write as the
# files' owners).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# fetch_deb, deb_busybox, cloud_arm64_kernel, module_closure, kiq_cache: shared with
# guest-images/arm64-guest.sh
# shellcheck source=tools/kvm-in-qemu/debs.sh
. "$here/debs.sh"
cache=$(kiq_cache)
arch=x86_64
cpus=2
mem=4G
cpu=
timeout=3600
stall=240
silence=240
log=
rw=()
vfio=0
gic=3
kernel=release
print_l2=0

die() {
	echo "kvm-in-qemu: $*" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--arch) arch=$2 && shift 2 ;;
	--print-l2-kernel) print_l2=1 && shift ;;
	--cpus) cpus=$2 && shift 2 ;;
	--mem) mem=$2 && shift 2 ;;
	--cpu) cpu=$2 && shift 2 ;;
	--rw) rw+=("$(cd "$2" && pwd)") && shift 2 ;;
	--timeout) timeout=$2 && shift 2 ;;
	--log) log=$2 && shift 2 ;;
	--stall) stall=$2 && shift 2 ;;
	--silence) silence=$2 && shift 2 ;;
	--vfio-devices) vfio=1 && shift ;;
	--gic) gic=$2 && shift 2 ;;
	--kernel)
		kernel=$2 && shift 2
		case $kernel in release | backports) ;; *) die "--kernel $kernel: release or backports" ;; esac
		;;
	--) shift && break ;;
	*) die "unknown option $1 (usage: run.sh [OPTIONS] -- COMMAND...)" ;;
	esac
done

# What differs per L1 architecture: the emulator, the CPU and board, the console, the kernel
# package (Debian's meta package, whose dependency is the versioned image) and the cache folder.
# kcache is the cache of what depends on the architecture (kernel, initramfs, busybox); the lock
# and the run folders stay in $cache, so that an x86 and an arm64 L1 never run at once.
case $arch in
x86_64)
	qemu=${QEMU:-qemu-system-x86_64} qemu_pkg=qemu-system-x86 debarch=amd64
	: "${cpu:=EPYC,+svm,+npt}"
	console=ttyS0 kernel_pkg=linux-image-amd64 kcache=$cache
	board=()
	[ "$gic" = 3 ] || die "--gic: aarch64 only"
	;;
aarch64)
	qemu=qemu-system-aarch64 qemu_pkg=qemu-system-arm debarch=arm64
	# pauth=off: Debian's arm64 kernel signs and checks every return address
	# (CONFIG_ARM64_PTR_AUTH_KERNEL), which TCG emulates with the QARMA cipher: L1 boots in 27 s
	# with it, 11 s with QEMU's cheaper pauth-impdef=on, 8-9 s without pointer authentication
	# (the instructions are then hints, and L1's KVM offers none to its guests; README.md).
	: "${cpu:=max,pauth=off}"
	console=ttyAMA0 kernel_pkg=linux-image-arm64:arm64 kcache=$cache/aarch64
	# virtualization=on: L1's kernel starts at EL2, where KVM can run; gic-version=3: QEMU's
	# GICv3 with its virtualization interface, on which L1's KVM builds its vGIC (2: QEMU's
	# GICv2 with its virtualization extensions, GICH and GICV, which L1's KVM maps for a vGICv2).
	case $gic in 2 | 3) ;; *) die "--gic $gic: 2 or 3" ;; esac
	# shellcheck disable=SC2054 # commas inside QEMU's option values
	board=(-machine "virt,virtualization=on,gic-version=$gic")
	;;
*) die "--arch $arch: x86_64 or aarch64" ;;
esac
# A foreign L1 (another architecture than the host's) cannot run the host root's programs: its
# userland is its own busybox (init.sh installs it into the overlay, stage2.sh puts it first).
foreign=0
[ "$(uname -m)" = "$arch" ] || foreign=1
l1bin=/usr/local/kvm-in-qemu/bin

[ $# -gt 0 ] || [ "$print_l2" = 1 ] || die "no command (usage: run.sh [OPTIONS] -- COMMAND...)"
[ ${#rw[@]} -gt 0 ] || rw=("$(dirname "$repo")")
[ "$print_l2" = 0 ] || [ "$arch" = aarch64 ] || die "--print-l2-kernel: aarch64 only"
[ "$(id -u)" = 0 ] || [ "$print_l2" = 1 ] ||
	die "needs root (QEMU's 9p server exports the host's root)"
qemu_data=()
if [ "$print_l2" = 1 ]; then
	: # boots no L1
elif [ "$arch" != x86_64 ]; then
	[ -z "${KVM_IN_QEMU_BIN:-}" ] || [ "$KVM_IN_QEMU_BIN" = system ] || qemu=$KVM_IN_QEMU_BIN
elif [ "${KVM_IN_QEMU_BIN:-system}" != system ]; then
	qemu=$KVM_IN_QEMU_BIN
	[ -z "${KVM_IN_QEMU_DATADIR:-}" ] || qemu_data=(-L "$KVM_IN_QEMU_DATADIR" -L /usr/share/qemu)
elif [ -z "${KVM_IN_QEMU_BIN:-}" ] &&
	l1=$("$here/l1-qemu.sh" 2>"${TMPDIR:-/tmp}/l1-qemu.$$.err"); then
	# Debian's backported QEMU: its own ROMs and SeaBIOS first (-L, in order)
	qemu=$(sed -n 1p <<<"$l1")
	IFS=: read -ra dirs <<<"$(sed -n 2p <<<"$l1")"
	for d in "${dirs[@]}"; do qemu_data+=(-L "$d"); done
	rm -f "${TMPDIR:-/tmp}/l1-qemu.$$.err"
elif [ -z "${KVM_IN_QEMU_BIN:-}" ]; then
	echo "kvm-in-qemu: no backported QEMU for L1 ($(tail -1 "${TMPDIR:-/tmp}/l1-qemu.$$.err"));" \
		"L1 runs on the system's $("$qemu" --version 2>/dev/null | head -1)," \
		"which aborts under OVMF in L2" >&2
	rm -f "${TMPDIR:-/tmp}/l1-qemu.$$.err"
fi
[ "$print_l2" = 1 ] || command -v "$qemu" >/dev/null ||
	die "$qemu is not installed (apt-get install $qemu_pkg)"
for t in busybox cpio flock; do command -v $t >/dev/null || die "$t is not installed"; done
for d in "${rw[@]}"; do case $d in *[[:space:],]*) die "--rw $d: no spaces or commas" ;; esac; done

# The kernel: Debian's, extracted (never installed) into the cache, modules.dep made by
# busybox's depmod (the host may have no kmod).
kernel_tree() {
	local deb=${KVM_IN_QEMU_KERNEL_DEB:-}
	mkdir -p "$kcache"
	kroot=$kcache/kroot
	if [ "$kernel" = backports ]; then # its own tree: the release's kernel stays extracted
		mkdir -p "$kcache/bpo"
		[ -n "$deb" ] || deb=$(fetch_bpo_deb "$kcache/bpo" "$kernel_pkg" 'linux-image-*.deb')
		kroot=$kcache/kroot-bpo
	fi
	[ -n "$deb" ] || deb=$(fetch_deb "$kcache" "$kernel_pkg" 'linux-image-*.deb')
	if [ ! -e "$kroot/.done" ] || [ "$(cat "$kroot/.done")" != "$deb" ]; then
		rm -rf "$kroot"
		dpkg -x "$deb" "$kroot"
		kver=$(ls "$kroot/lib/modules")
		# Debian's 6.12 packages compress their modules; busybox's insmod takes them plain.
		find "$kroot/lib/modules" -name '*.ko.xz' -print0 | xargs -0 -r busybox unxz
		busybox depmod -b "$kroot" "$kver"
		echo "$deb" >"$kroot/.done"
	fi
	kver=$(ls "$kroot/lib/modules")
}

# L1's busybox: the host's (busybox-static) for an L1 of the host's architecture, else Debian's
# busybox-static of L1's, unpacked into the cache. Prints its path.
l1_busybox() {
	if [ "$foreign" = 0 ]; then
		command -v busybox
		return
	fi
	deb_busybox "$kcache" "$debarch"
}

initramfs() {
	local out sum dir m bb
	bb=$(l1_busybox)
	sum=$(cat "$here/init.sh" "$0" "$here/debs.sh" | md5sum | cut -c1-12)
	out=$kcache/initramfs-$kver-$sum.cpio.gz
	if [ ! -e "$out" ]; then
		dir=$(mktemp -d)
		mkdir -p "$dir/bin" "$dir/lib/modules" "$dir/proc" "$dir/sys" "$dir/dev"
		cp "$bb" "$dir/bin/busybox"
		cp "$here/init.sh" "$dir/init"
		chmod 755 "$dir/init"
		# (those built in, as virtio_pci may be, are simply not found)
		module_closure "$kroot/lib/modules/$kver/modules.dep" \
			"virtio_pci 9pnet_virtio 9p overlay" >"$dir/lib/modules/early.list.full"
		: >"$dir/lib/modules/early.list"
		while read -r m; do
			cp "$kroot/lib/modules/$kver/$m" "$dir/lib/modules/"
			basename "$m" >>"$dir/lib/modules/early.list"
		done <"$dir/lib/modules/early.list.full"
		(cd "$dir" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
		mv "$out.tmp" "$out"
		rm -rf "$dir"
	fi
	echo "$out"
}

if [ "$print_l2" = 1 ]; then
	# L2's kernel on aarch64: Debian's linux-image-cloud-arm64, in $kcache/l2 (debs.sh)
	cloud_arm64_kernel "$kcache/l2"
	exit 0
fi
mkdir -p "$cache"
exec 9>"$cache/l1.lock"
if ! flock -n 9; then
	echo "kvm-in-qemu: another L1 is running; waiting for it" >&2
	flock 9
fi
kernel_tree
initrd=$(initramfs)

# The run's folder: the command (cwd and environment kept) in, the exit status out.
run=$(mktemp -d "$cache/run.XXXXXX")
trap 'rm -rf "$run"' EXIT
# A word quoted for any POSIX shell (busybox's too: bash's %q may write $'...').
sh_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
if [ "$foreign" = 0 ]; then
	{
		export -p | grep -Ev '^declare -x (OLDPWD|PWD|SHLVL|_|TMUX|TMUX_PANE|TERM_PROGRAM)='
		printf 'cd %q || exit 125\n' "$PWD"
		printf 'exec'
		printf ' %q' "$@"
		printf '\n'
	} >"$run/cmd"
else
	# For L1's busybox sh: POSIX exports, and L1's own programs first in PATH.
	{
		for v in $(compgen -e); do
			case $v in OLDPWD | PWD | SHLVL | _ | TMUX | TMUX_PANE | TERM_PROGRAM) continue ;; esac
			printf 'export %s=%s\n' "$v" "$(sh_quote "${!v-}")"
		done
		# shellcheck disable=SC2016 # $PATH is L1's, expanded there
		printf 'export PATH=%s:"$PATH"\n' "$l1bin"
		printf 'cd %s || exit 125\n' "$(sh_quote "$PWD")"
		printf 'exec'
		for a in "$@"; do printf ' %s' "$(sh_quote "$a")"; done
		printf '\n'
	} >"$run/cmd"
fi

shares=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap")
shares+=(-virtfs "local,path=$run,mount_tag=result,security_model=none,multidevs=remap")
i=0
for d in "${rw[@]}"; do
	shares+=(-virtfs "local,path=$d,mount_tag=rw$i,security_model=none,multidevs=remap")
	i=$((i + 1))
done
rwlist=$(
	IFS=,
	echo "${rw[*]}"
)

append="console=$console quiet loglevel=4 panic=-1 rw"
append+=" kiq.modules=$kroot/lib/modules/$kver kiq.stage2=$here/stage2.sh kiq.rw=$rwlist"
[ "$foreign" = 0 ] || append+=" kiq.l1bin=$l1bin"
machine=("${board[@]}")
if [ "$vfio" = 1 ] && [ "$arch" = aarch64 ]; then
	# the board's SMMUv3 in front of its PCIe root complex; the NVMe as x86's (below)
	truncate -s 64M "$run/nvme.img"
	# shellcheck disable=SC2054 # commas inside QEMU's option values
	machine=(-machine "virt,virtualization=on,gic-version=$gic,iommu=smmuv3"
		-drive "file=$run/nvme.img,if=none,id=vfionvme,format=raw"
		-device nvme,serial=vmm-vfio-nvme,drive=vfionvme)
	append+=" iommu.passthrough=1"
elif [ "$vfio" = 1 ]; then
	# q35: intel-iommu is a PCI Express machine's device. The NIC's wire is a slirp network
	# (its gateway answers ping: what an L2 guest driving the NIC reaches); the NVMe namespace
	# is a sparse scratch file in the run's folder, gone with it. L1 loads neither driver (it
	# loads only the modules stage2.sh names), so both stay free for vfio-pci.
	truncate -s 64M "$run/nvme.img"
	# shellcheck disable=SC2054 # commas inside QEMU's option values
	machine=(-machine q35 -device intel-iommu,intremap=on
		-netdev user,id=vfionet -device e1000e,netdev=vfionet
		-drive "file=$run/nvme.img,if=none,id=vfionvme,format=raw"
		-device nvme,serial=vmm-vfio-nvme,drive=vfionvme)
	append+=" intel_iommu=on"
fi
# shellcheck disable=SC2054 # commas inside QEMU's option values
qemu_cmd=(timeout --foreground -k 10 "$timeout" "$qemu" "${qemu_data[@]}" -accel "tcg,thread=${KVM_IN_QEMU_TCG_THREAD:-multi}" -cpu "$cpu"
	-smp "$cpus" -m "$mem" -kernel "$kroot/boot/vmlinuz-$kver" -initrd "$initrd"
	-append "$append" -display none -serial stdio -monitor none -no-reboot -nodefaults
	"${machine[@]}" "${shares[@]}")
echo "kvm-in-qemu: L1 on $("$qemu" --version | head -1)" >&2
start=$(date +%s)
[ -n "$log" ] || log=$run/l1.console
: >"$log" # appended to by the console and by watch_stall's line, so neither overwrites the other
# watch_stall: L1's kernel says a CPU has been stuck for $stall s or more (its soft-lockup
# watchdog repeats the line every ~30 s with the time so far), or L1 has not touched its heartbeat
# for $silence s (an L1 whose CPUs all stopped says nothing at all): L1 will not finish; stop its
# QEMU (found by the run folder it shares) rather than wait for the timeout.
# The command's own output shares that console: a line it echoes from an L2 guest's log may say
# the same, so only a CPU stuck no longer than L1 has run counts.
# It holds no lock (fd 9) and ends with run.sh: a watcher left behind by a run.sh that was killed
# once kept the lock, and every later L1 waited for it.
watch_stall() {
	local n t0 up beat why
	exec 9>&-
	t0=$(date +%s)
	while sleep 10 && kill -0 $$ 2>/dev/null; do
		up=$(($(date +%s) - t0 + 15))
		why=
		n=$(grep -aoE 'soft lockup - CPU#[0-9]+ stuck for [0-9]+s' "$log" 2>/dev/null |
			grep -oE '[0-9]+s$' | tr -d s | awk -v up="$up" '$1 <= up' | sort -n |
			tail -1) || true # none yet (set -e)
		if [ "$stall" -gt 0 ] && [ -n "$n" ] && [ "$n" -ge "$stall" ]; then
			why="its kernel reports a CPU stuck for ${n}s"
		fi
		beat=$(stat -c %Y "$run/heartbeat" 2>/dev/null) || beat= # before the command starts
		if [ -z "$why" ] && [ "$silence" -gt 0 ] && [ -n "$beat" ] &&
			[ $(($(date +%s) - beat)) -ge "$silence" ]; then
			why="no heartbeat from L1 for $(($(date +%s) - beat))s"
		fi
		[ -n "$why" ] || continue
		echo "kvm-in-qemu: L1 stalled: $why; stopping it" | tee -a "$log" >&2
		pkill -TERM -f -- "-virtfs local,path=$run," || true
		return
	done
}
watcher=
if [ "$stall" -gt 0 ] || [ "$silence" -gt 0 ]; then
	watch_stall &
	watcher=$!
fi
# QEMU warns once per vCPU for each feature of the CPU model that TCG does not emulate.
"${qemu_cmd[@]}" </dev/null 2>&1 | grep --line-buffered -vE "TCG doesn't support requested feature|nic e1000e.* has no peer" |
	tee -a "$log" || true
[ -z "$watcher" ] || kill "$watcher" 2>/dev/null || true
echo "kvm-in-qemu: L1 ran $(($(date +%s) - start)) s" >&2
[ -s "$run/status" ] || die "no exit status: L1 did not finish the command (timeout, panic or failed boot above)"
exit "$(cat "$run/status")"
