#!/usr/bin/env bash
# A confined VMM survives being stopped and continued (Ctrl-Z and fg, SIGSTOP/SIGCONT, a
# debugger, a frozen cgroup): each thread's interrupted sleep goes on through restart_syscall,
# which every role's filter allows (host/sandbox/sandbox_base.c). Before that was allowed the
# first SIGCONT killed the VMM by SIGSYS. A guest that waits for ever (halt.irq=1) is stopped and
# continued a few times while it runs, with its default --seccomp on, then with a virtio-rng and
# a disk so that I/O threads sleep too; it must still be running afterwards and end on SIGTERM.
# labels: sandbox
# requires: kvm
# timeout: 120
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

disk="$LIB_TMP/disk.img"
truncate -s 1M "$disk"
kernel=$(guest_path halt) || finish

stop_and_continue() {
	local label=$1 pid
	shift
	lib_new_run "$label"
	"$VMM" --kernel "$kernel" --debug-exit --console none --append "halt.irq=1" "$@" \
		</dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
	pid=$!
	sleep 2 # every thread is set up and confined, sleeping in its wait
	for _ in 1 2 3; do
		kill -STOP "$pid" && sleep 0.3 && kill -CONT "$pid" && sleep 0.3
	done
	if kill -0 "$pid" 2>/dev/null; then
		lib_ok "alive after 3 stops and continues"
		kill -TERM "$pid"
	else
		lib_fail "died while stopped and continued"
	fi
	wait "$pid"
	RUN_STATUS=$?
	expect_status 143
	expect_no_output 'Bad system call'
	if grep -q "SIGSYS\|seccomp" "$RUN_ERR"; then
		lib_fail "the sandbox stopped it: $(head -n 3 "$RUN_ERR")"
	fi
}

stop_and_continue "vcpu and main"
stop_and_continue "with I/O threads" --rng --disk "$disk"
finish
