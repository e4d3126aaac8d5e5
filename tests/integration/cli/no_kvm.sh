#!/usr/bin/env bash
# The suite on a host without a usable KVM, made here on any host: in a private mount namespace an
# empty file is bind-mounted over /dev/kvm. There
#  - tools/kvm-probe.sh and `vmm --check-kvm` both say KVM is unusable, with the same line;
#  - tools/boot.sh stops within seconds, before installing or building anything, with the reason;
#  - a slice of the suite runs as CTest runs it (run_test.sh): the tests that need no guest pass,
#    every test that boots one is skipped (exit 77, reason "no usable KVM") within seconds, and
#    none fails; a Criterion test that needs KVM skips its cases and passes.
# labels: cli
# requires: root unshare
# timeout: 600
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

# Inside the namespace: this script again, with MASKED=1.
if [ "${NO_KVM_MASKED:-}" != 1 ]; then
	: >"$LIB_TMP/not-kvm"
	target=/dev/kvm
	if [ -e "$target" ]; then
		NO_KVM_MASKED=1 NO_KVM_EMPTY="$LIB_TMP/not-kvm" unshare -m --propagation private \
			bash -c 'mount --bind "$NO_KVM_EMPTY" /dev/kvm && exec bash "$0"' "${BASH_SOURCE[0]}"
	else # this host has no /dev/kvm at all: nothing to mask
		NO_KVM_MASKED=1 bash "${BASH_SOURCE[0]}"
	fi
	exit $?
fi

RUN_LABEL="masked /dev/kvm"
# within SECONDS CMD...: runs CMD, sets OUT and STATUS; fails the check if it took longer.
within() {
	local limit=$1 start=$SECONDS
	shift
	OUT=$("$@" 2>&1)
	STATUS=$?
	if [ $((SECONDS - start)) -gt "$limit" ]; then
		lib_fail "$* took $((SECONDS - start)) s (more than $limit)"
	fi
}

# --- the probe, twice ---------------------------------------------------------------------------
within 5 "$SOURCE_DIR/tools/kvm-probe.sh"
probe=$OUT
if [ "$STATUS" = 1 ] && [[ "$probe" == "kvm: unusable: "*"; fix: "* ]]; then
	lib_ok "tools/kvm-probe.sh: $probe"
else
	lib_fail "tools/kvm-probe.sh said (status $STATUS): $probe"
fi
within 5 "$VMM" --check-kvm
if [ "$STATUS" = 1 ] && [ "$OUT" = "$probe" ]; then
	lib_ok "vmm --check-kvm says the same"
else
	lib_fail "vmm --check-kvm (status $STATUS): '$OUT', the shell probe: '$probe'"
fi

# --- the README's boot command ------------------------------------------------------------------
# A copy of the tree's tools and guest-images only: were boot.sh to go on, it would find no
# CMakeLists.txt to build and fail loudly instead of building in the source tree.
mkdir -p "$LIB_TMP/tree"
cp -r "$SOURCE_DIR/tools" "$LIB_TMP/tree/"
within 10 bash "$LIB_TMP/tree/tools/boot.sh"
if [ "$STATUS" = 1 ] && grep -qF "boot: cannot boot a guest on this host: ${probe#kvm: unusable: }" <<<"$OUT" &&
	! grep -q "setup:" <<<"$OUT"; then
	lib_ok "tools/boot.sh stops at once with the reason and the fix"
else
	lib_fail "tools/boot.sh (status $STATUS): $OUT"
fi

# --- a slice of the suite -----------------------------------------------------------------------
# slice WANT SCRIPT...: each script as CTest runs it must end with WANT (0 pass, 77 skip), a skip
# within 10 s and with the reason "no usable KVM".
skips="$LIB_TMP/skips"
slice() {
	local want=$1 script name
	shift
	for script in "$@"; do
		name=integration/${script%.sh}
		# the bash script, or its port to the pytest harness (test_NAME.py)
		file=$(ls "$SOURCE_DIR"/tests/integration/*/{"$script","test_${script%.sh}.py"} 2>/dev/null | head -n 1)
		within 600 env VMM_TEST_NAME="$name" VMM_SKIP_DIR="$skips" \
			bash "$SOURCE_DIR/tests/harness/run_test.sh" "$file"
		RUN_LABEL="masked /dev/kvm: $script"
		if [ "$STATUS" != "$want" ]; then
			lib_fail "ended with $STATUS, want $want"
			tail -n 20 <<<"$OUT"
		elif [ "$want" = 0 ]; then
			lib_ok "passed"
		elif grep -q "^no usable KVM: " "$skips/${name//\//_}" 2>/dev/null; then
			lib_ok "skipped: $(cut -d: -f1 "$skips/${name//\//_}")"
		else
			lib_fail "skipped without the reason 'no usable KVM': $OUT"
		fi
	done
}
slice 0 api_unstarted.sh cli_errors.sh host_path_api.sh host_path_sites.sh
slice 77 guest_hello.sh virtio_blk.sh virtio_blk_pci.sh hostile_guest.sh api_vm.sh \
	io_poll_default.sh vmmctl_vmm.sh snapshot_restore.sh jail.sh linux_pmem.sh \
	linux_userspace.sh linux_mmds.sh host_path_restore.sh

# A Criterion test whose cases need KVM skips them and passes.
RUN_LABEL="masked /dev/kvm: test_kvm_state"
within 60 "$BUILD_DIR/tests/test_kvm_state" --jobs 1 --verbose
if [ "$STATUS" = 0 ] && grep -q "^\[SKIP\] kvm_state::.*no usable KVM" <<<"$OUT" &&
	! grep -q "^\[FAIL\]" <<<"$OUT"; then
	lib_ok "passes with its $(grep -c '^\[SKIP\]' <<<"$OUT") KVM cases skipped"
else
	lib_fail "status $STATUS: $(tail -n 5 <<<"$OUT")"
fi
finish
