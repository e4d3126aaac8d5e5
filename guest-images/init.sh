#!/bin/sh
# /init of the project's default guest (busybox sh). Also /sbin/init on the
# disk image, so `root=/dev/vda` boots the same script.
#
# Kernel command-line parameters it reads (unknown `x.y=` parameters are
# ignored by the kernel and show up in /proc/cmdline):
#   vmmguest.shell=1        open a shell on the console instead of ending
#   vmmguest.end=reboot     (default) `reboot -f`: with reboot=k the kernel
#                           pulses the i8042 reset line (port 0x64, 0xfe),
#                           then falls back to a triple fault; QEMU exits
#                           with -no-reboot
#   vmmguest.end=poweroff   `poweroff -f`: without ACPI there is no power-off
#                           device, the kernel halts every CPU (HLT, IF=0)
#   vmmguest.end=debugexit:N  write byte N to port 0xf4 (QEMU isa-debug-exit,
#                           VMM --debug-exit): exit status (N<<1)|1
#
# Every line meant for tests starts with "VMM-GUEST-".

export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev

echo "VMM-GUEST-INIT: ok"

cmdline_value() {
	# shellcheck disable=SC2013 # the command line is one line of words
	for arg in $(cat /proc/cmdline); do
		case "$arg" in
		"$1"=*) echo "${arg#*=}" ;;
		esac
	done
}

show_list() {
	# $1 = label, $2 = directory whose entries are listed
	if [ -d "$2" ]; then
		# shellcheck disable=SC2012 # sysfs names are plain
		echo "VMM-GUEST-$1: $(ls "$2" | tr '\n' ' ')"
	else
		echo "VMM-GUEST-$1: (none)"
	fi
}

echo "VMM-GUEST-CMDLINE: $(cat /proc/cmdline)"
echo "VMM-GUEST-CPUS: $(grep -c ^processor /proc/cpuinfo)"
echo "VMM-GUEST-MEM: $(grep MemTotal /proc/meminfo | tr -s ' ')"
show_list BLOCK /sys/block
show_list NET /sys/class/net

# Virtio device IDs (virtio 1.2 section 5): 1 net, 2 block, 3 console, 4 rng.
for dev in /sys/bus/virtio/devices/*; do
	[ -e "$dev/device" ] || continue
	echo "VMM-GUEST-VIRTIO: $(basename "$dev") device=$(cat "$dev/device")" \
		"vendor=$(cat "$dev/vendor")" \
		"driver=$(basename "$(readlink "$dev/driver" 2>/dev/null)" 2>/dev/null)"
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

for ifc in /sys/class/net/*; do
	[ -e "$ifc/address" ] || continue
	echo "VMM-GUEST-NETADDR: $(basename "$ifc") $(cat "$ifc/address")" \
		"$(ip -4 -o addr show dev "$(basename "$ifc")" 2>/dev/null | awk '{print $4}')"
done

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

if [ "$(cmdline_value vmmguest.shell)" = 1 ]; then
	echo "VMM-GUEST-SHELL: starting"
	setsid cttyhack sh
fi

end="$(cmdline_value vmmguest.end)"
echo "VMM-GUEST-END: ${end:-reboot}"
case "$end" in
poweroff) poweroff -f ;;
debugexit:*)
	# One byte to I/O port 0xf4 (244) through /dev/port.
	code="${end#debugexit:}"
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
