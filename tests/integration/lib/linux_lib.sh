# Shared parts of the tests that boot the default Linux guest on our VMM (linux_*.sh,
# net_linux_*.sh). Source it first: it finds SOURCE_DIR and VMM, builds or finds the guest images
# (VMLINUX, INITRAMFS, DISK, CMDLINE, EMULATED_KVM: guest-images/build.sh --print-env), and makes
# a temporary directory $tmp removed at exit ($tmp/log is where scripts put the guest console).
#
#   check WHAT REGEX [FILE]   records ok / FAIL for REGEX in FILE (default $tmp/log)
#   check_status STATUS       the VMM must have exited 0 (the guest reset itself)
#   linux_finish              on failure prints the console and stderr tails; exits 0 or 1
#   type_cmd LINE             types LINE at the guest's shell (the FIFO $tmp/in feeds the console)
#   wait_for REGEX [SECONDS]  the console ($tmp/log, carriage returns ignored) shows REGEX within
#                             SECONDS (default 300); false on a timeout or when $vmm_pid is gone
#   api METHOD PATH [BODY]    the VMM's API on $sock (curl, $API_TIMEOUT s, default 60): prints
#                             the HTTP status, the body goes to $tmp/body
#   want STATUS METHOD PATH [BODY]   api, recorded as ok / FAIL against STATUS
#   json_field NAME           member NAME of the JSON object in $tmp/body ("" when absent)

SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
VMM="${VMM:-$PWD/vmm}"
. "$SOURCE_DIR/tests/integration/lib/require.sh"
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

type_cmd() { echo "$1" >"$tmp/in"; }

wait_for() {
	local i
	for ((i = 0; i < ${2:-300} * 2; i++)); do
		tr -d '\r' <"$tmp/log" | grep -qE -- "$1" && return 0
		kill -0 "$vmm_pid" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}

api() {
	curl -s --max-time "${API_TIMEOUT:-60}" --unix-socket "$sock" -X "$1" ${3:+-d "$3"} \
		-o "$tmp/body" -w '%{http_code}' "http://localhost$2"
}

want() {
	local got
	got=$(api "${@:2}")
	if [ "$got" = "$1" ]; then echo "ok: $2 $3 -> $got"; else
		echo "FAIL: $2 $3 -> $got (want $1): $(cat "$tmp/body")"
		fail=1
	fi
}

json_field() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' \
		"$tmp/body" "$1"
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
