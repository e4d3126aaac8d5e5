#!/usr/bin/env bash
# virtio-balloon over virtio-mmio (tests/guests/virtio_balloon.c), the VMM's RSS measured from the
# host (/proc/PID/status VmRSS) at each step:
#   1. a 512 MiB guest touches 384 MiB; PATCH /balloon {"amount_mib": 256}: the guest inflates
#      256 MiB, `actual` follows (GET /balloon), and the RSS must drop by at least 200 MiB;
#   2. PATCH 0: the guest deflates and touches the pages again: the RSS comes back;
#   3. free page reporting: the guest touches 64 MiB more and reports it free: the RSS must drop
#      by at least 48 MiB; GET /balloon/statistics has the guest's statistics;
#   4. --balloon size=64 without the API: the guest inflates 64 MiB at once;
#   5. bad API input (PATCH above RAM, unknown fields, statistics not enabled);
#   6. a snapshot taken while the device holds the statistics buffer, restored by a new VMM:
#      target, actual and statistics survive, and the guest goes on following the target;
#   7. the guest of 1-3 on QEMU (virtio-balloon-device / -pci), the target set over QMP.
# TRANSPORT=pci (virtio_balloon_pci.sh): the same over modern virtio-pci (QEMU: q35, virtio-balloon-pci).
# labels: guests virtio
# requires: kvm
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

virtio_transport_init
GUEST_ARGS="$(guest_args split) touch=384M start=64M changes=2 report=64M wait=120"
SOCK="$LIB_TMP/api.sock"
VMM_PID=""

api() { # METHOD PATH [BODY] -> prints "STATUS BODY"
	curl -s --max-time 30 --unix-socket "$SOCK" -X "$1" -o "$LIB_TMP/api.out" \
		-w '%{http_code}' ${3:+-H 'Content-Type: application/json' -d "$3"} \
		"http://localhost$2"
	echo " $(cat "$LIB_TMP/api.out" 2>/dev/null)"
}

expect_api() { # WANT_STATUS METHOD PATH [BODY]
	local out
	out=$(api "$2" "$3" "${4:-}")
	if [ "${out%% *}" = "$1" ]; then
		lib_ok "$2 $3 -> $1"
	else
		lib_fail "$2 $3 ${4:-}: got '$out', want $1"
	fi
	API_OUT=${out#* }
}

rss_mib() {
	awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$VMM_PID/status"
}

# wait_line REGEX: until the guest printed a line matching REGEX (or the VMM is gone), 120 s at
# most (by the clock: a round of the loop costs far more than 0.1 s on a slow host).
wait_line() {
	local end=$((SECONDS + 120))
	while [ "$SECONDS" -lt "$end" ]; do
		tr -d '\r' <"$RUN_OUT" | grep -qE -- "$1" && return 0
		kill -0 "$VMM_PID" 2>/dev/null || break
		sleep 0.1
	done
	lib_fail "no /$1/ from the guest"
	lib_dump_output
	return 1
}

start_vmm() { # VMM ARGS...
	lib_new_run "vmm virtio_balloon $*"
	rm -f "$SOCK"
	"$VMM" --landlock-rules "$LIB_TMP:rw" --kernel "$(guest_path virtio_balloon)" --debug-exit --console stdio --mem 512M \
		"$@" </dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
	VMM_PID=$!
}

end_vmm() {
	local end=$((SECONDS + 60))
	while [ "$SECONDS" -lt "$end" ]; do
		kill -0 "$VMM_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$VMM_PID" 2>/dev/null
	wait "$VMM_PID"
	RUN_STATUS=$?
}

# drop_at_least LABEL BEFORE AFTER MIB
drop_at_least() {
	local drop=$(($2 - $3))
	echo "$1: RSS $2 MiB -> $3 MiB (drop $drop MiB)"
	if [ "$drop" -ge "$4" ]; then
		lib_ok "$1: RSS dropped by $drop MiB (>= $4)"
	else
		lib_fail "$1: RSS dropped by $drop MiB only, want >= $4"
	fi
}

# ---- 1-3: through the API ----
start_vmm "${vmm_transport[@]}" --api-sock "$SOCK" \
	--balloon size=0,stats=1s,deflate-on-oom=on,free-page-reporting=on --append "$GUEST_ARGS"
if wait_line '^BALLOON ready target=0 '; then
	sleep 0.5
	rss_touched=$(rss_mib)
	expect_api 200 GET /balloon
	grep -q '"amount_mib": *0' <<<"$API_OUT" && lib_ok "GET /balloon: amount_mib 0" ||
		lib_fail "GET /balloon: $API_OUT"
	expect_api 204 PATCH /balloon '{"amount_mib": 256}'
	wait_line '^BALLOON actual=65536 ' && sleep 0.5
	rss_inflated=$(rss_mib)
	drop_at_least "inflate 256 MiB of 512" "$rss_touched" "$rss_inflated" 200
	expect_api 200 GET /balloon
	grep -qE '"actual_mib": *256' <<<"$API_OUT" && lib_ok "actual_mib 256" ||
		lib_fail "GET /balloon after inflating: $API_OUT"

	expect_api 204 PATCH /balloon '{"amount_mib": 0}'
	wait_line '^BALLOON actual=0 ' && sleep 0.5
	rss_deflated=$(rss_mib)
	drop_at_least "deflate (RSS back up)" "$rss_deflated" "$rss_inflated" 200

	wait_line '^BALLOON report-ready' && sleep 0.5
	rss_report=$(rss_mib)
	expect_api 204 PATCH /balloon '{"amount_mib": 1}'
	wait_line '^BALLOON reported=67108864' && sleep 0.5
	drop_at_least "free page reporting of 64 MiB" "$rss_report" "$(rss_mib)" 48

	expect_api 200 GET /balloon/statistics
	for field in target_pages actual_pages total_memory free_memory minor_faults; do
		grep -q "\"$field\"" <<<"$API_OUT" && lib_ok "statistics have $field" ||
			lib_fail "statistics lack $field: $API_OUT"
	done
	expect_api 204 PATCH /balloon/statistics '{"stats_polling_interval_s": 2}'
	expect_api 400 PATCH /balloon '{"amount_mib": 513}'
	expect_api 400 PATCH /balloon '{"amount_mib": 1, "what": 2}'
	expect_api 400 PATCH /balloon/statistics '{"stats_polling_interval_s": 0}'
	expect_api 400 PUT /balloon '{"amount_mib": 1, "deflate_on_oom": false}'
	expect_api 204 PATCH /balloon '{"amount_mib": 2}' # the guest's cue to finish
fi
end_vmm
expect_pass
expect_output '^BALLOON done stats-refreshes=[1-9]'

# ---- 4: the target from the command line, no API ----
start_vmm "${vmm_transport[@]}" --balloon size=64 --append "$(guest_args split) touch=128M changes=0 wait=2"
wait_line '^BALLOON actual=16384 ' && sleep 0.3
rss=$(rss_mib)
echo "--balloon size=64 with 128 MiB touched: RSS $rss MiB"
[ "$rss" -lt 100 ] && lib_ok "RSS $rss MiB < 100 MiB" || lib_fail "RSS $rss MiB, want < 100"
end_vmm
expect_output '^BALLOON ready target=16384 '
expect_output 'num_pages stayed 16384' # the guest gave up waiting for a change: it ran to the end

# ---- 5: no balloon, statistics off ----
start_vmm "${vmm_transport[@]}" --api-sock "$SOCK" --balloon size=0 \
	--append "$(guest_args split) touch=4M changes=1 wait=60"
if wait_line '^BALLOON ready'; then
	expect_api 400 GET /balloon/statistics
	expect_api 400 PATCH /balloon/statistics '{"stats_polling_interval_s": 5}'
	expect_api 204 PATCH /balloon '{"amount_mib": 1}'
	wait_line '^BALLOON actual=256 '
	expect_api 204 PATCH /balloon '{"amount_mib": 0}'
fi
end_vmm
expect_pass
# ---- 6: a snapshot with the statistics buffer held, restored in a new VMM ----
start_vmm "${vmm_transport[@]}" --api-sock "$SOCK" --balloon size=0,stats=1s \
	--append "$(guest_args split) touch=64M changes=2 wait=60"
if wait_line '^BALLOON ready'; then
	expect_api 204 PATCH /balloon '{"amount_mib": 16}'
	wait_line '^BALLOON actual=4096 '
	sleep 2 # a statistics round trip or two
	expect_api 204 PATCH /vm '{"state": "Paused"}'
	mkdir -p "$LIB_TMP/snap"
	expect_api 204 PUT /snapshot/create \
		"{\"snapshot_path\": \"$LIB_TMP/snap/state\", \"mem_file_path\": \"$LIB_TMP/snap/memory\"}"
	kill -9 "$VMM_PID"
	wait "$VMM_PID" 2>/dev/null
	first_out=$RUN_OUT
	lib_new_run "vmm --restore (virtio_balloon)"
	rm -f "$SOCK"
	"$VMM" --restore "$LIB_TMP/snap" --api-sock "$SOCK" </dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
	VMM_PID=$!
	for ((i = 0; i < 100; i++)); do [ -S "$SOCK" ] && break; sleep 0.1; done
	expect_api 200 GET /balloon
	grep -qE '"actual_mib": *16' <<<"$API_OUT" && lib_ok "restored: actual_mib 16" ||
		lib_fail "restored balloon: $API_OUT"
	expect_api 200 GET /balloon/statistics
	grep -q '"total_memory"' <<<"$API_OUT" && lib_ok "restored: the statistics" ||
		lib_fail "restored statistics: $API_OUT"
	expect_api 204 PATCH /balloon '{"amount_mib": 0}'
	wait_line '^BALLOON actual=0 stats-refreshes=[1-9]'
	expect_api 204 PATCH /balloon '{"amount_mib": 1}'
	end_vmm
	expect_pass
	RUN_OUT=$first_out
	expect_output '^BALLOON actual=4096 '
fi
# ---- 7: the same guest on QEMU, the target set over QMP (QEMU's "balloon" takes the guest size
# it wants, in bytes) ----
qmp_balloon() { # GUEST_MIB
	python3 - "$LIB_TMP/qmp.sock" "$1" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()
for cmd in ({"execute": "qmp_capabilities"},
            {"execute": "balloon", "arguments": {"value": int(sys.argv[2]) << 20}}):
    f.write(json.dumps(cmd) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            break
    if "error" in r:
        sys.exit(r["error"]["desc"])
PY
}

if have_qemu; then
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		accel=(-enable-kvm -cpu host,-arch-capabilities)
	else
		accel=(-accel tcg -cpu max)
	fi
	lib_new_run "qemu($qemu_machine) virtio_balloon"
	"$QEMU" "${accel[@]}" -M "$qemu_machine" -m 512M -nodefaults -no-user-config -nographic \
		-serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 "${qemu_extra[@]}" \
		-device "$(qemu_model balloon)$qemu_opts,free-page-reporting=on" \
		-qmp "unix:$LIB_TMP/qmp.sock,server=on,wait=off" -kernel "$(guest_path virtio_balloon)" \
		-append "$GUEST_ARGS" </dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
	VMM_PID=$!
	if wait_line '^BALLOON ready target=0 '; then
		sleep 0.5
		before=$(rss_mib)
		qmp_balloon 256 && lib_ok "QMP balloon 256 MiB" || lib_fail "QMP balloon"
		wait_line '^BALLOON actual=65536 ' && sleep 0.5
		drop_at_least "QEMU: inflate 256 MiB of 512" "$before" "$(rss_mib)" 200
		qmp_balloon 512
		wait_line '^BALLOON actual=0 '
		wait_line '^BALLOON report-ready' && sleep 0.5
		before=$(rss_mib)
		qmp_balloon 511
		wait_line '^BALLOON reported=' && sleep 0.5
		drop_at_least "QEMU: free page reporting of 64 MiB" "$before" "$(rss_mib)" 48
		qmp_balloon 510
	fi
	end_vmm
	expect_pass
fi
finish
