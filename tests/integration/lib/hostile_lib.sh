# What the hostile guest's runs share (tools/fuzz/guest-fuzz; the tests have its Python twin,
# framework/hostile.py): its disks, its devices, the host-side
# check of its disks. Source it; it needs nothing else.
#
#   hostile_make_disk FILE        8 MiB: the blk_pattern_fill() pattern ('H', "HST") in sectors
#                                 0..2047 (what the guest reads back), zeros after
#   hostile_net_args VMM          sets HOSTILE_NET=(--net user) when VMM has libslirp, else ()
#                                 with a note on stdout
#   hostile_devices RW RO SOCK    sets HOSTILE_DEVICES: the VMM options of every device the
#                                 guest drives: virtio console, a writable and a read-only disk,
#                                 rng, a balloon with target 0 (refuses every page), the net of
#                                 hostile_net_args, a vsock whose host sockets SOCK_<port> do not
#                                 exist (its requests are answered with RST)
#   hostile_disks_ok RW RO PRISTINE  true when RW's host pattern is intact and RO is untouched;
#                                 else prints what changed
# With lib.sh (the scripts' runs):
#   hostile_setup                 the pristine disk and the net options, once per script
#   hostile_run WHAT TRANSPORT SEED APPEND...  one run of the hostile guest on fresh copies of
#                                 the disk (RUN_* as lib.sh's run_vmm; a timeout is a hang)
#   hostile_check_files           records whether the run kept the disks as they must be
HOSTILE_SECTORS=16384

hostile_make_disk() {
	awk 'BEGIN { for (s = 0; s < 2048; s++) for (i = 0; i < 32; i++)
		printf "H%010u-HST\n", s }' >"$1"
	truncate -s $((HOSTILE_SECTORS * 512)) "$1"
}

hostile_net_args() {
	local help libs
	HOSTILE_NET=()
	# The VMM dlopen()s libslirp (virtio/net/slirp_api.c): built with its headers (the stub
	# of a build without them says "which this build lacks") and the library installed.
	# Captured, not piped into grep -q: under pipefail its early exit would fail the pipe.
	help=$("$1" --help 2>&1)
	libs=$(ldconfig -p 2>/dev/null)
	if [[ $help == *"user-mode networking"* && $libs == *libslirp.so* ]] &&
		! grep -aq "which this build lacks" "$1"; then
		HOSTILE_NET=(--net user)
	else
		echo "note: no libslirp in $1: virtio-net not tested"
	fi
}

hostile_devices() {
	HOSTILE_DEVICES=(--console virtio --disk "$1" --disk "$2,ro" --rng --balloon size=0
		"${HOSTILE_NET[@]}" --vsock "cid=3,uds=$3")
}

hostile_disks_ok() {
	local ok=0
	if ! cmp -s <(head -c $((2048 * 512)) "$1") <(head -c $((2048 * 512)) "$3"); then
		echo "the writable disk's host pattern (sectors 0-2047) changed"
		ok=1
	fi
	if ! cmp -s "$2" "$3"; then
		echo "the read-only disk changed"
		ok=1
	fi
	return $ok
}

hostile_setup() {
	hostile_net_args "$VMM"
	hostile_make_disk "$LIB_TMP/pristine.img"
	HOSTILE_RW=$LIB_TMP/rw.img
	HOSTILE_RO=$LIB_TMP/ro.img
}

hostile_run() {
	local what=$1 transport=$2 seed=$3 kernel append
	shift 3
	append="seed=$seed rounds=$ROUNDS $*"
	[ "$transport" = pci ] && append="$append transport=pci"
	lib_new_run "vmm $what $transport seed=$seed"
	kernel=$(guest_path hostile) || {
		RUN_STATUS=127
		return 0
	}
	cp "$LIB_TMP/pristine.img" "$HOSTILE_RW"
	cp "$LIB_TMP/pristine.img" "$HOSTILE_RO"
	hostile_devices "$HOSTILE_RW" "$HOSTILE_RO" "$LIB_TMP/v.sock"
	timeout -k 10 "$RUN_TIMEOUT" "$VMM" --kernel "$kernel" --debug-exit --mem 256M \
		--transport "$transport" "${HOSTILE_DEVICES[@]}" --append "$append" \
		</dev/null >"$RUN_OUT" 2>"$RUN_ERR"
	RUN_STATUS=$?
	[ "$RUN_STATUS" = 124 ] && lib_fail "timed out after ${RUN_TIMEOUT}s (a hang)"
	return 0
}

hostile_check_files() {
	local why
	if why=$(hostile_disks_ok "$HOSTILE_RW" "$HOSTILE_RO" "$LIB_TMP/pristine.img"); then
		lib_ok "file: host pattern intact on the writable disk, read-only disk untouched"
	else
		lib_fail "file: $why"
	fi
}
