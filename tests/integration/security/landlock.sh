#!/usr/bin/env bash
# Landlock (host/sandbox/landlock.c): once the VM is set up the VMM may open only what setup
# allowed, and the API thread nothing from its first request. A device thread and the API thread
# (before any request, and once the VM runs) that open /etc/shadow on purpose (the test trigger
# VMM_SANDBOX_TEST_VIOLATION=ROLE:open) get EACCES while the VMM runs on and the guest passes;
# the files requests name are opened by the broker (PUT /logger, /boot-source);
# with --landlock off the same open succeeds; -v -v lists what was allowed; a drive swap
# (PATCH /drives) outside the set is a 400 that says why; the files a request writes (a
# snapshot, the logger's file) are made by the opener (host/sandbox/opener.h) outside the set,
# as Firecracker's clients expect, within host_path_open()'s rules (no symbolic link planted at
# the temporary name, nothing of /proc); the opener thread keeps no capability and its filter.
# labels: sandbox landlock
# requires: kvm
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

abi=$(python3 -c 'import ctypes; print(ctypes.CDLL(None).syscall(444, None, 0, 1))')
if [ "$abi" -lt 1 ] 2>/dev/null; then
	skip kernel "this kernel has no Landlock (ABI $abi)"
fi
[ -r /etc/shadow ] || skip host "/etc/shadow is not readable here: the open could not tell"

# A device thread (the rng's) under --seccomp off, where only Landlock can refuse its open
# (its seccomp list has no open at all); the guest still passes.
run_shadow() { # run_shadow ROLE ARGS...
	local role=$1
	shift
	lib_new_run "$role opens /etc/shadow $*"
	VMM_SANDBOX_TEST=1 VMM_SANDBOX_TEST_VIOLATION=$role:open timeout 60 "$VMM" \
		--kernel "$(guest_path virtio_rng)" --debug-exit --console stdio --rng \
		--append "transport=mmio ring=split" "$@" </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
	RUN_STATUS=$?
}
run_shadow io-virtio-rng --seccomp off
expect_pass
grep -q "the io-virtio-rng thread's open(/etc/shadow): Permission denied" "$RUN_ERR" &&
	lib_ok "EACCES for the device thread" || lib_fail "device thread: $(grep shadow "$RUN_ERR")"

run_shadow io-virtio-rng --seccomp off --landlock off
expect_pass
grep -q "the io-virtio-rng thread's open(/etc/shadow): opened" "$RUN_ERR" &&
	lib_ok "--landlock off: the open succeeds (the test can fail)" ||
	lib_fail "--landlock off: $(grep shadow "$RUN_ERR")"

# The API thread (seccomp on: its list has openat) is under Landlock from its first entry,
# before any request and with no VM: it opens nothing itself; the broker opens the files that
# requests name (host/sandbox/broker.h).
sock="$LIB_TMP/api.sock"
disk="$LIB_TMP/disk.img"
head -c 1M /dev/zero >"$disk"
head -c 1M /dev/zero >"$LIB_TMP/disk2.img"
mkdir -p "$LIB_TMP/snaps" /var/tmp/vmm-landlock-test.$$
outside=/var/tmp/vmm-landlock-test.$$
head -c 1M /dev/zero >"$outside/disk.img"
trap 'rm -rf "$outside"; kill -9 $pid 2>/dev/null; rm -rf "$LIB_TMP"' EXIT

api() { # api METHOD PATH BODY -> "STATUS BODY"
	local out
	out=$(curl -s --max-time 30 --unix-socket "$sock" -X "$1" -H 'Content-Type: application/json' \
		-d "$3" -w '\n%{http_code}' "http://localhost$2")
	echo "${out##*$'\n'} ${out%$'\n'*}"
}

lib_new_run "API only, no VM yet: the API thread opens /etc/shadow"
VMM_SANDBOX_TEST=1 VMM_SANDBOX_TEST_VIOLATION=api:open "$VMM" --api-sock "$sock" </dev/null \
	>"$RUN_OUT" 2>"$RUN_ERR" &
pid=$!
for _ in $(seq 100); do grep -q "api thread's open(/etc/shadow)" "$RUN_ERR" && [ -S "$sock" ] && break; sleep 0.1; done
grep -q "the api thread's open(/etc/shadow): Permission denied" "$RUN_ERR" &&
	lib_ok "EACCES for the API thread before any request and any VM" ||
	lib_fail "api thread before the VM: $(grep shadow "$RUN_ERR")"
# a file a request names is opened all the same, by the broker: a log in a folder no rule has
: >"$LIB_TMP/vmm.log"
got=$(api PUT /logger "{\"log_path\": \"$LIB_TMP/vmm.log\", \"level\": \"Info\"}")
[ "${got%% *}" = 204 ] &&
	lib_ok "PUT /logger: the broker opens the file the request names" || lib_fail "PUT /logger -> $got"
got=$(api PUT /boot-source "{\"kernel_image_path\": \"$(guest_path halt)\"}")
[ "${got%% *}" = 204 ] && lib_ok "PUT /boot-source: the kernel checked by the broker" ||
	lib_fail "PUT /boot-source -> $got"
kill -TERM $pid
wait $pid
rm -f "$sock"

lib_new_run "API-configured VM, the API thread opens /etc/shadow"
VMM_SANDBOX_TEST=1 VMM_SANDBOX_TEST_VIOLATION=api:open "$VMM" --api-sock "$sock" --debug-exit \
	--console stdio --landlock-rules "$LIB_TMP/snaps:rw" -v -v </dev/null >"$RUN_OUT" \
	2>"$RUN_ERR" &
pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
api PUT /boot-source "{\"kernel_image_path\": \"$(guest_path halt)\", \"boot_args\": \"halt.irq=1\"}" >/dev/null
api PUT /drives/disk0 "{\"drive_id\": \"disk0\", \"path_on_host\": \"$disk\", \"is_root_device\": false, \"is_read_only\": false}" >/dev/null
api PATCH /machine-config '{"track_dirty_pages": true}' >/dev/null
got=$(api PUT /actions '{"action_type": "InstanceStart"}')
[ "${got%% *}" = 204 ] && lib_ok "InstanceStart" || lib_fail "InstanceStart -> $got"
for _ in $(seq 50); do grep -q "api thread's open(/etc/shadow): Permission denied" "$RUN_ERR" && break; sleep 0.1; done
grep -q "the api thread's open(/etc/shadow): Permission denied" "$RUN_ERR" && kill -0 $pid &&
	lib_ok "EACCES for the API thread once the VM exists; the VMM runs on" ||
	lib_fail "api thread: $(grep shadow "$RUN_ERR")"
list=$(grep "landlock: on (ABI [0-9]*); the VMM may open only: " "$RUN_ERR")
[[ "$list" == *" $LIB_TMP:rw "* && "$list" == *" $LIB_TMP/snaps:rwc "* ]] &&
	lib_ok "-v -v lists what was allowed" || lib_fail "no list: $(grep landlock "$RUN_ERR")"

got=$(api PATCH /drives/disk0 "{\"drive_id\": \"disk0\", \"path_on_host\": \"$LIB_TMP/disk2.img\"}")
[ "${got%% *}" = 204 ] && lib_ok "a swap in the disk's directory: 204" || lib_fail "swap inside -> $got"
got=$(api PATCH /drives/disk0 "{\"drive_id\": \"disk0\", \"path_on_host\": \"$outside/disk.img\"}")
case "$got" in
"400 "*"outside what this VMM may open"*) lib_ok "a swap outside: ${got:0:150}" ;;
*) lib_fail "swap outside -> $got" ;;
esac
api PATCH /vm '{"state": "Paused"}' >/dev/null
got=$(api PUT /snapshot/create "{\"snapshot_path\": \"$outside/state\", \"mem_file_path\": \"$outside/mem\"}")
[ "${got%% *}" = 204 ] && [ -s "$outside/state" ] && [ -f "$outside/mem" ] &&
	[ ! -e "$outside/state.tmp" ] &&
	lib_ok "a snapshot outside the set, no --landlock-rules: made by the opener" ||
	lib_fail "snapshot outside -> $got"
got=$(api PUT /snapshot/create "{\"snapshot_path\": \"$LIB_TMP/snaps/state\", \"mem_file_path\": \"$LIB_TMP/snaps/mem\"}")
[ "${got%% *}" = 204 ] && [ -s "$LIB_TMP/snaps/state" ] &&
	lib_ok "a snapshot into a --landlock-rules directory" || lib_fail "snapshot inside -> $got"
got=$(api PUT /snapshot/create "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"$outside/state-diff\", \"mem_file_path\": \"$outside/mem\"}")
[ "${got%% *}" = 204 ] && [ -s "$outside/state-diff" ] &&
	lib_ok "a Diff snapshot onto that memory file, outside the set" || lib_fail "Diff outside -> $got"
ln -s "$outside/victim" "$outside/s2.tmp"
got=$(api PUT /snapshot/create "{\"snapshot_path\": \"$outside/s2\", \"mem_file_path\": \"$outside/mem2\"}")
case "$got" in
"400 "*"symbolic link"*) [ ! -e "$outside/victim" ] && lib_ok "a link at the temporary name: ${got:0:120}" ||
	lib_fail "written through the link" ;;
*) lib_fail "a link at the temporary name -> $got" ;;
esac
got=$(api PUT /snapshot/create '{"snapshot_path": "/proc/self/attr/current", "mem_file_path": "/proc/self/mem"}')
[ "${got%% *}" = 400 ] && lib_ok "a snapshot into /proc: ${got:0:120}" || lib_fail "into /proc -> $got"
got=$(api PUT /logger "{\"log_path\": \"$outside/after.log\", \"level\": \"Info\"}")
[ "${got%% *}" = 204 ] && [ -f "$outside/after.log" ] &&
	lib_ok "PUT /logger once the VM runs, a new file outside the set" || lib_fail "PUT /logger after -> $got"
opener=$(grep -l '^Name:.*opener' /proc/$pid/task/*/status 2>/dev/null | head -1)
if [ -n "$opener" ] && grep -q '^CapEff:.*0000000000000000' "$opener" &&
	grep -q '^CapPrm:.*0000000000000000' "$opener" && grep -q '^Seccomp:.*2' "$opener"; then
	lib_ok "the opener thread: no capability, a seccomp filter"
else
	lib_fail "opener thread: ${opener:-none}: $(grep -E 'Cap(Eff|Prm)|Seccomp:' "$opener" 2>/dev/null | tr '\n' ' ')"
fi
kill -0 $pid && lib_ok "the VMM runs on" || lib_fail "the VMM died: $(tail -3 "$RUN_ERR")"
kill -TERM $pid
wait $pid
[ ! -e "$sock" ] && lib_ok "the API socket removed at exit" || lib_fail "the API socket stayed"

lib_new_run "--landlock bad"
"$VMM" --kernel "$(guest_path halt)" --landlock maybe >/dev/null 2>"$RUN_ERR"
RUN_STATUS=$?
expect_status 2
lib_new_run "--landlock-rules bad"
"$VMM" --kernel "$(guest_path halt)" --landlock-rules /tmp >/dev/null 2>"$RUN_ERR"
RUN_STATUS=$?
expect_status 2
finish
