# Shared parts of the tests that boot the default Linux guest on our VMM (linux_*.sh,
# net_linux_*.sh). Source it first: it finds SOURCE_DIR and VMM, builds or finds the guest images
# (VMLINUX, INITRAMFS, DISK, CMDLINE, EMULATED_KVM: guest-images/build.sh --print-env), and makes
# a temporary directory $tmp removed at exit ($tmp/log is where scripts put the guest console).
#
#   check WHAT REGEX [FILE]   records ok / FAIL for REGEX in FILE (default $tmp/log)
#   check_status STATUS       the VMM must have exited 0 (the guest reset itself)
#   linux_finish              on failure prints the console and stderr tails; exits 0 or 1

SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
VMM="${VMM:-$PWD/vmm}"
. "$SOURCE_DIR/tests/integration/require.sh"
require kvm # before the guest is built: minutes on a cache miss
eval "$("$SOURCE_DIR/guest-images/build.sh" --print-env)" || exit 1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

check() {
	local file=${3:-$tmp/log}
	if grep -qE -- "$2" "$file"; then
		echo "ok: $1"
	else
		echo "FAIL: $1 (no /$2/ in $(basename "$file"))"
		fail=1
	fi
}

check_status() {
	if [ "$1" -ne 0 ]; then
		echo "FAIL: vmm exit status $1 (want 0: the guest resets itself)"
		fail=1
	fi
}

linux_finish() {
	if [ $fail -ne 0 ]; then
		echo "---- guest console (last 40 lines)"
		tail -40 "$tmp/log" 2>/dev/null
		echo "---- vmm stderr (last 20 lines)"
		grep -v unclaimed "$tmp/err" 2>/dev/null | tail -20
	fi
	exit $fail
}
