#!/usr/bin/env bash
# MMDS from the default Linux guest on the other half of the combinations (issue 28):
# linux_mmds.sh covers V2 on a tap over virtio-mmio; this one V1 on user-mode networking
# (libslirp) over virtio-pci, configured by a Firecracker config file (`network-interfaces` with
# host_dev_name "user", `mmds-config` V1) and `--transport pci`, with the API beside it for the
# store. In the guest (DHCP from libslirp, its default route through 10.0.2.2):
#   - the PCI NIC is a virtio device on the PCI bus (/sys/bus/pci/drivers/virtio-pci);
#   - its MTU is the config file's `mtu` (1400, Firecracker's NetworkInterface field: the
#     config space's mtu with VIRTIO_NET_F_MTU), and GET /vm/config shows it;
#   - the user guide's `ip route add`, then busybox wget reads the value without a token (V1);
#   - mmds-get (guest-images/tools/mmds-get.c): a V1 GET with a token (V1 issues tokens and
#     ignores them), the IMDS listing, 100 GETs on one keep-alive connection and 20 with a
#     connection each (their latency is printed; tools/bench mmds-latency measures it);
#   - a GET of a missing path fails (404);
#   - the host PUTs a new document while the guest runs and the guest reads it;
#   - libslirp still carries the guest's other traffic: wget of a page the test serves on the
#     host's loopback (10.0.2.2 is the host for libslirp);
#   - the NIC's egress policy (issue 53, docs/networking.md): its "egress" allows that server's
#     port and the resolver only; MMDS and DHCP go on working, a second host server on another
#     port cannot be reached, and the refused frames show in the metrics' tx_egress_dropped.
# Not run where KVM is unusable (the requires line).
# labels: slow linux net
# requires: kvm
# timeout: 1200
# resource: linux:1
. "$(dirname "${BASH_SOURCE[0]}")/../lib/linux_lib.sh"

sock="$tmp/api.sock"
mkdir -p "$tmp/www"
echo "host-page-$$" >"$tmp/www/page"
python3 -u -m http.server --bind 127.0.0.1 --directory "$tmp/www" 0 >"$tmp/http.log" 2>&1 &
http_pid=$!
python3 -u -m http.server --bind 127.0.0.1 --directory "$tmp/www" 0 >"$tmp/http2.log" 2>&1 &
http2_pid=$!
for _ in $(seq 50); do
	port=$(grep -oE 'port [0-9]+' "$tmp/http.log" | grep -oE '[0-9]+')
	port2=$(grep -oE 'port [0-9]+' "$tmp/http2.log" | grep -oE '[0-9]+')
	[ -n "$port" ] && [ -n "$port2" ] && break
	sleep 0.1
done

cat >"$tmp/vm.json" <<EOF
{
  "boot-source": {"kernel_image_path": "$VMLINUX", "initrd_path": "$INITRAMFS",
                  "boot_args": "$CMDLINE vmmguest.shell=1"},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 256},
  "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "user",
                          "guest_mac": "52:54:00:79:00:02", "mtu": 1400,
                          "egress": ["10.0.2.2/32:tcp:${port:-1}", "dns=10.0.2.3"]}],
  "mmds-config": {"version": "V1", "network_interfaces": ["eth0"]}
}
EOF

mkfifo "$tmp/in"
sleep 900 >"$tmp/in" &
sleeper=$!
"$VMM" --transport pci --config-file "$tmp/vm.json" --api-sock "$sock" --console stdio \
	--landlock-rules "$tmp:rw" <"$tmp/in" >"$tmp/log" 2>"$tmp/err" &
vmm_pid=$!
trap 'kill $sleeper $http_pid $http2_pid 2>/dev/null; kill -9 $vmm_pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done

guest() { printf '%s\n' "$@" >"$tmp/in"; }

want 204 PUT /mmds '{"latest": {"meta-data": {"ami-id": "ami-11112222", "local-hostname": "vm2"}}}'
api GET /vm/config >/dev/null
check "GET /vm/config shows the NIC on user-mode networking" '"host_dev_name":"user"' "$tmp/body"
check "GET /vm/config shows the NIC's mtu" '"mtu":1400' "$tmp/body"
check "GET /vm/config shows the V1 mmds-config" '"mmds-config":\{"version":"V1"' "$tmp/body"
check "GET /vm/config shows the NIC's egress rules" '"egress":\["10.0.2.2/32:tcp:[0-9]+","dns=10.0.2.3"\]' "$tmp/body"

wait_for "VMM-GUEST-SHELL: starting" 600
check "the guest's shell started" "VMM-GUEST-SHELL: starting"
# the devices virtio-pci bound, by a glob: no pipeline (docs/testing.md: pipelines on kvm_pvm)
guest "set -- /sys/bus/pci/drivers/virtio-pci/*:*; [ -e \"\$1\" ] || shift; echo PCI-NET=\$#-"
wait_for "PCI-NET=[0-9]+-" 300
check "the NIC is a virtio-pci device" "PCI-NET=[1-9][0-9]*-"
guest "echo NET-MTU=\$(cat /sys/class/net/eth0/mtu)-"
wait_for "NET-MTU=[0-9]*-" 300
check "the guest's eth0 has the mtu given (VIRTIO_NET_F_MTU)" "NET-MTU=1400-"
guest "ip route add 169.254.169.254 dev eth0"
# Each answer is waited for whole (up to its "=END" or "-DONE" line): the console shows a line in
# pieces on a loaded host, and a check of a partial line failed so (CI, 2026-11-27).
guest "echo MMDS-WGET\"\"=\$(wget -q -O - http://169.254.169.254/latest/meta-data/ami-id)=END"
wait_for "^MMDS-WGET=.*=END" 300
check "V1: busybox wget reads the value without a token" "MMDS-WGET=ami-11112222=END"
guest "mmds-get -2 /latest/meta-data/ami-id; echo MMDS-GET\"\"-DONE"
wait_for "^MMDS-GET-DONE" 300
check "V1: a GET with a token reads the value too" "mmds-get: status 200, body: ami-11112222"
guest "mmds-get /latest/meta-data/; echo MMDS-LIST\"\"-DONE"
wait_for "^MMDS-LIST-DONE" 300
check "the IMDS listing names the first key" "status 200, body: ami-id.?$"
check "and the second" "^local-hostname.?$"
guest "mmds-get /latest/meta-data/nothing; echo MMDS-MISSING-RC=\$?"
wait_for "MMDS-MISSING-RC=[0-9]" 300
check "a missing path is a 404" "mmds-get: status 404"
check "and mmds-get fails on it" "MMDS-MISSING-RC=1"

# Wait for the whole latency line ("... max N us"): the console shows it in pieces on a loaded
# host, and the next command typed after a partial match would land inside it.
guest "mmds-get -n 100 /latest/meta-data/ami-id"
wait_for "mmds-get: 100 GETs .* max [0-9]+ us|mmds-get: .*failed" 300
check "100 GETs on one keep-alive connection" "mmds-get: 100 GETs \(keep-alive\): median [0-9]+ us"
guest "mmds-get -c -n 20 /latest/meta-data/ami-id"
wait_for "mmds-get: 20 GETs .* max [0-9]+ us|mmds-get: .*failed" 300
check "20 GETs with a connection each" "mmds-get: 20 GETs \(a connection each\): median [0-9]+ us"
tr -d '\r' <"$tmp/log" | grep -E "^mmds-get: [0-9]+ GETs" | sed 's/^/latency: /'

want 204 PUT /mmds '{"latest": {"meta-data": {"ami-id": "ami-33334444"}}}'
guest "echo MMDS-NEW\"\"=\$(wget -q -O - http://169.254.169.254/latest/meta-data/ami-id)=END"
wait_for "^MMDS-NEW=.*=END" 300
check "the guest reads the document the host PUT while it runs" "MMDS-NEW=ami-33334444=END"

if [ -n "$port" ]; then
	guest "echo HOST-PAGE\"\"=\$(wget -q -O - http://10.0.2.2:$port/page)=END"
	wait_for "^HOST-PAGE=.*=END" 300
	check "libslirp still carries the guest's other traffic" "HOST-PAGE=host-page-$$=END"
	# (busybox wget's own -T timeout ended it with SIGSEGV here, before any SYN: timeout(1) ends
	# it instead, after the kernel has sent and retried its SYN)
	guest "timeout 8 wget -q -O - http://10.0.2.2:$port2/page; echo REFUSED-RC=\$?"
	wait_for "REFUSED-RC=[0-9]+" 300
	check "the egress policy refuses the port it does not name" "REFUSED-RC=[1-9]"
	if grep -q "GET /page" "$tmp/http2.log"; then
		echo "FAIL: the refused port's server was reached"
		fail=1
	else
		echo "ok: the refused port's server saw no request"
	fi
	api GET /vmm/metrics >/dev/null
	echo "metrics: $(grep -oE '"tx_egress_dropped": ?[0-9]+' "$tmp/body" | tr '\n' ' ')"
	check "the refused frames are counted" '"tx_egress_dropped": ?[1-9]' "$tmp/body"
else
	echo "FAIL: the host's HTTP server did not start: $(cat "$tmp/http.log")"
	fail=1
fi

guest "poweroff"
for i in $(seq 120); do
	kill -0 $vmm_pid 2>/dev/null || break
	[ "$i" = 60 ] && guest "poweroff"
	sleep 1
done
tr -d '\r' <"$tmp/log" >"$tmp/log.txt" && mv "$tmp/log.txt" "$tmp/log"
linux_finish
