#!/usr/bin/env bash
# A hostile guest floods the MMDS address and the other traffic still flows (issue 28): the
# mmds_flood test guest (tests/guests/mmds_flood.c) on a NIC with MMDS V1, built through the API
# as Firecracker's guide does (boot source, a NIC on a tap in a network namespace made here,
# PUT /mmds/config, PUT /mmds, InstanceStart). The guest GETs its ami-id, floods MMDS with
# malformed frames, ARP, a SYN flood, connections that never finish or never acknowledge, and
# stray segments, then reaches this script's echo server on the same NIC and GETs the value
# again. Checked here:
#   - the guest's verdict and its lines (TEST PASS, the exit status 1 through --debug-exit);
#   - while it waits, GET /mmds over the API answers with the document, and a PATCH it makes is
#     what the guest then reads;
#   - no frame to 169.254.169.254 (IPv4 or ARP) ever reaches the tap (a packet socket counts
#     every frame the guest sends there);
#   - the VMM's stderr shows no crash.
# A tap (linux_mmds_slirp.sh has MMDS on libslirp): the packet socket on it sees what leaks.
# labels: guests net mmds
# requires: kvm netns curl python3
# timeout: 240
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/net_lib.sh"

NS="vmmtest-mmdsf-$$"
TAP=mftap0
HOST_IP=192.168.79.1
PORT=7777
WANT=ami-12345678
PATCHED=ami-87654321
sock="$LIB_TMP/api.sock"
RUN_TIMEOUT=180 # the VMM run, flood and checks included (under a minute on kvm_pvm)
VM_PID=""
SRV_PID=""
SNIFF_PID=""

net_require ip python3 curl

cleanup() {
	[ -n "$VM_PID" ] && kill "$VM_PID" 2>/dev/null
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
	[ -n "$SNIFF_PID" ] && kill "$SNIFF_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$LIB_TMP"
}
trap cleanup EXIT

make_ns || {
	echo "FAIL: cannot make namespace $NS with tap $TAP"
	exit 1
}

cat >"$LIB_TMP/host.py" <<'EOF'
# serve IP PORT: answers one line per connection with "echo: <line>" (until killed)
# sniff TAP:     counts the frames the guest sends on TAP, and those to 169.254.169.254 (IPv4
#                destination or ARP target); prints the counts when killed (SIGTERM)
import signal, socket, sys

def serve(ip, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, int(port)))
    s.listen(4)
    print("listening", flush=True)
    while True:
        c, _ = s.accept()
        with c:
            line = c.makefile("rb").readline()
            c.sendall(b"echo: " + line)

def sniff(tap):
    mmds = socket.inet_aton("169.254.169.254")
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))  # ETH_P_ALL
    s.bind((tap, 0))
    n = {"frames": 0, "mmds": 0}
    def done(*_):
        print("sniffed %d frames from the guest, %d to 169.254.169.254" % (n["frames"], n["mmds"]),
              flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, done)
    print("sniffing", flush=True)
    while True:
        f, addr = s.recvfrom(65536)
        if addr[2] == socket.PACKET_OUTGOING:
            continue  # to the guest
        n["frames"] += 1
        kind = f[12:14]
        if (kind == b"\x08\x00" and f[30:34] == mmds) or (kind == b"\x08\x06" and f[38:42] == mmds):
            n["mmds"] += 1

{"serve": serve, "sniff": sniff}[sys.argv[1]](*sys.argv[2:])
EOF

# ip netns exec execs python3: the pids are the servers' own (a backgrounded nsx would be a
# subshell, and killing it would leave them running)
ip netns exec "$NS" python3 "$LIB_TMP/host.py" serve "$HOST_IP" "$PORT" >"$LIB_TMP/server.log" 2>&1 &
SRV_PID=$!
ip netns exec "$NS" python3 "$LIB_TMP/host.py" sniff "$TAP" >"$LIB_TMP/sniff.log" 2>&1 &
SNIFF_PID=$!
for ((i = 0; i < 50; i++)); do
	grep -q listening "$LIB_TMP/server.log" && grep -q sniffing "$LIB_TMP/sniff.log" && break
	sleep 0.2
done

start_bg "vmm mmds_flood" "$VMM" --api-sock "$sock" --debug-exit --console stdio
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done

. "$(dirname "${BASH_SOURCE[0]}")/../lib/api_lib.sh" # api, want

kernel=$(guest_path mmds_flood) || finish
want 204 PUT /boot-source "{\"kernel_image_path\": \"$kernel\", \"boot_args\": \"port=$PORT want=$WANT patched=$PATCHED\"}"
want 204 PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 256}'
want 204 PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"$TAP\"}"
want 204 PUT /mmds/config '{"network_interfaces": ["eth0"], "version": "V1"}'
want 204 PUT /mmds "{\"latest\": {\"meta-data\": {\"ami-id\": \"$WANT\"}}}"
start=$(date +%s)
want 204 PUT /actions '{"action_type": "InstanceStart"}'

if wait_line "^mmds_flood: waiting for the host's PATCH" 150; then
	want 200 GET /mmds "" "\"ami-id\":\"$WANT\""
	want 204 PATCH /mmds "{\"latest\": {\"meta-data\": {\"ami-id\": \"$PATCHED\"}}}"
fi
for ((i = 0; i < 600; i++)); do
	kill -0 "$VM_PID" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$VM_PID" 2>/dev/null; then
	lib_fail "the VMM still runs 60 s after the PATCH"
	kill "$VM_PID"
fi
wait "$VM_PID"
RUN_STATUS=$?
VM_PID=""
echo "note: the VM ran $(($(date +%s) - start)) s"
kill "$SNIFF_PID" 2>/dev/null
wait "$SNIFF_PID" 2>/dev/null
SNIFF_PID=""

expect_pass
expect_output '^mmds arp: 169.254.169.254 is at 06:01:23:45:67:01: ok$'
expect_output "^mmds before: GET /latest/meta-data/ami-id -> 200 $WANT after"
expect_output '^flood malformed: .* none answered: ok$'
expect_output '^flood syn: 2000 SYNs'
expect_output "^other traffic: tcp to $HOST_IP:$PORT echoed in"
expect_output "^mmds after the flood: GET /latest/meta-data/ami-id -> 200 $WANT after"
expect_output "^mmds patched: GET /latest/meta-data/ami-id -> 200 $PATCHED after"
expect_output '^mmds_flood: pass$'
tr -d '\r' <"$RUN_OUT" | grep -E '^(flood|mmds|other traffic)' | sed 's/^/  guest: /'

sniffed=$(cat "$LIB_TMP/sniff.log")
if [[ "$sniffed" =~ sniffed\ ([0-9]+)\ frames.*\ ([0-9]+)\ to ]] && [ "${BASH_REMATCH[2]}" = 0 ]; then
	lib_ok "no frame to the MMDS address reached the tap ($sniffed)"
else
	lib_fail "the tap saw MMDS's frames: $sniffed"
fi
if grep -qE 'Segmentation|Sanitizer|Aborted|[Aa]ssertion|panic|core dumped' "$RUN_ERR"; then
	lib_fail "the VMM's stderr shows a crash"
	lib_dump_output
else
	lib_ok "no crash in the VMM's stderr"
fi
finish
