#!/usr/bin/env bash
# The default Linux guest described by a --config-file (root drive on virtio-blk, the API's
# schema), snapshotted in the middle of its boot (pause, PUT /snapshot/create), the VMM killed,
# restored with `vmm --restore DIR`: the boot goes on to the shell, which answers; the restored
# VMM's API shows the root disk's counters moving and the root drive in GET /vm/config, and a
# pause and a resume leave the guest running; then it is snapshotted again at that shell prompt,
# killed, restored: the shell answers the next command typed on the console, and SendCtrlAltDel
# makes Linux (atkbd on the i8042, the VT keyboard's Ctrl-Alt-Del) reboot, which ends the VMM
# with status 0. The config file's entropy device (Firecracker's, a rate-limited virtio-rng) is
# the guest's hw_random and survives the restore in GET /vm/config. (One boot for what
# linux_api.sh and linux_snapshot.sh checked in two.)
# labels: slow linux snapshot api
# requires: kvm
# timeout: 1200
# resource: linux:1
. "$(dirname "${BASH_SOURCE[0]}")/../lib/linux_lib.sh"

sock="$tmp/api.sock"
snap="$tmp/snap"
cp "$DISK" "$tmp/root.ext4"
cat >"$tmp/vm.json" <<EOF
{
  "boot-source": {"kernel_image_path": "$VMLINUX",
                  "boot_args": "$CMDLINE vmmguest.shell=1 vmmguest.dhcp=0"},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 256},
  "drives": [{"drive_id": "rootfs", "path_on_host": "$tmp/root.ext4", "is_root_device": true,
              "is_read_only": false}],
  "entropy": {"rate_limiter": {"bandwidth": {"size": 65536, "refill_time": 100}}}
}
EOF

api() { # api METHOD PATH [BODY] -> the HTTP status; the body in $tmp/body
	curl -s --max-time 120 --unix-socket "$1" -X "$2" ${4:+-d "$4"} -o "$tmp/body" \
		-w '%{http_code}' "http://localhost$3"
}

# start VMM STDIN-FIFO LOG ARGS...: the console reads the FIFO (kept open by a sleeper)
start() {
	local fifo=$1 log=$2
	shift 2
	mkfifo "$fifo"
	sleep 1200 >"$fifo" &
	sleepers+=($!)
	"$VMM" --landlock-rules "$tmp:rw" "$@" <"$fifo" >"$log" 2>>"$tmp/err" &
	vmm_pid=$!
}
sleepers=()
trap 'kill "${sleepers[@]}" 2>/dev/null; kill -9 $vmm_pid 2>/dev/null; rm -rf "$tmp"' EXIT

wait_for() { # wait_for REGEX FILE SECONDS
	for _ in $(seq "$3"); do
		grep -qE -- "$1" "$2" && return 0
		kill -0 $vmm_pid 2>/dev/null || return 1
		sleep 1
	done
	return 1
}

snapshot_to() { # snapshot_to DIR: pause, snapshot, kill
	mkdir -p "$1"
	code=$(api "$sock" PATCH /vm '{"state": "Paused"}')
	[ "$code" = 204 ] && echo "ok: paused" || { echo "FAIL: pause -> $code $(cat "$tmp/body")"; fail=1; }
	code=$(api "$sock" PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$1/state\", \"mem_file_path\": \"$1/memory\"}")
	[ "$code" = 204 ] && echo "ok: snapshot created ($(du -h "$1/memory" | cut -f1) of memory on disk, $(stat -c %s "$1/state") bytes of state)" ||
		{ echo "FAIL: snapshot -> $code $(cat "$tmp/body")"; fail=1; }
	kill -9 $vmm_pid
	wait $vmm_pid 2>/dev/null
}

# mid-boot: once the kernel has printed its first lines, well before user space. On kvm_pvm
# (guest kernel code emulated) once it is past acpi_early_init() ("pid_max:", printed soon
# after): a snapshot taken before it restores there, and the restored kernel then dies in
# acpi_early_init() on an "int3" trap at an address whose bytes hold no int3 (the emulation's
# instruction fetch, not the guest's memory: 8 of 8 such snapshots here and this test's 2
# failures, 2026-11-27; 6 of 6 taken later restored. Not tried elsewhere yet: under nested SVM
# the kernel is past that point within the test's first half second).
mid_boot="Linux version"
[ "${EMULATED_KVM:-0}" = 1 ] && mid_boot="pid_max: "
start "$tmp/in0" "$tmp/log0" --console stdio --config-file "$tmp/vm.json" --api-sock "$sock"
wait_for "$mid_boot" "$tmp/log0" 300 && sleep 0.5
grep -q "VMM-GUEST-INIT" "$tmp/log0" && echo "note: user space had started already (a fast host)"
snapshot_to "$tmp/snap-boot"
start "$tmp/in1" "$tmp/log" --restore "$tmp/snap-boot" --api-sock "$sock"
if grep -q "VMM-GUEST-SHELL: starting" "$tmp/log0"; then
	# its line went to the first console: the shell's answer below is the check
	echo "note: the shell had started before the snapshot"
else
	wait_for "VMM-GUEST-SHELL: starting" "$tmp/log" 900 ||
		echo "FAIL: no shell after the mid-boot restore"
	check "the boot restored mid-way reaches the shell" "VMM-GUEST-SHELL: starting"
fi
sleep 3 # the prompt is printed
kill -0 $vmm_pid 2>/dev/null && echo 'echo before-$((6*7))' >"$tmp/in1"
wait_for "before-42" "$tmp/log" 120
check "the shell answers before the snapshot" "before-42"
grep -qE "VMM-GUEST-CMDLINE: .*root=/dev/vda rw" "$tmp/log0" "$tmp/log" &&
	echo "ok: root is the config file's drive, /dev/vda" ||
	{ echo "FAIL: no root=/dev/vda rw on the guest's command line"; fail=1; }

# ---- the restored VMM's API ----
code=$(api "$sock" GET /vmm/devices)
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d[0]["name"] == "virtio-blk" and d[0]["requests"] > 10' "$tmp/body" &&
	echo "ok: the root disk's counters show the guest's I/O" ||
	{ echo "FAIL: device counters ($code): $(cat "$tmp/body")"; fail=1; }
code=$(api "$sock" GET /vm/config)
grep -q '"is_root_device":true' "$tmp/body" && echo "ok: /vm/config has the root drive" ||
	{ echo "FAIL: /vm/config ($code): $(cat "$tmp/body")"; fail=1; }
# Firecracker's entropy device from the config file: the guest's hw_random is virtio's, and the
# restored VMM still has its byte bucket (65536 bytes every 100 ms).
python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["entropy"]["rate_limiter"]["bandwidth"]; assert (b["size"], b["refill_time"]) == (65536, 100), b' "$tmp/body" &&
	echo "ok: /vm/config has the entropy device and its rate limit" ||
	{ echo "FAIL: no entropy rate limit in /vm/config ($code): $(cat "$tmp/body")"; fail=1; }
grep -qhE 'VMM-GUEST-HWRNG: .*virtio' "$tmp/log0" "$tmp/log" &&
	echo "ok: the guest's hw_random is the entropy device (virtio-rng)" ||
	{ echo "FAIL: the guest has no virtio hw_random"; fail=1; }
code=$(api "$sock" PATCH /vm '{"state": "Paused"}')
[ "$code" = 204 ] && echo "ok: paused" || { echo "FAIL: pause -> $code"; fail=1; }
sleep 2
code=$(api "$sock" PATCH /vm '{"state": "Resumed"}')
[ "$code" = 204 ] && echo "ok: resumed" || { echo "FAIL: resume -> $code"; fail=1; }
kill -0 $vmm_pid 2>/dev/null && echo 'echo resumed-$((6*7))' >"$tmp/in1"
wait_for "resumed-42" "$tmp/log" 120
check "the shell answers after a pause and a resume" "resumed-42"

snapshot_to "$snap"

t0=$(date +%s%N)
start "$tmp/in2" "$tmp/log2" --restore "$snap" --api-sock "$sock" # the console comes with the snapshot
kill -0 $vmm_pid 2>/dev/null && echo 'echo after-$((6*7))' >"$tmp/in2"
wait_for "after-42" "$tmp/log2" 300
t1=$(date +%s%N)
check "the restored shell answers the next command" "after-42" "$tmp/log2"
echo "restore to the shell's answer: $(((t1 - t0) / 1000000)) ms"
code=$(api "$sock" PUT /actions '{"action_type": "SendCtrlAltDel"}')
[ "$code" = 204 ] && echo "ok: SendCtrlAltDel" || { echo "FAIL: SendCtrlAltDel -> $code"; fail=1; }
for _ in $(seq 300); do kill -0 $vmm_pid 2>/dev/null || break; sleep 1; done
kill $vmm_pid 2>/dev/null && { echo "FAIL: the VMM still ran 300 s after Ctrl-Alt-Del"; fail=1; }
status=0
wait $vmm_pid || status=$?
check_status "$status"
check "the guest reset the machine" "guest pulsed the CPU reset line" "$tmp/err"
check "Linux restarted on Ctrl-Alt-Del" "reboot: Restarting system" "$tmp/log2"
cp "$tmp/log2" "$tmp/log" # linux_finish shows the restored console on failure
linux_finish
