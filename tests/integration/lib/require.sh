# What a test needs from the host, and how it says it is skipped. Sourced by run_test.sh (which
# CTest runs: it checks a script's "# requires:" line before the script starts) and by lib.sh
# and linux_lib.sh (for needs found while a script runs).
#
#   require WHAT...          skips the test unless the host has every WHAT:
#                              kvm    a usable KVM (tools/kvm-probe.sh: exists, opens, API 12,
#                                     KVM_CREATE_VM works)
#                              hwkvm  a usable KVM that runs guest kernel code in hardware
#                                     (not kvm_pvm, which emulates it)
#                              root   uid 0
#                              netns  root, ip(8) and /dev/net/tun: a network namespace with a tap
#                              qemu   $QEMU (default qemu-system-x86_64)
#                              any other word: that command on PATH
#   have_kvm                 true if KVM is usable (probes once per script)
#   skip CATEGORY DETAIL     prints "SKIP: CATEGORY: DETAIL" and exits 77, which CTest counts as
#                            skipped (SKIP_RETURN_CODE); under CTest it also writes the line to
#                            $VMM_SKIP_DIR/<test name>, where tools/test.sh counts the reasons.
#                            CATEGORY is the short reason counted ("no usable KVM", "not root").

REQUIRE_SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"

skip() {
	local category=$1
	shift
	echo "SKIP: $category: $*"
	if [ -n "${VMM_SKIP_DIR:-}" ] && [ -n "${VMM_TEST_NAME:-}" ]; then
		mkdir -p "$VMM_SKIP_DIR" && echo "$category: $*" >"$VMM_SKIP_DIR/${VMM_TEST_NAME//\//_}"
	fi
	exit 77
}

# The probe's line, once per script (it creates a VM: a few milliseconds).
kvm_probe_line() {
	if [ -z "${REQUIRE_KVM_LINE:-}" ]; then
		REQUIRE_KVM_LINE=$("$REQUIRE_SOURCE_DIR/tools/kvm-probe.sh" "${VMM_KVM_PATH:-/dev/kvm}")
	fi
	echo "$REQUIRE_KVM_LINE"
}

have_kvm() {
	case $(kvm_probe_line) in "kvm: usable"*) return 0 ;; esac
	return 1
}

require_one() {
	local line
	case $1 in
	kvm)
		have_kvm || { line=$(kvm_probe_line) && skip "no usable KVM" "${line#kvm: unusable: }"; }
		;;
	hwkvm)
		require_one kvm
		line=$(kvm_probe_line)
		case $line in *"(hardware"*) ;; *) skip "no hardware KVM" "this host's KVM is ${line#kvm: }" ;; esac
		;;
	root)
		[ "$(id -u)" = 0 ] || skip "not root" "needs root"
		;;
	netns)
		require_one root
		require_one ip
		[ -c /dev/net/tun ] || skip "no tap" "/dev/net/tun is missing"
		;;
	qemu)
		command -v "${QEMU:-qemu-system-x86_64}" >/dev/null 2>&1 ||
			skip "missing tool" "${QEMU:-qemu-system-x86_64} is not installed (tools/setup.sh)"
		;;
	*)
		command -v "$1" >/dev/null 2>&1 || skip "missing tool" "$1 is not installed (tools/setup.sh)"
		;;
	esac
}

require() {
	local what
	for what in "$@"; do
		require_one "$what"
	done
}
