#!/usr/bin/env bash
# Runs a command where /dev/kvm exists, on a host that has none: inside an L1 Linux VM under
# QEMU's TCG emulator with a virtual CPU offering nested SVM (or VMX), where Debian's kvm_amd
# (kvm_intel) gives an emulated KVM. The L1 VM sees the host's root read-only with a tmpfs
# overlay, the writable folders given by --rw (default: the repository's parent) at their own
# paths, and runs COMMAND as root in the current folder with the current environment. Its exit
# status is COMMAND's. Slow (every instruction of L1 and L2 is emulated); see README.md.
#
#   tools/kvm-in-qemu/run.sh [OPTIONS] -- COMMAND [ARG...]
#     --cpus N        L1's vCPUs (default 2; TCG runs one host thread per vCPU)
#     --mem SIZE      L1's RAM (default 4G)
#     --cpu MODEL     QEMU -cpu (default EPYC,+svm,+npt; also e.g. qemu64,+svm,+npt)
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
#     --vfio-devices  L1 is a q35 machine with QEMU's emulated Intel IOMMU (intel-iommu, with
#                     interrupt remapping; intel_iommu=on on L1's command line), an emulated
#                     e1000e NIC (8086:10d3) on a QEMU user network of its own (slirp: gateway
#                     10.0.2.2) and an emulated NVMe controller (1b36:0010, serial vmm-vfio-nvme,
#                     one 64 MiB namespace on a scratch file), which no L1 driver takes, for
#                     passthrough tests (docs/vfio.md): L1 binds them to vfio-pci and hands them
#                     to a VMM
#
# One L1 at a time: a second run waits for the first (a lock in the cache folder); two TCG L1s on
# a small host would each run too slowly for the boots' timeouts.
# Environment: KVM_IN_QEMU_CACHE (default ~/.cache/vmm-kvm-in-qemu) holds the kernel package,
# its extracted tree and the initramfs; KVM_IN_QEMU_KERNEL_DEB, a linux-image .deb to use
# instead of downloading Debian's current one. L1's emulator is Debian's backported QEMU (10.x on
# Debian 12) that l1-qemu.sh builds with the project's patches into a private prefix on first use
# (7.2 and Debian's own 10.0.2 binary abort L1 under OVMF in L2); when it cannot, the system's
# QEMU (default qemu-system-x86_64), saying so.
# KVM_IN_QEMU_BIN names another emulator for L1 alone (QEMU stays the tests' peer inside L1),
# with KVM_IN_QEMU_DATADIR its ROM folder (-L) when it is not an installed one;
# KVM_IN_QEMU_BIN=system is the system's QEMU. KVM_IN_QEMU_TCG_THREAD=single runs L1's vCPUs on
# one host thread (TCG's thread=single) instead of one each (multi, the default).
# Needs: qemu-system-x86, busybox-static, cpio, apt-get (first run only), and root (QEMU's
# 9p server must read every file of the host's root and write as the files' owners).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
qemu=${QEMU:-qemu-system-x86_64}
qemu_data=()
if [ "${KVM_IN_QEMU_BIN:-system}" != system ]; then
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
cache=${KVM_IN_QEMU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmm-kvm-in-qemu}
cpus=2
mem=4G
cpu=EPYC,+svm,+npt
timeout=3600
stall=240
silence=240
log=
rw=()
vfio=0

die() {
	echo "kvm-in-qemu: $*" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--cpus) cpus=$2 && shift 2 ;;
	--mem) mem=$2 && shift 2 ;;
	--cpu) cpu=$2 && shift 2 ;;
	--rw) rw+=("$(cd "$2" && pwd)") && shift 2 ;;
	--timeout) timeout=$2 && shift 2 ;;
	--log) log=$2 && shift 2 ;;
	--stall) stall=$2 && shift 2 ;;
	--silence) silence=$2 && shift 2 ;;
	--vfio-devices) vfio=1 && shift ;;
	--) shift && break ;;
	*) die "unknown option $1 (usage: run.sh [OPTIONS] -- COMMAND...)" ;;
	esac
done
[ $# -gt 0 ] || die "no command (usage: run.sh [OPTIONS] -- COMMAND...)"
[ ${#rw[@]} -gt 0 ] || rw=("$(dirname "$repo")")
[ "$(id -u)" = 0 ] || die "needs root (QEMU's 9p server exports the host's root)"
command -v "$qemu" >/dev/null || die "$qemu is not installed (apt-get install qemu-system-x86)"
for t in busybox cpio flock; do command -v $t >/dev/null || die "$t is not installed"; done
for d in "${rw[@]}"; do case $d in *[[:space:],]*) die "--rw $d: no spaces or commas" ;; esac; done

# The kernel: Debian's, extracted (never installed) into the cache, modules.dep made by
# busybox's depmod (the host may have no kmod).
kernel_tree() {
	local deb=${KVM_IN_QEMU_KERNEL_DEB:-} pkg
	mkdir -p "$cache"
	if [ -z "$deb" ]; then
		deb=$(find "$cache" -maxdepth 1 -name 'linux-image-*.deb' | sort | tail -1)
	fi
	if [ -z "$deb" ]; then
		pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ { print $2; exit }')
		[ -n "$pkg" ] || die "apt-cache knows no linux-image-amd64 (apt-get update?)"
		echo "kvm-in-qemu: downloading $pkg" >&2
		(cd "$cache" && apt-get download "$pkg" >&2) || die "apt-get download $pkg failed"
		deb=$(find "$cache" -maxdepth 1 -name 'linux-image-*.deb' | sort | tail -1)
	fi
	if [ ! -e "$cache/kroot/.done" ] || [ "$(cat "$cache/kroot/.done")" != "$deb" ]; then
		rm -rf "$cache/kroot"
		dpkg -x "$deb" "$cache/kroot"
		kver=$(ls "$cache/kroot/lib/modules")
		# Debian's 6.12 packages compress their modules; busybox's insmod takes them plain.
		find "$cache/kroot/lib/modules" -name '*.ko.xz' -print0 | xargs -0 -r busybox unxz
		busybox depmod -b "$cache/kroot" "$kver"
		echo "$deb" >"$cache/kroot/.done"
	fi
	kver=$(ls "$cache/kroot/lib/modules")
}

# The modules init.sh loads before the root is mounted, dependencies first.
early_modules() {
	local dep=$1 m
	awk -v want="$2" '
		function add(mod,   n, i, parts) {
			if (mod in seen) return
			seen[mod] = 1
			n = split(deps[mod], parts, " ")
			for (i = n; i >= 1; i--) add(parts[i])
			print mod
		}
		{ k = $1; sub(/:$/, "", k); $1 = ""; deps[k] = $0 }
		END {
			n = split(want, w, " ")
			for (i = 1; i <= n; i++)
				for (k in deps) if (k ~ ("/" w[i] ".ko$")) add(k)
		}' "$dep"
}

initramfs() {
	local out=$cache/initramfs-$kver.cpio.gz sum dir m
	sum=$(cat "$here/init.sh" "$0" | md5sum | cut -c1-12)
	out=$cache/initramfs-$kver-$sum.cpio.gz
	if [ ! -e "$out" ]; then
		dir=$(mktemp -d)
		mkdir -p "$dir/bin" "$dir/lib/modules" "$dir/proc" "$dir/sys" "$dir/dev"
		cp "$(command -v busybox)" "$dir/bin/busybox"
		cp "$here/init.sh" "$dir/init"
		chmod 755 "$dir/init"
		early_modules "$cache/kroot/lib/modules/$kver/modules.dep" \
			"virtio_pci 9pnet_virtio 9p overlay" >"$dir/lib/modules/early.list.full"
		: >"$dir/lib/modules/early.list"
		while read -r m; do
			cp "$cache/kroot/lib/modules/$kver/$m" "$dir/lib/modules/"
			basename "$m" >>"$dir/lib/modules/early.list"
		done <"$dir/lib/modules/early.list.full"
		(cd "$dir" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
		mv "$out.tmp" "$out"
		rm -rf "$dir"
	fi
	echo "$out"
}

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
{
	export -p | grep -Ev '^declare -x (OLDPWD|PWD|SHLVL|_|TMUX|TMUX_PANE|TERM_PROGRAM)='
	printf 'cd %q || exit 125\n' "$PWD"
	printf 'exec'
	printf ' %q' "$@"
	printf '\n'
} >"$run/cmd"

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

append="console=ttyS0 quiet loglevel=4 panic=-1 rw"
append+=" kiq.modules=$cache/kroot/lib/modules/$kver kiq.stage2=$here/stage2.sh kiq.rw=$rwlist"
machine=()
if [ "$vfio" = 1 ]; then
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
	-smp "$cpus" -m "$mem" -kernel "$cache/kroot/boot/vmlinuz-$kver" -initrd "$initrd"
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
