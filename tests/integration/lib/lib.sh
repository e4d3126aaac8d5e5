# Shared helpers for integration tests that boot test guests (tests/guests) on our VMM and QEMU.
# Source it:  . "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
#
# Environment (set by CTest; defaults let a script run by hand from a build directory):
#   VMM      path of the vmm binary          (default: $BUILD_DIR/vmm)
#   GUESTS   directory of the built guests   (default: $BUILD_DIR/tests/guests)
#   QEMU     QEMU binary                     (default: qemu-system-x86_64)
#   RUN_TIMEOUT  seconds one VM run may take (default: 60); SIGTERM then, SIGKILL 10 s later
#                (`timeout -k 10`: a VMM or QEMU that does not end on SIGTERM cannot hold the test)
#
# Under CTest the script runs under tests/harness/test_guard.c (run_test.sh): a little before its
# "# timeout:" it fails with the list of its processes still running, and every process it
# started, background ones and those that made their own process group or session included
# (`timeout`, `setsid`, `ip netns exec` children), is ended with it. So a background VMM needs no
# watchdog of its own; an EXIT trap still cleans up what is no process (namespaces, taps, files):
# the guard's SIGTERM runs it.
#
# Guest exit statuses (tests/guests/runtime/test.h; isa-debug-exit maps code v to (v << 1) | 1):
#   STATUS_PASS=1  STATUS_FAIL=33 (assertion)  STATUS_EXCEPTION=35 (unexpected CPU exception)
# Status 1 is also what a VMM or QEMU that failed early returns, so always check the output too:
# every guest prints "TEST PASS" just before a passing exit.
#
# Functions (and require.sh's: require WHAT..., have_kvm, skip CATEGORY DETAIL):
#   guest_path NAME              -> prints $GUESTS/NAME.elf; fails the test if it is missing
#   run_vmm NAME [VMM ARGS...]   boots NAME.elf on our VMM (--debug-exit, --mem 256M unless ARGS
#                                give --mem, --console stdio); sets RUN_STATUS, RUN_OUT (file
#                                with stdout: the guest's serial output), RUN_ERR (stderr) and
#                                RUN_LABEL
#   have_qemu                    true if QEMU is installed (prints "SKIP: ..." once otherwise)
#   run_qemu NAME [QEMU ARGS...] boots NAME.elf on QEMU: KVM if usable (-cpu host without
#                                arch-capabilities, which kvm_pvm rejects), else TCG; machine
#                                $QEMU_MACHINE (default microvm), -m 256M unless ARGS give -m;
#                                -append goes in ARGS. Sets RUN_STATUS, RUN_OUT, RUN_ERR,
#                                RUN_LABEL.
#   expect_status WANT           checks RUN_STATUS; on mismatch prints the run's output
#   expect_output REGEX          checks the serial output (RUN_OUT, CRs dropped) matches grep -E
#   expect_no_output REGEX       checks RUN_OUT does not match
#   expect_pass                  expect_status 1 + expect_output '^TEST PASS' (the usual check)
#   finish                       prints the tally; exits 0 if every check passed, else 1
# Checks never stop the script: each prints "ok: ..." or "FAIL: ...", and finish decides.

SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
. "$SOURCE_DIR/tests/integration/lib/require.sh"
BUILD_DIR="${BUILD_DIR:-$PWD}"
VMM="${VMM:-$BUILD_DIR/vmm}"
GUESTS="${GUESTS:-$BUILD_DIR/tests/guests}"
QEMU="${QEMU:-qemu-system-x86_64}"
RUN_TIMEOUT="${RUN_TIMEOUT:-60}"

STATUS_PASS=1
STATUS_FAIL=33
STATUS_EXCEPTION=35

LIB_CHECKS_OK=0
LIB_CHECKS_FAILED=0
# TMPDIR moves it (on a file system that binds Unix sockets); TEST_KEEP_TMP=1 keeps it after
# the test, for a post-mortem (docs/testing.md: under tools/kvm-in-qemu).
LIB_TMP="$(mktemp -d "${TMPDIR:-/tmp}/guest-test.XXXXXX")"
[ -n "${TEST_KEEP_TMP:-}" ] && echo "note: $LIB_TMP is kept (TEST_KEEP_TMP)" >&2 ||
	trap 'rm -rf "$LIB_TMP"' EXIT
RUN_OUT="$LIB_TMP/none"
RUN_ERR="$LIB_TMP/none"
RUN_STATUS=""
RUN_LABEL=""
LIB_RUNS=0

lib_ok() {
	echo "ok: $RUN_LABEL: $*"
	LIB_CHECKS_OK=$((LIB_CHECKS_OK + 1))
}

lib_fail() {
	echo "FAIL: $RUN_LABEL: $*"
	LIB_CHECKS_FAILED=$((LIB_CHECKS_FAILED + 1))
}

lib_dump_output() {
	echo "----- serial output of $RUN_LABEL (status $RUN_STATUS) -----"
	tail -n 40 "$RUN_OUT"
	echo "----- stderr -----"
	tail -n 20 "$RUN_ERR"
	echo "-----"
}

guest_path() {
	local path="$GUESTS/$1.elf"
	if [ ! -f "$path" ]; then
		echo "FAIL: guest $path not built" >&2
		LIB_CHECKS_FAILED=$((LIB_CHECKS_FAILED + 1))
		return 1
	fi
	echo "$path"
}

# lib_new_run LABEL: a fresh output file for the next run.
lib_new_run() {
	LIB_RUNS=$((LIB_RUNS + 1))
	RUN_LABEL="$1"
	RUN_OUT="$LIB_TMP/run$LIB_RUNS.out"
	RUN_ERR="$LIB_TMP/run$LIB_RUNS.err"
	: >"$RUN_OUT"
	: >"$RUN_ERR"
}

run_vmm() {
	local name=$1 kernel mem=(--mem 256M)
	shift
	lib_new_run "vmm $name $*"
	kernel=$(guest_path "$name") || {
		RUN_STATUS=127
		return 0
	}
	case " $* " in *" --mem "* | *" -m "*) mem=() ;; esac
	timeout -k 10 "$RUN_TIMEOUT" "$VMM" --kernel "$kernel" --debug-exit --console stdio "${mem[@]}" \
		"$@" </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
	RUN_STATUS=$?
	return 0
}

have_qemu() {
	if command -v "$QEMU" >/dev/null 2>&1; then
		return 0
	fi
	if [ -z "${LIB_QEMU_SKIP_SAID:-}" ]; then
		echo "SKIP: $QEMU not installed: QEMU runs skipped"
		LIB_QEMU_SKIP_SAID=1
	fi
	return 1
}

run_qemu() {
	local name=$1 kernel mem=(-m 256M) accel
	shift
	lib_new_run "qemu(${QEMU_MACHINE:-microvm}) $name $*"
	kernel=$(guest_path "$name") || {
		RUN_STATUS=127
		return 0
	}
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		accel=(-enable-kvm -cpu host,-arch-capabilities)
	else
		accel=(-accel tcg -cpu max)
	fi
	case " $* " in *" -m "*) mem=() ;; esac
	timeout -k 10 "$RUN_TIMEOUT" "$QEMU" "${accel[@]}" -M "${QEMU_MACHINE:-microvm}" "${mem[@]}" \
		-nodefaults -no-user-config -nographic -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "$kernel" "$@" \
		</dev/null >"$RUN_OUT" 2>"$RUN_ERR"
	RUN_STATUS=$?
	return 0
}

expect_status() {
	if [ "$RUN_STATUS" = "$1" ]; then
		lib_ok "status $1"
	else
		lib_fail "status $RUN_STATUS, want $1"
		lib_dump_output
	fi
}

expect_output() {
	# tr: the serial console sends CRLF.
	if tr -d '\r' <"$RUN_OUT" | grep -qE -- "$1"; then
		lib_ok "output has /$1/"
	else
		lib_fail "output lacks /$1/"
		lib_dump_output
	fi
}

expect_no_output() {
	if tr -d '\r' <"$RUN_OUT" | grep -qE -- "$1"; then
		lib_fail "output has /$1/"
		lib_dump_output
	else
		lib_ok "output lacks /$1/"
	fi
}

expect_pass() {
	expect_status "$STATUS_PASS"
	expect_output '^TEST PASS$'
}

finish() {
	echo "checks: $LIB_CHECKS_OK ok, $LIB_CHECKS_FAILED failed"
	[ "$LIB_CHECKS_FAILED" -eq 0 ] && [ "$LIB_CHECKS_OK" -gt 0 ]
	exit $?
}

# jail_base NAME: a chroot base for vmm-jail: $LIB_TMP/jails, or /srv/NAME-PID when $LIB_TMP is on
# a nodev mount (device nodes do not open there; a tmpfs /tmp often is one).
jail_base() {
	if findmnt -n -o OPTIONS -T "$LIB_TMP" | grep -qw nodev; then
		echo "/srv/$1-$$"
	else
		echo "$LIB_TMP/jails"
	fi
}
