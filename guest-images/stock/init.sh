#!/bin/sh
# /init of the stock-kernel initramfs (guest-images/stock.sh; busybox sh). It prints what Debian's
# stock cloud kernel sees (VMM-STOCK-* lines, grepped by tests/integration/linux/test_linux_stock.py),
# loads the virtio modules from the kernel's own package, then resets the machine with `reboot -f`
# (the VMM and QEMU -no-reboot exit 0), or powers it off with `poweroff -f` (ACPI S5). No
# pipelines of programs: on kvm_pvm hosts they compute with wrong memory now and then
# (docs/testing.md).
#
# Kernel command-line parameter it reads: vmmstock.disk=1  a disk was given: /dev/vda must appear
# (the test gives a disk whose first line is a marker; /init prints that line).
#                                 vmmstock.end=poweroff  end with `poweroff -f` instead of
# `reboot -f` (the kernel's ACPI power-off: the VMM must exit 0 as after a reset).
#                                 vmmstock.end=button  wait for one event of the ACPI power
# button's input device ("Power Button", the `button` module's), print it, then `poweroff -f`
# (the test presses the button through the VMM's API when it reads "VMM-STOCK-BUTTON: waiting").
#                                 vmmstock.end=hotplug  PCI hotplug (test_linux_stock_hotplug.py):
# list /sys/bus/pci/slots, wait for /dev/vdb to arrive (the test adds it once /init says
# "VMM-STOCK-HOTPLUG: waiting"), write a line to it and read it back, wait for it to go (the
# test removes it on "ready to remove"), wait for it again and read the line back; with
# vmmstock.hprmboot=1 then ask for the boot disk (/dev/vda) to be removed and wait for it to go;
# with vmmstock.hpnet=1 also wait for eth0 to arrive and go; with vmmstock.hpvp=1 also for a
# virtio-vsock device bound to its driver and /dev/pmem0 (its first line printed) to arrive and
# go; with vmmstock.hpfs=1 also for a virtio-fs device (tag hpshare): mount it, print the first
# line of its file "mark", write the file "from-guest", unmount it before "ready to remove", and
# wait for the device to go; then `poweroff -f`.
#                                 vmmstock.efivar=set:TOKEN  under UEFI, print the test's variable
# VmmTest-6d6d7600-7661-7273-8000-000000000001 as it is (efivarfs), then set it to
# "VMM-EFIVAR-TOKEN" (non-volatile, boot and run-time); vmmstock.efivar=check only prints it
# (test_firmware_ovmf.py: a second boot on the same --firmware-vars must find it).
#                                 vmmstock.reboot=once  (with vmmstock.disk=1) a firmware's
# reboot: the first boot writes "VMM-STOCK-REBOOTED" to /dev/vda's second sector and resets
# (`reboot -f`: the VMM starts the firmware again); the boot that finds it there says so and
# goes on to the vmmstock.end= end (firmware_stock_checks.py).
#                                 vmmstock.end=vcpuhp  vCPU hotplug (test_linux_vcpu_hotplug.py):
# print the possible and present CPUs, wait for cpu1 to arrive (the test resizes to 2 on
# "VMM-STOCK-VCPUHP: waiting"), online it (no udev here to do it) and count the CPUs, wait for
# it to go (the test resizes to 1 on "ready to remove": the kernel offlines and ejects it), wait
# for it again and online it; then `poweroff -f`.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

echo "VMM-STOCK-INIT: ok"
[ -e /proc/self ] || mount -t proc proc /proc
[ -d /sys/class ] || mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

read -r release </proc/sys/kernel/osrelease
echo "VMM-STOCK-KERNEL: $release"
read -r cmdline </proc/cmdline
echo "VMM-STOCK-CMDLINE: $cmdline"

cpus=0
while read -r key rest; do
	[ "$key" = processor ] && cpus=$((cpus + 1))
done </proc/cpuinfo
read -r online </sys/devices/system/cpu/online
echo "VMM-STOCK-CPUS: $cpus online=$online"

# ---- the VM generation counter (the DSDT's VGEN): its ACPI device, its driver (Debian's cloud
# kernel has none: no CONFIG_VMGENID) and the ID's 16 bytes at 0xA0000, read through /dev/mem ----
vgen=/sys/bus/acpi/devices/VMGENCTR:00
if [ -d "$vgen" ]; then
	read -r hid <"$vgen/hid"
	driver=$(readlink "$vgen/driver" 2>/dev/null)
	echo "VMM-STOCK-VMGENID: hid=$hid driver=${driver##*/} id=$(od -An -tx1 -j 655360 -N 16 /dev/mem 2>&1)"
else
	echo "VMM-STOCK-VMGENID: none"
fi

# ---- the CMOS clock, through the kernel's rtc_cmos driver ----
rtc=/sys/class/rtc/rtc0
if [ -r "$rtc/time" ]; then
	read -r name <"$rtc/name"
	read -r date <"$rtc/date"
	read -r time <"$rtc/time"
	read -r hctosys <"$rtc/hctosys"
	echo "VMM-STOCK-RTC: name=$name date=$date time=$time hctosys=$hctosys"
else
	echo "VMM-STOCK-RTC: (no rtc0)"
fi
if [ -r /proc/driver/rtc ]; then
	while read -r key _ value; do
		case "$key" in rtc_time | rtc_date) echo "VMM-STOCK-PROC-RTC: $key $value" ;; esac
	done </proc/driver/rtc
fi
echo "VMM-STOCK-HWCLOCK: $(hwclock -r -u 2>&1)"
echo "VMM-STOCK-DATE: $(date -u '+%Y-%m-%d %H:%M:%S')"

# ---- virtio: the modules of the kernel's own package ----
dir=/lib/modules/$release
while read -r module; do
	insmod "$dir/$module.ko" 2>/dev/null
	echo "VMM-STOCK-INSMOD: $module status $?"
done <"$dir/load-order"
for dev in /sys/bus/virtio/devices/*; do
	[ -e "$dev/device" ] || continue
	read -r id <"$dev/device"
	driver=$(readlink "$dev/driver" 2>/dev/null)
	echo "VMM-STOCK-VIRTIO: ${dev##*/} device=$id driver=${driver##*/}"
done
names=""
for entry in /sys/block/*; do
	[ -e "$entry" ] && names="$names${entry##*/} "
done
echo "VMM-STOCK-BLOCK: $names"
case " $cmdline " in
*" vmmstock.disk=1 "*)
	if [ -b /dev/vda ]; then
		read -r sectors </sys/block/vda/size
		read -r marker </dev/vda
		echo "VMM-STOCK-VDA: yes sectors=$sectors first-line=$marker"
	else
		echo "VMM-STOCK-VDA: no"
	fi
	;;
esac

# The input device named "Power Button" (the ACPI button driver's; /dev/input/eventN).
power_button_event() {
	for dev in /sys/class/input/event*; do
		[ -r "$dev/device/name" ] || continue
		read -r name <"$dev/device/name"
		if [ "$name" = "Power Button" ]; then
			echo "/dev/input/${dev##*/}"
			return 0
		fi
	done
	return 1
}

# Waits up to 120 s for PATH to exist (want=1) or to be gone (want=0), looking every 50 ms (the
# test times the hotplug from its request to /init's line); prints the seconds waited.
wait_path() {
	i=0
	while [ $i -lt 2400 ]; do
		if [ -e "$1" ]; then [ "$2" = 1 ] && break; else [ "$2" = 0 ] && break; fi
		sleep 0.05
		i=$((i + 1))
	done
	echo $((i / 20))
}

# The driver bound to the virtio device of type $1 (its sysfs "device": 0x0013 vsock, 0x001a fs,
# 0x001b pmem; virtio 1.2 5); false when there is none or it has no driver.
virtio_driver() {
	for dev in /sys/bus/virtio/devices/*; do
		[ -e "$dev/device" ] || continue
		read -r id <"$dev/device"
		[ "$id" = "$1" ] || continue
		d=$(readlink "$dev/driver" 2>/dev/null) || continue
		echo "${d##*/}"
		return 0
	done
	return 1
}

# As wait_path for a bound virtio device of type $1 (want $2: 1 there, 0 gone), every 200 ms.
wait_virtio() {
	i=0
	while [ $i -lt 600 ]; do
		if virtio_driver "$1" >/dev/null; then [ "$2" = 1 ] && break; else [ "$2" = 0 ] && break; fi
		sleep 0.2
		i=$((i + 1))
	done
	echo $((i / 5))
}

# vmmstock.hpvp=1: the hot-added vsock bound to its driver, /dev/pmem0 and its first line.
hotplug_vp_added() {
	t=$(wait_virtio 0x0013 1)
	if drv=$(virtio_driver 0x0013); then
		echo "VMM-STOCK-HOTPLUG-VSOCK: bound after ${t}s driver=$drv"
	else
		echo "VMM-STOCK-HOTPLUG-VSOCK: no vsock after ${t}s"
	fi
	t=$(wait_path /dev/pmem0 1)
	if [ -b /dev/pmem0 ]; then
		read -r mark </dev/pmem0
		echo "VMM-STOCK-HOTPLUG-PMEM: pmem0 after ${t}s first-line=$mark"
	else
		echo "VMM-STOCK-HOTPLUG-PMEM: no pmem0 after ${t}s"
	fi
}

hotplug_vp_removed() {
	t=$(wait_virtio 0x0013 0)
	virtio_driver 0x0013 >/dev/null && echo "VMM-STOCK-HOTPLUG-VSOCK-REMOVED: still there" ||
		echo "VMM-STOCK-HOTPLUG-VSOCK-REMOVED: gone after ${t}s"
	t=$(wait_path /dev/pmem0 0)
	[ -e /dev/pmem0 ] && echo "VMM-STOCK-HOTPLUG-PMEM-REMOVED: pmem0 still there" ||
		echo "VMM-STOCK-HOTPLUG-PMEM-REMOVED: pmem0 gone after ${t}s"
}

# vmmstock.hpfs=1: the hot-added virtio-fs device (type 0x001a) bound, its share (tag hpshare)
# mounted, read and written, then unmounted so that the device can go.
hotplug_fs_added() {
	t=$(wait_virtio 0x001a 1)
	if ! drv=$(virtio_driver 0x001a); then
		echo "VMM-STOCK-HOTPLUG-FS: no virtio-fs device after ${t}s"
		return
	fi
	mkdir -p /mnt/hpfs
	# The driver's sysfs link comes before its probe ends, and virtio_fs registers the tag at
	# the probe's end: a mount at once can find no tag yet ("tag <hpshare> not found", seen in
	# the suite's run of 2026-11-27). So up to 10 tries, a second apart.
	tries=1
	until mount -t virtiofs hpshare /mnt/hpfs 2>/dev/null; do
		if [ "$tries" -ge 10 ]; then
			echo "VMM-STOCK-HOTPLUG-FS: bound after ${t}s driver=$drv, mount failed $tries times"
			return
		fi
		tries=$((tries + 1))
		sleep 1
	done
	read -r mark </mnt/hpfs/mark
	echo "VMM-STOCK-FS-FROM-GUEST-$$" >/mnt/hpfs/from-guest
	read -r back </mnt/hpfs/from-guest
	umount /mnt/hpfs
	echo "VMM-STOCK-HOTPLUG-FS: bound after ${t}s driver=$drv mark=$mark wrote=$back"
}

hotplug_fs_removed() {
	t=$(wait_virtio 0x001a 0)
	virtio_driver 0x001a >/dev/null && echo "VMM-STOCK-HOTPLUG-FS-REMOVED: still there" ||
		echo "VMM-STOCK-HOTPLUG-FS-REMOVED: gone after ${t}s"
}

# The kernel's info lines (a hot-added PCI function's BARs, a CPU coming up) land on the same
# serial console as /init's lines and can cut one in two ("VMM-STOCK-HOTPLU[ 12.25] pci ..."),
# which the test then never sees (linux_stock_hotplug, 2026-11-30): during hotplug the console
# shows warnings and worse only (console log level 5); dmesg keeps the rest.
quiet_console() {
	echo 5 >/proc/sys/kernel/printk
}

hotplug() {
	quiet_console
	slots=""
	for s in /sys/bus/pci/slots/*; do
		[ -e "$s" ] && slots="$slots${s##*/} "
	done
	echo "VMM-STOCK-SLOTS: $slots"
	net=0 vp=0 fs=0
	case " $cmdline " in *" vmmstock.hpnet=1 "*) net=1 ;; esac
	case " $cmdline " in *" vmmstock.hpvp=1 "*) vp=1 ;; esac
	case " $cmdline " in *" vmmstock.hpfs=1 "*) fs=1 ;; esac
	echo "VMM-STOCK-HOTPLUG: waiting"
	t=$(wait_path /sys/block/vdb 1)
	if [ -b /dev/vdb ]; then
		read -r sectors </sys/block/vdb/size
		echo "VMM-STOCK-HOTPLUG-ADDED: vdb after ${t}s sectors=$sectors"
		echo "VMM-STOCK-HOTPLUG-DATA-$$" >/tmp/line
		dd if=/tmp/line of=/dev/vdb bs=512 count=1 conv=sync,fsync 2>/dev/null
		echo 3 >/proc/sys/vm/drop_caches
		read -r back </dev/vdb
		echo "VMM-STOCK-HOTPLUG-RW: $back"
	else
		echo "VMM-STOCK-HOTPLUG-ADDED: no vdb after ${t}s"
	fi
	if [ $net = 1 ]; then
		t=$(wait_path /sys/class/net/eth0 1)
		if [ -e /sys/class/net/eth0 ]; then
			read -r mac </sys/class/net/eth0/address
			echo "VMM-STOCK-HOTPLUG-NET: eth0 after ${t}s mac=$mac"
		else
			echo "VMM-STOCK-HOTPLUG-NET: no eth0 after ${t}s"
		fi
	fi
	[ $vp = 1 ] && hotplug_vp_added
	[ $fs = 1 ] && hotplug_fs_added
	echo "VMM-STOCK-HOTPLUG: ready to remove"
	t=$(wait_path /sys/block/vdb 0)
	[ -e /sys/block/vdb ] && echo "VMM-STOCK-HOTPLUG-REMOVED: vdb still there after ${t}s" ||
		echo "VMM-STOCK-HOTPLUG-REMOVED: vdb gone after ${t}s"
	if [ $net = 1 ]; then
		t=$(wait_path /sys/class/net/eth0 0)
		[ -e /sys/class/net/eth0 ] && echo "VMM-STOCK-HOTPLUG-NET-REMOVED: eth0 still there" ||
			echo "VMM-STOCK-HOTPLUG-NET-REMOVED: eth0 gone after ${t}s"
	fi
	[ $vp = 1 ] && hotplug_vp_removed
	[ $fs = 1 ] && hotplug_fs_removed
	echo "VMM-STOCK-HOTPLUG: waiting again"
	t=$(wait_path /sys/block/vdb 1)
	if [ -b /dev/vdb ]; then
		read -r back </dev/vdb
		echo "VMM-STOCK-HOTPLUG-AGAIN: vdb after ${t}s first-line=$back"
	else
		echo "VMM-STOCK-HOTPLUG-AGAIN: no vdb after ${t}s"
	fi
	case " $cmdline " in *" vmmstock.hprmboot=1 "*) ;; *) return ;; esac
	echo "VMM-STOCK-HOTPLUG: remove the boot disk"
	t=$(wait_path /sys/block/vda 0)
	[ -e /sys/block/vda ] && echo "VMM-STOCK-HOTPLUG-BOOT-REMOVED: vda still there" ||
		echo "VMM-STOCK-HOTPLUG-BOOT-REMOVED: vda gone after ${t}s"
}

count_cpus() {
	n=0
	while read -r key rest; do
		[ "$key" = processor ] && n=$((n + 1))
	done </proc/cpuinfo
	read -r on </sys/devices/system/cpu/online
	read -r present </sys/devices/system/cpu/present
	echo "cpuinfo=$n online=$on present=$present"
}

# Waits for cpu1, onlines it, prints KEY's line.
cpu1_up() {
	t=$(wait_path /sys/devices/system/cpu/cpu1/online 1)
	if [ -e /sys/devices/system/cpu/cpu1/online ]; then
		echo 1 >/sys/devices/system/cpu/cpu1/online
		read -r o </sys/devices/system/cpu/cpu1/online
		echo "VMM-STOCK-$1: cpu1 after ${t}s cpu1-online=$o $(count_cpus)"
	else
		echo "VMM-STOCK-$1: no cpu1 after ${t}s $(count_cpus)"
	fi
}

vcpuhp() {
	quiet_console
	read -r possible </sys/devices/system/cpu/possible
	echo "VMM-STOCK-VCPUHP-START: possible=$possible $(count_cpus)"
	echo "VMM-STOCK-VCPUHP: waiting"
	cpu1_up VCPUHP-ADDED
	echo "VMM-STOCK-VCPUHP: ready to remove"
	t=$(wait_path /sys/devices/system/cpu/cpu1 0)
	[ -e /sys/devices/system/cpu/cpu1 ] &&
		echo "VMM-STOCK-VCPUHP-REMOVED: cpu1 still there after ${t}s $(count_cpus)" ||
		echo "VMM-STOCK-VCPUHP-REMOVED: cpu1 gone after ${t}s $(count_cpus)"
	echo "VMM-STOCK-VCPUHP: waiting again"
	cpu1_up VCPUHP-AGAIN
}

# vmmstock.efivar=set:TOKEN|check: the test's UEFI variable through efivarfs (no pipelines).
efivar() {
	vars=/sys/firmware/efi/efivars
	name=$vars/VmmTest-6d6d7600-7661-7273-8000-000000000001
	if [ ! -d /sys/firmware/efi ]; then
		echo "VMM-STOCK-EFIVAR: no EFI"
		return
	fi
	mount -t efivarfs efivarfs $vars 2>/dev/null
	value=""
	if [ -e "$name" ]; then
		# 4 bytes of attributes, then the value
		dd if="$name" of=/tmp/efivar bs=1 skip=4 2>/dev/null
		read -r value </tmp/efivar
		echo "VMM-STOCK-EFIVAR: before $value"
	else
		echo "VMM-STOCK-EFIVAR: before none"
	fi
	case "$1" in set:*)
		# a boot after a reboot (vmmstock.reboot=once) finds it set: efivarfs keeps the file
		# immutable, and there is nothing to write
		if [ "$value" = "VMM-EFIVAR-${1#set:}" ]; then
			echo "VMM-STOCK-EFIVAR: set already"
			return
		fi
		# attributes 7: non-volatile, boot-service and run-time access (one write: printf's)
		printf '\007\000\000\000VMM-EFIVAR-%s' "${1#set:}" >"$name"
		echo "VMM-STOCK-EFIVAR: set status $?"
		;;
	esac
}

for word in $cmdline; do
	case "$word" in vmmstock.efivar=*) efivar "${word#vmmstock.efivar=}" ;; esac
done

# vmmstock.reboot=once: reset once, the mark on the disk saying which boot this is.
reboot_once() {
	dd if=/dev/vda of=/tmp/mark bs=512 skip=1 count=1 2>/dev/null
	read -r mark </tmp/mark
	if [ "$mark" = VMM-STOCK-REBOOTED ]; then
		echo "VMM-STOCK-REBOOT: second boot"
		return
	fi
	echo VMM-STOCK-REBOOTED >/tmp/mark
	dd if=/tmp/mark of=/dev/vda bs=512 seek=1 count=1 conv=sync,fsync 2>/dev/null
	echo "VMM-STOCK-REBOOT: first boot, mark written (status $?), rebooting"
	reboot -f
	while :; do sleep 60; done
}
case " $cmdline " in *" vmmstock.reboot=once "*) reboot_once ;; esac

case " $cmdline " in
*" vmmstock.end=vcpuhp "*)
	vcpuhp
	echo "VMM-STOCK-END: poweroff"
	poweroff -f
	;;
*" vmmstock.end=hotplug "*)
	hotplug
	echo "VMM-STOCK-END: poweroff"
	poweroff -f
	;;
*" vmmstock.end=button "*)
	if ev=$(power_button_event); then
		echo "VMM-STOCK-BUTTON: waiting on $ev"
		# One struct input_event (24 bytes on x86-64): type and code at offset 16.
		dd if="$ev" of=/tmp/event bs=24 count=1 2>/dev/null
		echo "VMM-STOCK-BUTTON: event type,code,value=$(od -An -tu2 -j16 -N4 /tmp/event)" \
			"$(od -An -tu4 -j20 -N4 /tmp/event)"
	else
		echo "VMM-STOCK-BUTTON: no input device named Power Button"
	fi
	echo "VMM-STOCK-END: poweroff"
	poweroff -f
	;;
*" vmmstock.end=poweroff "*)
	echo "VMM-STOCK-END: poweroff"
	poweroff -f
	;;
*)
	echo "VMM-STOCK-END: reboot"
	reboot -f
	;;
esac
# PID 1 must never exit (the kernel would panic): wait for the reset or the power-off.
while :; do sleep 60; done
