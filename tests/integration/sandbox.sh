#!/usr/bin/env bash
# The sandbox is real: every thread of a running VMM has a seccomp filter, no_new_privs and no
# capabilities; a forbidden system call made on purpose by a device thread, a vCPU thread or the
# API thread (the test trigger VMM_SANDBOX_TEST=1 VMM_SANDBOX_TEST_VIOLATION=ROLE) kills the
# VMM by SIGSYS, with --seccomp log after a message naming the role and the call; --seccomp off
# installs no filter but still drops the capabilities.
# labels: sandbox
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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

# every thread: Seccomp 2 (filter), NoNewPrivs 1, no effective/permitted capabilities
check_threads() { # check_threads WANT_SECCOMP
	local bad=0 n=0 t
	for t in /proc/"$pid"/task/*; do
		n=$((n + 1))
		local name sc nnp eff prm
		name=$(cat "$t/comm")
		sc=$(awk '/^Seccomp:/ {print $2}' "$t/status")
		nnp=$(awk '/^NoNewPrivs:/ {print $2}' "$t/status")
		eff=$(awk '/^CapEff:/ {print $2}' "$t/status")
		prm=$(awk '/^CapPrm:/ {print $2}' "$t/status")
		if [ "$sc" != "$1" ] || [ "$nnp" != 1 ] || [ "$eff" != 0000000000000000 ] ||
			[ "$prm" != 0000000000000000 ]; then
			echo "  thread $name: Seccomp $sc NoNewPrivs $nnp CapEff $eff CapPrm $prm"
			bad=1
		fi
	done
	[ "$n" -ge 4 ] || bad=1
	return $bad
}

lib_new_run "default (--seccomp on)"
start
if check_threads 2; then lib_ok "all $(ls /proc/$pid/task | wc -l) threads: Seccomp 2, NoNewPrivs 1, no capabilities"; else lib_fail "a thread is not confined"; fi
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" -X PATCH -d '{"state": "Paused"}' http://localhost/vm)
[ "$code" = 204 ] && lib_ok "the confined API still pauses the VM" || lib_fail "pause -> $code"
stop

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
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" http://localhost/)
[ "$code" = 200 ] && lib_ok "the API answers" || lib_fail "API -> $code"
stop
rm -f "$sock"

# a forbidden call on purpose, in each kind of thread
for role in io-virtio-rng vcpu0 api; do
	for mode in log on; do
		lib_new_run "$role makes a forbidden call, --seccomp $mode"
		VMM_SANDBOX_TEST=1 VMM_SANDBOX_TEST_VIOLATION=$role timeout 60 "$VMM" --kernel "$kernel" \
			--debug-exit --console stdio --rng --api-sock "$sock" --append "halt.irq=1" \
			--seccomp "$mode" </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
		RUN_STATUS=$?
		expect_status 159 # 128 + SIGSYS
		if [ "$mode" = log ]; then
			if grep -q "the $role thread made a forbidden system call: execve" "$RUN_ERR"; then
				lib_ok "says: $(grep forbidden "$RUN_ERR")"
			else
				lib_fail "no message naming $role and execve: $(tail -3 "$RUN_ERR")"
			fi
		fi
	done
done

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
