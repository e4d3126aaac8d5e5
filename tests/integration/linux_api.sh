#!/usr/bin/env bash
# The default Linux guest described by a --config-file (root drive on virtio-blk, the API's
# schema) and controlled over --api-sock while it runs: its shell comes up, the block device's
# counters show its I/O, a pause and a resume leave it running, and SendCtrlAltDel makes Linux
# (atkbd on the i8042, the VT keyboard's Ctrl-Alt-Del) reboot, which ends the VMM with status 0.
# labels: slow linux api
# requires: kvm
# timeout: 1200
# resource: linux
. "$(dirname "${BASH_SOURCE[0]}")/linux_lib.sh"

sock="$tmp/api.sock"
cp "$DISK" "$tmp/root.ext4"
cat >"$tmp/vm.json" <<EOF
{
  "boot-source": {"kernel_image_path": "$VMLINUX",
                  "boot_args": "$CMDLINE vmmguest.shell=1 vmmguest.dhcp=0"},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 256},
  "drives": [{"drive_id": "rootfs", "path_on_host": "$tmp/root.ext4", "is_root_device": true,
              "is_read_only": false}]
}
EOF

api() { # api METHOD PATH [BODY] -> the HTTP status; the body in $tmp/body
	curl -s --max-time 60 --unix-socket "$sock" -X "$1" ${3:+-d "$3"} -o "$tmp/body" \
		-w '%{http_code}' "http://localhost$2"
}
want() { # want STATUS METHOD PATH [BODY]
	local got
	got=$(api "${@:2}")
	if [ "$got" = "$1" ]; then echo "ok: $2 $3 -> $got"; else
		echo "FAIL: $2 $3 -> $got (want $1): $(cat "$tmp/body")"
		fail=1
	fi
}

# stdin stays open (the shell waits on it) until the test ends
mkfifo "$tmp/in"
sleep 1200 >"$tmp/in" &
sleeper=$!
"$VMM" --config-file "$tmp/vm.json" --api-sock "$sock" --console stdio <"$tmp/in" \
	>"$tmp/log" 2>"$tmp/err" &
vmm_pid=$!
trap 'kill $sleeper 2>/dev/null; kill -9 $vmm_pid 2>/dev/null; rm -rf "$tmp"' EXIT

for _ in $(seq 1000); do
	grep -q "VMM-GUEST-SHELL: starting" "$tmp/log" && break
	kill -0 $vmm_pid 2>/dev/null || break
	sleep 1
done
check "the guest's shell started (root from the config file's drive)" "VMM-GUEST-SHELL: starting"
check "root is the drive /dev/vda" "VMM-GUEST-CMDLINE: .*root=/dev/vda rw"

want 200 GET /vmm/devices
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d[0]["name"] == "virtio-blk" and d[0]["requests"] > 10' "$tmp/body" &&
	echo "ok: the root disk's counters show the guest's I/O" ||
	{ echo "FAIL: device counters: $(cat "$tmp/body")"; fail=1; }
want 200 GET /vm/config
grep -q '"is_root_device":true' "$tmp/body" && echo "ok: /vm/config has the root drive" ||
	{ echo "FAIL: /vm/config: $(cat "$tmp/body")"; fail=1; }

want 204 PATCH /vm '{"state": "Paused"}'
sleep 2
want 204 PATCH /vm '{"state": "Resumed"}'

want 204 PUT /actions '{"action_type": "SendCtrlAltDel"}'
for _ in $(seq 300); do
	kill -0 $vmm_pid 2>/dev/null || break
	sleep 1
done
kill $vmm_pid 2>/dev/null && echo "FAIL: the VMM still ran 300 s after Ctrl-Alt-Del" && fail=1
status=0
wait $vmm_pid || status=$?
check_status "$status"
check "the guest reset the machine" "guest pulsed the CPU reset line" "$tmp/err"
check "Linux restarted on Ctrl-Alt-Del" "reboot: Restarting system"
linux_finish
