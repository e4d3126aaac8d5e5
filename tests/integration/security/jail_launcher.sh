#!/usr/bin/env bash
# A start as Firecracker's launchers make it (issue 49), written from firecracker-go-sdk's
# jailer.go and handler list (firecracker-containerd and flintlock start through it):
#   1. the jailer's command line: vmm-jail --id ID --uid --gid --exec-file VMM
#      --chroot-base-dir BASE --netns NS -- --no-seccomp --api-sock /run/firecracker.socket
#      (the SDK's defaults: no --daemonize, no --new-pid-ns, seccomp off unless asked);
#   2. the launcher finds the API at BASE/vmm/ID/root/run/firecracker.socket, hard-links the
#      kernel, initrd, disk and the log and metrics FIFOs into the jail's root (chowned to the
#      jail's uid) and names them by their bare file names, relative to the jail's root;
#   3. the SDK's order: PUT /logger, PUT /metrics, PUT /machine-config, PUT /boot-source,
#      PUT /drives/rootfs, PUT /network-interfaces/1 (a tap owned by the jail's uid in the
#      --netns namespace; left out with a note where none can be made), InstanceStart;
# each answer checked (204), then in the same boot: the default Linux guest runs (its shell
# starts) and sees the disk (its marker) and the NIC (its MAC and the kernel's static IP), the
# guest answers ping in the namespace, GET / names the jailer's id and says Running, the VMM's
# arguments start with Firecracker's jailer's (--id ID --start-time-us ...), a FlushMetrics
# line on the FIFO has the id (emit_id) and Firecracker's api_server startup times, the log
# FIFO has Firecracker-style lines, <root>/vmm.pid names the VMM; finally `reboot -f` in the
# guest ends the VMM with 0, vmm-jail exits 0 and removes what it made (the linked files,
# the launcher's, stay until the launcher removes the jail, as after Firecracker's jailer).
# labels: sandbox slow linux
# requires: kvm root curl python3
# timeout: 600
# resource: linux:1
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

JAIL="${JAIL:-$BUILD_DIR/vmm-jail}"
require kvm root
if [ ! -x "$JAIL" ]; then
	echo "FAIL: $JAIL not built"
	exit 1
fi
eval "$("$SOURCE_DIR/guest-images/build.sh" --print-env)" || exit 1

BASE=$(jail_base vmm-launcher-test)
ID="fc-launch-$$"
root="$BASE/vmm/$ID/root"
sock="$root/run/firecracker.socket"
NS="vmmlaunch-$$"
TAP=tap0
MAC=52:54:00:79:00:02
jail_pid=""
sleeper=""
cleanup() {
	[ -n "$jail_pid" ] && kill -9 "$jail_pid" 2>/dev/null
	[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$LIB_TMP"
	[ "$BASE" = "$LIB_TMP/jails" ] || rm -rf "$BASE"
}
trap cleanup EXIT

check() {
	if [ "$1" = 0 ]; then lib_ok "$2"; else lib_fail "$2"; fi
}

# The network namespace and a tap the jail's uid may open (the jail's VMM has no
# CAP_NET_ADMIN: the tap must exist and be its own, as launchers make it).
net=1
if ! { ip netns add "$NS" && ip -n "$NS" link set lo up &&
	ip -n "$NS" tuntap add dev "$TAP" mode tap user 65534 vnet_hdr &&
	ip -n "$NS" addr add 192.168.79.1/24 dev "$TAP" && ip -n "$NS" link set "$TAP" up; } 2>/dev/null; then
	echo "note: no tap in a network namespace here: PUT /network-interfaces is left out"
	net=0
	ip netns add "$NS" 2>/dev/null # the jailer's --netns still gets one when it can
fi
netns=()
[ -e "/var/run/netns/$NS" ] && netns=(--netns "/var/run/netns/$NS")

# ---- 1. the jailer's command line ----
lib_new_run "vmm-jail as the Go SDK runs it"
mkfifo "$LIB_TMP/in"
sleep 600 >"$LIB_TMP/in" &
sleeper=$!
"$JAIL" --id "$ID" --uid 65534 --gid 65534 --exec-file "$VMM" --chroot-base-dir "$BASE" \
	"${netns[@]}" -- --no-seccomp --api-sock /run/firecracker.socket \
	<"$LIB_TMP/in" >"$RUN_OUT" 2>"$RUN_ERR" &
jail_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ]
check $? "the API socket is where the SDK looks: ${sock#"$BASE"/}"

# ---- 2. the launcher's files, linked into the jail's root ----
# link SRC NAME: a hard link (the SDK's os.Link), a copy across file systems
link() { ln "$1" "$root/$2" 2>/dev/null || cp "$1" "$root/$2"; }
cp "$DISK" "$LIB_TMP/rootfs.ext4" && chown 65534:65534 "$LIB_TMP/rootfs.ext4"
link "$VMLINUX" vmlinux && link "$INITRAMFS" initrd.cpio && link "$LIB_TMP/rootfs.ext4" rootfs.ext4
mkfifo "$LIB_TMP/log.fifo" "$LIB_TMP/metrics.fifo"
link "$LIB_TMP/log.fifo" log.fifo && link "$LIB_TMP/metrics.fifo" metrics.fifo &&
	chown 65534:65534 "$root/log.fifo" "$root/metrics.fifo"
check $? "kernel, initrd, disk and FIFOs linked into the jail's root"
cat "$LIB_TMP/log.fifo" >"$LIB_TMP/log" &
cat "$LIB_TMP/metrics.fifo" >"$LIB_TMP/metrics" &

# ---- 3. the API calls in the SDK's order ----
# put PATH BODY: PUT, checked to be 204
put() {
	local code
	code=$(curl -s --max-time 30 --unix-socket "$sock" -X PUT -H 'Content-Type: application/json' \
		-d "$2" -o "$LIB_TMP/body" -w '%{http_code}' "http://localhost$1")
	[ "$code" = 204 ]
	check $? "PUT $1 -> $code $(cat "$LIB_TMP/body" 2>/dev/null)"
}
put /logger '{"log_path": "log.fifo", "level": "Debug", "show_level": true, "show_log_origin": true}'
put /metrics '{"metrics_path": "metrics.fifo", "emit_id": true}'
put /machine-config '{"vcpu_count": 1, "mem_size_mib": 256, "smt": false}'
args="$CMDLINE vmmguest.shell=1 vmmguest.dhcp=0"
[ $net = 1 ] && args+=" ip=192.168.79.2::192.168.79.1:255.255.255.0::eth0:off"
put /boot-source "{\"kernel_image_path\": \"vmlinux\", \"initrd_path\": \"initrd.cpio\", \"boot_args\": \"$args\"}"
put /drives/rootfs '{"drive_id": "rootfs", "path_on_host": "rootfs.ext4", "is_root_device": true, "is_read_only": false}'
[ $net = 1 ] &&
	put /network-interfaces/1 "{\"iface_id\": \"1\", \"host_dev_name\": \"$TAP\", \"guest_mac\": \"$MAC\"}"
put /actions '{"action_type": "InstanceStart"}'

# ---- the running VM, seen as a launcher sees it ----
for _ in $(seq 1200); do
	tr -d '\r' <"$RUN_OUT" | grep -q "VMM-GUEST-SHELL: starting" && break
	kill -0 "$jail_pid" 2>/dev/null || break
	sleep 0.5
done
expect_output "VMM-GUEST-SHELL: starting"
expect_output "^VMM-GUEST-DISK-MARKER: $DISK_MARKER\$"
if [ $net = 1 ]; then
	expect_output "device=eth0, hwaddr=$MAC, ipaddr=192\.168\.79\.2,"
	ip netns exec "$NS" ping -c 3 -i 0.5 -W 5 192.168.79.2 >"$LIB_TMP/ping" 2>&1
	check $? "the guest answers ping in the jail's network namespace: $(tail -n 1 "$LIB_TMP/ping")"
fi
got=$(curl -s --max-time 30 --unix-socket "$sock" http://localhost/)
[[ "$got" == *"\"id\":\"$ID\""* && "$got" == *'"Running"'* ]]
check $? "GET / names the jailer's --id and says Running: $got"
vmm_pid=$(cat "$root/vmm.pid" 2>/dev/null)
[ -n "$vmm_pid" ] && [ -d "/proc/$vmm_pid" ]
check $? "vmm.pid names the running VMM ($vmm_pid)"
cmd=$(tr '\0' ' ' <"/proc/$vmm_pid/cmdline" 2>/dev/null)
[[ "$cmd" =~ ^/vmm\ --id\ $ID\ --start-time-us\ [0-9]+\ --start-time-cpu-us\ 0\ --parent-cpu-time-us\ [0-9]+\ --no-seccomp ]]
check $? "the VMM's arguments, as Firecracker's jailer passes them: $cmd"
put /actions '{"action_type": "FlushMetrics"}'
for _ in $(seq 50); do [ -s "$LIB_TMP/metrics" ] && break; sleep 0.1; done
line=$(tail -n 1 "$LIB_TMP/metrics")
python3 - "$line" "$ID" <<'PY'
import json, sys
m = json.loads(sys.argv[1])
s = m["api_server"]
assert m["id"] == sys.argv[2], m.get("id")
assert 0 < s["process_startup_time_us"] < 600_000_000, s
assert s["process_startup_time_cpu_us"] > 0, s
PY
check $? "the metrics line has the id and api_server startup times: ${line:0:60}...$(grep -o '"api_server":{[^}]*}' <<<"$line")"
line_re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z \[vmm:(ERROR|WARN|INFO|DEBUG):[^]]+:[0-9]+\] '
[ -s "$LIB_TMP/log" ] && grep -qE "$line_re" "$LIB_TMP/log"
check $? "the log FIFO has Firecracker-style lines: $(head -n 1 "$LIB_TMP/log")"

# ---- the end: the guest resets, the VMM exits 0, vmm-jail with it ----
echo "reboot -f" >"$LIB_TMP/in"
for _ in $(seq 600); do kill -0 "$jail_pid" 2>/dev/null || break; sleep 0.5; done
wait "$jail_pid"
RUN_STATUS=$?
jail_pid=""
expect_status 0
left=$(ls -A "$root" 2>/dev/null | tr '\n' ' ')
[ "$left" = "initrd.cpio log.fifo metrics.fifo rootfs.ext4 vmlinux " ]
check $? "vmm-jail removed what it made, the launcher's files stay: $left"
finish
