#!/usr/bin/env bash
# The sandbox is real: every thread of a running VMM has a seccomp filter, no_new_privs and no
# capabilities; a forbidden system call made on purpose by a device thread, a vCPU thread or the
# API thread (the test trigger VMM_SANDBOX_TEST=1 VMM_SANDBOX_TEST_VIOLATION=ROLE) kills the
# VMM by SIGSYS; with --seccomp log (SCMP_ACT_LOG) the call is made, the kernel logs it and the
# VMM runs on; --seccomp off installs no filter but still drops the capabilities.
# labels: sandbox
# requires: kvm
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

kernel=$(guest_path halt) || finish
sock="$LIB_TMP/api.sock"

# start ARGS...: a long-running VMM (the halt guest waits with interrupts on) in the background
start() {
	"$VMM" --kernel "$kernel" --debug-exit --console stdio --rng --api-sock "$sock" \
		--append "halt.irq=1" "$@" </dev/null >"$LIB_TMP/out" 2>"$LIB_TMP/err" &
	pid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
	sleep 1
}
stop() {
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# every thread: Seccomp 2 (filter), NoNewPrivs 1, no effective/permitted capabilities, an
# empty bounding set
check_threads() { # check_threads WANT_SECCOMP
	local bad=0 n=0 t
	for t in /proc/"$pid"/task/*; do
		n=$((n + 1))
		local name sc nnp eff prm bnd
		name=$(cat "$t/comm")
		sc=$(awk '/^Seccomp:/ {print $2}' "$t/status")
		nnp=$(awk '/^NoNewPrivs:/ {print $2}' "$t/status")
		eff=$(awk '/^CapEff:/ {print $2}' "$t/status")
		prm=$(awk '/^CapPrm:/ {print $2}' "$t/status")
		bnd=$(awk '/^CapBnd:/ {print $2}' "$t/status")
		if [ "$sc" != "$1" ] || [ "$nnp" != 1 ] || [ "$eff" != 0000000000000000 ] ||
			[ "$prm" != 0000000000000000 ] || [ "$bnd" != 0000000000000000 ]; then
			echo "  thread $name: Seccomp $sc NoNewPrivs $nnp CapEff $eff CapPrm $prm CapBnd $bnd"
			bad=1
		fi
	done
	[ "$n" -ge 4 ] || bad=1
	return $bad
}

# field THREAD FIELD: FIELD of /proc/$pid/task/*/status for the thread named THREAD (the main
# thread is "vmm")
field() {
	local t
	for t in /proc/"$pid"/task/*; do
		[ "$(cat "$t/comm")" = "$1" ] && awk -v f="$2:" '$1 == f {print $2}' "$t/status" && return
	done
	echo "no-thread-$1"
}

lib_new_run "default (--seccomp on)"
start
if check_threads 2; then lib_ok "all $(ls /proc/$pid/task | wc -l) threads: Seccomp 2, NoNewPrivs 1, no capabilities"; else lib_fail "a thread is not confined"; fi
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" -X PATCH -d '{"state": "Paused"}' http://localhost/vm)
[ "$code" = 204 ] && lib_ok "the confined API still pauses the VM" || lib_fail "pause -> $code"
stop

# The API thread is confined before its first request, with no VM yet (Landlock too:
# landlock.sh); the broker, which will build the VM, and the main thread keep only what they
# need until the VM exists.
lib_new_run "API only, no VM yet"
"$VMM" --api-sock "$sock" </dev/null >"$LIB_TMP/out" 2>"$LIB_TMP/err" &
pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
# The socket is bound before the thread that serves it has named and confined itself: wait for
# both (a few seconds at most), so a loaded host does not fail the check by being slow.
for _ in $(seq 50); do
	[ "$(field api Seccomp)" = 2 ] && [ "$(field vmm NoNewPrivs)" = 1 ] && break
	sleep 0.1
done
if [ "$(field api Seccomp)" = 2 ] && [ "$(field api NoNewPrivs)" = 1 ] &&
	[ "$(field api CapEff)" = 0000000000000000 ]; then
	lib_ok "the API thread is confined before any request"
else
	lib_fail "API thread: Seccomp $(field api Seccomp) NoNewPrivs $(field api NoNewPrivs) CapEff $(field api CapEff)"
fi
# The broker (which will build the VM for the API) has its filter and keeps only CAP_NET_ADMIN
# (12, a tap), CAP_DAC_OVERRIDE (1) and CAP_DAC_READ_SEARCH (2): 0x1006; the main thread, which
# only waits, none at all; no thread has a bounding set.
[ "$(field broker Seccomp)" = 2 ] && [ "$(field broker CapEff)" = 0000000000001006 ] &&
	lib_ok "the broker: a filter, CAP_NET_ADMIN and the DAC pair only" ||
	lib_fail "broker: Seccomp $(field broker Seccomp) CapEff $(field broker CapEff)"
[ "$(field vmm CapEff)" = 0000000000000000 ] && [ "$(field vmm CapPrm)" = 0000000000000000 ] &&
	[ "$(field vmm NoNewPrivs)" = 1 ] &&
	lib_ok "the main thread waits without capabilities, no_new_privs set" ||
	lib_fail "main: CapEff $(field vmm CapEff) CapPrm $(field vmm CapPrm) NoNewPrivs $(field vmm NoNewPrivs)"
bnd=$(awk '/^CapBnd:/ {print $2}' /proc/"$pid"/task/*/status | sort -u)
[ "$bnd" = 0000000000000000 ] && lib_ok "no thread has a bounding set" || lib_fail "CapBnd: $bnd"
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" http://localhost/)
[ "$code" = 200 ] && lib_ok "the confined API answers" || lib_fail "API -> $code"
stop
rm -f "$sock"

# A VM the API builds (the broker builds it) with a tap the broker opens (CAP_NET_ADMIN, kept
# until the VM exists; the tap must exist at PUT, as in Firecracker), in a network namespace of
# its own; once the VM runs every thread is confined as with a command-line VM.
lib_new_run "API-built VM with a tap"
ns="vmmsb$$"
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null && ip netns add "$ns" 2>/dev/null &&
	ip -n "$ns" tuntap add dev vmmtap0 mode tap 2>/dev/null; then
	trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$LIB_TMP"' EXIT
	ip netns exec "$ns" "$VMM" --api-sock "$sock" --debug-exit --console stdio </dev/null \
		>"$LIB_TMP/out" 2>"$LIB_TMP/err" &
	pid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
	put() { curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" -X PUT -d "$2" "http://localhost$1"; }
	codes="$(put /boot-source "{\"kernel_image_path\": \"$kernel\", \"boot_args\": \"halt.irq=1\"}")"
	codes+=" $(put /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "vmmtap0"}')"
	codes+=" $(put /actions '{"action_type": "InstanceStart"}')"
	[ "$codes" = "204 204 204" ] && lib_ok "boot-source, network-interfaces, InstanceStart: $codes" ||
		lib_fail "API boot with a tap: $codes: $(grep -i error "$LIB_TMP/err" | head -2)"
	sleep 1
	if check_threads 2; then lib_ok "all $(ls /proc/$pid/task | wc -l) threads confined, no bounding set"; else lib_fail "a thread is not confined"; fi
	stop
	rm -f "$sock"
	ip netns del "$ns" 2>/dev/null
else
	ip netns del "$ns" 2>/dev/null
	echo "note: not root or no ip netns: the API-built VM with a tap is not checked"
fi

lib_new_run "--seccomp off"
start --seccomp off
if check_threads 0; then lib_ok "no filter, capabilities dropped all the same"; else lib_fail "off"; fi
stop

lib_new_run "--user 65534:65534"
start --user 65534:65534
uids=$(awk '/^Uid:/ {print $2 $3 $4 $5}' /proc/"$pid"/task/*/status | sort -u)
gids=$(awk '/^Gid:/ {print $2 $3 $4 $5}' /proc/"$pid"/task/*/status | sort -u)
if [ "$uids" = 65534655346553465534 ] && [ "$gids" = 65534655346553465534 ]; then
	lib_ok "every thread runs as 65534:65534"
else
	lib_fail "uids $uids gids $gids"
fi
if check_threads 2; then lib_ok "and every thread confined, its bounding set empty"; else lib_fail "--user: a thread is not confined"; fi
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" http://localhost/)
[ "$code" = 200 ] && lib_ok "the API answers" || lib_fail "API -> $code"
stop
rm -f "$sock"

# The same switch when the API builds the VM: the broker and the API thread, confined before
# it, take part in it (CAP_SETUID/CAP_SETGID kept until then), then lose every capability.
lib_new_run "--user 65534:65534, API-built VM"
"$VMM" --api-sock "$sock" --user 65534:65534 --debug-exit --console stdio </dev/null \
	>"$LIB_TMP/out" 2>"$LIB_TMP/err" &
pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
codes="$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" -X PUT \
	-d "{\"kernel_image_path\": \"$kernel\", \"boot_args\": \"halt.irq=1\"}" http://localhost/boot-source)"
codes+=" $(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" -X PUT \
	-d '{"action_type": "InstanceStart"}' http://localhost/actions)"
[ "$codes" = "204 204" ] && lib_ok "boot-source, InstanceStart: $codes" || lib_fail "API boot as 65534: $codes"
sleep 1
uids=$(awk '/^Uid:/ {print $2 $3 $4 $5}' /proc/"$pid"/task/*/status | sort -u)
[ "$uids" = 65534655346553465534 ] && lib_ok "every thread runs as 65534" || lib_fail "uids $uids"
if check_threads 2; then lib_ok "every thread confined, its bounding set empty"; else lib_fail "a thread is not confined"; fi
stop
rm -f "$sock"

# kernel_logged PID NR: the kernel's audit log (dmesg) has a seccomp record (type=1326) of PID's
# system call NR. Where the log cannot be read (not root, an audit daemon takes the records)
# it says so and checks nothing.
kernel_logged() {
	if ! dmesg >/dev/null 2>&1 || pidof auditd >/dev/null 2>&1; then
		echo "note: the kernel log is not readable here (or auditd has it): not checked"
		return 0
	fi
	if dmesg | grep -q "type=1326.* pid=$1 .* syscall=$2 "; then
		lib_ok "the kernel logged pid $1's system call $2"
	else
		lib_fail "no kernel log record of pid $1's system call $2"
	fi
}

# a forbidden call on purpose (getpgrp, in no list), in each kind of thread: --seccomp on kills
# the VMM; --seccomp log (SCMP_ACT_LOG) lets the call through, the kernel logs it, the VM runs on
for role in io-virtio-rng vcpu0 api; do
	lib_new_run "$role makes a forbidden call, --seccomp on"
	VMM_SANDBOX_TEST=1 VMM_SANDBOX_TEST_VIOLATION=$role timeout 60 "$VMM" --kernel "$kernel" \
		--debug-exit --console stdio --rng --api-sock "$sock" --append "halt.irq=1" \
		</dev/null >"$RUN_OUT" 2>"$RUN_ERR"
	RUN_STATUS=$?
	expect_status 159 # 128 + SIGSYS
	rm -f "$sock"

	lib_new_run "$role makes a forbidden call, --seccomp log"
	VMM_SANDBOX_TEST=1 VMM_SANDBOX_TEST_VIOLATION=$role start --seccomp log
	for _ in $(seq 50); do grep -q "getpgrp() returned" "$LIB_TMP/err" && break; sleep 0.2; done
	if grep -q "the $role thread's getpgrp() returned [0-9]" "$LIB_TMP/err" && kill -0 "$pid"; then
		lib_ok "the call returned and the VMM runs on"
	else
		lib_fail "no answer to $role's call, or the VMM died: $(tail -3 "$LIB_TMP/err")"
	fi
	grep -q "seccomp log: calls outside a thread's list are allowed" "$LIB_TMP/err" &&
		lib_ok "says where the calls are logged" || lib_fail "no word on the log mode"
	stop
	kernel_logged "$pid" 111 # getpgrp
	rm -f "$sock"
done

# the broker too (--seccomp on only: the kernel logs at most 10 records in 5 s, and the loop
# above makes most of them)
lib_new_run "broker makes a forbidden call, --seccomp on"
VMM_SANDBOX_TEST=1 VMM_SANDBOX_TEST_VIOLATION=broker timeout 60 "$VMM" --kernel "$kernel" \
	--debug-exit --console stdio --rng --api-sock "$sock" --append "halt.irq=1" \
	</dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
expect_status 159
rm -f "$sock"

# an ioctl outside the API thread's request numbers (FIONREAD on stderr): the api list allows
# ioctl only with the KVM, block and tap requests it makes, so --seccomp on kills the VMM and
# --seccomp log lets the call through and the kernel logs it
lib_new_run "api makes an unlisted ioctl, --seccomp on"
VMM_SANDBOX_TEST=1 VMM_SANDBOX_TEST_VIOLATION=api:ioctl timeout 60 "$VMM" --kernel "$kernel" \
	--debug-exit --console stdio --rng --api-sock "$sock" --append "halt.irq=1" \
	</dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
expect_status 159
rm -f "$sock"
lib_new_run "api makes an unlisted ioctl, --seccomp log"
VMM_SANDBOX_TEST=1 VMM_SANDBOX_TEST_VIOLATION=api:ioctl start --seccomp log
for _ in $(seq 50); do grep -q "ioctl(FIONREAD) returned" "$LIB_TMP/err" && break; sleep 0.2; done
if grep -q "the api thread's ioctl(FIONREAD) returned 0" "$LIB_TMP/err" && kill -0 "$pid"; then
	lib_ok "the ioctl returned and the VMM runs on"
else
	lib_fail "no answer to the api thread's ioctl, or the VMM died: $(tail -3 "$LIB_TMP/err")"
fi
stop
kernel_logged "$pid" 16 # ioctl
rm -f "$sock"

# without VMM_SANDBOX_TEST=1 the trigger does nothing
lib_new_run "trigger without VMM_SANDBOX_TEST"
VMM_SANDBOX_TEST_VIOLATION=vcpu0 timeout 60 "$VMM" --kernel "$(guest_path hello)" --debug-exit \
	</dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
expect_pass

lib_new_run "--user bad"
"$VMM" --kernel "$kernel" --user nobody >/dev/null 2>"$RUN_ERR"
RUN_STATUS=$?
expect_status 2

lib_new_run "--seccomp bad"
"$VMM" --kernel "$kernel" --seccomp maybe >/dev/null 2>"$RUN_ERR"
RUN_STATUS=$?
expect_status 2
finish
