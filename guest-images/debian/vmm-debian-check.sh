#!/bin/sh
# /usr/local/sbin/vmm-debian-check: once systemd says the boot has finished, one line per fact
# on the console, each "VMM-DEBIAN-KEY: value", then "VMM-DEBIAN-DONE". With vmmdebian.poweroff
# on the kernel command line it then powers the machine off (systemctl poweroff). With
# vmmdebian.hotplug=KINDS (disk,net,vsock,pmem,fs,cpu: what the host will hot-add) it first waits for
# the VMM's hotplug and reports what udev made of each device: see hotplug() below.
say() { printf 'VMM-DEBIAN-%s: %s\n' "$1" "$2"; }

# The value of vmmdebian.NAME= on the kernel command line, empty when absent.
param() { tr ' ' '\n' </proc/cmdline | sed -n "s/^vmmdebian\.$1=//p" | head -1; }
# Seconds since the kernel started; since T: seconds from T to now, one decimal.
up() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v t="$1" -v n="$(up)" 'BEGIN { printf "%.1f", n - t }'; }
# after SECONDS: the uptime SECONDS from now (whole seconds).
after() { awk -v n="$(up)" -v s="$1" 'BEGIN { printf "%d", n + s }'; }
# wait_until END CMD...: true once CMD succeeds (asked every half second), false from uptime END.
wait_until() {
	wu_end=$1
	shift
	until "$@"; do
		[ "$(up | cut -d. -f1)" -lt "$wu_end" ] || return 1
		sleep 0.5
	done
}
# What udev recorded for a device (udevadm info's properties), those named by the regex $2.
props() { udevadm info -q property "$1" 2>&1 | grep -E "^($2)=" | tr '\n' ' '; }

# The NIC with the host's MAC once udev renamed it (the kernel's ethN becomes a predictable en*).
hp_iface() {
	for f in /sys/class/net/*/address; do
		[ "$(cat "$f" 2>/dev/null)" = "$hp_mac" ] || continue
		f=${f%/address}
		case ${f##*/} in en*) echo "${f##*/}" && return 0 ;; esac
	done
	return 1
}
# The virtio device the vsock driver took (loaded by udev from the device's modalias).
hp_vsock() {
	for d in /sys/bus/virtio/devices/*; do
		[ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" = vmw_vsock_virtio_transport ] &&
			echo "${d##*/}" && return 0
	done
	return 1
}
# true while a virtio vsock device (id 0x0013) is on the bus.
vsock_present() { grep -qx 0x0013 /sys/bus/virtio/devices/*/device 2>/dev/null; }
# The virtio-fs device (id 0x001a) once the virtiofs driver (loaded by udev) took it.
hp_fs() {
	for d in /sys/bus/virtio/devices/*; do
		[ "$(cat "$d/device" 2>/dev/null)" = 0x001a ] || continue
		[ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" = virtiofs ] && echo "${d##*/}" && return 0
	done
	return 1
}
fs_gone() { ! grep -qx 0x001a /sys/bus/virtio/devices/*/device 2>/dev/null; }
# The hot-added vCPU: the host grows the VM from 2 to 3 vCPUs, cpu2 arrives (ACPI).
cpu_present() { [ -e /sys/devices/system/cpu/cpu2 ]; }
cpu_online() { [ "$(cat /sys/devices/system/cpu/cpu2/online 2>/dev/null)" = 1 ]; }
cpu_gone() { ! cpu_present; }
cpus() { echo "cpuinfo=$(grep -c ^processor /proc/cpuinfo) online=$(cat /sys/devices/system/cpu/online) present=$(cat /sys/devices/system/cpu/present)"; }
has() {
	case ",$hp," in
	*",$1,"*) return 0 ;;
	*) return 1 ;;
	esac
}
disk_gone() { [ ! -e "$hp_link" ] && [ ! -L "$hp_link" ] && [ ! -L /dev/disk/by-label/vmmhp ]; }
iface_gone() { [ ! -e "/sys/class/net/$hp_name" ]; }
vsock_gone() { ! vsock_present; }
pmem_gone() { [ ! -e /dev/pmem0 ]; }
settle() { udevadm settle --timeout=60 2>/dev/null; }
# mark VAR TEST...: true when VAR is set, or sets it to the seconds since $t0 once TEST succeeds.
mark() {
	eval "[ -n \"\${$1:-}\" ]" && return 0
	mk_var=$1
	shift
	"$@" >/dev/null 2>&1 || return 1
	eval "$mk_var=$(since "$t0")"
}
# true once every device asked for is there (a_KIND: when each came), ...
all_added() {
	aa=0
	has disk && { mark a_disk test -b "$hp_link" || aa=1; }
	has net && { mark a_net hp_iface || aa=1; }
	has vsock && { mark a_vsock hp_vsock || aa=1; }
	has pmem && { mark a_pmem test -b /dev/pmem0 || aa=1; }
	has fs && { mark a_fs hp_fs || aa=1; }
	has cpu && { mark a_cpu cpu_present || aa=1; }
	return $aa
}
# ... and gone again (r_KIND: when each went).
all_removed() {
	ar=0
	has disk && { mark r_disk disk_gone || ar=1; }
	has net && [ -n "${hp_name:-}" ] && { mark r_net iface_gone || ar=1; }
	has vsock && { mark r_vsock vsock_gone || ar=1; }
	has pmem && { mark r_pmem pmem_gone || ar=1; }
	has fs && { mark r_fs fs_gone || ar=1; }
	has cpu && { mark r_cpu cpu_gone || ar=1; }
	return $ar
}
# removed KEY SECONDS WHAT: says whether WHAT went (SECONDS: when, empty if not).
removed() {
	if [ -n "$2" ]; then
		say "HOTPLUG-$1" "gone after $2s: $3"
	else
		say "HOTPLUG-$1" "still there after $(since "$t0")s: $3"
	fi
}
# The modules of $@ that are loaded.
loaded() { for m in "$@"; do [ -d "/sys/module/$m" ] && printf '%s ' "$m"; done; }

# The hotplug of tests/integration/linux/linux_debian.sh: "VMM-DEBIAN-HOTPLUG: ready", then the
# host hot-adds a disk with serial vmmdebian.hpserial= (an ext4 labelled vmmhp, holding
# /marker), a NIC with MAC vmmdebian.hpmac=, a vsock and a pmem device (its first line a
# marker), a shared folder (virtio-fs, tag vmmdebian.hpfstag=, holding a file "mark") and a
# third vCPU (cpu2), as KINDS says; each is looked for (240 s for all) and reported with what
# udev made of it: the disk's /dev/disk/by-id/virtio-SERIAL and by-label links and properties,
# the NIC's predictable name and its properties and networkd's state, the vsock, pmem and
# virtiofs drivers udev loaded (they are modules), the share mounted, its mark read and a file
# "from-guest" written for the host, cpu2 onlined by Debian's own rules or else by hand (which
# one is said) and /proc/cpuinfo's count. "VMM-DEBIAN-HOTPLUG: ready to remove", the host
# removes them all and gives the vCPU back, and each must go (180 s for all): the links udev
# made gone with it, cpu2 offlined and ejected. Last, the events udev sent out meanwhile
# (udevadm monitor: block, net, virtio, cpu), one line each, and the kernel's lines on the
# slots and new devices (its console notes are held back meanwhile).
hotplug() {
	hp=$1
	hp_serial=$(param hpserial)
	hp_mac=$(param hpmac)
	hp_link=/dev/disk/by-id/virtio-$hp_serial
	stdbuf -oL udevadm monitor --udev --subsystem-match=block --subsystem-match=net \
		--subsystem-match=virtio --subsystem-match=cpu >/run/vmm-hotplug.udev 2>&1 &
	mon=$!
	sleep 2 # the monitor subscribes
	# The kernel's notes on the console (a new PCI device, its BARs, "[vdb] ... blocks") could
	# land inside these lines: only its warnings and errors meanwhile (an ACPI error still shows).
	printk=$(cut -f1 /proc/sys/kernel/printk)
	echo 5 >/proc/sys/kernel/printk
	t0=$(up)
	hp_t0=$t0
	say HOTPLUG ready
	# Each device's arrival timed on its own (the host adds them one after the other), then
	# each looked at.
	wait_until "$(after 240)" all_added
	if has disk; then
		if [ -n "${a_disk:-}" ]; then
			settle
			dev=$(readlink -f "$hp_link")
			say HOTPLUG-DISK "$hp_link -> $dev after ${a_disk}s sectors=$(cat "/sys/class/block/${dev#/dev/}/size")"
			say HOTPLUG-DISK-UDEV "$(props "$dev" 'ID_SERIAL|ID_PATH|ID_FS_TYPE|ID_FS_LABEL')"
			say HOTPLUG-DISK-LABEL "/dev/disk/by-label/vmmhp -> $(readlink -f /dev/disk/by-label/vmmhp)"
			if mount -o ro /dev/disk/by-label/vmmhp /mnt 2>/dev/null; then
				say HOTPLUG-DISK-READ "$(head -1 /mnt/marker)"
				umount /mnt
			else
				say HOTPLUG-DISK-READ "mount failed"
			fi
		else
			say HOTPLUG-DISK "none after $(since "$t0")s (no $hp_link)"
		fi
	fi
	if has net; then
		if [ -n "${a_net:-}" ]; then
			settle
			hp_name=$(hp_iface)
			say HOTPLUG-NET "$hp_name after ${a_net}s mac=$hp_mac"
			say HOTPLUG-NET-UDEV "$(props "/sys/class/net/$hp_name" 'ID_NET_DRIVER|ID_NET_NAME_[A-Z]+|ID_NET_LINK_FILE|ID_PATH')"
			# networkd takes a link once udev has initialized it (20-dhcp.network: DHCP on en*,
			# the host's tap has no DHCP server: "configuring").
			wait_until "$(after 60)" sh -c "networkctl list --no-legend --no-pager $hp_name | grep -qv pending"
			say HOTPLUG-NET-NETWORKD "$(networkctl list --no-legend --no-pager "$hp_name" | awk '{ print $2, $4, $5 }')"
		else
			say HOTPLUG-NET "none after $(since "$t0")s (no en* NIC with MAC $hp_mac)"
		fi
	fi
	if has vsock; then
		if [ -n "${a_vsock:-}" ]; then
			say HOTPLUG-VSOCK "$(hp_vsock) after ${a_vsock}s driver=vmw_vsock_virtio_transport $(ls /dev/vsock 2>&1)"
		else
			say HOTPLUG-VSOCK "none after $(since "$t0")s (no virtio device bound to vmw_vsock_virtio_transport)"
		fi
	fi
	if has pmem; then
		if [ -n "${a_pmem:-}" ]; then
			settle
			say HOTPLUG-PMEM "pmem0 after ${a_pmem}s first-line=$(head -c 64 /dev/pmem0 | head -1)"
			say HOTPLUG-PMEM-UDEV "$(props /dev/pmem0 'ID_PATH|DEVTYPE') modules=$(loaded virtio_pmem nd_pmem)"
		else
			say HOTPLUG-PMEM "none after $(since "$t0")s (no /dev/pmem0)"
		fi
	fi
	if has fs; then
		if [ -n "${a_fs:-}" ]; then
			settle
			tag=$(param hpfstag)
			mkdir -p /run/vmm-hpfs
			if mount -t virtiofs "$tag" /run/vmm-hpfs 2>/dev/null; then
				fs_mark=$(head -1 /run/vmm-hpfs/mark 2>/dev/null)
				wrote=vmm-debian-from-guest-$(cat /proc/sys/kernel/random/boot_id)
				echo "$wrote" >/run/vmm-hpfs/from-guest 2>/dev/null || wrote=none
				[ "$(head -1 /run/vmm-hpfs/from-guest 2>/dev/null)" = "$wrote" ] || wrote=none
				umount /run/vmm-hpfs && fs_state=unmounted || fs_state="umount failed"
			else
				fs_mark="mount -t virtiofs $tag failed" wrote=none fs_state=
			fi
			say HOTPLUG-FS "$(hp_fs) after ${a_fs}s driver=virtiofs modules=$(loaded virtiofs fuse)"
			say HOTPLUG-FS-MOUNT "tag=$tag mark=$fs_mark wrote=$wrote $fs_state"
		else
			say HOTPLUG-FS "none after $(since "$t0")s (no virtio-fs device bound to virtiofs)"
		fi
	fi
	if has cpu; then
		if [ -n "${a_cpu:-}" ]; then
			settle
			# Does Debian online it by itself (a udev rule, the kernel)? Ten seconds to do it.
			if wait_until "$(after 10)" cpu_online; then
				by=debian
			else
				by=hand
				echo 1 >/sys/devices/system/cpu/cpu2/online 2>/dev/null
			fi
			say HOTPLUG-CPU "cpu2 after ${a_cpu}s online-by=$by cpu2-online=$(cat /sys/devices/system/cpu/cpu2/online 2>/dev/null) $(cpus)"
		else
			say HOTPLUG-CPU "none after $(since "$t0")s (no /sys/devices/system/cpu/cpu2) $(cpus)"
		fi
	fi
	t0=$(up)
	say HOTPLUG "ready to remove"
	wait_until "$(after 180)" all_removed
	has disk && removed DISK-REMOVED "${r_disk:-}" "$hp_link, /dev/disk/by-label/vmmhp"
	has net && [ -n "${hp_name:-}" ] && removed NET-REMOVED "${r_net:-}" "$hp_name"
	has vsock && removed VSOCK-REMOVED "${r_vsock:-}" "the vsock device"
	has pmem && removed PMEM-REMOVED "${r_pmem:-}" /dev/pmem0
	has fs && removed FS-REMOVED "${r_fs:-}" "the virtio-fs device"
	has cpu && removed CPU-REMOVED "${r_cpu:-}" "cpu2 $(cpus)"
	settle
	kill "$mon" 2>/dev/null
	wait "$mon" 2>/dev/null
	# "UDEV  [12.345] add      /devices/.../block/vdb (block)": the action, subsystem, name.
	awk '$1 == "UDEV" && $2 ~ /^\[/ { n = split($4, p, "/"); s = $5; gsub(/[()]/, "", s); print $3, s, p[n] }' \
		/run/vmm-hotplug.udev | while read -r line; do say HOTPLUG-UDEV "$line"; done
	echo "$printk" >/proc/sys/kernel/printk
	# What the kernel said of the new devices, the slots (acpiphp) and cpu2 since "ready", now
	# that all is quiet.
	dmesg 2>/dev/null | awk -v t="$hp_t0" '{ s = $0; sub(/^\[ */, "", s); if (s + 0 >= t) print }' |
		grep -E 'acpiphp|pci 0000:00:[0-9a-f]{2}\.0: \[1af4|CPU ?2' | head -12 |
		while read -r line; do say HOTPLUG-KMSG "$line"; done
	say HOTPLUG "done"
}

# "running" or "degraded"; it returns when the boot's jobs are done.
state=$(systemctl is-system-running --wait 2>&1)
# The getty's prompt may be the console's last line, with no newline after it.
echo
say STATE "$state"
say TARGET "multi-user.target $(systemctl is-active multi-user.target)"
failed=$(systemctl --failed --plain --no-legend --no-pager | awk '{ printf "%s ", $1 }')
say FAILED "${failed:-none}"
say KERNEL "$(uname -r)"
say CPUS "$(nproc) online=$(cat /sys/devices/system/cpu/online)"
say ROOT "$(findmnt -n -r -o SOURCE,FSTYPE,OPTIONS /)"
# Each virtio device, its driver and its transport (the path of its parent device).
for d in /sys/bus/virtio/devices/*; do
	[ -e "$d" ] || continue
	drv=$(basename "$(readlink "$d/driver")")
	case $(readlink -f "$d") in
	*/pci*) via=pci ;;
	*) via=mmio ;;
	esac
	say VIRTIO "$(basename "$d") $drv $via"
done
# DHCP: networkd may still be waiting for its lease when the boot has finished.
/lib/systemd/systemd-networkd-wait-online --any -4 --timeout=60 >/dev/null 2>&1
say IPV4 "$(ip -4 -o addr show scope global | awk '{ printf "%s %s ", $2, $4 }')"
say ROUTE "$(ip -4 route show default | head -1)"
systemd-analyze time 2>&1 | head -1 | while read -r line; do say ANALYZE "$line"; done
systemd-analyze blame --no-pager 2>&1 | head -5 | while read -r line; do say BLAME "$line"; done
say DONE "$(cut -d' ' -f1 /proc/uptime) s after the kernel started"
hp=$(param hotplug)
[ -z "$hp" ] || hotplug "$hp"
# The serial getty's prompt before the power-off: its unit is Type=idle, so under QEMU's TCG
# agetty can still be starting when the boot's jobs are done, and a power-off then takes it
# down before it printed (the suite's run found no prompt on an otherwise complete console).
# agetty prints its prompt, then waits for a name: read(2), or select(2)/poll(2) on the line
# (the syscall number /proc/PID/syscall starts with). Up to 60 s. The line: the command line's
# last console= (x86: ttyS0, arm64: ttyAMA0); the calls' numbers: x86_64's read, poll, select,
# pselect6, ppoll, arm64's read, pselect6, ppoll (it has no poll or select).
gw_tty=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^console=\([^,]*\).*/\1/p' | tail -1)
gw_tty=${gw_tty:-ttyS0}
case $(uname -m) in
aarch64) gw_calls="63 72 73" ;;
*) gw_calls="0 7 23 270 271" ;;
esac
getty_waits() {
	for gw_d in /proc/[0-9]*; do
		[ "$(cat "$gw_d/comm" 2>/dev/null)" = agetty ] || continue
		# its line is its standard input (serial-getty@.service: TTYPath=, the argument "-")
		[ "$(readlink "$gw_d/fd/0" 2>/dev/null)" = "/dev/$gw_tty" ] || continue
		read -r gw_nr _ <"$gw_d/syscall" 2>/dev/null || continue
		case " $gw_calls " in *" $gw_nr "*) return 0 ;; esac
	done
	return 1
}
if grep -qw vmmdebian.poweroff /proc/cmdline; then
	gw_t0=$(up)
	if wait_until "$(after 60)" getty_waits; then
		say GETTY "waiting for a name on $gw_tty ($(since "$gw_t0") s after the check's end)"
	else
		say GETTY "not waiting on $gw_tty after 60 s"
	fi
	say END poweroff
	systemctl poweroff --no-block
fi
