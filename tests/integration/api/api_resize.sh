#!/usr/bin/env bash
# PUT /vmm/vm.resize and vmmctl resize without a guest that answers (a test guest with no ACPI:
# vmm/vm/cpu_hotplug.h): the bad requests refused with a 400 that says why and change nothing,
# a grow accepted (the VMM's side: the vCPU woken, GET /vm/config's vcpu_count and max_vcpus), a
# shrink the guest never answers refused after its timeout with the vCPU kept, a paused VM
# refused, a snapshot of a VM with an absent vCPU restored and migrated with it absent and then
# grown, a snapshot with the guest's vCPU event unread refused, and a VM started without max=M
# refused.
# The guest's side (Linux onlining and ejecting the vCPU) is linux/linux_vcpu_hotplug.sh.
# labels: api
# requires: kvm
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

kernel=$(guest_path i8042_keys) || finish
VMMCTL="${VMMCTL:-$BUILD_DIR/tools/vmmctl/vmmctl}"

# api SOCK METHOD PATH [BODY]: prints "CODE BODY" of the answer.
api() {
	local out="$LIB_TMP/answer"
	local code
	code=$(curl -s -o "$out" -w '%{http_code}' --max-time 30 --unix-socket "$1" -X "$2" \
		${4:+-d "$4"} "http://localhost$3")
	echo "$code $(cat "$out" 2>/dev/null)"
}

# expect_answer WHAT WANT_CODE REGEX SOCK METHOD PATH [BODY]
expect_answer() {
	local what=$1 want=$2 re=$3
	shift 3
	local got
	got=$(api "$@")
	if [ "${got%% *}" = "$want" ] && echo "$got" | grep -Eq -- "$re"; then
		lib_ok "$what -> $want"
	else
		lib_fail "$what: want $want matching /$re/, got: $got"
	fi
}

# start_vm SOCK CPUS: the test guest waiting (for a Ctrl-Alt-Del that never comes).
start_vm() {
	lib_new_run "vmm --cpus $2 + vm.resize"
	timeout "$RUN_TIMEOUT" "$VMM" --kernel "$kernel" --debug-exit --api-sock "$1" --cpus "$2" \
		--append "xlate=1 wait_ms=120000" </dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
	vm_pid=$!
	for _ in $(seq 300); do grep -q "waiting for Ctrl-Alt-Del" "$RUN_OUT" && break; sleep 0.1; done
}

stop_vm() {
	kill "$vm_pid" 2>/dev/null
	wait "$vm_pid" 2>/dev/null
}

sock="$LIB_TMP/resize.sock"
start_vm "$sock" boot=1,max=2
expect_answer "max_vcpus in GET /vm/config" 200 '"max_vcpus": ?2' "$sock" GET /vm/config
expect_answer "desired_vcpus 0" 400 'desired_vcpus must be between 1' "$sock" PUT /vmm/vm.resize \
	'{"desired_vcpus": 0}'
expect_answer "desired_vcpus 3 (max 2)" 400 "between 1 and 2 \\(the VM's maximum\\)" "$sock" PUT \
	/vmm/vm.resize '{"desired_vcpus": 3}'
expect_answer "no desired_vcpus" 400 'desired_vcpus is missing' "$sock" PUT /vmm/vm.resize '{}'
expect_answer "desired_ram" 400 'PATCH /hotplug/memory' "$sock" PUT /vmm/vm.resize \
	'{"desired_vcpus": 2, "desired_ram": 1073741824}'
expect_answer "an unknown field" 400 'bogus' "$sock" PUT /vmm/vm.resize \
	'{"desired_vcpus": 2, "bogus": 1}'
expect_answer "still 1 vCPU" 200 '"vcpu_count": ?1,' "$sock" GET /vm/config
expect_answer "pause" 204 '' "$sock" PATCH /vm '{"state": "Paused"}'
expect_answer "resize while paused" 400 'paused' "$sock" PUT /vmm/vm.resize '{"desired_vcpus": 2}'
# a snapshot of 1 of 2 vCPUs (the absent one's state too), restored: still 1 of 2, then grown
snap="$LIB_TMP/snap"
mkdir -p "$snap"
expect_answer "snapshot of 1 of 2 vCPUs" 204 '' "$sock" PUT /snapshot/create \
	"{\"snapshot_path\": \"$snap/state\", \"mem_file_path\": \"$snap/memory\"}"
stop_vm
rm -f "$sock"
lib_new_run "vmm --restore (1 of 2 vCPUs)"
timeout "$RUN_TIMEOUT" "$VMM" --api-sock "$sock" --restore "$snap" </dev/null >"$RUN_OUT" \
	2>"$RUN_ERR" &
vm_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
expect_answer "the restored VM: 1 of 2" 200 '"vcpu_count": ?1,.*"max_vcpus": ?2' "$sock" GET \
	/vm/config
# that VM migrated (its absent vCPU's state too): the rest runs on the destination
mig="$LIB_TMP/dst.mig"
src_pid=$vm_pid
timeout "$RUN_TIMEOUT" "$VMM" --api-sock "$LIB_TMP/dst.sock" --migrate-from "unix:$mig" \
	</dev/null >>"$RUN_OUT" 2>>"$RUN_ERR" &
vm_pid=$!
for _ in $(seq 100); do [ -S "$mig" ] && break; sleep 0.1; done
expect_answer "migrate 1 of 2 vCPUs" 204 '' "$sock" PUT /vmm/send-migration \
	"{\"destination_url\": \"unix:$mig\"}"
for _ in $(seq 300); do kill -0 "$src_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$src_pid" 2>/dev/null && lib_fail "the source still runs" || lib_ok "the source ended"
sock="$LIB_TMP/dst.sock"
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
expect_answer "the migrated VM: 1 of 2" 200 '"vcpu_count": ?1,.*"max_vcpus": ?2' "$sock" GET \
	/vm/config
expect_answer "resize the migrated VM to 2" 204 '' "$sock" PUT /vmm/vm.resize '{"desired_vcpus": 2}'
# the test guest has no ACPI: it never reads the event, which a snapshot would lose
expect_answer "pause the restored VM" 204 '' "$sock" PATCH /vm '{"state": "Paused"}'
expect_answer "a snapshot with the guest's event unread" 400 'has not answered the last vCPU change' \
	"$sock" PUT /snapshot/create "{\"snapshot_path\": \"$snap/s2\", \"mem_file_path\": \"$snap/m2\"}"
expect_answer "resume the restored VM" 204 '' "$sock" PATCH /vm '{"state": "Resumed"}'
expect_answer "2 vCPUs in GET /vm/config" 200 '"vcpu_count": ?2,' "$sock" GET /vm/config
expect_answer "resize to 2 again (no change)" 204 '' "$sock" PUT /vmm/vm.resize \
	'{"desired_vcpus": 2}'
# the test guest has no ACPI: it never ejects the vCPU
expect_answer "resize to 1, not ejected" 400 'did not eject 1 of the 1 vCPUs.*2 vCPUs are present' \
	"$sock" PUT /vmm/vm.resize '{"desired_vcpus": 1, "timeout_ms": 300}'
expect_answer "still 2 vCPUs" 200 '"vcpu_count": ?2,' "$sock" GET /vm/config
if [ -x "$VMMCTL" ]; then
	out=$("$VMMCTL" --sock "$sock" resize --vcpus 1 --timeout-ms 200 2>&1)
	echo "$out" | grep -q 'did not eject' && lib_ok "vmmctl resize --vcpus 1: the guest's refusal" ||
		lib_fail "vmmctl resize --vcpus 1: $out"
	out=$("$VMMCTL" --sock "$sock" resize --vcpus 0 2>&1)
	echo "$out" | grep -q 'wants 1-64' && lib_ok "vmmctl resize --vcpus 0 refused" ||
		lib_fail "vmmctl resize --vcpus 0: $out"
fi
kill -0 "$vm_pid" 2>/dev/null && lib_ok "the VM still runs" || lib_fail "the VM ended"
stop_vm

start_vm "$sock" 1
expect_answer "a VM without max=M" 400 'no vCPU hotplug.*boot=N,max=M' "$sock" PUT /vmm/vm.resize \
	'{"desired_vcpus": 1}'
stop_vm

# the config file's machine-config max_vcpus
printf '{"boot-source": {"kernel_image_path": "%s", "boot_args": "xlate=1 wait_ms=120000"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 128, "max_vcpus": 3}}' "$kernel" \
	>"$LIB_TMP/c.json"
rm -f "$sock"
lib_new_run "vmm --config-file (max_vcpus 3)"
timeout "$RUN_TIMEOUT" "$VMM" --config-file "$LIB_TMP/c.json" --api-sock "$sock" --debug-exit \
	</dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
vm_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
expect_answer "max_vcpus from the config file" 200 '"vcpu_count": ?1,.*"max_vcpus": ?3' "$sock" \
	GET /vm/config
expect_answer "resize to 3" 204 '' "$sock" PUT /vmm/vm.resize '{"desired_vcpus": 3}'
stop_vm
printf '{"boot-source": {"kernel_image_path": "%s"}, "machine-config": {"vcpu_count": 2,
 "mem_size_mib": 128, "max_vcpus": 1}}' "$kernel" >"$LIB_TMP/c2.json"
"$VMM" --config-file "$LIB_TMP/c2.json" </dev/null >"$LIB_TMP/o" 2>&1 &&
	lib_fail "max_vcpus below vcpu_count accepted" ||
	{ grep -q 'max_vcpus must be between' "$LIB_TMP/o" && lib_ok "max_vcpus below vcpu_count refused" ||
		lib_fail "max_vcpus 1 of 2: $(cat "$LIB_TMP/o")"; }

# the command line's checks
for bad in "boot=2,max=1" "max=2" "boot=0,max=2" "1,max=65" "boot=1,bogus=2"; do
	if "$VMM" --kernel "$kernel" --cpus "$bad" </dev/null >"$LIB_TMP/o" 2>&1; then
		lib_fail "--cpus $bad accepted"
	else
		grep -q -- "--cpus" "$LIB_TMP/o" && lib_ok "--cpus $bad refused" ||
			lib_fail "--cpus $bad: $(cat "$LIB_TMP/o")"
	fi
done
"$VMM" --kernel "$kernel" --cpus boot=1,max=2 --acpi off </dev/null >"$LIB_TMP/o" 2>&1 &&
	lib_fail "--cpus max=2 --acpi off accepted" || lib_ok "--cpus max=2 --acpi off refused"
finish
