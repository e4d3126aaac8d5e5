#!/bin/sh
# /usr/local/sbin/vmm-debian-check: once systemd says the boot has finished, one line per fact
# on the console, each "VMM-DEBIAN-KEY: value", then "VMM-DEBIAN-DONE". With vmmdebian.poweroff
# on the kernel command line it then powers the machine off (systemctl poweroff).
say() { printf 'VMM-DEBIAN-%s: %s\n' "$1" "$2"; }

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
if grep -qw vmmdebian.poweroff /proc/cmdline; then
	say END poweroff
	systemctl poweroff --no-block
fi
