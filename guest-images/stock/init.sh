#!/bin/sh
# /init of the stock-kernel initramfs (guest-images/stock.sh; busybox sh). It prints what Debian's
# stock cloud kernel sees (VMM-STOCK-* lines, grepped by tests/integration/linux/linux_stock.sh),
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

case " $cmdline " in
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
