#!/usr/bin/env bash
# vCPU hotplug (docs/hotplug.md#vcpus) with Debian 12's stock cloud kernel (ACPI processor
# driver with CONFIG_ACPI_HOTPLUG_CPU=y, built in): one boot on our VMM with --cpus
# boot=1,max=2, /init in its vCPU hotplug mode (guest-images/stock/init.sh,
# vmmstock.end=vcpuhp). The test, through vmmctl and the API:
#   - /init sees 2 possible CPUs and 1 present (the MADT's online-capable entry);
#   - when /init waits: the bad requests (desired_vcpus 0, 3 above the maximum, a resize of
#     a paused VM: 400s, nothing changed), then `vmmctl resize --vcpus 2` (204): cpu1 arrives
#     (the DSDT's CSCN notifies C001, _STA says present, _MAT gives its APIC ID), /init onlines
#     it and /proc/cpuinfo lists 2 CPUs; GET /vm/config says vcpu_count 2, max_vcpus 2;
#   - when /init is ready: the VM paused and snapshotted with cpu1 online, the VMM killed and
#     `vmm --restore` run (GET /vm/config: 2 of 2); there `vmmctl resize --vcpus 1` (204 once
#     the guest offlined cpu1 and its _EJ0 wrote the controller): cpu1 goes from sysfs;
#   - resize to 2 again: the parked vCPU is reused, cpu1 comes back online;
#   - the restored VMM ends with status 0 after the guest's poweroff -f, no ACPI error in the
#     log.
# Where it runs: on kvm_pvm (this project's machines) Linux SMP does not come up, and Debian's
# kernel does not run at all (linux_stock.sh): in tools/kvm-in-qemu's L1, as
# linux_stock_hotplug.sh.
# labels: slow linux api
# requires: kvm
# timeout: 900
# resource: linux:2
set -uo pipefail

SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
VMM="${VMM:-$PWD/vmm}"
QEMU="${QEMU:-qemu-system-x86_64}"
VMMCTL="${VMMCTL:-$(dirname "$VMM")/tools/vmmctl/vmmctl}"
BOOT_TIMEOUT=${BOOT_TIMEOUT:-400}
SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
. "$SOURCE_DIR/tests/integration/lib/require.sh"
. "$SOURCE_DIR/tests/integration/lib/l1_lib.sh"

# ---- the boot (here, or in L1) ----

# until_line REGEX PID [LOG]: waits for /init's line in LOG (default vmm: the first VMM's
# console; vmm2: the restored one's) (false when the VM ended or after BOOT_TIMEOUT).
until_line() {
	local i
	for ((i = 0; i < BOOT_TIMEOUT * 2; i++)); do
		tr -d '\r' <"$out/${3:-vmm}.log" 2>/dev/null | grep -qE -- "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}

# ctl NAME ARGS...: vmmctl's output, duration (ms) and status into $out/NAME.
ctl() {
	local name=$1 t0 t1
	shift
	t0=$(date +%s%N)
	"$VMMCTL" --sock "$sock" "$@" >"$out/$name" 2>&1
	local st=$?
	t1=$(date +%s%N)
	echo "ms $(((t1 - t0) / 1000000))" >>"$out/$name"
	echo "status $st" >>"$out/$name"
}

# api NAME METHOD PATH [BODY]: the HTTP code and body into $out/NAME.
api() {
	curl -s -o "$out/$1.body" -w '%{http_code}' --max-time 60 --unix-socket "$sock" -X "$2" \
		${4:+-d "$4"} "http://localhost$3" >"$out/$1"
	cat "$out/$1.body" >>"$out/$1" 2>/dev/null
}

drive() {
	local pid=$1
	until_line '^VMM-STOCK-VCPUHP: waiting$' "$pid" || return
	api zero PUT /vmm/vm.resize '{"desired_vcpus": 0}'
	api three PUT /vmm/vm.resize '{"desired_vcpus": 3}'
	api pause PATCH /vm '{"state": "Paused"}'
	api paused PUT /vmm/vm.resize '{"desired_vcpus": 2}'
	api resume PATCH /vm '{"state": "Resumed"}'
	ctl add1 resize --vcpus 2
	api config1 GET /vm/config
	until_line '^VMM-STOCK-VCPUHP: ready to remove' "$pid" || return
	# a snapshot with cpu1 online, the VMM killed, the snapshot restored: the rest runs there
	api pause2 PATCH /vm '{"state": "Paused"}'
	mkdir -p "$out/snap"
	api snap2 PUT /snapshot/create "{\"snapshot_path\": \"$out/snap/state\", \"mem_file_path\": \"$out/snap/memory\"}"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	rm -f "$sock"
	timeout -k 10 "$BOOT_TIMEOUT" "$VMM" --api-sock "$sock" --restore "$out/snap" \
		</dev/null >"$out/vmm2.log" 2>"$out/vmm2.err" &
	local pid2=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
	api config_r GET /vm/config
	ctl rm1 resize --vcpus 1 --timeout-ms 60000
	api config2 GET /vm/config
	until_line '^VMM-STOCK-VCPUHP: waiting again' "$pid2" vmm2 &&
		ctl add2 resize --vcpus 2
	wait "$pid2"
	echo $? >"$out/vmm2.status"
}

run_boot() {
	local cmdline=$STOCK_CMDLINE_NORMAL pid start=$SECONDS
	[ -e /sys/module/kvm_pvm ] && cmdline=$STOCK_CMDLINE_EMULATED_KVM
	[ -n "${STOCK_INNER:-}" ] && cmdline+=" noxsave" # linux_stock.sh says why
	sock=/tmp/vmm-vcpuhp-$$.sock
	timeout -k 10 "$BOOT_TIMEOUT" "$VMM" --kernel "$STOCK_KERNEL" --initrd "$STOCK_INITRAMFS" \
		--cpus boot=1,max=2 --mem 256M --api-sock "$sock" \
		--append "$cmdline vmmstock.end=vcpuhp" </dev/null >"$out/vmm.log" 2>"$out/vmm.err" &
	pid=$!
	rm -f "$out/vmm2.status"
	drive "$pid" # kills this VMM after the snapshot and waits for the restored one
	kill "$pid" 2>/dev/null # (a drive that gave up early)
	wait "$pid" 2>/dev/null
	rm -f "$sock"
	echo "vmm: $((SECONDS - start)) s"
	# In L1 a boot that did not end well is L1's to retry (l1_run); the checks show the last.
	if [ -n "${STOCK_INNER:-}" ] && [ "$(cat "$out/vmm2.status" 2>/dev/null)" != 0 ]; then
		echo "vmm: the restored VMM ended with status $(cat "$out/vmm2.status" 2>/dev/null): L1 once more"
		return 3
	fi
	return 0
}

if [ -n "${STOCK_INNER:-}" ]; then
	out=$STOCK_OUT
	echo "in L1: $(kvm_probe_line)"
	run_boot
	exit $?
fi

env_out=$("$SOURCE_DIR/guest-images/stock.sh" --print-env) ||
	skip "no stock kernel" "guest-images/stock.sh could not fetch Debian's kernel (above)"
set -a
eval "$env_out"
set +a
out=$(mktemp -d "${BUILD_DIR:-$PWD}/linux_vcpu_hotplug.XXXXXX")
if [ -n "${STOCK_KEEP:-}" ]; then echo "note: $out is kept (STOCK_KEEP)"; else trap 'rm -rf "$out"' EXIT; fi
if l1_wanted "${STOCK_DIRECT:-0}"; then
	l1_require "$L1_PVM_WHY"
	echo "where: kvm_pvm, so the boot runs in tools/kvm-in-qemu's L1 (linux_stock.sh says why)"
	BOOT_TIMEOUT=180
	export VMM VMMCTL QEMU SOURCE_DIR BOOT_TIMEOUT STOCK_INNER=1 STOCK_OUT="$out"
	L1_ATTEMPTS=3 l1_run "$out" 240 'vmm:' "" -- bash "$SCRIPT"
	unset STOCK_INNER
else
	echo "where: directly on this host's KVM ($(kvm_probe_line))"
	run_boot
fi

# ---- the checks ----
fail=0
ok() { echo "ok: $*"; }
bad() {
	echo "FAIL: $*"
	fail=1
}
cat "$out/vmm.log" "$out/vmm2.log" 2>/dev/null | tr -d '\r' >"$out/vmm.txt"
line() { sed -n "s/^VMM-STOCK-$1: //p" "$out/vmm.txt" | head -1; }
ctl_status() { sed -n 's/^status //p' "$out/$1" 2>/dev/null; }
expect_ctl() { # NAME STATUS REGEX WHAT
	if [ "$(ctl_status "$1")" = "$2" ] && grep -qE -- "$3" "$out/$1"; then
		ok "$4 ($(sed -n 's/^ms //p' "$out/$1") ms)"
	else
		bad "$4: $(cat "$out/$1" 2>/dev/null || echo 'not run')"
	fi
}
expect_api() { # NAME REGEX WHAT
	if grep -qE -- "$2" "$out/$1" 2>/dev/null; then ok "$3"; else bad "$3: $(cat "$out/$1" 2>/dev/null || echo 'not run')"; fi
}
expect_line() { # KEY REGEX WHAT
	local v
	v=$(line "$1")
	if grep -qE -- "$2" <<<"$v"; then ok "$3: $v"; else bad "$3: '$v' (want /$2/)"; fi
}
st=$(cat "$out/vmm2.status" 2>/dev/null)
[ "$st" = 0 ] && ok "the restored VMM ended with status 0 after the guest's poweroff" ||
	bad "the restored VMM's status '$st'"
expect_line VCPUHP-START '^possible=0-1 cpuinfo=1 online=0 present=0$' "2 possible CPUs, 1 present"
expect_api zero '^400.*between 1' "desired_vcpus 0: 400"
expect_api three "^400.*the VM's maximum" "desired_vcpus 3 (max 2): 400"
expect_api paused '^400.*paused' "a resize of a paused VM: 400"
expect_ctl add1 0 '' "vmmctl resize --vcpus 2"
expect_line VCPUHP-ADDED '^cpu1 after [0-9]+s cpu1-online=1 cpuinfo=2 online=0-1 present=0-1$' "cpu1 arrived and is online"
expect_api config1 '^200.*"vcpu_count": ?2.*"max_vcpus": ?2' "GET /vm/config: 2 of 2"
expect_api pause2 '^204' "pause with cpu1 online"
expect_api snap2 '^204' "snapshot with cpu1 online"
expect_api config_r '^200.*"vcpu_count": ?2.*"max_vcpus": ?2' "the restored VM: GET /vm/config 2 of 2"
expect_ctl rm1 0 '' "vmmctl resize --vcpus 1 on the restored VM (its guest ejected cpu1)"
expect_line VCPUHP-REMOVED '^cpu1 gone after [0-9]+s cpuinfo=1 online=0 present=0$' "cpu1 went"
expect_api config2 '^200.*"vcpu_count": ?1[,}]' "GET /vm/config: 1"
expect_ctl add2 0 '' "vmmctl resize --vcpus 2 again"
expect_line VCPUHP-AGAIN '^cpu1 after [0-9]+s cpu1-online=1 cpuinfo=2' "cpu1 back online (the parked vCPU reused)"
if grep -qE 'ACPI( BIOS)? (Error|Warning)' "$out/vmm.txt"; then
	bad "the kernel's ACPI complained: $(grep -m3 -E 'ACPI( BIOS)? (Error|Warning)' "$out/vmm.txt")"
else
	ok "no ACPI error or warning in the kernel's log"
fi
grep -iE 'smpboot|CPU1|ACPI: CPU' "$out/vmm.txt" | head -8 | sed 's/^/note: /'
if [ $fail -ne 0 ]; then
	echo "---- console (last 40 lines)"
	tail -40 "$out/vmm.txt"
	echo "---- vmm stderr (last 15 lines), the restored one's"
	tail -15 "$out/vmm.err"
	tail -15 "$out/vmm2.err"
fi
exit $fail
