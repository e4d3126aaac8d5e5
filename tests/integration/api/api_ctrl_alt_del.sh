#!/usr/bin/env bash
# SendCtrlAltDel through the API reaches the guest as keyboard scancodes on the i8042 (IRQ 1):
# the i8042_keys test guest (tests/guests/i8042_keys.c) waits for the whole make/break sequence,
# in scancode set 1 (translation on, as Linux sets it up) and set 2 (translation off), started
# with --kernel and controlled over --api-sock.
# labels: api
# requires: kvm
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

kernel=$(guest_path i8042_keys) || finish

for xlate in 1 0; do
	sock="$LIB_TMP/cad$xlate.sock"
	lib_new_run "vmm i8042_keys xlate=$xlate + SendCtrlAltDel"
	timeout "$RUN_TIMEOUT" "$VMM" --kernel "$kernel" --debug-exit --api-sock "$sock" \
		--append "xlate=$xlate wait_ms=60000" </dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
	pid=$!
	for _ in $(seq 300); do grep -q "waiting for Ctrl-Alt-Del" "$RUN_OUT" && break; sleep 0.1; done
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 --unix-socket "$sock" -X PUT \
		-d '{"action_type": "SendCtrlAltDel"}' http://localhost/actions)
	[ "$code" = 204 ] && lib_ok "SendCtrlAltDel -> 204" || lib_fail "SendCtrlAltDel -> $code"
	RUN_STATUS=0
	wait $pid || RUN_STATUS=$?
	expect_pass
	expect_output '^Ctrl-Alt-Del received: ok$'
	tr -d '\r' <"$RUN_OUT" | grep '^codes:' | sed 's/^/  /'
done
finish
