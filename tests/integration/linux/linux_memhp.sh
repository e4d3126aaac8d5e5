#!/usr/bin/env bash
# virtio-mem on the default Linux guest (512 MiB, initramfs, shell on COM1) with a 1 GiB
# hotplug region, driven over --api-sock, in one boot and one restore (each Linux boot costs
# minutes where guest kernel code is emulated):
#   1. Linux's virtio_mem driver binds the device; PATCH /hotplug/memory {"requested_size_mib":
#      128}: GET shows plugged_size_mib follow to 128 and the guest's MemTotal grows by at least
#      100 MiB (memory onlined movable);
#   2. the guest writes a 12 MiB file on a tmpfs (copies of its busybox, each after a counter)
#      and prints its md5sum
#      (shmem pages are movable and go to the hotplugged blocks first: the Movable zone's free
#      pages must drop by at least 8 MiB);
#   3. with blocks plugged, a Diff snapshot is a 400 naming the plugged memory; a Full snapshot
#      is taken (the memory file has RAM, then the 1 GiB region, sparse);
#   4. a page-fault handler (Uffd) load of it is a 400 that says to use the memory file (when
#      vmm-uffd-handler is built next to vmm);
#   5. vmm --restore: GET /hotplug/memory shows 128 MiB plugged, the file's md5sum in the guest is
#      the one before, MemTotal is the same;
#   6. the file is removed and PATCH 0 unplugs it all: plugged_size_mib follows to 0 and the
#      restored VMM's RSS drops by at least 8 MiB (unplugged blocks go back to the host);
#      sizes that are not a block multiple or exceed the region are 400s.
# The sizes are small on purpose: where guest kernel code is emulated (kvm_pvm) the kernel copies
# about 1 MiB in 2 s, 1 MiB from /dev/urandom takes 47 s and each page fault ~10 ms, and a 32 MiB
# file of urandom bytes took 4 of the test's 7 minutes there.
# Plugging and unplugging 1 GiB is timed by tools/bench memhp, not here.
# labels: slow linux api snapshot
# requires: kvm
# timeout: 1500
# resource: linux:1
. "$(dirname "${BASH_SOURCE[0]}")/../lib/linux_lib.sh"
API_TIMEOUT=120 # a snapshot of 512 MiB on a slow host

TRANSPORT=${TRANSPORT:-mmio}
sock="$tmp/api.sock"
snap="$tmp/snap"
vmm_pid=""
sleepers=()
handler_pid=""
trap 'kill "${sleepers[@]}" $handler_pid 2>/dev/null; kill -9 $vmm_pid 2>/dev/null; rm -rf "$tmp"' EXIT

start() { # start ARGS...: a VMM whose console is $tmp/log, its input the fifo $tmp/in
	rm -f "$sock" "$tmp/in"
	mkfifo "$tmp/in"
	sleep 1500 >"$tmp/in" &
	sleepers+=($!)
	"$VMM" --landlock-rules "$tmp:rw" --api-sock "$sock" "$@" <"$tmp/in" >"$tmp/log" \
		2>>"$tmp/err" &
	vmm_pid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
}
rss_mib() { awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$vmm_pid/status"; }
guest_value() { # guest_value TAG COMMAND: runs COMMAND in the guest, prints its output
	type_cmd "echo $1-\$($2)-"
	wait_for "^$1-[^-]+-" "${GUEST_VALUE_SECONDS:-120}"
	sed -n "s/^$1-\([^-]*\)-.*/\1/p" "$tmp/log" | tail -1
}
plugged() { # plugged MIB: GET /hotplug/memory until plugged_size_mib is MIB
	local p="" i
	for ((i = 0; i < 600; i++)); do
		api GET /hotplug/memory >/dev/null
		p=$(json_field plugged_size_mib)
		[ "$p" = "$1" ] && break
		sleep 0.5
	done
	if [ "$p" = "$1" ]; then echo "ok: plugged_size_mib is $1"; else
		echo "FAIL: plugged_size_mib is '$p', want $1: $(cat "$tmp/body")"
		fail=1
	fi
}
movable_free_mib() {
	guest_value "MOVFREE$1" "awk '/zone +Movable/ {m = 1} m && /nr_free_pages/ {print int(\$2 / 256); exit}' /proc/zoneinfo"
}

start --kernel "$VMLINUX" --initrd "$INITRAMFS" --mem 512M --console stdio \
	--transport "$TRANSPORT" --memory-hotplug total=1G --track-dirty-pages \
	--append "$CMDLINE vmmguest.shell=1 vmmguest.dhcp=0 memhp_default_state=online_movable"
if ! wait_for "VMM-GUEST-SHELL: starting" 1000; then
	echo "FAIL: no shell"
	fail=1
	linux_finish
fi
sleep 2
[ "$(guest_value MEMDRV "ls /sys/bus/virtio/drivers/virtio_mem | grep -c virtio")" = 1 ] &&
	echo "ok: Linux's virtio_mem driver bound the device" ||
	{ echo "FAIL: virtio_mem did not bind the device"; fail=1; }
total_unplugged=$(guest_value TOTALU "awk '/MemTotal/ {print \$2}' /proc/meminfo")
want 204 PATCH /hotplug/memory '{"requested_size_mib": 128}'
plugged 128
sleep 2
total_before=$(guest_value TOTAL0 "awk '/MemTotal/ {print \$2}' /proc/meminfo")
grown=$(((${total_before:-0} - ${total_unplugged:-0}) / 1024))
if [ "$grown" -ge 100 ]; then echo "ok: MemTotal grew by $grown MiB"; else
	echo "FAIL: MemTotal grew by $grown MiB ('$total_unplugged' -> '$total_before' kB)"
	fail=1
fi
free0=$(movable_free_mib 0)
# Copies of busybox (about 2 MiB), each after a counter that shifts it: no two pages alike, and
# no /dev/urandom; md5sum and cut one after the other (docs/testing.md: pipelines on kvm_pvm)
GUEST_VALUE_SECONDS=400
sum_before=$(guest_value SUM0 "mkdir -p /hp && mount -t tmpfs -o size=64m hp /hp && for i in \$(seq 6); do echo \$i; cat /bin/busybox; done >/hp/memhp.bin && md5sum /hp/memhp.bin >/hp/sum && cut -c1-32 /hp/sum")
GUEST_VALUE_SECONDS=120
free1=$(movable_free_mib 1)
echo "the file: md5 $sum_before; Movable zone free: $free0 -> $free1 MiB"
if [ -n "$free0" ] && [ -n "$free1" ] && [ $((free0 - free1)) -ge 8 ]; then
	echo "ok: at least 8 MiB of the file are in hotplugged memory"
else
	echo "FAIL: the file did not go to hotplugged memory (Movable free '$free0' -> '$free1')"
	fail=1
fi
[ ${#sum_before} -eq 32 ] || { echo "FAIL: no md5sum from the guest"; fail=1; }

mkdir -p "$snap"
want 204 PATCH /vm '{"state": "Paused"}'
want 400 PUT /snapshot/create "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"$snap/diff-state\", \"mem_file_path\": \"$snap/diff-memory\"}"
grep -q "Diff snapshot" "$tmp/body" && echo "ok: the Diff refusal says why" ||
	{ echo "FAIL: the Diff refusal: $(cat "$tmp/body")"; fail=1; }
want 204 PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$snap/state\", \"mem_file_path\": \"$snap/memory\"}"
size=$(stat -c %s "$snap/memory" 2>/dev/null)
if [ "$size" = $(((512 + 1024) << 20)) ]; then
	echo "ok: the memory file is RAM then the region ($(du -h "$snap/memory" | cut -f1) on disk)"
else
	echo "FAIL: the memory file has '$size' bytes, want $(((512 + 1024) << 20))"
	fail=1
fi
kill -9 $vmm_pid
wait $vmm_pid 2>/dev/null

HANDLER="$(dirname "$VMM")/vmm-uffd-handler"
if [ -x "$HANDLER" ]; then
	"$HANDLER" --timeout 30 "$tmp/uffd.sock" "$snap/memory" >"$tmp/handler.log" 2>&1 &
	handler_pid=$!
	start
	for _ in $(seq 100); do [ -S "$tmp/uffd.sock" ] && break; sleep 0.1; done
	want 400 PUT /snapshot/load "{\"snapshot_path\": \"$snap/state\", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"$tmp/uffd.sock\"}}"
	grep -q "page-fault handler" "$tmp/body" && echo "ok: the Uffd refusal says why" ||
		{ echo "FAIL: the Uffd refusal: $(cat "$tmp/body")"; fail=1; }
	kill -9 $vmm_pid $handler_pid 2>/dev/null
	wait $vmm_pid 2>/dev/null
else
	echo "note: $HANDLER not built: the Uffd refusal is not checked"
fi

start --restore "$snap"
sleep 2
plugged 128
sum_after=$(guest_value SUM1 "md5sum /hp/memhp.bin >/hp/sum && cut -c1-32 /hp/sum")
total_after=$(guest_value TOTAL1 "awk '/MemTotal/ {print \$2}' /proc/meminfo")
if [ ${#sum_after} -eq 32 ] && [ "$sum_after" = "$sum_before" ]; then
	echo "ok: the file reads the same after the restore"
else
	echo "FAIL: md5 after the restore '$sum_after', before '$sum_before'"
	fail=1
fi
if [ -n "$total_after" ] && [ "$total_after" = "$total_before" ]; then
	echo "ok: MemTotal is the same"
else
	echo "FAIL: MemTotal $total_before -> $total_after kB"
	fail=1
fi
type_cmd "rm /hp/memhp.bin"
sleep 2
rss_before=$(rss_mib)
want 204 PATCH /hotplug/memory '{"requested_size_mib": 0}'
plugged 0
sleep 1
rss_after=$(rss_mib)
echo "unplug 128 MiB: RSS $rss_before MiB -> $rss_after MiB"
if [ $((rss_before - rss_after)) -ge 8 ]; then echo "ok: the RSS dropped"; else
	echo "FAIL: the RSS dropped by $((rss_before - rss_after)) MiB, want >= 8"
	fail=1
fi
want 400 PATCH /hotplug/memory '{"requested_size_mib": 3}'
want 400 PATCH /hotplug/memory '{"requested_size_mib": 2048}'
type_cmd "poweroff -f"
for _ in $(seq 60); do kill -0 $vmm_pid 2>/dev/null || break; sleep 1; done
linux_finish
