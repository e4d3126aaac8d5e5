#!/usr/bin/env bash
# qcow2 backing files are the operator's decision (GHSA-jmr4-g2hv-mjj6; docs/devices.md,
# "Backing files"): an image made with `qemu-img create -b SECRET -F raw` over a file outside its
# folder must not let the guest read that file.
#   - by default (no backing_files=) the VMM exits at startup with one line naming the image, the
#     backing file and backing_files=on; nothing of the secret reaches the guest;
#   - with backing_files=on the same image is still refused: the secret is not beneath the
#     image's folder;
#   - PUT /drives of that image is a 400 with the same line, with "backing_files": true too
#     (the chain is opened under its rules at the PUT); GET /vm/config shows
#     "backing_files": true for a drive that asks for it;
#   - an overlay beside its raw base, with backing_files=on, serves the base to the virtio_blk
#     test guest (it reads back the host pattern) and the base stays untouched.
# labels: guests virtio
# requires: kvm
# timeout: 120
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/blk_lib.sh"

command -v qemu-img >/dev/null || skip tool "qemu-img not installed (Debian package qemu-utils)"
command -v curl >/dev/null || skip tool "curl not installed (the PUT /drives check)"
RUN_TIMEOUT=30

mkdir "$LIB_TMP/secret" "$LIB_TMP/images"
secret="$LIB_TMP/secret/shadow"
make_disk "$secret" # the host pattern: a guest that read it would find it
evil="$LIB_TMP/images/evil.qcow2"
qemu-img create -q -f qcow2 -b "$secret" -F raw "$evil" 8M

# expect_refused WHAT REGEX: the VMM exited non-zero before the guest ran (no output of it; the
# status of a refusal is 1, which is also the test guests' pass), its stderr has REGEX.
expect_refused() {
	if [ "$RUN_STATUS" = 0 ] || [ -s "$RUN_OUT" ]; then
		lib_fail "$1: status $RUN_STATUS, want a refusal"
		lib_dump_output
	elif grep -qE -- "$2" "$RUN_ERR"; then
		lib_ok "$1: refused ($(grep -E -- "$2" "$RUN_ERR" | head -1))"
	else
		lib_fail "$1: stderr lacks /$2/"
		lib_dump_output
	fi
	if grep -q "HST" "$RUN_OUT"; then lib_fail "$1: the guest printed the secret"; fi
}

run_vmm virtio_blk --disk "$evil"
expect_refused "backing files off (the default)" \
	"disk $evil: names the backing file $secret, refused: backing files are off for this disk \(allow them with backing_files=on\)"

run_vmm virtio_blk --disk "$evil,backing_files=on"
expect_refused "backing_files=on, the secret outside the image's folder" \
	"disk $evil: backing file $secret refused: .*not beneath the folder $LIB_TMP/images"

# a symbolic link beside the image to the secret
ln -s "$secret" "$LIB_TMP/images/link.raw"
qemu-img create -q -f qcow2 -u -b link.raw -F raw "$LIB_TMP/images/link.qcow2" 8M
run_vmm virtio_blk --disk "$LIB_TMP/images/link.qcow2,backing_files=on"
expect_refused "backing_files=on, a symbolic link in the folder" \
	"backing file link.raw refused: .*a symbolic link inside"

# The API: PUT /drives checks the file at once.
sock="$LIB_TMP/api.sock"
"$VMM" --api-sock "$sock" --debug-exit --console stdio </dev/null >"$LIB_TMP/api.out" \
	2>"$LIB_TMP/api.err" &
vmm_pid=$!
trap 'kill -9 $vmm_pid 2>/dev/null; rm -rf "$LIB_TMP"' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
RUN_LABEL="vmm --api-sock"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/api_lib.sh" # api, want
want 400 PUT /drives/d0 "{\"drive_id\": \"d0\", \"path_on_host\": \"$evil\", \"is_root_device\": false}" \
	"names the backing file $secret, refused: backing files are off"
want 400 PUT /drives/d0 "{\"drive_id\": \"d0\", \"path_on_host\": \"$evil\", \"is_root_device\": false, \"backing_dirs\": \"/etc\"}" \
	'backing_dirs needs'
want 400 PUT /drives/d0 "{\"drive_id\": \"d0\", \"path_on_host\": \"$evil\", \"is_root_device\": false, \"backing_files\": true}" \
	"backing file $secret refused: .*not beneath the folder"
good="$LIB_TMP/images/good.qcow2"
cp "$secret" "$LIB_TMP/images/good-base.raw"
qemu-img create -q -f qcow2 -b good-base.raw -F raw "$good" 8M
want 204 PUT /drives/d0 "{\"drive_id\": \"d0\", \"path_on_host\": \"$good\", \"is_root_device\": false, \"backing_files\": true}"
want 200 GET /vm/config "" '"backing_files":true'
kill -9 $vmm_pid 2>/dev/null
wait $vmm_pid 2>/dev/null

# Allowed: an overlay beside its base reads the base through (the guest checks the host pattern).
virtio_transport_init
make_disk "$LIB_TMP/pristine.img"
base="$LIB_TMP/images/base.raw"
cp "$LIB_TMP/pristine.img" "$base"
cp "$LIB_TMP/pristine.img" "$LIB_TMP/ro.img"
ovl="$LIB_TMP/images/overlay.qcow2"
qemu-img create -q -f qcow2 -b base.raw -F raw "$ovl"
run_vmm virtio_blk "${vmm_transport[@]}" --disk "$ovl,serial=vmm-disk-0,discard=on,backing_files=on" \
	--disk "$LIB_TMP/ro.img,ro" --append "$(guest_args split) ring=split \
sectors=$SECTORS id=vmm-disk-0 ro_disk discard"
expect_blk_output "$(irq_kind split)"
if grep -qF "disk $ovl: backing file $base (raw, beneath $LIB_TMP/images)" "$RUN_ERR"; then
	lib_ok "the backing file's open is logged"
else
	lib_fail "no log line of the backing file's open"
	lib_dump_output
fi
check "base untouched" cmp "$base" "$LIB_TMP/pristine.img"

finish
