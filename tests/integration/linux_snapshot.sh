#!/usr/bin/env bash
# The default Linux guest snapshotted in the middle of its boot (pause, PUT /snapshot/create),
# the VMM killed, restored with `vmm --restore DIR`: the boot goes on to the shell, which answers;
# then snapshotted again at that shell prompt, killed, restored: the shell answers the next
# command typed on the console, and the guest still powers off cleanly (status 0).
# labels: slow linux snapshot
# requires: kvm
# timeout: 1200
# resource: linux
. "$(dirname "${BASH_SOURCE[0]}")/linux_lib.sh"

sock="$tmp/api.sock"
snap="$tmp/snap"
cp "$DISK" "$tmp/root.ext4"

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

# mid-boot: once the kernel has printed its first lines, well before user space
start "$tmp/in0" "$tmp/log0" --console stdio --kernel "$VMLINUX" --disk "$tmp/root.ext4" \
	--api-sock "$sock" --append "$CMDLINE root=/dev/vda rw vmmguest.shell=1 vmmguest.dhcp=0"
wait_for "Linux version" "$tmp/log0" 300 && sleep 0.5
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

snapshot_to "$snap"

t0=$(date +%s%N)
start "$tmp/in2" "$tmp/log2" --restore "$snap" # the console option comes with the snapshot
kill -0 $vmm_pid 2>/dev/null && echo 'echo after-$((6*7))' >"$tmp/in2"
wait_for "after-42" "$tmp/log2" 300
t1=$(date +%s%N)
check "the restored shell answers the next command" "after-42" "$tmp/log2"
echo "restore to the shell's answer: $(((t1 - t0) / 1000000)) ms"
kill -0 $vmm_pid 2>/dev/null && echo 'poweroff' >"$tmp/in2"
for _ in $(seq 300); do kill -0 $vmm_pid 2>/dev/null || break; sleep 1; done
kill $vmm_pid 2>/dev/null && { echo "FAIL: the restored guest did not power off"; fail=1; }
status=0
wait $vmm_pid || status=$?
check_status "$status"
cp "$tmp/log2" "$tmp/log" # linux_finish shows the restored console on failure
linux_finish
