#!/usr/bin/env bash
# The API of a VMM whose VM is not started yet (vmm --api-sock alone), which needs no KVM and so
# runs on every host: every bad-input case and awkward client of api_clients.py, configuration
# answers (GET /, PUT /machine-config, /boot-source, /drives, GET /vm/config), the kernel, initrd
# and drive files checked at PUT (a 400 naming the file and the problem), PUT /metrics with
# emit_id and properties and the line FlushMetrics writes, InstanceStart refused without a
# kernel, and then InstanceStart of a configured test guest: where KVM is usable the guest runs
# and passes; where it is not, the start is refused with the KVM probe's
# reason in the fault_message (host/kvm/kvm_probe.h) and the VMM keeps answering.
# labels: api
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

sock="$LIB_TMP/api.sock"
disk="$LIB_TMP/disk.img"
truncate -s 1M "$disk"
kernel=$(guest_path hello) || finish

"$VMM" --api-sock "$sock" --debug-exit --console stdio </dev/null >"$LIB_TMP/out" 2>"$LIB_TMP/err" &
vmm_pid=$!
trap 'kill -9 $vmm_pid 2>/dev/null; rm -rf "$LIB_TMP"' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
RUN_LABEL="vmm --api-sock"

. "$(dirname "${BASH_SOURCE[0]}")/../lib/api_lib.sh" # api, want

want 200 GET / "" '"state":"Not started"'
want 400 PUT /actions '{"action_type": "InstanceStart"}' 'without kernel'
if python3 "$SOURCE_DIR/tests/integration/lib/api_clients.py" "$sock" --not-started; then
	lib_ok "api_clients.py --not-started"
else
	lib_fail "api_clients.py --not-started"
fi
want 204 PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
# Paths are checked at PUT, as Firecracker opens them there: a 400 naming the file and why.
want 400 PUT /boot-source "{\"kernel_image_path\": \"$LIB_TMP/none\"}" "kernel $LIB_TMP/none: No such file"
want 400 PUT /boot-source "{\"kernel_image_path\": \"$disk\"}" "kernel $disk: neither a bzImage nor an ELF"
want 400 PUT /boot-source "{\"kernel_image_path\": \"$kernel\", \"initrd_path\": \"$LIB_TMP\"}" "initrd $LIB_TMP: not a regular file"
mkfifo "$LIB_TMP/fifo"
want 400 PUT /drives/d0 "{\"drive_id\": \"d0\", \"path_on_host\": \"$LIB_TMP/fifo\", \"is_root_device\": false, \"is_read_only\": true}" "disk $LIB_TMP/fifo: not a regular file"
want 400 PUT /drives/d0 "{\"drive_id\": \"d0\", \"path_on_host\": \"$LIB_TMP/none\", \"is_root_device\": false}" "disk $LIB_TMP/none: .*No such file"
ro_disk="$LIB_TMP/ro.img"
truncate -s 1M "$ro_disk"
chmod 0444 "$ro_disk"
want 400 PUT /drives/d0 "{\"drive_id\": \"d0\", \"path_on_host\": \"$ro_disk\", \"is_root_device\": false, \"is_read_only\": false}" "disk $ro_disk: .*(read-only|Permission denied)"
want 200 GET /vm/config "" '"drives":\[\]'
want 204 PUT /boot-source "{\"kernel_image_path\": \"$kernel\"}"
want 204 PUT /drives/d0 "{\"drive_id\": \"d0\", \"path_on_host\": \"$disk\", \"is_root_device\": false, \"is_read_only\": true}"
want 200 GET /vm/config "" '"mem_size_mib":64'
# Metrics as Firecracker defines them: unknown fields refused, emit_id and properties on every
# JSON line of the file (FlushMetrics writes one now).
metrics="$LIB_TMP/metrics.json"
want 400 PUT /metrics "{\"metrics_path\": \"$metrics\", \"period\": 1}" 'period'
want 400 PUT /metrics "{\"metrics_path\": \"$metrics\", \"properties\": {\"n\": 1}}" 'must be a string'
want 204 PUT /metrics "{\"metrics_path\": \"$metrics\", \"emit_id\": true, \"properties\": {\"customer_id\": \"1234\"}}"
want 400 PUT /metrics "{\"metrics_path\": \"$metrics\"}" 'Reinitialization'
want 204 PUT /actions '{"action_type": "FlushMetrics"}'
id=$(api GET / | grep -o '"id":"[^"]*"')
if [ "$(wc -l <"$metrics")" = 1 ] && grep -q "^{\"utc_timestamp_ms\":[0-9]*,$id,\"properties\":{\"customer_id\":\"1234\"}," "$metrics"; then
	lib_ok "the metrics line carries $id and the properties"
else
	lib_fail "metrics line: $(head -c 300 "$metrics") (want $id and the properties)"
fi

if have_kvm; then
	want 204 PUT /actions '{"action_type": "InstanceStart"}'
	wait "$vmm_pid"
	RUN_STATUS=$?
	RUN_OUT="$LIB_TMP/out"
	RUN_ERR="$LIB_TMP/err"
	expect_pass
else
	probe=$("$SOURCE_DIR/tools/kvm-probe.sh")
	reason=${probe#kvm: unusable: }
	reason=${reason%%; fix: *}
	# Refused: Firecracker answers a failed start with 400.
	want 400 PUT /actions '{"action_type": "InstanceStart"}' "$(sed 's/[][\.*^$()+?{}|/]/\\&/g' <<<"$reason")"
	want 200 GET / "" '"state":"Not started"'
fi
finish
