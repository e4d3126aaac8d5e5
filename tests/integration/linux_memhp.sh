#!/usr/bin/env bash
# The default Linux guest (512 MiB, initramfs, shell on COM1) with a 1 GiB virtio-mem region,
# driven over --api-sock, the VMM's RSS read from the host (/proc/PID/status VmRSS):
#   1. Linux's virtio_mem driver binds the device (/sys/bus/virtio/drivers/virtio_mem);
#   2. PATCH /hotplug/memory {"requested_size_mib": 256}: GET shows plugged_size_mib follow to
#      256 and the guest's MemTotal grows by at least 200 MiB (memory onlined movable, so user
#      pages go there first);
#   3. awk in the guest touches 64 MB and frees it; PATCH 0: plugged_size_mib follows to 0 and the
#      VMM's RSS drops by at least 16 MiB;
#   4. plugging and unplugging 1 GiB, timed (printed for the notes).
# Passes on a kvm_pvm host (2026-11-24, 817 s while the rest of the suite ran).
# labels: slow linux api
# requires: kvm
# timeout: 1500
# resource: linux
. "$(dirname "${BASH_SOURCE[0]}")/linux_lib.sh"

TRANSPORT=${TRANSPORT:-mmio}
sock="$tmp/api.sock"
vmm_pid=""
sleeper=""
trap 'kill $sleeper 2>/dev/null; kill -9 $vmm_pid 2>/dev/null; rm -rf "$tmp"' EXIT

rss_mib() { awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$vmm_pid/status"; }

# plugged MIB: GET /hotplug/memory until plugged_size_mib is MIB; prints the seconds it took
plugged() {
	local t0 p="" i
	t0=$(date +%s.%N)
	for ((i = 0; i < 600; i++)); do
		api GET /hotplug/memory >/dev/null
		p=$(json_field plugged_size_mib)
		[ "$p" = "$1" ] && break
		sleep 0.5
	done
	if [ "$p" = "$1" ]; then
		echo "ok: plugged_size_mib followed to $1 in $(echo "$(date +%s.%N) - $t0" | bc) s"
	else
		echo "FAIL: plugged_size_mib is '$p', want $1: $(cat "$tmp/body")"
		fail=1
	fi
}

memtotal_kb() {
	local n=$1
	type_cmd "echo MEMTOTAL$n-\$(awk '/MemTotal/ {print \$2}' /proc/meminfo)-"
	wait_for "^MEMTOTAL$n-[0-9]+-" 60
	sed -n "s/^MEMTOTAL$n-\([0-9]*\)-.*/\1/p" "$tmp/log" | tail -1
}

rm -f "$sock"
mkfifo "$tmp/in"
sleep 1500 >"$tmp/in" &
sleeper=$!
"$VMM" --kernel "$VMLINUX" --initrd "$INITRAMFS" --mem 512M --api-sock "$sock" \
	--console stdio --transport "$TRANSPORT" --memory-hotplug total=1G \
	--append "$CMDLINE vmmguest.shell=1 vmmguest.dhcp=0 memhp_default_state=online_movable" \
	<"$tmp/in" >"$tmp/log" 2>"$tmp/err" &
vmm_pid=$!
if wait_for "VMM-GUEST-SHELL: starting" 1000; then
	sleep 2
	type_cmd 'echo MEM-DRV=$(ls /sys/bus/virtio/drivers/virtio_mem | grep -c virtio)'
	wait_for "^MEM-DRV=1" 60
	check "Linux's virtio_mem driver bound the device" "^MEM-DRV=1"
	before=$(memtotal_kb 0)
	want 204 PATCH /hotplug/memory '{"requested_size_mib": 256}'
	plugged 256
	sleep 2
	after=$(memtotal_kb 1)
	grown=$(((after - before) / 1024))
	if [ "$grown" -ge 200 ]; then echo "ok: MemTotal grew by $grown MiB"; else
		echo "FAIL: MemTotal grew by $grown MiB ($before -> $after kB)"
		fail=1
	fi
	type_cmd "awk 'BEGIN { s = sprintf(\"%64000000s\", \"\"); print \"TOUCHED-\" length(s) }'"
	wait_for "^TOUCHED-64000000" 900 || { echo "FAIL: awk did not finish"; fail=1; }
	sleep 1
	rss_before=$(rss_mib)
	want 204 PATCH /hotplug/memory '{"requested_size_mib": 0}'
	plugged 0
	sleep 1
	rss_after=$(rss_mib)
	echo "unplug 256 MiB: RSS $rss_before MiB -> $rss_after MiB"
	if [ $((rss_before - rss_after)) -ge 16 ]; then echo "ok: the RSS dropped"; else
		echo "FAIL: the RSS dropped by $((rss_before - rss_after)) MiB, want >= 16"
		fail=1
	fi
	want 204 PATCH /hotplug/memory '{"requested_size_mib": 1024}'
	plugged 1024
	want 204 PATCH /hotplug/memory '{"requested_size_mib": 0}'
	plugged 0
	want 400 PATCH /hotplug/memory '{"requested_size_mib": 3}'
	want 400 PATCH /hotplug/memory '{"requested_size_mib": 2048}'
	type_cmd "poweroff -f"
	sleep 5
else
	echo "FAIL: no shell"
	fail=1
fi
linux_finish
