#!/usr/bin/env bash
# vmmctl against the real VMM (vmm --api-sock): the snap_counter test guest configured and started
# by vmmctl alone (machine, boot source, a drive with a rate limit, a balloon, a vsock); then
# the drive's rate limits patched and removed, the balloon's target and statistics interval
# changed, the VM paused and saved by snapshot-create, and the snapshot loaded into a second
# VMM by snapshot-load --resume. Each effect is checked in the VMM's own answers (config,
# --json config, balloon, balloon-stats, info), its files and sockets and the guest's output.
# (vmmctl.sh checks every command against a fake server.)
# labels: api
# requires: kvm
# timeout: 300
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh" # VMM, guest_path, lib_new_run, LIB_TMP
. "$(dirname "${BASH_SOURCE[0]}")/../lib/vmmctl_lib.sh"

# start_vmm SOCK [VMM ARGS...]: a VMM in the background with its API on SOCK (its console in
# RUN_OUT, stderr in RUN_ERR); sets VMM_PID; false when the socket never came.
start_vmm() {
	local api=$1
	shift
	lib_new_run "vmm --api-sock $*"
	rm -f "$api"
	"$VMM" --api-sock "$api" --landlock-rules "$LIB_TMP:rw" "$@" </dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
	VMM_PID=$!
	vmm_pids+=("$VMM_PID")
	for _ in $(seq 600); do
		[ -S "$api" ] && return 0
		kill -0 "$VMM_PID" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}

# wait_output REGEX: until the guest of VMM_PID printed a line matching REGEX (or it ended).
wait_output() {
	for _ in $(seq 600); do
		tr -d '\r' <"$RUN_OUT" | grep -qE -- "$1" && return 0
		kill -0 "$VMM_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# expect_json EXPR: the last answer (OUT, vmmctl --json) satisfies the Python expression on d.
expect_json() {
	if python3 -c 'import json, sys; d = json.loads(sys.stdin.read()); sys.exit(not eval(sys.argv[1]))' \
		"$1" <<<"$OUT" 2>"$tmp/py.err"; then
		ok "answer has $1"
	else
		bad "answer lacks $1: $OUT $(cat "$tmp/py.err")"
	fi
}

expect_file() { # PATH: exists and is not empty
	[ -s "$1" ] && ok "$1 written ($(stat -c %s "$1") bytes)" || bad "no $1"
}

vm1="$tmp/vm1.sock"
vm2="$tmp/vm2.sock"
data="$tmp/data.img"
uds="$tmp/vsock.sock"
snap="$tmp/snap"
truncate -s 1M "$data"
mkdir -p "$snap"
# snap_counter: a test guest that computes in ring 3 and prints SNAP-PROGRESS as it goes; with
# this many steps it runs until stopped, and without its disk it leaves the drive alone.
kernel=$(guest_path snap_counter) || kernel=""
if [ -n "$kernel" ] && start_vmm "$vm1" --debug-exit --console stdio; then
	ctl_sock="$vm1"
	ctl put-machine-config --vcpus 1 --mem-mib 128
	expect_exit 0
	ctl put-boot-source "$kernel" --args "steps=1000000000 disk=0"
	expect_exit 0
	ctl put-drive data "$data" --ops 1000:1000
	expect_exit 0
	ctl put-balloon 16 --deflate-on-oom --stats-interval 1
	expect_exit 0
	ctl put-vsock 3 "$uds"
	expect_exit 0
	ctl balloon
	expect_exit 0
	expect_out '^target: +16 MiB$'
	expect_out '^statistics: +every 1 s$'
	expect_out '^deflate-on-oom: +yes$'
	ctl config
	expect_exit 0
	expect_out "^  data +$data ops=1000:1000\$"
	expect_out "^vsock: +cid 3, $uds\$"
	expect_out '^balloon: +16 MiB, deflate-on-oom yes, statistics every 1 s'
	ctl patch-balloon 32
	expect_exit 1
	expect_err 'not supported before starting'
	ctl start
	expect_exit 0
	LABEL="vmm started by vmmctl"
	wait_output '^SNAP-PROGRESS' && ok "the guest runs" || bad "no guest output: $(tail -n 5 "$RUN_ERR")"
	[ -S "$uds" ] && ok "the vsock device listens on $uds" || bad "no vsock socket $uds"

	# drive rate limits: set on the running drive, shown by GET /vm/config, then removed
	ctl patch-drive data --bw 2M:1000:1M --ops 500:1000
	expect_exit 0
	ctl --json config
	expect_json 'd["drives"][0]["rate_limiter"] == {"bandwidth": {"size": 2097152, "one_time_burst": 1048576, "refill_time": 1000}, "ops": {"size": 500, "one_time_burst": 0, "refill_time": 1000}}'
	ctl config
	expect_out "^  data +$data bw=2M:1000:1M ops=500:1000\$"
	ctl patch-drive data --ops 700:1000 # the bandwidth limit stays as it is
	expect_exit 0
	ctl config
	expect_out "^  data +$data bw=2M:1000:1M ops=700:1000\$"
	ctl patch-drive data --bw 2X:1000
	expect_exit 2
	ctl patch-drive nope --ops 1:1
	expect_exit 1
	expect_err 'no drive with id `nope` \(HTTP 400\)'
	ctl patch-drive data --bw 0 --ops 0
	expect_exit 0
	ctl --json config
	expect_json '"rate_limiter" not in d["drives"][0] and d["drives"][0]["drive_id"] == "data"'
	ctl patch-net nope --rx-bw 1M:1000
	expect_exit 1
	expect_err 'no network interface with id `nope` \(HTTP 400\)'

	# the balloon: a new target (this guest has no balloon driver: actual stays 0) and interval
	ctl patch-balloon 32
	expect_exit 0
	ctl --json balloon
	expect_json 'd["amount_mib"] == 32 and d["actual_mib"] == 0 and d["deflate_on_oom"]'
	ctl patch-balloon 4096
	expect_exit 1
	expect_err 'more than the guest'
	ctl patch-balloon-stats 5
	expect_exit 0
	ctl balloon
	expect_out '^target: +32 MiB$'
	expect_out '^actual: +0 MiB$'
	expect_out '^statistics: +every 5 s$'
	ctl balloon-stats
	expect_exit 0
	expect_out '^target: +32\.0 MiB \(8192 pages\)$'
	expect_out '^actual: +0\.0 MiB \(0 pages\)$'

	# limits as they are at the snapshot (not as at start: ops=1000:1000), for the load below
	ctl patch-drive data --ops 300:1000
	expect_exit 0

	# a snapshot: refused while running, written once paused
	ctl snapshot-create "$snap/state" "$snap/memory"
	expect_exit 1
	expect_err 'pause it first'
	ctl pause
	expect_exit 0
	ctl snapshot-create "$snap/state" "$snap/memory" --type Diff
	expect_exit 1
	expect_err 'dirty-page tracking'
	ctl snapshot-create "$snap/state" "$snap/memory"
	expect_exit 0
	expect_file "$snap/state"
	LABEL="snapshot-create"
	[ "$(stat -c %s "$snap/memory")" -eq $((128 << 20)) ] && ok "the memory file holds 128 MiB" ||
		bad "memory file: $(ls -l "$snap/memory" 2>&1)"
	kill -9 "$VMM_PID"
	wait "$VMM_PID" 2>/dev/null
else
	LABEL="vmm --api-sock"
	bad "no VMM to configure: $(tail -n 5 "$RUN_ERR" 2>/dev/null)"
fi

# snapshot-load into a second VMM that waits for its configuration
rm -f "$uds"
if [ -s "$snap/state" ] && start_vmm "$vm2" --debug-exit --console stdio; then
	ctl_sock="$vm2"
	ctl balloon
	expect_exit 1
	expect_err 'No balloon device configured'
	ctl snapshot-load "$snap/state" "$snap/nothere"
	expect_exit 1
	expect_err 'nothere'
	ctl info
	expect_out '^state: +Not started$'
	ctl snapshot-load "$snap/state" "$snap/memory" --resume
	expect_exit 0
	ctl info
	expect_out '^state: +Running$'
	ctl balloon
	expect_out '^target: +32 MiB$'
	expect_out '^statistics: +every 5 s$'
	# the configuration is the snapshotted VM's: the drive's id, its limits and the balloon
	# as they were at the snapshot (PATCHes included), and the drive can be patched by its id
	ctl config
	expect_out "^  data +$data ops=300:1000\$"
	expect_out "^vsock: +cid 3, $uds\$"
	expect_out '^balloon: +32 MiB, deflate-on-oom yes, statistics every 5 s'
	ctl patch-drive data --bw 1M:1000
	expect_exit 0
	ctl --json config
	expect_json 'd["drives"][0]["drive_id"] == "data" and d["drives"][0]["rate_limiter"]["bandwidth"]["size"] == 1048576 and d["drives"][0]["rate_limiter"]["ops"]["size"] == 300'
	LABEL="vmm after snapshot-load --resume"
	wait_output '^SNAP-PROGRESS' && ok "the restored guest runs on" || bad "no guest output"
	[ -S "$uds" ] && ok "the restored vsock device listens on $uds" || bad "no vsock socket $uds"
	ctl stop --timeout-ms 500 # the guest ignores Ctrl-Alt-Del: the deadline stops it
	expect_exit 0
	wait "$VMM_PID"
	s=$?
	LABEL="vmm after vmmctl stop"
	[ $s -eq 0 ] && ok "ended with status 0" || bad "status $s: $(tail -n 5 "$RUN_ERR")"
else
	LABEL="snapshot-load"
	bad "no snapshot or no second VMM: $(tail -n 5 "$RUN_ERR" 2>/dev/null)"
fi

fails=$((fails + LIB_CHECKS_FAILED)) # guest_path's
echo "$oks checks passed, $fails failed"
[ "$fails" -eq 0 ]
