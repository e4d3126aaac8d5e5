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

# shellcheck disable=SC2154 # cmdline_line and cmdline_get (lib.sh) set the variables read here
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
. /usr/share/vmmguest/lib.sh

# Each is mounted once: the kernel's devtmpfs automount may have mounted /dev already (a disk
# root). From the initramfs none is: one mount(8) mounts the three (/etc/fstab), not three.
if [ ! -e /proc/self ] && [ ! -d /sys/class ] && [ ! -e /dev/null ]; then
	mount -a
else
	[ -e /proc/self ] || mount -t proc proc /proc
	[ -d /sys/class ] || mount -t sysfs sysfs /sys
	[ -e /dev/null ] || mount -t devtmpfs devtmpfs /dev
fi
# A disk root comes mounted read-only unless the command line says rw (test's access() says
# EROFS then); the initramfs is writable, and each program started costs ~2 s on kvm_pvm.
[ -w / ] || mount -o remount,rw / 2>/dev/null
# The kernel sets the host name from hostname= on the command line (cmdline.txt has it): no
# hostname(1) then.
cmdline_get _hostname hostname
[ -n "$_hostname" ] || hostname -F /etc/hostname 2>/dev/null

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

# What follows runs before the shell of every boot, so it starts no program and forks no
# subshell where the shell can do the work itself: on kvm_pvm (guest kernel code emulated) a fork
# costs about a second, a program two, and `read` takes a file a byte per system call (a loop
# over /proc/meminfo took 3 s), so only short files and first lines are read.
show_devices() {
	cmdline_line
	echo "VMM-GUEST-CMDLINE: $_cmdline"
	# The online CPUs (cpu0 may have no "online" file: it is always online).
	cpus=0
	for cpu in /sys/devices/system/cpu/cpu[0-9]*; do
		online=1
		[ -r "$cpu/online" ] && read -r online <"$cpu/online"
		[ "$online" = 1 ] && cpus=$((cpus + 1))
	done
	echo "VMM-GUEST-CPUS: $cpus"
	read -r _ value unit </proc/meminfo # its first line is MemTotal
	echo "VMM-GUEST-MEM: MemTotal: $value $unit"
	show_list BLOCK /sys/block
	show_list NET /sys/class/net
	# Virtio device IDs (virtio 1.2 section 5): 1 net, 2 block, 3 console, 4 rng. `on=` names
	# the transport device it was found as: LNRO0005:NN (the DSDT), virtio-mmio.N (the
	# virtio_mmio.device= command line) or a PCI address.
	# The links are followed with `cd -P` (the shell's), not readlink(1).
	for dev in /sys/bus/virtio/devices/*; do
		[ -e "$dev/device" ] || continue
		read -r device <"$dev/device"
		read -r vendor <"$dev/vendor"
		driver=""
		cd -P "$dev/driver" 2>/dev/null && driver=${PWD##*/}
		cd -P "$dev/.." || continue
		echo "VMM-GUEST-VIRTIO: ${dev##*/} device=$device vendor=$vendor driver=$driver" \
			"on=${PWD##*/}"
	done
	cd /
	if [ -r /sys/class/misc/hw_random/rng_current ]; then
		read -r rng </sys/class/misc/hw_random/rng_current
		echo "VMM-GUEST-HWRNG: $rng"
	else
		echo "VMM-GUEST-HWRNG: (none)"
	fi
	hvc=""
	for tty in /sys/class/tty/hvc*; do
		[ -e "$tty" ] && hvc="$hvc${tty##*/} "
	done
	echo "VMM-GUEST-HVC: ${hvc:-(none)}"
}

show_disk_marker() {
	if [ -e /VMM-DISK-MARKER ]; then
		read -r marker </VMM-DISK-MARKER
		echo "VMM-GUEST-ROOT-MARKER: $marker"
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
	cmdline_get dhcp vmmguest.dhcp
	[ "$dhcp" = 0 ] && return
	for ifc in /sys/class/net/*; do
		ifc=${ifc##*/}
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
		read -r mac <"$ifc/address"
		# The fourth field of each line ("2: eth0    inet 10.0.2.15/24 brd ..."): the addresses.
		addrs=""
		while read -r _ _ _ addr _; do
			addrs="$addrs${addrs:+ }$addr"
		done </tmp/.netaddr
		echo "VMM-GUEST-NETADDR: ${ifc##*/} $mac $addrs"
	done
}

# ---- checks asked for on the command line ----

run_checks() {
	# Split on commas by the shell itself (no `tr`), after cmdline_get has split the command
	# line: with IFS=, in effect it would split /proc/cmdline on commas and find nothing (every
	# check was skipped so).
	cmdline_get list vmmguest.run
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

cmdline_get shell vmmguest.shell
if [ "$shell" = 1 ]; then
	echo "VMM-GUEST-SHELL: starting"
	# In the background so the traps above run as soon as a signal arrives; cttyhack gives
	# the shell the console as its controlling terminal (job control, Ctrl-C).
	setsid cttyhack sh -l &
	wait $!
fi

cmdline_get end vmmguest.end
end_vm "${end:-reboot}"
