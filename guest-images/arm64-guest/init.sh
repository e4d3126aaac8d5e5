#!/bin/sh
# shellcheck shell=dash
# /init of the arm64 test guest (guest-images/arm64-guest.sh; busybox sh on Debian's stock
# linux-image-cloud-arm64). It loads the kernel package's virtio modules, prints what the guest
# sees as VMMTEST lines on the console (the format: arm64-guest.sh's header; the parser:
# tests/integration/framework/vmmtest.py), then powers the machine off (PSCI SYSTEM_OFF: the VMM
# and QEMU exit 0).
#
# Kernel command line:
#   vmmtest=checks     (the default) every check, then the end action
#   vmmtest=shell      every check, then a shell on the console; its exit is the end action
#   vmmtest=poweroff   no checks: begin, modules and end lines only (the shortest boot)
#   vmmtest.end=poweroff|reboot   `poweroff -f` (default) or `reboot -f` (PSCI SYSTEM_RESET;
#                      QEMU with -no-reboot and the VMM exit)
#   vmmtest.dhcp=0     no DHCP (a NIC without a DHCP server: udhcpc would wait ~4 s)
#   vmmtest.write=1    also write "VMMTEST-GUEST-WROTE" into the second sector of each disk
#                      (synced, read back; the test then finds it in its image)
#   vmmtest.fs=TAG[,TAG...]  mount each virtio-fs share TAG at /mnt/TAG, read the host's
#                      marker and data.bin, copy data.bin to data-copy.bin, write from-guest
#                      ("VMMTEST fs TAG ..."; the test then finds both in the shared folder)
#   vmmtest.netpause=MAC  after the NIC with this MAC sent its frames ("VMMTEST netcount"), say
#                      "VMMTEST netpause NAME" and wait (up to 120 s) for a line on the console
#                      (the test restarts that NIC's vhost-user back-end meanwhile), then send
#                      frames again: "VMMTEST netagain NAME rx=N tx=N"
#   vmmtest.pause=1    after the modules, say "VMMTEST pause" and wait (up to 600 s) for a line
#                      on the console before the checks: a test snapshots the VM meanwhile and
#                      sends the line to the restored one ("VMMTEST resumed line=...")
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

/bin/busybox mount -t proc proc /proc
# The applet links: made here, not in the archive, because the x86 build host cannot run this
# arm64 busybox to list them. (/bin/sh, which runs this script, is the archive's one link.)
/bin/busybox --install -s
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /run /tmp
# Kernel messages share the console with our lines and can cut one in two: from here on only
# errors and worse go to the console (dmesg keeps the rest).
echo 4 >/proc/sys/kernel/printk

say() { echo "VMMTEST $*"; }
uptime_s() {
	read -r up _ </proc/uptime
	echo "$up"
}
# A sysfs or device-tree file's first line ("-" when absent); device-tree strings end in NUL.
value() {
	if [ -r "$1" ]; then tr -d '\000' <"$1" | head -n 1; else echo -; fi
}

mode=checks end=poweroff dhcp=1 write=0 pause=0 fs= netpause=
read -r cmdline </proc/cmdline
for word in $cmdline; do
	case $word in
	vmmtest=*) mode=${word#vmmtest=} ;;
	vmmtest.end=*) end=${word#vmmtest.end=} ;;
	vmmtest.dhcp=*) dhcp=${word#vmmtest.dhcp=} ;;
	vmmtest.write=*) write=${word#vmmtest.write=} ;;
	vmmtest.pause=*) pause=${word#vmmtest.pause=} ;;
	vmmtest.fs=*) fs=${word#vmmtest.fs=} ;;
	vmmtest.netpause=*) netpause=${word#vmmtest.netpause=} ;;
	esac
done
read -r release </proc/sys/kernel/osrelease
say "begin v=1 mode=$mode kernel=$release arch=$(uname -m) uptime=$(uptime_s)"

# ---- modules: the initramfs's load-order, dependencies first (arm64-guest.sh resolved it) ----
load_modules() {
	loaded=0 failed=0 names=
	while read -r path; do
		if insmod "/lib/modules/$release/$path" 2>/dev/null; then
			loaded=$((loaded + 1))
		else
			failed=$((failed + 1))
			m=${path##*/}
			names="$names${names:+,}${m%.ko}"
		fi
	done <"/lib/modules/$release/load-order"
	say "modules loaded=$loaded failed=$failed failed_names=$names"
}

# ---- CPUs, memory, PSCI ----
check_cpus() {
	n=0
	while read -r key _; do
		[ "$key" = processor ] && n=$((n + 1))
	done </proc/cpuinfo
	c=/sys/devices/system/cpu
	say "cpus count=$n online=$(value $c/online) present=$(value $c/present) possible=$(value $c/possible)"
	# what the kernel made of the ID registers (CPU templates): the first CPU's hwcaps
	while IFS=: read -r key val; do
		case $key in Features*) break ;; esac
	done </proc/cpuinfo
	# shellcheck disable=SC2086 # split into words on purpose
	set -- $val
	say "cpufeatures $(
		IFS=,
		echo "$*"
	)"
}

check_mem() {
	while read -r key kb _; do
		[ "$key" = MemTotal: ] && break
	done </proc/meminfo
	say "mem total_kb=$kb"
}

# The PSCI version the kernel found, its conduit and the secondaries' enable-method (device
# tree), then cpu1 taken down and up again: CPU_OFF and CPU_ON at run time, after the boot's.
check_psci() {
	version=$(dmesg | sed -n 's/.*psci: PSCIv\([0-9.]*\) detected.*/\1/p' | head -n 1)
	dt=/sys/firmware/devicetree/base
	line="psci version=${version:--} method=$(value $dt/psci/method)"
	line="$line enable_method=$(value $dt/cpus/cpu@1/enable-method)"
	cpu1=/sys/devices/system/cpu/cpu1/online
	off=- on=-
	if [ -w $cpu1 ]; then
		echo 0 >$cpu1 && off=$(value $cpu1)
		echo 1 >$cpu1 && on=$(value $cpu1)
	fi
	say "$line cpu1_off=$off cpu1_on=$on online=$(value /sys/devices/system/cpu/online)"
}

# ---- the clock ----
check_rtc() {
	r=/sys/class/rtc/rtc0
	if [ -r $r/since_epoch ]; then
		# its name is "DRIVER DEVICE": two words
		# shellcheck disable=SC2046
		set -- $(value $r/name)
		say "rtc rtc0 epoch=$(value $r/since_epoch) driver=${1:--} dev=${2:--} hctosys=$(value $r/hctosys) sys=$(date +%s)"
	else
		say "rtc none sys=$(date +%s)"
	fi
}

# ---- the clock's alarm: the PL031's match interrupt, on time ----
# Armed after the clock check, the last to read the RTC, and waited for after the other checks,
# which run meanwhile (an RTC read in between would fire it without a host timer). 2 s
# ahead: with "+1" a second could turn between the two reads of the clock that setting it makes,
# and the kernel then fires the alarm itself (-ETIME), without the device. Nothing here reads
# the RTC while waiting: a device that checks its match only at an access never fires.
# The interrupt count of the rtc-pl031 line in /proc/interrupts, all CPUs ("-": no such line).
rtc_irqs() {
	n=-
	while read -r _ counts; do
		case $counts in *rtc-pl031*) ;; *) continue ;; esac
		n=0
		for c in $counts; do
			case $c in *[!0-9]*) break ;; esac
			n=$((n + c))
		done
	done </proc/interrupts
	echo "$n"
}

alarm_arm() {
	alarm_set=- alarm_irqs=- alarm_t0=-
	[ -w /sys/class/rtc/rtc0/wakealarm ] || return
	alarm_irqs=$(rtc_irqs)
	alarm_t0=$(uptime_s)
	if echo +2 2>/dev/null >/sys/class/rtc/rtc0/wakealarm; then alarm_set=0; else alarm_set=1; fi
}

# Until the count rises, at most ~4 s from here.
alarm_wait() {
	if [ "$alarm_set" = - ]; then
		say "alarm none"
		return
	fi
	i=0
	after=$(rtc_irqs)
	while [ "$alarm_set" = 0 ] && [ "$after" = "$alarm_irqs" ] && [ $i -lt 40 ]; do
		sleep 0.1
		i=$((i + 1))
		after=$(rtc_irqs)
	done
	say "alarm rtc0 set=$alarm_set irqs=$alarm_irqs irqs_after=$after t0=$alarm_t0 t1=$(uptime_s)"
}

# ---- virtio devices: type, driver, and the transport device each hangs off ----
# "mmio" for a virtio-mmio window (a platform device "ADDR.virtio_mmio" from the device tree,
# "virtio-mmio.N" from the command line, "LNRO0005:NN" from ACPI), "pci" for a PCI function.
transport_of() {
	case $1 in
	????:??:??.?) echo pci ;;
	*virtio_mmio* | *virtio-mmio* | LNRO0005*) echo mmio ;;
	*) echo other ;;
	esac
}

# A PCI function's MSIs: " msi=N msi_chip=CHIP" (N its MSI/MSI-X interrupts, 0: INTx; CHIP the
# interrupt chip /proc/interrupts names for the first: the ITS's or the GICv2m's), or nothing.
msi_of() {
	[ -d "/sys/bus/pci/devices/$1" ] || return 0
	n=0 first=
	for i in "/sys/bus/pci/devices/$1"/msi_irqs/*; do
		[ -e "$i" ] || continue
		n=$((n + 1))
		[ -n "$first" ] || first=${i##*/}
	done
	chip=-
	if [ -n "$first" ]; then
		# the line "N: count per CPU... CHIP ...": the chip is the field after the CPUs'
		chip=$(awk -v irq="$first:" 'NR == 1 { cpus = NF } $1 == irq { print $(cpus + 2) }' \
			/proc/interrupts)
	fi
	echo " msi=$n msi_chip=${chip:--}"
}

check_virtio() {
	count=0
	for d in /sys/bus/virtio/devices/*; do
		[ -e "$d/device" ] || continue
		count=$((count + 1))
		parent=$(readlink -f "$d/..")
		parent=${parent##*/}
		drv=$(readlink "$d/driver")
		say "virtio ${d##*/} id=$(value "$d/device") driver=${drv##*/} on=$parent" \
			"transport=$(transport_of "$parent")$(msi_of "$parent")"
	done
	[ $count -gt 0 ] || say "virtio none"
}

# The virtio device (virtioN) under a block or net device's sysfs folder ("-" when none).
virtio_of() {
	v=$(readlink -f "$1/device")
	case ${v##*/} in virtio*) echo "${v##*/}" ;; *) echo - ;; esac
}

# ---- disks: size, and the first sector as a test wrote it (its MD5 and first 32 bytes) ----
check_blk() {
	count=0
	for b in /sys/block/vd*; do
		[ -e "$b" ] || continue
		count=$((count + 1))
		dev=/dev/${b##*/}
		read -r sectors <"$b/size"
		md5=$(dd if="$dev" bs=512 count=1 2>/dev/null | md5sum)
		head=$(dd if="$dev" bs=512 count=1 2>/dev/null | od -An -tx1 -N32 | tr -d ' \n')
		say "blk ${b##*/} size=$((sectors * 512)) ro=$(value "$b/ro") virtio=$(virtio_of "$b")" \
			"sector0_md5=${md5%% *} head=$head"
		[ "$write" = 1 ] && blk_write "$dev"
	done
	[ $count -gt 0 ] || say "blk none"
}

# vmmtest.write=1: a line into sector 1, synced, then read back past the page cache.
blk_write() {
	echo VMMTEST-GUEST-WROTE | dd of="$1" bs=512 seek=1 count=1 conv=sync,fsync 2>/dev/null
	status=$?
	echo 3 >/proc/sys/vm/drop_caches
	back=$(dd if="$1" bs=512 skip=1 count=1 2>/dev/null | head -n 1)
	say "blkwrite ${1#/dev/} status=$status readback=${back:--}"
}

# ---- NVMe controllers (a passed-through one: --device vfio=): serial, model, the PCI function
# and its MSIs, the first namespace's size; vmmtest.write=1: 1 MiB of a pattern written to that
# namespace (fsync) and read back past the page cache, both MD5s ----
check_nvme() {
	for c in /sys/class/nvme/nvme*; do
		[ -e "$c" ] || continue
		pci=$(readlink -f "$c/device")
		pci=${pci##*/}
		ns=
		for n in /sys/block/"${c##*/}"n*; do [ -e "$n" ] && [ -z "$ns" ] && ns=$n; done
		size=-
		[ -z "$ns" ] || size=$(($(value "$ns/size") * 512))
		say "nvme ${c##*/} serial=$(value "$c/serial" | tr -d ' ')" \
			"model=$(value "$c/model" | sed 's/ *$//' | tr ' ' _) pci=$pci$(msi_of "$pci")" \
			"ns=${ns##*/} size=$size"
		[ -n "$ns" ] && [ "$write" = 1 ] && nvme_write "/dev/${ns##*/}"
	done
}

nvme_write() {
	yes VMMTEST-NVME-PATTERN-0123456789 | head -c 1048576 >/tmp/nvme.pattern
	want=$(md5sum </tmp/nvme.pattern)
	dd if=/tmp/nvme.pattern of="$1" bs=65536 conv=fsync 2>/dev/null
	status=$?
	echo 3 >/proc/sys/vm/drop_caches
	back=$(dd if="$1" bs=65536 count=16 2>/dev/null | md5sum)
	say "nvmewrite ${1#/dev/} status=$status md5=${want%% *} back_md5=${back%% *}"
}

# ---- virtio-fs shares (vmmtest.fs=TAG,...): the host's files read, the guest's written ----
# Each step's status, and the first word of what was read ("-": nothing); unmounted at the end
# so that every FUSE request is answered before the power-off.
check_fs() {
	for tag in $(echo "$fs" | tr , ' '); do
		m=/mnt/$tag t0=$(uptime_s)
		mkdir -p "$m"
		mount -t virtiofs "$tag" "$m"
		mounted=$?
		marker=$(head -n 1 "$m/marker" 2>/dev/null)
		md5=$(md5sum "$m/data.bin" 2>/dev/null)
		cp "$m/data.bin" "$m/data-copy.bin" 2>/dev/null
		copy=$?
		echo "VMMTEST-GUEST-FS-WROTE-$tag" >"$m/from-guest" 2>/dev/null && sync
		wrote=$?
		back=$(head -n 1 "$m/from-guest" 2>/dev/null)
		[ "$mounted" = 0 ] && umount "$m"
		say "fs $tag mount=$mounted marker=${marker:--} data_md5=${md5%% *}" \
			"copy=$copy wrote=$wrote readback=${back:--} t0=$t0 t1=$(uptime_s)"
	done
}

# ---- NICs: link up, MAC, driver; DHCP on each when asked (udhcpc.script writes the lease) ----
check_net() {
	count=0
	for n in /sys/class/net/*; do
		name=${n##*/}
		[ "$name" = lo ] && continue
		count=$((count + 1))
		ip link set dev "$name" up
		drv=$(readlink "$n/device/driver")
		say "net $name mac=$(value "$n/address") mtu=$(value "$n/mtu") driver=${drv##*/}" \
			"virtio=$(virtio_of "$n")"
		[ "$dhcp" = 1 ] && run_dhcp "$name"
		# after DHCP: on a wire that loops frames back (a vhost-user back-end), rx grew
		say "netcount $name rx=$(value "$n/statistics/rx_packets")" \
			"tx=$(value "$n/statistics/tx_packets")"
		[ "$(value "$n/address")" = "$netpause" ] && net_again "$name"
	done
	ip link set dev lo up
	[ $count -gt 0 ] || say "net none"
}

# vmmtest.netpause: the host restarts the back-end while we wait; then frames must come back
net_again() {
	say "netpause $1 uptime=$(uptime_s)"
	line=-
	read -r -t 120 line
	udhcpc -i "$1" -f -q -n -t 2 -T 1 -s /bin/true >/dev/null 2>&1
	say "netagain $1 rx=$(value "/sys/class/net/$1/statistics/rx_packets")" \
		"tx=$(value "/sys/class/net/$1/statistics/tx_packets") line=${line:--}"
}

run_dhcp() {
	t0=$(uptime_s)
	# 4 discovers a second apart; -q: quit with the lease, -n: fail without one
	udhcpc -i "$1" -f -q -n -t 4 -T 1 -s /etc/udhcpc.script >/dev/null 2>&1
	if [ -s "/run/dhcp.$1" ]; then
		read -r lease <"/run/dhcp.$1"
		say "dhcp $1 $lease t0=$t0 t1=$(uptime_s)"
	else
		say "dhcp $1 error=no-lease t0=$t0 t1=$(uptime_s)"
	fi
}

# ---- virtio-console ports, the hardware RNG ----
check_console() {
	found=0
	for d in /sys/bus/virtio/devices/*; do
		[ "$(value "$d/device")" = 0x0003 ] && found=1
	done
	if [ $found = 0 ]; then
		say "hvc none"
		return
	fi
	# hvc0 is virtio-console's first console port (the hvc driver has eight minors whether or
	# not a port is behind them). A line to it, which the host's end sees; bounded, so that a
	# host end that does not read cannot hold up the checks.
	timeout 2 sh -c "echo 'VMMTEST hvc hvc0 from=guest' >/dev/hvc0" 2>/dev/null
	say "hvc hvc0 write=$?"
}

check_rng() {
	current=$(value /sys/class/misc/hw_random/rng_current)
	bytes=0
	if [ "$current" != - ] && [ "$current" != none ]; then
		bytes=$(timeout 5 dd if=/dev/hwrng bs=32 count=1 2>/dev/null | wc -c)
	fi
	say "rng current=$current bytes=$bytes"
}

finish() {
	sync
	say "end action=$end uptime=$(uptime_s)"
	case $end in
	reboot) reboot -f ;;
	*) poweroff -f ;;
	esac
	# PID 1 must not exit (the kernel would panic): wait for the power-off.
	while :; do sleep 60; done
}

# vmmtest.pause=1: wait for the host's line on the console (the console's line discipline hands
# it over at its newline).
wait_for_host() {
	say "pause uptime=$(uptime_s)"
	line=-
	read -r -t 600 line
	say "resumed line=${line:--} uptime=$(uptime_s)"
}

load_modules
[ "$pause" = 1 ] && wait_for_host
case $mode in
poweroff) finish ;;
esac
check_cpus
check_mem
check_psci
check_rtc
alarm_arm
check_virtio
check_blk
check_nvme
check_fs
check_net
check_console
check_rng
alarm_wait
if [ "$mode" = shell ]; then
	say "shell"
	setsid cttyhack sh -l
fi
finish
