#!/usr/bin/env bash
# Our VMM's bzImage path end to end (setup header parsing, zero page, e820, command line, initrd
# placement, 64-bit entry state) with $GUESTS/bzimage_check.bzImage: the test-guest runtime
# packaged as a bzImage (tests/guests/bzimage/). A real Linux bzImage decompresses far too slowly
# on kvm_pvm hosts to be a routine test. Runs with an initrd and a command line at 256M and 4G
# (RAM on both sides of the 3-4 GiB hole), without an initrd, and failing controls; then broken
# copies of the image, which the VMM must refuse with status 2 and a clear message.
#
# No QEMU runs: QEMU's -kernel with a bzImage enters through the real-mode setup code (q35/pc:
# SeaBIOS and the linuxboot option ROM; microvm: qboot), never through the 64-bit entry, and this
# guest's setup code is a stub that halts (our VMM uses only the 64-bit entry). On QEMU it just
# hangs silently until the timeout.
# labels: guests
# requires: kvm
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

IMAGE="$GUESTS/bzimage_check.bzImage"
INITRD="$LIB_TMP/initrd"
HDR_MAGIC=0x202   # "HdrS"
HDR_VERSION=0x206 # u16
HDR_XLOADFLAGS=0x236
HDR_RAMDISK=0x218 # ramdisk_image, ramdisk_size (u32 each)
HDR_SETUP_DATA=0x250
BZCHECK="bzcheck=hello-bzimage zero_page=0x7000" # our VMM's zero page: base/layout.h

# run_bz IMAGE [VMM ARGS...]: run_vmm for a file that is not $GUESTS/NAME.elf.
run_bz() {
	local image=$1 mem=(--mem 256M)
	shift
	lib_new_run "vmm $(basename "$image") $(cut -c1-100 <<<"$*")"
	case " $* " in *" --mem "*) mem=() ;; esac
	timeout "$RUN_TIMEOUT" "$VMM" --kernel "$image" --debug-exit --console stdio "${mem[@]}" \
		"$@" </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
	RUN_STATUS=$?
}

# expect_error REGEX: stderr (the VMM's message) matches.
expect_error() {
	if grep -qE -- "$1" "$RUN_ERR"; then
		lib_ok "stderr has /$1/"
	else
		lib_fail "stderr lacks /$1/"
		lib_dump_output
	fi
}

# broken NAME OFFSET BYTES: a copy of the image with printf-escaped BYTES written at OFFSET.
broken() {
	cp "$IMAGE" "$LIB_TMP/$1"
	printf "$3" | dd of="$LIB_TMP/$1" bs=1 seek=$(($2)) conv=notrunc status=none
	echo "$LIB_TMP/$1"
}

if [ ! -f "$IMAGE" ]; then
	echo "FAIL: $IMAGE not built"
	exit 1
fi

# A deterministic initrd of an odd size (not a page multiple); its POSIX cksum goes to the guest.
seq 1 100000 | head -c 300001 >"$INITRD"
INITRD_ARGS="initrd_size=300001 initrd_cksum=$(cksum <"$INITRD" | cut -d' ' -f1)"

for mem in 256M 4G; do
	run_bz "$IMAGE" --mem "$mem" --initrd "$INITRD" \
		--append "$BZCHECK expect_mem=$mem $INITRD_ARGS"
	expect_pass
	expect_output '^entry: CS 0x10 DS 0x18 ES 0x18 SS 0x18'
	expect_output '^header: magic 0x53726448 version 0x20f setup_sects 2 '
	expect_output '^initrd: cksum ([0-9]+) \(want \1\)'
	expect_output '^e820: [0-9]+ entries'
done
run_bz "$IMAGE" --append "$BZCHECK expect_mem=256M"
expect_pass
expect_output '^initrd: ramdisk_image 0x0 ramdisk_size 0$'

# The checks can fail: a wrong command-line value, a wrong initrd checksum.
run_bz "$IMAGE" --append "bzcheck=goodbye"
expect_status "$STATUS_FAIL"
expect_output 'bzcheck=goodbye, want hello-bzimage'
run_bz "$IMAGE" --initrd "$INITRD" --append "$BZCHECK initrd_size=300001 initrd_cksum=12345"
expect_status "$STATUS_FAIL"
expect_output 'sum == want_sum'

# Stale loader fields in the image file (ramdisk 0x4000000/4 KiB, setup_data 0x8000) must not
# reach the zero page: boot.rst makes them the loader's to write.
stale=$(broken stale $HDR_RAMDISK '\x00\x00\x00\x04\x00\x10\x00\x00')
printf '\x00\x80' | dd of="$stale" bs=1 seek=$((HDR_SETUP_DATA)) conv=notrunc status=none
run_bz "$stale" --append "$BZCHECK"
expect_pass

# Broken images: status 2, a message that names the problem.
run_bz "$(broken nomagic $HDR_MAGIC 'HdrX')" --append "$BZCHECK"
expect_status 2
expect_error 'neither a bzImage nor an ELF'
run_bz "$(broken v2.11 $HDR_VERSION '\x0b\x02')" --append "$BZCHECK"
expect_status 2
expect_error 'boot protocol 2\.11 is older than 2\.12'
run_bz "$(broken no64 $HDR_XLOADFLAGS '\x00\x00')" --append "$BZCHECK"
expect_status 2
expect_error 'no 64-bit entry point'
size=$(stat -c %s "$IMAGE")
# Cut inside the setup header, inside the setup sectors, inside the kernel (by one syssize unit).
for cut in 576 1024 $((size - 16)); do
	head -c "$cut" "$IMAGE" >"$LIB_TMP/cut$cut"
	run_bz "$LIB_TMP/cut$cut" --append "$BZCHECK"
	expect_status 2
	expect_error 'truncated'
done
# A command line longer than the image's cmdline_size (2047).
run_bz "$IMAGE" --append "$BZCHECK $(head -c 2100 /dev/zero | tr '\0' x)"
expect_status 2
expect_error 'accepts at most 2047'

finish
