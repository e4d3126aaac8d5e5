#!/bin/sh
# /init of the project's default guest (busybox sh). Also /sbin/init on the
# disk image, so `root=/dev/vda` boots the same script.
#
# It mounts proc, sys and dev, makes a disk root writable, prints what
# the guest sees (VMM-GUEST-* lines), configures every network interface with
# DHCP, runs the checks asked for, then opens a shell or ends the VM.
#
# Kernel command-line parameters it reads (unknown `x.y=` parameters are
# ignored by the kernel and show up in /proc/cmdline):
#   vmmguest.shell=1        open a shell on the console; `poweroff`, `reboot`
#                           and `halt` typed there end the VM, so does `exit`
#                           (with the end action below)
#   vmmguest.dhcp=0         do not run DHCP on the network interfaces
#   vmmguest.run=A,B,...    run /usr/share/vmmguest/checks/A.sh, B.sh, ... in
#                           order; each prints its own VMM-GUEST-* lines and
#                           "VMM-GUEST-RUN: A status N" after it
#   vmmguest.end=reboot     (default) `reboot -f`: the kernel resets the
#                           machine (i8042 pulse with reboot=k or reboot=a);
#                           the VMM exits 0, QEMU with -no-reboot too
#   vmmguest.end=poweroff   `poweroff -f`: the kernel enters ACPI S5 (the
#                           FADT's sleep registers) and the VMM exits 0; with
#                           acpi=off or `vmm --acpi off` it halts every CPU
#                           with interrupts off, which the VMM sees and exits
#                           0 too (QEMU keeps waiting)
#   vmmguest.end=debugexit:N  write byte N to port 0xf4 (QEMU isa-debug-exit,
#                           VMM --debug-exit): exit status (N<<1)|1
#
# Every line meant for tests starts with "VMM-GUEST-".

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
. /usr/share/vmmguest/lib.sh

# Each is mounted once: the kernel's devtmpfs automount may have mounted /dev already.
[ -e /proc/self ] || mount -t proc proc /proc
[ -d /sys/class ] || mount -t sysfs sysfs /sys
[ -e /dev/null ] || mount -t devtmpfs devtmpfs /dev
# A disk root comes mounted read-only unless the command line says rw.
mount -o remount,rw / 2>/dev/null
hostname -F /etc/hostname 2>/dev/null

echo "VMM-GUEST-INIT: ok"

# ---- what the guest sees ----

show_list() {
	# $1 = label, $2 = directory whose entries are listed
	if [ -d "$2" ]; then
		# No pipeline of programs (lib.sh, md5_of: kvm_pvm), so no ls | tr: the shell lists.
		names=""
		for entry in "$2"/*; do
			[ -e "$entry" ] && names="$names${entry##*/} "
		done
		echo "VMM-GUEST-$1: $names"
	else
		echo "VMM-GUEST-$1: (none)"
	fi
}

show_devices() {
	echo "VMM-GUEST-CMDLINE: $(cat /proc/cmdline)"
	echo "VMM-GUEST-CPUS: $(grep -c ^processor /proc/cpuinfo)"
	while read -r key value unit; do
		[ "$key" = MemTotal: ] && echo "VMM-GUEST-MEM: MemTotal: $value $unit"
	done </proc/meminfo
	show_list BLOCK /sys/block
	show_list NET /sys/class/net
	# Virtio device IDs (virtio 1.2 section 5): 1 net, 2 block, 3 console, 4 rng. `on=` names
	# the transport device it was found as: LNRO0005:NN (the DSDT), virtio-mmio.N (the
	# virtio_mmio.device= command line) or a PCI address.
	for dev in /sys/bus/virtio/devices/*; do
		[ -e "$dev/device" ] || continue
		echo "VMM-GUEST-VIRTIO: $(basename "$dev") device=$(cat "$dev/device")" \
			"vendor=$(cat "$dev/vendor")" \
			"driver=$(basename "$(readlink "$dev/driver" 2>/dev/null)" 2>/dev/null)" \
			"on=$(basename "$(dirname "$(readlink -f "$dev")")")"
	done
	if [ -r /sys/class/misc/hw_random/rng_current ]; then
		echo "VMM-GUEST-HWRNG: $(cat /sys/class/misc/hw_random/rng_current)"
	else
		echo "VMM-GUEST-HWRNG: (none)"
	fi
	hvc=""
	for tty in /sys/class/tty/hvc*; do
		[ -e "$tty" ] && hvc="$hvc$(basename "$tty") "
	done
	echo "VMM-GUEST-HVC: ${hvc:-(none)}"
}

show_disk_marker() {
	if [ -e /VMM-DISK-MARKER ]; then
		echo "VMM-GUEST-ROOT-MARKER: $(cat /VMM-DISK-MARKER)"
	elif [ -b /dev/vda ]; then
		mkdir -p /mnt
		if mount -t ext4 -o ro /dev/vda /mnt 2>/dev/null; then
			echo "VMM-GUEST-DISK-MARKER: $(cat /mnt/VMM-DISK-MARKER 2>/dev/null)"
			umount /mnt
		else
			echo "VMM-GUEST-DISK-MARKER: (vda not mountable)"
		fi
	fi
}

# ---- network: loopback, then DHCP on every other interface ----

net_up() {
	ip link set lo up
	[ "$(cmdline_value vmmguest.dhcp)" = 0 ] && return
	for ifc in /sys/class/net/*; do
		ifc=$(basename "$ifc")
		[ "$ifc" = lo ] && continue
		# An address from the kernel (ip=...) is kept.
		[ -n "$(ip -4 -o addr show dev "$ifc" 2>/dev/null)" ] && continue
		ip link set "$ifc" up
		udhcpc -i "$ifc" -s /etc/udhcpc.script -n -q -t 4 -T 2 2>/dev/null ||
			echo "VMM-GUEST-DHCP: $ifc no lease"
	done
	for ifc in /sys/class/net/*; do
		[ -e "$ifc/address" ] || continue
		ip -4 -o addr show dev "${ifc##*/}" >/tmp/.netaddr 2>/dev/null
		echo "VMM-GUEST-NETADDR: ${ifc##*/} $(cat "$ifc/address")" \
			"$(awk '{print $4}' /tmp/.netaddr)"
	done
}

# ---- checks asked for on the command line ----

run_checks() {
	# Split on commas by the shell itself (no `tr`, see cmdline_value in lib.sh), after
	# cmdline_value has read the command line: with IFS=, in effect it would split
	# /proc/cmdline on commas and find nothing (every check was skipped so).
	list=$(cmdline_value vmmguest.run)
	old_ifs=$IFS
	IFS=,
	# shellcheck disable=SC2086 # split on purpose
	set -- $list
	IFS=$old_ifs
	for name; do
		script="/usr/share/vmmguest/checks/$name.sh"
		if [ -r "$script" ]; then
			sh "$script"
			echo "VMM-GUEST-RUN: $name status $?"
		else
			echo "VMM-GUEST-RUN: $name status missing"
		fi
	done
}

# ---- the end of the VM ----

end_vm() {
	echo "VMM-GUEST-END: $1"
	# A clean file system for the next boot (and for the host reading the image): flush, then
	# a read-only root, which checkpoints the ext4 journal.
	sync
	mount -o remount,ro / 2>/dev/null
	case "$1" in
	poweroff | halt) poweroff -f ;;
	debugexit:*)
		# One byte to I/O port 0xf4 (244) through /dev/port.
		code="${1#debugexit:}"
		case "$code" in
		"" | *[!0-9]*) code=1 ;;
		esac
		[ "$code" -le 255 ] || code=1
		octal="$(printf '%03o' "$code")"
		# shellcheck disable=SC2059 # the format is the octal escape of the byte
		printf "\\$octal" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
		;;
	esac
	reboot -f
	# PID 1 must never exit (the kernel would panic): wait for the reset.
	while :; do sleep 60; done
}

# busybox `poweroff`, `halt` and `reboot` (without -f) signal PID 1: USR2, USR1, TERM.
trap 'end_vm poweroff' USR2
trap 'end_vm halt' USR1
trap 'end_vm reboot' TERM

show_devices
net_up
show_disk_marker
run_checks

if [ "$(cmdline_value vmmguest.shell)" = 1 ]; then
	echo "VMM-GUEST-SHELL: starting"
	# In the background so the traps above run as soon as a signal arrives; cttyhack gives
	# the shell the console as its controlling terminal (job control, Ctrl-C).
	setsid cttyhack sh -l &
	wait $!
fi

end="$(cmdline_value vmmguest.end)"
end_vm "${end:-reboot}"
