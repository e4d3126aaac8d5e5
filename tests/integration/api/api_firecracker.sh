#!/usr/bin/env bash
# Firecracker API conformance (issue 27), on every host: an unstarted VMM's API first meets slow,
# oversize and malformed clients (api_slow_clients.py), then Firecracker's getting-started
# sequence and its test framework's request bodies, each status code checked and each response
# body validated against JSON Schemas of Firecracker's documented models (api_firecracker.py).
# The network interface is in the sequence where a tap can be made (root and ip(8)); else that
# request is left out with a note. Where KVM is usable the InstanceStart runs the test guest
# and it must pass, and a Firecracker-shaped vm_config.json (nulls, huge_pages, logger) boots
# through --config-file; without KVM the start must be refused with 400. The log file PUT
# /logger names must get Firecracker-style lines.
# labels: api
# timeout: 240
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
python3 -c 'import jsonschema' 2>/dev/null ||
	skip "no python3-jsonschema" "the response bodies are validated with it (tools/setup.sh)"

sock="$LIB_TMP/api.sock"
root="$LIB_TMP/rootfs.img"
scratch="$LIB_TMP/scratch.img"
logfile="$LIB_TMP/fc.log"
truncate -s 1M "$root" "$scratch"
: >"$logfile"
kernel=$(guest_path hello) || finish
tap=""
cleanup() {
	kill -9 "$vmm_pid" 2>/dev/null
	[ -n "$tap" ] && ip link del "$tap" 2>/dev/null
	rm -rf "$LIB_TMP"
}
trap cleanup EXIT
if [ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] && command -v ip >/dev/null &&
	ip tuntap add dev "fcapi$$" mode tap 2>/dev/null; then
	tap="fcapi$$"
fi

"$VMM" --api-sock "$sock" --debug-exit --console stdio </dev/null >"$LIB_TMP/out" 2>"$LIB_TMP/err" &
vmm_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
RUN_LABEL="vmm --api-sock"

if python3 "$SOURCE_DIR/tests/integration/lib/api_slow_clients.py" "$sock"; then
	lib_ok "api_slow_clients.py: slow, oversize and malformed clients"
else
	lib_fail "api_slow_clients.py"
fi

kvm_flag=()
have_kvm && kvm_flag=(--kvm)
if python3 "$SOURCE_DIR/tests/integration/lib/api_firecracker.py" "$sock" "$kernel" "$root" \
	"$logfile" ${tap:+--tap "$tap"} "${kvm_flag[@]}" "$scratch"; then
	lib_ok "api_firecracker.py: the getting-started sequence and the framework's bodies"
else
	lib_fail "api_firecracker.py"
fi

if have_kvm; then
	wait "$vmm_pid"
	RUN_STATUS=$?
	RUN_OUT="$LIB_TMP/out"
	RUN_ERR="$LIB_TMP/err"
	expect_pass
else
	kill "$vmm_pid"
	wait "$vmm_pid" 2>/dev/null
fi

# the log: Firecracker's line shape, with the level and origin the PUT /logger asked for
line_re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z \[vmm:(ERROR|WARN|INFO|DEBUG):[^]]+:[0-9]+\] '
if [ -s "$logfile" ] && ! grep -qvE "$line_re" "$logfile"; then
	lib_ok "PUT /logger: $(wc -l <"$logfile") lines like: $(head -1 "$logfile")"
else
	lib_fail "PUT /logger: the log file is empty or has other lines: $(head -3 "$logfile")"
fi

# Firecracker's sample vm_config.json, every unset field null, as a --config-file
if have_kvm; then
	: >"$logfile.2"
	cat >"$LIB_TMP/vm_config.json" <<JSON
{
  "boot-source": {"kernel_image_path": "$kernel", "boot_args": "console=ttyS0 reboot=k panic=1",
                  "initrd_path": null},
  "drives": [{"drive_id": "rootfs", "partuuid": null, "is_root_device": true,
              "cache_type": "Unsafe", "is_read_only": false, "path_on_host": "$root",
              "io_engine": "Sync", "rate_limiter": null, "socket": null}],
  "machine-config": {"vcpu_count": 2, "mem_size_mib": 128, "smt": false,
                     "track_dirty_pages": false, "huge_pages": "None"},
  "cpu-config": null, "balloon": null, "network-interfaces": [], "vsock": null,
  "logger": {"log_path": "$logfile.2", "level": "Info", "show_level": false,
             "show_log_origin": false, "module": null},
  "metrics": null, "mmds-config": null, "entropy": null, "pmem": [], "memory-hotplug": null
}
JSON
	lib_new_run "vmm --config-file vm_config.json (Firecracker's shape)"
	timeout "$RUN_TIMEOUT" "$VMM" --config-file "$LIB_TMP/vm_config.json" --debug-exit \
		--console stdio </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
	RUN_STATUS=$?
	expect_pass
	sed -i 's/"huge_pages": "None"/"huge_pages": "2M"/' "$LIB_TMP/vm_config.json"
	lib_new_run "vmm --config-file vm_config.json with huge_pages 2M"
	"$VMM" --config-file "$LIB_TMP/vm_config.json" --debug-exit </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
	RUN_STATUS=$?
	expect_status 2
	if grep -q "hugetlbfs" "$RUN_ERR"; then lib_ok "2M refused: $(head -1 "$RUN_ERR")"; else
		lib_fail "2M: stderr lacks the reason: $(cat "$RUN_ERR")"
	fi
else
	echo "note: no usable KVM: the --config-file boot is left out"
fi
finish
