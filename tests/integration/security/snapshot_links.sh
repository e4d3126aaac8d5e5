#!/usr/bin/env bash
# A hostile snapshot folder (docs/snapshots.md, "What a restore may open"): the files of a real
# snapshot replaced by symbolic links, and a crafted state naming a firmware outside its folder.
# One snapshot of snap_counter, taken with its disk and its console file inside the folder (given
# as relative paths, so the folder can move), serves every case:
#   - DIR/out/console.txt, DIR/disk.img, DIR/out (a folder), DIR/memory and DIR/state each
#     replaced by a link to a file or folder of this test's own: `vmm --restore DIR` refuses it
#     with "DIR/NAME: a symbolic link inside DIR, refused here", and inotify sees no open of the
#     target (a console link used to truncate it, a disk link gave the guest the file);
#   - the folder packed with tar and unpacked elsewhere restores there, and the guest ends with
#     TEST PASS in the unpacked folder's console file;
#   - a crafted state with ["firmware", FILE outside the folder]: `vmm --restore` exits 2 and PUT
#     /snapshot/load answers 400, each naming the firmware, before the file is opened.
# Each restore has its own timeout, so a hang fails its case, not the suite.
# labels: snapshot security
# requires: kvm
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/snapshot_lib.sh"

require python3 curl tar
watch="$SOURCE_DIR/tests/integration/lib/open_watch.py"
craft="$SOURCE_DIR/tests/integration/lib/snapshot_craft.py"
kernel=$(guest_path snap_counter) || finish
a="$LIB_TMP/a"    # the snapshot's VM ran here: its paths are relative to it
dir="$a/snap"     # the snapshot
out="$LIB_TMP/out" # what the links point at: this test's own files
sock="$LIB_TMP/api.sock"
mkdir -p "$dir/out" "$out/folder"
truncate -s 1M "$dir/disk.img"
printf 'secret\n' >"$out/victim"
printf 'secret\n' >"$out/folder/console.txt"

# ---- the one snapshot ----
lib_new_run "the VM to snapshot"
(cd "$a" && exec "$VMM" --kernel "$kernel" --debug-exit --mem 64M --api-sock "$sock" \
	--landlock-rules "$LIB_TMP:rw" --disk snap/disk.img,id=disk0 \
	--console file:snap/out/console.txt --append "steps=60 work=200000") \
	</dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
vm_pid=$!
SNAP_PIDS+=("$vm_pid")
snap_wait_sock "$sock" "$vm_pid" && snap_wait_progress "$dir/out/console.txt" "$vm_pid" 10 &&
	snap_take "$sock" "$dir" && lib_ok "a snapshot in $dir" || {
	lib_fail "no snapshot (progress $(snap_progress "$dir/out/console.txt"))"
	lib_dump_output
	finish
}
snap_kill "$vm_pid"

# refused LABEL NAME TARGET [OPENED]: DIR/NAME replaced by a link to TARGET (the original kept
# aside), `vmm --restore snap` from $a is refused naming DIR/OPENED (default NAME: the path whose
# open met the link), and TARGET is not opened.
refused() {
	local label=$1 name=$2 target=$3 opened=${4:-$2} w
	w=("$target")
	lib_new_run "$label"
	mv "$dir/$name" "$LIB_TMP/aside"
	ln -s "$target" "$dir/$name"
	[ -d "$target" ] && w=("$target" "$target/console.txt")
	(cd "$a" && exec python3 "$watch" --timeout 20 "${w[@]}" -- \
		timeout -k 5 15 "$VMM" --restore snap) </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
	RUN_STATUS=$?
	rm "$dir/$name"
	mv "$LIB_TMP/aside" "$dir/$name"
	local want="$dir/$opened: a symbolic link inside $dir, refused here"
	[ "$RUN_STATUS" = 1 ] || [ "$RUN_STATUS" = 2 ] && lib_ok "status $RUN_STATUS" ||
		lib_fail "status $RUN_STATUS (want 1 or 2)"
	grep -qF -- "$want" "$RUN_ERR" && lib_ok "$(grep -m1 -F -- "$want" "$RUN_ERR")" ||
		lib_fail "no '$want': $(cat "$RUN_ERR")"
	grep -q '^opened\|^created' "$RUN_OUT" && lib_fail "the target was reached: $(cat "$RUN_OUT")" ||
		lib_ok "nothing opened or created through the link"
	grep -qx secret "$out/victim" && grep -qx secret "$out/folder/console.txt" &&
		lib_ok "the targets are untouched" || lib_fail "a target changed"
}

refused "a linked console file" out/console.txt "$out/victim"
refused "a linked disk" disk.img "$out/victim"
refused "a linked folder" out "$out/folder" out/console.txt
refused "a linked memory file" memory "$out/victim"
refused "a linked state file" state "$out/victim"

# ---- vmm-uffd-handler given a folder's linked memory file ----
lib_new_run "vmm-uffd-handler: a linked memory file"
ln -s "$out/victim" "$LIB_TMP/linked-memory"
timeout -k 5 10 "$BUILD_DIR/vmm-uffd-handler" --timeout 2 "$LIB_TMP/uffd.sock" \
	"$LIB_TMP/linked-memory" </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
want="$LIB_TMP/linked-memory: a symbolic link, refused"
[ "$RUN_STATUS" = 1 ] && grep -qF -- "$want" "$RUN_ERR" && lib_ok "status 1: $(cat "$RUN_ERR")" ||
	lib_fail "status $RUN_STATUS: $(cat "$RUN_ERR")"

# ---- the folder moved: tar, unpacked elsewhere ----
lib_new_run "the folder packed and unpacked elsewhere"
mkdir -p "$LIB_TMP/b"
tar -C "$a" -cSf "$LIB_TMP/snap.tar" snap && tar -C "$LIB_TMP/b" -xSf "$LIB_TMP/snap.tar" ||
	lib_fail "tar"
(cd "$LIB_TMP/b" && exec timeout -k 5 60 "$VMM" --restore snap) </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
console="$LIB_TMP/b/snap/out/console.txt"
[ "$RUN_STATUS" = 1 ] && grep -q '^TEST PASS' "$console" && [ -n "$(snap_result "$console")" ] &&
	lib_ok "restored and ran to its end: $(snap_result "$console")" || {
	lib_fail "status $RUN_STATUS, console: $(tail -n 3 "$console" 2>&1)"
	lib_dump_output
}
grep -q 'SNAP-START' "$console" && lib_fail "the guest booted again" || lib_ok "no second boot"

# ---- a crafted state naming a firmware outside its folder ----
fw="$LIB_TMP/fw"
mkdir -p "$fw"
printf 'not a firmware\n' >"$out/bios.bin"
python3 "$craft" "$fw/state" "[[\"firmware\", \"$out/bios.bin\"]]" && truncate -s 256M "$fw/memory" ||
	lib_fail "snapshot_craft.py"
want="the snapshot names firmware $out/bios.bin outside its folder"
lib_new_run "--restore: a firmware outside the folder"
python3 "$watch" --timeout 20 "$out/bios.bin" -- timeout -k 5 15 "$VMM" --restore "$fw" \
	--kvm "$LIB_TMP/no-kvm" </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
expect_status 2
grep -qF -- "$want" "$RUN_ERR" && lib_ok "$(cat "$RUN_ERR")" || lib_fail "$(cat "$RUN_ERR")"
grep -q '^opened' "$RUN_OUT" && lib_fail "the firmware was opened" || lib_ok "not opened"

lib_new_run "PUT /snapshot/load: a firmware outside the folder"
sock="$LIB_TMP/api2.sock"
"$VMM" --api-sock "$sock" --kvm "$LIB_TMP/no-kvm" </dev/null >"$LIB_TMP/api.out" 2>"$LIB_TMP/api.err" &
api_pid=$!
SNAP_PIDS+=("$api_pid")
snap_wait_sock "$sock" "$api_pid" || lib_fail "the API VMM did not come up"
got=$(curl -s --max-time 10 --unix-socket "$sock" -X PUT -H 'Content-Type: application/json' \
	-d "{\"snapshot_path\": \"$fw/state\", \"mem_file_path\": \"$fw/memory\"}" \
	-w '\n%{http_code}' http://localhost/snapshot/load)
[ "${got##*$'\n'}" = 400 ] && grep -qF -- "$want" <<<"$got" && lib_ok "400: ${got%$'\n'*}" ||
	lib_fail "$got"
got=$(snap_api "$sock" GET /)
[ "${got%% *}" = 200 ] && lib_ok "GET / still answers" || lib_fail "GET / -> $got"
snap_kill "$api_pid"
finish
