#!/usr/bin/env bash
# MMDS from the default Linux guest (issue 28), configured as Firecracker documents it: the VMM
# starts with --api-sock only; the test PUTs a boot source (the initramfs with its shell on the
# console), a NIC on a tap in a network namespace made here, PUT /mmds/config (V2, that NIC) and
# a document, and starts the VM. In the guest (busybox, static IP from the kernel command line):
#   - a route to 169.254.169.254 on eth0 (the user guide's `ip route add`);
#   - wget without a token fails (401 in V2);
#   - a token from PUT /latest/api/token (busybox nc: its wget cannot PUT), then wget with
#     X-metadata-token gets the value, as IMDS text;
#   - the host PATCHes the store while the guest runs, and the guest reads the new value;
#   - mmds-get (guest-images/tools/mmds-get.c): 100 GETs with a token on one keep-alive
#     connection, and a 401 without a token;
#   - a snapshot (pause, PUT /snapshot/create), this VMM killed, a new one loads it over the API
#     (resume_vm): GET /vm/config shows the NIC as eth0 and the mmds-config, GET /mmds the
#     patched store; in the guest the old token is refused (tokens are not kept) and a new
#     token reads the patched value.
# The same boot checks the tap itself (what net_linux_tap.sh did in a boot of its own): the
# kernel's static IP configuration completes and the guest answers ping from the namespace.
# Not run where KVM is unusable (the requires line).
# labels: slow linux net
# requires: kvm netns
# timeout: 900
# resource: linux:1
. "$(dirname "${BASH_SOURCE[0]}")/../lib/linux_lib.sh"

NS="vmmtest-mmds-$$"
TAP=vtap0
sock="$tmp/api.sock"
ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev "$TAP" mode tap vnet_hdr || exit 1
ip -n "$NS" addr add 192.168.78.1/24 dev "$TAP"
ip -n "$NS" link set "$TAP" up

mkfifo "$tmp/in"
sleep 900 >"$tmp/in" &
sleeper=$!
ip netns exec "$NS" "$VMM" --api-sock "$sock" --console stdio --landlock-rules "$tmp:rw" \
	<"$tmp/in" >"$tmp/log" 2>"$tmp/err" &
vmm_pid=$!
trap 'kill $sleeper 2>/dev/null; kill -9 $vmm_pid 2>/dev/null; ip netns del "$NS" 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done

guest() { printf '%s\n' "$@" >"$tmp/in"; }

cmdline="$CMDLINE vmmguest.shell=1 vmmguest.dhcp=0"
cmdline+=" ip=192.168.78.2::192.168.78.1:255.255.255.0::eth0:off"
want 204 PUT /boot-source "{\"kernel_image_path\": \"$VMLINUX\", \"initrd_path\": \"$INITRAMFS\", \"boot_args\": \"$cmdline\"}"
want 204 PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 256}'
want 204 PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"$TAP\", \"guest_mac\": \"52:54:00:78:00:02\"}"
want 204 PUT /mmds/config '{"network_interfaces": ["eth0"], "version": "V2"}'
want 204 PUT /mmds '{"latest": {"meta-data": {"ami-id": "ami-12345678", "local-hostname": "vm1"}}}'
want 204 PUT /actions '{"action_type": "InstanceStart"}'

wait_for "VMM-GUEST-SHELL: starting" 600
check "the guest's shell started" "VMM-GUEST-SHELL: starting"
check "the kernel configured eth0 (IP-Config: Complete)" "IP-Config: Complete"
if ip netns exec "$NS" ping -c 3 -i 0.5 -W 5 192.168.78.2 >"$tmp/ping" 2>&1; then
	echo "ok: the guest answers ping on the tap: $(tail -n 1 "$tmp/ping")"
else
	echo "FAIL: no answer to ping on the tap: $(tail -n 2 "$tmp/ping")"
	fail=1
fi
guest "ip route add 169.254.169.254 dev eth0"
guest "wget -q -O - http://169.254.169.254/latest/meta-data/ami-id; echo MMDS-NOTOKEN-RC=\$?"
wait_for "MMDS-NOTOKEN-RC=[0-9]" 120
check "V2: a GET without a token fails" "MMDS-NOTOKEN-RC=[1-9]"
# new_token TAG: TOK in the guest's shell from PUT /latest/api/token (busybox nc: its wget cannot
# PUT), one process after the other: on kvm_pvm busybox processes started together (a pipeline)
# compute with wrong memory now and then, under QEMU too (nc segfaulted at its first TLS access
# here; docs/testing.md, "Known issue"); up to three tries, each failed one shown.
new_token() {
	local try
	for try in 1 2 3; do
		guest "printf 'PUT /latest/api/token HTTP/1.0\\r\\nX-metadata-token-ttl-seconds: 600\\r\\n\\r\\n' >/tmp/req; nc 169.254.169.254 80 </tmp/req >/tmp/resp; TOK=\$(tail -n 1 /tmp/resp)"
		guest "echo $1$try=\${#TOK}-"
		wait_for "$1$try=[0-9]+-" 300
		tr -d '\r' <"$tmp/log" | grep -q "^$1$try=64-" && break
		echo "note: token try $try: $(tr -d '\r' <"$tmp/log" | grep -oE "^$1$try=[0-9]*-"), the console's last fault:"
		tr -d '\r' <"$tmp/log" | grep -E "segfault|Segmentation" | tail -1
	done
}
new_token MMDS-TOKEN-LEN
check "a V2 token of 64 characters" "MMDS-TOKEN-LEN[0-9]=64-"
# (each wait is for the whole value: a line comes in pieces on a loaded host, and a check of a
# partial line failed so in linux_mmds_slirp, CI 2026-11-27)
guest "echo MMDS-VALUE=\$(wget -q -O - --header \"X-metadata-token: \$TOK\" http://169.254.169.254/latest/meta-data/ami-id)"
wait_for "MMDS-VALUE=ami-[0-9]{8}" 120
check "the guest reads its metadata with the token" "MMDS-VALUE=ami-12345678"
# one program at a time (docs/testing.md: pipelines on kvm_pvm); this step lost its line to a
# `wget | tr` pipeline in two fresh-clone runs
guest "wget -q -O /tmp/mlist --header \"X-metadata-token: \$TOK\" http://169.254.169.254/latest/meta-data/; tr '\\n' , </tmp/mlist >/tmp/mlist2; read L </tmp/mlist2; echo MMDS-LIST=\$L"
wait_for "MMDS-LIST=.*hostname" 120
check "IMDS listing of a dictionary" "MMDS-LIST=ami-id,local-hostname"

want 204 PATCH /mmds '{"latest": {"meta-data": {"ami-id": "ami-87654321"}}}'
guest "echo MMDS-PATCHED=\$(wget -q -O - --header \"X-metadata-token: \$TOK\" http://169.254.169.254/latest/meta-data/ami-id)"
wait_for "MMDS-PATCHED=ami-[0-9]{8}" 120
check "the guest sees the host's PATCH" "MMDS-PATCHED=ami-87654321"

# V2 over one keep-alive connection (guest-images/tools/mmds-get.c: the token from PUT, then 100
# GETs with it; the latency it prints is for reading, tools/bench mmds-latency measures it)
# (wait for the whole latency line: the console may show it in pieces)
guest "mmds-get -2 -n 100 /latest/meta-data/ami-id"
wait_for "mmds-get: 100 GETs .* max [0-9]+ us|mmds-get: .*failed" 300
check "V2: 100 GETs with a token on one keep-alive connection" "mmds-get: 100 GETs \(keep-alive\): median [0-9]+ us"
tr -d '\r' <"$tmp/log" | grep -E "^mmds-get: [0-9]+ GETs" | sed 's/^/latency: /'
guest "mmds-get /latest/meta-data/ami-id; echo MMDS-NOTOKEN2-RC=\$?"
wait_for "MMDS-NOTOKEN2-RC=[0-9]" 120
check "V2: mmds-get without a token gets a 401" "mmds-get: status 401"

# ---- the store, its configuration and the NIC's name through a snapshot ----
want 204 PATCH /vm '{"state": "Paused"}'
mkdir -p "$tmp/snap"
want 204 PUT /snapshot/create "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$tmp/snap/state\", \"mem_file_path\": \"$tmp/snap/memory\"}"
kill -9 $vmm_pid 2>/dev/null
wait $vmm_pid 2>/dev/null
rm -f "$sock"
ip netns exec "$NS" "$VMM" --api-sock "$sock" --console stdio --landlock-rules "$tmp:rw" \
	<"$tmp/in" >>"$tmp/log" 2>>"$tmp/err" &
vmm_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
# the snapshot's tap is a host interface: the load confirms it (network_overrides)
want 204 PUT /snapshot/load "{\"snapshot_path\": \"$tmp/snap/state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$tmp/snap/memory\"}, \"resume_vm\": true, \"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"$TAP\"}]}"
api GET /vm/config >/dev/null
check "GET /vm/config after the load names the NIC eth0" '"iface_id":"eth0"' "$tmp/body"
check "GET /vm/config after the load has the mmds-config" '"mmds-config":\{"version":"V2","network_interfaces":\["eth0"\]' "$tmp/body"
api GET /mmds >/dev/null
check "GET /mmds after the load is the patched store" 'ami-87654321' "$tmp/body"
guest "echo MMDS-OLDTOKEN-RC=\$(wget -q -O - --header \"X-metadata-token: \$TOK\" http://169.254.169.254/latest/meta-data/ami-id >/dev/null 2>&1; echo \$?)"
wait_for "MMDS-OLDTOKEN-RC=[0-9]" 300
check "after the load, the old token is refused" "MMDS-OLDTOKEN-RC=[1-9]"
new_token MMDS-NEWTOKEN-LEN
guest "echo MMDS-RESTORED=\$(wget -q -O - --header \"X-metadata-token: \$TOK\" http://169.254.169.254/latest/meta-data/ami-id)"
wait_for "MMDS-RESTORED=ami-[0-9]{8}" 300
check "after the load, a new token reads the patched value" "MMDS-RESTORED=ami-87654321"

guest "poweroff"
for i in $(seq 120); do
	kill -0 $vmm_pid 2>/dev/null || break
	# once seen on kvm_pvm: the line typed sat unread until more input came
	[ "$i" = 60 ] && guest "poweroff"
	sleep 1
done
tr -d '\r' <"$tmp/log" >"$tmp/log.txt" && mv "$tmp/log.txt" "$tmp/log"
linux_finish
